//! `MempoolApi`: the pool's transactions, each with its package of in-pool ancestors and
//! descendants as Core reports them.

use std::collections::BTreeMap;

use cairn_chain::mempool::{MIN_RELAY_FEE_PER_KB, Mempool, MempoolEntry};
use cairn_chain::{Amount, Txid};
use cairn_rpc::api::MempoolApiServer;
use cairn_rpc::types::*;
use cairn_rpc::{RpcError, RpcResult};
use jsonrpsee::core::async_trait;

use super::RpcContext;
use super::blockchain::fee_rate_amount;

/// Sum of amounts, capped (a pool never holds more than the money supply).
fn sum(amounts: impl Iterator<Item = Amount>) -> CoinAmount {
    CoinAmount(Amount::checked_sum(amounts).unwrap_or(Amount::MAX_MONEY))
}

/// Core's entry for `e`.
fn entry_info(pool: &Mempool, e: &MempoolEntry) -> MempoolEntryInfo {
    let ancestors: Vec<&MempoolEntry> = pool.ancestors_of(&e.txid).iter().filter_map(|t| pool.get(t)).collect();
    let descendants: Vec<&MempoolEntry> = pool.descendants_of(&e.txid).iter().filter_map(|t| pool.get(t)).collect();
    let mut depends: Vec<Txid> = e.tx.inputs.iter().map(|i| i.prevout.txid).filter(|t| pool.contains(t)).collect();
    depends.sort();
    depends.dedup();
    let mut spentby: Vec<Txid> = (0..e.tx.outputs.len() as u32)
        .filter_map(|v| pool.spender(&cairn_chain::OutPoint::new(e.txid, v)))
        .collect();
    spentby.sort();
    spentby.dedup();
    MempoolEntryInfo {
        vsize: e.size,
        weight: e.size * 4,
        time: e.time,
        height: e.height,
        descendantcount: descendants.len() + 1,
        descendantsize: e.size + descendants.iter().map(|d| d.size).sum::<usize>(),
        ancestorcount: ancestors.len() + 1,
        ancestorsize: e.size + ancestors.iter().map(|a| a.size).sum::<usize>(),
        wtxid: e.txid,
        fees: MempoolFees {
            base: CoinAmount(e.fee),
            modified: CoinAmount(pool.modified_fee(e)),
            ancestor: sum(std::iter::once(e).chain(ancestors.iter().copied()).map(|a| pool.modified_fee(a))),
            descendant: sum(std::iter::once(e).chain(descendants.iter().copied()).map(|d| pool.modified_fee(d))),
        },
        depends,
        spentby,
        bip125_replaceable: false,
        unbroadcast: false,
    }
}

/// The txids, or the entries by txid when `verbose`.
fn listing(pool: &Mempool, mut txids: Vec<Txid>, verbose: bool) -> RawMempool {
    if !verbose {
        txids.sort_by_key(|t| pool.get(t).map(|e| (e.time, e.txid)));
        return RawMempool::Ids(txids);
    }
    let map: BTreeMap<String, MempoolEntryInfo> = txids
        .iter()
        .filter_map(|t| pool.get(t))
        .map(|e| (e.txid.to_string(), entry_info(pool, e)))
        .collect();
    RawMempool::Verbose(map)
}

fn not_in_pool() -> RpcError {
    RpcError::not_found("Transaction not in mempool")
}

#[async_trait]
impl MempoolApiServer for RpcContext {
    async fn getrawmempool(&self, verbose: Option<bool>, mempool_sequence: Option<bool>) -> RpcResult<RawMempool> {
        let verbose = verbose.unwrap_or(false);
        let with_sequence = mempool_sequence.unwrap_or(false);
        if verbose && with_sequence {
            return Err(RpcError::invalid_parameter(
                "Verbose results cannot contain mempool sequence values.",
            ));
        }
        self.with_state(move |s| {
            let pool = &s.mempool;
            let txids: Vec<Txid> = pool.entries().map(|e| e.txid).collect();
            let list = listing(pool, txids, verbose);
            if with_sequence {
                return Ok(RawMempool::WithSequence {
                    txids: match list {
                        RawMempool::Ids(ids) => ids,
                        _ => Vec::new(),
                    },
                    mempool_sequence: pool.sequence(),
                });
            }
            Ok(list)
        })
        .await
    }

    async fn getmempoolinfo(&self) -> RpcResult<MempoolInfo> {
        self.with_state(|s| {
            let pool = &s.mempool;
            Ok(MempoolInfo {
                loaded: true,
                size: pool.len(),
                bytes: pool.bytes(),
                usage: pool.bytes(),
                total_fee: sum(pool.entries().map(|e| e.fee)),
                maxmempool: pool.max_bytes(),
                mempoolminfee: fee_rate_amount(pool.min_fee_rate().max(MIN_RELAY_FEE_PER_KB)),
                minrelaytxfee: fee_rate_amount(MIN_RELAY_FEE_PER_KB),
                incrementalrelayfee: fee_rate_amount(MIN_RELAY_FEE_PER_KB),
                unbroadcastcount: 0,
            })
        })
        .await
    }

    async fn getmempoolentry(&self, txid: Txid) -> RpcResult<MempoolEntryInfo> {
        self.with_state(move |s| {
            let e = s.mempool.get(&txid).ok_or_else(not_in_pool)?;
            Ok(entry_info(s.mempool, e))
        })
        .await
    }

    async fn getmempoolancestors(&self, txid: Txid, verbose: Option<bool>) -> RpcResult<RawMempool> {
        self.with_state(move |s| {
            if !s.mempool.contains(&txid) {
                return Err(not_in_pool());
            }
            Ok(listing(s.mempool, s.mempool.ancestors_of(&txid), verbose.unwrap_or(false)))
        })
        .await
    }

    async fn getmempooldescendants(&self, txid: Txid, verbose: Option<bool>) -> RpcResult<RawMempool> {
        self.with_state(move |s| {
            if !s.mempool.contains(&txid) {
                return Err(not_in_pool());
            }
            Ok(listing(s.mempool, s.mempool.descendants_of(&txid), verbose.unwrap_or(false)))
        })
        .await
    }
}
