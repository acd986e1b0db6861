//! The API end to end: the real `.wasm` components from `spin.toml` on the repository's
//! host, over HTTP, each test on SQLite and again on PostgreSQL (`name::sqlite`,
//! `name::postgres`). One module per capability of CONTRACT.md.

mod helpers;
mod redis_server;
// Shared with the faults suite, which alone kills servers.
#[allow(dead_code)]
mod server_process;

mod anchored_paging;
mod builds;
mod cors;
mod deploy;
mod errors;
mod guides;
mod hostile_input;
mod http_caching;
mod http_edges;
mod instance_reuse;
mod keep_alive;
mod list_positions;
mod maintenance;
mod multi_process;
mod photo_store;
mod photos;
mod platforms;
mod positions;
mod postgres_tls;
mod raw_http;
mod registration;
mod registration_deadline;
mod registration_races;
mod schema;
mod security;
mod seed;
mod site;
mod stalling_proxy;
mod tinify;
mod tokens;
mod users_list;
mod users_single;
