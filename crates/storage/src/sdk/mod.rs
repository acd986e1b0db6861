//! The Spin SDK calls behind [`Database`](crate::Database) and the key-value stores, for
//! each build: spin-sdk 7 (`wasi03`, WASI 0.3, the default) or spin-sdk 5 (`wasi02`, WASI
//! 0.2, what Spin 3 and SpinKube's shim serve). Both offer the same small surface — a SQL
//! connection that runs one statement with bound parameters, and a key-value store — so
//! everything above it is written once.
//!
//! A component build enables one feature. A workspace-wide native build (tests, clippy)
//! enables both and uses the WASI 0.3 one; the WASI 0.2 module is then compiled, unused.

/// The conversions between an SDK's SQL values and [`Param`](crate::database::Param) /
/// [`Cell`](crate::cell::Cell), and its SQLite errors to [`StoreError`](crate::StoreError),
/// written once for both builds. spin-sdk 7 and spin-sdk 5 generate their `sqlite` and `pg`
/// types from different WIT packages, so the types are distinct but of the same shape; each
/// build's module expands this where `sqlite`, `pg`, `Param`, `Cell`, `StoreError` and
/// `SQLITE_UNIQUE` name its own.
macro_rules! sql_value_conversions {
    () => {
        fn sqlite_param(param: &Param<'_>) -> sqlite::Value {
            match param {
                Param::Int(i) => sqlite::Value::Integer(*i),
                Param::Text(t) => sqlite::Value::Text((*t).to_owned()),
                Param::Bytes(b) => sqlite::Value::Blob(b.to_vec()),
                Param::Null => sqlite::Value::Null,
            }
        }

        fn pg_param(param: &Param<'_>) -> pg::ParameterValue {
            match param {
                Param::Int(i) => pg::ParameterValue::Int64(*i),
                Param::Text(t) => pg::ParameterValue::Str((*t).to_owned()),
                Param::Bytes(b) => pg::ParameterValue::Binary(b.to_vec()),
                Param::Null => pg::ParameterValue::DbNull,
            }
        }

        fn sqlite_cell(value: &sqlite::Value) -> Result<Cell, StoreError> {
            Ok(match value {
                sqlite::Value::Integer(i) => Cell::Int(*i),
                sqlite::Value::Text(t) => Cell::Text(t.clone()),
                sqlite::Value::Blob(b) => Cell::Bytes(b.clone()),
                sqlite::Value::Null => Cell::Null,
                other => {
                    return Err(StoreError::unavailable(format!(
                        "unexpected SQLite value {other:?}"
                    )));
                }
            })
        }

        fn pg_cell(value: &pg::DbValue) -> Result<Cell, StoreError> {
            Ok(match value {
                pg::DbValue::Int16(i) => Cell::Int(i64::from(*i)),
                pg::DbValue::Int32(i) => Cell::Int(i64::from(*i)),
                pg::DbValue::Int64(i) => Cell::Int(*i),
                pg::DbValue::Str(t) => Cell::Text(t.clone()),
                pg::DbValue::Binary(b) => Cell::Bytes(b.clone()),
                pg::DbValue::DbNull => Cell::Null,
                other => {
                    return Err(StoreError::unavailable(format!(
                        "unexpected PostgreSQL value {other:?}"
                    )));
                }
            })
        }

        fn sqlite_error(error: sqlite::Error) -> StoreError {
            match &error {
                sqlite::Error::Io(message) if message.contains(SQLITE_UNIQUE) => {
                    StoreError::Conflict(message.clone())
                }
                _ => StoreError::unavailable(format!("SQLite: {error:?}")),
            }
        }
    };
}

#[cfg(feature = "wasi02")]
#[cfg_attr(feature = "wasi03", allow(dead_code))]
mod wasi02;
#[cfg(feature = "wasi03")]
mod wasi03;

#[cfg(all(feature = "wasi02", not(feature = "wasi03")))]
pub(crate) use wasi02::{Conn, KvStore};
#[cfg(feature = "wasi03")]
pub(crate) use wasi03::{Conn, KvStore};

/// SQLite's message for a UNIQUE violation; Spin reports it only as text.
#[cfg_attr(not(feature = "wasi03"), allow(dead_code))]
pub(crate) const SQLITE_UNIQUE: &str = "UNIQUE constraint failed";
/// PostgreSQL's SQLSTATE for a unique violation.
#[cfg_attr(not(feature = "wasi03"), allow(dead_code))]
pub(crate) const PG_UNIQUE_VIOLATION: &str = "23505";
