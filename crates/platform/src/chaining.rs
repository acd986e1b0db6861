//! Handing a request to another component of the same app: Spin's service chaining (WASI
//! 0.3 build only: its reused instances are why the app chains; see the users component).
//!
//! A request to `http://<component>.spin.internal/<path>` never leaves Spin: Spin runs the
//! named component in its own instance and returns its answer (spinframework/spin,
//! `trigger-http/src/outbound_http.rs`). The caller needs that URL in its
//! `allowed_outbound_hosts`; the target may have `route = { private = true }`, so that no
//! client reaches it directly.
//!
//! Why the app uses it: the users route serves cheap reads from reused instances and also
//! takes registrations, whose photo decoding is tens of milliseconds of CPU. A WASI 0.3
//! instance runs one thing at a time, so a registration in it would stall every read it is
//! serving. Handing the registration to the `registration` component keeps that work in
//! instances that serve nothing else; the users instance only relays bytes meanwhile.

use api::{ApiError, Reply};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName};
use http_body_util::BodyExt as _;

use crate::{Body, Request};

/// The answer of `component` to `request`, whose body is streamed to it as it arrives (an
/// answer given before the body is complete, such as a refused token, ends the relay).
///
/// The chained request keeps the method, path, query and end-to-end headers; Spin adds its
/// own `spin-*` headers for the target, as for any request.
pub async fn forward(request: Request, component: &str) -> Result<Reply, ApiError> {
    let request = chained_request(request, component)?;
    let failed = |what: &str, cause: &dyn std::fmt::Debug| {
        ApiError::Internal(anyhow::anyhow!(
            "handing the request to the `{component}` component: {what}: {cause:?}"
        ))
    };
    // The SDK streams the body from a task of its own (`wasi:http/client@0.3.0`), so the
    // answer can come back before the body is complete.
    let response = spin_sdk::http::send(request)
        .await
        .map_err(|e| failed("sending", &e))?;
    let (parts, body) = response.into_parts();
    // The app's answers are small JSON documents: read whole.
    let body = body
        .collect()
        .await
        .map_err(|e| failed("reading the answer", &e))?
        .to_bytes();
    Ok(relayed_answer(parts.status, &parts.headers, body))
}

/// `request` addressed to `component` through Spin's chaining domain.
fn chained_request(request: Request, component: &str) -> Result<http::Request<Body>, ApiError> {
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let uri: http::Uri = format!("http://{component}.spin.internal{path_and_query}")
        .parse()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a chained request's URI: {e}")))?;
    let mut chained = http::Request::builder().method(parts.method).uri(uri);
    if let Some(headers) = chained.headers_mut() {
        *headers = end_to_end(&parts.headers);
    }
    chained
        .body(body)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a chained request: {e}")))
}

/// The headers that describe the request itself, as a proxy passes them on: not the
/// connection's (RFC 9110 §7.6.1), not `Host` (the chained URI names the target), not the
/// `spin-*` headers Spin set for this component (it sets the target's own).
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    const HOP_BY_HOP: [HeaderName; 6] = [
        header::CONNECTION,
        header::HOST,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ];
    headers
        .iter()
        .filter(|(name, _)| {
            !HOP_BY_HOP.contains(name)
                && !name.as_str().starts_with("spin-")
                && !name.as_str().starts_with("proxy-")
                && name.as_str() != "keep-alive"
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// The target's answer as this component's reply. The headers [`crate::serve`] sets on
/// every reply (CORS, `nosniff`) are left to it, so they appear once; the length is the
/// relayed body's.
fn relayed_answer(status: http::StatusCode, headers: &HeaderMap, body: Bytes) -> Reply {
    let length = body.len();
    let mut reply = http::Response::new(http_body_util::Full::new(body));
    *reply.status_mut() = status;
    let set_by_serve = |name: &HeaderName| {
        name.as_str().starts_with("access-control-")
            || [
                header::VARY,
                header::X_CONTENT_TYPE_OPTIONS,
                header::CONTENT_LENGTH,
                header::TRANSFER_ENCODING,
                header::CONNECTION,
            ]
            .contains(name)
    };
    for (name, value) in headers.iter().filter(|(name, _)| !set_by_serve(name)) {
        reply.headers_mut().append(name.clone(), value.clone());
    }
    if api::carries_body(status) {
        reply
            .headers_mut()
            .insert(header::CONTENT_LENGTH, http::HeaderValue::from(length));
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderValue, Method, StatusCode};

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri("http://example.com:3000/api/v1/users?x=1");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder
            .body(Body::new(
                http_body_util::Full::new(Bytes::from_static(b"photo"))
                    .map_err(|never| match never {}),
            ))
            .expect("a request")
    }

    #[test]
    fn a_chained_request_names_the_component_and_keeps_path_query_and_method() {
        let chained = chained_request(request(&[]), "registration").expect("chained");
        assert_eq!(chained.method(), Method::POST);
        assert_eq!(
            chained.uri().to_string(),
            "http://registration.spin.internal/api/v1/users?x=1"
        );
    }

    #[test]
    fn only_end_to_end_headers_are_passed_on() {
        let chained = chained_request(
            request(&[
                ("token", "abc"),
                ("content-type", "multipart/form-data; boundary=x"),
                ("content-length", "5"),
                ("origin", "https://app.example"),
                ("host", "example.com:3000"),
                ("connection", "keep-alive"),
                ("keep-alive", "timeout=5"),
                ("transfer-encoding", "chunked"),
                ("spin-full-url", "http://example.com:3000/api/v1/users"),
                ("spin-client-addr", "127.0.0.1:5555"),
            ]),
            "registration",
        )
        .expect("chained");
        let mut names: Vec<&str> = chained.headers().keys().map(|n| n.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["content-length", "content-type", "origin", "token"]);
    }

    #[test]
    fn the_answer_keeps_its_own_headers_but_not_those_serve_sets() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("999"));
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        let reply = relayed_answer(
            StatusCode::CREATED,
            &headers,
            Bytes::from_static(b"{\"success\":true}"),
        );
        assert_eq!(reply.status(), StatusCode::CREATED);
        let mut names: Vec<&str> = reply.headers().keys().map(|n| n.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["content-length", "content-type"]);
        assert_eq!(reply.headers()[header::CONTENT_LENGTH], "16");
    }

    #[test]
    fn a_bodiless_answer_gets_no_length() {
        let reply = relayed_answer(StatusCode::NOT_MODIFIED, &HeaderMap::new(), Bytes::new());
        assert!(reply.headers().get(header::CONTENT_LENGTH).is_none());
    }
}
