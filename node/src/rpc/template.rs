//! Blocks made outside the node's own miner: `getblocktemplate` for external miners,
//! `submitblock` for what they find, `generateblock` for a block of chosen transactions
//! (regtest's way to build exact test cases), and `getnetworkhashps`.
//!
//! Cairn's differences from Core, kept honest: no segregated witness (a template's `weight` is
//! 4 × its size, there is no witness commitment, the `segwit` rule is neither needed nor
//! offered); no script sigops — `sigops` counts signature checks (one per input) and
//! `sigoplimit` is the most inputs a block can hold; no version bits (`rules` and `vbavailable`
//! are empty); proposal mode is not offered (`capabilities` is empty).

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use cairn_chain::encode::{Decodable, Encodable};
use cairn_chain::miner::{BlockTemplate, create_template, mine, template_on};
use cairn_chain::{Amount, Block, BlockHash, BlockStatus, ChainError, Network, OutPoint, Transaction, Txid};
use cairn_rpc::error::code;
use cairn_rpc::types::Int;
use cairn_rpc::{RpcError, RpcResult};
use serde_json::{Value, json};

use super::RpcContext;
use super::convert::*;
use crate::clock::unix_now;

/// Nonces `generateblock` tries before giving up (Core's `DEFAULT_MAX_TRIES`).
const GENERATE_MAX_TRIES: u64 = 1_000_000;
/// Smallest encoding of an input (outpoint, two empty byte strings): bounds inputs per block.
const MIN_INPUT_BYTES: usize = 36 + 1 + 1;
/// Longest a long-poll waits for a new tip or new transactions (Core waits a minute for the
/// latter, for ever for the former; a bounded wait keeps the connection count bounded too).
const LONGPOLL_WAIT: Duration = Duration::from_secs(60);

/// BIP 22's reason for a rejected block: Core's reject token, the part before the first `:`.
fn reason(e: &ChainError) -> String {
    let text = match e {
        ChainError::Block(cairn_chain::BlockError::Tx { error, .. }) => error.to_string(),
        other => other.to_string(),
    };
    text.split(':').next().unwrap_or(&text).trim().to_string()
}

fn decode_block(hexdata: &str) -> RpcResult<Block> {
    let bytes = hex::decode(hexdata.trim()).map_err(|_| RpcError::new(code::DESERIALIZATION_ERROR, "Block decode failed"))?;
    let block = Block::decode(&bytes).map_err(|_| RpcError::new(code::DESERIALIZATION_ERROR, "Block decode failed"))?;
    if !block.txdata.first().is_some_and(Transaction::is_coinbase) {
        return Err(RpcError::new(code::DESERIALIZATION_ERROR, "Block does not start with a coinbase"));
    }
    Ok(block)
}

impl RpcContext {
    /// What identifies the state a template was made from: the tip and the pool's changes.
    async fn longpoll_id(&self) -> RpcResult<String> {
        self.with_state(|s| Ok(format!("{}{}", s.chain.tip_hash(), s.mempool.sequence())))
            .await
    }

    pub(super) async fn block_template(&self, request: Option<Value>) -> RpcResult<Value> {
        let request = request.unwrap_or(Value::Null);
        let mode = request.get("mode").and_then(Value::as_str).unwrap_or("template");
        if mode != "template" {
            return Err(RpcError::invalid_parameter("Invalid mode"));
        }
        if self.network != Network::Regtest {
            let peers = self.net()?.info().await.map_err(|e| RpcError::misc(e.to_string()))?;
            if peers.inbound + peers.outbound == 0 {
                return Err(RpcError::new(-9, "Cairn is not connected!"));
            }
            let best_header = self.chain.best_header();
            let latch = self.ibd_over.clone();
            let syncing = self
                .with_state(move |s| Ok(super::blockchain::SyncProgress::of(s.chain, best_header, unix_now(), &latch).initial))
                .await?;
            if syncing {
                return Err(RpcError::new(-10, "Cairn is in initial sync and waiting for blocks..."));
            }
        }
        if let Some(id) = request.get("longpollid").and_then(Value::as_str) {
            let deadline = tokio::time::Instant::now() + LONGPOLL_WAIT;
            while self.longpoll_id().await? == id && tokio::time::Instant::now() < deadline {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                    () = self.shutdown.wait() => return Err(RpcError::new(code::CLIENT_P2P_DISABLED, "Shutting down")),
                }
            }
        }
        self.with_state(|s| {
            let chain = s.chain;
            let params = chain.params();
            // The payout is the miner's: the template's coinbase is not part of the answer.
            let t = create_template(chain, s.mempool, &cairn_chain::Lock::DataCarrier(Vec::new()), unix_now(), b"");
            let index: HashMap<Txid, usize> = t.block.txdata.iter().enumerate().map(|(i, tx)| (tx.compute_txid(), i)).collect();
            let transactions: Vec<Value> = t.block.txdata[1..]
                .iter()
                .map(|tx| {
                    let txid = tx.compute_txid();
                    let mut depends: Vec<usize> = tx.inputs.iter().filter_map(|i| index.get(&i.prevout.txid).copied()).collect();
                    depends.sort_unstable();
                    depends.dedup();
                    let fee = s.mempool.get(&txid).map_or(0, |e| e.fee.to_units());
                    let size = tx.size();
                    json!({
                        "data": hex::encode(tx.encode()), "txid": txid, "hash": txid, "depends": depends, "fee": fee,
                        "sigops": tx.inputs.len(), "weight": size * 4,
                    })
                })
                .collect();
            let header = &t.block.header;
            let mtp = chain.median_time_past(&header.prev_blockhash);
            let coinbasevalue = t.block.txdata[0].outputs.iter().map(|o| o.value.to_units()).sum::<u64>();
            Ok(json!({
                "capabilities": [], "version": header.version, "rules": [], "vbavailable": {}, "vbrequired": 0,
                "previousblockhash": header.prev_blockhash, "transactions": transactions, "coinbaseaux": {},
                "coinbasevalue": coinbasevalue,
                "longpollid": format!("{}{}", chain.tip_hash(), s.mempool.sequence()),
                "target": target_hex(header.bits), "mintime": mtp + 1,
                "mutable": ["time", "transactions", "prevblock"], "noncerange": "00000000ffffffff",
                "sigoplimit": params.max_block_size / MIN_INPUT_BYTES, "sizelimit": params.max_block_size,
                "weightlimit": params.max_block_size * 4, "curtime": header.time, "bits": bits_hex(header.bits),
                "height": t.height,
            }))
        })
        .await
    }

    pub(super) async fn submit_block_hex(&self, hexdata: String) -> RpcResult<Option<String>> {
        let block = decode_block(&hexdata)?;
        let hash = block.block_hash();
        let known = self.with_state(move |s| Ok(s.chain.contains_block(&hash))).await?;
        if known {
            return Ok(Some("duplicate".into()));
        }
        match self.chain.submit_block(block).await.map_err(stopped)? {
            Ok(p) => Ok(match p.status {
                BlockStatus::Accepted => None,
                BlockStatus::Duplicate => Some("duplicate".into()),
                BlockStatus::Orphan | BlockStatus::LowWork => Some("inconclusive".into()),
            }),
            Err(ChainError::Store(e)) => Err(store_err(e)),
            Err(e) => Ok(Some(reason(&e))),
        }
    }

    pub(super) async fn generate_block(&self, output: String, transactions: Vec<String>, submit: bool) -> RpcResult<Value> {
        let lock = parse_address(&output, self.network)
            .map_err(|_| {
                RpcError::new(
                    code::INVALID_ADDRESS_OR_KEY,
                    format!("Error: Invalid address or descriptor: {output}"),
                )
            })?
            .lock();
        if transactions.len() > 100_000 {
            return Err(RpcError::invalid_parameter("too many transactions for one block"));
        }
        let template: BlockTemplate = self
            .with_state(move |s| {
                let mut txs: Vec<Transaction> = Vec::with_capacity(transactions.len());
                let mut fees = Amount::ZERO;
                // Outputs of the transactions listed so far, for those that spend them.
                let mut made: HashMap<OutPoint, Amount> = HashMap::new();
                let mut spent: std::collections::HashSet<OutPoint> = std::collections::HashSet::new();
                for item in &transactions {
                    let tx =
                        match item.parse::<Txid>() {
                            Ok(txid) if item.len() == 64 => s.mempool.get(&txid).map(|e| e.tx.clone()).ok_or_else(|| {
                                RpcError::new(code::INVALID_ADDRESS_OR_KEY, format!("Transaction {txid} not in mempool."))
                            })?,
                            _ => hex::decode(item).ok().and_then(|b| Transaction::decode(&b).ok()).ok_or_else(|| {
                                RpcError::new(code::DESERIALIZATION_ERROR, format!("Transaction decode failed for {item}"))
                            })?,
                        };
                    let mut input_total = Amount::ZERO;
                    for input in &tx.inputs {
                        // Two spends of one coin: Core's TestBlockValidity refuses the block.
                        if !spent.insert(input.prevout) {
                            return Err(RpcError::new(
                                code::VERIFY_ERROR,
                                "TestBlockValidity failed: bad-txns-inputs-missingorspent",
                            ));
                        }
                        let value = match made.get(&input.prevout) {
                            Some(v) => *v,
                            None => s
                                .chain
                                .get_coin(&input.prevout)
                                .map_err(store_err)?
                                .map(|c| c.output.value)
                                .ok_or_else(|| {
                                    RpcError::new(code::VERIFY_ERROR, "TestBlockValidity failed: bad-txns-inputs-missingorspent")
                                })?,
                        };
                        input_total = input_total.checked_add(value).unwrap_or(Amount::MAX_MONEY);
                    }
                    let out_total = Amount::checked_sum(tx.outputs.iter().map(|o| o.value)).unwrap_or(Amount::MAX_MONEY);
                    let fee = input_total
                        .checked_sub(out_total)
                        .map_err(|_| RpcError::new(code::VERIFY_ERROR, "TestBlockValidity failed: bad-txns-in-belowout"))?;
                    fees = fees.checked_add(fee).unwrap_or(Amount::MAX_MONEY);
                    let txid = tx.compute_txid();
                    for (n, o) in tx.outputs.iter().enumerate() {
                        made.insert(OutPoint::new(txid, n as u32), o.value);
                    }
                    txs.push(tx);
                }
                template_on(s.chain, &s.chain.tip_hash(), txs, fees, &lock, unix_now(), b"/cairn/")
                    .ok_or_else(|| RpcError::internal("the tip has no index record"))
            })
            .await?;
        let shutdown = self.shutdown.clone();
        // Core's bound: a million nonces, then "Failed to make block." (off regtest a block is
        // rarely that cheap: the call must not hold a core for ever).
        let block = tokio::task::spawn_blocking(move || {
            let tried = AtomicU64::new(0);
            let stop = || shutdown.is_triggered() || tried.load(std::sync::atomic::Ordering::Relaxed) >= GENERATE_MAX_TRIES;
            mine(&template, 1, &stop, &tried)
        })
        .await
        .map_err(|e| RpcError::internal(format!("mining task failed: {e}")))?
        .ok_or_else(|| RpcError::misc("Failed to make block."))?;
        let hash: BlockHash = block.block_hash();
        if !submit {
            return Ok(json!({ "hash": hash, "hex": hex::encode(block.encode()) }));
        }
        match self.chain.submit_block(block).await.map_err(stopped)? {
            Ok(p) if p.status == BlockStatus::Accepted => Ok(json!({ "hash": hash })),
            Ok(p) => Err(RpcError::misc(format!("generated block {hash} was not accepted ({:?})", p.status))),
            Err(ChainError::Store(e)) => Err(store_err(e)),
            Err(e) => Err(RpcError::new(
                code::VERIFY_ERROR,
                format!("TestBlockValidity failed: {}", reason(&e)),
            )),
        }
    }

    pub(super) async fn network_hash_ps(&self, nblocks: Option<Int<i64>>, height: Option<Int<i64>>) -> RpcResult<f64> {
        let lookup = nblocks.map(|n| n.get("nblocks")).transpose()?.unwrap_or(120);
        let height = height.map(|h| h.get("height")).transpose()?.unwrap_or(-1);
        if lookup < -1 || lookup == 0 {
            return Err(RpcError::invalid_parameter("Invalid nblocks. Must be a positive number or -1."));
        }
        self.with_state(move |s| {
            let chain = s.chain;
            if height < -1 || height > i64::from(chain.height()) {
                return Err(RpcError::invalid_parameter("Block does not exist at specified height"));
            }
            let end = if height < 0 { chain.height() } else { height as u32 };
            if end == 0 {
                return Ok(0.0);
            }
            // Cairn retargets every block (ASERT): -1 takes Core's 2,016-block period.
            let lookup = if lookup == -1 { i64::from(end % 2016) + 1 } else { lookup };
            let start = end - (lookup.min(i64::from(end)) as u32);
            let record = |h: u32| chain.block_hash_at(h).and_then(|hash| chain.index_record(&hash).copied());
            let (Some(last), Some(first)) = (record(end), record(start)) else {
                return Err(RpcError::internal("active chain has a gap"));
            };
            let times: Vec<u32> = (start..=end).filter_map(|h| record(h).map(|r| r.header.time)).collect();
            let (min, max) = (times.iter().min().copied().unwrap_or(0), times.iter().max().copied().unwrap_or(0));
            if min == max {
                return Ok(0.0);
            }
            Ok(u256_to_f64(last.chain_work.saturating_sub(first.chain_work)) / f64::from(max - min))
        })
        .await
    }
}
