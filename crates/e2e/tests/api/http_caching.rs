//! Users pages and single users carry an ETag and a `Cache-Control` a CDN can act on
//! (docs/design.md, "HTTP caching"); a matching `If-None-Match` gets `304` without a body.
//! What never changes (a page read with `as_of`, a user) may be kept; the list as it is
//! now is revalidated.

use crate::e2e_test;
use crate::helpers::{AppOptions, Registration, TestApp, header, spawn_app, spawn_app_with};

/// Status, `ETag`, `Cache-Control` and body length of a GET with `if_none_match`.
async fn conditional_get(
    app: &TestApp,
    path: &str,
    if_none_match: Option<&str>,
) -> (u16, String, String, usize) {
    let mut request = app.client.get(app.url(path));
    if let Some(tag) = if_none_match {
        request = request.header("If-None-Match", tag);
    }
    let response = request.send().await.expect("request");
    let (status, etag, cache_control) = (
        response.status().as_u16(),
        header(&response, "etag"),
        header(&response, "cache-control"),
    );
    let body = response.bytes().await.expect("body");
    (status, etag, cache_control, body.len())
}

/// What the users component tells caches about what never changes, by default.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

e2e_test! {
    async fn the_list_now_revalidates_and_what_never_changes_is_kept(target: Target) {
        let app = spawn_app(target).await;
        let (_, created) = app.register(&Registration::valid(1)).await;
        let user = format!("/api/v1/users/{}", created["user_id"]);
        let anchored = "/api/v1/users?page=1&count=5&as_of=1";

        for (path, kept) in [("/api/v1/users?page=1&count=5", "no-cache"), (anchored, IMMUTABLE), (user.as_str(), IMMUTABLE)] {
            let (status, etag, cache_control, length) = conditional_get(&app, path, None).await;
            assert_eq!((status, cache_control.as_str()), (200, kept), "{path}");
            assert!(etag.starts_with('"') && etag.len() == 34 && length > 0, "{path}: {etag}");

            let (status, again, cache_control, length) =
                conditional_get(&app, path, Some(&etag)).await;
            assert_eq!((status, length), (304, 0), "{path}");
            assert_eq!((again, cache_control.as_str()), (etag.clone(), kept), "{path}");

            let (status, _, _, _) = conditional_get(&app, path, Some("\"other\"")).await;
            assert_eq!(status, 200, "{path}");
        }

        // A registration changes the list now, not the anchored page nor the user.
        let page = "/api/v1/users?page=1&count=5";
        let mut before = Vec::new();
        for path in [page, anchored, user.as_str()] {
            before.push(conditional_get(&app, path, None).await.1);
        }
        app.register(&Registration::valid(2)).await;
        let (status, after, _, _) = conditional_get(&app, page, Some(&before[0])).await;
        assert_eq!(status, 200);
        assert_ne!(after, before[0]);
        for (tag, path) in before[1..].iter().zip([anchored, user.as_str()]) {
            let (status, _, _, _) = conditional_get(&app, path, Some(tag)).await;
            assert_eq!(status, 304, "{path} did not change");
        }
    }
}

e2e_test! {
    async fn a_shared_max_age_lets_a_cdn_serve_the_list_now_for_a_while(target: Target) {
        let options = AppOptions { users_cache_shared_max_age: 10, ..AppOptions::default() };
        let app = spawn_app_with(target, options).await;
        let (_, created) = app.register(&Registration::valid(1)).await;

        let (status, _, cache_control, _) = conditional_get(&app, "/api/v1/users", None).await;
        assert_eq!((status, cache_control.as_str()), (200, "public, max-age=0, s-maxage=10"));
        let user = format!("/api/v1/users/{}", created["user_id"]);
        let (_, _, cache_control, _) = conditional_get(&app, &user, None).await;
        assert_eq!(cache_control, IMMUTABLE, "a user is kept whatever the list's max-age");
    }
}

e2e_test! {
    async fn an_immutable_max_age_of_0_makes_every_cache_revalidate(target: Target) {
        let options = AppOptions { users_cache_immutable_max_age: 0, ..AppOptions::default() };
        let app = spawn_app_with(target, options).await;
        let (_, created) = app.register(&Registration::valid(1)).await;

        for path in ["/api/v1/users?as_of=1".to_owned(), format!("/api/v1/users/{}", created["user_id"])] {
            let (status, _, cache_control, _) = conditional_get(&app, &path, None).await;
            assert_eq!((status, cache_control.as_str()), (200, "no-cache"), "{path}");
        }
    }
}

e2e_test! {
    /// Their links follow `X-Forwarded-Host` and `-Proto`, so a shared cache must key on
    /// them; positions and photos do not depend on them.
    async fn pages_and_users_vary_on_the_forwarded_origin(target: Target) {
        let options = AppOptions { users_cache_shared_max_age: 10, ..AppOptions::default() };
        let app = spawn_app_with(target, options).await;
        let (_, created) = app.register(&Registration::valid(1)).await;
        let user = format!("/api/v1/users/{}", created["user_id"]);
        let vary = |response: &reqwest::Response| -> Vec<String> {
            response.headers().get_all("vary").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
        };

        for path in ["/api/v1/users?page=1&count=5", "/api/v1/users?page=1&count=5&as_of=1", user.as_str()] {
            let forwarded = app.client.get(app.url(path)).header("X-Forwarded-Host", "cdn.example").send().await.unwrap();
            let etag = forwarded.headers()["etag"].to_str().unwrap().to_owned();
            assert_eq!(vary(&forwarded), ["X-Forwarded-Host, X-Forwarded-Proto"], "{path}");
            let body = forwarded.text().await.unwrap();
            assert!(body.contains("http://cdn.example/"), "{path}: {body}");

            let revalidated = app.client.get(app.url(path)).header("X-Forwarded-Host", "cdn.example")
                .header("If-None-Match", &etag).send().await.unwrap();
            assert_eq!(revalidated.status(), 304, "{path}");
            assert_eq!(vary(&revalidated), ["X-Forwarded-Host, X-Forwarded-Proto"], "{path}: a 304 varies as its 200");

            let direct = app.client.get(app.url(path)).send().await.unwrap();
            assert_ne!(direct.headers()["etag"].to_str().unwrap(), etag, "{path}: another origin, another body");
        }
        let positions = app.client.get(app.url("/api/v1/positions")).send().await.unwrap();
        assert!(vary(&positions).is_empty(), "{:?}", vary(&positions));
    }
}
