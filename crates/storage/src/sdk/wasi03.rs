//! spin-sdk 7: `spin:sqlite@3.1.0`, `spin:postgres@4.2.0`, `spin:key-value@3.0.0`, async.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, select};
use spin_sdk::key_value::Store;
use spin_sdk::{pg, sqlite};

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
    /// Opens `backend`; a PostgreSQL connection trusts `ca_root` (PEM) besides the
    /// system's roots (`spin:postgres@4.2.0`'s connection builder).
    pub(crate) async fn open(
        backend: &Backend,
        ca_root: Option<String>,
    ) -> Result<Self, StoreError> {
        Ok(match backend {
            Backend::Sqlite(name) => {
                Conn::Sqlite(sqlite::Connection::open(name).await.map_err(|e| {
                    StoreError::unavailable(format!("opening SQLite database `{name}`: {e:?}"))
                })?)
            }
            Backend::Postgres(address) => {
                let options = pg::OpenOptions {
                    ca_root: ca_root.map(pg::Certificate::Text),
                };
                let conn = pg::Connection::open_with_options(address.as_str(), options).await;
                Conn::Postgres(conn.map_err(|e| {
                    StoreError::unavailable(format!("connecting to PostgreSQL: {e}"))
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
                conn.execute(postgres.to_owned(), params)
                    .await
                    .map(drop)
                    .map_err(pg_error)
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
                let params = params.iter().map(sqlite_param);
                let result = conn.execute(sqlite, params).await.map_err(sqlite_error)?;
                let rows = result.collect().await.map_err(sqlite_error)?;
                rows.into_iter()
                    .map(|row| row.values.iter().map(sqlite_cell).collect())
                    .collect()
            }
            Conn::Postgres(conn) => {
                let params: Vec<pg::ParameterValue> = params.iter().map(pg_param).collect();
                let result = conn.query(postgres, params).await.map_err(pg_error)?;
                let width = result.columns().len();
                let rows = result.collect().await.map_err(pg_error)?;
                rows.iter()
                    .map(|row| (0..width).map(|i| pg_cell(&row[i])).collect())
                    .collect()
            }
        }
    }
}

sql_value_conversions!();

fn pg_error(error: pg::Error) -> StoreError {
    if let pg::Error::PgError(pg::PgError::QueryFailed(pg::QueryError::DbError(db))) = &error
        && db.code == PG_UNIQUE_VIOLATION
    {
        return StoreError::Conflict(db.message.clone());
    }
    StoreError::Unavailable(anyhow::Error::new(error).context("PostgreSQL"))
}

/// How long one key-value call may take before the request gives up on it.
///
/// Spin's Redis stores wait for a lost server without a limit of their own: redis-rs's
/// connection manager retries the connection and queues every call behind it, so a request
/// touching a store would hang for as long as Redis is down, and some past its return (the
/// `redis_down_and_back` fault test saw 15 s and more). Store calls take about a
/// millisecond; one that has not answered in this long is abandoned and the request
/// answers the contract's 500 (a registration: 503, nothing registered). Abandoning is safe
/// for every call the app makes: a write that lands later leaves at most an unused signing
/// key or an orphan photo, which `usersbypage-seed repair` removes. (SQL calls get no such
/// limit: an abandoned `INSERT` could commit later; a registration's insert is bounded by
/// its deadline inside the database instead, see `registrar`.)
const KV_DEADLINE: Duration = Duration::from_secs(3);

/// `call`, or an error once [`KV_DEADLINE`] has passed (the guest's own clock, so it holds
/// on any Spin).
async fn within_deadline<T>(
    what: impl FnOnce() -> String,
    call: impl Future<Output = Result<T, spin_sdk::key_value::Error>>,
) -> Result<T, StoreError> {
    let nanos = u64::try_from(KV_DEADLINE.as_nanos()).unwrap_or(u64::MAX);
    let deadline = spin_sdk::wasip3::clocks::monotonic_clock::wait_for(nanos);
    match select(pin!(call), pin!(deadline)).await {
        Either::Left((result, _)) => {
            result.map_err(|e| StoreError::unavailable(format!("{}: {e:?}", what())))
        }
        Either::Right(((), _)) => Err(StoreError::unavailable(format!(
            "{}: no answer within {KV_DEADLINE:?}",
            what()
        ))),
    }
}

/// An open key-value store.
pub(crate) struct KvStore {
    store: Store,
    label: &'static str,
}

impl KvStore {
    pub(crate) async fn open(label: &'static str) -> Result<Self, StoreError> {
        let store = within_deadline(
            || format!("opening key-value store `{label}`"),
            Store::open(label),
        )
        .await?;
        Ok(Self { store, label })
    }

    fn what(&self) -> String {
        format!("key-value store `{}`", self.label)
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        within_deadline(|| self.what(), self.store.get(key)).await
    }

    pub(crate) async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        within_deadline(|| self.what(), self.store.set(key, value)).await
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), StoreError> {
        within_deadline(|| self.what(), self.store.delete(key)).await
    }

    pub(crate) async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        within_deadline(|| self.what(), self.store.exists(key)).await
    }

    pub(crate) async fn keys(&self) -> Result<Vec<String>, StoreError> {
        within_deadline(|| self.what(), async {
            self.store.get_keys().await.collect().await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_become_conflicts() {
        let sqlite = sqlite_error(sqlite::Error::Io(
            "UNIQUE constraint failed: users.phone".into(),
        ));
        assert!(matches!(sqlite, StoreError::Conflict(_)));
        let other = sqlite_error(sqlite::Error::Io("disk I/O error".into()));
        assert!(matches!(other, StoreError::Unavailable(_)));
    }
}
