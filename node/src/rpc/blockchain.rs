//! `BlockchainApi`: blocks, headers, the UTXO set and the mempool.

use std::collections::BTreeMap;

use cairn_chain::BlockHash;
use cairn_chain::Txid;
use cairn_chain::encode::Encodable;
use cairn_chain::mempool::MIN_RELAY_FEE_PER_KB;
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
        self.with_state(move |s| {
            let size_on_disk = dir_size(&dir);
            let chain = &s.chain;
            let tip = chain.tip();
            let bits = tip.header.bits;
            Ok(BlockchainInfo {
                chain: chain_name(network).to_string(),
                blocks: tip.height,
                headers: tip.height,
                bestblockhash: tip.hash(),
                bits: bits_hex(bits),
                target: target_hex(bits),
                difficulty: difficulty(bits, chain.params().pow_limit),
                time: tip.header.time,
                mediantime: chain.median_time_past(&tip.hash()),
                verificationprogress: 1.0,
                initialblockdownload: false,
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
        let verbosity = verbosity.map_or(1, |v| v.0);
        if verbosity > 2 {
            return Err(RpcError::invalid_parameter("Verbosity must be 0, 1 or 2"));
        }
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
                BlockTxs::Full(block.txdata.iter().map(|t| tx_info(t, network, values.as_ref())).collect())
            };
            let size = block.size();
            Ok(GetBlockResult::Verbose(Box::new(BlockInfo {
                header,
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
            let n_tx = chain.get_block(&blockhash).map_err(store_err)?.map_or(0, |b| b.txdata.len());
            Ok(GetBlockHeaderResult::Verbose(Box::new(header_info(chain, record, n_tx))))
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

    async fn gettxoutsetinfo(&self, hash_type: Option<String>) -> RpcResult<TxOutSetInfo> {
        if let Some(t) = hash_type.as_deref()
            && t != "hash_serialized_3"
        {
            return Err(RpcError::invalid_parameter(format!(
                "'{t}' is not a valid hash_type (only hash_serialized_3)"
            )));
        }
        let (stats, height, bestblock) = self.chain.utxo_stats().await.map_err(stopped)?.map_err(store_err)?;
        Ok(TxOutSetInfo {
            height,
            bestblock,
            txouts: stats.txouts,
            bogosize: stats.serialized_size,
            hash_serialized_3: hex::encode(stats.digest),
            total_amount: CoinAmount(stats.total_amount),
        })
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

    async fn getrawmempool(&self, verbose: Option<bool>) -> RpcResult<RawMempool> {
        self.with_state(move |s| {
            let pool = &s.mempool;
            if !verbose.unwrap_or(false) {
                let mut entries: Vec<_> = pool.entries().collect();
                entries.sort_by_key(|e| (e.time, e.txid));
                return Ok(RawMempool::Ids(entries.iter().map(|e| e.txid).collect()));
            }
            let mut spent_by: BTreeMap<Txid, Vec<Txid>> = BTreeMap::new();
            for e in pool.entries() {
                for i in &e.tx.inputs {
                    if pool.contains(&i.prevout.txid) {
                        spent_by.entry(i.prevout.txid).or_default().push(e.txid);
                    }
                }
            }
            let map = pool
                .entries()
                .map(|e| {
                    let mut depends: Vec<Txid> = e.tx.inputs.iter().map(|i| i.prevout.txid).filter(|t| pool.contains(t)).collect();
                    depends.sort();
                    depends.dedup();
                    let info = MempoolEntryInfo {
                        vsize: e.size,
                        weight: e.size * 4,
                        time: e.time,
                        height: e.height,
                        fees: MempoolFees {
                            base: CoinAmount(e.fee),
                            modified: CoinAmount(e.fee),
                        },
                        depends,
                        spentby: spent_by.remove(&e.txid).unwrap_or_default(),
                    };
                    (e.txid.to_string(), info)
                })
                .collect();
            Ok(RawMempool::Verbose(map))
        })
        .await
    }

    async fn getmempoolinfo(&self) -> RpcResult<MempoolInfo> {
        self.with_state(|s| {
            let pool = &s.mempool;
            let total_fee = Amount::checked_sum(pool.entries().map(|e| e.fee)).unwrap_or(Amount::MAX_MONEY);
            Ok(MempoolInfo {
                loaded: true,
                size: pool.len(),
                bytes: pool.bytes(),
                usage: pool.bytes(),
                total_fee: CoinAmount(total_fee),
                maxmempool: pool.max_bytes(),
                mempoolminfee: fee_rate_amount(pool.min_fee_rate().max(MIN_RELAY_FEE_PER_KB)),
                minrelaytxfee: fee_rate_amount(MIN_RELAY_FEE_PER_KB),
                unbroadcastcount: 0,
            })
        })
        .await
    }
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
