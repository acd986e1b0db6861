//! One instance serves many requests (Spin's default is 128 per instance): nothing a
//! request leaves behind may reach the next, and memory must not creep up. Spin serves a
//! WASI 0.2 component with a fresh instance per request, and so does the host: the same
//! requests on that build start one instance each.

use crate::e2e_test;
use crate::helpers::{Build, Registration, spawn_app};
use crate::server_process::host_only;

/// Requests one instance serves before Spin retires it (its default reuse count).
const REUSE_COUNT: usize = 128;
/// One WebAssembly memory page.
const WASM_PAGE: usize = 64 << 10;

e2e_test! {
    async fn an_instance_serves_its_128_requests_without_its_memory_growing(target: Target) {
        let app = spawn_app(target).await;
        let mut peak_after_warm_up = 0;
        for n in 0..REUSE_COUNT {
            let status = match n % 4 {
                0 => app.register(&Registration::valid(n as u32)).await.0,
                1 => app.get_json("/api/v1/users?page=1&count=6").await.0,
                2 => app.get_json("/api/v1/users/1").await.0,
                _ => app.get_json("/api/v1/users?offset=0&count=100").await.0,
            };
            assert!(matches!(status, 200 | 201), "request {n}: {status}");
            if n == 15 && !host_only("instance statistics come from the repository's host") {
                peak_after_warm_up = app.stats("users").peak_memory;
            }
        }
        if host_only("instance statistics come from the repository's host") {
            return;
        }
        let stats = app.stats("users");

        let instances = match target.build {
            Build::Wasi03 => 1,
            Build::Wasi02 => REUSE_COUNT as u64,
        };
        assert_eq!(stats.instances_started, instances, "{stats:?}");
        assert_eq!(stats.requests_accepted, REUSE_COUNT as u64, "{stats:?}");
        if target.build == Build::Wasi03 {
            // Every fourth request was a registration: the users instance relayed it to the
            // registration component, whose own one instance did the work.
            let registrations = app.stats("registration");
            assert_eq!(registrations.instances_started, 1, "{registrations:?}");
            assert_eq!(
                registrations.requests_accepted,
                REUSE_COUNT as u64 / 4,
                "{registrations:?}"
            );
        }
        // The list answers grow as users are added; a leak of even a few KiB per request
        // would add far more than one page over 112 requests.
        assert!(
            stats.peak_memory <= peak_after_warm_up + WASM_PAGE,
            "memory grew from {peak_after_warm_up} to {} bytes",
            stats.peak_memory
        );
    }
}
