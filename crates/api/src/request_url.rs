//! The origin a client used, so links and photo URLs point back at it.

use http::{HeaderMap, HeaderValue, Uri, header};
use url::Url;

use crate::Reply;

/// The request headers besides `Host` (which any cache keys on, as part of the URL) that
/// [`base_url`] reads, for `Vary`.
pub const VARY: &str = "X-Forwarded-Host, X-Forwarded-Proto";

/// Says in `reply`'s `Vary` that its body was built with [`base_url`]: a CDN that passes
/// `X-Forwarded-*` on must not serve links to one host to a client of another.
pub fn vary_on_origin_headers(reply: &mut Reply) {
    reply
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static(VARY));
}

/// `scheme://host[:port]/` of the request, honouring a proxy's `X-Forwarded-Proto` and
/// `X-Forwarded-Host`, then `Host`, then the request URI (Spin passes an absolute one).
/// Values that do not make a plain origin are skipped, so a forged header cannot inject a
/// path or credentials into the links.
pub fn base_url(headers: &HeaderMap, uri: &Uri) -> Url {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let scheme = first("x-forwarded-proto")
        .map(|s| s.to_ascii_lowercase())
        .filter(|s| s == "http" || s == "https")
        .or_else(|| uri.scheme_str().map(str::to_owned))
        .unwrap_or_else(|| "http".to_owned());
    let hosts = [
        first("x-forwarded-host"),
        first("host"),
        uri.authority().map(|a| a.as_str().to_owned()),
    ];
    hosts
        .into_iter()
        .flatten()
        .find_map(|host| origin(&scheme, &host))
        .unwrap_or_else(|| Url::parse("http://localhost/").unwrap_or_else(|_| unreachable!()))
}

fn origin(scheme: &str, host: &str) -> Option<Url> {
    if host.contains(['/', '@', '?', '#', '\\']) {
        return None;
    }
    let url = Url::parse(&format!("{scheme}://{host}/")).ok()?;
    // A domain as DNS has them (after IDNA, which the parser applies): the URL parser
    // lets through characters such as a backtick that RFC 3986 forbids in a host, and a
    // link built on one is not a URI clients can follow.
    let dns_name = |name: &str| {
        name.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    let plain_host = match url.host()? {
        url::Host::Domain(name) => dns_name(name),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => true,
    };
    (url.path() == "/" && plain_host).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_host_header_and_uri_scheme_give_the_origin() {
        let uri: Uri = "http://127.0.0.1:3000/api/v1/users".parse().unwrap();
        let url = base_url(&headers(&[("host", "localhost:3000")]), &uri);
        assert_eq!(url.as_str(), "http://localhost:3000/");
    }

    #[test]
    fn forwarded_headers_win() {
        let uri: Uri = "http://10.0.0.5/api/v1/users".parse().unwrap();
        let h = headers(&[
            ("host", "10.0.0.5"),
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-host", "api.example.com, proxy.internal"),
        ]);
        assert_eq!(base_url(&h, &uri).as_str(), "https://api.example.com/");
    }

    #[test]
    fn forged_values_are_skipped() {
        let uri: Uri = "http://good.example/x".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-proto", "javascript"),
            ("x-forwarded-host", "evil.example/path"),
            ("host", "user@evil.example"),
        ]);
        assert_eq!(base_url(&h, &uri).as_str(), "http://good.example/");
    }

    #[test]
    fn hosts_that_are_not_dns_names_or_ip_literals_are_skipped() {
        let uri: Uri = "http://good.example/x".parse().unwrap();
        for forged in ["`", "a`b.example", "a b", "a{b}.example", "a|b"] {
            let h = headers(&[("x-forwarded-host", forged)]);
            assert_eq!(
                base_url(&h, &uri).as_str(),
                "http://good.example/",
                "{forged}"
            );
        }
        let h = headers(&[("x-forwarded-host", "[::1]:8080")]);
        assert_eq!(base_url(&h, &uri).as_str(), "http://[::1]:8080/");
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-host",
            http::HeaderValue::from_bytes("bücher.example".as_bytes()).unwrap(),
        );
        // Not visible ASCII, so not a header string; the Host value is used instead.
        assert_eq!(base_url(&h, &uri).as_str(), "http://good.example/");
    }

    #[test]
    fn a_reply_built_from_the_origin_varies_on_what_gives_it() {
        let mut reply = crate::with_body(http::StatusCode::OK, "application/json", Vec::new());
        reply
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Origin"));
        vary_on_origin_headers(&mut reply);
        let vary: Vec<&str> = reply
            .headers()
            .get_all(header::VARY)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert_eq!(vary, ["Origin", "X-Forwarded-Host, X-Forwarded-Proto"]);
    }

    #[test]
    fn a_relative_uri_without_host_falls_back_to_localhost() {
        let uri: Uri = "/api/v1/users".parse().unwrap();
        assert_eq!(
            base_url(&HeaderMap::new(), &uri).as_str(),
            "http://localhost/"
        );
    }
}
