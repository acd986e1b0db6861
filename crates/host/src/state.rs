//! What each component instance's `Store` holds: WASI, wasi:http, the Spin interfaces and the
//! resource limits.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

use crate::spin_apis::{ComponentGrants, SpinView};
use crate::stats::Counters;

/// Store data for one request.
pub struct HostState {
    pub(crate) table: ResourceTable,
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) hooks: OutboundHttp,
    pub(crate) grants: Arc<ComponentGrants>,
    pub(crate) limits: InstanceLimits,
}

/// The instance's memory limit (`--max-instance-memory`), recording how far its linear
/// memory has grown: memory an instance keeps across reused requests shows up here.
pub struct InstanceLimits {
    pub(crate) limits: StoreLimits,
    pub(crate) stats: Arc<Counters>,
}

impl ResourceLimiter for InstanceLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.stats.record_memory(desired);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl HostState {
    /// The view the Spin interfaces work on.
    pub fn spin(&mut self) -> SpinView<'_> {
        SpinView {
            table: &mut self.table,
            grants: &self.grants,
        }
    }
}

/// Outbound HTTP: allowed only to the component's `allowed_outbound_hosts`, as in Spin;
/// `http://<component>.spin.internal` is served by that component (service chaining).
pub struct OutboundHttp {
    pub(crate) grants: Arc<ComponentGrants>,
    pub(crate) chains: Arc<dyn ChainedRequests>,
}

/// A response on its way, as [`ChainedRequests::send`] gives it.
pub(crate) type ChainedResponse<'a> =
    Pin<Box<dyn Future<Output = Result<http::Response<WasiBody>, HttpError>> + Send + 'a>>;

/// Serves a request addressed to another component of the application (service chaining).
/// The application provides it (`crate::chaining`), over the same request path a client's
/// request takes; a store only hands requests on to it.
pub(crate) trait ChainedRequests: Send + Sync {
    /// `component`'s answer to `request`.
    fn send<'a>(
        &'a self,
        component: &'a str,
        request: http::Request<WasiBody>,
    ) -> ChainedResponse<'a>;
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https");
        let host = uri.host().unwrap_or_default();
        let port = uri
            .port_u16()
            .or_else(|| crate::outbound::well_known_port(scheme));
        let allowed = port.is_some_and(|port| self.grants.outbound.allows(scheme, host, port));
        let chained = crate::outbound::chaining_target(host).map(str::to_owned);
        if !allowed {
            // Spin's wording, so logs read the same under both hosts.
            tracing::error!(
                component = %self.grants.component,
                "A component tried to make an HTTP request to a non-allowed host ('{scheme}://{host}')"
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        if let Some(component) = chained {
            let chains = Arc::clone(&self.chains);
            return Box::new(async move {
                let response = chains.send(&component, request).await?;
                let done: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                    Box::new(async { Ok(()) });
                Ok((response, done))
            });
        }
        let default = wasmtime_wasi_http::default_hooks();
        default.send_request(request, options, fut)
    }
}

/// Guest stdout/stderr, one log line per line written, tagged with the component.
#[derive(Clone)]
pub struct GuestOutput {
    component: Arc<str>,
    stream: &'static str,
    pending: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl GuestOutput {
    /// Output of `component` on `stream` (`stdout` or `stderr`).
    pub fn new(component: &str, stream: &'static str) -> Self {
        Self {
            component: component.into(),
            stream,
            pending: Default::default(),
        }
    }

    fn write(&self, bytes: &[u8]) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        pending.extend_from_slice(bytes);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            self.emit(&line[..line.len() - 1]);
        }
    }

    fn emit(&self, line: &[u8]) {
        tracing::info!(
            target: "guest",
            "[{} {}] {}",
            self.component,
            self.stream,
            String::from_utf8_lossy(line)
        );
    }
}

impl Drop for GuestOutput {
    fn drop(&mut self) {
        // The last clone flushes a final line without a newline.
        if Arc::strong_count(&self.pending) == 1
            && let Ok(pending) = self.pending.lock()
            && !pending.is_empty()
        {
            self.emit(&pending);
        }
    }
}

impl wasmtime_wasi::cli::IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.write(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A complete body for host-made responses (404s, 500s).
pub fn full_body(text: impl Into<Bytes>) -> WasiBody {
    use http_body_util::BodyExt;
    http_body_util::Full::new(text.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}
