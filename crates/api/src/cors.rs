//! Cross-origin access (CONTRACT.md, "CORS").

use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::Reply;

/// Methods a browser may use on the API.
pub const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";
/// Request headers a browser may send.
pub const ALLOWED_HEADERS: &str = "Token, Content-Type, Accept, Authorization, X-Requested-With";
/// How long a browser may cache a preflight answer: one day.
pub const MAX_AGE_SECONDS: &str = "86400";

/// Which origins may read responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsPolicy {
    /// Any origin (`Access-Control-Allow-Origin: *`), the contract's default.
    AnyOrigin,
    /// Only these origins (exact `scheme://host[:port]`), echoed back with `Vary: Origin`.
    Origins(Vec<String>),
}

impl CorsPolicy {
    /// Reads the `cors_allowed_origins` setting: `*` (or empty) for any origin, otherwise a
    /// comma-separated list of origins.
    pub fn parse(setting: &str) -> Self {
        let origins: Vec<String> = setting
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() || origins.iter().any(|o| o == "*") {
            Self::AnyOrigin
        } else {
            Self::Origins(origins)
        }
    }

    /// Adds the CORS headers for a request with `request_headers` to `reply`.
    pub fn apply(&self, request_headers: &HeaderMap, reply: &mut Reply) {
        let headers = reply.headers_mut();
        match self {
            Self::AnyOrigin => {
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
            }
            Self::Origins(origins) => {
                headers.append(header::VARY, HeaderValue::from_static("Origin"));
                let origin = request_headers.get(header::ORIGIN);
                if let Some(origin) = origin.filter(|o| {
                    o.to_str()
                        .is_ok_and(|o| origins.iter().any(|allowed| allowed == o))
                }) {
                    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                }
            }
        }
    }

    /// The `204` answer to a preflight `OPTIONS`.
    pub fn preflight(&self, request_headers: &HeaderMap) -> Reply {
        let mut reply = crate::with_body(StatusCode::NO_CONTENT, "text/plain", bytes::Bytes::new());
        reply.headers_mut().remove(header::CONTENT_TYPE);
        let headers = reply.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE_SECONDS),
        );
        self.apply(request_headers, &mut reply);
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(o: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, o.parse().unwrap());
        h
    }

    #[test]
    fn the_default_allows_any_origin() {
        assert_eq!(CorsPolicy::parse(""), CorsPolicy::AnyOrigin);
        assert_eq!(CorsPolicy::parse("*"), CorsPolicy::AnyOrigin);
        let mut reply = crate::with_body(StatusCode::OK, "text/plain", "x");
        CorsPolicy::AnyOrigin.apply(&origin("https://a.example"), &mut reply);
        assert_eq!(reply.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }

    #[test]
    fn a_list_echoes_only_listed_origins() {
        let policy = CorsPolicy::parse("https://a.example, https://b.example/");
        let mut listed = crate::with_body(StatusCode::OK, "text/plain", "x");
        policy.apply(&origin("https://b.example"), &mut listed);
        assert_eq!(
            listed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://b.example"
        );
        assert_eq!(listed.headers()[header::VARY], "Origin");

        let mut other = crate::with_body(StatusCode::OK, "text/plain", "x");
        policy.apply(&origin("https://evil.example"), &mut other);
        assert!(
            other
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
    }

    #[test]
    fn preflight_is_204_with_methods_headers_and_max_age() {
        let reply = CorsPolicy::AnyOrigin.preflight(&HeaderMap::new());
        assert_eq!(reply.status(), 204);
        assert_eq!(
            reply.headers()[header::ACCESS_CONTROL_ALLOW_METHODS],
            ALLOWED_METHODS
        );
        assert_eq!(
            reply.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS],
            ALLOWED_HEADERS
        );
        assert_eq!(reply.headers()[header::ACCESS_CONTROL_MAX_AGE], "86400");
        assert_eq!(reply.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }
}
