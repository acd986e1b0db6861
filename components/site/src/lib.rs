//! The demo site at `/`, and the contract's `404 Page not found` for every path no other
//! component serves (CONTRACT.md, "Errors, in general").
//!
//! The assets are embedded at build time: no files, no CDN, no font service. They use only
//! the public API, as a third-party client would.

use api::{ApiError, Reply};
use http::{HeaderValue, Method, StatusCode, header};
use platform::Request;

/// An embedded file and its content type.
struct Asset {
    bytes: &'static [u8],
    content_type: &'static str,
}

fn asset(path: &str) -> Option<Asset> {
    let (bytes, content_type): (&'static [u8], _) = match path {
        "/" | "/index.html" => (
            include_bytes!("../assets/index.html"),
            "text/html; charset=utf-8",
        ),
        "/style.css" => (
            include_bytes!("../assets/style.css"),
            "text/css; charset=utf-8",
        ),
        "/app.js" => (
            include_bytes!("../assets/app.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return None,
    };
    Some(Asset {
        bytes,
        content_type,
    })
}

/// Everything the page loads comes from this origin; photo previews are `blob:` URLs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

platform::http_entry!(serve_asset);

async fn serve_asset(request: Request) -> Result<Reply, ApiError> {
    let asset = asset(request.uri().path()).ok_or(ApiError::PageNotFound)?;
    api::allow(request.method(), &[Method::GET])?;
    let etag = api::conditional::etag_for(asset.bytes);
    let mut reply = if api::conditional::is_fresh(request.headers(), &etag) {
        api::with_body(StatusCode::NOT_MODIFIED, asset.content_type, Vec::new())
    } else {
        api::with_body(StatusCode::OK, asset.content_type, asset.bytes)
    };
    let headers = reply.headers_mut();
    // Revalidate every time: a new deployment must never run an old script against a new API.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    Ok(reply)
}
