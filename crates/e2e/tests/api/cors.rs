//! CONTRACT.md, "CORS".

use crate::e2e_test;
use crate::helpers::{AppOptions, spawn_app, spawn_app_with};

e2e_test! {
    async fn every_response_allows_any_origin_by_default(target: Target) {
        let app = spawn_app(target).await;

        for path in ["/api/v1/token", "/api/v1/positions", "/api/v1/users", "/api/v1/users/x", "/api/v1/nope", "/images/users/x.jpeg"] {
            let response = app.client.get(app.url(path)).header("Origin", "https://spa.example").send().await.unwrap();

            assert_eq!(response.headers()["access-control-allow-origin"], "*", "{path}");
        }
    }
}

e2e_test! {
    async fn preflight_is_answered_on_every_api_route(target: Target) {
        let app = spawn_app(target).await;

        for path in ["/api/v1/token", "/api/v1/positions", "/api/v1/users", "/api/v1/users/1", "/api/v1/seed", "/images/users/a.jpeg"] {
            let response = app
                .client
                .request(reqwest::Method::OPTIONS, app.url(path))
                .header("Origin", "https://spa.example")
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "token, content-type")
                .send()
                .await
                .unwrap();

            assert_eq!(response.status(), 204, "{path}");
            let h = response.headers();
            assert_eq!(h["access-control-allow-origin"], "*");
            assert_eq!(h["access-control-allow-methods"], "GET, POST, OPTIONS");
            assert_eq!(h["access-control-allow-headers"], "Token, Content-Type, Accept, Authorization, X-Requested-With");
            assert!(h.contains_key("access-control-max-age"));
        }
    }
}

e2e_test! {
    async fn a_configured_origin_list_is_enforced(target: Target) {
        let app = spawn_app_with(target, AppOptions {
            cors_allowed_origins: "https://spa.example, https://admin.example",
            ..AppOptions::default()
        })
        .await;

        let listed = app.client.get(app.url("/api/v1/positions")).header("Origin", "https://admin.example").send().await.unwrap();
        let other = app.client.get(app.url("/api/v1/positions")).header("Origin", "https://evil.example").send().await.unwrap();

        assert_eq!(listed.headers()["access-control-allow-origin"], "https://admin.example");
        assert_eq!(listed.headers()["vary"], "Origin");
        assert!(!other.headers().contains_key("access-control-allow-origin"));
    }
}
