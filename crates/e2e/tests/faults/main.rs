//! Faults on the production shape: host processes reusing instances as Spin does, users in
//! PostgreSQL, key-value stores in Redis, TinyPNG behind outbound HTTP. Each test injects one
//! fault under load and checks what clients see while it lasts — a `200`, or the contract's
//! JSON error with `500`/`503`, and never a request hanging past [`DEADLINE`] — and what is
//! left afterwards: the app serving again by itself, every `201` kept, no user without a
//! photo. Registrations through a Redis outage are the exception on the WASI 0.2 build,
//! whose store calls block: a client may give up on one, and the test checks instead that
//! such a registration wrote nothing (the registration deadline).
//!
//! Run on real Spin with `E2E_SPIN=/path/to/spin` (`scripts/test` runs them on the host).
//!
//! The tests restart PostgreSQL, kill connections and stop Redis, so they run one at a time
//! ([`ONE_AT_A_TIME`]) and in their own test binary: cargo runs test binaries one after
//! another, so no other suite sees the faults. Each prints what clients saw (`--nocapture`).

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/redis_server.rs"]
mod redis_server;
#[allow(dead_code)]
#[path = "../api/server_process.rs"]
mod server_process;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tinypng_mock::{Behaviour, MockTinify};

use helpers::{
    Build, PG_HOST, Registration, SEED_KEY, STORE_LABELS, TINIFY_KEY, pg_client, postgres_schema,
    redis_stores_config,
};
use redis_server::RedisServer;
use server_process::ServerProcess;

/// The longest any request may take, fault or not.
const DEADLINE: Duration = Duration::from_secs(15);
/// How long the app may take to serve normally again once a fault is over. Spin's Redis
/// client (redis-rs's connection manager, default settings) waits between reconnection
/// attempts with a backoff that reaches a minute, so after Redis returns the stores can
/// stay unreachable for that long; the other faults clear within a second.
const RECOVERY: Duration = Duration::from_secs(150);
/// Concurrent clients of a load.
const CLIENTS: usize = 8;

/// One fault at a time: a PostgreSQL restart would fail any other test's requests.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// PostgreSQL for users, Redis for the stores, a TinyPNG mock: what hosts are started on.
struct Production {
    dir: tempfile::TempDir,
    redis: RedisServer,
    runtime_config: PathBuf,
    variables: Vec<(&'static str, String)>,
    /// The PostgreSQL schema holding the users.
    schema: String,
    _tinify: MockTinify,
}

impl Production {
    async fn new(tinify: Behaviour) -> Self {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let redis = RedisServer::start(&dir.path().join("redis"));
        let runtime_config = dir.path().join("runtime-config.toml");
        // One Redis database per store: Redis stores share keys across labels.
        let stores = redis_stores_config(
            STORE_LABELS
                .into_iter()
                .zip(0..)
                .map(|(label, db)| (label, redis.url(db))),
        );
        std::fs::write(&runtime_config, stores).expect("runtime config");
        let (database_url, schema) = postgres_schema().await;
        let tinify = MockTinify::start(TINIFY_KEY, tinify)
            .await
            .expect("TinyPNG mock");
        let variables = vec![
            ("database_url", database_url),
            ("postgres_host", PG_HOST.to_owned()),
            ("tinify_base_url", tinify.url()),
            ("tinify_api_key", TINIFY_KEY.to_owned()),
            ("tinify_timeout_ms", "2000".to_owned()),
            ("seed_key", SEED_KEY.to_owned()),
        ];
        Self {
            dir,
            redis,
            runtime_config,
            variables,
            schema,
            _tinify: tinify,
        }
    }

    /// A host process on these stores (`name` keeps its state directory apart).
    fn host(&self, name: &str) -> ServerProcess {
        self.host_on(Build::Wasi03, name)
    }

    /// A host process of `build` on these stores.
    fn host_on(&self, build: Build, name: &str) -> ServerProcess {
        ServerProcess::start(
            build,
            &self.runtime_config,
            &self.dir.path().join(name),
            &self.variables,
        )
    }

    /// The emails of every user in the database.
    async fn emails(&self) -> Vec<String> {
        pg_client()
            .await
            .query(&format!("SELECT email FROM {}.users", self.schema), &[])
            .await
            .expect("reading the users")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .expect("HTTP client")
}

/// What one request of a load got.
#[derive(Debug, Clone)]
struct Outcome {
    path: String,
    /// `None`: no answer within [`DEADLINE`], or the connection failed.
    status: Option<u16>,
    body: String,
    took: Duration,
}

/// Clients requesting `paths` in turn, as fast as answers come, until stopped.
struct Load {
    stop: Arc<std::sync::atomic::AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(base: &str, paths: &[String]) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let tasks = (0..CLIENTS)
            .map(|n| {
                let (stop, outcomes) = (Arc::clone(&stop), Arc::clone(&outcomes));
                let (base, paths) = (base.to_owned(), paths.to_vec());
                tokio::spawn(async move {
                    let client = client();
                    let mut i = n;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let path = paths[i % paths.len()].clone();
                        i += 1;
                        let started = Instant::now();
                        let (status, body) = match client.get(format!("{base}{path}")).send().await
                        {
                            Ok(response) => {
                                let status = response.status().as_u16();
                                (Some(status), response.text().await.unwrap_or_default())
                            }
                            Err(error) => (None, error.to_string()),
                        };
                        let took = started.elapsed();
                        if let Ok(mut outcomes) = outcomes.lock() {
                            outcomes.push(Outcome {
                                path,
                                status,
                                body,
                                took,
                            });
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            outcomes,
            tasks,
        }
    }

    /// Everything answered so far, and the count to start the next window from.
    fn so_far(&self) -> usize {
        self.outcomes.lock().map(|o| o.len()).unwrap_or(0)
    }

    async fn stop(self) -> Vec<Outcome> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in self.tasks {
            let _ = task.await;
        }
        self.outcomes.lock().map(|o| o.clone()).unwrap_or_default()
    }
}

/// Checks that every outcome is a `200` or the contract's JSON error with `500`/`503`, in
/// time; prints what clients saw.
fn assert_contract(fault: &str, outcomes: &[Outcome]) {
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in outcomes {
        let key = outcome
            .status
            .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
        *statuses.entry(key).or_default() += 1;
        let what = format!("{fault}: {} → {outcome:?}", outcome.path);
        let status = outcome.status.unwrap_or_else(|| panic!("{what}"));
        if status != 200 {
            assert!(matches!(status, 500 | 503), "{what}");
            let body: Value = serde_json::from_str(&outcome.body)
                .unwrap_or_else(|_| panic!("not the contract's JSON error: {what}"));
            assert_eq!(body["success"], false, "{what}");
            assert!(body["message"].is_string(), "{what}");
        }
    }
    let slowest = outcomes.iter().map(|o| o.took).max().unwrap_or_default();
    eprintln!(
        "[{fault}] {} requests during the fault: {statuses:?}; slowest {} ms",
        outcomes.len(),
        slowest.as_millis()
    );
}

/// Waits until every path answers `200`; how long that took.
async fn recovery(fault: &str, base: &str, paths: &[String]) -> Duration {
    let client = client();
    let started = Instant::now();
    loop {
        let mut healthy = true;
        for path in paths {
            let ok = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            healthy &= ok;
        }
        if healthy {
            let took = started.elapsed();
            eprintln!(
                "[{fault}] serving normally again after {} ms",
                took.as_millis()
            );
            return took;
        }
        assert!(
            started.elapsed() < RECOVERY,
            "{fault}: not recovered after {RECOVERY:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The JSON body `url` answers a GET with.
async fn get_json(client: &reqwest::Client, url: String) -> Value {
    client
        .get(url)
        .send()
        .await
        .expect("a response")
        .json()
        .await
        .expect("JSON")
}

/// Seeds `count` users through `host`; the first user's id and photo path.
async fn seeded(host: &ServerProcess, count: u32) -> (i64, String) {
    let client = client();
    let response = client
        .post(host.url(&format!("/api/v1/seed?count={count}")))
        .header("Seed-Key", SEED_KEY)
        .send()
        .await
        .expect("seed");
    assert_eq!(response.status(), 201);
    let page = get_json(&client, host.url("/api/v1/users?count=1")).await;
    let id = page["users"][0]["id"].as_i64().expect("a user");
    let photo = page["users"][0]["photo"].as_str().expect("a photo");
    let path = photo
        .strip_prefix(&host.base)
        .expect("same origin")
        .to_owned();
    (id, path)
}

/// The paths that read users from PostgreSQL.
fn database_paths(user_id: i64) -> Vec<String> {
    vec![
        "/api/v1/users?page=1&count=6".to_owned(),
        format!("/api/v1/users/{user_id}"),
        "/api/v1/users?offset=3&count=2".to_owned(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_connections_killed_under_load() {
    let _one = ONE_AT_A_TIME.lock().await;
    let production = Production::new(Behaviour::Normal).await;
    let host = production.host("host");
    let (user_id, _) = seeded(&host, 20).await;
    let paths = database_paths(user_id);

    let load = Load::start(&host.base, &paths);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed = pg_client()
        .await
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND backend_type = 'client backend'",
            &[],
        )
        .await
        .expect("terminating backends");
    assert!(!killed.is_empty(), "the host had connections to kill");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let outcomes = load.stop().await;

    assert_contract("pg_terminate_backend", &outcomes);
    recovery("pg_terminate_backend", &host.base, &paths).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarted_under_load() {
    let _one = ONE_AT_A_TIME.lock().await;
    let production = Production::new(Behaviour::Normal).await;
    let host = production.host("host");
    let (user_id, _) = seeded(&host, 20).await;
    let paths = database_paths(user_id);

    let load = Load::start(&host.base, &paths);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restarted = tokio::task::spawn_blocking(restart_postgresql)
        .await
        .expect("task");
    eprintln!(
        "[PostgreSQL restart] the server was down for {} ms",
        restarted.as_millis()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let outcomes = load.stop().await;

    assert_contract("PostgreSQL restart", &outcomes);
    recovery("PostgreSQL restart", &host.base, &paths).await;
}

/// Restarts the machine's PostgreSQL cluster (Debian's `pg_ctlcluster`, as `.ci/run`
/// starts it); how long the restart took.
fn restart_postgresql() -> Duration {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("a Debian PostgreSQL cluster under /etc/postgresql")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .max()
        .expect("a PostgreSQL version");
    let started = Instant::now();
    let status = Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            &version,
            "main",
            "restart",
            "-m",
            "fast",
        ])
        .status()
        .expect("pg_ctlcluster");
    assert!(status.success(), "restarting PostgreSQL failed");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_and_back() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut production = Production::new(Behaviour::Normal).await;
    let host = production.host("host");
    let (_, photo) = seeded(&host, 5).await;
    // Tokens are written to Redis, photos read from it, positions cached in it.
    let paths = vec![
        "/api/v1/token".to_owned(),
        photo.clone(),
        "/api/v1/positions".to_owned(),
    ];

    let load = Load::start(&host.base, &paths);
    tokio::time::sleep(Duration::from_secs(1)).await;
    production.redis.crash();
    let down_from = load.so_far();
    tokio::time::sleep(Duration::from_secs(5)).await;
    production.redis.resume();
    let down_until = load.so_far();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let outcomes = load.stop().await;

    assert_contract("Redis down", &outcomes[down_from..down_until]);
    assert_contract("Redis back", &outcomes[down_until..]);
    recovery("Redis down and back", &host.base, &paths).await;
    // Append-only Redis kept what was written before the crash.
    let kept = client().get(host.url(&photo)).send().await.expect("photo");
    assert_eq!(kept.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tinypng_hanging() {
    let _one = ONE_AT_A_TIME.lock().await;
    // TinyPNG accepts the upload and never answers within the 2 s timeout.
    let production = Production::new(Behaviour::Slow(Duration::from_secs(120))).await;
    let host = production.host("host");
    let client = client();
    let registrations = (0..4).map(|n| {
        let client = client.clone();
        let base = host.base.clone();
        async move {
            let token = get_json(&client, format!("{base}/api/v1/token")).await;
            let started = Instant::now();
            let response = client
                .post(format!("{base}/api/v1/users"))
                .header("Token", token["token"].as_str().unwrap_or_default())
                .multipart(Registration::valid(n).form())
                .send()
                .await
                .expect("registration within the deadline");
            (response.status().as_u16(), started.elapsed())
        }
    });
    let results = futures::future::join_all(registrations).await;
    let slowest = results
        .iter()
        .map(|(_, took)| *took)
        .max()
        .unwrap_or_default();
    eprintln!(
        "[TinyPNG hanging] registrations: {:?}; slowest {} ms",
        results.iter().map(|(s, _)| s).collect::<Vec<_>>(),
        slowest.as_millis()
    );
    assert!(
        results.iter().all(|(status, _)| *status == 201),
        "{results:?}"
    );
    // The local 70x70 JPEG was kept: each photo is served.
    let page = get_json(&client, host.url("/api/v1/users?count=10")).await;
    for user in page["users"].as_array().expect("users") {
        let photo = client
            .get(user["photo"].as_str().expect("photo"))
            .send()
            .await
            .expect("photo");
        assert_eq!(photo.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_killed_mid_registrations() {
    let _one = ONE_AT_A_TIME.lock().await;
    let production = Production::new(Behaviour::Normal).await;
    let host = production.host("first");
    seeded(&host, 1).await;

    // Registrations from 16 clients until the host dies under them.
    let created = Arc::new(Mutex::new(Vec::<i64>::new()));
    let base = host.base.clone();
    let clients: Vec<_> = (0..16u32)
        .map(|client_number| {
            let (created, base) = (Arc::clone(&created), base.clone());
            tokio::spawn(async move {
                let client = client();
                for n in 0.. {
                    let Ok(token) = client.get(format!("{base}/api/v1/token")).send().await else {
                        return;
                    };
                    let Ok(token) = token.json::<Value>().await else {
                        return;
                    };
                    let registration = Registration::valid(client_number * 10_000 + n);
                    let Ok(response) = client
                        .post(format!("{base}/api/v1/users"))
                        .header("Token", token["token"].as_str().unwrap_or_default())
                        .multipart(registration.form())
                        .send()
                        .await
                    else {
                        return;
                    };
                    let status = response.status().as_u16();
                    let Ok(body) = response.json::<Value>().await else {
                        return;
                    };
                    assert_eq!(status, 201, "{body}");
                    if let (Some(id), Ok(mut created)) = (body["user_id"].as_i64(), created.lock())
                    {
                        created.push(id);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    host.kill();
    for client in clients {
        client.await.expect("a client task");
    }
    let created = created.lock().map(|c| c.clone()).unwrap_or_default();
    assert!(
        !created.is_empty(),
        "registrations were answered before the kill"
    );

    // Restarted on the same stores: every 201 is there, with its photo.
    let host = production.host("second");
    let client = client();
    for id in &created {
        let user = get_json(&client, host.url(&format!("/api/v1/users/{id}"))).await;
        assert_eq!(user["success"], true, "user {id}: {user}");
    }
    // No user lacks a photo.
    let mut users = 0;
    let mut next = Some(host.url("/api/v1/users?count=100"));
    while let Some(url) = next {
        let page = get_json(&client, url).await;
        for user in page["users"].as_array().expect("users") {
            users += 1;
            let photo = client
                .get(user["photo"].as_str().expect("photo"))
                .send()
                .await
                .expect("photo");
            assert_eq!(photo.status(), 200, "the photo of {user}");
        }
        next = page["links"]["next_url"].as_str().map(str::to_owned);
    }
    // Orphans only from registrations cut off between storing a photo and inserting its user:
    // at most one per client. The maintenance command finds and removes them.
    let base = host.base.clone();
    let audit = tokio::task::spawn_blocking(move || seed_cli::photo_audit(&base, SEED_KEY))
        .await
        .expect("task")
        .expect("check");
    eprintln!(
        "[SIGKILL mid-registrations] {} registrations answered 201 before the kill, all kept; \
         {users} users, each with a photo; {} orphan photos",
        created.len(),
        audit.orphans.len()
    );
    assert!(audit.orphans.len() <= 16, "{audit:?}");
    let (base, orphans) = (host.base.clone(), audit.orphans.clone());
    let removal =
        tokio::task::spawn_blocking(move || seed_cli::remove_orphans(&base, SEED_KEY, &orphans))
            .await
            .expect("task")
            .expect("repair");
    assert_eq!(removal.removed, audit.orphans);
    let base = host.base.clone();
    let after = tokio::task::spawn_blocking(move || seed_cli::photo_audit(&base, SEED_KEY))
        .await
        .expect("task")
        .expect("check");
    assert_eq!(after.orphans, Vec::<String>::new());
    assert_eq!(after.photos, audit.photos - audit.orphans.len() as u64);
}

/// What a registering client was told, within its timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Created,
    Status(u16),
    NoAnswer,
}

/// The shape the app's registration deadline was asked for in (issue 24; SpinKube's:
/// PostgreSQL, Redis stores, 8 clients registering with a 15 s timeout; Redis down for 5 s).
/// With a 5 s deadline, every registration a client was not told was a `201` — a `503`, or
/// no answer within 15 s — wrote nothing, whenever the app finished it: the emails in the
/// database are exactly those told `201`, and every user has a photo.
async fn registrations_while_redis_is_down(build: Build) {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut production = Production::new(Behaviour::Normal).await;
    production
        .variables
        .push(("registration_deadline_seconds", "5".to_owned()));
    // Tokens that need no store, so the registrations' own writes are what meets Redis.
    production.variables.push((
        "token_signing_key",
        "faults-deadline-signing-secret-0123456789abcdef".to_owned(),
    ));
    let host = production.host_on(build, "host");
    seeded(&host, 1).await;

    let told = Arc::new(Mutex::new(Vec::<(u32, Told, Duration)>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS as u32)
        .map(|client_number| {
            let (told, stop, base) = (Arc::clone(&told), Arc::clone(&stop), host.base.clone());
            tokio::spawn(async move {
                let client = client();
                for n in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    let token = match client.get(format!("{base}/api/v1/token")).send().await {
                        Ok(response) => response.json::<Value>().await.unwrap_or_default(),
                        Err(_) => Value::Null,
                    };
                    let Some(token) = token["token"].as_str() else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    let number = 100_000 + client_number * 10_000 + n;
                    let started = Instant::now();
                    let outcome = client
                        .post(format!("{base}/api/v1/users"))
                        .header("Token", token)
                        .multipart(Registration::valid(number).form())
                        .send()
                        .await;
                    let outcome = match outcome {
                        Ok(response) if response.status() == 201 => Told::Created,
                        Ok(response) => Told::Status(response.status().as_u16()),
                        Err(_) => Told::NoAnswer,
                    };
                    if let Ok(mut told) = told.lock() {
                        told.push((number, outcome, started.elapsed()));
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    production.redis.crash();
    tokio::time::sleep(Duration::from_secs(5)).await;
    production.redis.resume();
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for client in clients {
        client.await.expect("a client task");
    }

    // Registrations succeed again; by then every stalled store call has returned, and the
    // registrations behind them have finished, one way or the other.
    let started = Instant::now();
    let client = client();
    for n in 0.. {
        let token = get_json(&client, host.url("/api/v1/token")).await;
        let created = client
            .post(host.url("/api/v1/users"))
            .header("Token", token["token"].as_str().unwrap_or_default())
            .multipart(Registration::valid(900_000 + n).form())
            .send()
            .await
            .is_ok_and(|r| r.status() == 201);
        if created {
            break;
        }
        assert!(
            started.elapsed() < RECOVERY,
            "registrations never recovered"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let recovered_after = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let told = told.lock().map(|t| t.clone()).unwrap_or_default();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, outcome, _) in &told {
        *counts.entry(format!("{outcome:?}")).or_default() += 1;
    }
    let emails: std::collections::BTreeSet<String> =
        production.emails().await.into_iter().collect();
    for (number, outcome, took) in &told {
        let email = Registration::valid(*number).email.expect("an email");
        assert_eq!(
            emails.contains(&email),
            *outcome == Told::Created,
            "{email}: told {outcome:?} after {took:?}"
        );
    }
    let base = host.base.clone();
    let audit = tokio::task::spawn_blocking(move || seed_cli::photo_audit(&base, SEED_KEY))
        .await
        .expect("task")
        .expect("check");
    let slowest = told
        .iter()
        .map(|(_, _, took)| *took)
        .max()
        .unwrap_or_default();
    eprintln!(
        "[Redis down during registrations, {build:?}] {} registrations: {counts:?}; slowest \
         answer {} ms; registering again {} ms after the clients stopped; {} users, each \
         created one told 201 and no other; {} orphan photos",
        told.len(),
        slowest.as_millis(),
        recovered_after.as_millis(),
        emails.len(),
        audit.orphans.len()
    );
    assert_eq!(
        audit.photos as usize - audit.orphans.len(),
        emails.len(),
        "every user has its photo"
    );
    assert!(
        counts.get("Created").copied().unwrap_or(0) > 0,
        "registrations succeeded around the fault: {counts:?}"
    );
    assert!(
        told.iter().any(|(_, outcome, _)| *outcome != Told::Created),
        "the fault refused some registrations: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_during_registrations() {
    registrations_while_redis_is_down(Build::Wasi03).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_during_registrations_wasi02() {
    registrations_while_redis_is_down(Build::Wasi02).await;
}
