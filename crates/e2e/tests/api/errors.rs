//! CONTRACT.md, "Errors, in general": unknown routes, wrong methods, server faults.

use serde_json::json;

use crate::e2e_test;
use crate::helpers::{Registration, spawn_app};

e2e_test! {
    async fn an_unknown_route_is_the_contracts_404(target: Target) {
        let app = spawn_app(target).await;

        for path in ["/nope", "/api/v1/nope", "/api", "/api/v1/users/1/extra", "/api/v1/usersx", "/index.htm"] {
            let result = app.get_json(path).await;

            assert_eq!(result, (404, json!({"success": false, "message": "Page not found"})), "{path}");
        }
    }
}

e2e_test! {
    async fn a_wrong_method_is_405_with_allow(target: Target) {
        let app = spawn_app(target).await;
        let cases = [
            (reqwest::Method::DELETE, "/api/v1/users", "GET, POST, HEAD, OPTIONS"),
            (reqwest::Method::PUT, "/api/v1/positions", "GET, HEAD, OPTIONS"),
            (reqwest::Method::POST, "/api/v1/users/1", "GET, HEAD, OPTIONS"),
            (reqwest::Method::PATCH, "/api/v1/token", "GET, POST, HEAD, OPTIONS"),
            (reqwest::Method::GET, "/api/v1/seed", "POST, OPTIONS"),
        ];
        for (method, path, allow) in cases {
            let response = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
            let allowed = response.headers()["allow"].to_str().unwrap().to_owned();
            let (status, body) = crate::helpers::json(response).await;

            assert_eq!(status, 405, "{method} {path}");
            assert_eq!(allowed, allow, "{method} {path}");
            assert_eq!(body, json!({"success": false, "message": "Method not allowed"}));
        }
    }
}

e2e_test! {
    async fn a_broken_database_is_a_500_that_leaks_nothing(target: Target) {
        let app = spawn_app(target).await;
        app.register(&Registration::valid(1)).await;
        // PostgreSQL drops the `registrations` view on the table with it only when told.
        app.sql(match target.sql {
            crate::helpers::Sql::Sqlite => "DROP TABLE users",
            crate::helpers::Sql::Postgres => "DROP TABLE users CASCADE",
        })
        .await;

        let list = app.get_json("/api/v1/users").await;
        let register = app.register(&Registration::valid(2)).await;

        let fault = json!({"success": false, "message": "Internal server error"});
        assert_eq!(list, (500, fault.clone()));
        assert_eq!(register, (500, fault));
    }
}
