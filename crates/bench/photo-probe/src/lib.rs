//! `POST /probe` with a JPEG body: runs `photo::thumbnail` on it inside the component and
//! answers how long that took (the guest's monotonic clock) and how large the instance's
//! linear memory grew (its peak: wasm memory never shrinks).

use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{IntoResponse, Request, StatusCode};
use spin_sdk::http_service;
use spin_sdk::wasip3::clocks::monotonic_clock;

/// Bytes per wasm page.
const PAGE: u64 = 64 * 1024;

#[http_service]
async fn probe(request: Request) -> impl IntoResponse {
    let bytes = match request.into_body().bytes().await {
        Ok(bytes) => bytes,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e:?}")),
    };
    let started = monotonic_clock::now();
    let result = photo::thumbnail(&bytes);
    let nanos = monotonic_clock::now() - started;
    let memory = linear_memory_pages() * PAGE;
    let body = serde_json::json!({
        "ok": result.is_ok(),
        "error": result.as_ref().err().map(|e| e.message()),
        "micros": nanos / 1_000,
        "memory_bytes": memory,
        "input_bytes": bytes.len(),
    });
    (StatusCode::OK, body.to_string())
}

/// Pages of this instance's linear memory (0 when built for the host, e.g. by clippy).
fn linear_memory_pages() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0) as u64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}
