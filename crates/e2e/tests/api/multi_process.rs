//! Two host processes serve the same application from shared PostgreSQL and Redis
//! key-value stores, as SpinKube replicas do: they race for one token and one email, serve
//! each other's photos, and see each other's seeding, positions cache included.

use std::time::Duration;

use serde_json::Value;
use tinypng_mock::{Behaviour, MockTinify};

use crate::helpers::{
    Build, PG_HOST, Registration, SEED_KEY, TINIFY_KEY, json, pg_client, postgres_schema,
    redis_stores_config,
};
use crate::server_process::ServerProcess;

/// The Redis databases this test keeps the stores in (one per label: Redis stores share
/// keys across labels). Only this test uses them.
const REDIS_STORES: [(&str, u8); 3] = [("tokens", 11), ("photos", 12), ("cache", 13)];
const REDIS: &str = "redis://127.0.0.1:6379";
/// How long Spin keeps an idle WASI 0.3 instance (`--idle-instance-timeout`, default 1 s).
const INSTANCE_IDLE_TIMEOUT: Duration = Duration::from_secs(1);

fn flush_redis_stores() {
    for (_, db) in REDIS_STORES {
        let client = redis::Client::open(format!("{REDIS}/{db}")).expect("Redis URL");
        let mut connection = client
            .get_connection()
            .expect("Redis at 127.0.0.1:6379 must be running");
        redis::cmd("FLUSHDB")
            .exec(&mut connection)
            .expect("FLUSHDB");
    }
}

async fn token(client: &reqwest::Client, host: &ServerProcess) -> String {
    let (status, body) = json(
        client
            .get(host.url("/api/v1/token"))
            .send()
            .await
            .expect("token"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().expect("a token").to_owned()
}

async fn register(
    client: &reqwest::Client,
    host: &ServerProcess,
    token: &str,
    registration: &Registration,
) -> (u16, Value) {
    let response = client
        .post(host.url("/api/v1/users"))
        .header("Token", token)
        .multipart(registration.form())
        .send()
        .await
        .expect("registration");
    json(response).await
}

/// Sixteen registrations at once, alternately through each host.
async fn race(
    client: &reqwest::Client,
    hosts: &[ServerProcess; 2],
    attempts: Vec<(String, Registration)>,
) -> Vec<(u16, Value)> {
    let requests = attempts
        .iter()
        .enumerate()
        .map(|(i, (token, registration))| register(client, &hosts[i % 2], token, registration));
    futures::future::join_all(requests).await
}

fn count(results: &[(u16, Value)], status: u16, message: &str) -> usize {
    results
        .iter()
        .filter(|(s, b)| *s == status && b["message"] == message)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_host_processes_share_postgresql_and_redis() {
    flush_redis_stores();
    let dir = tempfile::TempDir::new().expect("temp dir");
    let stores =
        redis_stores_config(REDIS_STORES.map(|(label, db)| (label, format!("{REDIS}/{db}"))));
    let runtime_config = dir.path().join("runtime-config.toml");
    std::fs::write(&runtime_config, stores).expect("runtime config");
    let (database_url, schema) = postgres_schema().await;
    let tinify = MockTinify::start(TINIFY_KEY, Behaviour::Normal)
        .await
        .expect("TinyPNG mock");
    let variables = [
        ("database_url", database_url),
        ("postgres_host", PG_HOST.to_owned()),
        ("tinify_base_url", tinify.url()),
        ("tinify_api_key", TINIFY_KEY.to_owned()),
        ("seed_key", SEED_KEY.to_owned()),
    ];
    let hosts = [
        ServerProcess::start(
            Build::Wasi03,
            &runtime_config,
            &dir.path().join("one"),
            &variables,
        ),
        ServerProcess::start(
            Build::Wasi03,
            &runtime_config,
            &dir.path().join("other"),
            &variables,
        ),
    ];
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("HTTP client");
    let (one, other) = (&hosts[0], &hosts[1]);

    // The first tokens, asked of both hosts at once: each may make a signing key in the
    // shared `tokens` store, and every token must verify on the other host (422 for the
    // invalid fields, not 401).
    let first_tokens = futures::future::join_all((0..16).map(|n| {
        let (client, hosts) = (&client, &hosts);
        async move { (n, token(client, &hosts[n % 2]).await) }
    }))
    .await;
    let mut invalid = Registration::valid(900);
    invalid.email = Some("nope".into());
    for (n, first_token) in &first_tokens {
        let (status, body) = register(&client, &hosts[(n + 1) % 2], first_token, &invalid).await;
        assert_eq!(status, 422, "token {n}: {body}");
    }
    let keys_stored: i64 = redis::cmd("DBSIZE")
        .query(
            &mut redis::Client::open(format!("{REDIS}/{}", REDIS_STORES[0].1))
                .and_then(|c| c.get_connection())
                .expect("Redis"),
        )
        .expect("DBSIZE");
    // `signing-key` and one `signing-key/<id>` per key made: no entry per token.
    assert!((2..=17).contains(&keys_stored), "{keys_stored} entries");

    // Seeding through one host is seen through the other, positions included.
    let seeded = client
        .post(one.url("/api/v1/seed?count=5"))
        .header("Seed-Key", SEED_KEY)
        .send()
        .await
        .expect("seed");
    assert_eq!(seeded.status(), 201);
    let (_, page) = json(
        client
            .get(other.url("/api/v1/users"))
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert_eq!(page["total_users"], 5, "{page}");
    let positions = |host: &ServerProcess| {
        let request = client.get(host.url("/api/v1/positions"));
        async move { json(request.send().await.expect("positions")).await.1 }
    };
    assert_eq!(positions(other).await["positions"][3]["name"], "Designer");
    // The positions answer is now cached in the shared `cache` store: a change made behind
    // the app's back stays invisible until seeding (through the other host) drops the entry.
    pg_client()
        .await
        .batch_execute(&format!(
            "UPDATE {schema}.positions SET name = 'Illustrator' WHERE id = 4"
        ))
        .await
        .expect("renaming a position");
    assert_eq!(positions(one).await["positions"][3]["name"], "Designer");
    let reseeded = client
        .post(other.url("/api/v1/seed?count=1"))
        .header("Seed-Key", SEED_KEY)
        .send()
        .await
        .expect("seed");
    assert_eq!(reseeded.status(), 201);
    // The instance that answered on `one` keeps its answer for its life; Spin ends an idle
    // instance after 1 s (its default `--idle-instance-timeout`), the bound
    // docs/configuration.md gives.
    tokio::time::sleep(INSTANCE_IDLE_TIMEOUT + Duration::from_millis(500)).await;
    assert_eq!(positions(one).await["positions"][3]["name"], "Illustrator");

    // One token, sixteen registrations through both hosts: one user.
    let shared = token(&client, one).await;
    let attempts = (0..16)
        .map(|n| (shared.clone(), Registration::valid(n)))
        .collect();
    let results = race(&client, &hosts, attempts).await;
    assert_eq!(
        (
            count(&results, 201, "New user successfully registered"),
            count(&results, 401, "The token expired.")
        ),
        (1, 15),
        "{results:?}"
    );

    // One email, sixteen tokens from both hosts: one user.
    let mut attempts = Vec::new();
    for n in 0..16 {
        let mut registration = Registration::valid(100 + n);
        registration.email = Some("same@example.com".into());
        attempts.push((token(&client, &hosts[n as usize % 2]).await, registration));
    }
    let results = race(&client, &hosts, attempts).await;
    assert_eq!(
        (
            count(&results, 201, "New user successfully registered"),
            count(&results, 409, "User with this phone or email already exist")
        ),
        (1, 15),
        "{results:?}"
    );

    // Both hosts gave list places from one counter: 1..=n, none twice, none skipped.
    let row = pg_client()
        .await
        .query_one(
            &format!("SELECT COUNT(*), COUNT(DISTINCT list_position), MIN(list_position), MAX(list_position) FROM {schema}.users"),
            &[],
        )
        .await
        .expect("places");
    let (users, distinct, first, last): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        (distinct, first, last),
        (users, 1, users),
        "places of {users} users"
    );

    // A photo registered through one host is served by the other.
    let (status, created) = register(
        &client,
        one,
        &token(&client, one).await,
        &Registration::valid(500),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let user_id = created["user_id"].as_i64().expect("user_id");
    let (_, user) = json(
        client
            .get(other.url(&format!("/api/v1/users/{user_id}")))
            .send()
            .await
            .expect("user"),
    )
    .await;
    let photo_url = user["user"]["photo"].as_str().expect("photo URL");
    assert!(photo_url.starts_with(&other.base), "{photo_url}");
    let photo = client.get(photo_url).send().await.expect("photo");
    assert_eq!(photo.status(), 200);
    let bytes = photo.bytes().await.expect("photo bytes");
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "a JPEG");
}
