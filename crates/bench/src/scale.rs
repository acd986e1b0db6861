//! Scale: the users page at the first, a middle and the last page with `plan.scale_users`
//! users loaded straight into the database, on SQLite and on PostgreSQL; and the middle and
//! last pages again anchored (`as_of`, as every page's links carry it). On the
//! repository's host and each real Spin given.

use std::path::Path;

use anyhow::Context;
use storage::migrations::{self, MIGRATIONS};

use crate::host::{Host, Server};
use crate::load::{Connections, Inputs, fresh_dir, write_runtime_config, wrk};
use crate::plan::{Plan, workspace_root};
use crate::rows::{Report, ScaleRow};

/// Users per page in the scale runs (the demo site's page size).
const COUNT: u64 = 6;
/// The schema the PostgreSQL run uses in database `test`.
const PG_SCHEMA: &str = "bench_scale";
const PG_ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

pub fn run(
    runtime: &tokio::runtime::Runtime,
    plan: &Plan,
    work: &Path,
    spins: &[Server],
    report: &mut Report,
) -> anyhow::Result<()> {
    let servers: Vec<Server> = std::iter::once(Server::host())
        .chain(spins.iter().cloned())
        .collect();
    let n = plan.scale_users;
    let photo = format!("{}.jpeg", "0".repeat(32));

    // SQLite: the default database file under the state dir, as the host would create it.
    let state = fresh_dir(&work.join("scale-sqlite"))?;
    let db = rusqlite::Connection::open(state.join("sqlite_db.db"))?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    migrate_sqlite(&db)?;
    // Through the app's own insert trigger, which gives each user its list place.
    db.execute(
        "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
         INSERT INTO users (name, email, email_key, phone, position_id, registration_timestamp, photo)
         SELECT 'User ' || i, 'user' || i || '@example.com', 'user' || i || '@example.com',
                printf('+380%09d', i), i % 4 + 1, 1700000000 + i, ?2 FROM seq",
        rusqlite::params![n, photo],
    )?;
    drop(db);
    let runtime_config = write_runtime_config(&state)?;
    for server in &servers {
        let app = start(server, &state, &runtime_config, &[])?;
        measure(plan, &app, &format!("SQLite, {}", server.label), n, report)?;
    }

    // PostgreSQL: a schema of its own in database `test`.
    runtime.block_on(load_postgres(n, &photo))?;
    let state = fresh_dir(&work.join("scale-postgres"))?;
    let runtime_config = write_runtime_config(&state)?;
    let url = format!(
        "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&options=-c%20search_path%3D{PG_SCHEMA}"
    );
    for server in &servers {
        let app = start(
            server,
            &state,
            &runtime_config,
            &[("database_url", url.clone())],
        )?;
        measure(
            plan,
            &app,
            &format!("PostgreSQL, {}", server.label),
            n,
            report,
        )?;
    }
    Ok(())
}

/// The app (spin.toml) on `server` over `state`, once its positions answer.
fn start(
    server: &Server,
    state: &Path,
    runtime_config: &Path,
    variables: &[(&str, String)],
) -> anyhow::Result<Host> {
    Host::start_on(
        server,
        &workspace_root().join("spin.toml"),
        state,
        Some(runtime_config),
        variables,
        &[],
        "/api/v1/positions",
    )
    .with_context(|| format!("starting the app on {}", server.label))
}

fn measure(
    plan: &Plan,
    host: &Host,
    backend: &str,
    users: u64,
    report: &mut Report,
) -> anyhow::Result<()> {
    let last = users.div_ceil(COUNT);
    let middle = last.div_ceil(2);
    for (label, page, as_of) in [
        ("first", 1, None),
        ("middle", middle, None),
        ("last", last, None),
        ("anchored middle", middle, Some(users)),
        ("anchored last", last, Some(users)),
    ] {
        let anchor = as_of.map(|n| format!("&as_of={n}")).unwrap_or_default();
        let url = format!(
            "{}/api/v1/users?page={page}&count={COUNT}{anchor}",
            host.base
        );
        let stats = wrk(plan, Connections::Many, &url, None, &Inputs::none())
            .with_context(|| format!("{backend} {label} page"))?;
        report.scale.push(ScaleRow {
            backend: backend.to_owned(),
            page: format!("{label} (page {page})"),
            anchored: as_of.is_some(),
            stats,
        });
    }
    Ok(())
}

fn migrate_sqlite(db: &rusqlite::Connection) -> anyhow::Result<()> {
    db.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )?;
    for m in MIGRATIONS {
        for statement in migrations::statements(m.sqlite) {
            db.execute_batch(&statement)?;
        }
        db.execute(
            "INSERT INTO schema_migrations VALUES (?1, ?2, 0)",
            rusqlite::params![m.version, m.name],
        )?;
    }
    Ok(())
}

async fn load_postgres(n: u64, photo: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(PG_ADMIN, tokio_postgres::NoTls)
        .await
        .context("PostgreSQL at 127.0.0.1:5432, database test")?;
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA}; SET search_path TO {PG_SCHEMA};
             CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);"
        ))
        .await?;
    for m in MIGRATIONS {
        for statement in migrations::statements(m.postgres) {
            client.batch_execute(&statement).await?;
        }
        client
            .execute(
                "INSERT INTO schema_migrations VALUES ($1, $2, 0)",
                &[&m.version, &m.name],
            )
            .await?;
    }
    let n = i64::try_from(n)?;
    // A million rows through the insert trigger would update the counter row a million
    // times in one transaction; loading places, ids and the counter directly gives the
    // same table the trigger would.
    client
        .batch_execute("ALTER TABLE users DISABLE TRIGGER users_list_place")
        .await?;
    client
        .execute(
            "INSERT INTO users (id, name, email, email_key, phone, position_id, registration_timestamp, photo, list_position)
             SELECT i, 'User ' || i, 'user' || i || '@example.com', 'user' || i || '@example.com',
                    '+380' || lpad(i::text, 9, '0'), i % 4 + 1, 1700000000 + i, $2, i
             FROM generate_series(1, $1::bigint) AS i",
            &[&n, &photo],
        )
        .await?;
    client
        .execute(
            "UPDATE users_total SET total = $1::BIGINT, last_registered = 1700000000 + $1::BIGINT WHERE id = 1",
            &[&n],
        )
        .await?;
    client
        .batch_execute(&format!(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), {n});
             ALTER TABLE users ENABLE TRIGGER users_list_place;"
        ))
        .await?;
    // What autovacuum would do soon after such a load; without it PostgreSQL cannot use
    // index-only scans for the page query.
    client.batch_execute("VACUUM ANALYZE users").await?;
    Ok(())
}
