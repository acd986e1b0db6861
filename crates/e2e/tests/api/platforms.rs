//! The hosted platforms' limits, imposed by the repository's host (`--platform`; real Spin
//! imposes none, so these run on the host only): registrations within them succeed, and a
//! registration a store refuses is a `503` that leaves nothing written.

use serde_json::json;
use spin_host::platform::Platform;

use crate::helpers::{
    AppOptions, Build, Registration, SEED_KEY, Sql, Target, TestApp, spawn_app_with,
};
use crate::server_process::Server;

/// The app on the repository's host with `platform`'s limits imposed; `None` (said once)
/// when this run serves it on real Spin, which imposes none.
async fn spawn_on(
    test: &str,
    platform: Platform,
    target: Target,
    options: AppOptions,
) -> Option<TestApp> {
    if !matches!(Server::under_test(), Server::Host) {
        eprintln!(
            "{test}: real Spin imposes no platform limits; this runs on the repository's host only"
        );
        return None;
    }
    let options = AppOptions {
        platform: Some(platform),
        ..options
    };
    Some(spawn_app_with(target, options).await)
}

/// Fills the `photos` key-value store with `count` photos no user has (as if earlier
/// registrations had stored them), straight into the host's store file.
fn fill_photo_store(app: &TestApp, count: usize) {
    let mut db =
        rusqlite::Connection::open(app.dir.path().join("photos.db")).expect("the photos store");
    let tx = db.transaction().expect("a transaction");
    for n in 0..count {
        tx.execute(
            "INSERT INTO spin_key_value (store, key, value) VALUES ('photos', ?1, x'ffd8ffd9')",
            [format!("{n:032x}.jpeg")],
        )
        .expect("a photo");
    }
    tx.commit().expect("commit");
}

/// Fermyon Cloud runs the WASI 0.2 build (it has no service chaining) on its SQLite.
const FERMYON_CLOUD: Target = Target {
    build: Build::Wasi02,
    sql: Sql::Sqlite,
};
/// Akamai Functions has no SQLite: the WASI 0.2 build on PostgreSQL.
const AKAMAI_FUNCTIONS: Target = Target {
    build: Build::Wasi02,
    sql: Sql::Postgres,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fermyon_cloud_a_full_photo_store_refuses_a_registration_cleanly() {
    let Some(app) = spawn_on(
        "fermyon_cloud_a_full_photo_store_refuses_a_registration_cleanly",
        Platform::FermyonCloud,
        FERMYON_CLOUD,
        AppOptions::default(),
    )
    .await
    else {
        return;
    };
    app.seed(1).await; // the seeded photo: one key
    fill_photo_store(&app, 1_022);
    assert_eq!(
        app.register(&Registration::valid(1)).await.0,
        201,
        "the 1,024th key"
    );
    assert_eq!(app.photos_stored(), 1_024);

    let token = app.token().await;
    let (status, retry_after, body) = app
        .register_with_retry_after(&token, &Registration::valid(2))
        .await;
    assert_eq!(
        (status, retry_after.as_str(), body["success"].clone()),
        (503, "5", json!(false)),
        "{body}"
    );
    assert_eq!(
        (app.total_users().await, app.photos_stored()),
        (2, 1_024),
        "nothing written"
    );

    // The token was not spent: once there is room, the same request succeeds.
    rusqlite::Connection::open(app.dir.path().join("photos.db"))
        .expect("the photos store")
        .execute(
            "DELETE FROM spin_key_value WHERE key = ?1",
            [format!("{:032x}.jpeg", 0)],
        )
        .expect("making room");
    assert_eq!(
        app.register_with(Some(&token), &Registration::valid(2))
            .await
            .0,
        201
    );
}

/// Why Fermyon Cloud gets the WASI 0.2 build: the WASI 0.3 build hands registrations from
/// `users` to `registration` over service chaining, which Fermyon Cloud does not have. There
/// the WASI 0.3 build reads, and every registration is the contract's `500` that wrote
/// nothing, never a hang or a half-written user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fermyon_cloud_refuses_the_wasi03_builds_chaining_cleanly() {
    let Some(app) = spawn_on(
        "fermyon_cloud_refuses_the_wasi03_builds_chaining_cleanly",
        Platform::FermyonCloud,
        Target {
            build: Build::Wasi03,
            ..FERMYON_CLOUD
        },
        AppOptions::default(),
    )
    .await
    else {
        return;
    };
    assert_eq!(app.seed(2).await.0, 201);
    assert_eq!(app.get_json("/api/v1/users?count=6").await.0, 200);
    let photos = app.photos_stored();

    let token = app.token().await;
    let (status, retry_after, body) = app
        .register_with_retry_after(&token, &Registration::valid(1))
        .await;
    assert_eq!(
        (status, retry_after.as_str(), body),
        (
            500,
            "",
            json!({"success": false, "message": "Internal server error"})
        )
    );
    assert_eq!(
        (app.total_users().await, app.photos_stored()),
        (2, photos),
        "nothing written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fermyon_cloud_photos_in_the_database_outgrow_the_key_count() {
    let Some(app) = spawn_on(
        "fermyon_cloud_photos_in_the_database_outgrow_the_key_count",
        Platform::FermyonCloud,
        FERMYON_CLOUD,
        AppOptions {
            photo_store: "database",
            ..AppOptions::default()
        },
    )
    .await
    else {
        return;
    };
    fill_photo_store(&app, 1_024);
    for n in 1..=3 {
        let (status, body) = app.register(&Registration::valid(n)).await;
        assert_eq!(status, 201, "{body}");
        assert!(
            !app.photo_of(body["user_id"].as_i64().unwrap())
                .await
                .is_empty()
        );
    }
    assert_eq!(app.photos_stored(), 1_024, "no key was needed");
}

/// 128 MiB an instance on Akamai Functions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akamai_functions_registrations_on_postgres_within_128_mib() {
    let Some(app) = spawn_on(
        "akamai_functions_registrations_on_postgres_within_128_mib",
        Platform::AkamaiFunctions,
        AKAMAI_FUNCTIONS,
        AppOptions::default(),
    )
    .await
    else {
        return;
    };
    for n in 1..=3 {
        let mut registration = Registration::valid(n);
        registration.photo = Some(("photo", crate::helpers::jpeg(4_000, 3_000)));
        let (status, body) = app.register(&registration).await;
        assert_eq!(status, 201, "a 12 MP photo fits 128 MiB: {body}");
    }
    assert_eq!(app.total_users().await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akamai_functions_has_no_sqlite() {
    let sqlite = Target {
        sql: Sql::Sqlite,
        ..AKAMAI_FUNCTIONS
    };
    let Some(app) = spawn_on(
        "akamai_functions_has_no_sqlite",
        Platform::AkamaiFunctions,
        sqlite,
        AppOptions::default(),
    )
    .await
    else {
        return;
    };
    let (status, body) = app.get_json("/api/v1/users").await;
    assert_eq!(
        (status, body),
        (
            500,
            json!({"success": false, "message": "Internal server error"})
        )
    );
}

/// A registration that arrives when the application's 50 key-value writes of the second are
/// spent: `503` with `Retry-After`, nothing written; the same request a second later is
/// registered. The writes are spent by the maintenance endpoint removing 60 orphan photos
/// (a delete is a write), just before the registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akamai_functions_a_registration_past_the_write_rate_is_503_then_succeeds() {
    let Some(app) = spawn_on(
        "akamai_functions_a_registration_past_the_write_rate_is_503_then_succeeds",
        Platform::AkamaiFunctions,
        AKAMAI_FUNCTIONS,
        AppOptions::default(),
    )
    .await
    else {
        return;
    };
    // Tokens, and the signing key the first one makes, before the writes are spent.
    let tokens = [app.token().await, app.token().await, app.token().await];
    for (attempt, token) in tokens.iter().enumerate() {
        let orphans: Vec<String> = (0..60)
            .map(|n| format!("{:016x}{n:016x}.jpeg", attempt + 1))
            .collect();
        for orphan in &orphans {
            app.plant_orphan_photo(orphan);
        }
        let removal = app
            .client
            .post(app.url("/api/v1/maintenance/photos"))
            .header("Seed-Key", SEED_KEY)
            .json(&json!({ "remove": orphans }))
            .send()
            .await
            .expect("removal");
        if removal.status() != 500 {
            // All 60 deletes admitted: they took over a second on this machine.
            continue;
        }
        let users_before = app.total_users().await;
        let registration = Registration::valid(attempt as u32 + 1);
        let (status, retry_after, body) = app.register_with_retry_after(token, &registration).await;
        if status == 201 {
            // This machine took over a second between the two: the window had moved on.
            continue;
        }
        assert_eq!((status, retry_after.as_str()), (503, "5"), "{body}");
        assert_eq!(app.total_users().await, users_before, "nothing registered");

        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        let (status, body) = app.register_with(Some(token), &registration).await;
        assert_eq!(status, 201, "the same request, a second later: {body}");
        return;
    }
    panic!("three times in a row, the writes were not spent within a second of the registration");
}
