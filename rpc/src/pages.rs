//! Pages served beside the RPC on the same port (the node's dashboard under `/dashboard/`):
//! `GET` only, behind the same credentials as the RPC (HTTP Basic: the cookie, `rpcuser` or
//! `rpcauth`), refused outside `rpcallowip` like every request. What a page holds is the node's
//! business ([`Pages`]); this module only turns its answer into HTTP.

use std::future::Future;
use std::pin::Pin;

use futures::Stream;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame};
use jsonrpsee::server::{HttpBody, HttpResponse};

pub use http::StatusCode as Status;
pub use hyper::body::Bytes as Chunk;

/// A page's body: whole, or a stream of chunks (server-sent events) that ends when the stream
/// does.
pub enum PageBody {
    /// The whole body.
    Full(Bytes),
    /// Chunks as they come.
    Stream(Pin<Box<dyn Stream<Item = Bytes> + Send>>),
}

/// A page's answer.
pub struct PageResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: PageBody,
}

impl PageResponse {
    /// A whole body with status 200.
    pub fn ok(content_type: &'static str, body: impl Into<Bytes>) -> PageResponse {
        PageResponse {
            status: StatusCode::OK,
            content_type,
            body: PageBody::Full(body.into()),
        }
    }

    /// A plain-text error.
    pub fn error(status: StatusCode, text: impl Into<String>) -> PageResponse {
        PageResponse {
            status,
            content_type: "text/plain; charset=utf-8",
            body: PageBody::Full(Bytes::from(text.into())),
        }
    }
}

/// The future of one page.
pub type PageFuture = Pin<Box<dyn Future<Output = PageResponse> + Send>>;

/// What the node serves under [`PREFIX`].
pub trait Pages: Send + Sync + std::fmt::Debug + 'static {
    /// The answer to `GET path?query` (`path` is [`PREFIX`] or below it).
    fn serve(&self, path: &str, query: &str) -> PageFuture;
}

/// The prefix every page lives under.
pub const PREFIX: &str = "/dashboard";

/// Whether `path` is a page's.
pub fn is_page(path: &str) -> bool {
    path == PREFIX || path.strip_prefix(PREFIX).is_some_and(|rest| rest.starts_with('/'))
}

/// The HTTP response for a page's answer (never cached: every answer is the node's state now).
pub fn to_http(page: PageResponse) -> HttpResponse {
    let body = match page.body {
        PageBody::Full(bytes) => HttpBody::new(Full::new(bytes).map_err(|never| match never {})),
        PageBody::Stream(stream) => {
            let frames = futures::StreamExt::map(stream, |chunk| Ok::<_, std::convert::Infallible>(Frame::data(chunk)));
            HttpBody::new(StreamBody::new(frames).map_err(|never| match never {}))
        }
    };
    let mut response = HttpResponse::new(body);
    *response.status_mut() = page.status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(page.content_type));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_prefix_and_below_are_pages() {
        assert!(is_page("/dashboard"));
        assert!(is_page("/dashboard/"));
        assert!(is_page("/dashboard/app.js"));
        assert!(!is_page("/dashboards"));
        assert!(!is_page("/"));
        assert!(!is_page("/wallet/dashboard"));
    }
}
