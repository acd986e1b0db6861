//! `GET /api/v1/users?page=&count=&offset=&as_of=`: a page of the list as it is now, or,
//! with `as_of`, of the list as it was (see `domain::paging`), which never changes.

use api::query::QueryParams;
use api::wire::{Links, ListedUser, UsersPageBody};
use api::{ApiError, Reply};
use domain::paging::PageQuery;
use platform::Request;
use platform::vars;
use storage::Database;

pub async fn list_users(request: Request) -> Result<Reply, ApiError> {
    let params = QueryParams::of(request.uri());
    let wanted = PageQuery {
        page: params.get("page"),
        count: params.get("count"),
        offset: params.get("offset"),
        as_of: params.get("as_of"),
    }
    .parse()?;

    let base = api::request_url::base_url(request.headers(), request.uri());
    let list_url = base
        .join(crate::USERS_PATH)
        .map_err(|e| ApiError::Internal(e.into()))?;
    let db = Database::open(
        &platform::setting(vars::DATABASE_URL).await?,
        platform::postgres_ca_root,
    )
    .await?;
    let (users_now, users) = db
        .users_page(wanted.offset(), wanted.count, wanted.as_of)
        .await?;
    let page = wanted
        .locate(users_now, &list_url)
        .ok_or(ApiError::PageNotFound)?;
    let users: Vec<ListedUser> = users
        .into_iter()
        .map(|user| ListedUser::new(user, &base))
        .collect();

    let body = api::json_bytes(&UsersPageBody {
        success: true,
        page: page.page,
        total_pages: page.total_pages,
        total_users: page.total_users,
        count: users.len(),
        links: Links {
            next_url: page.next_url,
            prev_url: page.prev_url,
        },
        users,
    })?;
    let cache_control = if page.anchored {
        crate::cache_control_immutable().await
    } else {
        crate::cache_control().await
    };
    let mut reply = api::conditional::revalidatable_json(request.headers(), body, cache_control);
    api::request_url::vary_on_origin_headers(&mut reply);
    Ok(reply)
}
