//! `POST /api/v1/users` (CONTRACT.md, "POST /api/v1/users"), in instances of its own (WASI
//! 0.3 build).
//!
//! Clients reach this component through the users component, which hands it every
//! registration over Spin's service chaining (`http://registration.spin.internal`); its
//! route is private. Why a component of its own: decoding and re-encoding a photo is tens
//! of milliseconds of CPU, and a WASI 0.3 instance runs one thing at a time, so in the users
//! component's reused instances it would stall the reads they serve (docs/design.md,
//! "Reads never wait behind photos"). The work itself is `registrar`'s.

use api::{ApiError, Reply};
use http::Method;
use platform::Request;

/// The one path this component answers: the users collection.
const USERS_PATH: &str = "/api/v1/users";

platform::http_entry!(route);

async fn route(request: Request) -> Result<Reply, ApiError> {
    if request.uri().path().trim_end_matches('/') != USERS_PATH {
        return Err(ApiError::PageNotFound);
    }
    api::allow(request.method(), &[Method::POST])?;
    registrar::create_user(request).await
}
