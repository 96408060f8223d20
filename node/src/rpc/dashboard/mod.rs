//! The dashboard: a live web page served by the node on the RPC port under `/dashboard/`,
//! behind the RPC's credentials (see [`cairn_rpc::pages`]). Every asset is compiled into the
//! binary (no CDN): `index.html`, `app.js`, `style.css` from this folder.
//!
//! - `GET /dashboard/` the page; it draws the chain (height, tip, recent blocks, a mempool
//!   fee-rate histogram, chain tips with forks), peers and bans, the Chord ring (this node, its
//!   predecessor, successors and fingers; a lookup typed in the page is drawn hop by hop) and
//!   each shared file's swarm (piece map, availability heat map, per-peer rates and choke state).
//! - `GET /dashboard/events` server-sent events: the whole state as JSON (`event: state`) when it
//!   changes, checked every [`TICK`]; a comment every [`KEEPALIVE`] ticks otherwise. A stream
//!   ends after [`MAX_STREAM`] or when the node stops (the browser reconnects by itself); at most
//!   [`MAX_STREAMS`] at once (then 503, and the page falls back to polling).
//! - `GET /dashboard/state` the same JSON once (the polling fallback).
//! - `GET /dashboard/lookup?key=K` a Chord lookup with its path.
//!
//! The state is built from the RPC methods' own answers (one source of truth): what the page
//! shows is what `getblockchaininfo`, `getpeerinfo`, `getchordinfo`, … say.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_rpc::api::{BlockchainApiServer, ChordApiServer, MiningApiServer, NetworkApiServer};
use cairn_rpc::pages::{Chunk as Bytes, PageBody, PageFuture, PageResponse, Pages, Status as StatusCode};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::RpcContext;

/// How often an open page's state is checked for changes.
pub const TICK: Duration = Duration::from_secs(1);
/// Ticks without a change before a keep-alive comment.
pub const KEEPALIVE: u32 = 15;
/// Longest life of one event stream (the browser reconnects).
pub const MAX_STREAM: Duration = Duration::from_secs(600);
/// Most event streams open at once.
pub const MAX_STREAMS: usize = 8;
/// Recent blocks shown.
pub const RECENT_BLOCKS: u32 = 12;
/// Upper bounds (sat/vB, Core's units) of the mempool histogram's buckets; the last is open.
pub const FEE_BUCKETS: [u64; 12] = [1, 2, 3, 5, 8, 10, 15, 20, 30, 50, 100, 1000];

const INDEX: &str = include_str!("index.html");
const APP: &str = include_str!("app.js");
const STYLE: &str = include_str!("style.css");

/// The dashboard's pages (cheap to clone).
#[derive(Clone, Debug)]
pub struct Dashboard(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    ctx: RpcContext,
    streams: Arc<Semaphore>,
    /// Recent blocks, computed once per tip.
    blocks: std::sync::Mutex<Option<(String, Value)>>,
}

impl Dashboard {
    /// The pages of the node `ctx` answers for.
    pub fn new(ctx: RpcContext) -> Dashboard {
        Dashboard(Arc::new(Inner {
            ctx,
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
            blocks: std::sync::Mutex::new(None),
        }))
    }

    /// See [`Inner::state`].
    pub async fn state(&self) -> Value {
        self.0.state().await
    }
}

impl Inner {
    /// The whole state as the page draws it. A part that fails (a service not started yet) is
    /// `null`, never an error for the rest.
    pub async fn state(&self) -> Value {
        let ctx = &self.ctx;
        let value = |v: Result<Value, _>| v.unwrap_or(Value::Null);
        let chain = value(BlockchainApiServer::getblockchaininfo(ctx).await.map(to_json));
        let tip = chain["bestblockhash"].as_str().unwrap_or_default().to_string();
        let height = chain["blocks"].as_u64().unwrap_or(0) as u32;
        let blocks = self.recent_blocks(&tip, height).await;
        let mining = value(MiningApiServer::getmininginfo(ctx).await.map(to_json));
        let tips = value(BlockchainApiServer::getchaintips(ctx).await.map(to_json));
        let peers = value(NetworkApiServer::getpeerinfo(ctx).await.map(to_json));
        let bans = value(NetworkApiServer::listbanned(ctx).await.map(to_json));
        let ring = value(ChordApiServer::getchordinfo(ctx).await.map(to_json));
        let mempool = self.mempool().await;
        let files = self.files().await;
        json!({
            "network": ctx.network.as_str(),
            "version": env!("CARGO_PKG_VERSION"),
            "chain": chain,
            "hashps": mining["networkhashps"],
            "blocks": blocks,
            "tips": tips,
            "mempool": mempool,
            "peers": peers,
            "bans": bans,
            "ring": ring,
            "files": files,
        })
    }

    /// The last [`RECENT_BLOCKS`] blocks (height, hash, time, size, transactions, fees), newest
    /// first; recomputed only when the tip moves.
    async fn recent_blocks(&self, tip: &str, height: u32) -> Value {
        if let Ok(guard) = self.blocks.lock()
            && let Some((t, v)) = guard.as_ref()
            && t == tip
        {
            return v.clone();
        }
        let stats: Vec<String> = ["height", "blockhash", "time", "total_size", "txs", "totalfee"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut out = Vec::new();
        for h in (height.saturating_sub(RECENT_BLOCKS - 1)..=height).rev() {
            if let Ok(mut v) = BlockchainApiServer::getblockstats(&self.ctx, json!(h), Some(stats.clone())).await {
                // The block's own size (getblockstats' total_size leaves the coinbase out).
                let hash = v["blockhash"].as_str().and_then(|h| h.parse().ok());
                if let Some(hash) = hash
                    && let Ok(block) = BlockchainApiServer::getblock(&self.ctx, hash, Some(cairn_rpc::types::Verbosity(1))).await
                {
                    v["size"] = to_json(block)["size"].clone();
                }
                out.push(v);
            }
        }
        let v = Value::Array(out);
        if let Ok(mut guard) = self.blocks.lock() {
            *guard = Some((tip.to_string(), v.clone()));
        }
        v
    }

    /// Size, bytes and a fee-rate histogram ([`FEE_BUCKETS`], sat/vB) of the mempool.
    async fn mempool(&self) -> Value {
        self.ctx
            .with_state(|s| {
                let mut count = [0u64; FEE_BUCKETS.len()];
                let mut bytes = [0u64; FEE_BUCKETS.len()];
                for e in s.mempool.entries() {
                    // Base units per 1000 bytes → per byte (Core's sat/vB).
                    let rate = cairn_chain::mempool::fee_rate(e.fee, e.size) / 1000;
                    let i = FEE_BUCKETS.iter().position(|b| rate < *b).unwrap_or(FEE_BUCKETS.len() - 1);
                    count[i] += 1;
                    bytes[i] += e.size as u64;
                }
                let buckets: Vec<Value> = FEE_BUCKETS
                    .iter()
                    .enumerate()
                    .map(|(i, upto)| {
                        let from = if i == 0 { 0 } else { FEE_BUCKETS[i - 1] };
                        let upto = (i + 1 < FEE_BUCKETS.len()).then_some(*upto);
                        json!({"from": from, "upto": upto, "count": count[i], "bytes": bytes[i]})
                    })
                    .collect();
                Ok(json!({"size": s.mempool.len(), "bytes": s.mempool.bytes(), "histogram": buckets}))
            })
            .await
            .unwrap_or(Value::Null)
    }

    /// Each shared file: its status with its swarm (piece map, availability, members).
    async fn files(&self) -> Value {
        let Ok(content) = self.ctx.content() else { return Value::Null };
        let (Ok(list), Ok(swarms)) = (content.list().await, content.swarms().await) else {
            return Value::Null;
        };
        let swarms: std::collections::HashMap<String, _> = swarms.into_iter().map(|(c, s)| (c.to_string(), s)).collect();
        let files: Vec<Value> = list
            .into_iter()
            .map(|status| {
                let swarm = swarms.get(&status.cid);
                let mut v = to_json(status);
                if let Some(swarm) = swarm {
                    let (cells, per_cell) = piece_cells(&swarm.pieces);
                    v["piecemap"] = json!(cells);
                    v["pieces_per_cell"] = json!(per_cell);
                    v["availability"] = json!(availability_cells(&swarm.availability, per_cell));
                    v["members"] = swarm
                        .peers
                        .iter()
                        .map(|m| {
                            json!({
                                "peer": m.peer.to_string(),
                                "download_rate": m.download_rate,
                                "upload_rate": m.upload_rate,
                                "unchoked": m.unchoked,
                                "unchokes_us": m.unchokes_us,
                                "interested": m.interested,
                                "pieces": m.pieces,
                            })
                        })
                        .collect();
                }
                v
            })
            .collect();
        Value::Array(files)
    }

    /// `GET /dashboard/lookup?key=K`.
    async fn lookup(&self, query: &str) -> PageResponse {
        let Some(key) = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("key="))
            .map_or(Some(String::new()), cairn_rpc::endpoint::percent_decode)
        else {
            return PageResponse::error(StatusCode::BAD_REQUEST, "the key is not percent-encoded UTF-8");
        };
        match ChordApiServer::chordlookup(&self.ctx, key).await {
            Ok(found) => PageResponse::ok("application/json", to_json(found).to_string()),
            Err(e) => PageResponse::error(StatusCode::BAD_REQUEST, e.message.clone()),
        }
    }

    /// `GET /dashboard/events`.
    fn events(self: Arc<Self>) -> PageResponse {
        let Ok(permit) = self.streams.clone().try_acquire_owned() else {
            return PageResponse::error(StatusCode::SERVICE_UNAVAILABLE, "too many dashboard streams open");
        };
        struct Open {
            dashboard: Arc<Inner>,
            last: Option<String>,
            quiet: u32,
            started: Instant,
            _permit: tokio::sync::OwnedSemaphorePermit,
        }
        let open = Open {
            dashboard: self,
            last: None,
            quiet: 0,
            started: Instant::now(),
            _permit: permit,
        };
        let stream = futures::stream::unfold(open, |mut o| async move {
            loop {
                if o.dashboard.ctx.shutdown.is_triggered() || o.started.elapsed() > MAX_STREAM {
                    return None;
                }
                if o.last.is_some() {
                    tokio::select! {
                        () = tokio::time::sleep(TICK) => {}
                        () = o.dashboard.ctx.shutdown.wait() => return None,
                    }
                }
                let state = tokio::select! {
                    state = o.dashboard.state() => state.to_string(),
                    () = o.dashboard.ctx.shutdown.wait() => return None,
                };
                if o.last.as_ref() != Some(&state) {
                    let chunk = Bytes::from(format!("event: state\ndata: {state}\n\n"));
                    o.last = Some(state);
                    o.quiet = 0;
                    return Some((chunk, o));
                }
                o.quiet += 1;
                if o.quiet >= KEEPALIVE {
                    o.quiet = 0;
                    return Some((Bytes::from_static(b": keep-alive\n\n"), o));
                }
            }
        });
        PageResponse {
            status: StatusCode::OK,
            content_type: "text/event-stream",
            body: PageBody::Stream(Box::pin(stream)),
        }
    }
}

impl Pages for Dashboard {
    fn serve(&self, path: &str, query: &str) -> PageFuture {
        let dashboard = self.0.clone();
        let (path, query) = (path.to_string(), query.to_string());
        Box::pin(async move {
            match path.as_str() {
                "/dashboard" | "/dashboard/" | "/dashboard/index.html" => PageResponse::ok("text/html; charset=utf-8", INDEX),
                "/dashboard/app.js" => PageResponse::ok("text/javascript; charset=utf-8", APP),
                "/dashboard/style.css" => PageResponse::ok("text/css; charset=utf-8", STYLE),
                "/dashboard/state" => PageResponse::ok("application/json", dashboard.state().await.to_string()),
                "/dashboard/events" => dashboard.events(),
                "/dashboard/lookup" => dashboard.lookup(&query).await,
                _ => PageResponse::error(StatusCode::NOT_FOUND, "no such page"),
            }
        })
    }
}

/// Most cells a piece map or heat map is drawn with: a file of more pieces is drawn with several
/// pieces per cell, so the page and each event stay small whatever the file's size.
pub const MAX_CELLS: usize = 1024;

/// The piece map in at most [`MAX_CELLS`] cells, and the pieces per cell: a cell is held (`h`)
/// when all its pieces are, missing (`m`) when none is held or coming, downloading (`d`) else.
fn piece_cells(pieces: &str) -> (String, usize) {
    let per_cell = pieces.len().div_ceil(MAX_CELLS).max(1);
    let cells = pieces
        .as_bytes()
        .chunks(per_cell)
        .map(|c| {
            if c.iter().all(|p| *p == b'h') {
                'h'
            } else if c.iter().all(|p| *p == b'm') {
                'm'
            } else {
                'd'
            }
        })
        .collect();
    (cells, per_cell)
}

/// Availability per cell of `per_cell` pieces: the rarest piece's count (what limits the cell).
fn availability_cells(availability: &[u32], per_cell: usize) -> Vec<u32> {
    availability
        .chunks(per_cell.max(1))
        .map(|c| c.iter().copied().min().unwrap_or(0))
        .collect()
}

fn to_json<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_files_are_drawn_in_at_most_max_cells() {
        assert_eq!(piece_cells("hdm"), ("hdm".to_string(), 1));
        let big: String = "h".repeat(2048) + &"m".repeat(2047) + "d";
        let (cells, per_cell) = piece_cells(&big);
        assert_eq!((cells.len(), per_cell), (1024, 4));
        assert!(cells[..512].bytes().all(|c| c == b'h') && cells[512..1023].bytes().all(|c| c == b'm'));
        assert_eq!(&cells[1023..], "d", "a cell with a piece coming is downloading");
        assert_eq!(piece_cells("hhhm").0.len(), 4);
        assert_eq!(availability_cells(&[3, 1, 4, 1, 5, 9, 2], 3), vec![1, 1, 2]);
        assert_eq!(availability_cells(&(0..5000).collect::<Vec<u32>>(), 5).len(), 1000);
    }
}
