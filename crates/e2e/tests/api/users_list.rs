//! CONTRACT.md, "GET /api/v1/users?page=&count=&offset=".

use serde_json::{Value, json};

use crate::e2e_test;
use crate::helpers::{Registration, spawn_app};

e2e_test! {
    async fn an_empty_registry_is_an_empty_first_page(target: Target) {
        let app = spawn_app(target).await;

        let (status, body) = app.get_json("/api/v1/users").await;

        assert_eq!(status, 200);
        assert_eq!(body, json!({
            "success": true, "page": 1, "total_pages": 0, "total_users": 0, "count": 0,
            "links": {"next_url": null, "prev_url": null}, "users": []
        }));
    }
}

e2e_test! {
    async fn pages_count_and_link_like_the_contract(target: Target) {
        let app = spawn_app(target).await;
        app.seed(7).await;

        let (_, first) = app.get_json("/api/v1/users?page=1&count=5").await;
        let (_, second) = app.get_json("/api/v1/users?page=2&count=5").await;
        let (_, default) = app.get_json("/api/v1/users").await;

        assert_eq!((first["page"].clone(), first["total_pages"].clone(), first["total_users"].clone(), first["count"].clone()), (json!(1), json!(2), json!(7), json!(5)));
        assert_eq!(first["links"]["next_url"], format!("{}/api/v1/users?page=2&count=5&as_of=7", app.address));
        assert_eq!(first["links"]["prev_url"], Value::Null);
        assert_eq!(second["count"], 2);
        assert_eq!(second["links"]["next_url"], Value::Null);
        assert_eq!(second["links"]["prev_url"], format!("{}/api/v1/users?page=1&count=5&as_of=7", app.address));
        assert_eq!(default["count"], 5, "count defaults to 5");
    }
}

e2e_test! {
    async fn users_are_newest_first_with_typed_fields_and_absolute_photos(target: Target) {
        let app = spawn_app(target).await;
        let mut ids = Vec::new();
        for n in 1..=3 {
            let (status, body) = app.register(&Registration::valid(n)).await;
            assert_eq!(status, 201, "{body}");
            ids.push(body["user_id"].as_i64().unwrap());
        }

        let (_, body) = app.get_json("/api/v1/users?count=10").await;

        let users = body["users"].as_array().unwrap();
        let listed: Vec<i64> = users.iter().map(|u| u["id"].as_i64().unwrap()).collect();
        ids.reverse();
        assert_eq!(listed, ids);
        let newest = &users[0];
        assert_eq!(newest["name"], "User 3");
        assert_eq!(newest["email"], "user3@example.com");
        assert_eq!(newest["phone"], "+380500000003");
        assert_eq!(newest["position"], "Content manager");
        assert_eq!(newest["position_id"], 2);
        assert!(newest["registration_timestamp"].is_i64());
        let photo = newest["photo"].as_str().unwrap();
        assert!(photo.starts_with(&format!("{}/images/users/", app.address)) && photo.ends_with(".jpeg"), "{photo}");
    }
}

e2e_test! {
    async fn offset_pages_keep_the_offset_form(target: Target) {
        let app = spawn_app(target).await;
        app.seed(7).await;

        let (_, middle) = app.get_json("/api/v1/users?offset=3&count=2&page=9").await;
        let (_, start) = app.get_json("/api/v1/users?offset=0&count=5").await;
        let (_, end) = app.get_json("/api/v1/users?offset=5&count=5").await;

        assert_eq!(middle["page"], 2, "offset / count + 1");
        assert_eq!(middle["count"], 2);
        assert_eq!(middle["links"]["next_url"], format!("{}/api/v1/users?offset=5&count=2&as_of=7", app.address));
        assert_eq!(middle["links"]["prev_url"], format!("{}/api/v1/users?offset=1&count=2&as_of=7", app.address));
        assert_eq!(start["links"]["prev_url"], Value::Null);
        assert_eq!(end["count"], 2);
        assert_eq!(end["links"]["next_url"], Value::Null);
        assert_eq!(end["links"]["prev_url"], format!("{}/api/v1/users?offset=0&count=5&as_of=7", app.address));
    }
}

e2e_test! {
    async fn a_page_past_the_end_is_404(target: Target) {
        let app = spawn_app(target).await;
        app.seed(3).await;

        let page = app.get_json("/api/v1/users?page=2&count=5").await;
        let offset = app.get_json("/api/v1/users?offset=3").await;

        let not_found = json!({"success": false, "message": "Page not found"});
        assert_eq!(page, (404, not_found.clone()));
        assert_eq!(offset, (404, not_found));
    }
}

e2e_test! {
    /// PostgreSQL's `bigint` overflowed on `total - offset - count` (a 500, and the
    /// instance's connection dropped); SQLite answered 404.
    async fn the_largest_offsets_are_past_the_end_on_either_database(target: Target) {
        let app = spawn_app(target).await;
        app.seed(3).await;
        let not_found = json!({"success": false, "message": "Page not found"});

        for query in [
            "offset=9223372036854775807&count=5",
            "offset=9223372036854775807&count=100",
            "page=9223372036854775807&count=100",
        ] {
            assert_eq!(app.get_json(&format!("/api/v1/users?{query}")).await, (404, not_found.clone()), "{query}");
        }
        let (status, page) = app.get_json("/api/v1/users?offset=1&count=100").await;
        assert_eq!((status, page["count"].clone()), (200, json!(2)), "the next request is served: {page}");
    }
}

e2e_test! {
    async fn bad_parameters_are_422_with_every_failure(target: Target) {
        let app = spawn_app(target).await;
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("page=abc&count=0", &[("page", "The page must be an integer."), ("count", "The count must be at least 1.")]),
            ("page=0", &[("page", "The page must be at least 1.")]),
            ("count=1.5", &[("count", "The count must be an integer.")]),
            ("count=101", &[("count", "The count may not be greater than 100.")]),
            ("offset=x", &[("offset", "The offset must be an integer.")]),
            ("offset=-1", &[("offset", "The offset must be at least 0.")]),
            ("as_of=soon&page=0", &[("as_of", "The as_of must be an integer."), ("page", "The page must be at least 1.")]),
            ("as_of=-1", &[("as_of", "The as_of must be at least 0.")]),
        ];
        for (query, expected) in cases {
            let (status, body) = app.get_json(&format!("/api/v1/users?{query}")).await;

            assert_eq!(status, 422, "{query}: {body}");
            assert_eq!(body["message"], "Validation failed");
            let fails = body["fails"].as_object().unwrap();
            assert_eq!(fails.len(), expected.len(), "{query}: {body}");
            for (field, message) in *expected {
                assert_eq!(body["fails"][field], json!([message]), "{query}");
            }
        }
    }
}

e2e_test! {
    async fn links_and_photos_follow_the_proxys_scheme_and_host(target: Target) {
        let app = spawn_app(target).await;
        app.seed(6).await;

        let response = app
            .client
            .get(app.url("/api/v1/users?count=5"))
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", "api.example.com")
            .send()
            .await
            .unwrap();
        let (_, body) = crate::helpers::json(response).await;

        assert_eq!(body["links"]["next_url"], "https://api.example.com/api/v1/users?page=2&count=5&as_of=6");
        assert!(body["users"][0]["photo"].as_str().unwrap().starts_with("https://api.example.com/images/users/"));
    }
}
