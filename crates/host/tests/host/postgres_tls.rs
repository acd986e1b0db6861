//! PostgreSQL over TLS as Spin connects: the certificate chain and host name are verified
//! unless the address says `sslmode=disable`, against the system's roots plus the CA root a
//! guest passes to `connection-builder.set-ca-root`.
//!
//! The verified path needs a server whose certificate names 127.0.0.1 and comes from a CA the
//! test controls: `pg-tls-front` in front of the machine's PostgreSQL.

use pg_tls_front::PgTlsFront;

use crate::support::{Options, TestApp, q};

async fn front() -> PgTlsFront {
    PgTlsFront::start("127.0.0.1:5432")
        .await
        .expect("the TLS front starts")
}

/// The fixture app, its PostgreSQL at `address`, which `allowed_outbound_hosts` permits as
/// `host` (`host:port`).
async fn app_for(address: &str, host: &str) -> TestApp {
    TestApp::start_with(Options {
        variables: [
            ("pg_address".to_owned(), address.to_owned()),
            ("pg_host".to_owned(), host.to_owned()),
        ]
        .into(),
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_root_from_the_guest_verifies_the_server() {
    let front = front().await;
    let (ca, front) = (front.ca_pem, front.addr);
    let app = app_for(
        &format!("postgres://postgres@{front}/test"),
        &front.to_string(),
    )
    .await;

    let trusted = app
        .json(&format!("/all/pg?sql={}&ca={}", q("SELECT 1"), q(&ca)))
        .await;
    let untrusted = app.json(&format!("/all/pg?sql={}", q("SELECT 1"))).await;
    let required = app_for(
        &format!("postgres://postgres@{front}/test?sslmode=require"),
        &front.to_string(),
    )
    .await
    .json(&format!("/all/pg?sql={}&ca={}", q("SELECT 1"), q(&ca)))
    .await;

    assert_eq!(trusted, serde_json::json!({ "rows": [[1]] }));
    assert_eq!(required, serde_json::json!({ "rows": [[1]] }));
    let error = untrusted["open_error"].as_str().unwrap_or_default();
    assert!(error.contains("certificate verify failed"), "{untrusted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_refused_even_from_a_trusted_ca() {
    let front = front().await;
    let (ca, front) = (front.ca_pem, front.addr);
    // The certificate names 127.0.0.1; the address names localhost.
    let host = format!("localhost:{}", front.port());
    let app = app_for(&format!("postgres://postgres@{host}/test"), &host).await;

    let body = app
        .json(&format!("/all/pg?sql={}&ca={}", q("SELECT 1"), q(&ca)))
        .await;

    let error = body["open_error"].as_str().unwrap_or_default();
    assert!(error.contains("certificate verify failed"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_ca_root_is_refused() {
    let app = TestApp::start().await;

    let body = app
        .json(&format!(
            "/all/pg?sql={}&ca={}",
            q("SELECT 1"),
            q("not a certificate")
        ))
        .await;

    let error = body["open_error"].as_str().unwrap_or_default();
    assert!(error.contains("invalid root certificate"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_disable_connects_in_plain_text() {
    // The test manifest's default address: the machine's PostgreSQL with sslmode=disable.
    let app = TestApp::start().await;

    let body = app.json(&format!("/all/pg?sql={}", q("SELECT 1"))).await;

    assert_eq!(body, serde_json::json!({ "rows": [[1]] }));
}
