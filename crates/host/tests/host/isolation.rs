//! Guests cannot take the host down: traps, loops, memory, many requests at once.

use std::time::Duration;

use spin_host::reuse::{InstanceReuse, Range};

use crate::support::{Options, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapped_instance_fails_its_requests_and_is_never_reused() {
    let app = TestApp::start().await;
    let warm = app.json("/all/counter").await;
    let in_same_instance = app.post_held("/all/body-length").await;

    let (trapped, _) = app.get("/all/trap").await;
    let (sharing, _) = in_same_instance.finish().await;
    let after = app.json("/all/counter").await;

    assert_eq!(warm, 1);
    assert_eq!(trapped, 500);
    // It was waiting inside the instance that trapped: it cannot be answered.
    assert_eq!(sharing, 500);
    // A fresh instance: its counter starts again.
    assert_eq!(after, 1);
    assert_eq!(app.stats("all").instances_started, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_guest_is_cut_off_at_the_request_timeout_while_others_are_served() {
    let app = TestApp::start_with(Options {
        reuse: InstanceReuse {
            request_timeout: Some(Range::Value(Duration::from_secs(2))),
            ..InstanceReuse::default()
        },
        ..Options::default()
    })
    .await;

    let looping = tokio::spawn({
        let client = app.client.clone();
        let url = app.url("/all/loop");
        async move { client.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The looping instance takes no new requests (it never waits): this one gets another.
    let meanwhile = app.json("/all/counter").await;
    let looped = looping.await.expect("task").expect("response");

    assert_eq!(meanwhile, 1);
    assert_eq!(looped, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waiting_past_the_request_timeout_is_failed() {
    let app = TestApp::start_with(Options {
        reuse: InstanceReuse {
            request_timeout: Some(Range::Value(Duration::from_millis(500))),
            ..InstanceReuse::default()
        },
        ..Options::default()
    })
    .await;

    let (slow, _) = app.get("/all/sleep?ms=5000").await;
    let (quick, _) = app.get("/all/sleep?ms=10").await;

    assert_eq!((slow, quick), (500, 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_beyond_the_instance_limit_fails_the_request() {
    let app = TestApp::start_with(Options {
        max_instance_memory: 64 << 20,
        ..Options::default()
    })
    .await;

    let (too_much, _) = app.get("/all/alloc?mib=128").await;
    let within = app.json("/all/alloc?mib=8").await;

    assert_eq!(too_much, 500);
    assert_eq!(within, 8 << 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_requests_all_succeed() {
    let app = TestApp::start().await;

    let requests = (0..64).map(|i| {
        let client = app.client.clone();
        let url = app.url(&format!("/all/sleep?ms={}", 10 + i % 5));
        tokio::spawn(async move { client.get(url).send().await.map(|r| r.status().as_u16()) })
    });
    let statuses: Vec<u16> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();

    assert_eq!(statuses, vec![200; 64]);
    let stats = app.stats("all");
    assert!(
        stats.most_concurrent > 1,
        "requests shared instances: {stats:?}"
    );
}
