//! Shapes of the methods that manage wallets by name (`createwallet`, `loadwallet`,
//! `unloadwallet`, `getwalletinfo`).

use serde::{Serialize, Serializer};

use super::BlockRef;

/// `createwallet` and `loadwallet`.
#[derive(Serialize, Debug, Clone)]
pub struct LoadWalletResult {
    pub name: String,
    /// Present only when there is something to warn about, as Core.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `unloadwallet`.
#[derive(Serialize, Debug, Clone, Default)]
pub struct UnloadWalletResult {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `getwalletinfo`'s `scanning`: Cairn's rescans finish before a wallet is loaded, so never in
/// progress (`false`).
#[derive(Debug, Clone, Copy)]
pub struct NotScanning;

impl Serialize for NotScanning {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(false)
    }
}

/// `getwalletinfo`.
#[derive(Serialize, Debug, Clone)]
pub struct WalletInfo {
    pub walletname: String,
    /// Core's last version number (169900), documented as deprecated there.
    pub walletversion: u32,
    /// `"json"`: Cairn's wallet file (Core: `"sqlite"`).
    pub format: String,
    pub txcount: usize,
    /// Keys generated ahead and unused: none (keys are made on demand).
    pub keypoolsize: u32,
    /// Unix time until which the keys are unlocked (0: locked); only for encrypted wallets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlocked_until: Option<u64>,
    pub private_keys_enabled: bool,
    pub avoid_reuse: bool,
    pub scanning: NotScanning,
    pub descriptors: bool,
    pub external_signer: bool,
    pub blank: bool,
    /// Creation time of the oldest key, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthtime: Option<u64>,
    pub flags: Vec<String>,
    pub lastprocessedblock: BlockRef,
}

/// A `listlockunspent` entry (also `lockunspent`'s input).
#[derive(Serialize, Debug, Clone)]
pub struct LockedCoin {
    pub txid: cairn_chain::Txid,
    pub vout: u32,
}

/// A `listreceivedbyaddress` entry.
#[derive(Serialize, Debug, Clone)]
pub struct ReceivedByAddress {
    pub address: String,
    pub amount: super::CoinAmount,
    pub confirmations: i64,
    pub label: String,
    pub txids: Vec<cairn_chain::Txid>,
}

/// `getaddressinfo`. Fields for scripts, witness programs, descriptors and HD paths are left
/// out: Cairn's addresses are single-key hashes of keys that are not derived.
#[derive(Serialize, Debug, Clone)]
pub struct AddressInfo {
    pub address: String,
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: String,
    pub ismine: bool,
    /// Core keeps it, documented deprecated (always false).
    pub iswatchonly: bool,
    pub solvable: bool,
    pub isscript: bool,
    pub ischange: bool,
    pub iswitness: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pubkey: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iscompressed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    pub labels: Vec<String>,
}

/// `listsinceblock`.
#[derive(Serialize, Debug, Clone)]
pub struct ListSinceBlock {
    pub transactions: Vec<super::WalletTxEntry>,
    /// Entries of wallet transactions in blocks of the given block's branch that left the
    /// active chain (only with `include_removed`, the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<Vec<super::WalletTxEntry>>,
    pub lastblock: cairn_chain::BlockHash,
}
