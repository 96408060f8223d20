//! The local testnet launcher (`cairn-testnet`) and end-to-end scenarios. Built in the testnet
//! issue; empty until then.
