//! `GET /api/v1/users/{id}`: a user never changes (the API has no update or delete), so
//! caches may keep one.

use api::wire::{SingleUser, UserBody};
use api::{ApiError, Reply};
use domain::fields::parse_integer;
use platform::Request;
use platform::vars;
use storage::Database;

pub async fn get_user(request: &Request, id: &str) -> Result<Reply, ApiError> {
    let id = parse_integer(id).ok_or(ApiError::InvalidUserId)?;
    let db = Database::open(
        &platform::setting(vars::DATABASE_URL).await?,
        platform::postgres_ca_root,
    )
    .await?;
    let user = db.user(id).await?.ok_or(ApiError::UserNotFound)?;
    let base = api::request_url::base_url(request.headers(), request.uri());
    let body = api::json_bytes(&UserBody {
        success: true,
        user: SingleUser::new(user, &base),
    })?;
    let mut reply = api::conditional::revalidatable_json(
        request.headers(),
        body,
        crate::cache_control_immutable().await,
    );
    api::request_url::vary_on_origin_headers(&mut reply);
    Ok(reply)
}
