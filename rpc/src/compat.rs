//! The HTTP layer in front of jsonrpsee that makes it speak like Bitcoin Core's RPC server.
//!
//! Every request passes through [`CompatService`] before jsonrpsee sees it:
//! 1. **Auth**: HTTP Basic against the cookie or the configured user; otherwise `401` with
//!    `WWW-Authenticate`, after a short pause that slows password guessing (as Core does).
//! 2. **Body**: `POST` only, any `Content-Type` (Core's curl examples send `text/plain`), at most
//!    [`CompatConfig::max_body`] bytes (`413` beyond).
//! 3. **Framing**: each request object may be JSON-RPC 2.0 (`"jsonrpc":"2.0"`) or Bitcoin's legacy
//!    framing (no `jsonrpc` member, `"jsonrpc":"1.0"`, or `"version":"1.1"`). Requests are
//!    rewritten as 2.0 with ids replaced by their position, forwarded (a batch as one batch), and
//!    the replies mapped back: original ids restored, and a legacy request gets a legacy reply
//!    with both `result` and `error` members, and Core's HTTP status for a lone failed legacy
//!    call (`500`, `404` for an unknown method, `400` for an invalid request). Parameters and
//!    results pass through as raw JSON text, so amounts keep their 8 decimals.
//! 4. **Endpoint**: `/` or `/wallet/<name>` (the wallet for wallet methods, given to each call
//!    as a [`crate::endpoint::WalletEndpoint`] extension); any other path is `404`.
//! 5. **Warmup**: while the node is starting, every call gets `-28` with the startup step.
//!
//! Replies always carry `Content-Type: application/json` exactly, which python-bitcoinrpc checks.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Limited};
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::auth::Credentials;
use crate::error::code;
use crate::spec;

/// Pause before answering a request with bad credentials.
const AUTH_FAILURE_DELAY: Duration = Duration::from_millis(250);

/// What the node reports while it starts: `Some(step)` until it is ready.
#[derive(Clone, Debug, Default)]
pub struct Warmup(Arc<RwLock<Option<String>>>);

impl Warmup {
    /// A node in warmup at `step`.
    pub fn starting(step: &str) -> Self {
        let w = Warmup::default();
        w.set(step);
        w
    }

    /// Moves to another startup step.
    pub fn set(&self, step: &str) {
        if let Ok(mut g) = self.0.write() {
            *g = Some(step.to_string());
        }
    }

    /// Ends the warmup: calls are served from now on.
    pub fn finish(&self) {
        if let Ok(mut g) = self.0.write() {
            *g = None;
        }
    }

    /// The current startup step, if still starting.
    pub fn step(&self) -> Option<String> {
        self.0.read().ok().and_then(|g| g.clone())
    }
}

/// The calls being served now, for `getrpcinfo`: method and start, by call number. Each call is
/// registered while jsonrpsee runs it and removed when it ends (or its connection drops); at
/// most [`crate::server::MAX_CONNECTIONS`] × [`crate::server::MAX_BATCH`] at once.
#[derive(Clone, Debug, Default)]
pub struct ActiveCommands {
    calls: Arc<std::sync::Mutex<std::collections::BTreeMap<u64, (String, std::time::Instant)>>>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

/// Removes its calls from [`ActiveCommands`] when dropped.
struct Registered {
    owner: ActiveCommands,
    ids: Vec<u64>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut calls) = self.owner.calls.lock() {
            for id in &self.ids {
                calls.remove(id);
            }
        }
    }
}

impl ActiveCommands {
    fn register(&self, methods: impl Iterator<Item = String>) -> Registered {
        let now = std::time::Instant::now();
        let mut ids = Vec::new();
        if let Ok(mut calls) = self.calls.lock() {
            for m in methods {
                let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                calls.insert(id, (m, now));
                ids.push(id);
            }
        }
        Registered { owner: self.clone(), ids }
    }

    /// Each call being served: its method and how long it has run, oldest first.
    pub fn list(&self) -> Vec<(String, std::time::Duration)> {
        self.calls
            .lock()
            .map(|calls| calls.values().map(|(m, t)| (m.clone(), t.elapsed())).collect())
            .unwrap_or_default()
    }
}

/// Settings of the compatibility layer.
#[derive(Debug)]
pub struct CompatConfig {
    /// Accepted credentials (the cookie and/or a configured user).
    pub credentials: Vec<Credentials>,
    /// Largest request body in bytes.
    pub max_body: usize,
    /// Most elements in one batch, valid or not: every element costs a reply, so a body of
    /// `[1,1,…]` must not buy a reply forty times its size.
    pub max_batch: usize,
    /// The startup status.
    pub warmup: Warmup,
    /// The calls in progress (`getrpcinfo`).
    pub active: ActiveCommands,
    /// Non-loopback clients allowed (`rpcallowip`).
    pub allow: Vec<crate::allow::AllowIp>,
    /// Pages served under [`crate::pages::PREFIX`] (the dashboard), if any.
    pub pages: Option<Arc<dyn crate::pages::Pages>>,
}

/// The tower layer installing [`CompatService`].
#[derive(Clone, Debug)]
pub struct CompatLayer {
    config: Arc<CompatConfig>,
}

impl CompatLayer {
    /// A layer with `config`.
    pub fn new(config: CompatConfig) -> Self {
        CompatLayer { config: Arc::new(config) }
    }
}

impl<S> tower::Layer<S> for CompatLayer {
    type Service = CompatService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CompatService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub struct CompatService<S> {
    inner: S,
    config: Arc<CompatConfig>,
}

impl<S> tower::Service<HttpRequest> for CompatService<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        let inner = self.inner.clone();
        let config = self.config.clone();
        Box::pin(handle(config, inner, request))
    }
}

/// Whether a request comes from a web page in a browser: it names an `Origin`, or its
/// `Sec-Fetch-Site` says it was made by a page (`none` is a user typing the address).
fn from_a_web_page(headers: &http::HeaderMap) -> bool {
    headers.contains_key(http::header::ORIGIN) || headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() != b"none")
}

/// One request object as received: members kept as raw JSON text (`Some("null")` for a member
/// that is present and null, `None` for an absent one).
#[derive(Deserialize)]
struct InRequest<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    method: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    params: Option<&'a RawValue>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// One reply object from jsonrpsee.
#[derive(Deserialize)]
struct OutResponse<'a> {
    #[serde(default)]
    id: Option<usize>,
    /// `Some` whenever the member is present, even as `null` (a method that returns nothing).
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ErrorCodeOnly {
    code: i64,
}

/// How one request element is answered.
enum Slot<'a> {
    /// Forwarded to jsonrpsee under id = its position, with its parameters checked and made
    /// positional.
    Forward {
        legacy: bool,
        id: Option<&'a RawValue>,
        method: &'a RawValue,
        params: Option<String>,
    },
    /// A 2.0 notification: forwarded, no reply.
    Notification { method: &'a RawValue, params: Option<String> },
    /// A notification that cannot run: no reply.
    Dropped,
    /// Answered here with an error.
    Local {
        legacy: bool,
        id: Option<&'a RawValue>,
        code: i32,
        message: String,
    },
}

async fn handle<S>(config: Arc<CompatConfig>, mut inner: S, request: HttpRequest) -> Result<HttpResponse, BoxError>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
{
    // `rpcallowip`, before anything else (Core: 403 Forbidden). A request without the client's
    // address (not through our accept loop) is refused too.
    let client = request.extensions().get::<crate::allow::RemoteAddr>().map(|r| r.0.ip());
    if !client.is_some_and(|ip| crate::allow::allowed(&config.allow, ip)) {
        return Ok(plain(StatusCode::FORBIDDEN, String::new()));
    }
    // Core's endpoints: `/` and `/wallet/<name>`, and the pages (dashboard) when served; any
    // other path is not found, before auth.
    let page = config.pages.clone().filter(|_| crate::pages::is_page(request.uri().path()));
    let wallet = match crate::endpoint::parse(request.uri().path()) {
        Ok(wallet) => wallet,
        Err(_) if page.is_some() => None,
        Err(_) => return Ok(plain(StatusCode::NOT_FOUND, String::new())),
    };
    let authorized = request
        .headers()
        .get(AUTHORIZATION)
        .is_some_and(|v| config.credentials.iter().any(|c| c.matches_header(v.as_bytes())));
    if !authorized {
        tokio::time::sleep(AUTH_FAILURE_DELAY).await;
        let mut rp = plain(StatusCode::UNAUTHORIZED, String::new());
        rp.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"jsonrpc\""));
        return Ok(rp);
    }
    if let Some(pages) = page {
        if request.method() != Method::GET {
            return Ok(plain(StatusCode::METHOD_NOT_ALLOWED, "pages answer GET only".into()));
        }
        if let Some(step) = config.warmup.step() {
            return Ok(plain(StatusCode::SERVICE_UNAVAILABLE, format!("the node is starting: {step}")));
        }
        let (path, query) = (request.uri().path().to_string(), request.uri().query().unwrap_or("").to_string());
        return Ok(crate::pages::to_http(pages.serve(&path, &query).await));
    }
    if request.method() != Method::POST {
        return Ok(plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "JSONRPC server handles only POST requests".into(),
        ));
    }
    // A browser that logged in to the dashboard keeps the credentials for this origin: any web
    // page it opens could then POST a form here (text/plain bodies parse as JSON). RPC clients
    // send no `Origin`; browsers do on every POST (and `Sec-Fetch-Site` on every request), so a
    // request carrying either, other than from this origin's own pages, is refused.
    if from_a_web_page(request.headers()) {
        return Ok(plain(
            StatusCode::FORBIDDEN,
            "JSON-RPC requests from web pages are refused (Origin or Sec-Fetch-Site present)".into(),
        ));
    }
    let (mut parts, body) = request.into_parts();
    // Every call of the request sees the wallet its path names (jsonrpsee hands the HTTP
    // request's extensions to each method).
    parts.extensions.insert(crate::endpoint::WalletEndpoint(wallet));
    let bytes = match Limited::new(body, config.max_body).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return Ok(plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body larger than {} bytes", config.max_body),
            ));
        }
        Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "could not read the request body".into())),
    };

    let (elements, is_batch) = match split_body(&bytes, config.max_batch) {
        Body::Requests(elements, is_batch) => (elements, is_batch),
        Body::NotJson => {
            return Ok(json(
                StatusCode::INTERNAL_SERVER_ERROR,
                legacy_error(None, code::PARSE_ERROR, "Parse error"),
            ));
        }
        Body::TooManyElements => {
            // One error for the whole batch, as jsonrpsee answers a batch over its limit.
            return Ok(json(
                StatusCode::OK,
                v2_error(
                    None,
                    code::INVALID_REQUEST,
                    &format!("Invalid Request: a batch may hold at most {} requests", config.max_batch),
                ),
            ));
        }
    };
    if is_batch && elements.is_empty() {
        return Ok(json(StatusCode::OK, "[]".into()));
    }
    let warmup = config.warmup.step();
    let mut slots = Vec::with_capacity(elements.len());
    let mut forward = Vec::with_capacity(elements.len());
    for (i, element) in elements.iter().enumerate() {
        let slot = classify(element, warmup.as_deref());
        match &slot {
            Slot::Forward { method, params, .. } => forward.push(forward_text(method, params.as_deref(), Some(i))),
            Slot::Notification { method, params } => forward.push(forward_text(method, params.as_deref(), None)),
            Slot::Local { .. } | Slot::Dropped => {}
        }
        slots.push(slot);
    }

    let mut replies: Vec<Option<(Option<&RawValue>, Option<&RawValue>)>> = vec![None; elements.len()];
    let reply_bytes;
    if !forward.is_empty() {
        let text = if is_batch {
            format!("[{}]", forward.join(","))
        } else {
            forward.concat()
        };
        parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(text.len()));
        let _running = config.active.register(slots.iter().filter_map(|s| match s {
            Slot::Forward { method, .. } | Slot::Notification { method, .. } => serde_json::from_str::<String>(method.get()).ok(),
            _ => None,
        }));
        let rp = inner.call(HttpRequest::from_parts(parts, HttpBody::from(text))).await?;
        let status = rp.status();
        reply_bytes = rp.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            // jsonrpsee refused the whole request (for example a response over its size limit).
            return Ok(json(status, String::from_utf8_lossy(&reply_bytes).into_owned()));
        }
        for out in parse_replies(&reply_bytes) {
            if let Some(slot) = out.id.and_then(|i| replies.get_mut(i)) {
                *slot = Some((out.result, out.error));
            }
        }
    }

    let mut status = StatusCode::OK;
    let mut answers = Vec::with_capacity(slots.len());
    for (i, slot) in slots.iter().enumerate() {
        match slot {
            Slot::Notification { .. } | Slot::Dropped => {}
            Slot::Local { legacy, id, code, message } => {
                if !is_batch && *legacy {
                    status = legacy_status(i64::from(*code));
                }
                answers.push(if *legacy {
                    legacy_error(*id, *code, message)
                } else {
                    v2_error(*id, *code, message)
                });
            }
            Slot::Forward { legacy, id, .. } => {
                let (result, error) = replies[i].unwrap_or((None, None));
                let error_text;
                let error = match (result, error) {
                    (None, None) => {
                        error_text = error_object(code::INTERNAL_ERROR, "no reply from the method");
                        Some(error_text.as_str())
                    }
                    (_, e) => e.map(RawValue::get),
                };
                if let (false, true, Some(e)) = (is_batch, *legacy, error)
                    && let Ok(c) = serde_json::from_str::<ErrorCodeOnly>(e)
                {
                    status = legacy_status(c.code);
                }
                let id = id.map_or("null", |r| r.get());
                answers.push(match (legacy, error) {
                    (true, Some(e)) => format!(r#"{{"result":null,"error":{e},"id":{id}}}"#),
                    (true, None) => format!(r#"{{"result":{},"error":null,"id":{id}}}"#, result.map_or("null", |r| r.get())),
                    (false, Some(e)) => format!(r#"{{"jsonrpc":"2.0","error":{e},"id":{id}}}"#),
                    (false, None) => format!(r#"{{"jsonrpc":"2.0","result":{},"id":{id}}}"#, result.map_or("null", |r| r.get())),
                });
            }
        }
    }
    if answers.is_empty() {
        return Ok(plain(StatusCode::NO_CONTENT, String::new()));
    }
    let body = if is_batch {
        format!("[{}]", answers.join(","))
    } else {
        answers.concat()
    };
    Ok(json(status, body))
}

/// A request body, split.
enum Body<'a> {
    /// The request objects (or whatever stands in their place) and whether it was a batch.
    Requests(Vec<&'a RawValue>, bool),
    /// Not JSON, or not an object or array.
    NotJson,
    /// A batch with more elements than allowed.
    TooManyElements,
}

/// Splits a body into request elements, reading at most `max_batch` of a batch (parsing stops at
/// the next one, so a huge batch costs no more memory than an allowed one).
fn split_body(bytes: &[u8], max_batch: usize) -> Body<'_> {
    struct Limited(usize);
    impl<'de> serde::de::Visitor<'de> for Limited {
        type Value = Vec<&'de RawValue>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "an array of at most {} elements", self.0)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(element) = seq.next_element::<&'de RawValue>()? {
                if out.len() == self.0 {
                    return Err(serde::de::Error::custom(TOO_MANY));
                }
                out.push(element);
            }
            Ok(out)
        }
    }
    const TOO_MANY: &str = "cairn: too many batch elements";
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Body::NotJson;
    };
    match text.trim_start().as_bytes().first() {
        Some(b'[') => {
            let mut de = serde_json::Deserializer::from_str(text);
            match serde::Deserializer::deserialize_seq(&mut de, Limited(max_batch)).and_then(|v| de.end().map(|()| v)) {
                Ok(v) => Body::Requests(v, true),
                Err(e) if e.to_string().starts_with(TOO_MANY) => Body::TooManyElements,
                Err(_) => Body::NotJson,
            }
        }
        Some(b'{') => match serde_json::from_str::<&RawValue>(text) {
            Ok(v) => Body::Requests(vec![v], false),
            Err(_) => Body::NotJson,
        },
        _ => Body::NotJson,
    }
}

fn classify<'a>(element: &'a RawValue, warmup: Option<&str>) -> Slot<'a> {
    let invalid = |legacy: bool, id: Option<&'a RawValue>, message: &str| Slot::Local {
        legacy,
        id,
        code: code::INVALID_REQUEST,
        message: message.to_string(),
    };
    if !element.get().starts_with('{') {
        return invalid(true, None, "Invalid Request object");
    }
    let Ok(req) = serde_json::from_str::<InRequest<'a>>(element.get()) else {
        return invalid(true, None, "Invalid Request object");
    };
    let legacy = match req.jsonrpc.map(RawValue::get) {
        None | Some("null") => true,
        Some(r#""1.0""#) => true,
        Some(r#""2.0""#) => false,
        Some(v) if v.starts_with('"') => return invalid(true, req.id, "JSON-RPC version not supported"),
        Some(_) => return invalid(true, req.id, "jsonrpc field must be a string"),
    };
    let Some(method) = req.method.filter(|m| m.get().starts_with('"')) else {
        return invalid(
            legacy,
            req.id,
            if req.method.is_some() {
                "Method must be a string"
            } else {
                "Missing method"
            },
        );
    };
    if let Some(p) = req.params
        && !(p.get().starts_with('[') || p.get().starts_with('{') || p.get() == "null")
    {
        return invalid(legacy, req.id, "Params must be an array or object");
    }
    // Core's checks of the parameters (names, count, types), and named ones made positional.
    let name = serde_json::from_str::<String>(method.get()).unwrap_or_default();
    let params = match spec::normalize(&name, req.params) {
        Ok(p) => p,
        Err(e) if legacy || req.id.is_some() => {
            return Slot::Local {
                legacy,
                id: req.id,
                code: e.code,
                message: e.message,
            };
        }
        // A 2.0 notification with bad parameters: nothing to run and nobody to tell.
        Err(_) => return Slot::Dropped,
    };
    // In 2.0 a request without an id is a notification; legacy requests are always answered.
    if !legacy && req.id.is_none() {
        return Slot::Notification { method, params };
    }
    if let Some(step) = warmup {
        return Slot::Local {
            legacy,
            id: req.id,
            code: code::IN_WARMUP,
            message: step.to_string(),
        };
    }
    Slot::Forward {
        legacy,
        id: req.id,
        method,
        params,
    }
}

/// The 2.0 request jsonrpsee receives: with id = the element's position, or a notification.
fn forward_text(method: &RawValue, params: Option<&str>, id: Option<usize>) -> String {
    let method = method.get();
    let params = params.map(|p| format!(r#","params":{p}"#)).unwrap_or_default();
    match id {
        Some(index) => format!(r#"{{"jsonrpc":"2.0","method":{method}{params},"id":{index}}}"#),
        None => format!(r#"{{"jsonrpc":"2.0","method":{method}{params}}}"#),
    }
}

fn parse_replies(bytes: &[u8]) -> Vec<OutResponse<'_>> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    match text.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str(text).unwrap_or_default(),
        Some(b'{') => serde_json::from_str(text).map(|r| vec![r]).unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn legacy_status(code: i64) -> StatusCode {
    match code {
        c if c == i64::from(code::INVALID_REQUEST) => StatusCode::BAD_REQUEST,
        c if c == i64::from(code::METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_object(code: i32, message: &str) -> String {
    let message = serde_json::to_string(message).unwrap_or_else(|_| "\"\"".into());
    format!(r#"{{"code":{code},"message":{message}}}"#)
}

fn legacy_error(id: Option<&RawValue>, code: i32, message: &str) -> String {
    format!(
        r#"{{"result":null,"error":{},"id":{}}}"#,
        error_object(code, message),
        id.map_or("null", |r| r.get())
    )
}

fn v2_error(id: Option<&RawValue>, code: i32, message: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","error":{},"id":{}}}"#,
        error_object(code, message),
        id.map_or("null", |r| r.get())
    )
}

fn json(status: StatusCode, mut body: String) -> HttpResponse {
    body.push('\n');
    let mut rp = HttpResponse::new(HttpBody::from(body));
    *rp.status_mut() = status;
    rp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    rp
}

fn plain(status: StatusCode, body: String) -> HttpResponse {
    let mut rp = HttpResponse::new(HttpBody::from(body));
    *rp.status_mut() = status;
    rp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    rp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status `handle` answers a bare POST from `client` with, under `allow`.
    fn status_for(client: Option<&str>, allow: &[&str]) -> StatusCode {
        status_with(client, allow, &[])
    }

    /// [`status_for`] with request `headers`.
    fn status_with(client: Option<&str>, allow: &[&str], headers: &[(&'static str, &str)]) -> StatusCode {
        let config = Arc::new(CompatConfig {
            credentials: vec![Credentials::new("u", "p")],
            max_body: 1 << 16,
            max_batch: 10,
            warmup: Warmup::default(),
            active: ActiveCommands::default(),
            allow: allow.iter().map(|a| crate::allow::AllowIp::parse(a).unwrap()).collect(),
            pages: None,
        });
        let inner = tower::service_fn(|_req: HttpRequest| async { Ok::<_, BoxError>(HttpResponse::new(HttpBody::from("[]"))) });
        let mut request = HttpRequest::new(HttpBody::from("{}"));
        *request.method_mut() = Method::POST;
        for (name, value) in headers {
            request.headers_mut().insert(*name, HeaderValue::from_str(value).unwrap());
        }
        if let Some(c) = client {
            request.extensions_mut().insert(crate::allow::RemoteAddr(c.parse().unwrap()));
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(handle(config, inner, request)).unwrap().status()
    }

    #[test]
    fn clients_outside_rpcallowip_are_forbidden_before_auth() {
        // Allowed clients go on to authentication (no credentials here: 401).
        assert_eq!(status_for(Some("127.0.0.1:5000"), &[]), StatusCode::UNAUTHORIZED);
        assert_eq!(status_for(Some("[::1]:5000"), &[]), StatusCode::UNAUTHORIZED);
        assert_eq!(status_for(Some("10.1.2.3:5000"), &["10.0.0.0/8"]), StatusCode::UNAUTHORIZED);
        assert_eq!(status_for(Some("10.1.2.3:5000"), &[]), StatusCode::FORBIDDEN);
        assert_eq!(status_for(Some("11.1.2.3:5000"), &["10.0.0.0/8"]), StatusCode::FORBIDDEN);
        assert_eq!(
            status_for(None, &["0.0.0.0/0"]),
            StatusCode::FORBIDDEN,
            "no client address: refused"
        );
    }

    /// A browser that logged in to the dashboard must not let other pages drive the RPC.
    #[test]
    fn rpc_requests_from_web_pages_are_refused() {
        let auth = Credentials::new("u", "p").header_value();
        let local = Some("127.0.0.1:5000");
        let with = |extra: &[(&'static str, &str)]| {
            let mut headers = vec![("authorization", auth.as_str())];
            headers.extend_from_slice(extra);
            status_with(local, &[], &headers)
        };
        // The body `{}` has no method: Core's 400 for an invalid request, once past the checks.
        assert_eq!(with(&[]), StatusCode::BAD_REQUEST, "a client like bitcoin-cli or curl");
        assert_eq!(
            with(&[("sec-fetch-mode", "cors")]),
            StatusCode::BAD_REQUEST,
            "Node.js fetch sends this alone"
        );
        assert_eq!(
            with(&[("sec-fetch-site", "none")]),
            StatusCode::BAD_REQUEST,
            "typed in the address bar"
        );
        assert_eq!(with(&[("origin", "https://evil.example")]), StatusCode::FORBIDDEN);
        assert_eq!(with(&[("origin", "null")]), StatusCode::FORBIDDEN);
        assert_eq!(with(&[("sec-fetch-site", "cross-site")]), StatusCode::FORBIDDEN);
        assert_eq!(with(&[("sec-fetch-site", "same-origin")]), StatusCode::FORBIDDEN);
    }

    fn slot_of(text: &str) -> String {
        let raw: &RawValue = serde_json::from_str(text).unwrap();
        match classify(raw, None) {
            Slot::Forward { legacy, .. } => format!("forward legacy={legacy}"),
            Slot::Notification { .. } => "notification".into(),
            Slot::Dropped => "dropped".into(),
            Slot::Local { code, .. } => format!("local {code}"),
        }
    }

    #[test]
    fn framing_is_recognised() {
        assert_eq!(slot_of(r#"{"method":"getblockcount","id":1}"#), "forward legacy=true");
        assert_eq!(
            slot_of(r#"{"version":"1.1","method":"getblockcount","params":[],"id":1}"#),
            "forward legacy=true"
        );
        assert_eq!(
            slot_of(r#"{"jsonrpc":"1.0","method":"getblockcount","id":"curltest"}"#),
            "forward legacy=true"
        );
        assert_eq!(
            slot_of(r#"{"jsonrpc":"2.0","method":"getblockcount","id":1}"#),
            "forward legacy=false"
        );
        assert_eq!(
            slot_of(r#"{"jsonrpc":"2.0","method":"getblockcount","id":null}"#),
            "forward legacy=false"
        );
        assert_eq!(slot_of(r#"{"jsonrpc":"2.0","method":"getblockcount"}"#), "notification");
        assert_eq!(slot_of(r#"{"jsonrpc":"3.0","method":"x","id":1}"#), "local -32600");
        assert_eq!(slot_of(r#"{"jsonrpc":2,"method":"x","id":1}"#), "local -32600");
        assert_eq!(slot_of(r#"{"method":7,"id":1}"#), "local -32600");
        assert_eq!(slot_of(r#"{"id":1}"#), "local -32600");
        assert_eq!(slot_of(r#"{"method":"x","params":"a","id":1}"#), "local -32600");
        assert_eq!(slot_of(r#"[1]"#), "local -32600");
    }

    #[test]
    fn forwarded_requests_are_2_0_with_positional_ids_and_checked_parameters() {
        let forwarded = |text: &str| {
            let raw: &RawValue = serde_json::from_str(text).unwrap();
            match classify(raw, None) {
                Slot::Forward { method, params, .. } => forward_text(method, params.as_deref(), Some(3)),
                Slot::Local { code, message, .. } => format!("local {code} {message}"),
                _ => "other".into(),
            }
        };
        assert_eq!(
            forwarded(r#"{"method":"getblock","params":["ab",2],"id":"x"}"#),
            r#"{"jsonrpc":"2.0","method":"getblock","params":["ab",2],"id":3}"#
        );
        assert_eq!(
            forwarded(r#"{"method":"getblock","params":{"verbosity":0,"blockhash":"ab"},"id":"x"}"#),
            r#"{"jsonrpc":"2.0","method":"getblock","params":["ab",0],"id":3}"#
        );
        assert_eq!(
            forwarded(r#"{"method":"getblockcount","params":null}"#),
            r#"{"jsonrpc":"2.0","method":"getblockcount","id":3}"#
        );
        assert_eq!(
            forwarded(r#"{"method":"getblock","params":{"blockhash":"ab","verbosit":1},"id":1}"#),
            "local -8 Unknown named parameter verbosit"
        );
        assert!(forwarded(r#"{"method":"getblockhash","params":["1"],"id":1}"#).starts_with("local -3 Wrong type passed:"));
        assert_eq!(slot_of(r#"{"jsonrpc":"2.0","method":"getblockhash","params":["1"]}"#), "dropped");
    }

    #[test]
    fn bodies_that_are_not_json_objects_or_arrays_are_parse_errors() {
        assert!(matches!(split_body(b"{", 10), Body::NotJson));
        assert!(matches!(split_body(b"42", 10), Body::NotJson));
        assert!(matches!(split_body(b"\xff", 10), Body::NotJson));
        assert!(matches!(split_body(b"[1,", 10), Body::NotJson));
        assert!(matches!(split_body(b"[1] x", 10), Body::NotJson));
        assert!(matches!(split_body(b" [ {}, 1 ]", 10), Body::Requests(v, true) if v.len() == 2));
        assert!(matches!(split_body(b" [ {}, 1 ]", 2), Body::Requests(v, true) if v.len() == 2));
        assert!(matches!(split_body(b" [ {}, 1, 1 ]", 2), Body::TooManyElements));
    }
}
