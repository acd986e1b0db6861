//! Guests cannot take the host down: fresh instances, traps, loops, memory, concurrency.

use std::time::Duration;

use crate::support::{Options, TestApp};

#[tokio::test]
async fn every_request_gets_a_fresh_instance() {
    let app = TestApp::start().await;

    let first = app.json("/all/counter").await;
    let second = app.json("/all/counter").await;

    assert_eq!((first, second), (1.into(), 1.into()));
}

#[tokio::test]
async fn a_trap_fails_only_its_own_request() {
    let app = TestApp::start().await;

    let (trapped, _) = app.get("/all/trap").await;
    let after = app.json("/all/counter").await;

    assert_eq!(trapped, 500);
    assert_eq!(after, 1);
}

#[tokio::test]
async fn a_looping_guest_is_cut_off_while_others_are_served() {
    let app = TestApp::start_with(Options {
        request_timeout: Duration::from_secs(2),
        ..Options::default()
    })
    .await;

    let looping = tokio::spawn({
        let client = app.client.clone();
        let url = app.url("/all/loop");
        async move { client.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let meanwhile = app.json("/all/counter").await;
    let looped = looping.await.unwrap().unwrap();

    assert_eq!(meanwhile, 1);
    assert_eq!(looped, 500);
}

#[tokio::test]
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

#[tokio::test]
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
}
