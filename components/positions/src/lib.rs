//! `GET /api/v1/positions`: CONTRACT.md, "GET /api/v1/positions".
//!
//! The answer is kept by the instance that read it, cached in the `cache` store for
//! [`CACHE_SECONDS`] so most instances do not reach the database, and carries an ETag so
//! HTTP caches can revalidate with `304`.

use std::sync::{Mutex, PoisonError};

use api::wire::PositionsBody;
use api::{ApiError, Reply};
use http::{HeaderValue, Method};
use platform::Request;
use platform::vars;
use storage::{Cache, Database, POSITIONS_CACHE_KEY as CACHE_KEY};
/// How long the stored answer is used before the database is asked again: positions
/// rarely change, and the seed endpoint drops the entry when it adds any.
const CACHE_SECONDS: u64 = 300;
/// What HTTP caches are told.
const CACHE_CONTROL: &str = "public, max-age=300";

platform::http_entry!(list_positions);

async fn list_positions(request: Request) -> Result<Reply, ApiError> {
    api::allow(request.method(), &[Method::GET])?;
    let body = positions_json().await?;
    Ok(api::conditional::revalidatable_json(
        request.headers(),
        body,
        HeaderValue::from_static(CACHE_CONTROL),
    ))
}

/// The answer this instance has read, kept for the instance's life.
///
/// Positions change only when the seed endpoint adds missing ones, and reading the `cache`
/// store is a host call Spin does as blocking work (`block_in_place`), the largest part of
/// this endpoint's cost. Spin bounds an instance's life (WASI 0.3: 128 requests or 1 s
/// idle by default; WASI 0.2: one request), so a seed is seen within that bound
/// (docs/configuration.md).
static KEPT: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// The serialised answer: the instance's, or else the store's or the database's, which the
/// instance then keeps.
async fn positions_json() -> Result<Vec<u8>, ApiError> {
    // A panic elsewhere cannot leave the slot half-written: a poisoned lock is still good.
    if let Some(body) = KEPT.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
        return Ok(body.clone());
    }
    let body = stored_positions_json().await?;
    *KEPT.lock().unwrap_or_else(PoisonError::into_inner) = Some(body.clone());
    Ok(body)
}

/// The serialised answer, from the cache when fresh. A failing cache is logged and
/// bypassed: the database still answers, and a cache that failed to read is not written
/// (a store that is down would make the request wait for it twice).
async fn stored_positions_json() -> Result<Vec<u8>, ApiError> {
    let now = platform::unix_now();
    let mut cache = match Cache::open(platform::kv_layout().await?).await {
        Ok(cache) => Some(cache),
        Err(e) => {
            eprintln!("positions cache unavailable: {e:#}");
            None
        }
    };
    if let Some(open) = &cache {
        match open.get_fresh(CACHE_KEY, now, CACHE_SECONDS).await {
            Ok(Some(body)) => return Ok(body),
            Ok(None) => {}
            Err(e) => {
                eprintln!("positions cache read failed: {e:#}");
                cache = None;
            }
        }
    }
    let db = Database::open(
        &platform::setting(vars::DATABASE_URL).await?,
        platform::postgres_ca_root,
    )
    .await?;
    let positions = db.positions().await?;
    if positions.is_empty() {
        return Err(ApiError::PositionsNotFound);
    }
    let body = api::json_bytes(&PositionsBody::new(positions))?;
    if let Some(cache) = &cache
        && let Err(e) = cache.set(CACHE_KEY, &body, now).await
    {
        eprintln!("positions cache write failed: {e:#}");
    }
    Ok(body)
}
