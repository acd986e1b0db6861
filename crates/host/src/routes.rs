//! HTTP route matching with Spin's rules, and the `spin-*` headers a guest receives.
//!
//! Spin builds its router on the `routefinder` crate, so this host does too: exact segments beat
//! `:name` segments, which beat a trailing wildcard; among wildcards the longest prefix wins.
//! `/...` in a manifest is routefinder's `/*`.

use anyhow::{anyhow, bail};

use crate::manifest::HttpTrigger;

/// Maps request paths to components.
pub struct Router {
    inner: routefinder::Router<Route>,
}

/// What a manifest route maps to.
#[derive(Debug, Clone)]
struct Route {
    component: String,
    /// The route as written in the manifest (`/api/...`).
    raw: String,
}

/// A request path matched to a component.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMatch {
    /// The component to run.
    pub component: String,
    /// The manifest route, e.g. `/api/...` (`spin-matched-route`, `spin-raw-component-route`).
    pub raw_route: String,
    /// The route without its wildcard, e.g. `/api` (`spin-component-route`).
    pub component_route: String,
    /// The part of the path the wildcard matched, e.g. `/users/1` (`spin-path-info`).
    pub path_info: String,
    /// Values of `:name` segments (`spin-path-match-<name>`).
    pub params: Vec<(String, String)>,
}

impl Router {
    /// Builds the router from `[[trigger.http]]`; private routes are skipped. Two triggers with
    /// the same route are an error (Spin warns and keeps the last; silently losing a route is
    /// worse in a test host).
    pub fn new(triggers: &[HttpTrigger]) -> anyhow::Result<Self> {
        let mut inner = routefinder::Router::new();
        let mut seen = std::collections::HashSet::new();
        for trigger in triggers {
            let Some(raw) = &trigger.route else { continue };
            let raw = normalize(raw);
            if !seen.insert(raw.clone()) {
                bail!("route `{raw}` is declared twice");
            }
            let spec = match raw.strip_suffix("/...") {
                Some(prefix) => format!("{prefix}/*"),
                None => raw.clone(),
            };
            inner
                .add(
                    spec.as_str(),
                    Route {
                        component: trigger.component.clone(),
                        raw,
                    },
                )
                .map_err(|e| anyhow!("route `{spec}` of component `{}`: {e}", trigger.component))?;
        }
        Ok(Self { inner })
    }

    /// The component for `path` (no query string), or `None` for a 404.
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let found = self.inner.best_match(path)?;
        let route = found.handler();
        let captures = found.captures();
        let path_info = match captures.wildcard() {
            // Spin keeps a trailing slash in path-info; routefinder drops it.
            Some(rest) => match (rest.is_empty(), path.ends_with('/')) {
                (true, false) => String::new(),
                (true, true) => "/".to_owned(),
                (false, false) => format!("/{rest}"),
                (false, true) => format!("/{rest}/"),
            },
            None => String::new(),
        };
        Some(RouteMatch {
            component: route.component.clone(),
            raw_route: route.raw.clone(),
            component_route: route
                .raw
                .strip_suffix("/...")
                .unwrap_or(&route.raw)
                .to_owned(),
            path_info,
            params: captures
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        })
    }
}

/// Spin's sanitising: a route is absolute and loses one trailing slash.
fn normalize(route: &str) -> String {
    let route = if route.starts_with('/') {
        route.to_owned()
    } else {
        format!("/{route}")
    };
    match route.strip_suffix('/') {
        Some(stripped) => stripped.to_owned(),
        None => route,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        let triggers: Vec<_> = routes
            .iter()
            .map(|(route, component)| HttpTrigger {
                component: component.to_string(),
                route: Some(route.to_string()),
            })
            .collect();
        Router::new(&triggers).unwrap()
    }

    fn component(r: &Router, path: &str) -> Option<String> {
        r.route(path).map(|m| m.component)
    }

    #[test]
    fn exact_routes_beat_wildcards() {
        let r = router(&[("/...", "all"), ("/one", "one")]);
        assert_eq!(component(&r, "/one").as_deref(), Some("one"));
        assert_eq!(component(&r, "/two").as_deref(), Some("all"));
        assert_eq!(component(&r, "/").as_deref(), Some("all"));
    }

    #[test]
    fn the_longest_wildcard_prefix_wins_whatever_the_order() {
        let r = router(&[("/a/b/...", "ab"), ("/a/...", "a"), ("/a/b/c/...", "abc")]);
        assert_eq!(component(&r, "/a/b/c/d").as_deref(), Some("abc"));
        assert_eq!(component(&r, "/a/b/x").as_deref(), Some("ab"));
        assert_eq!(component(&r, "/a").as_deref(), Some("a"));
    }

    #[test]
    fn named_segments_beat_wildcards_and_are_captured() {
        let r = router(&[("/users/...", "all"), ("/users/:id", "one")]);
        let m = r.route("/users/42").unwrap();
        assert_eq!(m.component, "one");
        assert_eq!(m.params, vec![("id".to_owned(), "42".to_owned())]);
        assert_eq!(component(&r, "/users/42/photo").as_deref(), Some("all"));
    }

    #[test]
    fn wildcard_matches_fill_spins_route_headers() {
        let r = router(&[("/api/...", "api")]);
        let m = r.route("/api/v1/users/").unwrap();
        assert_eq!(m.raw_route, "/api/...");
        assert_eq!(m.component_route, "/api");
        assert_eq!(m.path_info, "/v1/users/");
        assert_eq!(r.route("/api").unwrap().path_info, "");
    }

    #[test]
    fn unmatched_paths_have_no_component() {
        let r = router(&[("/api/...", "api")]);
        assert_eq!(component(&r, "/other"), None);
        assert_eq!(component(&r, "/"), None);
    }

    #[test]
    fn a_wildcard_prefix_matches_like_routefinder_does_in_spin() {
        // routefinder matches the segment before `/*` as a prefix; Spin inherits this.
        let r = router(&[("/api/...", "api")]);
        assert_eq!(component(&r, "/apix").as_deref(), Some("api"));
    }

    #[test]
    fn duplicate_routes_are_refused() {
        let triggers = vec![
            HttpTrigger {
                component: "a".into(),
                route: Some("/x".into()),
            },
            HttpTrigger {
                component: "b".into(),
                route: Some("/x/".into()),
            },
        ];
        assert!(Router::new(&triggers).is_err());
    }
}
