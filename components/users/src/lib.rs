//! `/api/v1/users` and `/api/v1/users/{id}`: CONTRACT.md, "GET /api/v1/users",
//! "GET /api/v1/users/{id}" and "POST /api/v1/users".
//!
//! Reads are served here. In the WASI 0.3 build a registration is handed to the
//! `registration` component through Spin's service chaining, so its photo work runs in
//! instances that serve no reads (see `platform::chaining`); this component only relays its
//! bytes. In the WASI 0.2 build every request has an instance of its own, so there is
//! nothing to keep the work away from, and not every platform that serves WASI 0.2 chains
//! (Fermyon Cloud does not): there this component registers itself.

mod get;
mod list;

use api::{ApiError, Reply};
use http::{HeaderValue, Method};
use platform::Request;
use platform::vars;

/// The collection's path; single users live below it.
const USERS_PATH: &str = "/api/v1/users";
/// The component that registers users in the WASI 0.3 build (`[component.registration]`
/// in spin.toml).
#[cfg(feature = "wasi03")]
const REGISTRATION: &str = "registration";

platform::http_entry!(route);

async fn route(request: Request) -> Result<Reply, ApiError> {
    let path = request.uri().path().trim_end_matches('/').to_owned();
    match path.strip_prefix(USERS_PATH) {
        Some("") => match *request.method() {
            Method::GET => list::list_users(request).await,
            Method::POST => register(request).await,
            _ => Err(ApiError::MethodNotAllowed(&[Method::GET, Method::POST])),
        },
        Some(rest) => match rest.strip_prefix('/') {
            Some(id) if !id.contains('/') => {
                api::allow(request.method(), &[Method::GET])?;
                get::get_user(&request, id).await
            }
            _ => Err(ApiError::PageNotFound),
        },
        None => Err(ApiError::PageNotFound),
    }
}

#[cfg(feature = "wasi03")]
async fn register(request: Request) -> Result<Reply, ApiError> {
    platform::chaining::forward(request, REGISTRATION).await
}

#[cfg(all(feature = "wasi02", not(feature = "wasi03")))]
async fn register(request: Request) -> Result<Reply, ApiError> {
    registrar::create_user(request).await
}

/// What HTTP caches are told about a page of the list as it is now, which the next
/// registration changes: revalidate, unless the operator lets shared caches serve it for a
/// while (`users_cache_shared_max_age`).
async fn cache_control() -> HeaderValue {
    let seconds = platform::setting_or(vars::USERS_CACHE_SHARED_MAX_AGE, "0").await;
    api::conditional::revalidate_or_shared_for(seconds.trim().parse().unwrap_or(0))
}

/// What HTTP caches are told about what never changes, an anchored page and a user: keep
/// it for `users_cache_immutable_max_age` seconds (a year by default).
async fn cache_control_immutable() -> HeaderValue {
    let seconds = platform::setting_or(
        vars::USERS_CACHE_IMMUTABLE_MAX_AGE,
        IMMUTABLE_MAX_AGE_DEFAULT,
    )
    .await;
    api::conditional::immutable_for(seconds.trim().parse().unwrap_or(0))
}

/// `users_cache_immutable_max_age` when unset: one year, as RFC 9111 suggests for "never
/// expires" and as photos are served.
const IMMUTABLE_MAX_AGE_DEFAULT: &str = "31536000";
