//! Service chaining: a component's request to `http://<component>.spin.internal/…` is served
//! by that component of the same application, in-process, as Spin's HTTP trigger does
//! (spinframework/spin, `trigger-http/src/outbound_http.rs`): no socket, no DNS; the caller
//! needs the URL in its `allowed_outbound_hosts`, and the target may have a private route.
//!
//! A client of the request path: instances hand such requests to [`ChainedRequests`],
//! which the application fills with its components once they have loaded.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock, Weak};

use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use crate::guest_request;
use crate::instances::LoadedComponent;
use crate::routes::RouteMatch;
use crate::state::{ChainedRequests, ChainedResponse};

/// The client address a chained request reports (`spin-client-addr`), Spin's `0.0.0.0:0`.
const CHAINED_CLIENT: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

/// The application's components, as chained requests find them. Filled once the application
/// has loaded; held weakly, because every component's instances hold this in turn.
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
    async fn serve(
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
        guest_request::add_spin_headers(&mut request, &route, &authority, CHAINED_CLIENT);
        let method = request.method().clone();
        let started = std::time::Instant::now();
        let response = target.handler.handle((), request).await.map_err(|error| {
            tracing::error!(component, "a chained request failed: {error:?}");
            HttpError::InternalError(Some(format!("component `{component}` failed")))
        })?;
        guest_request::log(
            &method,
            &path,
            &format!("{component} (chained)"),
            response.status(),
            started,
        );
        Ok(response)
    }
}

impl ChainedRequests for ChainTargets {
    fn send<'a>(
        &'a self,
        component: &'a str,
        request: http::Request<WasiBody>,
    ) -> ChainedResponse<'a> {
        Box::pin(self.serve(component, request))
    }
}
