//! The server's Bitcoin Core dialect, end to end over HTTP on 127.0.0.1: auth, legacy and 2.0
//! framing, batches, content types, status codes, body limits and warmup. The methods are a
//! few stand-ins registered on a plain module; the node's own methods are tested in `node/`.

use std::time::Duration;

use cairn_chain::Amount;
use cairn_rpc::error::code;
use cairn_rpc::types::CoinAmount;
use cairn_rpc::{ClientError, Credentials, RpcClient, RpcError, RpcServer, RpcServerConfig, Warmup};
use jsonrpsee::RpcModule;
use serde_json::{Value, json};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: Option<RpcServer>,
    creds: Credentials,
    warmup: Warmup,
}

impl Fixture {
    fn start(max_body: usize) -> Fixture {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let creds = Credentials::random_cookie();
        let warmup = Warmup::default();
        let mut module = RpcModule::new(());
        module.register_method("getblockcount", |_, _, _| Ok::<u32, RpcError>(7)).unwrap();
        module
            .register_method("getbalance", |_, _, _| {
                Ok::<CoinAmount, RpcError>(CoinAmount(Amount::from_coins(50).unwrap()))
            })
            .unwrap();
        module
            .register_method("fail", |_, _, _| Err::<(), RpcError>(RpcError::not_found("Block not found")))
            .unwrap();
        module.register_method("nothing", |_, _, _| Ok::<(), RpcError>(())).unwrap();
        module
            .register_method("echo", |params, _, _| {
                Ok::<Value, RpcError>(params.parse::<Value>().unwrap_or(Value::Null))
            })
            .unwrap();
        let config = RpcServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            credentials: vec![creds.clone(), Credentials::new("alice", "secret")],
            max_body,
            warmup: warmup.clone(),
            active: Default::default(),
            allow: Vec::new(),
            pages: None,
        };
        let server = runtime.block_on(RpcServer::start(config, module)).unwrap();
        Fixture {
            runtime,
            server: Some(server),
            creds,
            warmup,
        }
    }

    fn client(&self) -> RpcClient {
        let addr = self.server.as_ref().unwrap().local_addr().to_string();
        RpcClient::new(addr, &self.creds).with_timeout(Duration::from_secs(10))
    }

    fn post(&self, body: &str, headers: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let r = self.client().post(body.as_bytes(), headers).unwrap();
        (r.status, r.content_type, String::from_utf8(r.body).unwrap())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), s.stop()).await })
                .unwrap();
        }
    }
}

#[test]
fn legacy_requests_get_legacy_replies() {
    let f = Fixture::start(1 << 20);
    // python-bitcoinlib and python-bitcoinrpc send exactly this shape.
    let (status, ctype, body) = f.post(r#"{"version": "1.1", "method": "getbalance", "params": [], "id": 1}"#, &[]);
    assert_eq!(status, 200);
    assert_eq!(ctype.as_deref(), Some("application/json"));
    assert_eq!(body.trim(), r#"{"result":50.00000000,"error":null,"id":1}"#);
    // bitcoin-cli's curl examples: jsonrpc 1.0, a string id, text/plain.
    let (status, _, body) = f.post(
        r#"{"jsonrpc":"1.0","id":"curltest","method":"getblockcount","params":[]}"#,
        &[("Content-Type", "text/plain;")],
    );
    assert_eq!(status, 200);
    assert_eq!(body.trim(), r#"{"result":7,"error":null,"id":"curltest"}"#);
    // No params, no id.
    let (_, _, body) = f.post(
        r#"{"method":"getblockcount"}"#,
        &[("Content-Type", "application/x-www-form-urlencoded")],
    );
    assert_eq!(body.trim(), r#"{"result":7,"error":null,"id":null}"#);
    // A method that returns nothing (addnode, setban): result null, no error, in both framings.
    let (status, _, body) = f.post(r#"{"method":"nothing","params":[],"id":4}"#, &[]);
    assert_eq!((status, body.trim()), (200, r#"{"result":null,"error":null,"id":4}"#));
    let (status, _, body) = f.post(r#"{"jsonrpc":"2.0","method":"nothing","id":5}"#, &[]);
    assert_eq!((status, body.trim()), (200, r#"{"jsonrpc":"2.0","result":null,"id":5}"#));
    // Errors: both members, and Core's HTTP statuses.
    let (status, _, body) = f.post(r#"{"method":"fail","params":[],"id":2}"#, &[]);
    assert_eq!(status, 500);
    assert_eq!(
        body.trim(),
        r#"{"result":null,"error":{"code":-5,"message":"Block not found"},"id":2}"#
    );
    let (status, _, body) = f.post(r#"{"method":"nosuchmethod","id":3}"#, &[]);
    assert_eq!(status, 404);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], code::METHOD_NOT_FOUND);
    assert_eq!(v["result"], Value::Null);
    assert_eq!(v["id"], 3);
}

#[test]
fn json_rpc_2_requests_get_2_0_replies() {
    let f = Fixture::start(1 << 20);
    let (status, ctype, body) = f.post(r#"{"jsonrpc":"2.0","method":"getblockcount","id":"a"}"#, &[]);
    assert_eq!((status, ctype.as_deref()), (200, Some("application/json")));
    assert_eq!(body.trim(), r#"{"jsonrpc":"2.0","result":7,"id":"a"}"#);
    let (status, _, body) = f.post(r#"{"jsonrpc":"2.0","method":"fail","id":5}"#, &[]);
    assert_eq!(status, 200);
    assert_eq!(
        body.trim(),
        r#"{"jsonrpc":"2.0","error":{"code":-5,"message":"Block not found"},"id":5}"#
    );
    // A notification gets no body.
    let (status, _, body) = f.post(r#"{"jsonrpc":"2.0","method":"getblockcount"}"#, &[]);
    assert_eq!((status, body.as_str()), (204, ""));
    // Named parameters pass through untouched.
    let (_, _, body) = f.post(r#"{"jsonrpc":"2.0","method":"echo","params":{"amount":0.1,"x":[1,2]},"id":1}"#, &[]);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["result"], json!({"amount": 0.1, "x": [1, 2]}));
}

#[test]
fn batches_keep_order_ids_and_framing_per_element() {
    let f = Fixture::start(1 << 20);
    let body = r#"[
        {"jsonrpc":"2.0","method":"getblockcount","id":1},
        {"method":"getbalance","id":1},
        {"jsonrpc":"2.0","method":"getblockcount"},
        42,
        {"jsonrpc":"2.0","method":"nosuch","id":"z"},
        {"method":"fail","id":null}
    ]"#;
    let (status, _, text) = f.post(body, &[]);
    assert_eq!(status, 200);
    let v: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(v.len(), 5, "the notification has no reply: {text}");
    assert_eq!(v[0], json!({"jsonrpc": "2.0", "result": 7, "id": 1}));
    assert_eq!(v[1], json!({"result": 50.0, "error": null, "id": 1}));
    assert!(text.contains("50.00000000"));
    assert_eq!(v[2]["error"]["code"], code::INVALID_REQUEST);
    assert_eq!(v[3]["error"]["code"], code::METHOD_NOT_FOUND);
    assert_eq!(v[3]["id"], "z");
    assert_eq!(
        v[4],
        json!({"result": null, "error": {"code": -5, "message": "Block not found"}, "id": null})
    );
    let (status, _, text) = f.post("[]", &[]);
    assert_eq!((status, text.trim()), (200, "[]"));
}

#[test]
fn a_batch_of_junk_elements_buys_no_more_than_an_allowed_batch() {
    let f = Fixture::start(4 << 20);
    // 2 MiB of `1,`: a million invalid elements. Each would cost an ~80-byte error reply.
    let n = 1 << 20;
    let body = format!("[{}1]", "1,".repeat(n - 1));
    let (status, _, text) = f.post(&body, &[]);
    assert_eq!(status, 200);
    assert!(text.len() < 512, "{} bytes of reply to {} bytes", text.len(), body.len());
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["code"], code::INVALID_REQUEST, "{text}");
    assert!(v["error"]["message"].as_str().unwrap().contains("at most 1000"), "{text}");
    // At the limit, every element still gets its own reply.
    let body = format!("[{}1]", "1,".repeat(cairn_rpc::server::MAX_BATCH as usize - 1));
    let (status, _, text) = f.post(&body, &[]);
    assert_eq!(status, 200);
    let v: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(v.len(), cairn_rpc::server::MAX_BATCH as usize);
}

#[test]
fn malformed_bodies_and_bad_requests() {
    let f = Fixture::start(1 << 10);
    let (status, ctype, body) = f.post(r#"{"method": "getblockcount", "#, &[]);
    assert_eq!((status, ctype.as_deref()), (500, Some("application/json")));
    assert_eq!(
        body.trim(),
        r#"{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}"#
    );
    let (status, _, body) = f.post(r#"{"method": 12, "id": 1}"#, &[]);
    assert_eq!(status, 400);
    assert!(body.contains("-32600"));
    let (status, _, _) = f.post(&format!(r#"{{"method":"echo","params":["{}"],"id":1}}"#, "x".repeat(2000)), &[]);
    assert_eq!(status, 413);
    // Still serving.
    assert_eq!(f.client().call::<u32>("getblockcount", &[]).unwrap(), 7);
}

#[test]
fn credentials_are_required() {
    let f = Fixture::start(1 << 20);
    let addr = f.server.as_ref().unwrap().local_addr().to_string();
    let mut wrong = RpcClient::new(addr.clone(), &Credentials::new("__cookie__", "0000")).with_timeout(Duration::from_secs(10));
    let r = wrong.post(br#"{"method":"getblockcount","id":1}"#, &[]).unwrap();
    assert_eq!(r.status, 401);
    assert!(matches!(wrong.call::<u32>("getblockcount", &[]), Err(ClientError::Unauthorized)));
    let mut user = RpcClient::new(addr, &Credentials::new("alice", "secret"));
    assert_eq!(user.call::<u32>("getblockcount", &[]).unwrap(), 7);
    assert_eq!(f.client().call::<u32>("getblockcount", &[]).unwrap(), 7);
}

#[test]
fn warmup_answers_minus_28() {
    let f = Fixture::start(1 << 20);
    f.warmup.set("Loading block index…");
    match f.client().call::<u32>("getblockcount", &[]) {
        Err(ClientError::Rpc { code: c, message }) => {
            assert_eq!(c, i64::from(code::IN_WARMUP));
            assert_eq!(message, "Loading block index…");
        }
        other => panic!("expected -28, got {other:?}"),
    }
    f.warmup.finish();
    assert_eq!(f.client().call::<u32>("getblockcount", &[]).unwrap(), 7);
}

#[test]
fn keep_alive_connection_serves_many_calls() {
    let f = Fixture::start(1 << 20);
    let mut c = f.client();
    for _ in 0..200 {
        assert_eq!(c.call::<u32>("getblockcount", &[]).unwrap(), 7);
    }
    let raw = c.call_raw("getbalance", &[]).unwrap();
    assert_eq!(raw.get(), "50.00000000");
}
