//! Bitcoin Core's RPC error codes and the error type every method returns.
//!
//! Codes are Core's (`src/rpc/protocol.h`), so scripts that branch on them keep working. Each
//! method maps its failures here on purpose: a missing block is `-5`, a bad parameter `-8`, a
//! rejected transaction `-26` with the rule's reason, and so on.

use jsonrpsee::types::ErrorObjectOwned;

/// Core's error codes.
pub mod code {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i32 = -32700;
    /// The JSON is not a valid request object.
    pub const INVALID_REQUEST: i32 = -32600;
    /// The method does not exist.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Internal error.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// A failure with no more specific code.
    pub const MISC_ERROR: i32 = -1;
    /// A value of the wrong JSON type.
    pub const TYPE_ERROR: i32 = -3;
    /// Wallet failure.
    pub const WALLET_ERROR: i32 = -4;
    /// Invalid address or key, or an unknown block or transaction.
    pub const INVALID_ADDRESS_OR_KEY: i32 = -5;
    /// Not enough funds in the wallet.
    pub const WALLET_INSUFFICIENT_FUNDS: i32 = -6;
    /// An invalid, missing or duplicate parameter.
    pub const INVALID_PARAMETER: i32 = -8;
    /// The database failed.
    pub const DATABASE_ERROR: i32 = -20;
    /// Data that does not decode.
    pub const DESERIALIZATION_ERROR: i32 = -22;
    /// A node was already added.
    pub const CLIENT_NODE_ALREADY_ADDED: i32 = -23;
    /// A node was not added.
    pub const CLIENT_NODE_NOT_ADDED: i32 = -24;
    /// A node could not be connected to (Core's RPC_CLIENT_NODE_NOT_CONNECTED).
    pub const CLIENT_NODE_NOT_CONNECTED: i32 = -29;
    /// An invalid peer to ban or unban (Core's RPC_CLIENT_INVALID_IP_OR_SUBNET).
    pub const CLIENT_INVALID_IP_OR_SUBNET: i32 = -30;
    /// Transaction or block verification failed (missing inputs among others).
    pub const VERIFY_ERROR: i32 = -25;
    /// The transaction or block was rejected by policy or consensus.
    pub const VERIFY_REJECTED: i32 = -26;
    /// The transaction is already in the chain.
    pub const VERIFY_ALREADY_IN_CHAIN: i32 = -27;
    /// The wallet is locked: `walletpassphrase` first.
    pub const WALLET_UNLOCK_NEEDED: i32 = -13;
    /// The passphrase is wrong.
    pub const WALLET_PASSPHRASE_INCORRECT: i32 = -14;
    /// An encryption command on a wallet in the wrong state (encrypting it twice, unlocking an
    /// unencrypted one).
    pub const WALLET_WRONG_ENC_STATE: i32 = -15;
    /// Encrypting the wallet failed.
    pub const WALLET_ENCRYPTION_FAILED: i32 = -16;
    /// The wallet named is not loaded, or none is.
    pub const WALLET_NOT_FOUND: i32 = -18;
    /// Several wallets are loaded and the request names none.
    pub const WALLET_NOT_SPECIFIED: i32 = -19;
    /// The wallet is already loaded.
    pub const WALLET_ALREADY_LOADED: i32 = -35;
    /// A wallet of that name exists already.
    pub const WALLET_ALREADY_EXISTS: i32 = -36;
    /// The node is still starting up.
    pub const IN_WARMUP: i32 = -28;
    /// Peer-to-peer functionality is missing or disabled.
    pub const CLIENT_P2P_DISABLED: i32 = -31;
}

/// An RPC error: a Core code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// Core's code.
    pub code: i32,
    /// Human-readable message.
    pub message: String,
}

impl RpcError {
    /// An error with `code` and `message`.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }

    /// `-8`: an invalid parameter.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMETER, message)
    }

    /// `-5`: invalid address or key, unknown block or transaction.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_ADDRESS_OR_KEY, message)
    }

    /// `-32603`: a failure inside the node (store, shutdown in progress).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(code::INTERNAL_ERROR, message)
    }

    /// `-1`: a failure with no more specific code.
    pub fn misc(message: impl Into<String>) -> Self {
        Self::new(code::MISC_ERROR, message)
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

impl From<RpcError> for ErrorObjectOwned {
    fn from(e: RpcError) -> Self {
        ErrorObjectOwned::owned(e.code, e.message, None::<()>)
    }
}

/// The result type of every RPC method.
pub type RpcResult<T> = Result<T, RpcError>;
