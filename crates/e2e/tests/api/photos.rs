//! CONTRACT.md, "Photos: GET /images/users/{file}".

use serde_json::json;

use crate::e2e_test;
use crate::helpers::{Registration, spawn_app};

e2e_test! {
    async fn a_photo_is_served_as_an_immutable_jpeg_with_a_strong_etag(target: Target) {
        let app = spawn_app(target).await;
        let (_, created) = app.register(&Registration::valid(1)).await;
        let (_, user) = app.get_json(&format!("/api/v1/users/{}", created["user_id"])).await;
        let url = user["user"]["photo"].as_str().unwrap().to_owned();

        let response = app.client.get(&url).send().await.unwrap();
        let headers = response.headers().clone();
        let etag = headers["etag"].to_str().unwrap().to_owned();
        let again = app.client.get(&url).header("If-None-Match", &etag).send().await.unwrap();

        assert_eq!(response.status(), 200);
        assert_eq!(headers["content-type"], "image/jpeg");
        assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
        let cache_control = headers["cache-control"].to_str().unwrap();
        assert!(cache_control.contains("immutable") && cache_control.contains("max-age=31536000"));
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert!(url.rsplit('/').next().unwrap().ends_with(".jpeg"));
        assert!(!url.contains("user1"), "the file name carries no personal data");
        assert_eq!(again.status(), 304);
    }
}

e2e_test! {
    async fn an_unknown_photo_is_404(target: Target) {
        let app = spawn_app(target).await;
        let missing = format!("/images/users/{}.jpeg", "0".repeat(32));

        let unknown = app.get_json(&missing).await;
        let malformed = app.get_json("/images/users/..%2Fspin.toml").await;
        let etag = format!("\"{}\"", "0".repeat(32));
        let revalidated = app.client.get(app.url(&missing)).header("If-None-Match", etag).send().await.unwrap();
        let revalidated = crate::helpers::json(revalidated).await;

        let not_found = json!({"success": false, "message": "Photo not found"});
        assert_eq!(unknown, (404, not_found.clone()));
        assert_eq!(malformed, (404, not_found.clone()));
        assert_eq!(revalidated, (404, not_found), "no 304 for a photo that does not exist");
    }
}

e2e_test! {
    wasi03_only:
    /// An instance keeps the photos it served (a name always means the same bytes), so a
    /// warm one answers without the store; once it has ended (Spin's default: 1 s idle),
    /// the next one reads the store again.
    async fn an_instance_keeps_the_photos_it_served_until_it_ends(target: Target) {
        let app = spawn_app(target).await;
        let (_, created) = app.register(&Registration::valid(1)).await;
        let (_, user) = app.get_json(&format!("/api/v1/users/{}", created["user_id"])).await;
        let url = user["user"]["photo"].as_str().unwrap().to_owned();
        let served = app.client.get(&url).send().await.unwrap().bytes().await.unwrap();
        app.clear_store("photos");

        let again = app.client.get(&url).send().await.unwrap();
        assert_eq!(again.status(), 200, "the warm instance answers from what it keeps");
        assert_eq!(again.bytes().await.unwrap(), served);

        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let gone = app.client.get(&url).send().await.unwrap();
        assert_eq!(gone.status(), 404, "a new instance reads the store");
    }
}
