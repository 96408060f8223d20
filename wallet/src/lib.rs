//! Cairn's wallet: keys, addresses, an atomically written keystore, coin selection and signing.
//! Built in the RPC and wallet issue; empty until then (the chain crate's `sighash::sign_input`
//! already signs inputs).
