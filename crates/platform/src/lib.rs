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
    reply
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
