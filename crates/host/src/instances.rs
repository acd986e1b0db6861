//! Component instances that serve requests the way Spin 4 serves them.
//!
//! Every component gets a [`ProxyHandler`] from wasmtime-wasi-http's `handler` module, the
//! machinery Spin's HTTP trigger uses: it keeps an instance alive across requests, feeds it
//! several requests at once, queues requests for busy instances and starts new ones when none
//! is available. This module supplies what the handler asks of its embedder, with Spin's
//! policy ([`InstanceReuse`]): how to make an instance ([`HandlerState`]), whether an instance
//! takes another request ([`WorkerState`]) and when it is dropped ([`WorkerExpiration`]).
//!
//! A trap ends the instance: every request it was serving fails (the caller answers 500),
//! requests still queued go to another instance, and the trapped instance is never reused.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::component::{GuestTaskId, ResourceTable};
use wasmtime::{Engine, Store, StoreContextMut, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, ProxyHandler, ProxyPre, ShouldAccept, WorkerExpiration, WorkerState,
    WorkerStatus,
};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpView};

use crate::reuse::InstanceReuse;
use crate::spin_apis::ComponentGrants;
use crate::state::{ChainedRequests, GuestOutput, HostState, InstanceLimits, OutboundHttp};
use crate::stats::{Counters, InstanceStats};

/// Makes instances of one component for its [`ProxyHandler`](wasmtime_wasi_http::handler::ProxyHandler).
pub(crate) struct Instances {
    pub(crate) component: String,
    pub(crate) engine: Engine,
    pub(crate) pre: ProxyPre<HostState>,
    pub(crate) grants: Arc<ComponentGrants>,
    pub(crate) environment: Vec<(String, String)>,
    pub(crate) max_instance_memory: usize,
    pub(crate) reuse: InstanceReuse,
    pub(crate) stats: Arc<Counters>,
    /// Where requests to `http://<component>.spin.internal` go.
    pub(crate) chains: Arc<dyn ChainedRequests>,
}

/// One compiled component, served by its instances.
pub struct LoadedComponent {
    /// The component id from the manifest.
    pub id: String,
    pub(crate) handler: ProxyHandler<Instances>,
    pub(crate) stats: Arc<Counters>,
}

impl LoadedComponent {
    /// What this component's instances have done so far.
    pub fn stats(&self) -> InstanceStats {
        self.stats.snapshot()
    }
}

impl Instances {
    fn new_store(
        &self,
        request_timeout: Option<Duration>,
        in_flight: &Arc<InFlight>,
    ) -> Store<HostState> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(GuestOutput::new(&self.component, "stdout"))
            .stderr(GuestOutput::new(&self.component, "stderr"))
            .envs(&self.environment);
        let state = HostState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: OutboundHttp {
                grants: Arc::clone(&self.grants),
                chains: Arc::clone(&self.chains),
            },
            grants: Arc::clone(&self.grants),
            limits: InstanceLimits {
                limits: StoreLimitsBuilder::new()
                    .memory_size(self.max_instance_memory)
                    .build(),
                stats: Arc::clone(&self.stats),
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        match request_timeout {
            // Spin's default: no deadline, the guest runs until it returns.
            None => store.set_epoch_deadline(u64::MAX / 2),
            // At every epoch tick, trap the instance once a request it is serving is past
            // its timeout: a guest computing or looping never returns to the handler, which
            // could otherwise only expire requests that are waiting. The guest does not
            // yield at ticks, so a busy instance takes no new requests, as under Spin.
            Some(timeout) => {
                let in_flight = Arc::clone(in_flight);
                store.set_epoch_deadline(1);
                store.epoch_deadline_callback(move |_| {
                    Ok(match in_flight.oldest() {
                        Some(started) if started.elapsed() >= timeout => UpdateDeadline::Interrupt,
                        _ => UpdateDeadline::Continue(1),
                    })
                });
            }
        }
        store
    }
}

impl HandlerState for Instances {
    type StoreData = HostState;
    type WorkerExpiration = Expiration;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<HostState, Expiration, Worker>> {
        // Each instance picks its own values from the configured ranges, as in Spin.
        let request_timeout = self.reuse.request_timeout.map(|range| range.pick());
        let in_flight = Arc::default();
        let mut store = self.new_store(request_timeout, &in_flight);
        let proxy = self.pre.instantiate_async(&mut store).await?;
        self.stats.record_instance_started();
        Ok(Instance {
            store,
            proxy,
            view: <HostState as WasiHttpView>::http,
            expiration: Expiration {
                idle_timeout: self.reuse.idle_instance_timeout.pick(),
                request_timeout,
                sleep: Box::pin(tokio::time::sleep(Duration::MAX)),
            },
            state: Worker {
                component: self.component.clone(),
                max_reuse: self.reuse.max_instance_reuse_count.pick(),
                max_concurrent: self.reuse.max_instance_concurrent_reuse_count.pick(),
                request_timeout,
                in_flight,
                stats: Arc::clone(&self.stats),
            },
        })
    }
}

/// One instance's admission policy: Spin's `HttpWorkerState`.
pub(crate) struct Worker {
    component: String,
    max_reuse: usize,
    max_concurrent: usize,
    request_timeout: Option<Duration>,
    in_flight: Arc<InFlight>,
    stats: Arc<Counters>,
}

impl WorkerState for Worker {
    type StoreData = HostState;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.max_reuse {
            ShouldAccept::Never
        } else if concurrent >= self.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _: StoreContextMut<'_, HostState>,
        (): (),
        _: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        self.stats.record_request_accepted();
        let in_flight = self.in_flight.enter(&self.stats);
        let timeout = self.request_timeout;
        // The handler drops this future once the request has its response (or expires).
        Box::pin(async move {
            let _in_flight = in_flight;
            match timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        })
    }

    fn drop(&self, store: Store<HostState>, result: wasmtime::Result<()>) {
        if let Err(error) = result {
            tracing::error!(component = %self.component, "instance stopped: {error:?}");
        }
        drop(store);
    }
}

/// The requests an instance is working on, by start time.
#[derive(Default)]
pub(crate) struct InFlight {
    started: Mutex<Vec<Instant>>,
}

impl InFlight {
    /// Records a request starting now, until the returned guard is dropped.
    fn enter(self: &Arc<Self>, stats: &Counters) -> InFlightGuard {
        let started = Instant::now();
        if let Ok(mut requests) = self.started.lock() {
            requests.push(started);
            stats.record_concurrency(requests.len());
        }
        InFlightGuard {
            requests: Arc::clone(self),
            started,
        }
    }

    /// When the longest-running request started.
    fn oldest(&self) -> Option<Instant> {
        self.started.lock().ok()?.iter().min().copied()
    }
}

struct InFlightGuard {
    requests: Arc<InFlight>,
    started: Instant,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Ok(mut requests) = self.requests.started.lock()
            && let Some(i) = requests.iter().position(|&s| s == self.started)
        {
            requests.swap_remove(i);
        }
    }
}

/// When an instance is dropped: Spin's `HttpWorkerExpiration`. An idle instance goes after
/// its idle timeout; a busy one once its newest request is past the request timeout.
pub(crate) struct Expiration {
    idle_timeout: Duration,
    request_timeout: Option<Duration>,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Expiration {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let this = self.get_mut();
        let timeout = match status {
            WorkerStatus::Idle => Some(this.idle_timeout),
            WorkerStatus::Requests | WorkerStatus::PostReturn => this.request_timeout,
        };
        let Some(deadline) = timeout.and_then(|timeout| start.checked_add(timeout)) else {
            return Poll::Pending;
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        if this.sleep.deadline() != deadline {
            this.sleep.as_mut().reset(deadline);
        }
        this.sleep.as_mut().poll(cx)
    }
}
