//! What each component's instances have done, counted as they serve: for tests and the
//! benchmark, which must know whether requests really shared an instance.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// What one component's instances have done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceStats {
    /// Instances created.
    pub instances_started: u64,
    /// Requests handed to an instance.
    pub requests_accepted: u64,
    /// The most requests one instance was working on at the same moment.
    pub most_concurrent: usize,
    /// The largest linear memory any instance grew to, in bytes.
    pub peak_memory: usize,
}

/// The live counters behind [`InstanceStats`], shared by a component's instances.
#[derive(Default)]
pub(crate) struct Counters {
    instances_started: AtomicU64,
    requests_accepted: AtomicU64,
    most_concurrent: AtomicUsize,
    peak_memory: AtomicUsize,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> InstanceStats {
        InstanceStats {
            instances_started: self.instances_started.load(Ordering::Relaxed),
            requests_accepted: self.requests_accepted.load(Ordering::Relaxed),
            most_concurrent: self.most_concurrent.load(Ordering::Relaxed),
            peak_memory: self.peak_memory.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn record_instance_started(&self) {
        self.instances_started.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_request_accepted(&self) {
        self.requests_accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// An instance is now working on `requests` at once.
    pub(crate) fn record_concurrency(&self, requests: usize) {
        self.most_concurrent.fetch_max(requests, Ordering::Relaxed);
    }

    pub(crate) fn record_memory(&self, bytes: usize) {
        self.peak_memory.fetch_max(bytes, Ordering::Relaxed);
    }
}
