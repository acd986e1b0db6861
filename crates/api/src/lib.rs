//! The HTTP side of `CONTRACT.md`, free of Spin: every response shape, the single mapping from
//! errors to statuses, CORS, conditional requests, absolute URLs and multipart uploads.
//!
//! Components call these functions with `http` types and return [`Reply`]s, which the Spin
//! SDK sends as they are.

#![warn(missing_docs)]

pub mod conditional;
pub mod cors;
mod error;
pub mod multipart;
pub mod query;
pub mod request_url;
pub mod wire;

pub use error::ApiError;

use bytes::Bytes;
use http_body_util::Full;

/// A complete response.
pub type Reply = http::Response<Full<Bytes>>;

/// A JSON response with `status`.
pub fn json(status: http::StatusCode, body: &impl serde::Serialize) -> Reply {
    match json_bytes(body) {
        Ok(bytes) => with_body(status, "application/json", bytes),
        Err(error) => error.into_reply(),
    }
}

/// A response body serialised as JSON, for answers that are kept or validated by their
/// bytes (ETags, caches).
pub fn json_bytes(body: &impl serde::Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(body)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("serialising a response")))
}

/// A response with `status`, a content type and a body.
pub fn with_body(
    status: http::StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Reply {
    let body = body.into();
    let length = body.len();
    let mut reply = http::Response::new(Full::new(body));
    *reply.status_mut() = status;
    let headers = reply.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    if carries_body(status) {
        headers.insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(length),
        );
    }
    reply
}

/// Whether a response with `status` has a body (RFC 9110 §6.4.1): not 1xx, 204 or 304.
pub fn carries_body(status: http::StatusCode) -> bool {
    !(status.is_informational()
        || status == http::StatusCode::NO_CONTENT
        || status == http::StatusCode::NOT_MODIFIED)
}

/// Checks the method of a request to a known route: `allowed` (plus `OPTIONS`, which the
/// CORS layer answers) or a 405 naming them.
pub fn allow(method: &http::Method, allowed: &'static [http::Method]) -> Result<(), ApiError> {
    if allowed.contains(method) {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed(allowed))
    }
}
