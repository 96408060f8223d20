//! `BlockchainApi`: blocks, headers, the UTXO set and the mempool.

use cairn_chain::BlockHash;
use cairn_chain::Txid;
use cairn_chain::encode::Encodable;
use cairn_chain::{Amount, OutPoint};
use cairn_rpc::api::BlockchainApiServer;
use cairn_rpc::types::*;
use cairn_rpc::{RpcError, RpcResult};
use jsonrpsee::core::async_trait;

use super::RpcContext;
use super::convert::*;

/// A fee rate in units per 1000 bytes as an amount.
pub fn fee_rate_amount(per_kb: u64) -> CoinAmount {
    CoinAmount(Amount::from_units(per_kb).unwrap_or(Amount::MAX_MONEY))
}

#[async_trait]
impl BlockchainApiServer for RpcContext {
    async fn getblockchaininfo(&self) -> RpcResult<BlockchainInfo> {
        let network = self.network;
        let dir = self.chainstate_dir.clone();
        let best_header = self.chain.best_header();
        let ibd_over = self.ibd_over.clone();
        self.with_state(move |s| {
            let size_on_disk = dir_size(&dir);
            let chain = &s.chain;
            let tip = chain.tip();
            let bits = tip.header.bits;
            let sync = SyncProgress::of(chain, best_header, crate::clock::unix_now(), &ibd_over);
            Ok(BlockchainInfo {
                chain: chain_name(network).to_string(),
                blocks: tip.height,
                headers: sync.headers,
                bestblockhash: tip.hash(),
                bits: bits_hex(bits),
                target: target_hex(bits),
                difficulty: difficulty(bits, chain.params().pow_limit),
                time: tip.header.time,
                mediantime: chain.median_time_past(&tip.hash()),
                verificationprogress: sync.progress,
                initialblockdownload: sync.initial,
                chainwork: tip.chain_work.to_string(),
                size_on_disk,
                pruned: false,
                warnings: Vec::new(),
            })
        })
        .await
    }

    fn getblockcount(&self) -> RpcResult<u32> {
        Ok(self.chain.tip().height)
    }

    fn getbestblockhash(&self) -> RpcResult<BlockHash> {
        Ok(self.chain.tip().hash)
    }

    async fn getblockhash(&self, height: Int<i64>) -> RpcResult<BlockHash> {
        let height = height.get("height")?;
        self.with_state(move |s| {
            u32::try_from(height)
                .ok()
                .and_then(|h| s.chain.block_hash_at(h))
                .ok_or_else(|| RpcError::invalid_parameter("Block height out of range"))
        })
        .await
    }

    async fn getblock(&self, blockhash: BlockHash, verbosity: Option<Verbosity>) -> RpcResult<GetBlockResult> {
        // As Core: any verbosity above 3 is 3.
        let verbosity = verbosity.map_or(1, |v| v.0).min(3);
        let network = self.network;
        self.with_state(move |s| {
            let chain = &s.chain;
            let record = chain
                .index_record(&blockhash)
                .ok_or_else(|| RpcError::not_found("Block not found"))?;
            let block = chain
                .get_block(&blockhash)
                .map_err(store_err)?
                .ok_or_else(|| RpcError::misc("Block not available (header only)"))?;
            if verbosity == 0 {
                return Ok(GetBlockResult::Hex(hex::encode(block.encode())));
            }
            let header = header_info(chain, record, block.txdata.len());
            let txs = if verbosity == 1 {
                BlockTxs::Ids(block.txdata.iter().map(|t| t.compute_txid()).collect())
            } else {
                let undo = chain.get_undo(&blockhash).map_err(store_err)?;
                let values = undo.as_ref().map(|u| spent_values(&block, Some(u)));
                // Verbosity 3: what each input spends, when the undo data is there (as Core).
                let coins = undo
                    .as_ref()
                    .filter(|_| verbosity == 3)
                    .map(|u| spent_coins(&block, record.height, u));
                BlockTxs::Full(
                    block
                        .txdata
                        .iter()
                        .map(|t| {
                            let mut info = TxInfo {
                                hex: Some(hex::encode(t.encode())),
                                ..tx_info(t, network, values.as_ref())
                            };
                            if let Some(coins) = &coins {
                                add_prevouts(&mut info, coins, network);
                            }
                            info
                        })
                        .collect(),
                )
            };
            let size = block.size();
            Ok(GetBlockResult::Verbose(Box::new(BlockInfo {
                header,
                strippedsize: size,
                size,
                weight: size * 4,
                tx: txs,
            })))
        })
        .await
    }

    async fn getblockheader(&self, blockhash: BlockHash, verbose: Option<bool>) -> RpcResult<GetBlockHeaderResult> {
        self.with_state(move |s| {
            let chain = &s.chain;
            let record = chain
                .index_record(&blockhash)
                .ok_or_else(|| RpcError::not_found("Block not found"))?;
            if verbose == Some(false) {
                return Ok(GetBlockHeaderResult::Hex(hex::encode(record.header.to_bytes())));
            }
            Ok(GetBlockHeaderResult::Verbose(Box::new(header_info(
                chain,
                record,
                record.tx_count as usize,
            ))))
        })
        .await
    }

    async fn gettxout(&self, txid: Txid, n: Int<u32>, include_mempool: Option<bool>) -> RpcResult<Option<TxOutResult>> {
        let n = n.get("n")?;
        let network = self.network;
        self.with_state(move |s| {
            let op = OutPoint::new(txid, n);
            let include_mempool = include_mempool.unwrap_or(true);
            let tip = s.chain.tip_hash();
            if include_mempool && s.mempool.spender(&op).is_some() {
                return Ok(None);
            }
            if let Some(coin) = s.chain.get_coin(&op).map_err(store_err)? {
                return Ok(Some(TxOutResult {
                    bestblock: tip,
                    confirmations: s.chain.height() - coin.height + 1,
                    value: CoinAmount(coin.output.value),
                    script_pub_key: script_pub_key(&coin.output.lock, network),
                    coinbase: coin.is_coinbase,
                }));
            }
            if include_mempool && let Some(out) = s.mempool.get(&txid).and_then(|e| e.tx.outputs.get(n as usize)) {
                return Ok(Some(TxOutResult {
                    bestblock: tip,
                    confirmations: 0,
                    value: CoinAmount(out.value),
                    script_pub_key: script_pub_key(&out.lock, network),
                    coinbase: false,
                }));
            }
            Ok(None)
        })
        .await
    }

    async fn gettxoutsetinfo(
        &self,
        hash_type: Option<String>,
        hash_or_height: Option<serde_json::Value>,
        use_index: Option<bool>,
    ) -> RpcResult<TxOutSetInfo> {
        let with_hash = match hash_type.as_deref() {
            None | Some("hash_serialized_3") => true,
            Some("none") => false,
            Some("muhash") => return Err(RpcError::invalid_parameter("muhash requires coinstatsindex (Cairn keeps none)")),
            Some(t) => return Err(RpcError::invalid_parameter(format!("'{t}' is not a valid hash_type"))),
        };
        // Core answers for past blocks from its coinstatsindex only; Cairn keeps no such index.
        if hash_or_height.is_some_and(|v| !v.is_null()) {
            return Err(RpcError::invalid_parameter(
                "Querying specific block heights requires coinstatsindex",
            ));
        }
        if use_index == Some(true) {
            tracing::debug!("gettxoutsetinfo: use_index asked, no coinstatsindex kept: computing from the UTXO set");
        }
        let (stats, height, bestblock) = self.chain.utxo_stats().await.map_err(stopped)?.map_err(store_err)?;
        Ok(TxOutSetInfo {
            height,
            bestblock,
            txouts: stats.txouts,
            bogosize: stats.serialized_size,
            hash_serialized_3: with_hash.then(|| hex::encode(stats.digest)),
            total_amount: CoinAmount(stats.total_amount),
        })
    }

    async fn getblockstats(&self, hash_or_height: serde_json::Value, stats: Option<Vec<String>>) -> RpcResult<serde_json::Value> {
        let wanted = stats.unwrap_or_default();
        if let Some(bad) = wanted.iter().find(|w| !BLOCK_STATS.contains(&w.as_str())) {
            return Err(RpcError::invalid_parameter(format!("Invalid selected statistic '{bad}'")));
        }
        self.with_state(move |s| {
            let chain = &s.chain;
            let hash = match &hash_or_height {
                serde_json::Value::Number(n) => {
                    let h = n
                        .as_i64()
                        .ok_or_else(|| RpcError::invalid_parameter(format!("Target block height {n} is not an integer")))?;
                    if h < 0 {
                        return Err(RpcError::invalid_parameter(format!("Target block height {h} is negative")));
                    }
                    u32::try_from(h).ok().and_then(|h| chain.block_hash_at(h)).ok_or_else(|| {
                        RpcError::invalid_parameter(format!("Target block height {h} after current tip {}", chain.height()))
                    })?
                }
                serde_json::Value::String(text) => text
                    .parse::<BlockHash>()
                    .map_err(|_| RpcError::invalid_parameter(format!("hash_or_height must be hexadecimal string (not '{text}')")))?,
                other => {
                    return Err(RpcError::new(
                        cairn_rpc::error::code::TYPE_ERROR,
                        format!("hash_or_height must be a height or a block hash, not {other}"),
                    ));
                }
            };
            let st = chain.block_stats(&hash).map_err(|e| match e {
                cairn_chain::StatsError::NotFound => RpcError::not_found("Block not found"),
                cairn_chain::StatsError::Store(e) => store_err(e),
                other => RpcError::misc(other.to_string()),
            })?;
            let all = block_stats_json(&st);
            Ok(if wanted.is_empty() {
                all
            } else {
                serde_json::Value::Object(wanted.iter().filter_map(|w| all.get(w).map(|v| (w.clone(), v.clone()))).collect())
            })
        })
        .await
    }

    async fn invalidateblock(&self, blockhash: BlockHash) -> RpcResult<()> {
        self.chain.invalidate_block(blockhash).await.map_err(stopped)?.map_err(manual_err)
    }

    async fn reconsiderblock(&self, blockhash: BlockHash) -> RpcResult<()> {
        self.chain.reconsider_block(blockhash).await.map_err(stopped)?.map_err(manual_err)
    }

    async fn verifychain(&self, checklevel: Option<Int<i64>>, nblocks: Option<Int<i64>>) -> RpcResult<bool> {
        // Core clamps the level to 0-4 and takes a depth of 0 (or beyond the tip) as all.
        let level = checklevel.map_or(Ok(3), |l| l.get("checklevel"))?.clamp(0, 4) as u8;
        let depth = nblocks.map_or(Ok(6), |n| n.get("nblocks"))?;
        let depth = u32::try_from(depth.max(0)).unwrap_or(u32::MAX);
        let result = self
            .with_state(move |v| v.chain.verify_chain(level, depth).map_err(store_err))
            .await?;
        Ok(match result {
            Ok(()) => true,
            Err(f) => {
                tracing::error!(hash = %f.hash, height = f.height, reason = %f.reason, level, "verifychain found a problem");
                false
            }
        })
    }

    async fn getchaintxstats(&self, nblocks: Option<Int<i64>>, blockhash: Option<BlockHash>) -> RpcResult<ChainTxStats> {
        let nblocks = nblocks.map(|n| n.get("nblocks")).transpose()?;
        self.with_state(move |s| {
            let chain = &s.chain;
            let end = match blockhash {
                None => *chain.tip(),
                Some(h) => {
                    let r = *chain.index_record(&h).ok_or_else(|| RpcError::not_found("Block not found"))?;
                    if chain.block_hash_at(r.height) != Some(h) {
                        return Err(RpcError::invalid_parameter("Block is not in main chain"));
                    }
                    r
                }
            };
            let month = i64::from(30 * 24 * 60 * 60 / chain.params().target_spacing.max(1));
            let count = match nblocks {
                Some(n) if n < 0 || (n > 0 && n >= i64::from(end.height)) => {
                    return Err(RpcError::invalid_parameter(
                        "Invalid block count: should be between 0 and the block's height - 1",
                    ));
                }
                Some(n) => n,
                None => month.min(i64::from(end.height) - 1).max(0),
            } as u32;
            let hash = end.hash();
            let txcount = chain
                .chain_tx_count(&hash)
                .ok_or_else(|| RpcError::misc("Transaction counts unknown: a block of the chain is not stored"))?;
            let mut out = ChainTxStats {
                time: end.header.time,
                txcount,
                window_final_block_hash: hash,
                window_final_block_height: end.height,
                window_block_count: count,
                window_tx_count: None,
                window_interval: None,
                txrate: None,
            };
            if count > 0 {
                let past = chain
                    .block_hash_at(end.height - count)
                    .ok_or_else(|| RpcError::internal("active chain has no block at that height"))?;
                let past_count = chain
                    .chain_tx_count(&past)
                    .ok_or_else(|| RpcError::misc("Transaction counts unknown: a block of the chain is not stored"))?;
                let interval = i64::from(chain.median_time_past(&hash)) - i64::from(chain.median_time_past(&past));
                let window = txcount - past_count;
                out.window_tx_count = Some(window);
                out.window_interval = Some(interval);
                if interval > 0 {
                    out.txrate = Some(window as f64 / interval as f64);
                }
            }
            Ok(out)
        })
        .await
    }

    fn getindexinfo(&self, index_name: Option<String>) -> RpcResult<serde_json::Value> {
        // Cairn keeps no optional index (no txindex, coinstatsindex or blockfilterindex): Core's
        // answer for a node without them, whatever the name, is an empty object.
        let _ = index_name;
        Ok(serde_json::json!({}))
    }

    async fn getchaintips(&self) -> RpcResult<Vec<ChainTipInfo>> {
        self.with_state(|s| {
            Ok(s.chain
                .chain_tips()
                .into_iter()
                .map(|t| ChainTipInfo {
                    height: t.height,
                    hash: t.hash,
                    branchlen: t.branchlen,
                    status: t.status.as_str().to_string(),
                })
                .collect())
        })
        .await
    }

    async fn getdifficulty(&self) -> RpcResult<f64> {
        self.with_state(|s| Ok(difficulty(s.chain.tip().header.bits, s.chain.params().pow_limit)))
            .await
    }
}

/// How far the node is with catching up, as `getblockchaininfo` reports it.
pub struct SyncProgress {
    /// The best header known: our tip, or higher headers sync has validated.
    pub headers: u32,
    /// Initial block download, as Core: the tip has less than the network's minimum chain work
    /// or is more than a day old; once over, over for good (`latch`).
    pub initial: bool,
    /// Blocks we have over blocks we have plus blocks known to be missing: headers not yet
    /// downloaded, or, for a tip older than a day, the blocks the time since should have brought
    /// (not on regtest). Core counts transactions; Cairn counts blocks.
    pub progress: f64,
}

/// How old a tip may be for the node to count as caught up (Core's `-maxtipage`).
const MAX_TIP_AGE: u64 = 24 * 60 * 60;

impl SyncProgress {
    pub fn of(chain: &cairn_chain::Chainstate, best_header: u32, now: u64, latch: &std::sync::atomic::AtomicBool) -> SyncProgress {
        use std::sync::atomic::Ordering;
        let tip = chain.tip();
        let headers = tip.height.max(best_header);
        let age = now.saturating_sub(u64::from(tip.header.time));
        let behind = tip.chain_work < chain.params().min_chain_work || age > MAX_TIP_AGE;
        let initial = !latch.load(Ordering::Relaxed) && behind;
        if !initial {
            latch.store(true, Ordering::Relaxed);
        }
        // Regtest blocks come when asked for: time says nothing about missing ones (Core's regtest
        // has no expected transaction rate either).
        let by_time = if age > MAX_TIP_AGE && chain.params().network != cairn_chain::Network::Regtest {
            age / u64::from(chain.params().target_spacing.max(1))
        } else {
            0
        };
        let missing = u64::from(headers - tip.height).max(by_time);
        let have = u64::from(tip.height) + 1;
        let progress = if missing == 0 { 1.0 } else { have as f64 / (have + missing) as f64 };
        SyncProgress {
            headers,
            initial,
            progress,
        }
    }
}

/// Every statistic `getblockstats` knows (Core's names).
const BLOCK_STATS: &[&str] = &[
    "avgfee",
    "avgfeerate",
    "avgtxsize",
    "blockhash",
    "feerate_percentiles",
    "height",
    "ins",
    "maxfee",
    "maxfeerate",
    "maxtxsize",
    "medianfee",
    "mediantime",
    "mediantxsize",
    "minfee",
    "minfeerate",
    "mintxsize",
    "outs",
    "subsidy",
    "swtotal_size",
    "swtotal_weight",
    "swtxs",
    "time",
    "total_out",
    "total_size",
    "total_weight",
    "totalfee",
    "txs",
    "utxo_increase",
    "utxo_size_inc",
    "utxo_increase_actual",
    "utxo_size_inc_actual",
];

/// Core's `getblockstats` object. Amounts are in base units, as Core's satoshis; Cairn has no
/// segregated witness, so the `sw*` figures are 0.
fn block_stats_json(s: &cairn_chain::BlockStats) -> serde_json::Value {
    serde_json::json!({
        "avgfee": s.avgfee, "avgfeerate": s.avgfeerate, "avgtxsize": s.avgtxsize, "blockhash": s.blockhash,
        "feerate_percentiles": s.feerate_percentiles, "height": s.height, "ins": s.ins, "maxfee": s.maxfee,
        "maxfeerate": s.maxfeerate, "maxtxsize": s.maxtxsize, "medianfee": s.medianfee, "mediantime": s.mediantime,
        "mediantxsize": s.mediantxsize, "minfee": s.minfee, "minfeerate": s.minfeerate, "mintxsize": s.mintxsize,
        "outs": s.outs, "subsidy": s.subsidy, "swtotal_size": 0, "swtotal_weight": 0, "swtxs": 0, "time": s.time,
        "total_out": s.total_out, "total_size": s.total_size, "total_weight": s.total_weight, "totalfee": s.totalfee,
        "txs": s.txs, "utxo_increase": s.utxo_increase, "utxo_size_inc": s.utxo_size_inc,
        "utxo_increase_actual": s.utxo_increase_actual, "utxo_size_inc_actual": s.utxo_size_inc_actual,
    })
}

/// Bytes of the files under `dir` (best effort: unreadable entries count as 0).
fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// `invalidateblock`/`reconsiderblock` failures with Core's codes.
fn manual_err(e: cairn_chain::ManualError) -> RpcError {
    match e {
        cairn_chain::ManualError::UnknownBlock => RpcError::not_found("Block not found"),
        cairn_chain::ManualError::Genesis => RpcError::invalid_parameter("The genesis block cannot be invalidated"),
        cairn_chain::ManualError::Chain(cairn_chain::ChainError::Store(e)) => store_err(e),
        cairn_chain::ManualError::Chain(e) => RpcError::new(cairn_rpc::error::code::DATABASE_ERROR, e.to_string()),
    }
}
