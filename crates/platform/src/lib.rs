//! What every component shares about running on Spin, whichever SDK it is built with.
//!
//! [`serve`] is each component's whole request handling: it answers CORS preflights, runs
//! the handler, turns any [`ApiError`] into the contract's response and adds the CORS
//! headers, so no `Err` ever reaches Spin as a bare 500. The handlers see a plain
//! [`Request`] whatever the SDK; the entry glue for each build — [`wasi03`] (spin-sdk 7,
//! WASI 0.3, the default) and [`wasi02`] (spin-sdk 5, WASI 0.2, for Spin 3 and SpinKube) —
//! converts the SDK's request in and the [`Reply`] out.

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api::cors::CorsPolicy;
use api::{ApiError, Reply};
use bytes::Bytes;

#[cfg(feature = "wasi03")]
pub mod chaining;
#[cfg(feature = "wasi02")]
#[cfg_attr(feature = "wasi03", allow(dead_code))]
pub mod wasi02;
#[cfg(feature = "wasi03")]
pub mod wasi03;

#[cfg(all(feature = "wasi02", not(feature = "wasi03")))]
use wasi02::variable;
#[cfg(feature = "wasi03")]
use wasi03::variable;

#[cfg(not(any(feature = "wasi02", feature = "wasi03")))]
compile_error!("platform needs the `wasi03` (spin-sdk 7) or `wasi02` (spin-sdk 5) feature");

/// A request as every handler sees it, whichever SDK delivered it.
pub type Request = http::Request<Body>;

/// A request body: its bytes as they arrive.
pub struct Body(Pin<Box<dyn http_body::Body<Data = Bytes, Error = anyhow::Error> + Send>>);

impl Body {
    /// Wraps an SDK's body.
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes, Error = anyhow::Error> + Send + 'static,
    {
        Self(Box::pin(body))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = anyhow::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, anyhow::Error>>> {
        self.0.as_mut().poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0.size_hint()
    }
}

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
    /// PEM of a private CA to trust for PostgreSQL's TLS certificate; empty for none.
    pub const POSTGRES_CA_ROOT: &str = "postgres_ca_root";
    /// Secret that signs registration tokens; empty: a key the app makes and stores.
    pub const TOKEN_SIGNING_KEY: &str = "token_signing_key";
    /// The signing secret before the last rotation, still accepted; empty for none.
    pub const TOKEN_SIGNING_KEY_PREVIOUS: &str = "token_signing_key_previous";
    /// Seconds a shared cache may serve a users page or a user; 0: always revalidate.
    pub const USERS_CACHE_SHARED_MAX_AGE: &str = "users_cache_shared_max_age";
    /// Seconds any cache may keep what never changes: an anchored users page, a user.
    pub const USERS_CACHE_IMMUTABLE_MAX_AGE: &str = "users_cache_immutable_max_age";
    /// Where photos are kept: `key-value` (the `photos` store) or `database`.
    pub const PHOTO_STORE: &str = "photo_store";
    /// How the key-value stores map to labels: `separate` (`tokens`, `photos`, `cache`) or
    /// `single` (the `default` store, keys prefixed).
    pub const KEY_VALUE_LAYOUT: &str = "key_value_layout";
    /// Seconds a registration's body may take to arrive; unset: the registration's deadline.
    pub const REGISTRATION_BODY_TIMEOUT_SECONDS: &str = "registration_body_timeout_seconds";
    /// Seconds from a registration's arrival by which it is performed or not at all.
    pub const REGISTRATION_DEADLINE_SECONDS: &str = "registration_deadline_seconds";
}

/// Runs `handler` for `request` with the contract's CORS and error handling around it.
///
/// A `HEAD` request is answered as its `GET` would be, headers and `Content-Length`
/// included, without the body (RFC 9110 §9.3.2): handlers only ever see `GET`.
pub async fn serve<F, Fut>(mut request: Request, handler: F) -> Reply
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let head = request.method() == http::Method::HEAD;
    if head {
        *request.method_mut() = http::Method::GET;
    }
    let cors = CorsPolicy::parse(&setting_or(vars::CORS_ALLOWED_ORIGINS, "*").await);
    let headers = request.headers().clone();
    let mut reply = if request.method() == http::Method::OPTIONS {
        cors.preflight(&headers)
    } else {
        let mut reply = handler(request).await.unwrap_or_else(ApiError::into_reply);
        cors.apply(&headers, &mut reply);
        reply
    };
    // Every body is to be taken as the type it declares: a JSON answer, an error or an
    // uploaded photo is never sniffed into a script or a page.
    reply.headers_mut().insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
    if head {
        *reply.body_mut() = Default::default();
    }
    reply
}

/// Variables this instance has read, by name.
///
/// A variable is read from Spin once per instance: Spin's providers do each read as
/// blocking work (the environment provider inside tokio's `block_in_place`), and a
/// request's handful of reads cost more than its query. Spin bounds an instance's life
/// (WASI 0.3: 128 requests or 1 s idle by default; WASI 0.2: one request), so a changed
/// variable, a rotated Vault secret included, applies within that bound
/// (docs/configuration.md).
static READ: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

/// The variables read so far. Each update is one insert, so a panic elsewhere cannot leave
/// the map half-written: a poisoned lock is still good.
fn variables_read() -> MutexGuard<'static, BTreeMap<String, String>> {
    READ.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn instance_variable(name: &str) -> Result<String, String> {
    if let Some(value) = variables_read().get(name) {
        return Ok(value.clone());
    }
    let value = variable(name).await?;
    variables_read().insert(name.to_owned(), value.clone());
    Ok(value)
}

/// A Spin variable's value; an error if the component cannot read it (a manifest mistake).
pub async fn setting(name: &str) -> Result<String, ApiError> {
    instance_variable(name)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading variable `{name}`: {e}")))
}

/// A Spin variable's value, or `default` when it is unset or unreadable.
pub async fn setting_or(name: &str, default: &str) -> String {
    instance_variable(name)
        .await
        .unwrap_or_else(|_| default.to_owned())
}

/// Where photos are kept (`photo_store`): unset is the `photos` key-value store; a value
/// that names no store is a configuration error, a logged 500.
pub async fn photo_home() -> Result<storage::PhotoHome, ApiError> {
    Ok(storage::PhotoHome::from_setting(
        &setting_or(vars::PHOTO_STORE, "").await,
    )?)
}

/// How the app's key-value stores map to the labels the manifest grants
/// (`key_value_layout`): unset is a label per store; a value that names no layout is a
/// configuration error, a logged 500.
pub async fn kv_layout() -> Result<storage::KvLayout, ApiError> {
    Ok(storage::KvLayout::from_setting(
        &setting_or(vars::KEY_VALUE_LAYOUT, "").await,
    )?)
}

/// The private CA a PostgreSQL server's certificate chains to, if the operator set one
/// (`postgres_ca_root`, PEM). Read only when a new database connection is opened.
pub async fn postgres_ca_root() -> Option<String> {
    Some(setting_or(vars::POSTGRES_CA_ROOT, "").await).filter(|pem| !pem.trim().is_empty())
}

/// `N` bytes from the host's CSPRNG (`wasi:random`).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness available: {e}")))?;
    Ok(bytes)
}

/// `future`'s output, or [`Elapsed`] if it has not come after `limit`: the rest of the work
/// is dropped unfinished.
pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Result<T, Elapsed> {
    let future = std::pin::pin!(future);
    let timer = std::pin::pin!(sleep(limit));
    match futures_util::future::select(future, timer).await {
        futures_util::future::Either::Left((output, _)) => Ok(output),
        futures_util::future::Either::Right(_) => Err(Elapsed),
    }
}

/// A [`within`] limit passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

/// Completes after `duration`, on the host's monotonic clock.
#[cfg(feature = "wasi03")]
async fn sleep(duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    spin_sdk::wasip3::clocks::monotonic_clock::wait_for(nanos).await;
}

#[cfg(all(feature = "wasi02", not(feature = "wasi03")))]
use wasi02::sleep;

/// Now, in Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Now, in Unix milliseconds.
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// Exports `handler` as the component's HTTP entry point, through the SDK the component is
/// built with: `#[http_service]` (spin-sdk 7, `wasi:http/handler@0.3.0`) under the
/// component's `wasi03` feature, `#[http_component]` (spin-sdk 5,
/// `wasi:http/incoming-handler@0.2.0`) under `wasi02`. Either way the request reaches
/// `handler` through [`serve`].
///
/// The component depends on spin-sdk 7 as `spin-sdk` and on spin-sdk 5 as
/// `spin-sdk-wasi02`, each optional. spin-sdk 5's macro refers to its crate as `::spin_sdk`,
/// so the WASI 0.2 build names spin-sdk 5 that way at the crate root.
#[macro_export]
macro_rules! http_entry {
    ($handler:path) => {
        #[cfg(feature = "wasi03")]
        #[::spin_sdk::http_service]
        async fn handle(request: ::spin_sdk::http::Request) -> impl ::spin_sdk::http::IntoResponse {
            $crate::wasi03::respond(request, $handler).await
        }

        #[cfg(all(feature = "wasi02", not(feature = "wasi03")))]
        extern crate spin_sdk_wasi02 as spin_sdk;

        #[cfg(all(feature = "wasi02", not(feature = "wasi03")))]
        #[::spin_sdk::http_component]
        async fn handle(
            request: ::spin_sdk::http::IncomingRequest,
            response: ::spin_sdk::http::ResponseOutparam,
        ) {
            $crate::wasi02::respond(request, response, $handler).await
        }
    };
}
