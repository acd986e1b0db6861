//! What every component shares about running on Spin.
//!
//! [`serve`] is each component's whole entry: it answers CORS preflights, runs the handler,
//! turns any [`ApiError`] into the contract's response and adds the CORS headers, so no
//! `Err` ever reaches Spin as a bare 500.

#![warn(missing_docs)]

use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use api::cors::CorsPolicy;
use api::{ApiError, Reply};
use spin_sdk::http::Request;

/// Spin variable names, one place for all (each must be mapped in the component's
/// `[component.<id>.variables]` to be readable).
pub mod vars {
    /// Comma-separated allowed origins, or `*`.
    pub const CORS_ALLOWED_ORIGINS: &str = "cors_allowed_origins";
    /// `sqlite:<database>` or a `postgres://` URL.
    pub const DATABASE_URL: &str = "database_url";
    /// Token lifetime in seconds.
    pub const TOKEN_TTL_SECONDS: &str = "token_ttl_seconds";
    /// TinyPNG API key; empty to skip optimisation.
    pub const TINIFY_API_KEY: &str = "tinify_api_key";
    /// TinyPNG API origin.
    pub const TINIFY_BASE_URL: &str = "tinify_base_url";
    /// TinyPNG per-call timeout in milliseconds.
    pub const TINIFY_TIMEOUT_MS: &str = "tinify_timeout_ms";
    /// Secret for the seed endpoint; empty disables it.
    pub const SEED_KEY: &str = "seed_key";
}

/// Runs `handler` for `request` with the contract's CORS and error handling around it.
pub async fn serve<F, Fut>(request: Request, handler: F) -> Reply
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let cors = CorsPolicy::parse(&setting_or(vars::CORS_ALLOWED_ORIGINS, "*").await);
    let headers = request.headers().clone();
    if request.method() == http::Method::OPTIONS {
        return cors.preflight(&headers);
    }
    let mut reply = handler(request).await.unwrap_or_else(ApiError::into_reply);
    cors.apply(&headers, &mut reply);
    leave_with_head().await;
    reply
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

/// A Spin variable's value; an error if the component cannot read it (a manifest mistake).
pub async fn setting(name: &str) -> Result<String, ApiError> {
    spin_sdk::variables::get(name)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading variable `{name}`: {e:?}")))
}

/// A Spin variable's value, or `default` when it is unset or unreadable.
pub async fn setting_or(name: &str, default: &str) -> String {
    spin_sdk::variables::get(name)
        .await
        .unwrap_or_else(|_| default.to_owned())
}

/// `N` bytes from the host's CSPRNG (`wasi:random`).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness available: {e}")))?;
    Ok(bytes)
}

/// Now, in Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
