//! Runs one request through a fresh instance of a component (`wasi:http/handler@0.3.0`).
//!
//! This is the only module that touches Wasmtime's WASI 0.3 HTTP API, which is still marked
//! unstable upstream; the rest of the host sees a plain `http::Request` in and
//! `http::Response` out.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::oneshot;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi_http::p3::Request as GuestRequest;
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx};

use crate::app::{App, LoadedComponent};
use crate::state::{GuestOutput, HostState, OutboundHttp};

/// A response as the host serves it.
pub type HostResponse = http::Response<WasiBody>;

fn new_store(app: &App, component: &LoadedComponent) -> Store<HostState> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(GuestOutput::new(&component.id, "stdout"))
        .stderr(GuestOutput::new(&component.id, "stderr"))
        .envs(&component.environment);
    let state = HostState {
        table: ResourceTable::new(),
        wasi: wasi.build(),
        http: WasiHttpCtx::new(),
        hooks: OutboundHttp {
            grants: Arc::clone(&component.grants),
        },
        grants: Arc::clone(&component.grants),
        limits: StoreLimitsBuilder::new()
            .memory_size(app.settings.max_instance_memory)
            .build(),
    };
    let mut store = Store::new(&app.engine, state);
    store.limiter(|state| &mut state.limits);

    // Guest code is interrupted every tick to let other requests run on this thread, and
    // trapped once the request is past its deadline: a looping guest costs one request.
    let deadline = Instant::now() + app.settings.request_timeout;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store
}

/// Handles `request` with a new instance of `component`. The response head is returned as
/// soon as the guest produces it; the body streams from the guest while the instance keeps
/// running in its own task. A trap before the head is an error (the caller answers 500).
pub async fn handle(
    app: Arc<App>,
    component: Arc<LoadedComponent>,
    request: http::Request<hyper::body::Incoming>,
) -> anyhow::Result<HostResponse> {
    let (head_tx, head_rx) = oneshot::channel();
    let timeout = app.settings.request_timeout;
    let id = component.id.clone();
    let task = async move {
        let mut store = new_store(&app, &component);
        let service = component
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(anyhow::Error::from)
            .context("instantiating")?;
        let (request, request_io) = GuestRequest::from_http(&mut store.data_mut().hooks, request);
        store
            .run_concurrent(async move |accessor| -> wasmtime::Result<()> {
                let response = match service.handle(accessor, request).await? {
                    Ok(response) => response,
                    Err(code) => {
                        wasmtime::bail!("guest returned error code {code:?}")
                    }
                };
                let response =
                    accessor.with(|mut access| response.into_http(&mut access, request_io))?;
                // Keep this instance's event loop running until the server has sent (or
                // dropped) the whole body: it is what moves the guest's body stream.
                let (done_tx, done_rx) = oneshot::channel::<()>();
                let response = response.map(|body| {
                    body.map_err(move |e| {
                        tracing::warn!("response body: {e:?}");
                        e
                    })
                    .with_drop_signal(done_tx)
                });
                let _ = head_tx.send(response);
                let _ = done_rx.await;
                Ok(())
            })
            .await
            .map_err(anyhow::Error::from)?
            .map_err(anyhow::Error::from)
    };
    tokio::spawn(async move {
        match tokio::time::timeout(timeout, task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(component = %id, "guest failed: {error:?}"),
            Err(_) => tracing::error!(component = %id, "request cut off after {timeout:?}"),
        }
    });
    head_rx
        .await
        .context("the component ended without a response (trap, timeout or error: see the log)")
}

/// Adds a "finished" signal to a body: fires when the body is dropped, which hyper does
/// after sending the last frame or when the client goes away.
trait WithDropSignal: Sized {
    fn with_drop_signal(self, done: oneshot::Sender<()>) -> WasiBody;
}

impl<B> WithDropSignal for B
where
    B: http_body::Body<Data = Bytes, Error = wasmtime_wasi_http::Error> + Send + 'static,
{
    fn with_drop_signal(self, done: oneshot::Sender<()>) -> WasiBody {
        struct Signalled<B> {
            body: B,
            _done: oneshot::Sender<()>,
        }
        impl<B: http_body::Body + Unpin> http_body::Body for Signalled<B> {
            type Data = B::Data;
            type Error = B::Error;
            fn poll_frame(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>>
            {
                std::pin::Pin::new(&mut self.body).poll_frame(cx)
            }
            fn is_end_stream(&self) -> bool {
                self.body.is_end_stream()
            }
            fn size_hint(&self) -> http_body::SizeHint {
                self.body.size_hint()
            }
        }
        Signalled {
            body: self.boxed_unsync(),
            _done: done,
        }
        .boxed_unsync()
    }
}
