//! `GET /images/users/{file}`: CONTRACT.md, "Photos".
//!
//! Photos are written once under a random name and never changed, so the name is a strong
//! validator, responses may be cached forever, and an instance may keep what it served.
//!
//! A photo is looked for where `photo_store` keeps new ones, then in the other store: the
//! maintenance endpoint moves photos between the two while they are served.

use std::num::NonZeroUsize;
use std::sync::{LazyLock, Mutex, PoisonError};

use api::wire::PHOTOS_PATH;
use api::{ApiError, Reply};
use bytes::Bytes;
use domain::photo_file::PhotoFile;
use http::{HeaderValue, Method, StatusCode, header};
use lru::LruCache;
use platform::{Request, vars};
use storage::{Database, PhotoHome, PhotoStore};

/// One year, immutable: a photo's URL always means the same bytes.
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";
/// Most photos an instance keeps: as many as it serves requests by Spin's default (128),
/// a few hundred KiB of 70x70 JPEGs; an operator who raises the reuse count does not raise
/// this.
const KEPT_PHOTOS: NonZeroUsize = NonZeroUsize::new(128).expect("not zero");

/// The photos this instance has served, the most recently served kept.
///
/// Reading the `photos` store is a key-value call, which Spin does as blocking work; a
/// photo's bytes never change under its name, so what an instance read once it can serve
/// again. A page of users shows the same few photos to every visitor. Spin bounds an
/// instance's life (WASI 0.3: 128 requests or 1 s idle by default; WASI 0.2: one request).
static KEPT: LazyLock<Mutex<LruCache<String, Bytes>>> =
    LazyLock::new(|| Mutex::new(LruCache::new(KEPT_PHOTOS)));

/// The photo `name`, if this instance kept it.
fn kept(name: &str) -> Option<Bytes> {
    // A panic elsewhere cannot leave the cache half-written: a poisoned lock is still good.
    KEPT.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(name)
        .cloned()
}

fn keep(name: &str, jpeg: Bytes) {
    KEPT.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .put(name.to_owned(), jpeg);
}

platform::http_entry!(get_photo);

async fn get_photo(request: Request) -> Result<Reply, ApiError> {
    let name = request
        .uri()
        .path()
        .strip_prefix(PHOTOS_PATH)
        .ok_or(ApiError::PageNotFound)?;
    api::allow(request.method(), &[Method::GET])?;
    // A name that is not one of ours cannot exist: no store lookup for it.
    let file = PhotoFile::parse(name).ok_or(ApiError::PhotoNotFound)?;
    let etag = format!("\"{}\"", file.as_str().trim_end_matches(".jpeg"));

    let name = file.as_str();
    let kept = kept(name);
    if api::conditional::is_fresh(request.headers(), &etag) {
        // Revalidation needs no bytes, but the photo must still exist.
        if kept.is_none() && stored(name).await?.is_none() {
            return Err(ApiError::PhotoNotFound);
        }
        let mut reply = api::with_body(StatusCode::NOT_MODIFIED, "image/jpeg", Vec::new());
        reply.headers_mut().remove(header::CONTENT_TYPE);
        set_caching(&mut reply, &etag);
        return Ok(reply);
    }
    let jpeg = match kept {
        Some(jpeg) => jpeg,
        None => {
            let jpeg = Bytes::from(stored(name).await?.ok_or(ApiError::PhotoNotFound)?);
            keep(name, jpeg.clone());
            jpeg
        }
    };
    let mut reply = api::with_body(StatusCode::OK, "image/jpeg", jpeg);
    set_caching(&mut reply, &etag);
    Ok(reply)
}

/// The photo `name` from where new photos are kept, or else from the other store.
async fn stored(name: &str) -> Result<Option<Vec<u8>>, ApiError> {
    let home = platform::photo_home().await?;
    for store in [home, home.other()] {
        let found = match store {
            PhotoHome::KeyValue => {
                PhotoStore::open(platform::kv_layout().await?)
                    .await?
                    .get(name)
                    .await?
            }
            PhotoHome::Database => {
                Database::open(
                    &platform::setting(vars::DATABASE_URL).await?,
                    platform::postgres_ca_root,
                )
                .await?
                .photo(name)
                .await?
            }
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

fn set_caching(reply: &mut Reply, etag: &str) {
    let headers = reply.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_FOREVER),
    );
    if let Ok(etag) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, etag);
    }
}
