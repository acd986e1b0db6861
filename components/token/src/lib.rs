//! `GET /api/v1/token` (also `POST`): CONTRACT.md, "GET /api/v1/token".
//!
//! Issues a signed token that carries its own expiry (`domain::token`). Nothing is stored:
//! a flood of requests grows no store. Whether a token has been used is decided later, by
//! the database, when a registration succeeds.

use api::wire::TokenBody;
use api::{ApiError, Reply};
use domain::token::DEFAULT_TTL_SECONDS;
use http::{HeaderValue, Method, StatusCode, header};
use platform::Request;
use platform::vars;

platform::http_entry!(issue_token);

async fn issue_token(request: Request) -> Result<Reply, ApiError> {
    api::allow(request.method(), &[Method::GET, Method::POST])?;
    let ttl = platform::setting_or(vars::TOKEN_TTL_SECONDS, "")
        .await
        .trim()
        .parse()
        .unwrap_or(DEFAULT_TTL_SECONDS);

    let key = token_keys::for_issuing().await?;
    let token = key.issue(platform::random_bytes()?, platform::unix_now(), ttl);

    let mut reply = api::json(
        StatusCode::OK,
        &TokenBody {
            success: true,
            token: token.expose(),
        },
    );
    // Each token is single-use: no cache may hand the same one to two clients.
    reply
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(reply)
}
