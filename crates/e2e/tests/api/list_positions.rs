//! The list's materialised order (migration 0003): every user has a place 1..=total with no
//! gap and no repeat, given in the inserting statement, in the list's order (registration
//! time, then id). Pages are ranges of places, so a deep page costs what the first does.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::Value;

use crate::e2e_test;
use crate::helpers::{Registration, Sql, TestApp, spawn_app};

/// `(place, registration_timestamp, id)` of every user, by place.
async fn places(app: &TestApp) -> Vec<(i64, i64, i64)> {
    app.sql_integers(
        "SELECT list_position, registration_timestamp, id FROM users ORDER BY list_position",
    )
    .await
    .into_iter()
    .map(|row| (row[0], row[1], row[2]))
    .collect()
}

/// Places are 1..=n, and their order is the contract's (registration time, then id).
fn assert_places_follow_the_list_order(places: &[(i64, i64, i64)]) {
    let numbers: Vec<i64> = places.iter().map(|p| p.0).collect();
    let expected: Vec<i64> = (1..=places.len() as i64).collect();
    assert_eq!(numbers, expected, "places repeat or skip");
    for pair in places.windows(2) {
        let (older, newer) = ((pair[0].1, pair[0].2), (pair[1].1, pair[1].2));
        assert!(
            older < newer,
            "place order differs from (time, id) order: {pair:?}"
        );
    }
}

/// Every user the API lists, walking `offset` pages of `count`, newest first.
async fn listed_ids(app: &TestApp, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    loop {
        let (status, body) = app
            .get_json(&format!("/api/v1/users?offset={}&count={count}", ids.len()))
            .await;
        if status == 404 {
            return ids;
        }
        assert_eq!(status, 200, "{body}");
        let page = body["users"].as_array().expect("users");
        ids.extend(page.iter().map(|u| u["id"].as_i64().expect("id")));
        if body["links"]["next_url"].is_null() {
            return ids;
        }
    }
}

e2e_test! {
    async fn places_stay_gap_free_and_in_list_order_while_registrations_and_seeding_race(target: Target) {
        let app = spawn_app(target).await;
        app.seed(20).await;
        let mut tokens = Vec::new();
        for _ in 0..16 {
            tokens.push(app.token().await);
        }

        let app = &app;
        let registrations = tokens.iter().enumerate().map(|(n, token)| {
            let registration = Registration::valid(n as u32);
            async move { app.register_with(Some(token), &registration).await }
        });
        let seeds = (0..3).map(|_| app.seed(30));
        let (registered, seeded) = tokio::join!(
            futures::future::join_all(registrations),
            futures::future::join_all(seeds)
        );

        assert!(registered.iter().all(|(status, _)| *status == 201), "{registered:?}");
        assert!(seeded.iter().all(|(status, _)| *status == 201), "{seeded:?}");
        let places = places(app).await;
        assert_eq!(places.len(), 20 + 16 + 90);
        assert_places_follow_the_list_order(&places);
        // The API's pages, walked to the end, are the places from the newest down.
        let newest_first: Vec<i64> = places.iter().rev().map(|p| p.2).collect();
        assert_eq!(listed_ids(app, 13).await, newest_first);
    }
}

e2e_test! {
    async fn walking_next_url_while_users_register_shows_every_earlier_user_in_order(target: Target) {
        let app = spawn_app(target).await;
        app.seed(50).await;
        let before: HashSet<i64> = places(&app).await.iter().map(|p| p.2).collect();

        // Users keep registering while the walk follows next_url from page 1.
        let registering = async {
            let mut created = 0;
            for n in 0..10 {
                let (status, _) = app.register(&Registration::valid(n)).await;
                created += usize::from(status == 201);
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            created
        };
        let walking = async {
            let mut walked: Vec<i64> = Vec::new();
            let mut next = Some(app.url("/api/v1/users?page=1&count=7"));
            while let Some(url) = next {
                let (status, body) =
                    crate::helpers::json(app.client.get(url).send().await.expect("page")).await;
                assert_eq!(status, 200, "{body}");
                let page = body["users"].as_array().expect("users");
                walked.extend(page.iter().map(|u| u["id"].as_i64().expect("id")));
                next = body["links"]["next_url"].as_str().map(str::to_owned);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            walked
        };
        let (registered, walked) = tokio::join!(registering, walking);

        // Every user who existed when the walk began is seen...
        let seen: HashSet<i64> = walked.iter().copied().collect();
        assert!(before.is_subset(&seen), "users skipped by the walk: {:?}", before.difference(&seen));
        // ...newest first: places never rise along the walk...
        let place: HashMap<i64, i64> = places(&app).await.iter().map(|p| (p.2, p.0)).collect();
        for pair in walked.windows(2) {
            assert!(place[&pair[0]] >= place[&pair[1]], "out of order: {pair:?}");
        }
        // ...and a user shows twice only where a page boundary moved because someone
        // registered meanwhile (page links count from the newest user, as the contract has it).
        let repeats = walked.len() - seen.len();
        assert!(repeats <= registered, "{repeats} repeats with {registered} registrations");
    }
}

/// Builds the schema as it stood before list places (migrations 1 and 2) with users whose
/// registration times tie and whose ids do not follow their times.
async fn schema_before_places(app: &TestApp) {
    app.schema_through(2).await;
    let mut script = Vec::new();
    // (id, time): ids 1..6, with times out of id order and a tie.
    for (id, time) in [(1, 500), (2, 300), (3, 500), (4, 100), (5, 700), (6, 300)] {
        script.push(format!(
            "INSERT INTO users (id, name, email, email_key, phone, position_id, registration_timestamp, photo) \
             VALUES ({id}, 'User {id}', 'u{id}@example.com', 'u{id}@example.com', '+38050000000{id}', 1, {time}, 'x.jpeg')"
        ));
    }
    if app.target.sql == Sql::Postgres {
        // As if the ids had come from the sequence.
        script.push("SELECT setval(pg_get_serial_sequence('users', 'id'), 6)".to_owned());
    }
    for statement in script {
        app.sql(&statement).await;
    }
}

e2e_test! {
    async fn existing_users_get_their_places_in_list_order_when_the_schema_is_migrated(target: Target) {
        let app = spawn_app(target).await;
        schema_before_places(&app).await;

        // The first request migrates.
        let (status, body) = app.get_json("/api/v1/users?count=10").await;

        assert_eq!(status, 200, "{body}");
        let listed: Vec<i64> = body["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u: &Value| u["id"].as_i64().expect("id"))
            .collect();
        // Newest first: time descending, then id descending.
        assert_eq!(listed, vec![5, 3, 1, 6, 2, 4]);
        assert_eq!(body["total_users"], 6);
        assert_places_follow_the_list_order(&places(&app).await);
        // New users go after them.
        let (status, created) = app.register(&Registration::valid(7)).await;
        assert_eq!(status, 201, "{created}");
        let (_, body) = app.get_json("/api/v1/users?count=1").await;
        assert_eq!(body["users"][0]["id"], created["user_id"]);
        assert_places_follow_the_list_order(&places(&app).await);
    }
}
