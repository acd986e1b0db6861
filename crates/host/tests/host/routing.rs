//! Spin's route matching and request headers.

use crate::support::TestApp;

#[tokio::test]
async fn a_wildcard_route_passes_spins_headers_and_an_absolute_uri() {
    let app = TestApp::start().await;

    let body = app.json("/all/v1/headers?x=1").await;

    let h = &body["headers"];
    let base = format!("http://{}", app.running.addr());
    assert_eq!(h["spin-full-url"], format!("{base}/all/v1/headers?x=1"));
    assert_eq!(body["uri"], format!("{base}/all/v1/headers?x=1"));
    assert_eq!(h["spin-path-info"], "/v1/headers");
    assert_eq!(h["spin-matched-route"], "/all/...");
    assert_eq!(h["spin-raw-component-route"], "/all/...");
    assert_eq!(h["spin-component-route"], "/all");
    assert_eq!(h["spin-base-path"], "/");
    let client = h["spin-client-addr"].as_str().unwrap_or_default();
    assert!(client.starts_with("127.0.0.1:"), "client addr {client}");
}

#[tokio::test]
async fn an_exact_route_beats_a_wildcard_and_has_no_path_info() {
    let app = TestApp::start().await;

    let body = app.json("/exact/headers").await;

    assert_eq!(body["headers"]["spin-matched-route"], "/exact/headers");
    assert_eq!(body["headers"]["spin-path-info"], "");
}

#[tokio::test]
async fn named_segments_are_passed_as_path_match_headers() {
    let app = TestApp::start().await;

    let body = app.json("/items/42/headers").await;

    assert_eq!(body["headers"]["spin-matched-route"], "/items/:id/headers");
    assert_eq!(body["headers"]["spin-path-match-id"], "42");
}

#[tokio::test]
async fn a_path_no_route_matches_is_a_host_404() {
    let app = TestApp::start().await;

    let (status, _) = app.get("/nowhere").await;
    let (root, _) = app.get("/").await;

    assert_eq!(status, 404);
    assert_eq!(root, 404);
}

#[tokio::test]
async fn a_large_request_body_reaches_the_guest_whole() {
    let app = TestApp::start().await;
    let body = vec![7u8; 32 << 20];

    let response = app
        .client
        .post(app.url("/all/body-length"))
        .body(body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), (32usize << 20).to_string());
}
