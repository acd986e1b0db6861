//! A development host for Spin applications: runs the same `.wasm` components `spin up`
//! runs, on Wasmtime, with the subset of Spin 4.x this project relies on: WASI 0.3
//! (`wasi:http/handler`) and WASI 0.2 (`wasi:http/incoming-handler`) components alike.
//!
//! Production runs on Spin itself; this host exists because Spin cannot be installed where
//! this project is built and tested. See this crate's README for what is supported and how
//! it differs from Spin.

pub mod app;
pub mod budgets;
pub mod build;
mod chaining;
pub mod deploy_check;
pub mod deploy_rules;
mod guest_request;
pub mod host_calls;
mod instances;
pub mod manifest;
pub mod outbound;
pub mod platform;
pub mod reuse;
pub mod routes;
pub mod runtime_config;
pub mod server;
mod spin_apis;
mod state;
mod stats;
mod template;
pub mod variables;

pub use stats::InstanceStats;
