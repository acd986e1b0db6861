//! spin-sdk 5: `fermyon:spin/sqlite@2.0.0`, `spin:postgres/postgres@4.0.0` and
//! `fermyon:spin/key-value@2.0.0`, the interfaces Spin 3 (and 4) serve to WASI 0.2
//! components. Their calls block; wrapped here in the async surface the shared code uses.

use spin_sdk_wasi02::key_value::Store;
use spin_sdk_wasi02::{pg4 as pg, sqlite};

use super::{PG_UNIQUE_VIOLATION, SQLITE_UNIQUE};
use crate::cell::Cell;
use crate::database::{Backend, Param};
use crate::error::StoreError;

/// An open SQL connection.
pub(crate) enum Conn {
    Sqlite(sqlite::Connection),
    Postgres(pg::Connection),
}

impl Conn {
    /// Opens `backend`. `spin:postgres@4.0.0` has no way to add a CA root, so one given
    /// is refused rather than ignored (the connection would fail verification anyway).
    pub(crate) async fn open(
        backend: &Backend,
        ca_root: Option<String>,
    ) -> Result<Self, StoreError> {
        if ca_root.is_some() {
            return Err(StoreError::unavailable(
                "postgres_ca_root needs the WASI 0.3 build (spin:postgres@4.2.0); \
                 the WASI 0.2 build trusts the system's roots only",
            ));
        }
        Ok(match backend {
            Backend::Sqlite(name) => Conn::Sqlite(sqlite::Connection::open(name).map_err(|e| {
                StoreError::unavailable(format!("opening SQLite database `{name}`: {e:?}"))
            })?),
            Backend::Postgres(address) => {
                Conn::Postgres(pg::Connection::open(address).map_err(|e| {
                    StoreError::unavailable(format!("connecting to PostgreSQL: {e:?}"))
                })?)
            }
        })
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Conn::Postgres(_))
    }

    /// Runs one statement (its text in each dialect) for its effect, reading no rows.
    pub(crate) async fn execute(
        &self,
        sqlite: &str,
        postgres: &str,
        params: &[Param<'_>],
    ) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(_) => self.run(sqlite, postgres, params).await.map(drop),
            Conn::Postgres(conn) => {
                let params: Vec<pg::ParameterValue> = params.iter().map(pg_param).collect();
                conn.execute(postgres, &params).map(drop).map_err(pg_error)
            }
        }
    }

    /// Runs one statement (its text in each dialect) and collects its rows as cells.
    pub(crate) async fn run(
        &self,
        sqlite: &str,
        postgres: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        match self {
            Conn::Sqlite(conn) => {
                let params: Vec<sqlite::Value> = params.iter().map(sqlite_param).collect();
                let result = conn.execute(sqlite, &params).map_err(sqlite_error)?;
                result
                    .rows
                    .iter()
                    .map(|row| row.values.iter().map(sqlite_cell).collect())
                    .collect()
            }
            Conn::Postgres(conn) => {
                let params: Vec<pg::ParameterValue> = params.iter().map(pg_param).collect();
                let result = conn.query(postgres, &params).map_err(pg_error)?;
                result
                    .rows
                    .iter()
                    .map(|row| row.iter().map(pg_cell).collect())
                    .collect()
            }
        }
    }
}

sql_value_conversions!();

fn pg_error(error: pg::PgError) -> StoreError {
    if let pg::PgError::QueryFailed(pg::QueryError::DbError(db)) = &error
        && db.code == PG_UNIQUE_VIOLATION
    {
        return StoreError::Conflict(db.message.clone());
    }
    StoreError::unavailable(format!("PostgreSQL: {error:?}"))
}

/// An open key-value store.
pub(crate) struct KvStore {
    store: Store,
    label: &'static str,
}

impl KvStore {
    pub(crate) async fn open(label: &'static str) -> Result<Self, StoreError> {
        let store = Store::open(label).map_err(|e| {
            StoreError::unavailable(format!("opening key-value store `{label}`: {e:?}"))
        })?;
        Ok(Self { store, label })
    }

    fn error(&self, error: spin_sdk_wasi02::key_value::Error) -> StoreError {
        StoreError::unavailable(format!("key-value store `{}`: {error:?}", self.label))
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(key).map_err(|e| self.error(e))
    }

    pub(crate) async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store.set(key, value).map_err(|e| self.error(e))
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(key).map_err(|e| self.error(e))
    }

    pub(crate) async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.store.exists(key).map_err(|e| self.error(e))
    }

    pub(crate) async fn keys(&self) -> Result<Vec<String>, StoreError> {
        self.store.get_keys().map_err(|e| self.error(e))
    }
}
