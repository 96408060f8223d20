//! The testnet view: one live page showing every node of a testnet side by side (up or down,
//! height, tip — coloured by whether the tips agree —, peers, mempool, hash rate) with a link
//! to each node's own dashboard. `cairn-testnet run` serves it on 127.0.0.1 and prints its
//! address; every request needs the view's cookie (HTTP Basic `__cookie__:HEX`, written to
//! `DIR/view.cookie`, mode 0600), the printed address carries it.
//!
//! - `GET /` the page (compiled in: `view.html`);
//! - `GET /status.json` the nodes' state once;
//! - `GET /events` server-sent events: the state every second when it changed; a stream ends
//!   after [`MAX_STREAM`] (the browser reconnects) or when the launcher stops.
//!
//! A small server on plain threads: at most [`MAX_CONNECTIONS`] at once, each request read with
//! a timeout and at most [`MAX_REQUEST`] bytes; anything but these three GETs is refused.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use cairn_rpc::auth::{CookieFile, Credentials};
use serde_json::{Value, json};

use crate::testnet::Testnet;

/// Most connections served at once.
pub const MAX_CONNECTIONS: usize = 16;
/// Largest request head read.
pub const MAX_REQUEST: u64 = 8 * 1024;
/// Longest life of one event stream.
pub const MAX_STREAM: Duration = Duration::from_secs(600);
/// How often an open page's state is refreshed.
pub const TICK: Duration = Duration::from_secs(1);

const PAGE: &str = include_str!("view.html");

/// A running view.
pub struct View {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its cookie file (removed when the view is dropped).
    pub cookie: CookieFile,
    /// `http://__cookie__:HEX@127.0.0.1:PORT/`.
    pub url: String,
    stop: Arc<AtomicBool>,
}

impl Drop for View {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl View {
    /// Serves the view of the testnet in `dir` on 127.0.0.1:`port` (0: any free port).
    ///
    /// # Errors
    /// The port cannot be bound or the cookie written.
    pub fn start(dir: &Path, port: u16) -> Result<View> {
        let listener = TcpListener::bind(("127.0.0.1", port)).context("binding the testnet view")?;
        let addr = listener.local_addr()?;
        let credentials = Credentials::random_cookie();
        let cookie = CookieFile::write(&dir.join("view.cookie"), &credentials).context("writing the view's cookie")?;
        let secret = std::fs::read_to_string(cookie.path())?;
        let url = format!("http://{}@{addr}/", secret.trim());
        let stop = Arc::new(AtomicBool::new(false));
        let (dir, open, stopping) = (dir.to_path_buf(), Arc::new(AtomicUsize::new(0)), stop.clone());
        let credentials = Arc::new(credentials);
        listener.set_nonblocking(true)?;
        std::thread::Builder::new().name("testnet-view".into()).spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((socket, _)) => {
                        if open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                            continue; // dropped: the client sees the connection close
                        }
                        // Accepted sockets may inherit the listener's non-blocking mode (BSDs).
                        if socket.set_nonblocking(false).is_err() {
                            continue;
                        }
                        let slot = Slot::take(&open);
                        let (dir, stopping, credentials) = (dir.clone(), stopping.clone(), credentials.clone());
                        // The slot is given back when the thread ends, panic or not, or at once
                        // if it cannot start (the closure is dropped with it).
                        let _ = std::thread::Builder::new().name("testnet-view-conn".into()).spawn(move || {
                            let _slot = slot;
                            let _ = serve(socket, &dir, &credentials, &stopping);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(50)),
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        })?;
        Ok(View { addr, cookie, url, stop })
    }
}

/// One connection's place among the [`MAX_CONNECTIONS`]; given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(open: &Arc<AtomicUsize>) -> Slot {
        open.fetch_add(1, Ordering::SeqCst);
        Slot(open.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How long a client has to send its whole request head.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(10);

/// The state of every node, for the page.
pub fn state(dir: &Path) -> Value {
    let Ok(net) = Testnet::open(dir) else {
        return json!({"nodes": [], "error": "the testnet description cannot be read"});
    };
    let statuses = net.status();
    let tips: std::collections::BTreeSet<&str> = statuses.iter().filter(|s| s.up).map(|s| s.best.as_str()).collect();
    let nodes: Vec<Value> = statuses
        .iter()
        .zip(&net.spec.nodes)
        .map(|(s, spec)| {
            let secret = std::fs::read_to_string(&spec.cookie).unwrap_or_default();
            json!({
                "name": s.name,
                "up": s.up,
                "height": s.height,
                "best": s.best,
                "peers": s.peers,
                "mempool": s.mempool,
                "mining": s.mining,
                "hashps": s.hashps,
                "error": s.error,
                "dashboard": format!("http://{}@{}/dashboard/", secret.trim(), spec.rpc_addr),
            })
        })
        .collect();
    json!({"network": net.spec.network, "agree": tips.len() <= 1, "tips": tips.len(), "nodes": nodes})
}

fn serve(socket: TcpStream, dir: &Path, credentials: &Credentials, stop: &AtomicBool) -> std::io::Result<()> {
    socket.set_write_timeout(Some(Duration::from_secs(5)))?;
    // One deadline for the whole head: a client trickling bytes cannot hold its slot for long.
    let deadline = Instant::now() + HEAD_DEADLINE;
    let before_deadline = |socket: &TcpStream| -> std::io::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "request head too slow"));
        }
        socket.set_read_timeout(Some(left))
    };
    let mut reader = BufReader::new((&socket).take(MAX_REQUEST));
    let mut request_line = String::new();
    before_deadline(&socket)?;
    reader.read_line(&mut request_line)?;
    let mut authorized = false;
    loop {
        let mut line = String::new();
        before_deadline(&socket)?;
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorized = credentials.matches_header(value.trim().as_bytes());
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut out = &socket;
    if !authorized {
        return reply(
            &mut out,
            "401 Unauthorized",
            "text/plain",
            b"",
            Some("WWW-Authenticate: Basic realm=\"testnet\"\r\n"),
        );
    }
    if method != "GET" {
        return reply(&mut out, "405 Method Not Allowed", "text/plain", b"GET only", None);
    }
    match path {
        "/" | "/index.html" => reply(&mut out, "200 OK", "text/html; charset=utf-8", PAGE.as_bytes(), None),
        "/status.json" => reply(&mut out, "200 OK", "application/json", state(dir).to_string().as_bytes(), None),
        "/events" => {
            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n")?;
            let started = Instant::now();
            let mut last = String::new();
            while !stop.load(Ordering::SeqCst) && started.elapsed() < MAX_STREAM {
                let now = state(dir).to_string();
                if now != last {
                    out.write_all(format!("event: status\ndata: {now}\n\n").as_bytes())?;
                    last = now;
                } else {
                    out.write_all(b": keep-alive\n\n")?;
                }
                out.flush()?;
                std::thread::sleep(TICK);
            }
            Ok(())
        }
        _ => reply(&mut out, "404 Not Found", "text/plain", b"no such page", None),
    }
}

fn reply(out: &mut &TcpStream, status: &str, content_type: &str, body: &[u8], extra: Option<&str>) -> std::io::Result<()> {
    out.write_all(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n{}\r\n",
            body.len(),
            extra.unwrap_or("")
        )
        .as_bytes(),
    )?;
    out.write_all(body)?;
    out.flush()
}
