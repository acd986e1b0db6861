//! Concurrency: the database decides who wins, and losers get the contract's answer.

use crate::e2e_test;
use crate::helpers::{Registration, spawn_app};

/// Concurrent registrations per race.
const RACERS: u32 = 16;

async fn race(
    app: &crate::helpers::TestApp,
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

e2e_test! {
    async fn sixteen_registrations_with_one_token_make_one_user(backend: Backend) {
        let app = spawn_app(backend).await;
        let token = app.token().await;
        let attempts = (0..RACERS).map(|n| (token.clone(), Registration::valid(n))).collect();

        let results = race(&app, attempts).await;

        let created = results.iter().filter(|(s, _)| *s == 201).count();
        let expired = results
            .iter()
            .filter(|(s, b)| *s == 401 && b["message"] == "The token expired.")
            .count();
        assert_eq!((created, expired), (1, RACERS as usize - 1), "{results:?}");
        assert_eq!(app.total_users().await, 1);
        assert_eq!(app.photos_stored(), 1, "losers' photos are removed");
    }
}

e2e_test! {
    async fn sixteen_registrations_with_one_email_make_one_user(backend: Backend) {
        let app = spawn_app(backend).await;
        let mut attempts = Vec::new();
        for n in 0..RACERS {
            let mut registration = Registration::valid(n);
            registration.email = Some("same@example.com".into());
            attempts.push((app.token().await, registration));
        }

        let results = race(&app, attempts).await;

        let created = results.iter().filter(|(s, _)| *s == 201).count();
        let conflicts = results
            .iter()
            .filter(|(s, b)| *s == 409 && b["message"] == "User with this phone or email already exist")
            .count();
        assert_eq!((created, conflicts), (1, RACERS as usize - 1), "{results:?}");
        assert_eq!(app.total_users().await, 1);
        assert_eq!(app.photos_stored(), 1);
    }
}
