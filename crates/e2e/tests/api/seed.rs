//! CONTRACT.md, "Seed".

use serde_json::json;

use crate::e2e_test;
use crate::helpers::{AppOptions, SEED_KEY, spawn_app, spawn_app_with};

e2e_test! {
    async fn seeding_creates_realistic_users_sharing_one_photo(target: Target) {
        let app = spawn_app(target).await;

        let (status, body) = app.seed(12).await;

        assert_eq!(status, 201, "{body}");
        assert_eq!(body["users_created"], 12);
        let (_, list) = app.get_json("/api/v1/users?count=100").await;
        let users = list["users"].as_array().unwrap();
        assert_eq!(users.len(), 12);
        let mut emails: Vec<&str> = users.iter().map(|u| u["email"].as_str().unwrap()).collect();
        emails.sort_unstable();
        emails.dedup();
        assert_eq!(emails.len(), 12, "emails are unique");
        for user in users {
            let phone = user["phone"].as_str().unwrap();
            assert!(phone.starts_with("+380") && phone.len() == 13, "{phone}");
            assert!((1..=4).contains(&user["position_id"].as_i64().unwrap()));
            assert!(user["name"].as_str().unwrap().contains(' '));
        }
        let photos: Vec<&str> = users.iter().map(|u| u["photo"].as_str().unwrap()).collect();
        assert!(photos.iter().all(|p| *p == photos[0]), "one shared photo");
        let photo = image::load_from_memory(&app.photo_of(users[0]["id"].as_i64().unwrap()).await).unwrap();
        assert_eq!((photo.width(), photo.height()), (70, 70));
    }
}

e2e_test! {
    async fn the_default_count_is_45(target: Target) {
        let app = spawn_app(target).await;

        let response = app
            .client
            .post(app.url("/api/v1/seed"))
            .header("Seed-Key", SEED_KEY)
            .send()
            .await
            .unwrap();
        let (status, body) = crate::helpers::json(response).await;

        assert_eq!((status, body["users_created"].clone()), (201, json!(45)));
        assert_eq!(app.total_users().await, 45);
    }
}

e2e_test! {
    async fn a_wrong_or_missing_key_is_403(target: Target) {
        let app = spawn_app(target).await;
        let forbidden = json!({"success": false, "message": "Forbidden"});

        let wrong = app.client.post(app.url("/api/v1/seed")).header("Seed-Key", "guess").send().await.unwrap();
        let missing = app.client.post(app.url("/api/v1/seed")).send().await.unwrap();

        assert_eq!(crate::helpers::json(wrong).await, (403, forbidden.clone()));
        assert_eq!(crate::helpers::json(missing).await, (403, forbidden));
        assert_eq!(app.total_users().await, 0);
    }
}

e2e_test! {
    async fn without_a_configured_key_the_endpoint_does_not_exist(target: Target) {
        let app = spawn_app_with(target, AppOptions { seed_key: "", ..AppOptions::default() }).await;

        let response = app.client.post(app.url("/api/v1/seed")).header("Seed-Key", "").send().await.unwrap();

        assert_eq!(crate::helpers::json(response).await, (404, json!({"success": false, "message": "Page not found"})));
    }
}

e2e_test! {
    /// deploy/secret.example.yaml said `seed_key: "CHANGE-ME"`: applied unchanged, anyone
    /// who read the repository could seed. A placeholder or a short key leaves the
    /// operator endpoints off, as no key does.
    async fn a_placeholder_or_short_key_leaves_the_endpoints_off(target: Target) {
        for key in ["CHANGE-ME", "short-key"] {
            let app = spawn_app_with(target, AppOptions { seed_key: key, ..AppOptions::default() }).await;

            for (method, path) in [(reqwest::Method::POST, "/api/v1/seed"), (reqwest::Method::GET, "/api/v1/maintenance/photos")] {
                let response = app.client.request(method, app.url(path)).header("Seed-Key", key).send().await.unwrap();
                assert_eq!(
                    crate::helpers::json(response).await,
                    (404, json!({"success": false, "message": "Page not found"})),
                    "{key} {path}"
                );
            }
            assert_eq!(app.total_users().await, 0);
        }
    }
}

e2e_test! {
    async fn a_bad_count_is_422(target: Target) {
        let app = spawn_app(target).await;
        for (count, message) in [
            ("0", "The count must be at least 1."),
            ("1001", "The count may not be greater than 1000."),
            ("many", "The count must be an integer."),
        ] {
            let response = app
                .client
                .post(app.url(&format!("/api/v1/seed?count={count}")))
                .header("Seed-Key", SEED_KEY)
                .send()
                .await
                .unwrap();
            let (status, body) = crate::helpers::json(response).await;

            assert_eq!(status, 422, "{count}");
            assert_eq!(body["fails"], json!({"count": [message]}));
        }
    }
}

e2e_test! {
    async fn seeding_restores_missing_positions_and_refreshes_the_cache(target: Target) {
        let app = spawn_app(target).await;
        app.get_json("/api/v1/positions").await;
        app.sql("DELETE FROM positions").await;

        app.seed(1).await;
        let (status, body) = app.get_json("/api/v1/positions").await;

        assert_eq!(status, 200);
        assert_eq!(body["positions"].as_array().unwrap().len(), 4);
    }
}

e2e_test! {
    async fn the_command_line_seeder_fills_a_running_deployment_in_batches(target: Target) {
        let app = spawn_app(target).await;
        let address = app.address.clone();
        let mut reported = Vec::new();

        let created = tokio::task::spawn_blocking(move || {
            let result = seed_cli::seed(&address, SEED_KEY, 25, 10, |done| reported.push(done));
            (result, reported)
        })
        .await
        .unwrap();

        let (result, reported) = created;
        assert_eq!(result.unwrap(), 25);
        assert_eq!(reported, vec![10, 20, 25]);
        assert_eq!(app.total_users().await, 25);
    }
}

e2e_test! {
    async fn the_command_line_seeder_reports_a_wrong_key(target: Target) {
        let app = spawn_app(target).await;
        let address = app.address.clone();

        let result = tokio::task::spawn_blocking(move || seed_cli::seed(&address, "wrong", 5, 5, |_| {}))
            .await
            .unwrap();

        let error = result.unwrap_err().to_string();
        assert!(error.contains("403") && error.contains("Forbidden"), "{error}");
    }
}
