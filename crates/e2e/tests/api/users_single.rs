//! CONTRACT.md, "GET /api/v1/users/{id}".

use serde_json::json;

use crate::e2e_test;
use crate::helpers::{Registration, spawn_app};

e2e_test! {
    async fn a_user_is_shown_without_its_timestamp(target: Target) {
        let app = spawn_app(target).await;
        let (_, created) = app.register(&Registration::valid(7)).await;
        let id = created["user_id"].as_i64().unwrap();

        let (status, body) = app.get_json(&format!("/api/v1/users/{id}")).await;

        assert_eq!(status, 200);
        let user = &body["user"];
        assert_eq!(user["id"], id);
        assert_eq!(user["name"], "User 7");
        assert_eq!(user["phone"], "+380500000007");
        assert_eq!(user["position"], "Content manager");
        assert_eq!(user["position_id"], 2);
        assert!(user.get("registration_timestamp").is_none());
        assert!(user["photo"].as_str().unwrap().starts_with(&app.address));
    }
}

e2e_test! {
    async fn a_non_integer_id_is_400(target: Target) {
        let app = spawn_app(target).await;

        for id in ["abc", "1.5", "1e3"] {
            let (status, body) = app.get_json(&format!("/api/v1/users/{id}")).await;

            assert_eq!(status, 400, "{id}");
            assert_eq!(body, json!({"success": false, "message": "Validation failed",
                "fails": {"user_id": ["The user_id must be an integer."]}}));
        }
    }
}

e2e_test! {
    async fn a_missing_user_is_404(target: Target) {
        let app = spawn_app(target).await;

        for id in ["999", "0", "-4"] {
            let (status, body) = app.get_json(&format!("/api/v1/users/{id}")).await;

            assert_eq!(status, 404, "{id}");
            assert_eq!(body, json!({"success": false,
                "message": "The user with the requested identifier does not exist",
                "fails": {"user_id": ["User not found"]}}));
        }
    }
}
