//! The HTTP front door, as Spin's HTTP trigger has it: HTTP/1.1 and HTTP/2 (prior knowledge)
//! on plain TCP with the operating system's socket defaults, routing, Spin's request
//! headers, one log line per request, and graceful shutdown.
//!
//! The socket is left as Spin leaves it, Nagle's algorithm on (no `TCP_NODELAY`): a response
//! whose body reaches the socket after its head then waits for the client's delayed ACK, in
//! production and here alike, so the app's tests and benchmark see what production pays.
//!
//! [`start`] is what `spin-host up` runs; tests call it directly to serve an application
//! in-process on a free port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Request, StatusCode};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use wasmtime_wasi_http::WasiBody;
use wasmtime_wasi_http::handler::{ExpirationError, TrapOrPanicError};

use anyhow::Context as _;

use crate::app::{App, Settings};
use crate::guest_request;
use crate::state::full_body;

/// A response as the host serves it.
type HostResponse = http::Response<WasiBody>;

/// A running application.
pub struct Running {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The loaded application.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Stops accepting connections and waits for requests in flight.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.server).await?
    }

    /// Serves until `signal` resolves, then shuts down gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
        signal.await;
        self.shutdown().await
    }
}

/// Loads the application (compiling every component), binds `listen` and starts serving.
pub async fn start(settings: Settings, listen: SocketAddr) -> anyhow::Result<Running> {
    let app = Arc::new(tokio::task::spawn_blocking(move || App::load(settings)).await??);
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(serve(Arc::clone(&app), listener, async {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        app,
        stop: Some(stop),
        server,
    })
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests in flight finish.
async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // No `set_nodelay`: Spin does not set it either (see the module comment).
        let app = Arc::clone(&app);
        let service = hyper::service::service_fn(move |req| {
            let app = Arc::clone(&app);
            async move { respond(app, req, client).await }
        });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!("connection from {client}: {e}");
            }
        });
    }
    tracing::info!("shutting down: waiting for requests in flight");
    graceful.shutdown().await;
    Ok(())
}

/// A request to a component's route that names no host (HTTP/1.0 without `Host`): Spin
/// cannot build the request's URL, fails the request, and hyper closes the connection
/// without an answer. So does this host.
#[derive(Debug)]
struct NoHost;

impl std::fmt::Display for NoHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no 'Host' header present in request")
    }
}

impl std::error::Error for NoHost {}

async fn respond(
    app: Arc<App>,
    mut req: Request<Incoming>,
    client: SocketAddr,
) -> Result<HostResponse, NoHost> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = app.router.route(&path);
    let (component, response) = match route {
        None => ("-".to_owned(), plain(StatusCode::NOT_FOUND, "Not Found")),
        Some(route) => {
            let Some(authority) = authority(&req) else {
                tracing::warn!("{method} {path}: {NoHost}; closing the connection");
                return Err(NoHost);
            };
            if let Some(name) = non_utf8_header(&req) {
                // As Spin: it makes every header value a string before it picks an instance,
                // and answers 500 with no body when one is not UTF-8 (docs/upstream-spin.md,
                // "Non-UTF-8 header values").
                tracing::error!("Error processing request: the value of {name} is not UTF-8");
                let mut response = http::Response::new(full_body(""));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                guest_request::log(&method, &path, &route.component, response.status(), started);
                return Ok(response);
            }
            guest_request::add_spin_headers(&mut req, &route, &authority, client);
            let request =
                req.map(|body| body.map_err(wasmtime_wasi_http::Error::from).boxed_unsync());
            let handler = &app.components[&route.component].handler;
            let response = match handler.handle((), request).await {
                Ok(response) => response,
                Err(error) => {
                    let cause = if error.is::<TrapOrPanicError>() {
                        "its instance trapped"
                    } else if error.is::<ExpirationError>() {
                        "it timed out"
                    } else {
                        "it failed"
                    };
                    tracing::error!(component = %route.component, "request failed because {cause}: {error:?}");
                    plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                }
            };
            (route.component, response)
        }
    };
    guest_request::log(&method, &path, &component, response.status(), started);
    Ok(response)
}

/// The request's authority, as Spin takes it: the `Host` header, or an absolute-form URI's.
fn authority(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
}

/// The first header whose value is not UTF-8 (HTTP allows such bytes; Spin refuses them).
fn non_utf8_header<B>(req: &Request<B>) -> Option<String> {
    req.headers()
        .iter()
        .find(|(_, value)| std::str::from_utf8(value.as_bytes()).is_err())
        .map(|(name, _)| name.to_string())
}

fn plain(status: StatusCode, text: &'static str) -> HostResponse {
    let mut response = http::Response::new(full_body(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
