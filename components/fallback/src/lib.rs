//! Every path no other component serves: CONTRACT.md, "Errors, in general" (unknown route).

use api::{ApiError, Reply};
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

#[http_service]
async fn handle(request: Request) -> impl IntoResponse {
    platform::serve(request, not_found).await
}

async fn not_found(_request: Request) -> Result<Reply, ApiError> {
    Err(ApiError::PageNotFound)
}
