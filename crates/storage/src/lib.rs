//! Storage adapters: the only place that talks to Spin's SQLite, PostgreSQL and key-value
//! APIs.
//!
//! - [`Database`] holds users and positions, in Spin's SQLite (`sqlite:<name>`) or Spin's
//!   PostgreSQL (`postgres://…`), migrated on first use.
//! - [`TokenStore`], [`PhotoStore`] and [`Cache`] are key-value stores.
//!
//! Rows are decoded through [`Cell`]s, so decoding is unit-tested natively; everything that
//! calls the Spin SDK runs only inside a component.

#![warn(missing_docs)]

mod cell;
mod database;
mod error;
mod kv;
pub mod migrations;
mod records;

pub use cell::Cell;
pub use database::Database;
pub use error::StoreError;
pub use kv::{Cache, POSITIONS_CACHE_KEY, PhotoStore, TokenStore};
pub use records::{NewUser, Position, UserRecord};
