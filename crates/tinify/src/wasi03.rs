//! [`Transport`] over Spin's outbound HTTP (`wasi:http`), with the timeout kept by the
//! guest's own monotonic clock so it holds on any Spin host.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, select};
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};

use crate::{MAX_RESPONSE_BYTES, Transport, TransportError};

/// Sends through `spin_sdk::http::send`; needs the API's origin in the component's
/// `allowed_outbound_hosts`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinTransport;

impl Transport for SpinTransport {
    async fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let exchange = async {
            let request =
                request.map(|body| spin_sdk::http::FullBody::new(bytes::Bytes::from(body)));
            let response = spin_sdk::http::send(request)
                .await
                .map_err(|e| TransportError::Failed(e.to_string()))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| TransportError::Failed(format!("reading the response: {e}")))?
                .to_bytes();
            Ok(Response::from_parts(parts, body.to_vec()))
        };
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        let deadline = spin_sdk::wasip3::clocks::monotonic_clock::wait_for(nanos);
        match select(pin!(exchange), pin!(deadline)).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => Err(TransportError::Timeout),
        }
    }
}
