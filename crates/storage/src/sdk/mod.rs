//! The Spin SDK calls behind [`Database`](crate::Database) and the key-value stores, for
//! each build: spin-sdk 7 (`wasi03`, WASI 0.3, the default) or spin-sdk 5 (`wasi02`, WASI
//! 0.2, what Spin 3 and SpinKube's shim serve). Both offer the same small surface — a SQL
//! connection that runs one statement with bound parameters, and a key-value store — so
//! everything above it is written once.
//!
//! A component build enables one feature. A workspace-wide native build (tests, clippy)
//! enables both and uses the WASI 0.3 one; the WASI 0.2 module is then compiled, unused.

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
