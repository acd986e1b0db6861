//! `GET /api/v1/token` (also `POST`): CONTRACT.md, "GET /api/v1/token".
//!
//! Issues a fresh token and records its digest and expiry in the `tokens` store. Whether a
//! token has been used is decided later, by the database, when a registration succeeds.

use api::wire::TokenBody;
use api::{ApiError, Reply};
use domain::token::{DEFAULT_TTL_SECONDS, Token, TokenGrant};
use http::{HeaderValue, Method, StatusCode, header};
use platform::Request;
use platform::vars;
use storage::TokenStore;

platform::http_entry!(issue_token);

async fn issue_token(request: Request) -> Result<Reply, ApiError> {
    api::allow(request.method(), &[Method::GET, Method::POST])?;
    let ttl = platform::setting_or(vars::TOKEN_TTL_SECONDS, "")
        .await
        .trim()
        .parse()
        .unwrap_or(DEFAULT_TTL_SECONDS);

    let token = Token::from_random(platform::random_bytes()?);
    TokenStore::open()
        .await?
        .issue(&token.key(), TokenGrant::issued(platform::unix_now(), ttl))
        .await?;

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
