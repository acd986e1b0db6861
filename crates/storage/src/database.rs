//! Users and positions in SQL: Spin's SQLite or Spin's PostgreSQL, chosen by URL.
//!
//! Every statement exists in both dialects ([`Sql`]); parameters are always bound, never
//! formatted into the text. A [`Database`] applies missing migrations before its first
//! statement; a read that comes first checks the schema's version in the same statement
//! ([`ReadSql`]), so a new connection that only reads costs one statement, not two.
//!
//! Spin reuses an instance for many requests (128 by default, 16 at once), so the instance
//! keeps its connection for the next request: Spin opens a SQLite file anew for every
//! `open` (and parses its schema again), and checks a PostgreSQL connection out of its pool
//! and resets it. A kept connection is shared by the instance's concurrent requests, so it
//! only ever runs single statements (each atomic on its own): no request opens a
//! transaction on it. The one multi-statement job, migrating, runs on the new connection
//! before it is kept. A connection that fails is dropped; the next request opens another.

use std::cell::{Cell as Flag, RefCell};
use std::rc::Rc;

use crate::cell::Cell;
use crate::error::StoreError;
use crate::migrations::{self, MIGRATIONS};
use crate::records::{NewUser, Position, UserRecord};
use crate::sdk::Conn;

/// An open database.
pub struct Database {
    conn: Rc<Conn>,
    url: String,
    /// Whether the schema is known to be current: always for a kept connection; for a new
    /// one, once its first statement has checked (and, if need be, migrated) it.
    schema_current: Flag<bool>,
}

/// A statement in both dialects.
struct Sql {
    sqlite: &'static str,
    postgres: &'static str,
}

/// A statement written once, with SQLite's numbered placeholders `?1`, `?2`…; its
/// PostgreSQL text is derived at compile time by turning each `?` into `$`. Statements whose
/// SQL really differs between the dialects are written as two texts instead.
macro_rules! sql {
    ($text:expr) => {
        Sql {
            sqlite: $text,
            postgres: {
                const BYTES: [u8; $text.len()] = dollar_placeholders($text);
                // SAFETY: `dollar_placeholders` swaps one ASCII byte for another, so the
                // bytes are as valid UTF-8 as `$text`.
                unsafe { std::str::from_utf8_unchecked(&BYTES) }
            },
        }
    };
}

/// `text` with every `?` replaced by `$`, as PostgreSQL numbers its parameters. The SQL here
/// has no `?` other than placeholders (checked by a unit test).
const fn dollar_placeholders<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = if bytes[i] == b'?' { b'$' } else { bytes[i] };
        i += 1;
    }
    out
}

/// A read that can check the schema's version on the way: `SELECT <rest>`, and the same
/// with the version as an extra first column, for a connection whose schema is not known
/// yet. Under Spin every statement is a host call handed to another thread, and a new
/// SQLite connection (Spin opens one per `open`) parses the schema for its first one: a
/// separate version query cost the WASI 0.2 build, whose instances each open their own,
/// a third of a single-user read (docs/design.md, "Migrations, checked without a query of
/// their own").
struct ReadSql {
    plain: Sql,
    checking: Sql,
}

macro_rules! read_sql {
    ($rest:expr) => {
        ReadSql {
            plain: sql!(concat!("SELECT ", $rest)),
            checking: sql!(concat!("SELECT (", schema_version!(), "), ", $rest)),
        }
    };
    (sqlite: $sqlite:expr, postgres: $postgres:expr) => {
        ReadSql {
            plain: Sql {
                sqlite: concat!("SELECT ", $sqlite),
                postgres: concat!("SELECT ", $postgres),
            },
            checking: Sql {
                sqlite: concat!("SELECT (", schema_version!(), "), ", $sqlite),
                postgres: concat!("SELECT (", schema_version!(), "), ", $postgres),
            },
        }
    };
}

/// The schema's version: the newest migration applied, 0 when none is.
macro_rules! schema_version {
    () => {
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
    };
}

/// A bound parameter.
pub(crate) enum Param<'a> {
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
    Null,
}

/// Column list of every user query, in [`UserRecord`]'s decoding order.
macro_rules! user_columns {
    () => {
        "u.id, u.name, u.email, u.phone, u.position_id, p.name, u.registration_timestamp, u.photo"
    };
}

// Every query returns at least one row, even when it finds nothing: under Spin 4.1.0-pre0 a
// PostgreSQL query from a WASI 0.2 component that returns no rows never answers (its
// `spin:postgres@4.0.0` `query` waits for column names that only a first row sends). So
// "is there one?" is a count of at most one, and "the rows, if any" is a left join from one
// row, whose NULL columns mean "none". Statements run for their effect use `execute`.
const SELECT_POSITIONS: ReadSql =
    read_sql!("p.id, p.name FROM (SELECT 1) AS one LEFT JOIN positions p ON true ORDER BY p.id");
const POSITION_EXISTS: Sql =
    sql!("SELECT COUNT(*) FROM (SELECT 1 FROM positions WHERE id = ?1) AS hit");
// A page is a range of list places (migration 0003: places 1..=total, oldest first, in the
// list's order), read through the `users_list_position` index whatever the offset: `?1`
// users after skipping the `?2` newest of the list's first `?3` places (its anchor, see
// `domain::paging`; the whole list when `?3` is larger). Places never change, so a range
// below the total reads the same users forever. The total is the row triggers keep; the
// page is read beside it, so both come from one statement.
//
// The page comes back as one row: the total, and the page's users as a JSON array of
// `[place, [<user columns>]]` arrays (`[]` past the end), in no particular order. Spin hands a
// WASI 0.3 guest a statement's rows one at a time through a stream fed from another
// thread, and each row cost the users page about 14 µs under Spin 4.1 (count=6 served at
// 0.69× the rate of count=1); as one row, six users cost what one does.
const USERS_PAGE: ReadSql = read_sql!(
    sqlite: concat!(
        "t.total, (SELECT json_group_array(json_array(u.list_position, json_array(",
        user_columns!(),
        "))) FROM users u LEFT JOIN positions p ON p.id = u.position_id \
         WHERE u.list_position BETWEEN MIN(t.total, ?3) - ?2 - ?1 + 1 AND MIN(t.total, ?3) - ?2) \
         FROM users_total t WHERE t.id = 1"
    ),
    postgres: concat!(
        "t.total, (SELECT COALESCE(json_agg(json_build_array(u.list_position, json_build_array(",
        user_columns!(),
        "))), '[]')::text FROM users u LEFT JOIN positions p ON p.id = u.position_id \
         WHERE u.list_position BETWEEN LEAST(t.total, $3) - $2 - $1 + 1 AND LEAST(t.total, $3) - $2) \
         FROM users_total t WHERE t.id = 1"
    )
);
/// Offsets are read as this at most: past the end of any list (no table holds 2^61
/// users), and small enough that [`USERS_PAGE`]'s `total - offset - count` stays within a
/// PostgreSQL `bigint` — an overflow there was an error that also dropped the instance's
/// connection, where SQLite (whose integers turn into reals) answered the page as past
/// the end.
const OFFSET_PAST_ANY_LIST: u64 = 1 << 61;
/// One user of [`USERS_PAGE`]'s JSON: its list place, and the user.
type PageEntry = (i64, UserRecord);
const USER_BY_ID: ReadSql = read_sql!(concat!(
    user_columns!(),
    " FROM (SELECT CAST(?1 AS BIGINT) AS id) AS wanted \
     LEFT JOIN users u ON u.id = wanted.id \
     LEFT JOIN positions p ON p.id = u.position_id"
));
const IDENTITY_TAKEN: Sql = sql!(
    "SELECT COUNT(*) FROM (SELECT 1 FROM users WHERE email_key = ?1 OR phone = ?2 LIMIT 1) AS hit"
);
// A registration's first statement: a read, so a new connection checks the schema inside
// it rather than in a statement of its own.
const TOKEN_USED: ReadSql =
    read_sql!("COUNT(*) FROM (SELECT 1 FROM users WHERE registration_token = ?1) AS hit");
const PHOTO_IN_USE: Sql =
    sql!("SELECT COUNT(*) FROM (SELECT 1 FROM users WHERE photo = ?1 LIMIT 1) AS hit");
// Executed, not queried: a unique violation met while reading a statement's rows (`INSERT …
// RETURNING`) reaches WASI 0.2 components as text without its SQLSTATE, under Spin 3.6.3 and
// 4.1 alike, and a lost race would be a 500; `execute` keeps the SQLSTATE. Whether the row
// was written, and its id, is then read by its photo's name, which is unique to the request.
//
// A registration's deadline rides in the statement (?9, Unix milliseconds): the row is
// written only while the database's clock is before it, so an insert held up on its way
// (a stalled connection, a pool wait) writes nothing once its client has been told, or is
// about to be told, that nothing was registered. PostgreSQL's `clock_timestamp()` is the
// moment the row is made, not the transaction's start; SQLite's `julianday('now')` is read
// once per statement. The SELECT's columns are cast because PostgreSQL takes a parameter's
// type from where it stands, and a SELECT list gives it none.
const INSERT_USER: Sql = Sql {
    sqlite: "INSERT INTO users (name, email, email_key, phone, position_id, registration_timestamp, photo, registration_token) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 \
             WHERE (julianday('now') - 2440587.5) * 86400000.0 < ?9",
    postgres: "INSERT INTO users (name, email, email_key, phone, position_id, registration_timestamp, photo, registration_token) \
               SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS TEXT), \
                      CAST($5 AS BIGINT), CAST($6 AS BIGINT), CAST($7 AS TEXT), CAST($8 AS TEXT) \
               WHERE EXTRACT(EPOCH FROM clock_timestamp()) * 1000 < CAST($9 AS BIGINT)",
};
// A left join from one row (see above): no user with this photo is one row of NULL.
const USER_ID_BY_PHOTO: Sql = sql!(
    "SELECT u.id FROM (SELECT CAST(?1 AS TEXT) AS photo) AS wanted \
     LEFT JOIN users u ON u.photo = wanted.photo"
);
// A user with its photo (`photo_store = database`): the `registrations` view's trigger
// (migration 0005) inserts both in this one statement, so neither is ever written alone.
// Executed and bounded by the deadline (?10) as INSERT_USER is.
const INSERT_REGISTRATION: Sql = Sql {
    sqlite: "INSERT INTO registrations (name, email, email_key, phone, position_id, registration_timestamp, photo, registration_token, photo_jpeg) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 \
             WHERE (julianday('now') - 2440587.5) * 86400000.0 < ?10",
    postgres: "INSERT INTO registrations (name, email, email_key, phone, position_id, registration_timestamp, photo, registration_token, photo_jpeg) \
               SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS TEXT), \
                      CAST($5 AS BIGINT), CAST($6 AS BIGINT), CAST($7 AS TEXT), CAST($8 AS TEXT), CAST($9 AS BYTEA) \
               WHERE EXTRACT(EPOCH FROM clock_timestamp()) * 1000 < CAST($10 AS BIGINT)",
};
const PHOTO_BYTES: ReadSql = read_sql!(
    "p.jpeg FROM (SELECT CAST(?1 AS TEXT) AS file) AS wanted LEFT JOIN photos p ON p.file = wanted.file"
);
// The first photos by name, with their bytes: a batch of a move to the key-value store.
const FIRST_PHOTOS: Sql = sql!(
    "SELECT p.file, p.jpeg FROM (SELECT 1) AS one \
     LEFT JOIN (SELECT file, jpeg FROM photos ORDER BY file LIMIT ?1) AS p ON true"
);
const INSERT_PHOTO_IF_MISSING: Sql =
    sql!("INSERT INTO photos (file, jpeg) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
const DELETE_PHOTO: Sql = sql!("DELETE FROM photos WHERE file = ?1");
/// Columns of a new user, in [`user_params`]'s order.
const USER_COLUMNS: usize = 8;

/// SQL types of a new user's columns, in [`user_params`]'s order: the rows of a `VALUES`
/// list have no column to take their types from, and PostgreSQL must know them.
const USER_COLUMN_TYPES: [&str; USER_COLUMNS] = [
    "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "TEXT", "TEXT",
];

/// An `INSERT … SELECT … FROM (VALUES (…), (…))` of `rows` users, skipping those whose email
/// or phone exists already (seeding's fake people may collide), in each dialect. Not
/// `ON CONFLICT DO NOTHING`: PostgreSQL's insert trigger gives a row its list place before
/// the conflict is found, and a skipped row would leave a gap. The caller removes
/// duplicates within the batch.
/// PostgreSQL's counts what it inserted in one row (a statement that may return no rows is
/// avoided, see [`SELECT_POSITIONS`]); SQLite, which has no `INSERT` in `WITH`, returns one
/// row per insert.
fn insert_users_if_new(rows: usize) -> (String, String) {
    let text = |mark: char| {
        let values: Vec<String> = (0..rows)
            .map(|row| {
                let placeholders: Vec<String> = USER_COLUMN_TYPES
                    .iter()
                    .enumerate()
                    .map(|(column, ty)| {
                        format!("CAST({mark}{} AS {ty})", row * USER_COLUMNS + column + 1)
                    })
                    .collect();
                format!("({})", placeholders.join(", "))
            })
            .collect();
        format!(
            "INSERT INTO users (name, email, email_key, phone, position_id, registration_timestamp, photo, registration_token) \
             SELECT column1, column2, column3, column4, column5, column6, column7, column8 \
             FROM (VALUES {}) AS fresh \
             WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.email_key = fresh.column3 OR u.phone = fresh.column4) \
             RETURNING id",
            values.join(", ")
        )
    };
    (
        text('?'),
        format!(
            "WITH inserted AS ({}) SELECT COUNT(*) FROM inserted",
            text('$')
        ),
    )
}
const INSERT_POSITION_IF_MISSING: Sql =
    sql!("INSERT INTO positions (id, name) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
const SCHEMA_VERSION: Sql = sql!(schema_version!());
// SQLite migrates in a transaction on the connection being opened (PostgreSQL in one
// statement, `migrations::postgres_migrate_all`). IMMEDIATE takes SQLite's write lock at
// once, so two first requests cannot both migrate.
const SQLITE_BEGIN_MIGRATION: &str = "BEGIN IMMEDIATE";
const SQLITE_CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)";
const SQLITE_RECORD_MIGRATION: &str =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)";
const SQLITE_COMMIT: &str = "COMMIT";
const SQLITE_ROLLBACK: &str = "ROLLBACK";

thread_local! {
    /// This instance's open connection per `database_url`, with its schema known current.
    /// (A component instance is single-threaded: the thread-local is the instance's.)
    static KEPT: RefCell<Vec<(String, Rc<Conn>)>> = const { RefCell::new(Vec::new()) };
}

fn kept(database_url: &str) -> Option<Rc<Conn>> {
    KEPT.with_borrow(|kept| {
        kept.iter()
            .find(|(url, _)| url == database_url)
            .map(|(_, conn)| Rc::clone(conn))
    })
}

fn keep(database_url: &str, conn: &Rc<Conn>) {
    KEPT.with_borrow_mut(|kept| {
        if !kept.iter().any(|(url, _)| url == database_url) {
            kept.push((database_url.to_owned(), Rc::clone(conn)));
        }
    });
}

/// Drops `conn` from the kept connections (if it is the one kept for `database_url`).
fn forget(database_url: &str, conn: &Rc<Conn>) {
    KEPT.with_borrow_mut(|kept| {
        kept.retain(|(url, kept)| !(url == database_url && Rc::ptr_eq(kept, conn)));
    });
}

/// Which back end a `database_url` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Spin SQLite database by name (`sqlite:default`, or empty for `default`).
    Sqlite(String),
    /// Spin PostgreSQL at this address.
    Postgres(String),
}

impl Backend {
    /// Reads a `database_url` setting.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.is_empty() {
            return Ok(Self::Sqlite("default".to_owned()));
        }
        if let Some(name) = url.strip_prefix("sqlite:") {
            let name = name.trim_start_matches("//");
            return Ok(Self::Sqlite(
                if name.is_empty() { "default" } else { name }.to_owned(),
            ));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        Err(StoreError::unavailable(
            "database_url must be `sqlite:<database>` or a `postgres://` URL",
        ))
    }
}

impl Database {
    /// The database `database_url` names: the instance's kept connection, or a new one,
    /// whose schema its first statement checks (migrating if need be) before it is kept.
    /// A new PostgreSQL connection trusts the CA root `ca_root` yields (PEM), if any,
    /// besides the system's; it is asked only then, so a kept connection costs no
    /// variable lookup.
    pub async fn open(
        database_url: &str,
        ca_root: impl AsyncFnOnce() -> Option<String>,
    ) -> Result<Self, StoreError> {
        if let Some(conn) = kept(database_url) {
            return Ok(Self {
                conn,
                url: database_url.to_owned(),
                schema_current: Flag::new(true),
            });
        }
        let backend = Backend::from_url(database_url)?;
        let ca_root = match backend {
            Backend::Postgres(_) => ca_root().await,
            Backend::Sqlite(_) => None,
        };
        let conn = Conn::open(&backend, ca_root)
            .await
            .map_err(|e| match &backend {
                // Usually a platform without SQLite (Akamai Functions), or a manifest that
                // grants none (spin-akamai.toml).
                Backend::Sqlite(_) => StoreError::unavailable(format!(
                    "{e} (database_url is `{database_url}`: where the component is granted no \
                 SQLite database, set it to a postgres:// URL)"
                )),
                Backend::Postgres(_) => e,
            })?;
        Ok(Self {
            conn: Rc::new(conn),
            url: database_url.to_owned(),
            schema_current: Flag::new(false),
        })
    }

    /// Migrates unless the schema is known to be current.
    async fn with_current_schema(&self) -> Result<(), StoreError> {
        if !self.schema_current.get() {
            self.migrate().await?;
            self.schema_is_current();
        }
        Ok(())
    }

    /// Records that the schema is current, and keeps the connection for the instance's
    /// next requests.
    fn schema_is_current(&self) {
        self.schema_current.set(true);
        keep(&self.url, &self.conn);
    }

    /// Runs a read; on a connection whose schema is not known yet, its checking variant,
    /// migrating and reading again when the version is behind or the statement failed (a
    /// brand-new database has no tables at all).
    async fn read(
        &self,
        sql: &ReadSql,
        params: &[Param<'_>],
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        if !self.schema_current.get() {
            let checked = self
                .run(sql.checking.sqlite, sql.checking.postgres, params)
                .await;
            if let Ok(mut rows) = checked
                && first_int(&rows).is_some_and(|version| version >= migrations::latest())
            {
                self.schema_is_current();
                for row in &mut rows {
                    row.remove(0);
                }
                return Ok(rows);
            }
        }
        self.query(&sql.plain, params).await
    }

    /// Applies missing migrations. The usual case (up to date) costs one query; otherwise
    /// everything happens in one transaction under a lock (PostgreSQL: one statement), so
    /// concurrent first requests migrate once and a failed migration leaves nothing behind.
    async fn migrate(&self) -> Result<(), StoreError> {
        // An error here means no schema_migrations table yet: a brand-new database.
        let current = self.schema_version().await.unwrap_or_default();
        if current >= migrations::latest() {
            return Ok(());
        }
        if self.conn.is_postgres() {
            return self
                .run_raw(&migrations::postgres_migrate_all())
                .await
                .map_err(|e| StoreError::unavailable(format!("migrating: {e}")));
        }
        self.run_raw(SQLITE_BEGIN_MIGRATION).await?;
        match self.apply_pending_sqlite().await {
            Ok(()) => self.run_raw(SQLITE_COMMIT).await,
            Err(e) => {
                let _ = self.run_raw(SQLITE_ROLLBACK).await;
                Err(e)
            }
        }
    }

    async fn apply_pending_sqlite(&self) -> Result<(), StoreError> {
        self.run_raw(SQLITE_CREATE_SCHEMA_MIGRATIONS).await?;
        // Read again under the lock: another instance may have just finished.
        let current = self.schema_version().await?;
        for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
            for statement in migrations::statements(migration.sqlite) {
                self.run_raw(&statement).await.map_err(|e| {
                    StoreError::unavailable(format!("migration {}: {e}", migration.name))
                })?;
            }
            let params = [
                Param::Int(migration.version),
                Param::Text(migration.name),
                Param::Int(unix_now()),
            ];
            // SQLite only: there is no PostgreSQL text.
            self.run(SQLITE_RECORD_MIGRATION, "", &params).await?;
        }
        Ok(())
    }

    /// Every position, by id.
    pub async fn positions(&self) -> Result<Vec<Position>, StoreError> {
        decode_all(found(self.read(&SELECT_POSITIONS, &[]).await?))
    }

    /// Whether a position with `id` exists.
    pub async fn position_exists(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .query_one_int(&POSITION_EXISTS, &[Param::Int(id)])
            .await?
            > 0)
    }

    /// Inserts `positions` that are missing (by id); existing ones are left alone.
    pub async fn ensure_positions(&self, positions: &[Position]) -> Result<(), StoreError> {
        for p in positions {
            self.execute(
                &INSERT_POSITION_IF_MISSING,
                &[Param::Int(p.id), Param::Text(&p.name)],
            )
            .await?;
        }
        Ok(())
    }

    /// How many users there are, and up to `limit` of them, newest first, after skipping
    /// `offset`, from the list of its `as_of` oldest users (the whole list for `None`, or
    /// when there are fewer): one statement, so both come from the same snapshot.
    pub async fn users_page(
        &self,
        offset: u64,
        limit: u32,
        as_of: Option<u64>,
    ) -> Result<(u64, Vec<UserRecord>), StoreError> {
        let offset = i64::try_from(offset.min(OFFSET_PAST_ANY_LIST)).unwrap_or(i64::MAX);
        let as_of = as_of.map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let rows = self
            .read(
                &USERS_PAGE,
                &[
                    Param::Int(i64::from(limit)),
                    Param::Int(offset),
                    Param::Int(as_of),
                ],
            )
            .await?;
        let total = first_int(&rows).ok_or_else(|| StoreError::unavailable("no user total"))?;
        let total =
            u64::try_from(total).map_err(|_| StoreError::unavailable("negative user total"))?;
        let page = match rows.first().and_then(|row| row.get(1)) {
            Some(Cell::Text(json)) => json,
            _ => return Err(StoreError::unavailable("no users page")),
        };
        let mut entries: Vec<PageEntry> = serde_json::from_str(page)
            .map_err(|e| StoreError::unavailable(format!("decoding a users page: {e}")))?;
        entries.sort_unstable_by_key(|entry| std::cmp::Reverse(entry.0));
        let users = entries.into_iter().map(|(_, user)| user).collect();
        Ok((total, users))
    }

    /// The user with `id`, if any.
    pub async fn user(&self, id: i64) -> Result<Option<UserRecord>, StoreError> {
        let rows = self.read(&USER_BY_ID, &[Param::Int(id)]).await?;
        Ok(decode_all(found(rows))?.into_iter().next())
    }

    /// Whether a user already has this email key or phone.
    pub async fn identity_taken(&self, email_key: &str, phone: &str) -> Result<bool, StoreError> {
        let taken = self
            .query_one_int(
                &IDENTITY_TAKEN,
                &[Param::Text(email_key), Param::Text(phone)],
            )
            .await?;
        Ok(taken > 0)
    }

    /// Whether any user has the photo named `file` (index `users_photo`).
    pub async fn photo_in_use(&self, file: &str) -> Result<bool, StoreError> {
        Ok(self
            .query_one_int(&PHOTO_IN_USE, &[Param::Text(file)])
            .await?
            > 0)
    }

    /// Whether a user was registered with the token whose digest is `token_key`.
    pub async fn token_used(&self, token_key: &str) -> Result<bool, StoreError> {
        let rows = self.read(&TOKEN_USED, &[Param::Text(token_key)]).await?;
        Ok(one_int(&rows)? > 0)
    }

    /// Inserts `user` unless the database's clock has reached `deadline` (Unix
    /// milliseconds): then nothing is written, and [`Database::user_id_by_photo`] finds no
    /// one. The insert is the whole registration in SQL: the UNIQUE constraints on email,
    /// phone and token decide concurrent attempts, and the loser gets
    /// [`StoreError::Conflict`].
    pub async fn insert_user(&self, user: &NewUser, deadline: u64) -> Result<(), StoreError> {
        let mut params = user_params(user);
        params.push(Param::Int(i64::try_from(deadline).unwrap_or(i64::MAX)));
        self.execute(&INSERT_USER, &params).await
    }

    /// The id of the user whose photo is named `file`, if there is one: a registration's
    /// photo name is its own, so this says whether its insert took effect.
    pub async fn user_id_by_photo(&self, file: &str) -> Result<Option<i64>, StoreError> {
        let rows = self.query(&USER_ID_BY_PHOTO, &[Param::Text(file)]).await?;
        match rows.first().and_then(|row| row.first()) {
            Some(Cell::Int(id)) => Ok(Some(*id)),
            Some(Cell::Null) => Ok(None),
            other => Err(StoreError::unavailable(format!(
                "a user's id read as {other:?}"
            ))),
        }
    }

    /// Inserts `user` together with its photo, `jpeg` under the name `user.photo`, in one
    /// statement (`photo_store = database`): both are written or neither is, and neither
    /// once the database's clock has reached `deadline`, as for [`Database::insert_user`].
    pub async fn insert_user_with_photo(
        &self,
        user: &NewUser,
        jpeg: &[u8],
        deadline: u64,
    ) -> Result<(), StoreError> {
        let mut params = user_params(user);
        params.push(Param::Bytes(jpeg));
        params.push(Param::Int(i64::try_from(deadline).unwrap_or(i64::MAX)));
        self.execute(&INSERT_REGISTRATION, &params).await
    }

    /// The bytes of the photo named `file` in the database, if it is there.
    pub async fn photo(&self, file: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.read(&PHOTO_BYTES, &[Param::Text(file)]).await?;
        match rows
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
        {
            Some(Cell::Bytes(jpeg)) => Ok(Some(jpeg)),
            Some(Cell::Null) => Ok(None),
            other => Err(StoreError::unavailable(format!(
                "a photo's bytes read as {other:?}"
            ))),
        }
    }

    /// Keeps the photo `file` in the database unless one of that name is there already
    /// (a photo's name always means the same bytes).
    pub async fn put_photo_if_missing(&self, file: &str, jpeg: &[u8]) -> Result<(), StoreError> {
        self.execute(
            &INSERT_PHOTO_IF_MISSING,
            &[Param::Text(file), Param::Bytes(jpeg)],
        )
        .await
    }

    /// Removes the photo `file` from the database (nothing if it is not there).
    pub async fn delete_photo(&self, file: &str) -> Result<(), StoreError> {
        self.execute(&DELETE_PHOTO, &[Param::Text(file)]).await
    }

    /// Up to `limit` photos of the database, the first by name, with their bytes.
    pub async fn first_photos(&self, limit: u32) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = self
            .query(&FIRST_PHOTOS, &[Param::Int(i64::from(limit))])
            .await?;
        found(rows)
            .into_iter()
            .map(|row| match <[Cell; 2]>::try_from(row) {
                Ok([Cell::Text(file), Cell::Bytes(jpeg)]) => Ok((file, jpeg)),
                other => Err(StoreError::unavailable(format!(
                    "a stored photo read as {other:?}"
                ))),
            })
            .collect()
    }

    /// Inserts those of `users` whose email and phone are new, in one statement (so all of
    /// them or none); how many were inserted. `users` must not repeat an email or phone.
    pub async fn insert_users_if_new(&self, users: &[NewUser]) -> Result<u64, StoreError> {
        if users.is_empty() {
            return Ok(0);
        }
        let (sqlite, postgres) = insert_users_if_new(users.len());
        let params: Vec<Param<'_>> = users.iter().flat_map(user_params).collect();
        let rows = self.query_text(&sqlite, &postgres, &params).await?;
        if self.conn.is_postgres() {
            let inserted = first_int(&rows).ok_or_else(|| StoreError::unavailable("no count"))?;
            Ok(u64::try_from(inserted).unwrap_or_default())
        } else {
            Ok(rows.len() as u64)
        }
    }

    async fn query_one_int(&self, sql: &Sql, params: &[Param<'_>]) -> Result<i64, StoreError> {
        one_int(&self.query(sql, params).await?)
    }

    /// Runs a statement for its effect (no rows are read).
    async fn execute(&self, sql: &Sql, params: &[Param<'_>]) -> Result<(), StoreError> {
        self.with_current_schema().await?;
        let result = self.conn.execute(sql.sqlite, sql.postgres, params).await;
        self.kept_unless_broken(result)
    }

    /// Runs a statement without parameters, the same text in both dialects (migrations).
    async fn run_raw(&self, statement: &str) -> Result<(), StoreError> {
        self.conn.execute(statement, statement, &[]).await
    }

    /// Runs one statement and collects its rows as cells.
    async fn query(&self, sql: &Sql, params: &[Param<'_>]) -> Result<Vec<Vec<Cell>>, StoreError> {
        self.query_text(sql.sqlite, sql.postgres, params).await
    }

    /// [`Database::query`] with the statement's text in each dialect.
    async fn query_text(
        &self,
        sqlite: &str,
        postgres: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        self.with_current_schema().await?;
        let result = self.run(sqlite, postgres, params).await;
        self.kept_unless_broken(result)
    }

    /// Passes `result` on; a failure other than a conflict may mean the connection itself
    /// is broken, so it is no longer kept for the instance's next requests.
    fn kept_unless_broken<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(error) = &result
            && !matches!(error, StoreError::Conflict(_))
        {
            forget(&self.url, &self.conn);
        }
        result
    }

    /// The schema's version, read on the connection as it is (migrating reads it).
    async fn schema_version(&self) -> Result<i64, StoreError> {
        let rows = self
            .run(SCHEMA_VERSION.sqlite, SCHEMA_VERSION.postgres, &[])
            .await?;
        first_int(&rows).ok_or_else(|| StoreError::unavailable("no schema version"))
    }

    async fn run(
        &self,
        sqlite: &str,
        postgres: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        self.conn.run(sqlite, postgres, params).await
    }
}

fn user_params(user: &NewUser) -> Vec<Param<'_>> {
    vec![
        Param::Text(&user.name),
        Param::Text(&user.email),
        Param::Text(&user.email_key),
        Param::Text(&user.phone),
        Param::Int(user.position_id),
        Param::Int(user.registration_timestamp),
        Param::Text(&user.photo),
        user.registration_token
            .as_deref()
            .map_or(Param::Null, Param::Text),
    ]
}

/// The rows a left join from one row found: without the row of NULLs that means "none".
fn found(rows: Vec<Vec<Cell>>) -> Vec<Vec<Cell>> {
    rows.into_iter()
        .filter(|row| row.first().is_some_and(|id| *id != Cell::Null))
        .collect()
}

fn first_int(rows: &[Vec<Cell>]) -> Option<i64> {
    rows.first()?.first()?.int().ok()
}

/// The integer a one-number query answers (a count, an id), or an error if it did not.
fn one_int(rows: &[Vec<Cell>]) -> Result<i64, StoreError> {
    first_int(rows).ok_or_else(|| StoreError::unavailable("query returned no integer"))
}

fn decode_all<T>(rows: Vec<Vec<Cell>>) -> Result<Vec<T>, StoreError>
where
    for<'a> T: TryFrom<&'a [Cell], Error = anyhow::Error>,
{
    rows.iter()
        .map(|row| T::try_from(row.as_slice()).map_err(StoreError::Unavailable))
        .collect()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_choose_the_back_end() {
        assert_eq!(
            Backend::from_url("").unwrap(),
            Backend::Sqlite("default".into())
        );
        assert_eq!(
            Backend::from_url("sqlite:default").unwrap(),
            Backend::Sqlite("default".into())
        );
        assert_eq!(
            Backend::from_url("sqlite://users").unwrap(),
            Backend::Sqlite("users".into())
        );
        assert_eq!(
            Backend::from_url("postgres://u@db:5432/app").unwrap(),
            Backend::Postgres("postgres://u@db:5432/app".into())
        );
        assert!(Backend::from_url("mysql://db").is_err());
    }

    const ALL: [&Sql; 21] = [
        &SELECT_POSITIONS.plain,
        &SELECT_POSITIONS.checking,
        &POSITION_EXISTS,
        &USERS_PAGE.plain,
        &USERS_PAGE.checking,
        &USER_BY_ID.plain,
        &USER_BY_ID.checking,
        &IDENTITY_TAKEN,
        &TOKEN_USED.plain,
        &TOKEN_USED.checking,
        &PHOTO_IN_USE,
        &INSERT_USER,
        &USER_ID_BY_PHOTO,
        &INSERT_POSITION_IF_MISSING,
        &SCHEMA_VERSION,
        &INSERT_REGISTRATION,
        &PHOTO_BYTES.plain,
        &PHOTO_BYTES.checking,
        &FIRST_PHOTOS,
        &INSERT_PHOTO_IF_MISSING,
        &DELETE_PHOTO,
    ];

    /// A migrated SQLite database in memory, and now in Unix milliseconds.
    fn migrated_sqlite() -> (rusqlite::Connection, i64) {
        let db = rusqlite::Connection::open_in_memory().expect("SQLite in memory");
        for migration in MIGRATIONS {
            db.execute_batch(migration.sqlite).expect(migration.name);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970");
        (db, i64::try_from(now.as_millis()).expect("milliseconds"))
    }

    /// A new user's columns, in `user_params`' order, unique by `n`, then `more`.
    fn new_user_row(
        n: i64,
        now: i64,
        more: impl IntoIterator<Item = rusqlite::types::Value>,
    ) -> Vec<rusqlite::types::Value> {
        let mut row: Vec<rusqlite::types::Value> = vec![
            "Ann".to_owned().into(),
            format!("ann{n}@example.com").into(),
            format!("ann{n}@example.com").into(),
            format!("+38050000000{n}").into(),
            1.into(),
            (now / 1000).into(),
            format!("photo{n}.jpeg").into(),
            format!("token{n}").into(),
        ];
        row.extend(more);
        row
    }

    fn count(db: &rusqlite::Connection, table: &str) -> i64 {
        db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .expect("a count")
    }

    #[test]
    fn an_insert_reaching_sqlite_after_its_deadline_writes_nothing() {
        let (db, now) = migrated_sqlite();
        let insert = |n: i64, deadline: i64| {
            db.execute(
                INSERT_USER.sqlite,
                rusqlite::params_from_iter(new_user_row(n, now, [deadline.into()])),
            )
            .expect("the insert runs")
        };
        assert_eq!(insert(1, now - 1), 0);
        assert_eq!(count(&db, "users"), 0);
        assert_eq!(insert(2, now + 60_000), 1);
        assert_eq!(count(&db, "users"), 1);

        // Who has a photo: always one row (NULL for no one), as every query here.
        let user_with = |photo: &str| -> Vec<Option<i64>> {
            db.prepare(USER_ID_BY_PHOTO.sqlite)
                .expect("the statement")
                .query_map([photo], |row| row.get(0))
                .expect("the query")
                .collect::<rusqlite::Result<_>>()
                .expect("the rows")
        };
        assert_eq!(user_with("photo1.jpeg"), vec![None]);
        assert_eq!(user_with("photo2.jpeg"), vec![Some(1)]);
    }

    #[test]
    fn a_registration_reaching_sqlite_after_its_deadline_writes_neither_user_nor_photo() {
        let (db, now) = migrated_sqlite();
        let insert = |n: i64, deadline: i64| {
            let jpeg = vec![0xffu8, 0xd8, 0xff, 0xd9];
            db.execute(
                INSERT_REGISTRATION.sqlite,
                rusqlite::params_from_iter(new_user_row(n, now, [jpeg.into(), deadline.into()])),
            )
            .expect("the insert runs");
        };
        insert(1, now - 1);
        assert_eq!((count(&db, "users"), count(&db, "photos")), (0, 0));
        insert(2, now + 60_000);
        assert_eq!((count(&db, "users"), count(&db, "photos")), (1, 1));
    }

    #[test]
    fn a_checking_read_is_its_read_with_the_schema_version_first() {
        for read in [
            &SELECT_POSITIONS,
            &USERS_PAGE,
            &USER_BY_ID,
            &PHOTO_BYTES,
            &TOKEN_USED,
        ] {
            for (plain, checking) in [
                (read.plain.sqlite, read.checking.sqlite),
                (read.plain.postgres, read.checking.postgres),
            ] {
                let rest = plain.strip_prefix("SELECT ").expect("a SELECT");
                assert_eq!(
                    checking,
                    format!("SELECT ({}), {rest}", SCHEMA_VERSION.sqlite)
                );
            }
        }
    }

    #[test]
    fn placeholders_match_each_dialect() {
        for sql in ALL {
            assert!(!sql.sqlite.contains('$'), "{}", sql.sqlite);
            assert!(!sql.postgres.contains('?'), "{}", sql.postgres);
            // Every `?` is a numbered placeholder, so deriving `$N` changes nothing else.
            for (i, _) in sql.sqlite.match_indices('?') {
                let next = sql.sqlite[i + 1..].chars().next();
                assert!(next.is_some_and(|c| c.is_ascii_digit()), "{}", sql.sqlite);
            }
        }
    }

    #[test]
    fn a_statement_written_once_gets_dollar_placeholders() {
        assert_eq!(
            TOKEN_USED.plain.postgres,
            "SELECT COUNT(*) FROM (SELECT 1 FROM users WHERE registration_token = $1) AS hit"
        );
        assert_eq!(INSERT_PHOTO_IF_MISSING.postgres.matches('$').count(), 2);
        assert_eq!(
            INSERT_PHOTO_IF_MISSING.sqlite.replace('?', "$"),
            INSERT_PHOTO_IF_MISSING.postgres
        );
    }

    #[test]
    fn a_multi_row_insert_numbers_its_placeholders_in_both_dialects() {
        let (sqlite, postgres) = insert_users_if_new(2);
        assert!(
            sqlite.contains("VALUES (CAST(?1 AS TEXT), CAST(?2 AS TEXT), CAST(?3 AS TEXT), CAST(?4 AS TEXT), CAST(?5 AS BIGINT), CAST(?6 AS BIGINT), CAST(?7 AS TEXT), CAST(?8 AS TEXT)), (CAST(?9 AS TEXT)"),
            "{sqlite}"
        );
        assert!(sqlite.ends_with("CAST(?16 AS TEXT))) AS fresh WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.email_key = fresh.column3 OR u.phone = fresh.column4) RETURNING id"), "{sqlite}");
        assert_eq!(
            format!(
                "WITH inserted AS ({}) SELECT COUNT(*) FROM inserted",
                sqlite.replace('?', "$")
            ),
            postgres
        );
    }
}
