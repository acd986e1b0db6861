//! The entry glue for spin-sdk 7 (`wasi:http/handler@0.3.0`, WASI 0.3): what Spin ≥ 4.1
//! serves.

use std::future::Future;

use api::{ApiError, Reply};
use http_body_util::BodyExt as _;

use crate::{Body, Request, serve};

/// Serves one request: the component's `#[http_service]` entry calls this with the SDK's
/// request and returns the reply.
pub async fn respond<F, Fut>(request: spin_sdk::http::Request, handler: F) -> Reply
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let request = request.map(|body| {
        Body::new(body.map_err(|e| anyhow::anyhow!("reading the request body: {e:?}")))
    });
    let reply = serve(request, handler).await;
    leave_with_head().await;
    reply
}

/// A Spin variable's value (`spin:variables@3.0.0`).
pub(crate) async fn variable(name: &str) -> Result<String, String> {
    spin_sdk::variables::get(name)
        .await
        .map_err(|e| format!("{e:?}"))
}

/// Hands the host one full scheduler turn before the response is returned, so that the
/// response leaves the host with its body in the same write as its head.
///
/// Why: the host (Spin, and this repository's host which serves the same way) passes the
/// response head to its HTTP connection as soon as the handler returns, and the body follows
/// from the instance a moment later. When the connection task runs on the same thread, it
/// runs after the instance's turn, by which time the body is there. But Spin performs
/// key-value and variable lookups inside tokio's `block_in_place`, after which the thread has
/// given its scheduler core away until the turn ends; a response returned in that turn wakes
/// the connection on another thread, which writes the head alone. With Nagle's algorithm on
/// (Spin does not set `TCP_NODELAY`) the body then waits for the client's delayed ACK, about
/// 40 ms per response on a keep-alive connection.
///
/// Yielding makes the handler return in a fresh turn, on a thread that owns its core. Two
/// yields, because after accepting a request the host polls the instance once more straight
/// away when it first reports pending: the first yield resumes within the same turn, the
/// second ends it. The end-to-end test `responses_leave_with_their_head` checks every
/// endpoint on a raw keep-alive connection.
async fn leave_with_head() {
    for _ in 0..2 {
        spin_sdk::wit_bindgen::yield_async().await;
    }
}
