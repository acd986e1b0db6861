//! Instances live across requests as under Spin 4: reuse, concurrency inside one instance,
//! retirement after the reuse count or when idle, and Spin's `--max-instance-reuse-count 1`.
//!
//! The fixture's `/counter` increments a static: it tells which requests shared an instance.

use std::time::Duration;

use spin_host::reuse::{InstanceReuse, Range};

use crate::support::{Options, TestApp};

async fn counters(app: &TestApp, n: usize) -> Vec<u64> {
    let mut seen = Vec::new();
    for _ in 0..n {
        seen.push(app.json("/all/counter").await.as_u64().expect("a count"));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_requests_share_one_instance_by_default() {
    let app = TestApp::start().await;

    let seen = counters(&app, 5).await;

    assert_eq!(seen, [1, 2, 3, 4, 5]);
    assert_eq!(app.stats("all").instances_started, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_count_one_gives_every_request_a_fresh_instance() {
    let app = TestApp::start_with(Options {
        reuse: InstanceReuse::one_instance_per_request(),
        ..Options::default()
    })
    .await;

    let seen = counters(&app, 3).await;

    assert_eq!(seen, [1, 1, 1]);
    assert_eq!(app.stats("all").instances_started, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_retires_after_its_reuse_count() {
    let app = TestApp::start_with(Options {
        reuse: InstanceReuse {
            max_instance_reuse_count: Range::Value(3),
            ..InstanceReuse::default()
        },
        ..Options::default()
    })
    .await;

    let seen = counters(&app, 7).await;

    assert_eq!(seen, [1, 2, 3, 1, 2, 3, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_instance_is_dropped_after_the_idle_timeout() {
    let app = TestApp::start_with(Options {
        reuse: InstanceReuse {
            idle_instance_timeout: Range::Value(Duration::from_millis(100)),
            ..InstanceReuse::default()
        },
        ..Options::default()
    })
    .await;

    let before = counters(&app, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = counters(&app, 1).await;

    assert_eq!((before, after), (vec![1, 2], vec![1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_requests_run_at_once_in_one_instance_and_a_seventeenth_gets_another() {
    let app = TestApp::start().await;
    app.json("/all/counter").await; // one idle instance, ready for requests

    let mut held = Vec::new();
    for _ in 0..17 {
        held.push(app.post_held("/all/body-length").await);
    }
    let stats = app.stats("all");
    let mut answers = Vec::new();
    for request in held {
        answers.push(request.finish().await);
    }

    assert_eq!(stats.most_concurrent, 16, "{stats:?}");
    assert_eq!(stats.instances_started, 2, "{stats:?}");
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
}
