//! Anchored pages (`as_of`, openapi.yaml): a client that follows `next_url` walks the users
//! that existed when its walk began, each exactly once, however many register meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::e2e_test;
use crate::helpers::{Registration, TestApp, header, json, spawn_app};

/// The ids of a users page, in its order.
fn ids(page: &Value) -> Vec<i64> {
    page["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|user| user["id"].as_i64().expect("id"))
        .collect()
}

/// Real registrations (token, multipart with a photo) one after another from another task,
/// until stopped: the traffic a walk must not be disturbed by.
struct Registering {
    stop: Arc<AtomicBool>,
    task: JoinHandle<u32>,
}

impl Registering {
    /// Starts registering `Registration::valid(first)`, `first + 1`, …
    fn start(app: &TestApp, first: u32) -> Self {
        let (client, address) = (app.client.clone(), app.address.clone());
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut created = 0;
            for n in first.. {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let (status, body) = json(
                    client
                        .get(format!("{address}/api/v1/token"))
                        .send()
                        .await
                        .expect("token"),
                )
                .await;
                assert_eq!(status, 200, "{body}");
                let response = client
                    .post(format!("{address}/api/v1/users"))
                    .header("Token", body["token"].as_str().expect("token"))
                    .multipart(Registration::valid(n).form())
                    .send()
                    .await
                    .expect("registration");
                let (status, body) = json(response).await;
                assert_eq!(status, 201, "{body}");
                created += 1;
            }
            created
        });
        Self { stop, task }
    }

    /// Stops, and says how many users were registered.
    async fn stop(self) -> u32 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the registering task")
    }
}

/// `GET` of an absolute URL (a link of a page): its JSON and `Cache-Control`.
async fn follow(app: &TestApp, url: &str) -> (Value, String) {
    let response = app.client.get(url).send().await.expect("request");
    let cache_control = header(&response, "cache-control");
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{url}: {body}");
    (body, cache_control)
}

e2e_test! {
    async fn following_next_url_walks_the_list_as_it_began_while_others_register(target: Target) {
        let app = spawn_app(target).await;
        app.seed(23).await;
        let (_, whole) = app.get_json("/api/v1/users?count=100").await;
        let at_start = ids(&whole);
        assert_eq!(at_start.len(), 23);

        // A client opens the list; from then on others register all the time, and at
        // least two more users arrive before each page it asks for.
        let (status, mut page) = app.get_json("/api/v1/users?page=1&count=5").await;
        assert_eq!(status, 200);
        let registering = Registering::start(&app, 1_000);
        let mut walked = vec![ids(&page)];
        while let Some(next) = page["links"]["next_url"].as_str().map(str::to_owned) {
            app.seed(2).await;
            let (body, cache_control) = follow(&app, &next).await;
            assert_eq!((body["total_users"].clone(), body["total_pages"].clone()), (json!(23), json!(5)), "{next}");
            assert_eq!(cache_control, "public, max-age=31536000, immutable", "{next}");
            walked.push(ids(&body));
            page = body;
        }
        let registered = registering.stop().await;

        assert_eq!(walked.concat(), at_start, "every user of the list as it began, once, in order");
        assert!(registered > 0, "registrations ran during the walk");
        assert_eq!(app.total_users().await, 23 + 2 * 4 + i64::from(registered));

        // And back: prev_url from the last page gives the same pages.
        let mut back = vec![ids(&page)];
        while let Some(prev) = page["links"]["prev_url"].as_str().map(str::to_owned) {
            page = follow(&app, &prev).await.0;
            back.push(ids(&page));
        }
        back.reverse();
        assert_eq!(back, walked);

        // Page numbers without the anchor answer the list as it is now, as the contract
        // has it: with two registrations before each page, a walk sees users again.
        let mut by_number = Vec::new();
        for number in 1..=3 {
            app.seed(2).await;
            by_number.extend(ids(&app.get_json(&format!("/api/v1/users?page={number}&count=5")).await.1));
        }
        let mut distinct = by_number.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(by_number.len() - distinct.len(), 4, "page numbers repeat the newcomers: {by_number:?}");
    }
}

e2e_test! {
    async fn as_of_names_a_list_as_it_was_and_nothing_longer(target: Target) {
        let app = spawn_app(target).await;
        app.seed(7).await;
        let (_, then) = app.get_json("/api/v1/users?count=100").await;
        app.seed(3).await;

        let (status, offset) = app.get_json("/api/v1/users?offset=2&count=2&as_of=7").await;
        assert_eq!(status, 200);
        assert_eq!((offset["page"].clone(), offset["total_users"].clone(), offset["total_pages"].clone()), (json!(2), json!(7), json!(4)));
        assert_eq!(ids(&offset), ids(&then)[2..4]);
        assert_eq!(offset["links"]["next_url"], format!("{}/api/v1/users?offset=4&count=2&as_of=7", app.address));

        // Three pages of three in the list of 7; the list now (10) has a fourth.
        let not_found = json!({"success": false, "message": "Page not found"});
        assert_eq!(app.get_json("/api/v1/users?page=4&count=3&as_of=7").await, (404, not_found.clone()));
        assert_eq!(app.get_json("/api/v1/users?page=4&count=3").await.0, 200);

        let (status, empty) = app.get_json("/api/v1/users?as_of=0").await;
        assert_eq!((status, empty["total_users"].clone(), empty["links"].clone()), (200, json!(0), json!({"next_url": null, "prev_url": null})));
        assert_eq!(empty["users"], json!([]));

        // A list longer than the one there is has not existed: it has no pages.
        assert_eq!(app.get_json("/api/v1/users?as_of=11").await, (404, not_found));
        assert_eq!(app.get_json("/api/v1/users?as_of=10").await.0, 200, "the list now is a list");
    }
}
