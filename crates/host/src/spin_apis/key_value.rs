//! `spin:key-value/key-value@3.0.0`, backed by SQLite as Spin's default store is.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use super::spin::key_value::key_value::{Error, Host, HostStore, HostStoreWithStore};
use super::{SpinApis, SpinView, in_place};
use crate::runtime_config::Location;

/// One labelled store. Several labels may share a file; rows are keyed by label.
pub struct KvStore {
    label: String,
    conn: Arc<Mutex<Connection>>,
}

/// The guest's handle to an opened store.
pub struct StoreHandle(Arc<KvStore>);

impl KvStore {
    /// Opens (creating if needed) the store `label` at `location`.
    pub fn open(label: &str, location: &Location) -> anyhow::Result<Self> {
        let conn = match location {
            Location::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                open_file(path)?
            }
            Location::Memory => Connection::open_in_memory()?,
        };
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                 store TEXT NOT NULL,
                 key   TEXT NOT NULL,
                 value BLOB NOT NULL,
                 PRIMARY KEY (store, key)
             )",
        )?;
        Ok(Self {
            label: label.to_owned(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `work` on the store's connection, blocking in place as Spin's store does.
    async fn run<R: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Connection, &str) -> rusqlite::Result<R> + Send + 'static,
    ) -> wasmtime::Result<Result<R, Error>> {
        let store = Arc::clone(self);
        in_place(move || {
            let conn = store
                .conn
                .lock()
                .map_err(|_| Error::Other("key-value store lock poisoned".into()))?;
            work(&conn, &store.label).map_err(|e| Error::Other(e.to_string()))
        })
        .await
    }
}

fn open_file(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    Ok(conn)
}

fn handle(
    accessor: &Accessor<impl Send, SpinApis>,
    store: &Resource<StoreHandle>,
) -> wasmtime::Result<Arc<KvStore>> {
    accessor.with(|mut access| Ok(Arc::clone(&access.get().table.get(store)?.0)))
}

impl<T: Send> HostStoreWithStore<T> for SpinApis {
    async fn open(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> wasmtime::Result<Result<Resource<StoreHandle>, Error>> {
        accessor.with(|mut access| {
            let view = access.get();
            // Labels the runtime config lacks never get here: start-up refuses them.
            let Some(store) = view.grants.key_value.get(&label) else {
                return Ok(Err(Error::AccessDenied));
            };
            let store = StoreHandle(Arc::clone(store));
            Ok(Ok(view.table.push(store)?))
        })
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        handle(accessor, &store)?
            .run(move |conn, label| {
                conn.prepare_cached(
                    "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                )?
                .query_row(params![label, key], |row| row.get(0))
                .optional()
            })
            .await
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        handle(accessor, &store)?
            .run(move |conn, label| {
                conn.prepare_cached(
                    "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![label, key, value])
                .map(drop)
            })
            .await
    }

    async fn delete(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        handle(accessor, &store)?
            .run(move |conn, label| {
                conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                    .execute(params![label, key])
                    .map(drop)
            })
            .await
    }

    async fn exists(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        handle(accessor, &store)?
            .run(move |conn, label| {
                conn.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2)",
                )?
                .query_row(params![label, key], |row| row.get(0))
            })
            .await
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let keys = handle(accessor, &store)?
            .run(|conn, label| {
                conn.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?
                    .query_map([label], |row| row.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        accessor.with(|mut access| {
            let (keys, result) = match keys {
                Ok(keys) => (keys, Ok(())),
                Err(error) => (Vec::new(), Err(error)),
            };
            let keys = StreamReader::new(&mut access, keys)?;
            let result =
                FutureReader::new(&mut access, async move { Ok::<_, wasmtime::Error>(result) })?;
            Ok((keys, result))
        })
    }
}

impl HostStore for SpinView<'_> {
    async fn drop(&mut self, store: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl Host for SpinView<'_> {}
