//! The host against the real fixture component: each module covers one capability of the
//! host issue (routing, storage, outbound HTTP, isolation, the command line).

mod cli;
mod isolation;
mod outbound;
mod postgres_tls;
mod reuse;
mod routing;
mod storage;
mod support;
mod variables;
