//! `allowed_outbound_hosts`: which network addresses a component may reach.
//!
//! Follows Spin's syntax: `scheme://host[:port]`, where the scheme, the host and the port may be
//! `*`, a host may be `*.domain` for every subdomain, and a port may be a range `a..b`. A pattern
//! without a port allows the scheme's well-known port only.

use anyhow::{Context, bail, ensure};

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.example.com`: stored as `.example.com`.
    Subdomains(String),
}

#[derive(Debug, Clone, PartialEq)]
enum PortPattern {
    Any,
    /// Inclusive start, exclusive end, as in Spin's `a..b`.
    Range(u16, u16),
    Exact(u16),
}

/// The domain whose subdomains name the application's components (service chaining).
const CHAINING_DOMAIN_SUFFIX: &str = ".spin.internal";

/// The component an outbound request's host names, if it is a service-chaining host:
/// `registration.spin.internal` → `registration`.
pub fn chaining_target(host: &str) -> Option<&str> {
    host.strip_suffix(CHAINING_DOMAIN_SUFFIX)
        .filter(|id| !id.is_empty() && !id.contains('.'))
}

/// The port a scheme uses when an address or pattern names none.
pub fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        _ => None,
    }
}

impl AllowedHost {
    /// Parses one pattern (already template-expanded).
    pub fn parse(pattern: &str) -> anyhow::Result<Self> {
        let context = || format!("`{pattern}` is not a valid allowed_outbound_hosts entry");
        let (scheme, rest) = pattern.split_once("://").with_context(|| {
            format!(
                "{}: it needs a scheme, as in `https://{pattern}`",
                context()
            )
        })?;
        ensure!(!scheme.is_empty(), "{}: empty scheme", context());
        ensure!(
            !rest.contains('/'),
            "{}: paths and CIDR ranges are not supported",
            context()
        );
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => {
                (host, Some(port))
            }
            _ => (rest, None),
        };
        ensure!(!host.is_empty(), "{}: empty host", context());
        ensure!(
            host != "self",
            "{}: `self` (service chaining) is not supported by this host",
            context()
        );
        let host = match host {
            "*" => HostPattern::Any,
            h if h.starts_with("*.") => HostPattern::Subdomains(h[1..].to_ascii_lowercase()),
            h if h.contains('*') => bail!(
                "{}: `*` may only be the whole host or `*.domain`",
                context()
            ),
            h => HostPattern::Exact(h.trim_matches(['[', ']']).to_ascii_lowercase()),
        };
        let port = match port {
            Some("*") => PortPattern::Any,
            Some(range) if range.contains("..") => {
                let (start, end) = range.split_once("..").unwrap_or_default();
                let start: u16 = start.parse().with_context(context)?;
                let end: u16 = end.parse().with_context(context)?;
                ensure!(start < end, "{}: empty port range", context());
                PortPattern::Range(start, end)
            }
            Some(port) => PortPattern::Exact(port.parse().with_context(context)?),
            None if scheme == "*" => bail!("{}: a `*` scheme needs an explicit port", context()),
            None => PortPattern::Exact(well_known_port(scheme).with_context(|| {
                format!(
                    "{}: scheme `{scheme}` has no default port, name one",
                    context()
                )
            })?),
        };
        let scheme = (scheme != "*").then(|| scheme.to_ascii_lowercase());
        Ok(Self { scheme, host, port })
    }

    /// Whether a connection to `host:port` with `scheme` is allowed by this pattern.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        let scheme_ok = self
            .scheme
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case(scheme));
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => *h == host,
            HostPattern::Subdomains(suffix) => host.ends_with(suffix.as_str()),
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Exact(p) => p == port,
            PortPattern::Range(start, end) => (start..end).contains(&port),
        };
        scheme_ok && host_ok && port_ok
    }
}

/// A component's whole allow-list.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy(Vec<AllowedHost>);

impl OutboundPolicy {
    /// Parses each entry; any invalid entry fails the whole list.
    pub fn new(patterns: &[String]) -> anyhow::Result<Self> {
        patterns
            .iter()
            .map(|p| AllowedHost::parse(p))
            .collect::<anyhow::Result<_>>()
            .map(Self)
    }

    /// Whether an absolute URL (e.g. `https://api.example.com/x` or
    /// `postgres://user@db:5432/app`) may be reached.
    pub fn allows_url(&self, url: &str) -> bool {
        let Ok(url) = url::Url::parse(url) else {
            return false;
        };
        let Some(host) = url.host_str() else {
            return false;
        };
        let Some(port) = url.port().or_else(|| well_known_port(url.scheme())) else {
            return false;
        };
        self.allows(url.scheme(), host, port)
    }

    /// Whether `scheme://host:port` may be reached.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.0
            .iter()
            .any(|allowed| allowed.allows(scheme, host, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chaining_host_names_one_component() {
        assert_eq!(
            chaining_target("registration.spin.internal"),
            Some("registration")
        );
        assert_eq!(chaining_target("spin.internal"), None);
        assert_eq!(chaining_target(".spin.internal"), None);
        assert_eq!(chaining_target("a.b.spin.internal"), None);
        assert_eq!(chaining_target("api.tinify.com"), None);
    }

    fn policy(patterns: &[&str]) -> OutboundPolicy {
        OutboundPolicy::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn a_pattern_without_port_allows_only_the_schemes_default_port() {
        let p = policy(&["https://api.tinify.com"]);
        assert!(p.allows_url("https://api.tinify.com/shrink"));
        assert!(p.allows_url("https://API.tinify.com:443/x"));
        assert!(!p.allows_url("https://api.tinify.com:8443/shrink"));
        assert!(!p.allows_url("http://api.tinify.com/shrink"));
        assert!(!p.allows_url("https://evil.com/shrink"));
    }

    #[test]
    fn wildcards_cover_ports_hosts_and_subdomains() {
        let p = policy(&[
            "http://127.0.0.1:*",
            "https://*.example.com",
            "*://any.org:9000",
        ]);
        assert!(p.allows_url("http://127.0.0.1:4321/"));
        assert!(p.allows_url("https://a.b.example.com/"));
        assert!(!p.allows_url("https://example.com.evil.net/"));
        assert!(p.allows_url("http://any.org:9000/"));
        assert!(p.allows_url("redis://any.org:9000"));
        assert!(!p.allows_url("http://any.org/"));
    }

    #[test]
    fn port_ranges_exclude_their_end() {
        let p = policy(&["http://localhost:3000..3002"]);
        assert!(p.allows_url("http://localhost:3001/"));
        assert!(!p.allows_url("http://localhost:3002/"));
    }

    #[test]
    fn database_urls_are_matched_by_host_and_port() {
        let p = policy(&["postgres://127.0.0.1:5432"]);
        assert!(p.allows_url("postgres://postgres@127.0.0.1:5432/test"));
        assert!(p.allows_url("postgres://postgres@127.0.0.1/test"));
        assert!(!p.allows_url("postgres://postgres@10.0.0.1:5432/test"));
    }

    #[test]
    fn an_empty_list_allows_nothing() {
        assert!(!policy(&[]).allows_url("https://example.com/"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "example.com",
            "https://example.com/path",
            "https://ex*ample.com",
            "*://example.com",
            "https://example.com:port",
            "foo://example.com",
            "http://self",
        ] {
            assert!(AllowedHost::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
