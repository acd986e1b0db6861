//! Key-value stores, SQLite databases and PostgreSQL, with their access checks.

use serde_json::json;

use crate::support::{Options, TestApp, q};

#[tokio::test]
async fn a_key_value_store_sets_gets_lists_and_deletes() {
    let app = TestApp::start().await;

    app.json("/all/kv?store=default&op=set&key=a&value=1").await;
    app.json("/all/kv?store=default&op=set&key=b&value=2").await;
    let got = app.json("/all/kv?store=default&op=get&key=a").await;
    let exists = app.json("/all/kv?store=default&op=exists&key=b").await;
    let keys = app.json("/all/kv?store=default&op=keys").await;
    app.json("/all/kv?store=default&op=delete&key=a").await;
    let gone = app.json("/all/kv?store=default&op=get&key=a").await;

    assert_eq!(got, json!({ "ok": "1" }));
    assert_eq!(exists, json!({ "ok": true }));
    assert_eq!(keys, json!({ "ok": ["a", "b"] }));
    assert_eq!(gone, json!({ "ok": null }));
}

#[tokio::test]
async fn stores_are_separate_and_only_granted_labels_open() {
    let app = TestApp::start().await;

    app.json("/all/kv?store=photos&op=set&key=a&value=photo")
        .await;
    let in_default = app.json("/all/kv?store=default&op=get&key=a").await;
    let ungranted = app.json("/bare/kv?store=default&op=get&key=a").await;
    let unknown = app.json("/all/kv?store=elsewhere&op=get&key=a").await;

    assert_eq!(in_default, json!({ "ok": null }));
    assert_eq!(ungranted, json!({ "open_error": "Error::AccessDenied" }));
    assert_eq!(unknown, json!({ "open_error": "Error::AccessDenied" }));
}

#[tokio::test]
async fn stored_values_survive_a_restart() {
    let app = TestApp::start().await;
    app.json("/all/kv?store=photos&op=set&key=k&value=kept")
        .await;
    app.json(&format!(
        "/all/sqlite?db=default&sql={}",
        q("CREATE TABLE t (x)")
    ))
    .await;
    app.json(&format!(
        "/all/sqlite?db=default&sql={}",
        q("INSERT INTO t VALUES (5)")
    ))
    .await;
    let dir = app.stop().await;

    let app = TestApp::start_in(dir, Options::default()).await.unwrap();

    let kv = app.json("/all/kv?store=photos&op=get&key=k").await;
    let sql = app
        .json(&format!(
            "/all/sqlite?db=default&sql={}",
            q("SELECT x FROM t")
        ))
        .await;
    assert_eq!(kv, json!({ "ok": "kept" }));
    assert_eq!(sql["rows"], json!([[5]]));
}

#[tokio::test]
async fn sqlite_runs_statements_through_the_async_and_the_blocking_calls() {
    let app = TestApp::start().await;
    let sql =
        |op: &str, db: &str, statement: &str| format!("/all/{op}?db={db}&sql={}", q(statement));

    app.json(&sql(
        "sqlite",
        "default",
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, score REAL, photo BLOB)",
    ))
    .await;
    let insert = app
        .json(&sql(
            "sqlite-sync",
            "default",
            "INSERT INTO people (name, score, photo) VALUES ('Ann', 1.5, x'0102')",
        ))
        .await;
    let select = app
        .json(&sql(
            "sqlite",
            "default",
            "SELECT id, name, score, photo, NULL AS empty FROM people",
        ))
        .await;
    let select_sync = app
        .json(&sql("sqlite-sync", "default", "SELECT name FROM people"))
        .await;

    assert_eq!(insert["changes"], 1);
    assert_eq!(insert["last_insert_rowid"], 1);
    assert_eq!(
        select["columns"],
        json!(["id", "name", "score", "photo", "empty"])
    );
    assert_eq!(select["rows"], json!([[1, "Ann", 1.5, [1, 2], null]]));
    assert_eq!(select_sync["rows"], json!([["Ann"]]));
}

#[tokio::test]
async fn sqlite_errors_reach_the_guest_as_values() {
    let app = TestApp::start().await;

    let bad = app
        .json(&format!(
            "/all/sqlite?db=default&sql={}",
            q("SELEC nonsense")
        ))
        .await;
    let two = app
        .json(&format!(
            "/all/sqlite?db=default&sql={}",
            q("SELECT 1; SELECT 2")
        ))
        .await;
    let ungranted = app.json("/bare/sqlite?db=default&sql=SELECT%201").await;
    let unique = {
        app.json(&format!(
            "/all/sqlite?db=default&sql={}",
            q("CREATE TABLE u (e TEXT UNIQUE)")
        ))
        .await;
        app.json(&format!(
            "/all/sqlite?db=default&sql={}",
            q("INSERT INTO u VALUES ('a')")
        ))
        .await;
        app.json(&format!(
            "/all/sqlite?db=default&sql={}",
            q("INSERT INTO u VALUES ('a')")
        ))
        .await
    };

    assert!(
        bad["error"].as_str().unwrap_or_default().contains("Io"),
        "{bad}"
    );
    assert!(
        two["error"].as_str().unwrap_or_default().contains("Io"),
        "{two}"
    );
    assert_eq!(ungranted, json!({ "open_error": "Error::AccessDenied" }));
    assert!(
        unique["error"]
            .as_str()
            .unwrap_or_default()
            .contains("UNIQUE constraint failed: u.e"),
        "{unique}"
    );
}

#[tokio::test]
async fn a_named_database_is_separate_from_the_default() {
    let app = TestApp::start().await;

    app.json(&format!(
        "/all/sqlite?db=reports&sql={}",
        q("CREATE TABLE r (x)")
    ))
    .await;
    let in_default = app
        .json(&format!(
            "/all/sqlite?db=default&sql={}",
            q("SELECT * FROM r")
        ))
        .await;
    let unknown = app.json("/all/sqlite?db=elsewhere&sql=SELECT%201").await;

    assert!(
        in_default["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no such table"),
        "{in_default}"
    );
    assert_eq!(unknown, json!({ "open_error": "Error::AccessDenied" }));
    assert!(app.dir.path().join("reports.db").exists());
}

#[tokio::test]
async fn sqlite_statements_given_at_start_run_before_serving() {
    let app = TestApp::start_with(Options {
        sqlite: vec!["CREATE TABLE seeded (x); INSERT INTO seeded VALUES (7);".to_owned()],
        ..Options::default()
    })
    .await;

    let body = app
        .json(&format!(
            "/all/sqlite?db=default&sql={}",
            q("SELECT x FROM seeded")
        ))
        .await;

    assert_eq!(body["rows"], json!([[7]]));
}

#[tokio::test]
async fn postgres_queries_run_and_keep_sqlstate_codes() {
    let app = TestApp::start().await;
    let table = format!("host_test_{}", std::process::id());
    let pg = |sql: String| format!("/all/pg?sql={}", q(&sql));

    app.json(&pg(format!("DROP TABLE IF EXISTS {table}"))).await;
    app.json(&pg(format!(
        "CREATE TABLE {table} (id INT4 PRIMARY KEY, name TEXT, ok BOOL)"
    )))
    .await;
    app.json(&pg(format!("INSERT INTO {table} VALUES (1, 'one', true)")))
        .await;
    let rows = app
        .json(&pg(format!("SELECT id, name, ok, NULL::text FROM {table}")))
        .await;
    let duplicate = app
        .json(&pg(format!(
            "INSERT INTO {table} VALUES (1, 'again', false)"
        )))
        .await;
    app.json(&pg(format!("DROP TABLE {table}"))).await;

    assert_eq!(rows["rows"], json!([[1, "one", true, null]]));
    let error = duplicate["error"].as_str().unwrap_or_default();
    assert!(error.contains("23505"), "{duplicate}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_are_pooled_and_cleaned_between_uses() {
    let app = TestApp::start().await;
    let pg = |sql: &str| format!("/all/pg?sql={}", q(sql));

    let first = app.json(&pg("SELECT pg_backend_pid()")).await;
    app.json(&pg("SET application_name = 'left behind'")).await;
    let second = app.json(&pg("SELECT pg_backend_pid()")).await;
    let setting = app.json(&pg("SHOW application_name")).await;

    // One connection serves every request, as Spin's pool does...
    assert_eq!(first["rows"], second["rows"], "{first} {second}");
    // ...reset between uses ("clean" recycling), so one request's settings do not leak.
    assert_ne!(setting["rows"], json!([["left behind"]]), "{setting}");
}

/// A Redis database of its own for the host's tests.
const TEST_REDIS: &str = "redis://127.0.0.1:6379/9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_store_is_shared_by_two_hosts() {
    let config = format!(
        "[key_value_store.photos]\ntype = \"redis\"\nurl = \"{TEST_REDIS}\"\n\
         [sqlite_database.reports]\ntype = \"spin\"\n"
    );
    let start = || {
        TestApp::start_with(Options {
            runtime_config: config.clone(),
            ..Options::default()
        })
    };
    let (one, other) = (start().await, start().await);
    let key = format!(
        "host-test-{}-{:?}",
        std::process::id(),
        std::time::Instant::now()
    );
    let kv = |op: &str| format!("/all/kv?store=photos&op={op}&key={}&value=shared", q(&key));

    one.json(&kv("set")).await;
    let seen = other.json(&kv("get")).await;
    let exists = other.json(&kv("exists")).await;
    let keys = other.json(&kv("keys")).await;
    one.json(&kv("delete")).await;
    let gone = other.json(&kv("exists")).await;

    assert_eq!(seen, json!({ "ok": "shared" }));
    assert_eq!(exists, json!({ "ok": true }));
    let listed = keys["ok"].as_array().expect("a key list");
    assert!(listed.contains(&json!(key)), "{keys}");
    assert_eq!(gone, json!({ "ok": false }));
}

#[tokio::test]
async fn postgres_addresses_outside_allowed_hosts_are_refused() {
    let app = TestApp::start_with(Options {
        variables: [(
            "pg_address".to_owned(),
            "postgres://postgres@127.0.0.2:5432/test".to_owned(),
        )]
        .into(),
        ..Options::default()
    })
    .await;

    let body = app.json("/all/pg?sql=SELECT%201").await;

    let error = body["open_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("ConnectionFailed") && error.contains("not permitted"),
        "{body}"
    );
}

#[tokio::test]
async fn a_transaction_left_open_by_one_request_is_not_inherited_by_the_next() {
    let app = TestApp::start().await;

    app.json("/all/sqlite-sync?db=default&sql=BEGIN").await;
    let commit = app.json("/all/sqlite-sync?db=default&sql=COMMIT").await;

    let error = commit["error"].as_str().unwrap_or_default();
    assert!(error.contains("no transaction is active"), "{commit}");
}

#[tokio::test]
async fn store_and_database_files_keep_sqlites_default_journal_as_spin_does() {
    let app = TestApp::start().await;

    app.json("/all/kv?store=photos&op=set&key=a&value=photo")
        .await;
    app.json(&format!(
        "/all/sqlite?db=reports&sql={}",
        q("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    ))
    .await;

    // Spin sets no pragmas: `spin up` users get the rollback journal, and so must the
    // tests and benchmarks that stand in for it (WAL would serve writes several times
    // faster than Spin does).
    for file in ["photos.db", "reports.db"] {
        let conn = rusqlite::Connection::open(app.dir.path().join(file)).expect("open");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .expect("journal mode");
        assert_eq!(mode, "delete", "{file}");
    }
}
