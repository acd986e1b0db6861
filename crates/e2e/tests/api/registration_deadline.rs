//! One deadline per registration (`registration_deadline_seconds`): a store that stalls
//! past it makes the registration a `503` with `Retry-After` that wrote nothing and left the
//! token unused, whenever the stalled call returns; a stall within it is waited out.
//!
//! The stores stall on cue behind a [`StallingProxy`]: the key-value store (Redis) on the
//! photo's write, the database (PostgreSQL) on the user's insert, the last write of each
//! kind a registration makes. Both builds: WASI 0.3 abandons a call at the deadline, WASI
//! 0.2 cannot leave a store call and finds out when it returns.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::e2e_test;
use crate::helpers::{AppOptions, PG_HOST, Registration, TestApp, spawn_app_with};
use crate::redis_server::RedisServer;
use crate::stalling_proxy::StallingProxy;

/// The deadline the app is given here.
const DEADLINE_SECONDS: u32 = 2;
/// A stall the deadline does not notice.
const SHORT_STALL: Duration = Duration::from_millis(300);
/// A stall past the deadline, short enough that the WASI 0.3 build's delete of the photo,
/// queued behind the held write, is answered within its own key-value call limit (3 s).
const LONG_STALL: Duration = Duration::from_secs(4);
/// Signs tokens without a store, so that only the registration's own writes touch one.
const SIGNING_KEY: &str = "e2e-deadline-signing-secret-0123456789abcdef";
/// Redis's SET command as it crosses the wire (RESP): the photo's write.
const REDIS_SET: &str = "$3\r\nSET\r\n";

/// How many users the list counts.
async fn users(app: &TestApp) -> i64 {
    let (status, page) = app.get_json("/api/v1/users?count=1").await;
    assert_eq!(status, 200, "{page}");
    page["total_users"].as_i64().expect("total_users")
}

/// Registers `who` with `token` while the next `pattern` the proxy sees stalls for `hold`:
/// the status, `Retry-After`, body, and how long the answer took.
async fn register_through_stall(
    app: &TestApp,
    proxy: &StallingProxy,
    (pattern, hold): (&str, Duration),
    token: &str,
    who: &Registration,
) -> (u16, String, Value, Duration) {
    let stalls = proxy.stalls();
    proxy.stall_next(pattern, hold);
    let started = Instant::now();
    let (status, retry_after, body) = app.register_with_retry_after(token, who).await;
    let took = started.elapsed();
    assert_eq!(
        proxy.stalls(),
        stalls + 1,
        "the store never saw {pattern:?}"
    );
    (status, retry_after, body, took)
}

/// Checks a registration refused for its deadline: `503`, `Retry-After`, the contract's
/// error shape.
fn assert_past_deadline(what: &str, (status, retry_after, body): (u16, &str, &Value)) {
    assert_eq!(status, 503, "{what}: {body}");
    assert_eq!(retry_after, "5", "{what}");
    assert_eq!(body["success"], false, "{what}: {body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Nothing was registered")),
        "{what}: {body}"
    );
}

e2e_test! {
    async fn a_key_value_store_stalled_past_the_deadline_leaves_nothing_written(target: Target) {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let redis = RedisServer::start(&dir.path().join("redis"));
        let proxy = StallingProxy::start(([127, 0, 0, 1], redis.port).into()).await;
        let app = spawn_app_with(target, AppOptions {
            key_value_redis: Some(format!("redis://{}", proxy.addr)),
            registration_deadline_seconds: DEADLINE_SECONDS,
            token_signing_keys: (SIGNING_KEY, ""),
            photo_store: Some("key-value"),
            ..AppOptions::default()
        }).await;
        // The photos' Redis database (one per label), and their keys' prefix in it.
        let layout = target.layout();
        let photos_label = layout.label(storage::LogicalStore::Photos);
        let db = target.store_labels().iter().position(|label| *label == photos_label).expect("the photos' label");
        let photos_in_redis = || -> i64 {
            let mut redis = redis::Client::open(redis.url(db as u8)).and_then(|c| c.get_connection()).expect("Redis");
            let pattern = format!("{}*", layout.prefix(storage::LogicalStore::Photos));
            let keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query(&mut redis).expect("KEYS");
            keys.len() as i64
        };

        // Within the deadline a slow write is waited for.
        let token = app.token().await;
        let (status, _, body, _) =
            register_through_stall(&app, &proxy, (REDIS_SET, SHORT_STALL), &token, &Registration::valid(1)).await;
        assert_eq!(status, 201, "{body}");

        // Past it: nothing registered, whenever the write returns.
        let token = app.token().await;
        let late = Registration::valid(2);
        let (status, retry_after, body, took) =
            register_through_stall(&app, &proxy, (REDIS_SET, LONG_STALL), &token, &late).await;
        eprintln!("{target:?}: a photo write stalled {LONG_STALL:?} past a {DEADLINE_SECONDS} s deadline: {status} after {took:?}");
        assert_past_deadline("photo write stalled", (status, &retry_after, &body));
        tokio::time::sleep(LONG_STALL.saturating_sub(took) + Duration::from_secs(1)).await;
        assert_eq!(users(&app).await, 1, "no user past the deadline");
        assert_eq!(photos_in_redis(), 1, "the late photo was deleted again");

        // The token is unused: the same request succeeds now that the store answers.
        let (status, _, body) = app.register_with_retry_after(&token, &late).await;
        assert_eq!(status, 201, "the same request again: {body}");
        assert_eq!((users(&app).await, photos_in_redis()), (2, 2));
    }
}

/// Registers through a PostgreSQL stalled on the insert that `pattern` names, with photos
/// in `photo_store`; checks that the late insert wrote nothing and the token is unused.
async fn database_stalled_on_insert(
    target: crate::helpers::Target,
    photo_store: &'static str,
    pattern: &str,
) {
    let proxy = StallingProxy::start(PG_HOST.parse().expect("PostgreSQL address")).await;
    let app = spawn_app_with(
        target,
        AppOptions {
            postgres_via: Some(proxy.addr),
            registration_deadline_seconds: DEADLINE_SECONDS,
            photo_store: Some(photo_store),
            ..AppOptions::default()
        },
    )
    .await;
    let photos = async || -> i64 {
        let in_database = app.sql_integers("SELECT COUNT(*) FROM photos").await[0][0];
        in_database + app.photos_in_key_value()
    };
    // The schema is migrated (its trigger texts hold inserts too) before anything stalls.
    assert_eq!(users(&app).await, 0);

    let token = app.token().await;
    let (status, _, body, _) = register_through_stall(
        &app,
        &proxy,
        (pattern, SHORT_STALL),
        &token,
        &Registration::valid(1),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let token = app.token().await;
    let late = Registration::valid(2);
    let (status, retry_after, body, took) =
        register_through_stall(&app, &proxy, (pattern, LONG_STALL), &token, &late).await;
    eprintln!(
        "{target:?} ({photo_store} photos): the insert stalled {LONG_STALL:?} past a {DEADLINE_SECONDS} s deadline: {status} after {took:?}"
    );
    assert_past_deadline("insert stalled", (status, &retry_after, &body));
    assert!(
        took >= LONG_STALL,
        "the answer waited for the insert's own: {took:?}"
    );
    assert_eq!(
        users(&app).await,
        1,
        "the insert that reached the database late wrote nothing"
    );
    assert_eq!(photos().await, 1, "and left no photo");

    let (status, _, body) = app.register_with_retry_after(&token, &late).await;
    assert_eq!(status, 201, "the same request again: {body}");
    assert_eq!((users(&app).await, photos().await), (2, 2));
}

e2e_test! {
    postgres_only:
    async fn a_database_stalled_past_the_deadline_writes_no_user_and_keeps_no_photo(target: Target) {
        database_stalled_on_insert(target, "key-value", "INSERT INTO users").await;
    }
}

e2e_test! {
    postgres_only:
    async fn a_database_stalled_past_the_deadline_writes_neither_user_nor_photo(target: Target) {
        database_stalled_on_insert(target, "database", "INSERT INTO registrations").await;
    }
}
