//! `RawTransactionApi`: looking up, decoding and submitting raw transactions.
//!
//! As in Core without `-txindex`, `getrawtransaction` finds mempool transactions, or a
//! confirmed one when told its block.

use cairn_chain::encode::{Decodable, Encodable};
use cairn_chain::mempool::MempoolError;
use cairn_chain::{BlockHash, Transaction, Txid};
use cairn_rpc::api::RawTransactionApiServer;
use cairn_rpc::error::code;
use cairn_rpc::types::*;
use cairn_rpc::{RpcError, RpcResult};
use jsonrpsee::core::async_trait;

use super::RpcContext;
use super::blockchain::fee_rate_amount;
use super::convert::*;
use crate::service::ChainView;

/// Most transactions `testmempoolaccept` takes at once (Core's package limit).
const MAX_TEST_TXS: usize = 25;

/// Core's default `maxfeerate`: 0.10 coins per 1000 bytes.
const DEFAULT_MAX_FEE_RATE_PER_KB: u64 = 10_000_000;

fn decode_tx(hexstring: &str) -> RpcResult<Transaction> {
    let bytes = hex::decode(hexstring.trim()).map_err(|_| RpcError::new(code::DESERIALIZATION_ERROR, "TX decode failed: not hex"))?;
    Transaction::decode(&bytes).map_err(|e| RpcError::new(code::DESERIALIZATION_ERROR, format!("TX decode failed: {e}")))
}

#[async_trait]
impl RawTransactionApiServer for RpcContext {
    async fn getrawtransaction(
        &self,
        txid: Txid,
        verbose: Option<Verbosity>,
        blockhash: Option<BlockHash>,
    ) -> RpcResult<GetRawTransactionResult> {
        let verbose = verbose.is_some_and(|v| v.0 > 0);
        let network = self.network;
        self.with_state(move |s| {
            let found = match blockhash {
                Some(bh) => {
                    let record = s.chain.index_record(&bh).ok_or_else(|| RpcError::not_found("Block hash not found"))?;
                    let block = s.chain.get_block(&bh).map_err(store_err)?.ok_or_else(|| RpcError::misc("Block not available"))?;
                    let tx = block
                        .txdata
                        .iter()
                        .find(|t| t.compute_txid() == txid)
                        .cloned()
                        .ok_or_else(|| RpcError::not_found("No such transaction found in the provided block."))?;
                    let active = in_active_chain(s.chain, record);
                    let confirmations = if active { i64::from(s.chain.height() - record.height + 1) } else { 0 };
                    (tx, Some((bh, confirmations, record.header.time)))
                }
                None => {
                    let entry = s.mempool.get(&txid).ok_or_else(|| {
                        RpcError::not_found(
                            "No such mempool transaction. Provide a block hash to query the blockchain. Use gettransaction for wallet transactions.",
                        )
                    })?;
                    (entry.tx.clone(), None)
                }
            };
            let (tx, block) = found;
            let hex = hex::encode(tx.encode());
            if !verbose {
                return Ok(GetRawTransactionResult::Hex(hex));
            }
            let mut info = tx_info(&tx, network, None);
            info.hex = Some(hex);
            if let Some((bh, confirmations, time)) = block {
                info.blockhash = Some(bh);
                info.confirmations = Some(confirmations);
                info.time = Some(time);
                info.blocktime = Some(time);
            }
            Ok(GetRawTransactionResult::Verbose(Box::new(info)))
        })
        .await
    }

    async fn decoderawtransaction(&self, hexstring: String) -> RpcResult<TxInfo> {
        let tx = decode_tx(&hexstring)?;
        Ok(tx_info(&tx, self.network, None))
    }

    async fn sendrawtransaction(&self, hexstring: String, maxfeerate: Option<AmountParam>) -> RpcResult<Txid> {
        let tx = decode_tx(&hexstring)?;
        let max_rate = maxfeerate.map_or(DEFAULT_MAX_FEE_RATE_PER_KB, |a| a.0.to_units());
        // The checks and the admission run in one job: nothing changes between them.
        let check = move |s: ChainView<'_>, tx: &cairn_chain::Transaction| {
            let txid = tx.compute_txid();
            if s.mempool.contains(&txid) {
                return Ok(Some(txid));
            }
            if tx.outputs.iter().enumerate().any(|(n, _)| {
                s.chain
                    .get_coin(&cairn_chain::OutPoint::new(txid, n as u32))
                    .ok()
                    .flatten()
                    .is_some()
            }) {
                return Err(RpcError::new(
                    code::VERIFY_ALREADY_IN_CHAIN,
                    "Transaction outputs already in utxo set",
                ));
            }
            // Check the fee rate before admitting (Core's maxfeerate guard; 0 disables it).
            if max_rate > 0 {
                let ops: Vec<_> = tx.inputs.iter().map(|i| i.prevout).collect();
                let coins = s.chain.get_coins(&ops).map_err(store_err)?;
                let mut total = 0u64;
                let mut known = true;
                for (op, coin) in ops.iter().zip(coins) {
                    match coin.map(|c| c.output.value).or_else(|| {
                        s.mempool
                            .get(&op.txid)
                            .and_then(|e| e.tx.outputs.get(op.vout as usize))
                            .map(|o| o.value)
                    }) {
                        Some(v) => total = total.saturating_add(v.to_units()),
                        None => known = false,
                    }
                }
                let out: u64 = tx.outputs.iter().map(|o| o.value.to_units()).fold(0, u64::saturating_add);
                if known && total > out {
                    let rate = cairn_chain::mempool::fee_rate(
                        cairn_chain::Amount::from_units(total - out).unwrap_or(cairn_chain::Amount::MAX_MONEY),
                        tx.size(),
                    );
                    if rate > max_rate {
                        return Err(RpcError::new(
                            code::VERIFY_REJECTED,
                            format!("max-fee-exceeded: fee rate {rate} units/kB is above maxfeerate {max_rate}"),
                        ));
                    }
                }
            }
            Ok(None)
        };
        let refused = |e| match e {
            MempoolError::Rejected(e) => tx_rejected(&e),
            MempoolError::Store(e) => store_err(e),
        };
        self.chain.submit_tx_checked(tx, check, refused).await.map_err(stopped)?
    }

    async fn testmempoolaccept(&self, rawtxs: Vec<String>, maxfeerate: Option<AmountParam>) -> RpcResult<Vec<serde_json::Value>> {
        if rawtxs.is_empty() || rawtxs.len() > MAX_TEST_TXS {
            return Err(RpcError::invalid_parameter(format!(
                "Array must contain between 1 and {MAX_TEST_TXS} transactions."
            )));
        }
        let txs = rawtxs.iter().map(|h| decode_tx(h)).collect::<RpcResult<Vec<Transaction>>>()?;
        let max_rate = maxfeerate.map_or(DEFAULT_MAX_FEE_RATE_PER_KB, |a| a.0.to_units());
        // Each is checked alone against the chain and the pool (Core evaluates several as a
        // package; here a transaction spending an earlier one of the list reports its inputs
        // missing). Signatures are checked off the runtime, in the chain service's job.
        self.with_state(move |s| {
            let now = crate::clock::unix_now();
            txs.into_iter()
                .map(|tx| {
                    let txid = tx.compute_txid();
                    let mut out = serde_json::json!({ "txid": txid, "wtxid": txid });
                    if s.mempool.contains(&txid) {
                        out["allowed"] = false.into();
                        out["reject-reason"] = "txn-already-in-mempool".into();
                        return Ok(out);
                    }
                    match s.mempool.check(tx, s.chain, now) {
                        Ok(a) => {
                            let rate = cairn_chain::mempool::fee_rate(a.fee, a.size);
                            if max_rate > 0 && rate > max_rate {
                                out["allowed"] = false.into();
                                out["reject-reason"] = "max-fee-exceeded".into();
                                return Ok(out);
                            }
                            out["allowed"] = true.into();
                            out["vsize"] = a.size.into();
                            out["fees"] = serde_json::json!({
                                "base": CoinAmount(a.fee),
                                "effective-feerate": fee_rate_amount(rate),
                                "effective-includes": [txid],
                            });
                            Ok(out)
                        }
                        Err(MempoolError::Rejected(e)) => {
                            let text = e.to_string();
                            out["allowed"] = false.into();
                            out["reject-reason"] = text.split(':').next().unwrap_or(&text).trim().into();
                            out["reject-details"] = text.into();
                            Ok(out)
                        }
                        Err(MempoolError::Store(e)) => Err(store_err(e)),
                    }
                })
                .collect()
        })
        .await
    }

    async fn createrawtransaction(
        &self,
        inputs: Vec<RawTxInput>,
        outputs: serde_json::Value,
        locktime: Option<Int<u32>>,
    ) -> RpcResult<String> {
        let locktime = locktime.map(|l| l.get("locktime")).transpose()?;
        // No inputs is fine, as in Core: fundrawtransaction adds them.
        let mut pairs: Vec<(String, serde_json::Value)> = Vec::new();
        match outputs {
            serde_json::Value::Object(map) => pairs.extend(map),
            serde_json::Value::Array(items) => {
                for item in items {
                    match item {
                        serde_json::Value::Object(map) if map.len() == 1 => pairs.extend(map),
                        _ => {
                            return Err(RpcError::invalid_parameter(
                                "Invalid parameter, key-value pair must contain exactly one key",
                            ));
                        }
                    }
                }
            }
            _ => return Err(RpcError::new(code::TYPE_ERROR, "Expected type object or array for outputs")),
        }
        if pairs.is_empty() {
            return Err(RpcError::invalid_parameter("Invalid parameter, outputs must not be empty"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut tx_outputs = Vec::with_capacity(pairs.len());
        for (address, amount) in pairs {
            if !seen.insert(address.clone()) {
                return Err(RpcError::invalid_parameter(format!(
                    "Invalid parameter, duplicated address: {address}"
                )));
            }
            let lock = parse_address(&address, self.network)?.lock();
            let value = serde_json::from_value::<AmountParam>(amount)
                .map_err(|e| RpcError::new(code::TYPE_ERROR, format!("Invalid amount for {address}: {e}")))?
                .0;
            tx_outputs.push(cairn_chain::TxOut { value, lock });
        }
        let mut spent = std::collections::HashSet::new();
        let tx_inputs = inputs
            .into_iter()
            .map(|i| {
                let prevout = cairn_chain::OutPoint::new(i.txid, i.vout);
                if !spent.insert(prevout) {
                    return Err(RpcError::invalid_parameter(format!(
                        "Invalid parameter, duplicate input {}:{}",
                        i.txid, i.vout
                    )));
                }
                Ok(cairn_chain::TxIn {
                    prevout,
                    signature: Vec::new(),
                    pubkey: Vec::new(),
                })
            })
            .collect::<RpcResult<Vec<_>>>()?;
        let tx = Transaction {
            version: 1,
            inputs: tx_inputs,
            outputs: tx_outputs,
            lock_time: locktime.unwrap_or(0),
        };
        Ok(hex::encode(tx.encode()))
    }
}
