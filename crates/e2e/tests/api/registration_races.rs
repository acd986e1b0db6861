//! Concurrency: the database decides who wins, and losers get the contract's answer — with
//! the racers spread over instances, and with all of them inside one reused instance.

use std::time::Duration;

use crate::e2e_test;
use crate::helpers::{Registration, TestApp, spawn_app};
use crate::raw_http::{RawConnection, multipart, registration_head};
use crate::server_process::host_only;

/// Concurrent registrations per race: Spin's default for requests in one instance at once.
const RACERS: u32 = 16;

/// Where the racing requests run.
#[derive(Clone, Copy, Debug)]
enum Arena {
    /// Sent all at once: the host spreads them over as many instances as it likes.
    Spread,
    /// Each request reaches the one `registration` instance (relayed by the users component)
    /// before the next is sent (its body held back, so the instance waits for it and takes
    /// the next); then all bodies go at once.
    OneInstance,
}

async fn race(
    app: &TestApp,
    arena: Arena,
    attempts: Vec<(String, Registration)>,
) -> Vec<(u16, serde_json::Value)> {
    match arena {
        Arena::Spread => race_spread(app, attempts).await,
        Arena::OneInstance => race_in_one_instance(app, attempts).await,
    }
}

async fn race_spread(
    app: &TestApp,
    attempts: Vec<(String, Registration)>,
) -> Vec<(u16, serde_json::Value)> {
    let requests = attempts.into_iter().map(|(token, registration)| {
        let client = app.client.clone();
        let url = app.url("/api/v1/users");
        tokio::spawn(async move {
            let response = client
                .post(url)
                .header("Token", token)
                .multipart(registration.form())
                .send()
                .await
                .expect("request");
            crate::helpers::json(response).await
        })
    });
    futures::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect()
}

async fn race_in_one_instance(
    app: &TestApp,
    attempts: Vec<(String, Registration)>,
) -> Vec<(u16, serde_json::Value)> {
    // One warm, idle `registration` instance: a registration without a token is refused
    // there.
    let refused = app
        .client
        .post(app.url("/api/v1/users"))
        .send()
        .await
        .expect("a request");
    assert_eq!(refused.status(), 401);
    // Spin reuses the warm instance as the host does, but only the host can show it.
    let stats = !host_only("which instance served each racer, only the host tells");
    let before = stats.then(|| app.stats("registration"));
    let mut racers = Vec::new();
    for (token, registration) in &attempts {
        let body = multipart(registration);
        let mut connection = RawConnection::open(app).await;
        connection
            .send_head(&registration_head(token), body.len())
            .await;
        // The instance takes the request and waits for its body: then it is free again.
        tokio::time::sleep(Duration::from_millis(30)).await;
        racers.push((connection, body));
    }
    for (connection, body) in &mut racers {
        connection.send_body(body).await;
    }
    let mut results = Vec::new();
    for (connection, _) in &mut racers {
        let arrival = connection.read_response("a registration").await;
        let body = serde_json::from_slice(&arrival.body).expect("a JSON body");
        results.push((arrival.status, body));
    }
    if let Some(before) = before {
        let after = app.stats("registration");
        assert_eq!(
            after.instances_started, before.instances_started,
            "every racer ran in the warm instance: {after:?}"
        );
        assert!(
            after.most_concurrent >= attempts.len(),
            "the racers were in the instance together: {after:?}"
        );
    }
    results
}

async fn one_token_makes_one_user(app: &TestApp, arena: Arena) {
    let token = app.token().await;
    let attempts = (0..RACERS)
        .map(|n| (token.clone(), Registration::valid(n)))
        .collect();

    let results = race(app, arena, attempts).await;

    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let expired = results
        .iter()
        .filter(|(s, b)| *s == 401 && b["message"] == "The token expired.")
        .count();
    assert_eq!(
        (created, expired),
        (1, RACERS as usize - 1),
        "{arena:?}: {results:?}"
    );
    assert_eq!(app.total_users().await, 1);
    assert_eq!(app.photos_stored().await, 1, "losers' photos are removed");
}

async fn one_email_makes_one_user(app: &TestApp, arena: Arena) {
    let mut attempts = Vec::new();
    for n in 0..RACERS {
        let mut registration = Registration::valid(n);
        registration.email = Some("same@example.com".into());
        attempts.push((app.token().await, registration));
    }

    let results = race(app, arena, attempts).await;

    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let conflicts = results
        .iter()
        .filter(|(s, b)| *s == 409 && b["message"] == "User with this phone or email already exist")
        .count();
    assert_eq!(
        (created, conflicts),
        (1, RACERS as usize - 1),
        "{arena:?}: {results:?}"
    );
    assert_eq!(app.total_users().await, 1);
    assert_eq!(app.photos_stored().await, 1);
}

e2e_test! {
    async fn sixteen_registrations_with_one_token_make_one_user(target: Target) {
        let app = spawn_app(target).await;
        one_token_makes_one_user(&app, Arena::Spread).await;
    }
}

e2e_test! {
    // A WASI 0.2 instance serves one request (as Spin serves it), so only the WASI 0.3
    // build has racers inside one instance.
    wasi03_only:
    async fn sixteen_registrations_with_one_token_in_one_instance_make_one_user(target: Target) {
        let app = spawn_app(target).await;
        one_token_makes_one_user(&app, Arena::OneInstance).await;
    }
}

e2e_test! {
    async fn sixteen_registrations_with_one_email_make_one_user(target: Target) {
        let app = spawn_app(target).await;
        one_email_makes_one_user(&app, Arena::Spread).await;
    }
}

e2e_test! {
    // A WASI 0.2 instance serves one request (as Spin serves it), so only the WASI 0.3
    // build has racers inside one instance.
    wasi03_only:
    async fn sixteen_registrations_with_one_email_in_one_instance_make_one_user(target: Target) {
        let app = spawn_app(target).await;
        one_email_makes_one_user(&app, Arena::OneInstance).await;
    }
}
