//! What Spin does to every request it hands a component, whether a client sent it or
//! another component chained it: the `spin-*` headers and absolute URI the guest sees, and
//! the request log's line.

use std::net::SocketAddr;
use std::time::Instant;

use http::{HeaderValue, Request, StatusCode};

use crate::routes::RouteMatch;

/// The request log's one line per request (`component` may say how it was reached).
pub(crate) fn log(
    method: &http::Method,
    path: &str,
    component: &str,
    status: StatusCode,
    started: Instant,
) {
    tracing::info!(
        target: "request",
        "{method} {path} {component} {} {:.1}ms",
        status.as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
}

/// The headers Spin adds for the guest, and an absolute request URI as Spin gives it.
pub(crate) fn add_spin_headers<B>(
    req: &mut Request<B>,
    route: &RouteMatch,
    host: &str,
    client: SocketAddr,
) {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let full_url = format!("http://{host}{path_and_query}");
    if let Ok(uri) = full_url.parse() {
        *req.uri_mut() = uri;
    }
    let mut headers = vec![
        ("spin-full-url", full_url),
        ("spin-path-info", route.path_info.clone()),
        ("spin-matched-route", route.raw_route.clone()),
        ("spin-raw-component-route", route.raw_route.clone()),
        ("spin-component-route", route.component_route.clone()),
        ("spin-base-path", "/".to_owned()),
        ("spin-client-addr", client.to_string()),
    ];
    let params: Vec<(String, String)> = route
        .params
        .iter()
        .map(|(name, value)| (format!("spin-path-match-{name}"), value.clone()))
        .collect();
    for (name, value) in &params {
        headers.push((name.as_str(), value.clone()));
    }
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            req.headers_mut().insert(name, value);
        }
    }
}
