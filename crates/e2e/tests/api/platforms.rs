//! The hosted platforms as the repository's host imposes them (`--platform`; real Spin
//! imposes none, so these run on the host only): it refuses to load what the platform
//! would refuse to deploy, for the platform's reason; the manifests the guides deploy load;
//! registrations within the limits succeed, and a registration a store refuses is a `503`
//! that leaves nothing written. The whole API suite also runs each guide's manifest under
//! its platform's profile (`name::wasi02_akamai_functions`, `name::wasi02_fermyon_cloud`).

use std::collections::BTreeMap;

use serde_json::json;
use spin_host::app::{App, Settings};
use spin_host::platform::Platform;
use spin_host::reuse::InstanceReuse;

use crate::helpers::{
    AppOptions, Build, PG_HOST, Registration, SEED_KEY, STORE_LABELS, Sql, Target, TestApp,
    spawn_app_with, workspace_root,
};
use crate::server_process::Server;

/// The app on the repository's host under `target`'s platform profile; `None` (said once)
/// when this run serves it on real Spin, which imposes none.
async fn spawn_on(test: &str, target: Target, options: AppOptions) -> Option<TestApp> {
    if !matches!(Server::under_test(), Server::Host) {
        eprintln!(
            "{test}: real Spin imposes no platform limits; this runs on the repository's host only"
        );
        return None;
    }
    Some(spawn_app_with(target, options).await)
}

/// Fermyon Cloud as its guide deploys: spin-fermyon-cloud.toml, on the Cloud's SQLite.
const FERMYON_CLOUD: Target = Target {
    build: Build::Wasi02,
    sql: Sql::Sqlite,
    platform: Some(Platform::FermyonCloud),
};
/// Akamai Functions as its guide deploys: spin-akamai.toml, on PostgreSQL.
const AKAMAI_FUNCTIONS: Target = Target {
    build: Build::Wasi02,
    sql: Sql::Postgres,
    platform: Some(Platform::AkamaiFunctions),
};

/// Photos kept in key-value, where the store's limits apply to them.
fn key_value_photos() -> AppOptions {
    AppOptions {
        photo_store: Some("key-value"),
        ..AppOptions::default()
    }
}

/// Every key of every logical store in the app's key-value stores.
fn keys_stored(app: &TestApp) -> i64 {
    STORE_LABELS
        .into_iter()
        .map(|store| app.entries_in(store))
        .sum()
}

/// Fills the photo store with `count` photos no user has (as if earlier registrations had
/// stored them), straight into the host's store file.
fn fill_photo_store(app: &TestApp, count: usize) {
    let (label, prefix) = app.store_of("photos");
    let mut db = rusqlite::Connection::open(app.dir.path().join(format!("{label}.db")))
        .expect("the photos' store");
    let tx = db.transaction().expect("a transaction");
    for n in 0..count {
        tx.execute(
            "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, x'ffd8ffd9')",
            [label.to_owned(), format!("{prefix}{n:032x}.jpeg")],
        )
        .expect("a photo");
    }
    tx.commit().expect("commit");
}

/// Why the host refuses to load `manifest` under `platform`, with the runtime config
/// `stores` and `variables` given; `None` if it loads.
fn refusal(
    manifest: &str,
    platform: Platform,
    stores: &str,
    variables: &[(&str, &str)],
) -> Option<String> {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let runtime_config = dir.path().join("runtime-config.toml");
    std::fs::write(&runtime_config, stores).expect("runtime config");
    crate::helpers::build_components(Build::Wasi02);
    crate::helpers::build_components(Build::Wasi03);
    let settings = Settings {
        manifest: workspace_root().join(manifest),
        state_dir: Some(dir.path().join(".spin")),
        runtime_config: Some(runtime_config),
        variables: variables
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        sqlite_statements: Vec::new(),
        reuse: InstanceReuse::default(),
        max_instance_memory: 256 << 20,
        platform: Some(platform),
    };
    App::load(settings).err().map(|e| format!("{e:#}"))
}

const LINKED: &str = "[key_value_store.default]\ntype = \"spin\"\npath = \"default.db\"\n\
                      [sqlite_database.default]\ntype = \"spin\"\n";
const POSTGRES: [(&str, &str); 2] = [
    ("database_url", "postgres://postgres@127.0.0.1:5432/test"),
    ("postgres_host", PG_HOST),
];

#[test]
fn the_host_refuses_what_each_platform_would_refuse_for_its_reason() {
    // Fermyon Cloud: the cloud plugin's own words for service chaining.
    let why = refusal("spin.toml", Platform::FermyonCloud, LINKED, &[]).expect("refused");
    assert!(
        why.contains(
            "This app requires features that are not yet available on Fermyon Cloud: local_service_chaining"
        ),
        "{why}"
    );
    // ...and a label no link provides (here: no runtime config table).
    let why = refusal("spin-fermyon-cloud.toml", Platform::FermyonCloud, "", &[]).expect("refused");
    assert!(
        why.contains("No link specified for label 'default'"),
        "{why}"
    );

    // Akamai Functions: only `default`, no SQLite, and a PostgreSQL it can reach.
    let why =
        refusal("spin-wasi02.toml", Platform::AkamaiFunctions, "", &POSTGRES).expect("refused");
    for reason in [
        "component `token` is granted key-value store `tokens`: on Akamai Functions the only label allowed is `default`",
        "component `positions` is granted SQLite database `default`: Akamai Functions does not support SQLite",
    ] {
        assert!(why.contains(reason), "{reason}\nnot in\n{why}");
    }
    let why = refusal("spin-akamai.toml", Platform::AkamaiFunctions, "", &[]).expect("refused");
    assert!(
        why.contains("required variables have no value")
            && why.contains("database_url")
            && why.contains("postgres_host"),
        "{why}"
    );
    let sqlite = [
        ("database_url", "sqlite:default"),
        ("postgres_host", PG_HOST),
    ];
    let why = refusal("spin-akamai.toml", Platform::AkamaiFunctions, "", &sqlite).expect("refused");
    assert!(
        why.contains("database_url is `sqlite:default`: Akamai Functions has no SQLite"),
        "{why}"
    );

    // SpinKube's shim embeds Spin 3.6.3: WASI 0.2 only.
    let why = refusal("spin.toml", Platform::SpinKube, "", &[]).expect("refused");
    assert!(
        why.contains("`token`, `users` export wasi:http/handler@0.3.0 (WASI 0.3"),
        "{why}"
    );

    // The manifests the guides deploy load under their platforms.
    assert_eq!(
        refusal("spin-akamai.toml", Platform::AkamaiFunctions, "", &POSTGRES),
        None
    );
    assert_eq!(
        refusal(
            "spin-fermyon-cloud.toml",
            Platform::FermyonCloud,
            LINKED,
            &[]
        ),
        None
    );
    assert_eq!(
        refusal(
            "spin-wasi02.toml",
            Platform::SpinKube,
            &crate::helpers::local_stores_config(),
            &[]
        ),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fermyon_cloud_a_full_store_refuses_a_registration_cleanly() {
    let test = "fermyon_cloud_a_full_store_refuses_a_registration_cleanly";
    let Some(app) = spawn_on(test, FERMYON_CLOUD, key_value_photos()).await else {
        return;
    };
    app.seed(1).await; // the seeded photo: one key
    let token = app.token().await; // the signing key: two more
    // One store holds the photos, the signing keys and the cache: fill it to one short.
    fill_photo_store(&app, 1_023 - keys_stored(&app) as usize);
    assert_eq!(
        app.register_with(Some(&token), &Registration::valid(1))
            .await
            .0,
        201,
        "the 1,024th key"
    );
    assert_eq!(keys_stored(&app), 1_024);

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
        (app.total_users().await, keys_stored(&app)),
        (2, 1_024),
        "nothing written"
    );

    // The token was not spent: once there is room, the same request succeeds.
    let (label, prefix) = app.store_of("photos");
    rusqlite::Connection::open(app.dir.path().join(format!("{label}.db")))
        .expect("the photos' store")
        .execute(
            "DELETE FROM spin_key_value WHERE key = ?1",
            [format!("{prefix}{:032x}.jpeg", 0)],
        )
        .expect("making room");
    assert_eq!(
        app.register_with(Some(&token), &Registration::valid(2))
            .await
            .0,
        201
    );
}

/// As the guide deploys it (photos in the database, `token_signing_key` set), the key
/// count never binds: registrations go on with the store full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fermyon_cloud_photos_in_the_database_outgrow_the_key_count() {
    let test = "fermyon_cloud_photos_in_the_database_outgrow_the_key_count";
    let options = AppOptions {
        token_signing_keys: ("e2e-fermyon-signing-secret-0123456789abcdef", ""),
        ..AppOptions::default()
    };
    let Some(app) = spawn_on(test, FERMYON_CLOUD, options).await else {
        return;
    };
    fill_photo_store(&app, 1_024);
    for n in 1..=3 {
        let (status, body) = app.register(&Registration::valid(n)).await;
        assert_eq!(status, 201, "{body}");
        assert!(
            !app.photo_of(body["user_id"].as_i64().expect("an id"))
                .await
                .is_empty()
        );
    }
    assert_eq!(app.photos_in_key_value(), 1_024, "no key was needed");
    assert_eq!(app.photos_in_database().await, 3);
}

/// 128 MiB an instance on Akamai Functions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akamai_functions_registrations_on_postgres_within_128_mib() {
    let test = "akamai_functions_registrations_on_postgres_within_128_mib";
    let Some(app) = spawn_on(test, AKAMAI_FUNCTIONS, AppOptions::default()).await else {
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

/// A registration that arrives when the application's 50 key-value writes of the second are
/// spent: `503` with `Retry-After`, nothing written; the same request a second later is
/// registered. The writes are spent by the maintenance endpoint removing 60 orphan photos
/// (a delete is a write), just before the registration. Photos are in key-value here: the
/// guide's choice, the database, makes a registration write none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akamai_functions_a_registration_past_the_write_rate_is_503_then_succeeds() {
    let test = "akamai_functions_a_registration_past_the_write_rate_is_503_then_succeeds";
    let Some(app) = spawn_on(test, AKAMAI_FUNCTIONS, key_value_photos()).await else {
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

/// `deploy-check` on every platform and every manifest of the repository, with the built
/// `.wasm` files: what each platform takes, and why it refuses the rest.
#[test]
fn deploy_check_takes_each_platforms_manifest_and_refuses_the_others() {
    use spin_host::deploy_check::{Request, check};
    crate::helpers::build_components(Build::Wasi02);
    crate::helpers::build_components(Build::Wasi03);
    let postgres: Vec<String> = POSTGRES.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let links = vec!["kv:default=kv".to_owned(), "sqlite:default=db".to_owned()];
    /// A platform, a manifest, the deploy's variables and links, and why the platform
    /// refuses it (empty: it takes it).
    type Case<'a> = (Platform, &'a str, &'a [String], &'a [String], &'a str);
    let cases: [Case; 12] = [
        (
            Platform::SpinKube,
            "spin.toml",
            &[],
            &[],
            "export wasi:http/handler@0.3.0",
        ),
        (Platform::SpinKube, "spin-wasi02.toml", &[], &[], ""),
        (Platform::SpinKube, "spin-fermyon-cloud.toml", &[], &[], ""),
        (Platform::SpinKube, "spin-akamai.toml", &postgres, &[], ""),
        (
            Platform::FermyonCloud,
            "spin.toml",
            &[],
            &[],
            "local_service_chaining",
        ),
        (Platform::FermyonCloud, "spin-wasi02.toml", &[], &[], ""),
        (
            Platform::FermyonCloud,
            "spin-fermyon-cloud.toml",
            &[],
            &links,
            "",
        ),
        (
            Platform::FermyonCloud,
            "spin-akamai.toml",
            &[],
            &[],
            "which have not been set: database_url, postgres_host",
        ),
        (
            Platform::AkamaiFunctions,
            "spin.toml",
            &postgres,
            &[],
            "only label allowed is `default`",
        ),
        (
            Platform::AkamaiFunctions,
            "spin-wasi02.toml",
            &postgres,
            &[],
            "does not support SQLite",
        ),
        (
            Platform::AkamaiFunctions,
            "spin-fermyon-cloud.toml",
            &[],
            &[],
            "database_url is `sqlite:default`",
        ),
        (
            Platform::AkamaiFunctions,
            "spin-akamai.toml",
            &postgres,
            &[],
            "",
        ),
    ];
    for (platform, manifest, variables, links, refused_for) in cases {
        let outcome = check(&Request {
            platform,
            manifest: workspace_root().join(manifest),
            variables: variables.to_vec(),
            links: links.to_vec(),
        })
        .expect("a check");
        let case = format!("{} · {manifest}:\n{}", platform.name(), outcome.report);
        assert_eq!(outcome.accepted, refused_for.is_empty(), "{case}");
        assert!(outcome.report.contains(refused_for), "{case}");
        if platform != Platform::SpinKube {
            assert!(outcome.report.contains("binds first: "), "{case}");
        }
    }
}
