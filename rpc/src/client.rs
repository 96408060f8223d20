//! A small blocking JSON-RPC client over one kept-alive HTTP/1.1 connection: what `cairn cli`,
//! the launcher and the tests use to talk to a node.
//!
//! Results come back as raw JSON text ([`RawValue`]) so amounts keep their 8 decimals when they
//! are printed; [`RpcClient::call`] parses them into any type.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::auth::Credentials;

/// Largest response accepted.
const MAX_RESPONSE: usize = 512 << 20;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection could be made.
    #[error("could not connect to the server {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The connection failed mid-call.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    /// HTTP 401.
    #[error("authorization failed: incorrect rpcuser or rpcpassword (or cookie)")]
    Unauthorized,
    /// Another HTTP failure without a JSON-RPC reply.
    #[error("server returned HTTP {status}: {body}")]
    Http {
        /// Status code.
        status: u16,
        /// Body text.
        body: String,
    },
    /// The method failed.
    #[error("error code: {code}\nerror message:\n{message}")]
    Rpc {
        /// Core's error code.
        code: i64,
        /// The message.
        message: String,
    },
    /// The reply is not what JSON-RPC promises.
    #[error("malformed reply: {0}")]
    BadReply(String),
}

/// A raw HTTP reply.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// A JSON-RPC client for one node.
pub struct RpcClient {
    addr: String,
    /// `/`, or a wallet's endpoint (`/wallet/<name>`).
    path: String,
    auth: String,
    timeout: Duration,
    conn: Option<BufReader<TcpStream>>,
    next_id: u64,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcClient").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl RpcClient {
    /// A client for the node at `addr` (`host:port`) using `credentials`. Calls time out after
    /// 15 minutes unless changed (a long `generatetoaddress` may take a while).
    pub fn new(addr: impl Into<String>, credentials: &Credentials) -> Self {
        RpcClient {
            addr: addr.into(),
            path: "/".into(),
            auth: credentials.header_value(),
            timeout: Duration::from_secs(900),
            conn: None,
            next_id: 1,
        }
    }

    /// Sends calls to wallet `name`'s endpoint (bitcoin-cli's `-rpcwallet`).
    pub fn with_wallet(mut self, name: &str) -> Self {
        self.path = crate::endpoint::wallet_path(name);
        self
    }

    /// Sets the per-call socket timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Calls `method` and returns the raw JSON result.
    ///
    /// # Errors
    /// See [`ClientError`].
    pub fn call_raw(&mut self, method: &str, params: &[Value]) -> Result<Box<RawValue>, ClientError> {
        self.call_params(method, &Value::Array(params.to_vec()))
    }

    /// Calls `method` with `params` as given: an array (positional) or an object (named).
    ///
    /// # Errors
    /// See [`ClientError`].
    pub fn call_params(&mut self, method: &str, params: &Value) -> Result<Box<RawValue>, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let body = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        let reply = self.post(body.as_bytes(), &[])?;
        match reply.status {
            401 => return Err(ClientError::Unauthorized),
            200 | 500 | 404 | 400 => {}
            status => {
                return Err(ClientError::Http {
                    status,
                    body: String::from_utf8_lossy(&reply.body).into_owned(),
                });
            }
        }
        #[derive(serde::Deserialize)]
        struct Reply {
            #[serde(default)]
            result: Option<Box<RawValue>>,
            #[serde(default)]
            error: Option<RpcErrorBody>,
        }
        #[derive(serde::Deserialize)]
        struct RpcErrorBody {
            code: i64,
            message: String,
        }
        let parsed: Reply = serde_json::from_slice(&reply.body).map_err(|e| {
            if reply.status == 200 {
                ClientError::BadReply(e.to_string())
            } else {
                ClientError::Http {
                    status: reply.status,
                    body: String::from_utf8_lossy(&reply.body).into_owned(),
                }
            }
        })?;
        if let Some(e) = parsed.error {
            return Err(ClientError::Rpc {
                code: e.code,
                message: e.message,
            });
        }
        Ok(parsed
            .result
            .unwrap_or_else(|| RawValue::from_string("null".into()).expect("null is JSON")))
    }

    /// Calls `method` and parses the result into `T`.
    ///
    /// # Errors
    /// See [`ClientError`]; a result of another shape is [`ClientError::BadReply`].
    pub fn call<T: DeserializeOwned>(&mut self, method: &str, params: &[Value]) -> Result<T, ClientError> {
        let raw = self.call_raw(method, params)?;
        serde_json::from_str(raw.get()).map_err(|e| ClientError::BadReply(format!("{method}: {e}")))
    }

    /// Posts `body` to `/` with the credentials and `headers`; returns the HTTP reply as is.
    /// Reuses the connection, reconnecting once if the server had closed it.
    ///
    /// # Errors
    /// Connection and I/O failures.
    pub fn post(&mut self, body: &[u8], headers: &[(&str, &str)]) -> Result<HttpReply, ClientError> {
        let mut request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Length: {}\r\n",
            self.path,
            self.addr,
            self.auth,
            body.len()
        );
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            request.push_str("Content-Type: application/json\r\n");
        }
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        let reused = self.conn.is_some();
        match self.exchange(&bytes) {
            Ok(r) => Ok(r),
            Err(ClientError::Io(_)) if reused => {
                self.conn = None;
                self.exchange(&bytes)
            }
            Err(e) => Err(e),
        }
    }

    fn exchange(&mut self, request: &[u8]) -> Result<HttpReply, ClientError> {
        if self.conn.is_none() {
            self.conn = Some(BufReader::new(self.connect()?));
        }
        let conn = self.conn.as_mut().ok_or_else(|| ClientError::BadReply("no connection".into()))?;
        let result = send_and_read(conn, request);
        match &result {
            Ok((_, keep_alive)) if *keep_alive => {}
            _ => self.conn = None,
        }
        result.map(|(r, _)| r)
    }

    fn connect(&self) -> Result<TcpStream, ClientError> {
        let connect_err = |source| ClientError::Connect {
            addr: self.addr.clone(),
            source,
        };
        let addrs: Vec<_> = self.addr.to_socket_addrs().map_err(connect_err)?.collect();
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        for a in addrs {
            match TcpStream::connect_timeout(&a, Duration::from_secs(10)) {
                Ok(s) => {
                    s.set_read_timeout(Some(self.timeout))?;
                    s.set_write_timeout(Some(self.timeout))?;
                    s.set_nodelay(true)?;
                    return Ok(s);
                }
                Err(e) => last = e,
            }
        }
        Err(connect_err(last))
    }
}

fn send_and_read(conn: &mut BufReader<TcpStream>, request: &[u8]) -> Result<(HttpReply, bool), ClientError> {
    conn.get_mut().write_all(request)?;
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Err(ClientError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        )));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::BadReply(format!("bad status line {line:?}")))?;
    let mut content_length = None;
    let mut chunked = false;
    let mut keep_alive = true;
    let mut content_type = None;
    loop {
        line.clear();
        if conn.read_line(&mut line)? == 0 {
            return Err(ClientError::BadReply("headers cut short".into()));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let Some((k, v)) = l.split_once(':') else { continue };
        let v = v.trim();
        match k.to_ascii_lowercase().as_str() {
            "content-length" => content_length = v.parse::<usize>().ok(),
            "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
            "connection" => keep_alive = !v.eq_ignore_ascii_case("close"),
            "content-type" => content_type = Some(v.to_string()),
            _ => {}
        }
    }
    // 1xx, 204 and 304 replies have no body, whatever the headers say.
    let body = if status == 204 || status == 304 || status < 200 {
        Vec::new()
    } else if chunked {
        read_chunked(conn)?
    } else if let Some(len) = content_length {
        if len > MAX_RESPONSE {
            return Err(ClientError::BadReply(format!("response of {len} bytes is too large")));
        }
        let mut body = vec![0; len];
        conn.read_exact(&mut body)?;
        body
    } else {
        keep_alive = false;
        let mut body = Vec::new();
        conn.take(MAX_RESPONSE as u64).read_to_end(&mut body)?;
        body
    };
    Ok((
        HttpReply {
            status,
            content_type,
            body,
        },
        keep_alive,
    ))
}

fn read_chunked(conn: &mut BufReader<TcpStream>) -> Result<Vec<u8>, ClientError> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        conn.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| ClientError::BadReply(format!("bad chunk size {line:?}")))?;
        if body.len() + size > MAX_RESPONSE {
            return Err(ClientError::BadReply("response too large".into()));
        }
        let start = body.len();
        body.resize(start + size, 0);
        conn.read_exact(&mut body[start..])?;
        line.clear();
        conn.read_line(&mut line)?;
        if size == 0 {
            return Ok(body);
        }
    }
}

/// Re-indents raw JSON text with two spaces per level (as bitcoin-cli prints), keeping every
/// token, and so every amount's digits, exactly as received.
pub fn pretty_json(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len() * 2);
    let mut depth = 0usize;
    let mut i = 0;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while i < bytes.len() {
        let c = bytes[i] as char;
        match c {
            '"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                out.push_str(&raw[start..(i + 1).min(raw.len())]);
            }
            '{' | '[' => {
                let close = if c == '{' { b'}' } else { b']' };
                let mut j = i + 1;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                if bytes.get(j) == Some(&close) {
                    out.push(c);
                    out.push(close as char);
                    i = j;
                } else {
                    out.push(c);
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            _ => {
                let start = i;
                while i + 1 < bytes.len() && !matches!(bytes[i + 1], b',' | b'}' | b']' | b':' | b' ' | b'\n' | b'\r' | b'\t') {
                    i += 1;
                }
                out.push_str(&raw[start..=i]);
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pretty_json;

    #[test]
    fn pretty_printing_keeps_tokens() {
        let raw = r#"{"a":50.00000000,"b":[],"c":[1,{"d":"x, y: {z}","e":null}],"f":{}}"#;
        let pretty = pretty_json(raw);
        assert_eq!(
            pretty,
            "{\n  \"a\": 50.00000000,\n  \"b\": [],\n  \"c\": [\n    1,\n    {\n      \"d\": \"x, y: {z}\",\n      \"e\": null\n    }\n  ],\n  \"f\": {}\n}"
        );
        let reparsed: serde_json::Value = serde_json::from_str(&pretty).unwrap();
        assert_eq!(reparsed, serde_json::from_str::<serde_json::Value>(raw).unwrap());
        assert_eq!(pretty_json(r#""a\"b""#), r#""a\"b""#);
    }
}
