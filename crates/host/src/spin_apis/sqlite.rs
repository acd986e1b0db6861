//! `spin:sqlite/sqlite@3.1.0`: both the blocking and the async calls, on local SQLite files.
//!
//! Like Spin, every `open` gets a connection of its own, so a transaction begun by one
//! request is never seen by another; concurrent writers wait on SQLite's lock (busy timeout
//! 5 s). Closed connections with no transaction open are kept for the next `open`, with their
//! prepared-statement cache, instead of reopening the file each request.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
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

/// Idle connections kept per database.
const MAX_IDLE_CONNECTIONS: usize = 32;

/// One named database.
pub struct Database {
    target: Target,
    /// Keeps a shared in-memory database alive while the host runs.
    _anchor: Option<Mutex<Connection>>,
    idle: Mutex<Vec<Connection>>,
}

enum Target {
    File(PathBuf),
    /// A `file:…?mode=memory&cache=shared` URI.
    SharedMemory(String),
}

/// A connection lent to one guest `open`; returned to its database when dropped.
pub struct Pooled {
    conn: Option<Connection>,
    db: Arc<Database>,
}

impl std::ops::Deref for Pooled {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.db.release(conn);
        }
    }
}

/// The guest's handle to an open connection.
pub struct ConnectionHandle(Arc<Mutex<Pooled>>);

impl Database {
    /// Prepares database `name` at `location` (creating the file's directory).
    pub fn new(name: &str, location: &Location) -> anyhow::Result<Self> {
        Ok(match location {
            Location::Redis(_) => anyhow::bail!("SQLite database `{name}` cannot live in Redis"),
            Location::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let db = Self {
                    target: Target::File(path.clone()),
                    _anchor: None,
                    idle: Mutex::default(),
                };
                // WAL lets readers run beside the single writer; it is a property of the file.
                db.connect()?.pragma_update(None, "journal_mode", "WAL")?;
                db
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
                    idle: Mutex::default(),
                }
            }
        })
    }

    /// A new connection (for start-up scripts).
    pub fn connect(&self) -> rusqlite::Result<Connection> {
        connect(&self.target)
    }

    /// A connection for one guest `open`: an idle one if any, else a new one.
    fn lend(self: &Arc<Self>) -> rusqlite::Result<Pooled> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => self.connect()?,
        };
        Ok(Pooled {
            conn: Some(conn),
            db: Arc::clone(self),
        })
    }

    /// Takes a connection back unless a transaction is still open on it (dropping it
    /// rolls that back).
    fn release(&self, conn: Connection) {
        if conn.is_autocommit()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE_CONNECTIONS
        {
            idle.push(conn);
        }
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

fn open(
    view: &mut SpinView<'_>,
    database: &str,
) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
    // Databases the runtime config lacks never get here: start-up refuses them.
    let Some(db) = view.grants.sqlite.get(database) else {
        return Ok(Err(Error::AccessDenied));
    };
    match db.lend() {
        Ok(conn) => Ok(Ok(view
            .table
            .push(ConnectionHandle(Arc::new(Mutex::new(conn))))?)),
        Err(e) => Ok(Err(Error::Io(e.to_string()))),
    }
}

fn connection(
    view: &mut SpinView<'_>,
    handle: &Resource<ConnectionHandle>,
) -> wasmtime::Result<Arc<Mutex<Pooled>>> {
    Ok(Arc::clone(&view.table.get(handle)?.0))
}

/// Runs one statement and collects its rows, as Spin's `execute` does.
fn execute(
    conn: &Mutex<Pooled>,
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

fn last_insert_rowid(conn: &Mutex<Pooled>) -> i64 {
    conn.lock().map(|c| c.last_insert_rowid()).unwrap_or(0)
}

fn changes(conn: &Mutex<Pooled>) -> u64 {
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
        let conn = connection(self, &handle)?;
        on_blocking_pool(move || execute(&conn, &statement, parameters)).await
    }

    async fn last_insert_rowid(
        &mut self,
        handle: Resource<ConnectionHandle>,
    ) -> wasmtime::Result<i64> {
        let conn = connection(self, &handle)?;
        Ok(last_insert_rowid(&conn))
    }

    async fn changes(&mut self, handle: Resource<ConnectionHandle>) -> wasmtime::Result<u64> {
        let conn = connection(self, &handle)?;
        Ok(changes(&conn))
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
        let conn = accessor.with(|mut access| connection(&mut access.get(), &handle))?;
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
        Ok(last_insert_rowid(&conn))
    }

    async fn changes_async(
        accessor: &Accessor<T, Self>,
        handle: Resource<ConnectionHandle>,
    ) -> wasmtime::Result<u64> {
        let conn = accessor.with(|mut access| connection(&mut access.get(), &handle))?;
        Ok(changes(&conn))
    }
}

impl Host for SpinView<'_> {}

/// Runs a SQL script (`spin up --sqlite`) on a database before serving.
pub fn run_script(db: &Database, sql: &str) -> anyhow::Result<()> {
    db.connect()?.execute_batch(sql)?;
    Ok(())
}
