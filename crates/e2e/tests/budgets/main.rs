//! Per-request budgets: what each endpoint asks of the platform's metered services —
//! key-value reads and writes, SQL statements, outbound HTTP requests — and how far its
//! instance's linear memory grows, on each build and in each deployment's shape. The
//! budgets are `spin_host::budgets`, which `spin-host deploy-check` computes a platform's
//! binding limits from: this suite is what makes its arithmetic true. Hosted platforms meter these
//! (Akamai Functions: 1,000 key-value reads and 50 writes a second per app; Fermyon Cloud:
//! 1,024 keys a store; both: 128 MiB a request), so each count is held to what the endpoint
//! needs, and a change that adds a call fails here.
//!
//! Counted by the repository's host, in this process: it counts every import a guest calls
//! (`spin_host::host_calls`, the same count as `spin-host up --count-host-calls`), and the
//! same `.wasm` makes the same calls under Spin. The counts are process-wide, so this suite
//! is a test binary of its own, and its tests run one at a time.

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/server_process.rs"]
mod server_process;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Once, OnceLock};

use helpers::{AppOptions, Build, Registration, Sql, Target, TestApp, jpeg, spawn_app_with};

/// Requests per endpoint after the warm-up one.
const REQUESTS: u32 = 6;
/// Signs tokens without a store, as the hosted platforms' guides set it.
const SIGNING_KEY: &str = "e2e-budget-signing-secret-0123456789abcdef";
/// The photo registered: a phone camera's 4000x3000.
fn phone_photo() -> &'static [u8] {
    static PHOTO: OnceLock<Vec<u8>> = OnceLock::new();
    PHOTO.get_or_init(|| jpeg(4_000, 3_000))
}

/// The most linear memory a hosted platform gives a request (Akamai Functions).
const HOSTED_MEMORY: usize = 128 << 20;

/// One test at a time: the host-call totals are the process's.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Installs the host-call counter once for the process.
fn count_host_calls() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        use tracing_subscriber::prelude::*;
        let counter = spin_host::host_calls::CountingLayer
            .with_filter(spin_host::host_calls::CountingLayer::filter());
        tracing_subscriber::registry().with(counter).init();
    });
}

use spin_host::budgets::Metered;

/// The metered calls among `calls` (the host's totals' difference) and `outbound` HTTP
/// requests (the TinyPNG mock's), per request.
fn metered(calls: &BTreeMap<String, u64>, outbound: usize, requests: u32) -> Metered {
    let mut metered = Metered {
        outbound_http: outbound as f64 / f64::from(requests),
        ..Metered::default()
    };
    for (name, &count) in calls {
        let per_request = count as f64 / f64::from(requests);
        let (interface, function) = short_name(name);
        match (interface.as_str(), function.as_str()) {
            ("key-value", "get" | "exists" | "get-keys") => metered.kv_reads += per_request,
            ("key-value", "set" | "delete") => metered.kv_writes += per_request,
            ("sqlite", "execute" | "execute-async")
            | ("postgres", "query" | "execute" | "query-async" | "execute-async") => {
                metered.sql_statements += per_request;
            }
            _ => {}
        }
    }
    metered
}

/// A table cell per count.
struct Cells(Metered);

impl fmt::Display for Cells {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Metered {
            kv_reads,
            kv_writes,
            sql_statements,
            outbound_http,
        } = self.0;
        write!(
            f,
            "{kv_reads} | {kv_writes} | {sql_statements} | {outbound_http}"
        )
    }
}

/// `spin:key-value/key-value.[method]store.get` → (`key-value`, `get`).
fn short_name(name: &str) -> (String, String) {
    let after_package = name.rsplit_once('/').map_or(name, |(_, rest)| rest);
    let (interface, function) = after_package.split_once('.').unwrap_or(("", after_package));
    let function = function.rsplit_once('.').map_or(function, |(_, f)| f);
    (interface.to_owned(), function.to_owned())
}

/// The calls made between two readings of the totals.
fn difference(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(name, &total)| (name.clone(), total - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, made)| *made > 0)
        .collect()
}

/// A deployment's shape: build, database, where photos live, and whether tokens are signed
/// with a configured key.
#[derive(Debug, Clone, Copy)]
struct Shape {
    name: &'static str,
    target: Target,
    photo_store: &'static str,
    signing_key: bool,
}

/// An endpoint measured, and its budget.
struct Row {
    endpoint: &'static str,
    counted: Metered,
    budget: Metered,
    peak_memory: usize,
}

/// Measures every endpoint of an app in `shape`, checks each against its budget, and
/// prints the table's rows.
async fn measure(shape: Shape, budgets: &dyn Fn(&str) -> Metered) {
    let _one = ONE_AT_A_TIME.lock().await;
    count_host_calls();
    let app = spawn_app_with(
        shape.target,
        AppOptions {
            photo_store: Some(shape.photo_store),
            token_signing_keys: (if shape.signing_key { SIGNING_KEY } else { "" }, ""),
            ..AppOptions::default()
        },
    )
    .await;
    let (status, seeded) = app.seed(6).await;
    assert_eq!(status, 201, "{seeded}");
    let (_, page) = app.get_json("/api/v1/users?count=1").await;
    let user = &page["users"][0];
    let id = user["id"].as_i64().expect("a user id");
    let photo = user["photo"]
        .as_str()
        .and_then(|url| url.strip_prefix(&app.address))
        .expect("a photo on this origin")
        .to_owned();

    let reads = [
        ("GET /api/v1/token", "/api/v1/token".to_owned()),
        ("GET /api/v1/positions", "/api/v1/positions".to_owned()),
        (
            "GET /api/v1/users?page=1&count=6",
            "/api/v1/users?page=1&count=6".to_owned(),
        ),
        ("GET /api/v1/users/{id}", format!("/api/v1/users/{id}")),
        ("GET /images/users/{file}", photo),
    ];
    let mut rows = Vec::new();
    for (endpoint, path) in reads {
        assert_eq!(app.get(&path).await.status(), 200, "{endpoint}");
        let before = spin_host::host_calls::totals();
        let outbound_before = app.tinify.requests().len();
        for _ in 0..REQUESTS {
            assert_eq!(app.get(&path).await.status(), 200, "{endpoint}");
        }
        let after = spin_host::host_calls::totals();
        let outbound = app.tinify.requests().len() - outbound_before;
        rows.push(Row {
            endpoint,
            counted: metered(&difference(&before, &after), outbound, REQUESTS),
            budget: budgets(endpoint),
            peak_memory: peak_memory(&app),
        });
    }
    let endpoint = "POST /api/v1/users";
    let mut calls = BTreeMap::new();
    let mut outbound = 0;
    for n in 0..=REQUESTS {
        let token = app.token().await;
        let before = spin_host::host_calls::totals();
        let outbound_before = app.tinify.requests().len();
        let registration = Registration {
            photo: Some(("photo", phone_photo().to_vec())),
            ..Registration::valid(1_000 + n)
        };
        let (status, created) = app.register_with(Some(&token), &registration).await;
        let after = spin_host::host_calls::totals();
        assert_eq!(status, 201, "{created}");
        // The first is the warm-up.
        if n > 0 {
            for (name, made) in difference(&before, &after) {
                *calls.entry(name).or_default() += made;
            }
            outbound += app.tinify.requests().len() - outbound_before;
        }
    }
    rows.push(Row {
        endpoint,
        counted: metered(&calls, outbound, REQUESTS),
        budget: budgets(endpoint),
        peak_memory: peak_memory(&app),
    });

    for row in &rows {
        eprintln!(
            "| {} | {} | {} | {} | {:.1} |",
            shape.name,
            row.endpoint,
            Cells(row.counted),
            photo_store_label(shape),
            row.peak_memory as f64 / f64::from(1 << 20)
        );
    }
    for row in &rows {
        assert_eq!(
            row.counted, row.budget,
            "{} in {}: counted (key-value reads, writes, SQL statements, outbound requests) against its budget",
            row.endpoint, shape.name
        );
        assert!(
            row.peak_memory < HOSTED_MEMORY,
            "{} in {}: {} bytes",
            row.endpoint,
            shape.name,
            row.peak_memory
        );
    }
}

fn photo_store_label(shape: Shape) -> String {
    format!(
        "{} photos{}",
        shape.photo_store,
        if shape.signing_key {
            ""
        } else {
            ", no token_signing_key"
        }
    )
}

/// The largest linear memory any instance of the app grew to so far.
fn peak_memory(app: &TestApp) -> usize {
    ["token", "positions", "users", "registration", "photos"]
        .into_iter()
        .filter(|component| app.target.build == Build::Wasi03 || *component != "registration")
        .map(|component| app.stats(component).peak_memory)
        .max()
        .unwrap_or(0)
}

/// What each endpoint needs in `shape`, from the budgets `deploy-check` uses (TinyPNG is
/// configured in every test app).
fn needs(shape: Shape) -> impl Fn(&str) -> Metered {
    move |endpoint| {
        spin_host::budgets::per_request(
            endpoint,
            spin_host::budgets::Shape {
                fresh_instances: shape.target.build == Build::Wasi02,
                photos_in_database: shape.photo_store == "database",
                signing_key: shape.signing_key,
                tinify: true,
            },
        )
        .unwrap_or_else(|| panic!("no budget for {endpoint}"))
    }
}

/// Defines a test measuring `shape` against what it needs.
macro_rules! budget_test {
    ($name:ident: $label:literal, $build:ident, $sql:ident, $photo_store:literal, $signing_key:literal) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let shape = Shape {
                name: $label,
                target: Target {
                    build: Build::$build,
                    sql: Sql::$sql,
                    platform: None,
                },
                photo_store: $photo_store,
                signing_key: $signing_key,
            };
            measure(shape, &needs(shape)).await;
        }
    };
}

// `spin up` on a laptop: the WASI 0.3 build, SQLite.
budget_test!(wasi03_sqlite: "WASI 0.3, SQLite", Wasi03, Sqlite, "key-value", true);
// SpinKube: the WASI 0.2 build, PostgreSQL (and Redis stores, counted alike).
budget_test!(wasi02_postgres: "WASI 0.2, PostgreSQL", Wasi02, Postgres, "key-value", true);
// Fermyon Cloud's profile: the WASI 0.2 build, SQLite, photos in the database.
budget_test!(wasi02_sqlite_database_photos: "WASI 0.2, SQLite", Wasi02, Sqlite, "database", true);
// Akamai Functions: the WASI 0.2 build, PostgreSQL, photos in either store.
budget_test!(wasi02_postgres_database_photos: "WASI 0.2, PostgreSQL", Wasi02, Postgres, "database", true);
// What `token_signing_key` saves on the WASI 0.2 build: a key-value read per token.
budget_test!(wasi02_sqlite_without_signing_key: "WASI 0.2, SQLite", Wasi02, Sqlite, "key-value", false);
