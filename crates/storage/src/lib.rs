//! Storage adapters: the only place that talks to Spin's SQLite, PostgreSQL and key-value
//! APIs.
//!
//! - [`Database`] holds users and positions, in Spin's SQLite (`sqlite:<name>`) or Spin's
//!   PostgreSQL (`postgres://…`), migrated on first use.
//! - [`TokenStore`], [`PhotoStore`] and [`Cache`] are key-value stores, each under a label
//!   of its own or sharing the `default` store, as [`KvLayout`] says. Photos are kept in
//!   [`PhotoStore`] or in the database, as [`PhotoHome`] says.
//!
//! Rows are decoded through [`Cell`]s, so decoding is unit-tested natively; everything that
//! calls the Spin SDK runs only inside a component.
//!
//! The SDK is chosen by feature: `wasi03` (spin-sdk 7, the default) or `wasi02` (spin-sdk 5).
//! With neither, only the SDK-free types are built — records, [`StoreError`], migrations —
//! for crates such as `api` that describe them without touching a store.

#![warn(missing_docs)]

mod cell;
#[cfg(any(feature = "wasi02", feature = "wasi03"))]
mod database;
mod error;
#[cfg(any(feature = "wasi02", feature = "wasi03"))]
mod kv;
mod kv_layout;
pub mod migrations;
mod photo_home;
mod records;
#[cfg(any(feature = "wasi02", feature = "wasi03"))]
mod sdk;

pub use cell::Cell;
#[cfg(any(feature = "wasi02", feature = "wasi03"))]
pub use database::Database;
pub use error::StoreError;
#[cfg(any(feature = "wasi02", feature = "wasi03"))]
pub use kv::{Cache, POSITIONS_CACHE_KEY, PhotoStore, TokenStore};
pub use kv_layout::{DEFAULT_LABEL, KeySpace, KvLayout, LogicalStore};
pub use photo_home::PhotoHome;
pub use records::{NewUser, Position, UserRecord};
