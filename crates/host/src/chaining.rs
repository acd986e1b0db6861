//! Service chaining: a component's request to `http://<component>.spin.internal/…` is served
//! by that component of the same application, in-process, as Spin's HTTP trigger does
//! (spinframework/spin, `trigger-http/src/outbound_http.rs`): no socket, no DNS; the caller
//! needs the URL in its `allowed_outbound_hosts`, and the target may have a private route.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock, Weak};

use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use crate::app::LoadedComponent;
use crate::routes::RouteMatch;

/// The domain whose subdomains name the application's components.
const CHAINING_DOMAIN_SUFFIX: &str = ".spin.internal";

/// The client address a chained request reports (`spin-client-addr`), Spin's `0.0.0.0:0`.
const CHAINED_CLIENT: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

/// The component an outbound request's host names, if it is a chaining host:
/// `registration.spin.internal` → `registration`.
pub fn target(host: &str) -> Option<&str> {
    host.strip_suffix(CHAINING_DOMAIN_SUFFIX)
        .filter(|id| !id.is_empty() && !id.contains('.'))
}

/// The application's components, as chained requests find them. Filled once the application
/// has loaded; held weakly, because every component's grants hold this in turn.
#[derive(Default)]
pub struct ChainTargets(OnceLock<BTreeMap<String, Weak<LoadedComponent>>>);

impl ChainTargets {
    pub(crate) fn set(&self, components: &BTreeMap<String, Arc<LoadedComponent>>) {
        let weak = components
            .iter()
            .map(|(id, component)| (id.clone(), Arc::downgrade(component)))
            .collect();
        if self.0.set(weak).is_err() {
            tracing::warn!("the chaining targets were set twice; keeping the first");
        }
    }

    /// `component`'s answer to `request`, as if a client had sent it to a `/...` route of
    /// that component: the path is all `spin-path-info`, the chaining host is no `Host`
    /// header, and `Connection` is dropped (Spin's `strip_forbidden_headers`).
    pub(crate) async fn send(
        &self,
        component: &str,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let Some(target) = self
            .0
            .get()
            .and_then(|components| components.get(component))
            .and_then(Weak::upgrade)
        else {
            tracing::error!(
                "a chained request names `{component}`, which the application does not have"
            );
            return Err(HttpError::DestinationNotFound);
        };
        let (mut parts, body) = request.into_parts();
        let authority = parts
            .uri
            .authority()
            .map_or_else(|| format!("{component}.spin.internal"), |a| a.to_string());
        parts.headers.remove(http::header::HOST);
        parts.headers.remove(http::header::CONNECTION);
        let path = parts.uri.path().to_owned();
        let route = RouteMatch {
            component: component.to_owned(),
            raw_route: "/...".to_owned(),
            component_route: String::new(),
            path_info: path.clone(),
            params: Vec::new(),
        };
        let mut request = http::Request::from_parts(parts, body);
        crate::server::add_spin_headers(&mut request, &route, &authority, CHAINED_CLIENT);
        let method = request.method().clone();
        let started = std::time::Instant::now();
        let response = target.handler.handle((), request).await.map_err(|error| {
            tracing::error!(component, "a chained request failed: {error:?}");
            HttpError::InternalError(Some(format!("component `{component}` failed")))
        })?;
        crate::server::log_request(
            &method,
            &path,
            &format!("{component} (chained)"),
            response.status(),
            started,
        );
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn a_chaining_host_names_one_component() {
        assert_eq!(target("registration.spin.internal"), Some("registration"));
        assert_eq!(target("spin.internal"), None);
        assert_eq!(target(".spin.internal"), None);
        assert_eq!(target("a.b.spin.internal"), None);
        assert_eq!(target("api.tinify.com"), None);
    }
}
