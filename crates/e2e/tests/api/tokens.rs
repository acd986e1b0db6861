//! CONTRACT.md, "GET /api/v1/token".

use crate::e2e_test;
use crate::helpers::{AppOptions, Registration, spawn_app, spawn_app_with};

e2e_test! {
    async fn a_token_is_issued_on_get_and_on_post(target: Target) {
        let app = spawn_app(target).await;

        let get = app.get("/api/v1/token").await;
        let no_store = get.headers()["cache-control"].to_str().unwrap().to_owned();
        let (status, first) = crate::helpers::json(get).await;
        let (post_status, second) =
            crate::helpers::json(app.client.post(app.url("/api/v1/token")).send().await.unwrap()).await;

        assert_eq!((status, post_status), (200, 200));
        assert_eq!(first["success"], true);
        assert_eq!(no_store, "no-store");
        let (a, b) = (first["token"].as_str().unwrap(), second["token"].as_str().unwrap());
        // 32 random bytes in unpadded base64url: 256 bits, over the contract's 128.
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}

e2e_test! {
    async fn a_missing_token_is_required_and_a_foreign_one_expired(target: Target) {
        let app = spawn_app(target).await;
        let registration = Registration::valid(1);

        let missing = app.register_with(None, &registration).await;
        let empty = app.register_with(Some(""), &registration).await;
        let garbage = app.register_with(Some("not-a-token"), &registration).await;
        let unknown = app
            .register_with(Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), &registration)
            .await;

        let required = serde_json::json!({"success": false, "message": "The token is required."});
        let expired = serde_json::json!({"success": false, "message": "The token expired."});
        assert_eq!(missing, (401, required.clone()));
        assert_eq!(empty, (401, required));
        assert_eq!(garbage, (401, expired.clone()));
        assert_eq!(unknown, (401, expired));
    }
}

e2e_test! {
    async fn an_expired_token_is_refused(target: Target) {
        let app = spawn_app_with(target, AppOptions { token_ttl_seconds: 0, ..AppOptions::default() }).await;

        let (status, body) = app.register(&Registration::valid(1)).await;

        assert_eq!(status, 401);
        assert_eq!(body["message"], "The token expired.");
    }
}

e2e_test! {
    async fn rejected_registrations_do_not_use_up_the_token_but_a_success_does(target: Target) {
        let app = spawn_app(target).await;
        app.register(&Registration::valid(1)).await;
        let token = app.token().await;
        let mut invalid = Registration::valid(2);
        invalid.email = Some("nope".into());
        let duplicate = Registration::valid(1);

        let (first, _) = app.register_with(Some(&token), &invalid).await;
        let (second, _) = app.register_with(Some(&token), &duplicate).await;
        let (third, _) = app.register_with(Some(&token), &Registration::valid(2)).await;
        let (again, body) = app.register_with(Some(&token), &Registration::valid(3)).await;

        assert_eq!((first, second, third), (422, 409, 201));
        assert_eq!(again, 401);
        assert_eq!(body["message"], "The token expired.");
    }
}
