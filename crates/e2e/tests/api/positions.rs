//! CONTRACT.md, "GET /api/v1/positions".

use serde_json::json;

use crate::e2e_test;
use crate::helpers::spawn_app;

e2e_test! {
    async fn the_four_predefined_positions_are_listed_by_id(target: Target) {
        let app = spawn_app(target).await;

        let (status, body) = app.get_json("/api/v1/positions").await;

        assert_eq!(status, 200);
        assert_eq!(body, json!({"success": true, "positions": [
            {"id": 1, "name": "Lawyer"},
            {"id": 2, "name": "Content manager"},
            {"id": 3, "name": "Security"},
            {"id": 4, "name": "Designer"}
        ]}));
    }
}

e2e_test! {
    async fn positions_are_http_cacheable_with_an_etag(target: Target) {
        let app = spawn_app(target).await;

        let first = app.get("/api/v1/positions").await;
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let cache_control = first.headers()["cache-control"].to_str().unwrap().to_owned();
        let revalidated = app
            .client
            .get(app.url("/api/v1/positions"))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        let other = app
            .client
            .get(app.url("/api/v1/positions"))
            .header("If-None-Match", "\"something-else\"")
            .send()
            .await
            .unwrap();

        assert!(etag.starts_with('"'), "{etag}");
        assert!(cache_control.contains("max-age"), "{cache_control}");
        assert_eq!(revalidated.status(), 304);
        assert_eq!(revalidated.headers()["etag"], etag.as_str());
        assert!(revalidated.bytes().await.unwrap().is_empty());
        assert_eq!(other.status(), 200);
    }
}

e2e_test! {
    async fn positions_are_served_from_the_cache_without_the_database(target: Target) {
        let app = spawn_app(target).await;
        app.get_json("/api/v1/positions").await;
        app.sql("DELETE FROM positions").await;

        let (status, body) = app.get_json("/api/v1/positions").await;

        assert_eq!(status, 200);
        assert_eq!(body["positions"].as_array().unwrap().len(), 4);
    }
}

e2e_test! {
    async fn no_positions_at_all_is_422(target: Target) {
        let app = spawn_app(target).await;
        // The schema exists once a component has opened the database; the positions
        // component has not run yet, so no instance keeps an answer.
        app.get_json("/api/v1/users").await;
        app.sql("DELETE FROM positions").await;

        let (status, body) = app.get_json("/api/v1/positions").await;

        assert_eq!((status, body), (422, json!({"success": false, "message": "Positions not found"})));
    }
}

e2e_test! {
    wasi03_only:
    /// An instance keeps the positions it read, so a warm one answers without the store or
    /// the database; once it has ended (Spin's default: 1 s idle), the next one reads again.
    async fn an_instance_keeps_the_positions_it_read_until_it_ends(target: Target) {
        let app = spawn_app(target).await;
        app.get_json("/api/v1/positions").await;
        app.sql("DELETE FROM positions").await;
        app.clear_store("cache");

        let (status, body) = app.get_json("/api/v1/positions").await;
        assert_eq!(status, 200, "the warm instance answers from what it keeps: {body}");
        assert_eq!(body["positions"].as_array().map(Vec::len), Some(4));

        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let (status, body) = app.get_json("/api/v1/positions").await;
        assert_eq!((status, body), (422, json!({"success": false, "message": "Positions not found"})));
    }
}
