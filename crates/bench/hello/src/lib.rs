//! The smallest spin-sdk 7 HTTP component: the benchmark's baseline.

use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

#[http_service]
async fn hello(_request: Request) -> impl IntoResponse {
    "Hello, world!"
}
