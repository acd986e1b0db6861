//! `spin:sqlite/sqlite@3.1.0`: both the blocking and the async calls, on local SQLite files.
//!
//! As in Spin (`crates/sqlite-inproc`), every `open` gets a connection of its own, opened
//! on its first statement and closed when the guest drops it: nothing is pooled, so a
//! transaction begun by one request is never seen by another, and each request pays for
//! opening the file. Concurrent writers wait on SQLite's lock (busy timeout 5 s).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, params_from_iter};
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use super::spin::sqlite::sqlite::{
    Error, Host, HostConnection, HostConnectionWithStore, QueryResult, RowResult, Value,
};
use super::{SpinApis, SpinView, on_blocking_pool};
use crate::runtime_config::Location;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One named database.
pub struct Database {
    target: Target,
    /// Keeps a shared in-memory database alive while the host runs.
    _anchor: Option<Mutex<Connection>>,
}

enum Target {
    File(PathBuf),
    /// A `file:…?mode=memory&cache=shared` URI.
    SharedMemory(String),
}

/// The guest's handle to an open connection: the file is opened on first use.
pub struct ConnectionHandle {
    db: Arc<Database>,
    conn: OnceLock<Arc<Mutex<Connection>>>,
}

impl ConnectionHandle {
    fn connection(&self) -> Result<Arc<Mutex<Connection>>, Error> {
        if let Some(conn) = self.conn.get() {
            return Ok(Arc::clone(conn));
        }
        let conn = self.db.connect().map_err(|e| Error::Io(e.to_string()))?;
        Ok(Arc::clone(
            self.conn.get_or_init(|| Arc::new(Mutex::new(conn))),
        ))
    }
}

impl Database {
    /// Prepares database `name` at `location` (creating the file's directory).
    pub fn new(name: &str, location: &Location) -> anyhow::Result<Self> {
        Ok(match location {
            Location::Redis(_) => anyhow::bail!("SQLite database `{name}` cannot live in Redis"),
            Location::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                // No pragmas, as Spin sets none: SQLite's default rollback journal, so
                // readers and the writer take turns as they do under `spin up`.
                Self {
                    target: Target::File(path.clone()),
                    _anchor: None,
                }
            }
            Location::Memory => {
                let uri = format!(
                    "file:spin-host-{}-{name}?mode=memory&cache=shared",
                    std::process::id()
                );
                let target = Target::SharedMemory(uri);
                let anchor = connect(&target)?;
                Self {
                    target,
                    _anchor: Some(Mutex::new(anchor)),
                }
            }
        })
    }

    /// A new connection (for start-up scripts).
    pub fn connect(&self) -> rusqlite::Result<Connection> {
        connect(&self.target)
    }
}

fn connect(target: &Target) -> rusqlite::Result<Connection> {
    let conn = match target {
        Target::File(path) => Connection::open(path)?,
        Target::SharedMemory(uri) => Connection::open(uri)?,
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

pub(super) fn open(
    view: &mut SpinView<'_>,
    database: &str,
) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
    // Databases the runtime config lacks never get here: start-up refuses them.
    let Some(db) = view.grants.sqlite.get(database) else {
        return Ok(Err(Error::AccessDenied));
    };
    let handle = ConnectionHandle {
        db: Arc::clone(db),
        conn: OnceLock::new(),
    };
    Ok(Ok(view.table.push(handle)?))
}

/// The handle's connection, opened now if this is its first use.
pub(super) fn connection(
    view: &mut SpinView<'_>,
    handle: &Resource<ConnectionHandle>,
) -> wasmtime::Result<Result<Arc<Mutex<Connection>>, Error>> {
    Ok(view.table.get(handle)?.connection())
}

/// Runs one statement and collects its rows, as Spin's `execute` does.
pub(super) fn execute(
    conn: &Mutex<Connection>,
    statement: &str,
    parameters: Vec<Value>,
) -> Result<QueryResult, Error> {
    let conn = conn
        .lock()
        .map_err(|_| Error::Io("connection lock poisoned".into()))?;
    let io = |e: rusqlite::Error| Error::Io(e.to_string());
    let mut stmt = conn.prepare_cached(statement).map_err(io)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = stmt
        .query(params_from_iter(parameters.into_iter().map(to_sql)))
        .map_err(io)?;
    let mut results = Vec::new();
    while let Some(row) = rows.next().map_err(io)? {
        let values = (0..columns.len())
            .map(|i| row.get_ref(i).map(from_sql))
            .collect::<rusqlite::Result<_>>()
            .map_err(io)?;
        results.push(RowResult { values });
    }
    Ok(QueryResult {
        columns,
        rows: results,
    })
}

fn to_sql(value: Value) -> SqlValue {
    match value {
        Value::Integer(i) => SqlValue::Integer(i),
        Value::Real(r) => SqlValue::Real(r),
        Value::Text(t) => SqlValue::Text(t),
        Value::Blob(b) => SqlValue::Blob(b),
        Value::Null => SqlValue::Null,
    }
}

fn from_sql(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Null => Value::Null,
    }
}

fn last_insert_rowid(conn: &Mutex<Connection>) -> i64 {
    conn.lock().map(|c| c.last_insert_rowid()).unwrap_or(0)
}

fn changes(conn: &Mutex<Connection>) -> u64 {
    conn.lock().map(|c| c.changes()).unwrap_or(0)
}

impl HostConnection for SpinView<'_> {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
        open(self, &database)
    }

    async fn execute(
        &mut self,
        handle: Resource<ConnectionHandle>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let conn = match connection(self, &handle)? {
            Ok(conn) => conn,
            Err(error) => return Ok(Err(error)),
        };
        on_blocking_pool(move || execute(&conn, &statement, parameters)).await
    }

    async fn last_insert_rowid(
        &mut self,
        handle: Resource<ConnectionHandle>,
    ) -> wasmtime::Result<i64> {
        Ok(connection(self, &handle)?.map_or(0, |conn| last_insert_rowid(&conn)))
    }

    async fn changes(&mut self, handle: Resource<ConnectionHandle>) -> wasmtime::Result<u64> {
        Ok(connection(self, &handle)?.map_or(0, |conn| changes(&conn)))
    }

    async fn drop(&mut self, handle: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl<T: Send> HostConnectionWithStore<T> for SpinApis {
    async fn open_async(
        accessor: &Accessor<T, Self>,
        database: String,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
        accessor.with(|mut access| open(&mut access.get(), &database))
    }

    async fn execute_async(
        accessor: &Accessor<T, Self>,
        handle: Resource<ConnectionHandle>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<
        Result<
            (
                Vec<String>,
                StreamReader<RowResult>,
                FutureReader<Result<(), Error>>,
            ),
            Error,
        >,
    > {
        let conn = match accessor.with(|mut access| connection(&mut access.get(), &handle))? {
            Ok(conn) => conn,
            Err(error) => return Ok(Err(error)),
        };
        let result = on_blocking_pool(move || execute(&conn, &statement, parameters)).await?;
        let QueryResult { columns, rows } = match result {
            Ok(result) => result,
            Err(error) => return Ok(Err(error)),
        };
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, rows)?;
            let done = FutureReader::new(&mut access, async { Ok::<_, wasmtime::Error>(Ok(())) })?;
            Ok(Ok((columns, rows, done)))
        })
    }

    async fn last_insert_rowid_async(
        accessor: &Accessor<T, Self>,
        handle: Resource<ConnectionHandle>,
    ) -> wasmtime::Result<i64> {
        let conn = accessor.with(|mut access| connection(&mut access.get(), &handle))?;
        Ok(conn.map_or(0, |conn| last_insert_rowid(&conn)))
    }

    async fn changes_async(
        accessor: &Accessor<T, Self>,
        handle: Resource<ConnectionHandle>,
    ) -> wasmtime::Result<u64> {
        let conn = accessor.with(|mut access| connection(&mut access.get(), &handle))?;
        Ok(conn.map_or(0, |conn| changes(&conn)))
    }
}

impl Host for SpinView<'_> {}

/// Runs a SQL script (`spin up --sqlite`) on a database before serving.
pub fn run_script(db: &Database, sql: &str) -> anyhow::Result<()> {
    db.connect()?.execute_batch(sql)?;
    Ok(())
}
