//! HTTP at its edges, as Spin serves it: `HEAD` answered as `GET` without the body, a body
//! that does not arrive in full never acted on, and an HTTP/1.0 request without `Host` left
//! unanswered by both servers.

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::e2e_test;
use crate::helpers::{AppOptions, Registration, TestApp, spawn_app, spawn_app_with};
use crate::raw_http::{RawConnection, multipart, registration_head};

e2e_test! {
    async fn head_answers_every_get_route_as_get_without_the_body(target: Target) {
        let app = spawn_app(target).await;
        let (_, registered) = app.register(&Registration::valid(1)).await;
        let id = registered["user_id"].as_i64().expect("user_id");
        let (_, user) = app.get_json(&format!("/api/v1/users/{id}")).await;
        let photo = user["user"]["photo"].as_str().expect("photo URL");
        let photo_path = photo.trim_start_matches(&app.address).to_owned();

        for path in [
            "/api/v1/positions".to_owned(),
            "/api/v1/users?page=1&count=5".to_owned(),
            format!("/api/v1/users/{id}"),
            "/api/v1/users/999".to_owned(),
            photo_path,
            "/".to_owned(),
        ] {
            let get = app.get(&path).await;
            let head = app.client.head(app.url(&path)).send().await.expect("HEAD");

            assert_eq!(head.status(), get.status(), "{path}");
            for header in ["content-type", "content-length", "etag", "cache-control"] {
                assert_eq!(head.headers().get(header), get.headers().get(header), "{path}: {header}");
            }
            assert!(head.headers().contains_key("content-length"), "{path}");
            assert!(head.bytes().await.expect("HEAD body").is_empty(), "{path}");
        }
    }
}

/// Sends a whole, valid registration whose request declares more than it sends (or is
/// chunked without its last chunk), half-closes, and checks nothing was done with it.
async fn cut_short(app: &TestApp, chunked: bool) {
    let token = app.token().await;
    let body = multipart(&Registration::valid(1));
    let mut connection = RawConnection::open(app).await;
    if chunked {
        connection
            .send_head(
                &format!(
                    "{}\r\nTransfer-Encoding: chunked",
                    registration_head(&token)
                ),
                0,
            )
            .await;
        let mut chunk = format!("{:x}\r\n", body.len()).into_bytes();
        chunk.extend_from_slice(&body);
        chunk.extend_from_slice(b"\r\n");
        connection.send_body(&chunk).await; // and never the closing `0\r\n\r\n`
    } else {
        connection
            .send_head(&registration_head(&token), body.len() + 100)
            .await;
        connection.send_body(&body).await;
    }
    connection.finish_sending().await;

    // The server may answer (the app's 400) or drop the connection; either way, nothing
    // may have been registered and the token must still work.
    if let Some(answer) = connection.read_response_or_close("a body cut short").await {
        let body: serde_json::Value = serde_json::from_slice(&answer.body).expect("a JSON body");
        assert_eq!(
            (answer.status, body),
            (
                400,
                json!({"success": false, "message": "The request body did not arrive in full."})
            )
        );
    }
    assert_eq!(app.total_users().await, 0);
    assert_eq!(app.photos_stored().await, 0);
    let (status, body) = app
        .register_with(Some(&token), &Registration::valid(1))
        .await;
    assert_eq!(status, 201, "the token is still usable: {body}");
}

e2e_test! {
    async fn a_body_shorter_than_its_content_length_is_never_acted_on(target: Target) {
        cut_short(&spawn_app(target).await, false).await;
    }
}

e2e_test! {
    async fn a_chunked_body_without_its_last_chunk_is_never_acted_on(target: Target) {
        cut_short(&spawn_app(target).await, true).await;
    }
}

e2e_test! {
    /// A client that stalls mid-upload gets the contract's answer when the body's time is
    /// up (Spin never times it out), and its registration is not performed.
    async fn a_body_that_stalls_is_answered_408_when_its_time_is_up(target: Target) {
        let options = AppOptions { registration_body_timeout_seconds: 2, ..AppOptions::default() };
        let app = spawn_app_with(target, options).await;
        let token = app.token().await;
        let body = multipart(&Registration::valid(1));
        let mut connection = RawConnection::open(&app).await;
        connection.send_head(&registration_head(&token), body.len()).await;
        // The head, the text fields and half the photo; then nothing more.
        connection.send_body(&body[..body.len() - 200]).await;

        let answer = connection.read_response("a stalled upload").await;

        let answer_body: serde_json::Value = serde_json::from_slice(&answer.body).expect("a JSON body");
        assert_eq!(
            (answer.status, answer_body),
            (408, json!({"success": false, "message": "The request body did not arrive in time."}))
        );
        assert_eq!(app.total_users().await, 0);
        assert_eq!(app.photos_stored().await, 0);
        let (status, body) = app.register_with(Some(&token), &Registration::valid(1)).await;
        assert_eq!(status, 201, "the token is still usable: {body}");
    }
}

e2e_test! {
    async fn an_http_1_0_request_without_host_is_closed_unanswered(target: Target) {
        let app = spawn_app(target).await;
        let address = app.address.trim_start_matches("http://").to_owned();
        let exchange = |request: &'static str| {
            let address = address.clone();
            async move {
                let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
                stream.write_all(request.as_bytes()).await.expect("send");
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer).await.expect("read to the close");
                String::from_utf8_lossy(&answer).into_owned()
            }
        };

        // Spin cannot build the URL of a request that names no host: it closes the
        // connection without an answer. With `Host`, HTTP/1.0 is served.
        let without_host = exchange("GET /api/v1/positions HTTP/1.0\r\n\r\n").await;
        let with_host = exchange("GET /api/v1/positions HTTP/1.0\r\nHost: example.com\r\n\r\n").await;

        assert_eq!(without_host, "");
        assert!(
            with_host.starts_with("HTTP/1.") && with_host.contains(" 200 OK\r\n"),
            "{with_host}"
        );
    }
}

e2e_test! {
    /// HTTP lets a header value carry bytes that are not UTF-8; Spin (4.1 and 3.6) makes
    /// every value a string before it picks an instance, and answers such a request 500
    /// with no body (docs/upstream-spin.md, "Non-UTF-8 header values"). Nothing the app
    /// does can change that; this pins it down, on both servers, so a Spin that fixes it
    /// shows here. The next request is served.
    async fn a_header_value_that_is_not_utf8_is_refused_before_the_app(target: Target) {
        let app = spawn_app(target).await;
        let mut connection = RawConnection::open(&app).await;

        connection.send_head("GET /api/v1/positions HTTP/1.1\r\nX-Anything: caf\u{e9}", 0).await;
        let refused = {
            let mut raw = RawConnection::open(&app).await;
            raw.send_bytes(b"GET /api/v1/positions HTTP/1.1\r\nHost: x\r\nX-Anything: \xe9\r\n\r\n").await;
            raw.read_response("a non-UTF-8 header").await
        };
        let served = connection.read_response("a UTF-8 header").await;

        assert_eq!((refused.status, refused.body.len()), (500, 0));
        assert_eq!(served.status, 200);
    }
}
