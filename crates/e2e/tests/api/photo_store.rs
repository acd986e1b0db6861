//! `photo_store = database`: photos in the users' SQL database, written in the statement
//! that inserts their user, for platforms whose key-value stores cannot hold a photo per
//! user; and photos moved between the two stores while they are served.

use serde_json::{Value, json};

use crate::e2e_test;
use spin_host::platform::Platform;

use crate::helpers::{
    AppOptions, Build, Registration, SEED_KEY, Sql, Target, TestApp, header, json, spawn_app,
    spawn_app_with,
};

/// Every listed user's photo: status, `Cache-Control` and length.
async fn every_photo(app: &TestApp) -> Vec<(u16, String, usize)> {
    let (_, page) = app.get_json("/api/v1/users?count=100").await;
    let mut served = Vec::new();
    for user in page["users"].as_array().expect("users") {
        let response = app
            .client
            .get(user["photo"].as_str().expect("photo"))
            .send()
            .await
            .expect("photo");
        let status = response.status().as_u16();
        let cache_control = header(&response, "cache-control");
        served.push((
            status,
            cache_control,
            response.bytes().await.expect("bytes").len(),
        ));
    }
    served
}

async fn maintenance(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/maintenance/photos"))
        .header("Seed-Key", SEED_KEY)
        .json(&body)
        .send()
        .await
        .expect("request");
    json(response).await
}

/// Moves photos into `to` until the endpoint says it is done; how many it moved.
async fn move_all(app: &TestApp, to: &str, limit: u32) -> usize {
    let mut moved = 0;
    for _ in 0..20 {
        let (status, answer) = maintenance(app, json!({"move_to": to, "limit": limit})).await;
        assert_eq!(
            (status, answer["moved_to"].as_str()),
            (200, Some(to)),
            "{answer}"
        );
        let batch = answer["moved"].as_array().expect("moved").len();
        assert!(batch <= limit as usize, "{answer}");
        moved += batch;
        if answer["done"] == json!(true) {
            return moved;
        }
    }
    panic!("the move to {to} never said it was done");
}

e2e_test! {
    async fn a_photo_is_written_with_its_user_and_never_alone(target: Target) {
        let app = spawn_app_with(target, AppOptions { photo_store: Some("database"), ..AppOptions::default() }).await;

        let token = app.token().await;
        let (status, created) = app.register_with(Some(&token), &Registration::valid(1)).await;
        assert_eq!(status, 201, "{created}");
        let jpeg = app.photo_of(created["user_id"].as_i64().unwrap()).await;
        assert_eq!(image::load_from_memory(&jpeg).expect("a JPEG").to_rgb8().dimensions(), (70, 70));
        assert_eq!((app.photos_in_database().await, app.photos_in_key_value()), (1, 0), "in the database only");

        // Refused registrations write no photo: the token's second use, a taken email, and
        // the losers of four simultaneous registrations of one new person, whichever check
        // (the early one or the insert's constraints) turns them away.
        assert_eq!(app.register_with(Some(&token), &Registration::valid(2)).await.0, 401);
        let mut same_email = Registration::valid(3);
        same_email.email = Registration::valid(1).email;
        assert_eq!(app.register(&same_email).await.0, 409);
        let mut tokens = Vec::new();
        for _ in 0..4 {
            tokens.push(app.token().await);
        }
        let racing = Registration::valid(4);
        let statuses = futures::future::join_all(tokens.iter().map(|t| app.register_with(Some(t), &racing))).await;
        let mut statuses: Vec<u16> = statuses.into_iter().map(|(status, _)| status).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409, 409, 409]);
        assert_eq!(app.photos_in_database().await, 2, "one photo per user");

        // Seeded users share one photo, stored once.
        app.seed(3).await;
        app.seed(2).await;
        assert_eq!((app.photos_in_database().await, app.photos_in_key_value()), (3, 0));
        let served = every_photo(&app).await;
        assert_eq!(served.len(), 7);
        for (status, cache_control, length) in served {
            assert_eq!((status, cache_control.as_str()), (200, "public, max-age=31536000, immutable"));
            assert!(length > 0);
        }
    }
}

e2e_test! {
    async fn photos_move_between_the_stores_and_are_served_all_along(target: Target) {
        let key_value = AppOptions { photo_store: Some("key-value"), ..AppOptions::default() };
        let app = spawn_app_with(target, key_value).await;
        app.seed(2).await;
        for n in 1..=3 {
            assert_eq!(app.register(&Registration::valid(n)).await.0, 201);
        }
        let orphan = "0123456789abcdef0123456789abcdef.jpeg";
        app.plant_orphan_photo(orphan);
        assert_eq!((app.photos_in_key_value(), app.photos_in_database().await), (5, 0));

        // Two at a time into the database; every photo is served between batches.
        let (status, first) = maintenance(&app, json!({"move_to": "database", "limit": 2})).await;
        assert_eq!((status, first["moved"].as_array().map(Vec::len), first["done"].clone()), (200, Some(2), json!(false)), "{first}");
        assert!(every_photo(&app).await.iter().all(|(status, _, _)| *status == 200));
        assert_eq!(2 + move_all(&app, "database", 2).await, 4, "the users' four photos");
        assert_eq!((app.photos_in_key_value(), app.photos_in_database().await), (1, 4), "the orphan stays for the orphan check");
        let audit = app.client.get(app.url("/api/v1/maintenance/photos")).header("Seed-Key", SEED_KEY).send().await.expect("audit");
        let (_, audit) = json(audit).await;
        assert_eq!(audit["orphans"], json!([orphan]));
        assert!(every_photo(&app).await.iter().all(|(status, _, _)| *status == 200), "read from the database");

        // And back.
        assert_eq!(move_all(&app, "key-value", 500).await, 4);
        assert_eq!((app.photos_in_key_value(), app.photos_in_database().await), (5, 0));
        assert!(every_photo(&app).await.iter().all(|(status, _, _)| *status == 200));
    }
}

e2e_test! {
    async fn a_move_names_a_store_and_a_limit_of_1_to_500(target: Target) {
        let app = spawn_app(target).await;
        for body in [
            json!({"move_to": "redis"}),
            json!({"move_to": ""}),
            json!({"move_to": "database", "limit": 0}),
            json!({"move_to": "database", "limit": 501}),
            json!({"move_to": "database", "limit": null}),
            json!({"move_to": "database", "also": 1}),
        ] {
            let (status, answer) = maintenance(&app, body.clone()).await;
            assert_eq!((status, answer["success"].clone()), (400, json!(false)), "{body}: {answer}");
        }
        let (status, answer) = maintenance(&app, json!({"move_to": "key-value"})).await;
        assert_eq!((status, answer), (200, json!({"success": true, "moved_to": "key-value", "moved": [], "done": true})));
    }
}

/// Switching a deployment from spin-wasi02.toml (a label per store) to spin-akamai.toml (the
/// one `default` store) as docs/configuration.md says: `token_signing_key` set, photos moved
/// to the database with the old manifest, then the new one on the same database. Every
/// photo is served across the switch, a token issued before it registers after it, and the
/// photos move into the new layout's store and are served from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_switches_key_value_layouts_as_documented() {
    const KEY: &str = "e2e-layout-switch-signing-secret-0123456789";
    let before = Target {
        build: Build::Wasi02,
        sql: Sql::Postgres,
        platform: None,
    };
    let old = spawn_app_with(
        before,
        AppOptions {
            photo_store: Some("key-value"),
            token_signing_keys: (KEY, ""),
            ..AppOptions::default()
        },
    )
    .await;
    for n in 1..=3 {
        assert_eq!(old.register(&Registration::valid(n)).await.0, 201);
    }
    let token = old.token().await;
    assert_eq!(old.photos_in_key_value(), 3);
    assert_eq!(move_all(&old, "database", 2).await, 3);
    assert_eq!(
        (old.photos_in_key_value(), old.photos_in_database().await),
        (0, 3)
    );

    let after = Target {
        platform: Some(Platform::AkamaiFunctions),
        ..before
    };
    let new = spawn_app_with(
        after,
        AppOptions {
            token_signing_keys: (KEY, ""),
            postgres_schema: old.schema.clone(),
            ..AppOptions::default()
        },
    )
    .await;
    let served = every_photo(&new).await;
    assert_eq!(served.len(), 3);
    assert!(
        served.iter().all(|(status, _, _)| *status == 200),
        "{served:?}"
    );
    let (status, body) = new
        .register_with(Some(&token), &Registration::valid(4))
        .await;
    assert_eq!(status, 201, "a token from before the switch: {body}");

    // Back into key-value, now the `default` store under `photos/`.
    assert_eq!(move_all(&new, "key-value", 500).await, 4);
    assert_eq!(
        (new.photos_in_key_value(), new.photos_in_database().await),
        (4, 0)
    );
    assert_eq!(new.store_of("photos"), ("default", "photos/"));
    assert!(
        every_photo(&new)
            .await
            .iter()
            .all(|(status, _, _)| *status == 200)
    );
}
