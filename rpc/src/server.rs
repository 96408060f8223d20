//! Starting and stopping the RPC server: jsonrpsee's HTTP server with the [`crate::compat`]
//! layer in front.

use std::net::SocketAddr;

use jsonrpsee::server::{BatchRequestConfig, Methods, Server, ServerConfig, ServerHandle, serve_with_graceful_shutdown, stop_channel};

use crate::allow::RemoteAddr;

use crate::auth::Credentials;
use crate::compat::{ActiveCommands, CompatConfig, CompatLayer, Warmup};

/// Largest request body accepted (a 1 MB block in hex is 2 MB).
pub const DEFAULT_MAX_BODY: usize = 16 << 20;
/// Most requests in one batch.
pub const MAX_BATCH: u32 = 1_000;
/// Most simultaneous HTTP connections.
pub const MAX_CONNECTIONS: u32 = 128;
/// Largest response (a `getblock` of a full block at verbosity 2 is a few MB).
const MAX_RESPONSE: u32 = 256 << 20;

/// How to run the server.
#[derive(Debug)]
pub struct RpcServerConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Accepted credentials.
    pub credentials: Vec<Credentials>,
    /// Largest request body.
    pub max_body: usize,
    /// Startup status shared with the node.
    pub warmup: Warmup,
    /// The calls in progress, shared with `getrpcinfo`.
    pub active: ActiveCommands,
    /// Non-loopback clients allowed (`rpcallowip`).
    pub allow: Vec<crate::allow::AllowIp>,
    /// Pages served beside the RPC (the dashboard), if any.
    pub pages: Option<std::sync::Arc<dyn crate::pages::Pages>>,
}

/// A running server.
#[derive(Debug)]
pub struct RpcServer {
    handle: ServerHandle,
    addr: SocketAddr,
}

impl RpcServer {
    /// Binds and starts serving `methods`.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(config: RpcServerConfig, methods: impl Into<Methods>) -> std::io::Result<RpcServer> {
        // Rewritten requests grow a little (a "jsonrpc" member each): leave jsonrpsee room.
        let inner_limit = u32::try_from(config.max_body.saturating_mul(2).saturating_add(1 << 16)).unwrap_or(u32::MAX);
        let server_config = ServerConfig::builder()
            .http_only()
            .max_request_body_size(inner_limit)
            .max_response_body_size(MAX_RESPONSE)
            .max_connections(MAX_CONNECTIONS)
            .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH))
            .build();
        let allow = config.allow.clone();
        let layer = CompatLayer::new(CompatConfig {
            credentials: config.credentials,
            max_body: config.max_body,
            max_batch: MAX_BATCH as usize,
            warmup: config.warmup,
            active: config.active,
            allow: config.allow,
            pages: config.pages,
        });
        let builder = Server::builder()
            .set_config(server_config)
            .set_http_middleware(tower::ServiceBuilder::new().layer(layer))
            .to_service_builder();
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let (stop, handle) = stop_channel();
        let methods: Methods = methods.into();
        // Our own accept loop (jsonrpsee's does not tell the service who called): each request
        // carries the client's address for `rpcallowip`; open connections are bounded here.
        let open = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS as usize));
        tokio::spawn(async move {
            loop {
                let (socket, remote) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // Out of descriptors and the like: pause rather than spin.
                            tracing::warn!(error = %e, "RPC accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                    () = stop.clone().shutdown() => break,
                };
                // `rpcallowip` before anything is read or a connection slot is taken: a client
                // outside it gets Core's 403 and the connection closes.
                if !crate::allow::allowed(&allow, remote.ip()) {
                    tokio::spawn(async move {
                        use tokio::io::AsyncWriteExt;
                        let mut socket = socket;
                        let reply = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), socket.write_all(reply)).await;
                    });
                    continue;
                }
                let Ok(permit) = open.clone().try_acquire_owned() else {
                    tracing::debug!(%remote, "RPC connection refused: too many open");
                    continue;
                };
                let (builder, methods, per_request) = (builder.clone(), methods.clone(), stop.clone());
                let service = tower::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(RemoteAddr(remote));
                    let mut service = builder.clone().build(methods.clone(), per_request.clone());
                    let request = request.map(jsonrpsee::server::HttpBody::new);
                    async move {
                        let response: Result<_, jsonrpsee::core::BoxError> = tower::Service::call(&mut service, request).await;
                        response
                    }
                });
                let shutdown = stop.clone().shutdown();
                // The permit is held until the connection ends.
                let connection = serve_with_graceful_shutdown(socket, service, shutdown);
                tokio::spawn(futures::FutureExt::map(connection, move |_| drop(permit)));
            }
        });
        Ok(RpcServer { handle, addr })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting requests and waits until the server has stopped.
    pub async fn stop(self) {
        let _ = self.handle.stop();
        self.handle.stopped().await;
    }
}
