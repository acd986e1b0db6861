//! End-to-end tests live in `tests/api/`: they build the application's components for
//! `wasm32-wasip2`, serve `spin.toml` with the repository's host and call the API over
//! HTTP, once on SQLite and once on PostgreSQL.
