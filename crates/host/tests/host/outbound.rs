//! Outbound HTTP, allowed only to `allowed_outbound_hosts`.

use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::json;

use crate::support::{Options, TestApp, q};

/// A server answering every request with `pong`.
async fn pong_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from(
                        "pong",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn app_allowing(port: u16) -> TestApp {
    TestApp::start_with(Options {
        variables: [("mock_port".to_owned(), port.to_string())].into(),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn an_allowed_host_is_reached() {
    let mock = pong_server().await;
    let app = app_allowing(mock.port()).await;

    let body = app
        .json(&format!(
            "/all/outbound?url={}",
            q(&format!("http://{mock}/ping"))
        ))
        .await;

    assert_eq!(body, json!({ "status": 200, "body": "pong" }));
}

#[tokio::test]
async fn a_component_without_the_grant_is_denied() {
    let mock = pong_server().await;
    let app = app_allowing(mock.port()).await;

    let body = app
        .json(&format!(
            "/bare/outbound?url={}",
            q(&format!("http://{mock}/ping"))
        ))
        .await;

    assert!(
        body["error"].to_string().contains("HttpRequestDenied"),
        "{body}"
    );
}

#[tokio::test]
async fn another_port_on_an_allowed_host_is_denied() {
    let mock = pong_server().await;
    let other = pong_server().await;
    let app = app_allowing(mock.port()).await;

    let body = app
        .json(&format!(
            "/all/outbound?url={}",
            q(&format!("http://{other}/ping"))
        ))
        .await;

    assert!(
        body["error"].to_string().contains("HttpRequestDenied"),
        "{body}"
    );
}
