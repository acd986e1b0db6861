//! Counting the host functions guests call (`spin-host up --count-host-calls`).
//!
//! A guest's cost on Spin is largely the imports it calls: each Spin API call crosses the
//! component boundary and, for key-value, variables and SQLite, hands work to another
//! thread. The same `.wasm` makes the same calls under Spin and here, so counting them
//! here tells what a request costs there too (the benchmark reports them per endpoint).
//!
//! Every import binding wasmtime generates with `tracing` opens a span named
//! `wit-bindgen import` (WASI's and wasi-http's bindings do; so do ours, `spin_apis`).
//! [`CountingLayer`] counts those spans by function, process-wide; `SIGUSR1` prints the
//! totals as one line on stdout. The totals cover every request: with one request at a
//! time, the difference between two printouts is what the requests in between called.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

/// The span name wasmtime's generated import bindings use.
const IMPORT_SPAN: &str = "wit-bindgen import";
/// The line `SIGUSR1` prints starts with this, then the totals as a JSON object.
pub const TOTALS_PREFIX: &str = "host calls: ";

static TOTALS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// A `tracing` layer that counts import calls; give it [`CountingLayer::filter`].
pub struct CountingLayer;

impl CountingLayer {
    /// Only import spans reach the layer (they are `TRACE`, which the log leaves out).
    pub fn filter() -> tracing_subscriber::filter::FilterFn {
        tracing_subscriber::filter::filter_fn(|meta| meta.is_span() && meta.name() == IMPORT_SPAN)
    }
}

impl<S: Subscriber> Layer<S> for CountingLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut function = FunctionName::default();
        attrs.record(&mut function);
        let name = format!(
            "{}.{}",
            interface(
                attrs.metadata().module_path().unwrap_or_default(),
                &function.module
            ),
            function.function
        );
        let mut totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
        *totals.entry(name).or_default() += 1;
    }
}

/// The calls counted so far, by `package:namespace/interface.function`.
pub fn totals() -> BTreeMap<String, u64> {
    TOTALS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Prints [`totals`] on stdout each time the process gets `SIGUSR1`, until it ends.
pub fn print_totals_on_sigusr1() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut signals = signal(SignalKind::user_defined1())?;
    tokio::spawn(async move {
        while signals.recv().await.is_some() {
            let line = serde_json::to_string(&totals()).unwrap_or_default();
            println!("{TOTALS_PREFIX}{line}");
        }
    });
    Ok(())
}

/// The interface a binding belongs to, as WIT names it. The span says only the
/// interface's own name (`types`, which WASI has three of); the Rust module the binding
/// was generated in ends with the package path, e.g. `…::wasi::http::types`.
fn interface(module_path: &str, module: &str) -> String {
    let segments: Vec<&str> = module_path.rsplit("::").take(3).collect();
    match segments.as_slice() {
        [interface, package, namespace] if interface.replace('_', "-") == module => {
            format!("{namespace}:{}/{module}", package.replace('_', "-"))
        }
        _ => module.to_owned(),
    }
}

#[derive(Default)]
struct FunctionName {
    module: String,
    function: String,
}

impl Visit for FunctionName {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "module" => self.module = value.to_owned(),
            "function" => self.function = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, format!("{value:?}").trim_matches('"'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_module_names_its_package() {
        assert_eq!(
            interface(
                "wasmtime_wasi_http::p3::bindings::wasi::http::types",
                "types"
            ),
            "wasi:http/types"
        );
        assert_eq!(
            interface(
                "spin_host::spin_apis::spin::key_value::key_value",
                "key-value"
            ),
            "spin:key-value/key-value"
        );
    }

    #[test]
    fn a_module_path_that_does_not_end_in_the_interface_is_left_out() {
        assert_eq!(interface("somewhere::else", "types"), "types");
    }
}
