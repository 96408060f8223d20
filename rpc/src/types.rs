//! JSON shapes of the RPC methods' parameters and results, named and laid out as in Bitcoin
//! Core. Fields with no meaning in Cairn (witness data, script assembly, sequence numbers, BIP125
//! flags) are left out rather than faked.
//!
//! Amounts are [`CoinAmount`]: JSON numbers with exactly 8 decimals (`50.00000000`), written as
//! raw JSON text so no floating-point step can round them.

use cairn_chain::{Amount, BlockHash, Txid};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

mod chain;
mod files;
mod network;
mod wallets;
pub use chain::*;
pub use files::*;
pub use network::*;
pub use wallets::*;

/// An amount in coins, serialized as a JSON number with 8 decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoinAmount(pub Amount);

impl Serialize for CoinAmount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        raw_number(&self.0.to_string(), s)
    }
}

/// A signed amount in base units (wallet history: negative for sends), serialized in coins with
/// 8 decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedCoinAmount(pub i64);

impl Serialize for SignedCoinAmount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let units = self.0.unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        raw_number(&format!("{sign}{}.{:08}", units / Amount::COIN, units % Amount::COIN), s)
    }
}

fn raw_number<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    let raw = RawValue::from_string(text.to_string()).map_err(serde::ser::Error::custom)?;
    raw.serialize(s)
}

/// An amount parameter: a JSON number or a numeric string in coins, at most 8 decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmountParam(pub Amount);

impl<'de> Deserialize<'de> for AmountParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum NumOrStr {
            Num(serde_json::Number),
            Str(String),
        }
        let text = match NumOrStr::deserialize(d)? {
            NumOrStr::Num(n) => n.to_string(),
            NumOrStr::Str(s) => s,
        };
        parse_coins(&text)
            .map(AmountParam)
            .ok_or_else(|| serde::de::Error::custom("Invalid amount"))
    }
}

/// A rate parameter (Core's `fee_rate` in sat/vB): a JSON number or a numeric string. A string
/// that is not a number is an invalid rate, refused by the method with -8.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateParam(pub f64);

impl<'de> Deserialize<'de> for RateParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum NumOrStr {
            Num(f64),
            Str(String),
        }
        Ok(RateParam(match NumOrStr::deserialize(d)? {
            NumOrStr::Num(n) => n,
            NumOrStr::Str(s) => s.trim().parse().unwrap_or(f64::NAN),
        }))
    }
}

/// An integer parameter that must fit `T`. Parsing accepts any JSON number, so that one outside
/// `T`'s range (a huge number, a negative count) reaches the method and is refused there with
/// Core's -8 ([`Int::get`]) instead of failing to parse; a number with a fraction is a -3 type
/// error, as in Core.
#[derive(Clone, Debug, PartialEq)]
pub struct Int<T>(Result<T, IntError>);

/// Why an [`Int`] parameter has no value of its type.
#[derive(Clone, Debug, PartialEq)]
enum IntError {
    /// An integer outside the type's range (the number, as given).
    OutOfRange(String),
    /// Not an integer.
    NotInteger(String),
}

impl<T> Int<T> {
    /// An in-range value (tests, defaults).
    pub fn new(value: T) -> Self {
        Int(Ok(value))
    }

    /// The value, or Core's error naming the parameter: -8 when out of range, -3 when not an
    /// integer.
    ///
    /// # Errors
    /// As above.
    pub fn get(self, name: &str) -> Result<T, crate::error::RpcError> {
        match self.0 {
            Ok(v) => Ok(v),
            Err(IntError::OutOfRange(n)) => Err(crate::error::RpcError::invalid_parameter(format!("{name} out of range: {n}"))),
            Err(IntError::NotInteger(n)) => Err(crate::error::RpcError::new(
                crate::error::code::TYPE_ERROR,
                format!("{name} must be an integer, got {n}"),
            )),
        }
    }
}

impl<'de, T: TryFrom<i128>> Deserialize<'de> for Int<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        let wide = n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
        Ok(Int(match wide {
            Some(i) => T::try_from(i).map_err(|_| IntError::OutOfRange(n.to_string())),
            None => match n.as_f64() {
                // 1.0 is an integer; 1e30 is one too, beyond any of ours.
                Some(f) if f.fract() == 0.0 && f.abs() < 1e18 => T::try_from(f as i128).map_err(|_| IntError::OutOfRange(n.to_string())),
                Some(f) if f.is_finite() && f.fract() == 0.0 => Err(IntError::OutOfRange(n.to_string())),
                _ => Err(IntError::NotInteger(n.to_string())),
            },
        }))
    }
}

/// Parses a decimal coin amount, also in the exponent form a float may print as (`1e-05`).
pub fn parse_coins(text: &str) -> Option<Amount> {
    if let Ok(a) = Amount::from_coin_str(text) {
        return Some(a);
    }
    // JSON numbers that came through a float may print with an exponent: scale exactly.
    let (mantissa, exp) = text.split_once(['e', 'E'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let point = i32::try_from(int.len()).ok()?.checked_add(exp)?;
    if !(-20..=20).contains(&point) || int.len() + frac.len() > 40 {
        return None;
    }
    // 1e-8: the point falls before the digits; pad zeros in front.
    let digits = format!("{}{int}{frac}", "0".repeat((-point).max(0) as usize));
    let point = point.max(0) as usize;
    let padded = format!("{digits:0<width$}", width = point.max(digits.len()));
    let (i, f) = padded.split_at(point);
    Amount::from_coin_str(&format!(
        "{}.{}",
        if i.is_empty() { "0" } else { i },
        if f.is_empty() { "0" } else { f }
    ))
    .ok()
}

/// A verbosity parameter: Core accepts a number or a boolean (`true` = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verbosity(pub u8);

impl<'de> Deserialize<'de> for Verbosity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum NumOrBool {
            Num(u8),
            Bool(bool),
        }
        Ok(match NumOrBool::deserialize(d)? {
            NumOrBool::Num(n) => Verbosity(n),
            NumOrBool::Bool(b) => Verbosity(u8::from(b)),
        })
    }
}

/// `getblockchaininfo`.
#[derive(Serialize, Debug, Clone)]
pub struct BlockchainInfo {
    pub chain: String,
    pub blocks: u32,
    pub headers: u32,
    pub bestblockhash: BlockHash,
    pub bits: String,
    pub target: String,
    pub difficulty: f64,
    pub time: u32,
    pub mediantime: u32,
    pub verificationprogress: f64,
    pub initialblockdownload: bool,
    pub chainwork: String,
    pub size_on_disk: u64,
    pub pruned: bool,
    pub warnings: Vec<String>,
}

/// `getblockheader` (verbose) and the header part of `getblock`.
#[derive(Serialize, Debug, Clone)]
pub struct BlockHeaderInfo {
    pub hash: BlockHash,
    pub confirmations: i64,
    pub height: u32,
    pub version: u32,
    #[serde(rename = "versionHex")]
    pub version_hex: String,
    pub merkleroot: String,
    pub time: u32,
    pub mediantime: u32,
    pub nonce: u32,
    pub bits: String,
    pub target: String,
    pub difficulty: f64,
    pub chainwork: String,
    #[serde(rename = "nTx")]
    pub n_tx: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previousblockhash: Option<BlockHash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nextblockhash: Option<BlockHash>,
}

/// `getblock` with verbosity 1 or 2.
#[derive(Serialize, Debug, Clone)]
pub struct BlockInfo {
    #[serde(flatten)]
    pub header: BlockHeaderInfo,
    /// The size without witness data: the size (Cairn has none).
    pub strippedsize: usize,
    pub size: usize,
    pub weight: usize,
    pub tx: BlockTxs,
}

/// The `tx` member of `getblock`: ids (verbosity 1) or decoded transactions (verbosity 2).
#[derive(Serialize, Debug, Clone)]
#[serde(untagged)]
pub enum BlockTxs {
    Ids(Vec<Txid>),
    Full(Vec<TxInfo>),
}

/// `getblock`'s three forms.
#[derive(Serialize, Debug, Clone)]
#[serde(untagged)]
pub enum GetBlockResult {
    Hex(String),
    Verbose(Box<BlockInfo>),
}

/// `getblockheader`'s two forms.
#[derive(Serialize, Debug, Clone)]
#[serde(untagged)]
pub enum GetBlockHeaderResult {
    Hex(String),
    Verbose(Box<BlockHeaderInfo>),
}

/// An output's lock, in Core's `scriptPubKey` shape (`hex` is the canonical lock encoding).
#[derive(Serialize, Debug, Clone)]
pub struct ScriptPubKey {
    /// The lock in the Bitcoin script it is equivalent to (a key-hash lock is P2PKH's
    /// `OP_DUP OP_HASH160 <hash> OP_EQUALVERIFY OP_CHECKSIG`, a data carrier `OP_RETURN <data>`).
    pub asm: String,
    /// Core's inferred descriptor: `addr(ADDRESS)#checksum`, or `raw(HEX)#checksum` without an
    /// address.
    pub desc: String,
    pub hex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A signature and public key shown as Core shows a P2PKH `scriptSig`: `asm` is
/// `<signature> <pubkey>`, `hex` their canonical encoding.
#[derive(Serialize, Debug, Clone)]
pub struct ScriptSig {
    pub asm: String,
    pub hex: String,
}

/// One input of a decoded transaction.
#[derive(Serialize, Debug, Clone)]
#[serde(untagged)]
pub enum TxInInfo {
    Coinbase {
        coinbase: String,
        /// Cairn's inputs have no sequence number: Core's value for a final input that signals no
        /// replacement ([`FINAL_SEQUENCE`]), which is what every Cairn input is.
        sequence: u32,
    },
    Spend {
        txid: Txid,
        vout: u32,
        #[serde(rename = "scriptSig")]
        script_sig: ScriptSig,
        /// The output it spends (`getblock` verbosity 3).
        #[serde(skip_serializing_if = "Option::is_none")]
        prevout: Option<PrevOut>,
        /// See `Coinbase`.
        sequence: u32,
    },
}

/// The output an input spends, as `getblock` verbosity 3 shows it.
#[derive(Serialize, Debug, Clone)]
pub struct PrevOut {
    /// Whether a coinbase created it.
    pub generated: bool,
    pub height: u32,
    pub value: CoinAmount,
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: ScriptPubKey,
}

/// The `sequence` shown for every input (Core's `CTxIn::SEQUENCE_FINAL`).
pub const FINAL_SEQUENCE: u32 = u32::MAX;

/// One output of a decoded transaction.
#[derive(Serialize, Debug, Clone)]
pub struct TxOutInfo {
    pub value: CoinAmount,
    pub n: u32,
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: ScriptPubKey,
}

/// A decoded transaction (`getrawtransaction` verbose, `getblock` verbosity 2).
#[derive(Serialize, Debug, Clone)]
pub struct TxInfo {
    pub txid: Txid,
    pub hash: Txid,
    pub version: u32,
    pub size: usize,
    pub vsize: usize,
    pub weight: usize,
    pub locktime: u32,
    pub vin: Vec<TxInInfo>,
    pub vout: Vec<TxOutInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<CoinAmount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockhash: Option<BlockHash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocktime: Option<u32>,
}

/// `getrawtransaction`'s two forms.
#[derive(Serialize, Debug, Clone)]
#[serde(untagged)]
pub enum GetRawTransactionResult {
    Hex(String),
    Verbose(Box<TxInfo>),
}

/// `gettxout`.
#[derive(Serialize, Debug, Clone)]
pub struct TxOutResult {
    pub bestblock: BlockHash,
    pub confirmations: u32,
    pub value: CoinAmount,
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: ScriptPubKey,
    pub coinbase: bool,
}

/// `gettxoutsetinfo`. `hash_serialized_3` is SHA-256 over every coin's stored key and value in
/// key order; `bogosize` is the number of bytes hashed.
#[derive(Serialize, Debug, Clone)]
pub struct TxOutSetInfo {
    pub height: u32,
    pub bestblock: BlockHash,
    pub txouts: u64,
    pub bogosize: u64,
    /// Absent with `hash_type` `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_serialized_3: Option<String>,
    pub total_amount: CoinAmount,
}

/// One entry of `getchaintips`.
#[derive(Serialize, Debug, Clone)]
pub struct ChainTipInfo {
    /// Height of the tip.
    pub height: u32,
    /// Its block hash.
    pub hash: BlockHash,
    /// Blocks from the active chain to the tip (0 for the active tip).
    pub branchlen: u32,
    /// `active`, `valid-fork`, `valid-headers`, `headers-only` or `invalid`.
    pub status: String,
}

/// `getmempoolinfo`.
#[derive(Serialize, Debug, Clone)]
pub struct MempoolInfo {
    pub loaded: bool,
    pub size: usize,
    pub bytes: usize,
    pub usage: usize,
    pub total_fee: CoinAmount,
    pub maxmempool: usize,
    pub mempoolminfee: CoinAmount,
    pub minrelaytxfee: CoinAmount,
    /// Cairn has no replacement, and a full pool's floor is its cheapest entry's rate: the
    /// relay minimum, as getnetworkinfo's `incrementalfee`.
    pub incrementalrelayfee: CoinAmount,
    pub unbroadcastcount: usize,
}

/// `getmininginfo`.
#[derive(Serialize, Debug, Clone)]
pub struct MiningInfo {
    pub blocks: u32,
    pub bits: String,
    pub difficulty: f64,
    pub target: String,
    pub networkhashps: f64,
    pub pooledtx: usize,
    pub chain: String,
    pub warnings: Vec<String>,
    /// Continuous mining on (Core up to 0.12).
    pub generate: bool,
    /// Mining threads (Core up to 0.12).
    pub genproclimit: usize,
    /// This node's own hashes per second while mining (Core up to 0.12).
    pub hashespersec: f64,
}

/// The `mine` member of `getbalances`.
#[derive(Serialize, Debug, Clone)]
pub struct MineBalances {
    pub trusted: CoinAmount,
    pub untrusted_pending: CoinAmount,
    pub immature: CoinAmount,
}

/// A block reference (`lastprocessedblock`).
#[derive(Serialize, Debug, Clone)]
pub struct BlockRef {
    pub hash: BlockHash,
    pub height: u32,
}

/// `getbalances`.
#[derive(Serialize, Debug, Clone)]
pub struct Balances {
    pub mine: MineBalances,
    pub lastprocessedblock: BlockRef,
}

/// A `listunspent` entry.
#[derive(Serialize, Debug, Clone)]
pub struct UnspentEntry {
    pub txid: Txid,
    pub vout: u32,
    pub address: String,
    pub label: String,
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: String,
    pub amount: CoinAmount,
    pub confirmations: u32,
    pub spendable: bool,
    pub solvable: bool,
    /// `pkh(PUBKEY)#checksum`: the key's own descriptor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// The descriptors this output came from: a Cairn key has no HD parent, so its own.
    pub parent_descs: Vec<String>,
    pub safe: bool,
}

/// A wallet history entry (`listtransactions`, and `details` of `gettransaction`).
#[derive(Serialize, Debug, Clone)]
pub struct WalletTxEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub category: String,
    pub amount: SignedCoinAmount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub vout: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<SignedCoinAmount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockhash: Option<BlockHash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockheight: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockindex: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocktime: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txid: Option<Txid>,
    /// = txid: no witness data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wtxid: Option<Txid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walletconflicts: Option<Vec<Txid>>,
    /// Mempool transactions conflicting with it: none (the mempool keeps the first spend it sees).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mempoolconflicts: Option<Vec<Txid>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timereceived: Option<u64>,
    /// `"no"`: Cairn has no replace-by-fee.
    #[serde(rename = "bip125-replaceable", skip_serializing_if = "Option::is_none")]
    pub bip125_replaceable: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<bool>,
}

/// `gettransaction`.
#[derive(Serialize, Debug, Clone)]
pub struct WalletTransaction {
    pub amount: SignedCoinAmount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee: Option<SignedCoinAmount>,
    pub confirmations: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockhash: Option<BlockHash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockheight: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockindex: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocktime: Option<u32>,
    pub txid: Txid,
    /// = txid: no witness data.
    pub wtxid: Txid,
    pub walletconflicts: Vec<Txid>,
    /// None: the mempool keeps the first spend it sees.
    pub mempoolconflicts: Vec<Txid>,
    pub time: u64,
    pub timereceived: u64,
    /// `"no"`: Cairn has no replace-by-fee.
    #[serde(rename = "bip125-replaceable")]
    pub bip125_replaceable: &'static str,
    pub details: Vec<WalletTxEntry>,
    pub hex: String,
    /// The last block the wallet had processed when it answered.
    pub lastprocessedblock: BlockRef,
    /// The transaction decoded (`verbose`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<TxInfo>,
}

/// `validateaddress`.
#[derive(Serialize, Debug, Clone)]
pub struct ValidateAddress {
    pub isvalid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(rename = "scriptPubKey", skip_serializing_if = "Option::is_none")]
    pub script_pub_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isscript: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iswitness: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `getmemoryinfo` (mode `stats`).
#[derive(Serialize, Debug, Clone)]
pub struct MemoryInfo {
    /// Core's locked-memory pool for keys.
    pub locked: LockedMemory,
}

/// `getmemoryinfo.locked`: Core's pool of `mlock`ed memory for key material. Cairn keeps no such
/// pool (its wallet keys are not locked into RAM), so every figure is 0 — the honest value.
#[derive(Serialize, Debug, Clone, Default)]
pub struct LockedMemory {
    /// Bytes in use.
    pub used: u64,
    /// Bytes available.
    pub free: u64,
    /// Bytes in total.
    pub total: u64,
    /// Bytes locked.
    pub locked: u64,
    /// Chunks in use.
    pub chunks_used: u64,
    /// Chunks free.
    pub chunks_free: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_exponent_notation_are_exact() {
        let units = |t: &str| parse_coins(t).map(Amount::to_units);
        assert_eq!(units("1e-8"), Some(1));
        assert_eq!(units("1e-08"), Some(1));
        assert_eq!(units("2.5e-3"), Some(250_000));
        assert_eq!(units("1.5e1"), Some(1_500_000_000));
        assert_eq!(units("1e-9"), None, "below one unit");
        assert_eq!(units("1e-30"), None);
        assert_eq!(units("1e30"), None);
        assert_eq!(units("1e2147483647"), None, "no overflow");
        assert_eq!(units("1e-2147483648"), None);
    }

    #[test]
    fn amounts_keep_eight_decimals() {
        let a = CoinAmount(Amount::from_coins(50).unwrap());
        assert_eq!(serde_json::to_string(&a).unwrap(), "50.00000000");
        assert_eq!(serde_json::to_string(&SignedCoinAmount(-1_000_000_123)).unwrap(), "-10.00000123");
        assert_eq!(serde_json::to_string(&SignedCoinAmount(5)).unwrap(), "0.00000005");
        let nested = serde_json::to_string(&MineBalances {
            trusted: a,
            untrusted_pending: a,
            immature: a,
        })
        .unwrap();
        assert_eq!(
            nested,
            r#"{"trusted":50.00000000,"untrusted_pending":50.00000000,"immature":50.00000000}"#
        );
    }

    #[test]
    fn amount_params_are_exact() {
        let p: AmountParam = serde_json::from_str("0.1").unwrap();
        assert_eq!(p.0.to_units(), 10_000_000);
        let p: AmountParam = serde_json::from_str("\"21000000\"").unwrap();
        assert_eq!(p.0, Amount::MAX_MONEY);
        let p: AmountParam = serde_json::from_str("1e-05").unwrap();
        assert_eq!(p.0.to_units(), 1000);
        assert!(serde_json::from_str::<AmountParam>("0.000000001").is_err());
        assert!(serde_json::from_str::<AmountParam>("-1").is_err());
        assert!(serde_json::from_str::<AmountParam>("21000000.00000001").is_err());
        assert!(serde_json::from_str::<AmountParam>("\"ten\"").is_err());
    }

    #[test]
    fn verbosity_takes_numbers_and_booleans() {
        assert_eq!(serde_json::from_str::<Verbosity>("2").unwrap(), Verbosity(2));
        assert_eq!(serde_json::from_str::<Verbosity>("true").unwrap(), Verbosity(1));
        assert_eq!(serde_json::from_str::<Verbosity>("false").unwrap(), Verbosity(0));
    }
}

/// One input of `createrawtransaction`.
#[derive(Deserialize, Debug, Clone)]
pub struct RawTxInput {
    pub txid: Txid,
    pub vout: u32,
}

/// An input `signrawtransactionwithwallet` could not sign.
#[derive(Serialize, Debug, Clone)]
pub struct SignRawTxError {
    pub txid: Txid,
    pub vout: u32,
    pub error: String,
}

/// `signrawtransactionwithwallet`.
#[derive(Serialize, Debug, Clone)]
pub struct SignRawTransactionResult {
    pub hex: String,
    pub complete: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SignRawTxError>,
}
