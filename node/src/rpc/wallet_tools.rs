//! Core's wallet methods beyond paying: `lockunspent`/`listlockunspent`, `abandontransaction`,
//! `getreceivedbyaddress`/`listreceivedbyaddress`, `getaddressinfo`, `signmessage`/
//! `verifymessage`, `backupwallet`, `settxfee` (the trait methods in [`super::wallet`] call
//! these), with Core's checks and error texts.

use cairn_chain::mempool::MIN_RELAY_FEE_PER_KB;
use cairn_chain::{Amount, BlockHash, OutPoint, Txid};
use cairn_rpc::error::code;
use cairn_rpc::types::*;
use cairn_rpc::{RpcError, RpcResult};
use cairn_wallet::message::{MessageError, verify_message};
use cairn_wallet::{AbandonError, Address, CoinStatus};
use jsonrpsee::Extensions;

use super::RpcContext;
use super::convert::wallet_err;
use crate::clock::unix_now;

/// Core's highest `settxfee` (its default `-maxtxfee`, 0.1 coin per 1000 bytes).
pub const MAX_TX_FEE_PER_KB: u64 = 10_000_000;

/// Reads `lockunspent`'s `{"txid": …, "vout": …}` objects, with Core's messages.
fn outpoints(list: &[serde_json::Value]) -> RpcResult<Vec<OutPoint>> {
    list.iter()
        .map(|o| {
            let obj = o
                .as_object()
                .ok_or_else(|| RpcError::new(code::TYPE_ERROR, "Expected type object, got something else"))?;
            let txid = obj
                .get("txid")
                .and_then(|t| t.as_str())
                .ok_or_else(|| RpcError::new(code::TYPE_ERROR, "Missing txid"))?;
            if txid.len() != 64 {
                return Err(RpcError::invalid_parameter(format!(
                    "txid must be of length 64 (not {}, for '{txid}')",
                    txid.len()
                )));
            }
            let txid: Txid = txid
                .parse()
                .map_err(|_| RpcError::invalid_parameter(format!("txid must be hexadecimal string (not '{txid}')")))?;
            let vout = obj
                .get("vout")
                .and_then(|v| v.as_i64())
                .ok_or_else(|| RpcError::new(code::TYPE_ERROR, "Missing vout"))?;
            if vout < 0 {
                return Err(RpcError::invalid_parameter("Invalid parameter, vout cannot be negative"));
            }
            let vout = u32::try_from(vout).map_err(|_| RpcError::invalid_parameter("Invalid parameter, vout index out of bounds"))?;
            Ok(OutPoint::new(txid, vout))
        })
        .collect()
}

fn invalid_address() -> RpcError {
    RpcError::not_found("Invalid address")
}

impl RpcContext {
    pub(super) async fn list_since_block(
        &self,
        ext: &Extensions,
        since: Option<BlockHash>,
        target: i64,
        include_removed: bool,
        include_change: bool,
        label: Option<String>,
    ) -> RpcResult<ListSinceBlock> {
        // Where `since` meets the active chain, and the transactions of its branch above that.
        let (fork_height, removed) = match since {
            None => (None, Vec::new()),
            Some(hash) => {
                self.with_state(move |v| {
                    let mut cursor = hash;
                    let mut removed = Vec::new();
                    loop {
                        let r = v
                            .chain
                            .index_record(&cursor)
                            .ok_or_else(|| RpcError::not_found("Block not found"))?;
                        if v.chain.block_hash_at(r.height) == Some(cursor) {
                            return Ok((Some(r.height), removed));
                        }
                        if let Some(block) = v.chain.get_block(&cursor).map_err(super::convert::store_err)? {
                            removed.extend(block.txdata.iter().map(|t| t.compute_txid()));
                        }
                        cursor = r.header.prev_blockhash;
                    }
                })
                .await?
            }
        };
        let (transactions, removed, tip) = self
            .with_wallet(ext, move |s| {
                let all = s.wallet.list_transactions(s.tip_height, usize::MAX, 0);
                let wanted = |e: &cairn_wallet::TxEntry| {
                    label
                        .as_deref()
                        .is_none_or(|l| e.label == l && e.category != cairn_wallet::Category::Send)
                };
                let mut entries: Vec<WalletTxEntry> = all
                    .iter()
                    .filter(|e| match (fork_height, e.block) {
                        (None, _) | (_, None) => true,
                        (Some(h), Some(b)) => b.1 > h,
                    })
                    .filter(|e| wanted(e))
                    .map(|e| super::wallet::entry_json(e, false))
                    .collect();
                if include_change {
                    entries.extend(change_entries(s.wallet, s.tip_height, fork_height));
                }
                let removed: Vec<WalletTxEntry> = if include_removed {
                    all.iter()
                        .filter(|e| removed.contains(&e.txid) && wanted(e))
                        .map(|e| super::wallet::entry_json(e, false))
                        .collect()
                } else {
                    Vec::new()
                };
                Ok((entries, include_removed.then_some(removed), (s.tip_height, s.tip_hash)))
            })
            .await?;
        // `lastblock` on the chain the wallet answered from: its tip's ancestor, whatever the
        // chain did since.
        let (tip, tip_hash) = tip;
        let height = u32::try_from((i64::from(tip) + 1 - target).max(0)).unwrap_or(0);
        let lastblock = self
            .with_state(move |v| {
                v.chain
                    .ancestor(&tip_hash, height)
                    .or_else(|| v.chain.block_hash_at(height))
                    .ok_or_else(|| RpcError::misc("no block at that height"))
            })
            .await?;
        Ok(ListSinceBlock {
            transactions,
            removed,
            lastblock,
        })
    }

    pub(super) async fn lock_unspent(
        &self,
        ext: &Extensions,
        unlock: bool,
        transactions: Option<Vec<serde_json::Value>>,
        persistent: Option<bool>,
    ) -> RpcResult<bool> {
        let persistent = persistent.unwrap_or(false);
        let Some(list) = transactions else {
            if unlock {
                self.with_wallet(ext, |s| s.wallet.unlock_coins(None).map_err(wallet_err)).await?;
            }
            return Ok(true);
        };
        if list.len() > 100_000 {
            return Err(RpcError::invalid_parameter("Invalid parameter, at most 100000 outputs at once"));
        }
        let ops = outpoints(&list)?;
        self.with_wallet(ext, move |s| {
            for op in &ops {
                let status = s.wallet.coin_status(op);
                let problem = match status {
                    CoinStatus::UnknownTx => Some("Invalid parameter, unknown transaction"),
                    CoinStatus::NoSuchOutput => Some("Invalid parameter, vout index out of bounds"),
                    CoinStatus::Spent if !unlock => Some("Invalid parameter, expected unspent output"),
                    _ if unlock && !s.wallet.is_locked_coin(op) => Some("Invalid parameter, expected locked output"),
                    _ if !unlock && s.wallet.is_locked_coin(op) => Some("Invalid parameter, output already locked"),
                    _ => None,
                };
                if let Some(p) = problem {
                    return Err(RpcError::invalid_parameter(p));
                }
            }
            if unlock {
                s.wallet.unlock_coins(Some(&ops)).map_err(wallet_err)?;
            } else {
                s.wallet.lock_coins(&ops, persistent).map_err(wallet_err)?;
            }
            Ok(true)
        })
        .await
    }

    pub(super) async fn list_lock_unspent(&self, ext: &Extensions) -> RpcResult<Vec<LockedCoin>> {
        self.with_wallet(ext, |s| {
            Ok(s.wallet
                .locked_coins()
                .into_iter()
                .map(|o| LockedCoin {
                    txid: o.txid,
                    vout: o.vout,
                })
                .collect())
        })
        .await
    }

    pub(super) async fn abandon_transaction(&self, ext: &Extensions, txid: Txid) -> RpcResult<()> {
        self.with_wallet(ext, move |s| {
            s.wallet.abandon(&txid).map_err(|e| match e {
                AbandonError::Wallet(w) => wallet_err(w),
                other => RpcError::not_found(other.to_string()),
            })
        })
        .await
    }

    pub(super) async fn received_by_address(
        &self,
        ext: &Extensions,
        address: String,
        minconf: i64,
        include_immature: bool,
    ) -> RpcResult<CoinAmount> {
        let address = Address::parse(&address, self.network).map_err(|_| RpcError::not_found("Invalid Bitcoin address"))?;
        self.with_wallet(ext, move |s| {
            let mine = s
                .wallet
                .key_info(&address)
                .ok_or_else(|| RpcError::new(code::WALLET_ERROR, "Address not found in wallet"))?;
            if mine.change {
                // Core counts only address-book (receiving) addresses.
                return Ok(CoinAmount(Amount::ZERO));
            }
            let all = s.wallet.received_by_address(s.tip_height, minconf, include_immature);
            Ok(CoinAmount(
                all.into_iter().find(|r| r.address == address).map_or(Amount::ZERO, |r| r.amount),
            ))
        })
        .await
    }

    pub(super) async fn list_received_by_address(
        &self,
        ext: &Extensions,
        minconf: i64,
        include_empty: bool,
        address_filter: Option<String>,
        include_immature: bool,
    ) -> RpcResult<Vec<ReceivedByAddress>> {
        let filter = match address_filter.as_deref() {
            None | Some("") => None,
            Some(a) => Some(
                Address::parse(a, self.network).map_err(|_| RpcError::new(code::WALLET_ERROR, "address_filter parameter was invalid"))?,
            ),
        };
        self.with_wallet(ext, move |s| {
            Ok(s.wallet
                .received_by_address(s.tip_height, minconf, include_immature)
                .into_iter()
                .filter(|r| include_empty || !r.txids.is_empty())
                .filter(|r| filter.as_ref().is_none_or(|f| *f == r.address))
                .map(|r| ReceivedByAddress {
                    address: r.address.to_string(),
                    amount: CoinAmount(r.amount),
                    confirmations: r.confirmations,
                    label: r.label,
                    txids: r.txids,
                })
                .collect())
        })
        .await
    }

    pub(super) async fn address_info(&self, ext: &Extensions, address: String) -> RpcResult<AddressInfo> {
        let address = Address::parse(&address, self.network).map_err(|_| invalid_address())?;
        self.with_wallet(ext, move |s| {
            let key = s.wallet.key_info(&address);
            Ok(AddressInfo {
                address: address.to_string(),
                script_pub_key: hex::encode(cairn_chain::encode::Encodable::encode(&address.lock())),
                ismine: key.is_some(),
                iswatchonly: false,
                solvable: key.is_some(),
                isscript: false,
                ischange: key.as_ref().is_some_and(|k| k.change),
                iswitness: false,
                pubkey: key.as_ref().map(|k| hex::encode(k.public.serialize())),
                iscompressed: key.as_ref().map(|_| true),
                timestamp: key.as_ref().map(|k| k.created),
                labels: key.filter(|k| !k.change).map(|k| vec![k.label]).unwrap_or_default(),
            })
        })
        .await
    }

    pub(super) async fn sign_message(&self, ext: &Extensions, address: String, message: String) -> RpcResult<String> {
        let address = Address::parse(&address, self.network).map_err(|_| invalid_address())?;
        self.with_wallet(ext, move |s| {
            s.wallet
                .sign_message(&address, &message, unix_now())
                .map_err(wallet_err)?
                .ok_or_else(|| RpcError::new(code::WALLET_ERROR, "Private key not available"))
        })
        .await
    }

    pub(super) fn verify_message(&self, address: &str, signature: &str, message: &str) -> RpcResult<bool> {
        let address = Address::parse(address, self.network).map_err(|_| invalid_address())?;
        verify_message(&address, signature, message).map_err(|e| match e {
            MessageError::Malformed => RpcError::not_found(e.to_string()),
            MessageError::NotAKey => RpcError::new(code::TYPE_ERROR, e.to_string()),
        })
    }

    pub(super) async fn backup_wallet(&self, ext: &Extensions, destination: String) -> RpcResult<()> {
        if destination.is_empty() {
            return Err(RpcError::invalid_parameter("destination cannot be empty"));
        }
        self.with_wallet(ext, move |s| {
            let written = s.wallet.backup(std::path::Path::new(&destination), s.name).map_err(|e| {
                tracing::warn!(error = %e, "wallet backup failed");
                RpcError::new(code::WALLET_ERROR, "Error: Wallet backup failed!")
            })?;
            tracing::info!(wallet = %s.name, path = %written.display(), "wallet backed up");
            Ok(())
        })
        .await
    }

    pub(super) async fn set_tx_fee(&self, ext: &Extensions, amount: Amount) -> RpcResult<bool> {
        let per_kb = amount.to_units();
        if per_kb != 0 && per_kb < MIN_RELAY_FEE_PER_KB {
            return Err(RpcError::invalid_parameter(format!(
                "txfee cannot be less than min relay tx fee ({})",
                Amount::from_units(MIN_RELAY_FEE_PER_KB).unwrap_or(Amount::ZERO)
            )));
        }
        if per_kb > MAX_TX_FEE_PER_KB {
            return Err(RpcError::invalid_parameter(format!(
                "txfee cannot be more than wallet max tx fee ({})",
                Amount::from_units(MAX_TX_FEE_PER_KB).unwrap_or(Amount::ZERO)
            )));
        }
        self.with_wallet(ext, move |s| {
            s.wallet.set_pay_tx_fee((per_kb != 0).then_some(per_kb));
            Ok(true)
        })
        .await
    }
}

/// `include_change`: an entry per change output of the wallet's own payments since
/// `fork_height` (Core lists them as receives when asked).
fn change_entries(wallet: &cairn_wallet::Wallet, tip: u32, fork_height: Option<u32>) -> Vec<WalletTxEntry> {
    wallet
        .change_entries(tip)
        .iter()
        .filter(|e| match (fork_height, e.block) {
            (None, _) | (_, None) => true,
            (Some(h), Some(b)) => b.1 > h,
        })
        .map(|e| super::wallet::entry_json(e, false))
        .collect()
}

/// `fundrawtransaction`'s options, read as Core reads them.
struct FundOptions {
    funding: cairn_wallet::Funding,
    rate: Option<u64>,
    lock_unspents: bool,
}

fn fund_options(options: Option<serde_json::Value>, outputs: usize, network: cairn_chain::Network) -> RpcResult<FundOptions> {
    let mut o = FundOptions {
        funding: cairn_wallet::Funding::default(),
        rate: None,
        lock_unspents: false,
    };
    let map = match options {
        None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(_)) => return Ok(o),
        Some(serde_json::Value::Object(m)) => m,
        Some(_) => return Err(RpcError::new(code::TYPE_ERROR, "options must be an object")),
    };
    let bad_type = |k: &str| RpcError::new(code::TYPE_ERROR, format!("Wrong type for option {k}"));
    for (k, v) in &map {
        match k.as_str() {
            "add_inputs" => {
                if v.as_bool() == Some(false) {
                    return Err(RpcError::new(
                        code::WALLET_ERROR,
                        "Cairn's fundrawtransaction adds the inputs itself: add_inputs=false is not supported",
                    ));
                }
            }
            "changeAddress" => {
                let a = v.as_str().ok_or_else(|| bad_type(k))?;
                let address = cairn_wallet::Address::parse(a, network)
                    .map_err(|_| RpcError::new(code::INVALID_ADDRESS_OR_KEY, "Change address must be a valid address"))?;
                o.funding.change_lock = Some(address.lock());
            }
            "changePosition" => {
                let p = v.as_i64().ok_or_else(|| bad_type(k))?;
                let p = usize::try_from(p)
                    .ok()
                    .filter(|p| *p <= outputs)
                    .ok_or_else(|| RpcError::invalid_parameter("changePosition out of bounds"))?;
                o.funding.change_position = Some(p);
            }
            "lockUnspents" => o.lock_unspents = v.as_bool().ok_or_else(|| bad_type(k))?,
            "fee_rate" => {
                let r: RateParam = serde_json::from_value(v.clone()).map_err(|_| bad_type(k))?;
                o.rate = super::wallet::fee_rate_per_kb(Some(r))?;
            }
            "feeRate" => {
                let a: AmountParam = serde_json::from_value(v.clone()).map_err(|_| bad_type(k))?;
                // coins per 1000 bytes = units per 1000 bytes once read as an amount.
                let per_kb = a.0.to_units();
                o.rate = super::wallet::fee_rate_per_kb(Some(RateParam(per_kb as f64 / 1000.0)))?;
            }
            "subtractFeeFromOutputs" => {
                let list = v.as_array().ok_or_else(|| bad_type(k))?;
                for i in list {
                    let i = i.as_i64().ok_or_else(|| bad_type(k))?;
                    let i = usize::try_from(i)
                        .ok()
                        .filter(|i| *i < outputs)
                        .ok_or_else(|| RpcError::invalid_parameter(format!("Invalid parameter, value out of range: {i}")))?;
                    if o.funding.subtract_from.contains(&i) {
                        return Err(RpcError::invalid_parameter(format!("Invalid parameter, duplicated position: {i}")));
                    }
                    o.funding.subtract_from.push(i);
                }
            }
            "includeWatching" | "replaceable" | "conf_target" | "estimate_mode" | "include_unsafe" | "minconf" | "maxconf" => {}
            other => return Err(RpcError::new(code::TYPE_ERROR, format!("Unexpected key {other}"))),
        }
    }
    Ok(o)
}

impl RpcContext {
    pub(super) async fn fund_raw_transaction(
        &self,
        ext: &Extensions,
        hexstring: String,
        options: Option<serde_json::Value>,
    ) -> RpcResult<serde_json::Value> {
        let bytes = hex::decode(hexstring.trim()).map_err(|_| RpcError::new(code::DESERIALIZATION_ERROR, "TX decode failed"))?;
        let tx = <cairn_chain::Transaction as cairn_chain::encode::Decodable>::decode(&bytes)
            .map_err(|e| RpcError::new(code::DESERIALIZATION_ERROR, format!("TX decode failed: {e}")))?;
        if !tx.inputs.is_empty() {
            return Err(RpcError::new(
                code::WALLET_ERROR,
                "Cairn's fundrawtransaction funds transactions without inputs: leave the inputs out (it chooses them)",
            ));
        }
        let opts = fund_options(options, tx.outputs.len(), self.network)?;
        let outputs = tx.outputs.clone();
        let (lock_time, version) = (tx.lock_time, tx.version);
        let _one_at_a_time = self.send_lock.lock().await;
        self.with_wallet(ext, move |s| {
            let rate = opts
                .rate
                .or(s.wallet.pay_tx_fee())
                .unwrap_or(super::wallet::DEFAULT_FEE_RATE_PER_KB);
            let mut unsigned = s
                .wallet
                .fund(outputs, &opts.funding, rate, s.tip_height, unix_now())
                .map_err(wallet_err)?;
            unsigned.tx.lock_time = lock_time;
            unsigned.tx.version = version;
            if opts.lock_unspents {
                let spent: Vec<OutPoint> = unsigned.tx.inputs.iter().map(|i| i.prevout).collect();
                s.wallet.lock_coins(&spent, false).map_err(wallet_err)?;
            }
            Ok(serde_json::json!({
                "hex": hex::encode(cairn_chain::encode::Encodable::encode(&unsigned.tx)),
                "fee": CoinAmount(unsigned.fee),
                "changepos": unsigned.change_index.map_or(-1, |i| i as i64),
            }))
        })
        .await
    }
}
