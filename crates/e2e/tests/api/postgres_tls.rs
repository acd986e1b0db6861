//! PostgreSQL over TLS, as Spin connects: with the server's certificate from a private CA,
//! the app works once `postgres_ca_root` holds that CA and fails (the contract's 500)
//! without it. The WASI 0.2 build cannot pass a CA on to Spin and refuses to start a
//! connection with one rather than ignore it.

use pg_tls_front::PgTlsFront;
use serde_json::json;

use crate::helpers::{AppOptions, Build, Registration, Sql, Target, spawn_app_with};

fn on_postgres(build: Build) -> Target {
    Target {
        build,
        sql: Sql::Postgres,
        platform: None,
    }
}

async fn front() -> PgTlsFront {
    PgTlsFront::start("127.0.0.1:5432")
        .await
        .expect("the TLS front starts")
}

fn fault() -> (u16, serde_json::Value) {
    (
        500,
        json!({"success": false, "message": "Internal server error"}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_in_postgres_ca_root_lets_the_app_verify_its_database() {
    let front = front().await;
    let options = AppOptions {
        postgres_tls_front: Some(front.addr),
        postgres_ca_root: Some(front.ca_pem),
        ..AppOptions::default()
    };
    let app = spawn_app_with(on_postgres(Build::Wasi03), options).await;

    let (positions, _) = app.get_json("/api/v1/positions").await;
    let (registered, body) = app.register(&Registration::valid(1)).await;

    assert_eq!(positions, 200);
    assert_eq!(registered, 201, "{body}");
    assert_eq!(app.total_users().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_a_database_with_a_private_certificate_is_refused() {
    let front = front().await;
    let options = AppOptions {
        postgres_tls_front: Some(front.addr),
        ..AppOptions::default()
    };
    let app = spawn_app_with(on_postgres(Build::Wasi03), options).await;

    assert_eq!(app.get_json("/api/v1/users").await, fault());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_root_is_refused_by_the_build_that_cannot_pass_it_on() {
    // Plain text (sslmode=disable), where the CA is not even needed: the WASI 0.3 build
    // serves, the WASI 0.2 build says the setting is one it cannot honour.
    let ca = front().await.ca_pem;
    let with_ca = || AppOptions {
        postgres_ca_root: Some(ca.clone()),
        ..AppOptions::default()
    };
    let wasi03 = spawn_app_with(on_postgres(Build::Wasi03), with_ca()).await;
    let wasi02 = spawn_app_with(on_postgres(Build::Wasi02), with_ca()).await;

    assert_eq!(wasi03.get_json("/api/v1/users").await.0, 200);
    assert_eq!(wasi02.get_json("/api/v1/users").await, fault());
}
