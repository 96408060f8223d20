//! `WalletApi`: addresses, balances, history and payments from the node's wallet.
//!
//! The wallet runs on its own thread ([`crate::wallet_service`]); these methods run there, and
//! count confirmations against the last block the wallet processed (`getbalances` reports it).
//!
//! Payments pay [`DEFAULT_FEE_RATE_PER_KB`] unless `fee_rate` (units per byte, Core's sat/vB) is
//! given. The transaction is built and signed by the wallet, admitted to the mempool by the
//! chain service, and only then recorded in the wallet file, so a rejected payment leaves no
//! trace; payments are made one at a time (`send_lock`), as Core holds the wallet's lock.

use cairn_chain::encode::Decodable;
use cairn_chain::mempool::{MIN_RELAY_FEE_PER_KB, MempoolError};
use cairn_chain::{BlockHash, Transaction, Txid};
use cairn_rpc::api::WalletApiServer;
use cairn_rpc::error::code;
use cairn_rpc::types::*;
use cairn_rpc::{RpcError, RpcResult};
use cairn_wallet::{Address, TxDetails, TxEntry};
use jsonrpsee::Extensions;
use jsonrpsee::core::async_trait;

use super::RpcContext;
use super::convert::*;
use super::encryption::not_encrypted;
use crate::clock::unix_now;

/// The wallet's fee rate: 10 units per byte (10,000 per 1000 bytes), ten times the minimum relay
/// rate, so payments confirm even when the mempool is busy.
pub const DEFAULT_FEE_RATE_PER_KB: u64 = 10_000;

pub(super) fn entry_json(e: &TxEntry, in_details: bool) -> WalletTxEntry {
    let block = e.block;
    WalletTxEntry {
        address: e.address.map(|a| a.to_string()),
        category: e.category.as_str().to_string(),
        amount: SignedCoinAmount(e.amount),
        label: e.address.map(|_| e.label.clone()),
        vout: e.vout,
        fee: e.fee.map(SignedCoinAmount),
        confirmations: (!in_details).then_some(e.confirmations),
        generated: (!in_details && e.generated).then_some(true),
        trusted: (!in_details && block.is_none()).then_some(e.trusted),
        blockhash: block.filter(|_| !in_details).map(|b| b.0),
        blockheight: block.filter(|_| !in_details).map(|b| b.1),
        blockindex: block.filter(|_| !in_details).map(|b| b.2),
        blocktime: block.filter(|_| !in_details).map(|b| b.3),
        txid: (!in_details).then_some(e.txid),
        wtxid: (!in_details).then_some(e.txid),
        walletconflicts: (!in_details).then(Vec::new),
        mempoolconflicts: (!in_details).then(Vec::new),
        time: (!in_details).then_some(e.time),
        timereceived: (!in_details).then_some(e.time_received),
        bip125_replaceable: (!in_details).then_some("no"),
        // Every entry has it (Core ≥ 28), gettransaction's details too.
        abandoned: Some(e.abandoned),
    }
}

/// `decoded` (gettransaction's `verbose`) is the transaction as decoderawtransaction shows it.
fn transaction_json(d: TxDetails, lastprocessedblock: BlockRef, decoded: Option<TxInfo>) -> WalletTransaction {
    WalletTransaction {
        amount: SignedCoinAmount(d.amount),
        fee: d.fee.map(SignedCoinAmount),
        confirmations: d.confirmations,
        generated: d.generated.then_some(true),
        trusted: d.block.is_none().then_some(d.trusted),
        blockhash: d.block.map(|b| b.0),
        blockheight: d.block.map(|b| b.1),
        blockindex: d.block.map(|b| b.2),
        blocktime: d.block.map(|b| b.3),
        txid: d.txid,
        wtxid: d.txid,
        walletconflicts: d.wallet_conflicts.clone(),
        mempoolconflicts: Vec::new(),
        time: d.time,
        timereceived: d.time_received,
        bip125_replaceable: "no",
        details: d.details.iter().map(|e| entry_json(e, true)).collect(),
        hex: hex::encode(&d.hex),
        lastprocessedblock,
        decoded,
    }
}

/// A payment's answer: the txid, or (`verbose`) Core's `{txid, fee_reason}`.
fn send_result(txid: Txid, fee_reason: &str, verbose: Option<bool>) -> serde_json::Value {
    if verbose.unwrap_or(false) {
        serde_json::json!({"txid": txid, "fee_reason": fee_reason})
    } else {
        serde_json::json!(txid)
    }
}

/// `fee_rate` (Core's sat/vB; units per byte here) as units per 1000 bytes, checked against the
/// relay minimum.
pub(super) fn fee_rate_per_kb(fee_rate: Option<RateParam>) -> RpcResult<Option<u64>> {
    let rate = match fee_rate.map(|r| r.0) {
        None => return Ok(None),
        Some(r) if r.is_finite() && r >= 0.0 && r * 1000.0 < 1e15 => (r * 1000.0).round() as u64,
        Some(_) => return Err(RpcError::invalid_parameter("Invalid fee_rate")),
    };
    if rate < MIN_RELAY_FEE_PER_KB {
        return Err(RpcError::new(
            code::WALLET_ERROR,
            format!(
                "Fee rate ({:.3} units/B) is lower than the minimum relay fee rate ({} units/B)",
                rate as f64 / 1000.0,
                MIN_RELAY_FEE_PER_KB / 1000
            ),
        ));
    }
    Ok(Some(rate))
}

impl RpcContext {
    /// A payment, one at a time: `build` makes and signs it in the wallet (at `rate`, else the
    /// wallet's `settxfee` rate, else the default), the mempool admits it, and only then the
    /// wallet records it.
    pub(super) async fn pay<F>(&self, ext: &Extensions, rate: Option<u64>, build: F) -> RpcResult<(cairn_wallet::CreatedTx, &'static str)>
    where
        F: FnOnce(&mut cairn_wallet::Wallet, u64, u32, u64) -> Result<cairn_wallet::CreatedTx, cairn_wallet::WalletError> + Send + 'static,
    {
        let _one_at_a_time = self.send_lock.lock().await;
        // The wallet is chosen once: the commit below names it, so a wallet loaded or unloaded
        // in between cannot make another wallet record this payment (unloading also waits for
        // `send_lock`).
        let (name, created, reason) = self
            .with_wallet(ext, move |s| {
                // Core's `fee_reason` names: a rate given or set by settxfee, else its fallback.
                let reason = if rate.or(s.wallet.pay_tx_fee()).is_some() {
                    "PayTxFee set"
                } else {
                    "Fallback fee"
                };
                let rate = rate.or(s.wallet.pay_tx_fee()).unwrap_or(DEFAULT_FEE_RATE_PER_KB);
                let created = build(s.wallet, rate, s.tip_height, unix_now()).map_err(wallet_err)?;
                Ok((s.name.to_string(), created, reason))
            })
            .await?;
        match self.chain.submit_tx(created.tx.clone()).await.map_err(stopped)? {
            Ok(_) => {}
            Err(MempoolError::Rejected(e)) => return Err(tx_rejected(&e)),
            Err(MempoolError::Store(e)) => return Err(store_err(e)),
        }
        let tx = created.tx.clone();
        self.on_named(name, move |w| w.commit_transaction(&tx, unix_now()).map_err(wallet_err))
            .await?;
        Ok((created, reason))
    }
}

#[async_trait]
impl WalletApiServer for RpcContext {
    async fn signrawtransactionwithwallet(&self, ext: &Extensions, hexstring: String) -> RpcResult<SignRawTransactionResult> {
        let bytes = hex::decode(hexstring.trim()).map_err(|_| RpcError::new(code::DESERIALIZATION_ERROR, "TX decode failed: not hex"))?;
        let mut tx = <cairn_chain::Transaction as cairn_chain::encode::Decodable>::decode(&bytes)
            .map_err(|e| RpcError::new(code::DESERIALIZATION_ERROR, format!("TX decode failed: {e}")))?;
        // The spent outputs: from the UTXO set, else from transactions in the mempool.
        let ops: Vec<_> = tx.inputs.iter().map(|i| i.prevout).collect();
        let (spent, mut errors) = self
            .with_state(move |s| {
                let coins = s.chain.get_coins(&ops).map_err(store_err)?;
                let mut spent = Vec::with_capacity(ops.len());
                let mut errors = Vec::new();
                for (op, coin) in ops.iter().zip(coins) {
                    let out = coin
                        .map(|c| c.output)
                        .or_else(|| s.mempool.get(&op.txid).and_then(|e| e.tx.outputs.get(op.vout as usize).cloned()));
                    match out {
                        Some(o) => spent.push(o),
                        None => errors.push(SignRawTxError {
                            txid: op.txid,
                            vout: op.vout,
                            error: "Input not found or already spent".into(),
                        }),
                    }
                }
                Ok((spent, errors))
            })
            .await?;
        self.with_wallet(ext, move |s| {
            let now = unix_now();
            if s.wallet.unlocked_until(now) == Some(0) {
                return Err(wallet_err(cairn_wallet::WalletError::Locked));
            }
            if errors.is_empty()
                && let Err(e) = s.wallet.sign(&mut tx, &spent, now)
            {
                let (txid, vout, error) = match &e {
                    cairn_wallet::WalletError::MissingKey { outpoint, .. } => (
                        outpoint.txid,
                        outpoint.vout,
                        "Unable to sign input: no key for it in this wallet".to_string(),
                    ),
                    other => (Txid::ZERO, 0, other.to_string()),
                };
                errors.push(SignRawTxError { txid, vout, error });
            }
            Ok(SignRawTransactionResult {
                hex: hex::encode(cairn_chain::encode::Encodable::encode(&tx)),
                complete: errors.is_empty(),
                errors,
            })
        })
        .await
    }

    async fn getnewaddress(&self, ext: &Extensions, label: Option<String>, address_type: Option<String>) -> RpcResult<String> {
        if let Some(t) = address_type.as_deref()
            && !matches!(t, "legacy" | "pubkeyhash")
        {
            return Err(RpcError::invalid_parameter(format!(
                "Unknown address type '{t}' (Cairn has pubkeyhash addresses only)"
            )));
        }
        let label = label.unwrap_or_default();
        if label == "*" {
            return Err(RpcError::new(code::WALLET_ERROR, "Invalid label name"));
        }
        self.with_wallet(ext, move |s| {
            s.wallet.new_address(&label, unix_now()).map(|a| a.to_string()).map_err(wallet_err)
        })
        .await
    }

    async fn getbalance(
        &self,
        ext: &Extensions,
        dummy: Option<String>,
        minconf: Option<Int<u32>>,
        _include_watchonly: Option<bool>,
        _avoid_reuse: Option<bool>,
    ) -> RpcResult<CoinAmount> {
        let minconf = minconf.map(|m| m.get("minconf")).transpose()?;
        if dummy.as_deref().is_some_and(|d| d != "*") {
            return Err(RpcError::new(
                code::METHOD_NOT_FOUND,
                "dummy first argument must be excluded or set to \"*\".",
            ));
        }
        self.with_wallet(ext, move |s| {
            let tip = s.tip_height;
            let balance = match minconf.unwrap_or(0) {
                0 => s.wallet.balances(tip).trusted,
                min => {
                    let coins = s.wallet.list_unspent(tip, min, u32::MAX);
                    cairn_chain::Amount::checked_sum(coins.iter().filter(|c| c.spendable).map(|c| c.amount))
                        .map_err(|e| RpcError::misc(e.to_string()))?
                }
            };
            Ok(CoinAmount(balance))
        })
        .await
    }

    async fn getbalances(&self, ext: &Extensions) -> RpcResult<Balances> {
        self.with_wallet(ext, |s| {
            let b = s.wallet.balances(s.tip_height);
            Ok(Balances {
                mine: MineBalances {
                    trusted: CoinAmount(b.trusted),
                    untrusted_pending: CoinAmount(b.untrusted_pending),
                    immature: CoinAmount(b.immature),
                },
                lastprocessedblock: BlockRef {
                    hash: s.tip_hash,
                    height: s.tip_height,
                },
            })
        })
        .await
    }

    async fn listunspent(
        &self,
        ext: &Extensions,
        minconf: Option<Int<u32>>,
        maxconf: Option<Int<u32>>,
        addresses: Option<Vec<String>>,
        include_unsafe: Option<bool>,
    ) -> RpcResult<Vec<UnspentEntry>> {
        let minconf = minconf.map(|m| m.get("minconf")).transpose()?;
        let maxconf = maxconf.map(|m| m.get("maxconf")).transpose()?;
        let network = self.network;
        // As Core: an empty list filters nothing; an address given twice is an error.
        let filter: Option<Vec<Address>> = match addresses {
            Some(list) if !list.is_empty() => {
                let mut seen = std::collections::HashSet::new();
                if let Some(dup) = list.iter().find(|a| !seen.insert(a.as_str())) {
                    return Err(RpcError::invalid_parameter(format!("Invalid parameter, duplicated address: {dup}")));
                }
                Some(list.iter().map(|a| parse_address(a, network)).collect::<RpcResult<_>>()?)
            }
            _ => None,
        };
        let include_unsafe = include_unsafe.unwrap_or(true);
        self.with_wallet(ext, move |s| {
            let coins = s
                .wallet
                .list_unspent(s.tip_height, minconf.unwrap_or(1), maxconf.unwrap_or(9_999_999));
            Ok(coins
                .into_iter()
                .filter(|c| filter.as_ref().is_none_or(|f| f.contains(&c.address)))
                .filter(|c| include_unsafe || c.confirmations > 0 || c.spendable)
                .map(|c| {
                    // Each key stands alone (no HD chain): its descriptor is its own parent.
                    let desc = s
                        .wallet
                        .key_info(&c.address)
                        .map(|k| cairn_rpc::descriptor::with_checksum(&format!("pkh({})", hex::encode(k.public.serialize()))));
                    UnspentEntry {
                        txid: c.outpoint.txid,
                        vout: c.outpoint.vout,
                        address: c.address.to_string(),
                        label: c.label.clone(),
                        script_pub_key: hex::encode(cairn_chain::encode::Encodable::encode(&c.address.lock())),
                        amount: CoinAmount(c.amount),
                        confirmations: c.confirmations,
                        spendable: c.spendable,
                        solvable: true,
                        parent_descs: desc.iter().cloned().collect(),
                        desc,
                        safe: c.spendable || c.confirmations > 0,
                    }
                })
                .collect())
        })
        .await
    }

    async fn sendtoaddress(
        &self,
        ext: &Extensions,
        address: String,
        amount: AmountParam,
        _comment: Option<String>,
        _comment_to: Option<String>,
        subtractfeefromamount: Option<bool>,
        _replaceable: Option<bool>,
        conf_target: Option<Int<u32>>,
        _estimate_mode: Option<String>,
        _avoid_reuse: Option<bool>,
        fee_rate: Option<RateParam>,
        verbose: Option<bool>,
    ) -> RpcResult<serde_json::Value> {
        // Validated, then unused: the fee comes from fee_rate or the node's default rate.
        conf_target.map(|c| c.get("conf_target")).transpose()?;
        let to = parse_address(&address, self.network)?;
        if amount.0 == cairn_chain::Amount::ZERO {
            return Err(RpcError::new(code::TYPE_ERROR, "Invalid amount for send"));
        }
        let rate = fee_rate_per_kb(fee_rate)?;
        let subtract = subtractfeefromamount.unwrap_or(false);
        let (created, reason) = self
            .pay(ext, rate, move |w, rate, tip, now| {
                w.create_transaction(&to, amount.0, rate, subtract, tip, now)
            })
            .await?;
        Ok(send_result(created.txid, reason, verbose))
    }

    async fn sendmany(
        &self,
        ext: &Extensions,
        dummy: Option<String>,
        amounts: serde_json::Map<String, serde_json::Value>,
        _minconf: Option<Int<i64>>,
        _comment: Option<String>,
        subtractfeefrom: Option<Vec<String>>,
        _replaceable: Option<bool>,
        conf_target: Option<Int<u32>>,
        _estimate_mode: Option<String>,
        fee_rate: Option<RateParam>,
        verbose: Option<bool>,
    ) -> RpcResult<serde_json::Value> {
        if dummy.as_deref().is_some_and(|d| !d.is_empty()) {
            return Err(RpcError::invalid_parameter("Dummy value must be set to \"\""));
        }
        conf_target.map(|c| c.get("conf_target")).transpose()?;
        if amounts.is_empty() {
            return Err(RpcError::invalid_parameter("Transaction must have at least one recipient"));
        }
        let mut payments = Vec::with_capacity(amounts.len());
        for (address, value) in &amounts {
            let to = parse_address(address, self.network)?;
            if payments.iter().any(|(a, _)| *a == to) {
                return Err(RpcError::invalid_parameter(format!(
                    "Invalid parameter, duplicated address: {address}"
                )));
            }
            let amount: AmountParam =
                serde_json::from_value(value.clone()).map_err(|_| RpcError::new(code::TYPE_ERROR, "Invalid amount"))?;
            if amount.0 == cairn_chain::Amount::ZERO {
                return Err(RpcError::new(code::TYPE_ERROR, "Invalid amount for send"));
            }
            payments.push((to, amount.0));
        }
        let mut subtract_from = Vec::new();
        for address in subtractfeefrom.unwrap_or_default() {
            let at = amounts.keys().position(|a| *a == address).ok_or_else(|| {
                RpcError::invalid_parameter(format!(
                    "Invalid parameter 'subtract fee from output', destination {address} not found in tx outputs"
                ))
            })?;
            if !subtract_from.contains(&at) {
                subtract_from.push(at);
            }
        }
        let rate = fee_rate_per_kb(fee_rate)?;
        let (created, reason) = self
            .pay(ext, rate, move |w, rate, tip, now| {
                w.create_payments(&payments, &subtract_from, rate, tip, now)
            })
            .await?;
        Ok(send_result(created.txid, reason, verbose))
    }

    async fn gettransaction(
        &self,
        ext: &Extensions,
        txid: Txid,
        _include_watchonly: Option<bool>,
        verbose: Option<bool>,
    ) -> RpcResult<WalletTransaction> {
        let network = self.network;
        self.with_wallet(ext, move |s| {
            let details = s
                .wallet
                .get_transaction(&txid, s.tip_height)
                .ok_or_else(|| RpcError::not_found("Invalid or non-wallet transaction id"))?;
            let tip = BlockRef {
                hash: s.tip_hash,
                height: s.tip_height,
            };
            let decoded = match verbose {
                Some(true) => {
                    let tx = Transaction::decode(&details.hex)
                        .map_err(|e| RpcError::internal(format!("wallet transaction undecodable: {e}")))?;
                    Some(tx_info(&tx, network, None))
                }
                _ => None,
            };
            Ok(transaction_json(details, tip, decoded))
        })
        .await
    }

    async fn listtransactions(
        &self,
        ext: &Extensions,
        label: Option<String>,
        count: Option<Int<i64>>,
        skip: Option<Int<i64>>,
        _include_watchonly: Option<bool>,
    ) -> RpcResult<Vec<WalletTxEntry>> {
        // Core's checks and messages; any positive size is fine (the history bounds the reply).
        let count = count.map_or(Ok(10), |c| c.get("count"))?;
        let skip = skip.map_or(Ok(0), |s| s.get("skip"))?;
        if count < 0 {
            return Err(RpcError::invalid_parameter("Negative count"));
        }
        if skip < 0 {
            return Err(RpcError::invalid_parameter("Negative from"));
        }
        let (count, skip) = (
            usize::try_from(count).unwrap_or(usize::MAX),
            usize::try_from(skip).unwrap_or(usize::MAX),
        );
        self.with_wallet(ext, move |s| {
            let tip = s.tip_height;
            let entries = match label.as_deref() {
                None | Some("*") => s.wallet.list_transactions(tip, count, skip),
                Some(l) => {
                    let all = s.wallet.list_transactions(tip, usize::MAX, 0);
                    let matching: Vec<TxEntry> = all.into_iter().filter(|e| e.label == l).collect();
                    let end = matching.len().saturating_sub(skip);
                    matching[end.saturating_sub(count)..end].to_vec()
                }
            };
            Ok(entries.iter().map(|e| entry_json(e, false)).collect())
        })
        .await
    }

    async fn createwallet(
        &self,
        wallet_name: String,
        disable_private_keys: Option<bool>,
        blank: Option<bool>,
        passphrase: Option<String>,
        avoid_reuse: Option<bool>,
        descriptors: Option<bool>,
        load_on_startup: Option<bool>,
        external_signer: Option<bool>,
    ) -> RpcResult<LoadWalletResult> {
        self.create_wallet(
            wallet_name,
            disable_private_keys,
            blank,
            passphrase,
            avoid_reuse,
            descriptors,
            load_on_startup,
            external_signer,
        )
        .await
    }

    async fn loadwallet(&self, filename: String, load_on_startup: Option<bool>) -> RpcResult<LoadWalletResult> {
        self.load_wallet(filename, load_on_startup).await
    }

    async fn unloadwallet(
        &self,
        ext: &Extensions,
        wallet_name: Option<String>,
        load_on_startup: Option<bool>,
    ) -> RpcResult<UnloadWalletResult> {
        self.unload_wallet(ext, wallet_name, load_on_startup).await
    }

    async fn listwallets(&self) -> RpcResult<Vec<String>> {
        self.list_wallets().await
    }

    async fn getwalletinfo(&self, ext: &Extensions) -> RpcResult<WalletInfo> {
        self.wallet_info(ext).await
    }

    async fn encryptwallet(&self, ext: &Extensions, passphrase: String) -> RpcResult<String> {
        self.encrypt_wallet(ext, passphrase).await
    }

    async fn walletpassphrase(&self, ext: &Extensions, passphrase: String, timeout: Int<i64>) -> RpcResult<()> {
        self.unlock_wallet(ext, passphrase, timeout.get("timeout")?).await
    }

    async fn walletlock(&self, ext: &Extensions) -> RpcResult<()> {
        self.with_wallet(ext, |s| s.wallet.lock().map_err(|_| not_encrypted("walletlock")))
            .await
    }

    async fn walletpassphrasechange(&self, ext: &Extensions, oldpassphrase: String, newpassphrase: String) -> RpcResult<()> {
        self.change_passphrase(ext, oldpassphrase, newpassphrase).await
    }

    async fn fundrawtransaction(
        &self,
        ext: &Extensions,
        hexstring: String,
        options: Option<serde_json::Value>,
        _iswitness: Option<bool>,
    ) -> RpcResult<serde_json::Value> {
        self.fund_raw_transaction(ext, hexstring, options).await
    }

    async fn listsinceblock(
        &self,
        ext: &Extensions,
        blockhash: Option<BlockHash>,
        target_confirmations: Option<Int<i64>>,
        _include_watchonly: Option<bool>,
        include_removed: Option<bool>,
        include_change: Option<bool>,
        label: Option<String>,
    ) -> RpcResult<ListSinceBlock> {
        let target = target_confirmations.map_or(Ok(1), |t| t.get("target_confirmations"))?;
        if target < 1 {
            return Err(RpcError::invalid_parameter("Invalid parameter"));
        }
        self.list_since_block(
            ext,
            blockhash,
            target,
            include_removed.unwrap_or(true),
            include_change.unwrap_or(false),
            label,
        )
        .await
    }

    async fn lockunspent(
        &self,
        ext: &Extensions,
        unlock: bool,
        transactions: Option<Vec<serde_json::Value>>,
        persistent: Option<bool>,
    ) -> RpcResult<bool> {
        self.lock_unspent(ext, unlock, transactions, persistent).await
    }

    async fn listlockunspent(&self, ext: &Extensions) -> RpcResult<Vec<LockedCoin>> {
        self.list_lock_unspent(ext).await
    }

    async fn abandontransaction(&self, ext: &Extensions, txid: Txid) -> RpcResult<()> {
        self.abandon_transaction(ext, txid).await
    }

    async fn getreceivedbyaddress(
        &self,
        ext: &Extensions,
        address: String,
        minconf: Option<Int<i64>>,
        include_immature_coinbase: Option<bool>,
    ) -> RpcResult<CoinAmount> {
        let minconf = minconf.map_or(Ok(1), |m| m.get("minconf"))?;
        self.received_by_address(ext, address, minconf, include_immature_coinbase.unwrap_or(false))
            .await
    }

    async fn listreceivedbyaddress(
        &self,
        ext: &Extensions,
        minconf: Option<Int<i64>>,
        include_empty: Option<bool>,
        _include_watchonly: Option<bool>,
        address_filter: Option<String>,
        include_immature_coinbase: Option<bool>,
    ) -> RpcResult<Vec<ReceivedByAddress>> {
        let minconf = minconf.map_or(Ok(1), |m| m.get("minconf"))?;
        self.list_received_by_address(
            ext,
            minconf,
            include_empty.unwrap_or(false),
            address_filter,
            include_immature_coinbase.unwrap_or(false),
        )
        .await
    }

    async fn getaddressinfo(&self, ext: &Extensions, address: String) -> RpcResult<AddressInfo> {
        self.address_info(ext, address).await
    }

    async fn signmessage(&self, ext: &Extensions, address: String, message: String) -> RpcResult<String> {
        self.sign_message(ext, address, message).await
    }

    async fn verifymessage(&self, address: String, signature: String, message: String) -> RpcResult<bool> {
        self.verify_message(&address, &signature, &message)
    }

    async fn backupwallet(&self, ext: &Extensions, destination: String) -> RpcResult<()> {
        self.backup_wallet(ext, destination).await
    }

    async fn settxfee(&self, ext: &Extensions, amount: AmountParam) -> RpcResult<bool> {
        self.set_tx_fee(ext, amount.0).await
    }

    async fn validateaddress(&self, address: String) -> RpcResult<ValidateAddress> {
        Ok(match Address::parse(&address, self.network) {
            Ok(a) => ValidateAddress {
                isvalid: true,
                address: Some(a.to_string()),
                script_pub_key: Some(hex::encode(cairn_chain::encode::Encodable::encode(&a.lock()))),
                isscript: Some(false),
                iswitness: Some(false),
                error: None,
            },
            Err(e) => ValidateAddress {
                isvalid: false,
                address: None,
                script_pub_key: None,
                isscript: None,
                iswitness: None,
                error: Some(e.to_string()),
            },
        })
    }
}
