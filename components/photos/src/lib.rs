//! `GET /images/users/{file}`: CONTRACT.md, "Photos".
//!
//! Photos are written once under a random name and never changed, so the name is a strong
//! validator and responses may be cached forever.

use api::{ApiError, Reply};
use domain::photo_file::PhotoFile;
use http::{HeaderValue, Method, StatusCode, header};
use platform::Request;
use storage::PhotoStore;

/// Where photos are served from.
const PREFIX: &str = "/images/users/";
/// One year, immutable: a photo's URL always means the same bytes.
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

platform::http_entry!(get_photo);

async fn get_photo(request: Request) -> Result<Reply, ApiError> {
    let name = request
        .uri()
        .path()
        .strip_prefix(PREFIX)
        .ok_or(ApiError::PageNotFound)?;
    api::allow(request.method(), &[Method::GET])?;
    // A name that is not one of ours cannot exist: no store lookup for it.
    let file = PhotoFile::parse(name).ok_or(ApiError::PhotoNotFound)?;
    let etag = format!("\"{}\"", file.as_str().trim_end_matches(".jpeg"));

    let photos = PhotoStore::open().await?;
    if api::conditional::is_fresh(request.headers(), &etag) {
        // Revalidation needs no bytes, but the photo must still exist.
        if !photos.exists(file.as_str()).await? {
            return Err(ApiError::PhotoNotFound);
        }
        let mut reply = api::with_body(StatusCode::NOT_MODIFIED, "image/jpeg", Vec::new());
        reply.headers_mut().remove(header::CONTENT_TYPE);
        set_caching(&mut reply, &etag);
        return Ok(reply);
    }
    let jpeg = photos
        .get(file.as_str())
        .await?
        .ok_or(ApiError::PhotoNotFound)?;
    let mut reply = api::with_body(StatusCode::OK, "image/jpeg", jpeg);
    set_caching(&mut reply, &etag);
    Ok(reply)
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
