//! The Spin platform interfaces a guest imports: key-value, SQLite, PostgreSQL and variables.
//!
//! Each interface checks the component's grants from `spin.toml` on `open`/`get`, returning
//! Spin's own `access-denied` / `undefined` errors, and then talks to its backend.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker, ResourceTable};

use crate::outbound::OutboundPolicy;

pub mod key_value;
pub mod postgres;
pub mod sqlite;
mod v2;
pub mod variables;

wasmtime::component::bindgen!({
    path: "wit",
    world: "usersbypage:spin-host/platform",
    // `tracing`: each call opens a span, which `--count-host-calls` counts.
    imports: { default: async | trappable | tracing },
    with: {
        "spin:key-value/key-value.store": key_value::StoreHandle,
        "spin:sqlite/sqlite.connection": sqlite::ConnectionHandle,
        "spin:postgres/postgres@4.2.0.connection": postgres::ConnectionHandle,
        "spin:postgres/postgres@4.2.0.connection-builder": postgres::ConnectionBuilder,
        "fermyon:spin/key-value.store": key_value::StoreHandle,
        "fermyon:spin/sqlite.connection": sqlite::ConnectionHandle,
        "spin:postgres/postgres@4.0.0.connection": postgres::ConnectionHandle,
    },
});

/// What one component may use, shared by all its instances.
pub struct ComponentGrants {
    /// Component id, for log lines.
    pub component: String,
    /// Key-value stores the component lists, with their backends.
    pub key_value: BTreeMap<String, Arc<key_value::KvStore>>,
    /// SQLite databases the component lists, with their backends.
    pub sqlite: BTreeMap<String, Arc<sqlite::Database>>,
    /// Variables the component declares, expanded (or the reason they could not be).
    pub variables: BTreeMap<String, Result<String, String>>,
    /// `allowed_outbound_hosts`, also checked for PostgreSQL addresses.
    pub outbound: OutboundPolicy,
    /// The application's PostgreSQL connection pools (shared by every component).
    pub postgres: Arc<postgres::PgPools>,
}

/// The per-store view the Spin interfaces work on.
pub struct SpinView<'a> {
    /// The store's resource table (shared with WASI).
    pub table: &'a mut ResourceTable,
    /// The component's grants.
    pub grants: &'a ComponentGrants,
}

/// Marker type the generated `add_to_linker` functions are instantiated with.
pub struct SpinApis;

impl HasData for SpinApis {
    type Data<'a> = SpinView<'a>;
}

/// Adds every Spin interface to `linker`; `view` projects the store data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> SpinView<'_>,
) -> wasmtime::Result<()> {
    spin::key_value::key_value::add_to_linker::<T, SpinApis>(linker, view)?;
    spin::sqlite::sqlite::add_to_linker::<T, SpinApis>(linker, view)?;
    spin::variables::variables::add_to_linker::<T, SpinApis>(linker, view)?;
    spin::postgres4_2_0::postgres::add_to_linker::<T, SpinApis>(linker, view)?;
    // The Spin 2/3 interfaces of WASI 0.2 guests (spin-sdk 5).
    fermyon::spin::key_value::add_to_linker::<T, SpinApis>(linker, view)?;
    fermyon::spin::sqlite::add_to_linker::<T, SpinApis>(linker, view)?;
    fermyon::spin::variables::add_to_linker::<T, SpinApis>(linker, view)?;
    spin::postgres4_0_0::postgres::add_to_linker::<T, SpinApis>(linker, view)?;
    Ok(())
}

/// Runs blocking work on this worker thread, the way Spin's key-value store and its
/// environment-variables provider do (`block_in_place`): the thread's other tasks move to
/// another worker while the work runs. Spin's timing depends on this (for the rest of the
/// task's poll the thread has no scheduler core, so tasks it wakes are picked up by other
/// threads), so the host does the same. A single-threaded runtime (some tests) cannot
/// block in place and uses a blocking-pool thread.
async fn in_place<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> wasmtime::Result<R> {
    let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
    if matches!(flavor, Ok(tokio::runtime::RuntimeFlavor::MultiThread)) {
        return Ok(tokio::task::block_in_place(work));
    }
    on_blocking_pool(work).await
}

/// Runs blocking work on tokio's blocking pool, as Spin's SQLite does (`spawn_blocking`).
async fn on_blocking_pool<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> wasmtime::Result<R> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| wasmtime::format_err!("blocking task failed: {e}"))
}
