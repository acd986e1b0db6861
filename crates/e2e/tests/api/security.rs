//! Headers and secrets: every response tells browsers not to sniff its type, and no secret
//! (database password, TinyPNG key, seed key) reaches an error body or the host's log, even
//! when the services behind those secrets fail.

use std::time::Duration;

use tinypng_mock::{Behaviour, MockTinify};

use crate::e2e_test;
use crate::helpers::{Build, Registration, json, local_stores_config, postgres_schema, spawn_app};
use crate::server_process::ServerProcess;

e2e_test! {
    async fn every_response_says_nosniff(target: Target) {
        let app = spawn_app(target).await;
        app.seed(1).await;
        let (_, page) = app.get_json("/api/v1/users?count=1").await;
        let photo = page["users"][0]["photo"].as_str().expect("a photo URL").to_owned();
        let requests = [
            app.client.get(app.url("/api/v1/token")),
            app.client.get(app.url("/api/v1/positions")),
            app.client.get(app.url("/api/v1/users?page=1&count=5")),
            app.client.get(app.url("/api/v1/users?page=0")),
            app.client.get(app.url("/api/v1/users/1")),
            app.client.get(app.url("/api/v1/users/999999")),
            app.client.delete(app.url("/api/v1/users")),
            app.client.post(app.url("/api/v1/users")),
            app.client.get(photo),
            app.client.get(app.url("/images/users/0.jpeg")),
            app.client.get(app.url("/")),
            app.client.get(app.url("/nothing/here")),
            app.client.post(app.url("/api/v1/seed")),
            app.client.request(reqwest::Method::OPTIONS, app.url("/api/v1/users"))
                .header("Origin", "https://example.com")
                .header("Access-Control-Request-Method", "POST"),
        ];
        for request in requests {
            let response = request.send().await.expect("request");
            let what = format!("{} {}", response.status(), response.url());
            assert_eq!(
                response.headers().get("x-content-type-options").map(|v| v.as_bytes()),
                Some(&b"nosniff"[..]),
                "{what}"
            );
        }
    }
}

/// Secrets the app is given in the test below; none may be seen outside.
const DB_PASSWORD: &str = "db-Pa55word-2f9c";
const TINIFY_SECRET: &str = "tinify-key-7d41e0";
const SEED_SECRET: &str = "seed-key-93b7aa5c1e0d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_an_error_body_or_the_log() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let runtime_config = dir.path().join("runtime-config.toml");
    std::fs::write(&runtime_config, local_stores_config()).expect("runtime config");
    // TinyPNG refuses the key (it expects another), so every optimisation fails and says so.
    let tinify = MockTinify::start("another-key", Behaviour::Normal)
        .await
        .expect("TinyPNG mock");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client");

    // One app whose database is unreachable (nothing listens on port 9), its URL carrying
    // the password; one on a working database whose TinyPNG key is refused.
    let (working_url, _) = postgres_schema().await;
    let broken_url = format!("postgres://usersbypage:{DB_PASSWORD}@127.0.0.1:9/usersbypage");
    let mut logs = String::new();
    for (database_url, postgres_host) in [
        (broken_url, "127.0.0.1:9".to_owned()),
        (working_url, "127.0.0.1:5432".to_owned()),
    ] {
        let host = ServerProcess::start(
            Build::Wasi03,
            &runtime_config,
            &dir.path().join(postgres_host.replace(':', "-")),
            &[
                ("database_url", database_url),
                ("postgres_host", postgres_host),
                ("tinify_base_url", tinify.url()),
                ("tinify_api_key", TINIFY_SECRET.to_owned()),
                ("tinify_timeout_ms", "2000".to_owned()),
                ("seed_key", SEED_SECRET.to_owned()),
            ],
        );
        let mut bodies = Vec::new();
        for path in ["/api/v1/users", "/api/v1/users/1", "/api/v1/positions"] {
            let response = client.get(host.url(path)).send().await.expect("request");
            bodies.push(response.text().await.expect("body"));
        }
        let wrong_seed = client
            .post(host.url("/api/v1/seed?count=1"))
            .header("Seed-Key", "not-the-key")
            .send()
            .await
            .expect("seed");
        bodies.push(wrong_seed.text().await.expect("body"));
        let seeded = client
            .post(host.url("/api/v1/seed?count=1"))
            .header("Seed-Key", SEED_SECRET)
            .send()
            .await
            .expect("seed");
        bodies.push(seeded.text().await.expect("body"));
        let token = client
            .get(host.url("/api/v1/token"))
            .send()
            .await
            .expect("token");
        let (_, token) = json(token).await;
        let registration = Registration::valid(1);
        let registered = client
            .post(host.url("/api/v1/users"))
            .header("Token", token["token"].as_str().unwrap_or_default())
            .multipart(registration.form())
            .send()
            .await
            .expect("registration");
        bodies.push(registered.text().await.expect("body"));

        for body in &bodies {
            let value: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
            if value["success"] == false {
                assert!(
                    body.len() < 400 && !body.contains("127.0.0.1") && !body.contains("postgres"),
                    "an error body with internal detail: {body}"
                );
            }
        }
        for secret in [DB_PASSWORD, TINIFY_SECRET, SEED_SECRET] {
            assert!(
                !bodies.iter().any(|b| b.contains(secret)),
                "{secret} in a body"
            );
        }
        // Give the log readers a moment to catch the last lines.
        tokio::time::sleep(Duration::from_millis(300)).await;
        logs.push_str(&host.log());
    }

    // The failures were logged (so the test saw the paths that handle secrets)...
    assert!(logs.contains("internal error"), "{logs}");
    assert!(logs.contains("tinify:"), "{logs}");
    // ...and no secret was.
    for secret in [DB_PASSWORD, TINIFY_SECRET, SEED_SECRET] {
        assert!(!logs.contains(secret), "{secret} in the log:\n{logs}");
    }
}
