//! Cairn's JSON-RPC server, compatible with Bitcoin Core's methods, result shapes, error codes,
//! cookie auth and framing. Built in the RPC and wallet issue; empty until then.
