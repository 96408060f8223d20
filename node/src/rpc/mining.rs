//! `MiningApi`: mining state, and `generatetoaddress` (mining on a blocking thread, never on
//! the chain service or the runtime).

use std::sync::atomic::{AtomicU64, Ordering};

use cairn_chain::miner::{create_template, mine};
use cairn_chain::{BlockHash, BlockStatus};
use cairn_rpc::api::MiningApiServer;
use cairn_rpc::types::*;
use cairn_rpc::{RpcError, RpcResult};
use jsonrpsee::core::async_trait;

use super::RpcContext;
use super::convert::*;
use crate::clock::unix_now;
use crate::miner::MAX_THREADS;

/// Core's default `maxtries`.
const DEFAULT_MAX_TRIES: u64 = 1_000_000;
/// Blocks over which `networkhashps` is estimated (Core's default).
const HASHPS_WINDOW: u32 = 120;

#[async_trait]
impl MiningApiServer for RpcContext {
    async fn getmininginfo(&self) -> RpcResult<MiningInfo> {
        let network = self.network;
        let settings = self.miner.settings();
        let hashespersec = self.miner.hashes_per_sec();
        self.with_state(move |s| {
            let chain = &s.chain;
            let tip = chain.tip();
            let bits = tip.header.bits;
            let start_height = tip.height.saturating_sub(HASHPS_WINDOW);
            let networkhashps = chain
                .block_hash_at(start_height)
                .and_then(|h| chain.index_record(&h))
                .map(|start| {
                    let work = tip.chain_work.saturating_sub(start.chain_work);
                    let secs = tip.header.time.saturating_sub(start.header.time).max(1);
                    u256_to_f64(work) / f64::from(secs)
                })
                .unwrap_or(0.0);
            Ok(MiningInfo {
                blocks: tip.height,
                bits: bits_hex(bits),
                difficulty: difficulty(bits, chain.params().pow_limit),
                target: target_hex(bits),
                networkhashps: if tip.height == 0 { 0.0 } else { networkhashps },
                pooledtx: s.mempool.len(),
                chain: chain_name(network).to_string(),
                warnings: Vec::new(),
                generate: settings.threads > 0,
                genproclimit: settings.threads,
                hashespersec,
            })
        })
        .await
    }

    async fn generatetoaddress(&self, nblocks: Int<u32>, address: String, maxtries: Option<Int<u64>>) -> RpcResult<Vec<BlockHash>> {
        let nblocks = nblocks.get("nblocks")?;
        let maxtries = maxtries.map(|m| m.get("maxtries")).transpose()?;
        let lock = parse_address(&address, self.network)?.lock();
        let max_tries = maxtries.unwrap_or(DEFAULT_MAX_TRIES);
        let tried = std::sync::Arc::new(AtomicU64::new(0));
        // Not `with_capacity(nblocks)`: 4294967295 blocks would reserve 128 GiB up front. The
        // list grows with the blocks actually found (maxtries bounds them).
        let mut hashes = Vec::with_capacity(nblocks.min(1024) as usize);
        for _ in 0..nblocks {
            let payout = lock.clone();
            let template = self
                .with_state(move |s| Ok(create_template(s.chain, s.mempool, &payout, unix_now(), b"/cairn/")))
                .await?;
            let shutdown = self.shutdown.clone();
            let counter = tried.clone();
            let found = tokio::task::spawn_blocking(move || {
                let stop = || shutdown.is_triggered() || counter.load(Ordering::Relaxed) >= max_tries;
                mine(&template, 1, &stop, &counter)
            })
            .await
            .map_err(|e| RpcError::internal(format!("mining task failed: {e}")))?;
            let Some(block) = found else {
                break;
            };
            let hash = block.block_hash();
            let processed = self
                .chain
                .submit_block(block)
                .await
                .map_err(stopped)?
                .map_err(|e| RpcError::misc(format!("mined block rejected: {e}")))?;
            if processed.status != BlockStatus::Accepted {
                return Err(RpcError::misc(format!(
                    "mined block {hash} was not accepted ({:?})",
                    processed.status
                )));
            }
            hashes.push(hash);
        }
        Ok(hashes)
    }

    async fn setgenerate(&self, ext: &jsonrpsee::Extensions, generate: bool, genproclimit: Option<Int<i64>>) -> RpcResult<()> {
        let genproclimit = genproclimit.map(|g| g.get("genproclimit")).transpose()?;
        let threads = match (generate, genproclimit.unwrap_or(1)) {
            (false, _) | (true, 0) => 0,
            (true, -1) => std::thread::available_parallelism().map_or(1, |n| n.get()),
            (true, n) if n > 0 && n <= MAX_THREADS as i64 => n as usize,
            (true, n) => {
                return Err(RpcError::invalid_parameter(format!(
                    "genproclimit {n} out of range (-1, or 0 to {MAX_THREADS})"
                )));
            }
        };
        let mut settings = self.miner.settings();
        if threads > 0 && settings.payout.is_none() {
            let address = self
                .with_wallet(ext, |s| {
                    s.wallet
                        .new_address("mining", unix_now())
                        .map_err(|e| RpcError::misc(format!("creating a mining address: {e}")))
                })
                .await?;
            tracing::info!(%address, "mining to");
            settings.payout = Some(address.lock());
        }
        settings.threads = threads;
        self.miner.set(settings);
        Ok(())
    }

    fn getgenerate(&self) -> RpcResult<bool> {
        Ok(self.miner.settings().threads > 0)
    }

    async fn getnetworkhashps(&self, nblocks: Option<Int<i64>>, height: Option<Int<i64>>) -> RpcResult<f64> {
        self.network_hash_ps(nblocks, height).await
    }

    async fn getblocktemplate(&self, template_request: Option<serde_json::Value>) -> RpcResult<serde_json::Value> {
        self.block_template(template_request).await
    }

    async fn submitblock(&self, hexdata: String, _dummy: Option<String>) -> RpcResult<Option<String>> {
        self.submit_block_hex(hexdata).await
    }

    async fn generateblock(&self, output: String, transactions: Vec<String>, submit: Option<bool>) -> RpcResult<serde_json::Value> {
        self.generate_block(output, transactions, submit.unwrap_or(true)).await
    }

    async fn prioritisetransaction(
        &self,
        txid: cairn_chain::Txid,
        dummy: Option<serde_json::Value>,
        fee_delta: Int<i64>,
    ) -> RpcResult<bool> {
        if dummy.as_ref().is_some_and(|d| !d.is_null() && d.as_f64() != Some(0.0)) {
            return Err(RpcError::invalid_parameter(
                "Priority is no longer supported, dummy argument to prioritisetransaction must be 0.",
            ));
        }
        let delta = fee_delta.get("fee_delta")?;
        if delta.unsigned_abs() > cairn_chain::Amount::MAX_MONEY.to_units() {
            return Err(RpcError::invalid_parameter("fee_delta out of range"));
        }
        let added = self.chain.prioritise(txid, delta).await.map_err(stopped)?;
        if !added {
            return Err(RpcError::invalid_parameter(format!(
                "too many prioritised transactions (at most {})",
                cairn_chain::mempool::MAX_PRIORITISED
            )));
        }
        Ok(true)
    }
}
