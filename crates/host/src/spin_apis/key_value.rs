//! `spin:key-value/key-value@3.0.0`, backed by SQLite as Spin's default store is, or by
//! Redis as Spin's `type = "redis"` store is.
//!
//! As in Spin, a Redis store keeps keys as they are, without the label: labels that share a
//! Redis database share its keys.
//!
//! With a platform profile (`--platform`) a store also refuses the writes that platform
//! would: keys or values too large, a key past the store's key count, more writes a second
//! than the application may make. Spin imposes none of these.

use std::path::Path;
use std::sync::{Arc, Mutex};

use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::OnceCell;
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use super::spin::key_value::key_value::{Error, Host, HostStore, HostStoreWithStore};
use super::{SpinApis, SpinView, in_place};
use crate::platform::{KeyValueLimits, WriteRate};
use crate::runtime_config::Location;

/// One labelled store.
pub struct KvStore {
    label: String,
    backend: Backend,
    quota: Option<Arc<KvQuota>>,
}

/// A platform's key-value limits, with the application's write rate (shared by its stores).
pub struct KvQuota {
    pub limits: KeyValueLimits,
    pub writes: Option<WriteRate>,
}

impl KvQuota {
    pub fn new(limits: KeyValueLimits) -> Self {
        Self {
            limits,
            writes: limits.max_writes_per_second.map(WriteRate::new),
        }
    }

    /// Counts a write, or refuses it as the platform would once the second's are spent.
    fn admit_write(&self) -> Result<(), Error> {
        match &self.writes {
            Some(rate) if !rate.admit(std::time::Instant::now()) => Err(refused(format!(
                "more than {} writes a second",
                rate.limit()
            ))),
            _ => Ok(()),
        }
    }
}

/// A platform limit's refusal, as the guest sees it.
fn refused(why: String) -> Error {
    tracing::warn!("key-value write refused by the platform profile: {why}");
    Error::Other(format!("refused by the platform's limits: {why}"))
}

enum Backend {
    /// Several labels may share a file; rows are keyed by label.
    Sqlite(Arc<Mutex<Connection>>),
    Redis(RedisStore),
}

/// A Redis server, connected on first use and reconnected by the connection manager after
/// a failure, as in Spin.
struct RedisStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
}

impl RedisStore {
    async fn connection(&self) -> Result<ConnectionManager, Error> {
        self.connection
            .get_or_try_init(|| self.client.get_connection_manager())
            .await
            .cloned()
            .map_err(redis_error)
    }
}

fn redis_error(error: redis::RedisError) -> Error {
    tracing::warn!("redis key-value store: {error}");
    Error::Other(error.to_string())
}

/// The guest's handle to an opened store.
pub struct StoreHandle(pub(super) Arc<KvStore>);

impl KvStore {
    /// Opens (creating if needed) the store `label` at `location`, within `quota` if a
    /// platform profile sets one.
    pub fn open(
        label: &str,
        location: &Location,
        quota: Option<Arc<KvQuota>>,
    ) -> anyhow::Result<Self> {
        let conn = match location {
            Location::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                open_file(path)?
            }
            Location::Memory => Connection::open_in_memory()?,
            Location::Redis(url) => {
                return Ok(Self {
                    label: label.to_owned(),
                    backend: Backend::Redis(RedisStore {
                        client: redis::Client::open(url.as_str())?,
                        connection: OnceCell::new(),
                    }),
                    quota,
                });
            }
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
            backend: Backend::Sqlite(Arc::new(Mutex::new(conn))),
            quota,
        })
    }

    /// Runs `work` on a SQLite store's connection, blocking in place as Spin's store does,
    /// or the Redis command `redis` on a Redis store's connection.
    async fn run<R: Send + 'static>(
        &self,
        sqlite: impl FnOnce(&Connection, &str) -> rusqlite::Result<R> + Send + 'static,
        redis: impl AsyncFnOnce(ConnectionManager) -> redis::RedisResult<R>,
    ) -> wasmtime::Result<Result<R, Error>> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let conn = Arc::clone(conn);
                let label = self.label.clone();
                in_place(move || {
                    let conn = conn
                        .lock()
                        .map_err(|_| Error::Other("key-value store lock poisoned".into()))?;
                    sqlite(&conn, &label).map_err(|e| Error::Other(e.to_string()))
                })
                .await
            }
            Backend::Redis(store) => Ok(match store.connection().await {
                Ok(connection) => redis(connection).await.map_err(redis_error),
                Err(error) => Err(error),
            }),
        }
    }
}

/// A store's file opened as Spin's `spin` store opens it: one connection per store behind a
/// mutex, SQLite's default rollback journal and rusqlite's 5 s busy timeout, no pragmas.
/// (WAL would serve writes several times faster, but `spin up` users do not get it, so
/// neither do this host's tests and benchmarks.)
fn open_file(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

fn handle(
    accessor: &Accessor<impl Send, SpinApis>,
    store: &Resource<StoreHandle>,
) -> wasmtime::Result<Arc<KvStore>> {
    accessor.with(|mut access| Ok(Arc::clone(&access.get().table.get(store)?.0)))
}

/// The operations both interface versions offer, on one store.
impl KvStore {
    /// The granted store `label`, connected (Spin connects a Redis store when it is opened,
    /// so a server that is down fails here).
    pub(super) async fn open_granted(granted: Option<Arc<KvStore>>) -> Result<Arc<KvStore>, Error> {
        // Labels the runtime config lacks never get here: start-up refuses them.
        let store = granted.ok_or(Error::AccessDenied)?;
        if let Backend::Redis(redis) = &store.backend {
            redis.connection().await?;
        }
        Ok(store)
    }

    pub(super) async fn get(
        &self,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let redis_key = key.clone();
        self.run(
            move |conn, label| {
                conn.prepare_cached(
                    "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                )?
                .query_row(params![label, key], |row| row.get(0))
                .optional()
            },
            async move |mut redis| redis.get(redis_key).await,
        )
        .await
    }

    pub(super) async fn set(
        &self,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        if let Some(quota) = &self.quota {
            if let Some(why) = quota.limits.refuse_size(&key, &value) {
                return Ok(Err(refused(why)));
            }
            if let Some(max) = quota.limits.max_keys_per_store
                && !self.exists(key.clone()).await?.unwrap_or(true)
                && self.keys().await?.map_or(0, |keys| keys.len() as u64) >= max
            {
                return Ok(Err(refused(format!(
                    "store `{}` holds {max} keys already",
                    self.label
                ))));
            }
            if let Err(error) = quota.admit_write() {
                return Ok(Err(error));
            }
        }
        let (redis_key, redis_value) = (key.clone(), value.clone());
        self.run(
            move |conn, label| {
                conn.prepare_cached(
                    "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![label, key, value])
                .map(drop)
            },
            async move |mut redis| redis.set(redis_key, redis_value).await,
        )
        .await
    }

    pub(super) async fn delete(&self, key: String) -> wasmtime::Result<Result<(), Error>> {
        if let Some(Err(error)) = self.quota.as_ref().map(|quota| quota.admit_write()) {
            return Ok(Err(error));
        }
        let redis_key = key.clone();
        self.run(
            move |conn, label| {
                conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                    .execute(params![label, key])
                    .map(drop)
            },
            async move |mut redis| redis.del(redis_key).await,
        )
        .await
    }

    pub(super) async fn exists(&self, key: String) -> wasmtime::Result<Result<bool, Error>> {
        let redis_key = key.clone();
        self.run(
            move |conn, label| {
                conn.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2)",
                )?
                .query_row(params![label, key], |row| row.get(0))
            },
            async move |mut redis| redis.exists(redis_key).await,
        )
        .await
    }

    pub(super) async fn keys(&self) -> wasmtime::Result<Result<Vec<String>, Error>> {
        self.run(
            |conn, label| {
                conn.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?
                    .query_map([label], |row| row.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            },
            // Spin lists a Redis store with `KEYS *`: every key of its database.
            async move |mut redis| redis.keys("*").await,
        )
        .await
    }
}

impl<T: Send> HostStoreWithStore<T> for SpinApis {
    async fn open(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> wasmtime::Result<Result<Resource<StoreHandle>, Error>> {
        let granted =
            accessor.with(|mut access| access.get().grants.key_value.get(&label).map(Arc::clone));
        match KvStore::open_granted(granted).await {
            Ok(store) => {
                accessor.with(|mut access| Ok(Ok(access.get().table.push(StoreHandle(store))?)))
            }
            Err(error) => Ok(Err(error)),
        }
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        handle(accessor, &store)?.get(key).await
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        handle(accessor, &store)?.set(key, value).await
    }

    async fn delete(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        handle(accessor, &store)?.delete(key).await
    }

    async fn exists(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        handle(accessor, &store)?.exists(key).await
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let keys = handle(accessor, &store)?.keys().await?;
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
