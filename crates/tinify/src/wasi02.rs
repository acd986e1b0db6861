//! [`Transport`] over WASI 0.2's outbound HTTP (`wasi:http/outgoing-handler@0.2`, spin-sdk
//! 5). The timeout is the host's: connect, first-byte and between-bytes timeouts on the
//! request. The calls block: a WASI 0.2 component serves one request at a time, so there is
//! nothing else to run meanwhile.

use std::time::Duration;

use http::{Request, Response, StatusCode};
use spin_sdk_wasi02::wit::wasi::http0_2_0::outgoing_handler;
use spin_sdk_wasi02::wit::wasi::http0_2_0::types::{
    ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasi::io::streams::StreamError;

use crate::{MAX_RESPONSE_BYTES, Transport, TransportError};

/// Sends through `wasi:http/outgoing-handler`; needs the API's origin in the component's
/// `allowed_outbound_hosts`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinTransport;

impl Transport for SpinTransport {
    async fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        exchange(request, timeout)
    }
}

fn failed(what: &str, detail: impl std::fmt::Debug) -> TransportError {
    TransportError::Failed(format!("{what}: {detail:?}"))
}

fn exchange(
    request: Request<Vec<u8>>,
    timeout: Duration,
) -> Result<Response<Vec<u8>>, TransportError> {
    let (parts, body) = request.into_parts();
    let entries: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let headers = Fields::from_list(&entries).map_err(|e| failed("request headers", e))?;
    let outgoing = OutgoingRequest::new(headers);
    let method = match parts.method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        other => Method::Other(other.to_owned()),
    };
    let scheme = match parts.uri.scheme_str() {
        Some("https") => Scheme::Https,
        _ => Scheme::Http,
    };
    let set = |ok: Result<(), ()>, what: &str| ok.map_err(|()| failed(what, ()));
    set(outgoing.set_method(&method), "method")?;
    set(outgoing.set_scheme(Some(&scheme)), "scheme")?;
    set(
        outgoing.set_authority(parts.uri.authority().map(|a| a.as_str())),
        "authority",
    )?;
    set(
        outgoing.set_path_with_query(parts.uri.path_and_query().map(|p| p.as_str())),
        "path",
    )?;
    let request_body = outgoing.body().map_err(|e| failed("request body", e))?;

    let options = RequestOptions::new();
    let nanos = Some(u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX));
    set(options.set_connect_timeout(nanos), "connect timeout")?;
    set(options.set_first_byte_timeout(nanos), "first-byte timeout")?;
    set(
        options.set_between_bytes_timeout(nanos),
        "between-bytes timeout",
    )?;
    let pending = outgoing_handler::handle(outgoing, Some(options)).map_err(timed_out_or_failed)?;

    {
        let stream = request_body
            .write()
            .map_err(|e| failed("request body stream", e))?;
        for chunk in body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| failed("sending the request body", e))?;
        }
    }
    OutgoingBody::finish(request_body, None).map_err(|e| failed("finishing the request", e))?;

    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or_else(|| failed("the response", "not ready after waiting"))?
        .map_err(|()| failed("the response", "already taken"))?
        .map_err(timed_out_or_failed)?;
    let status = StatusCode::from_u16(response.status()).map_err(|e| failed("status", e))?;
    let mut builder = Response::builder().status(status);
    for (name, value) in response.headers().entries() {
        builder = builder.header(name, value);
    }
    let incoming = response.consume().map_err(|e| failed("response body", e))?;
    let stream = incoming
        .stream()
        .map_err(|e| failed("response body stream", e))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_RESPONSE_BYTES {
                    return Err(failed("the response", "larger than allowed"));
                }
            }
            Err(StreamError::Closed) => break,
            Err(e) => return Err(failed("reading the response", e)),
        }
    }
    builder.body(bytes).map_err(|e| failed("the response", e))
}

fn timed_out_or_failed(error: ErrorCode) -> TransportError {
    match error {
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::HttpResponseTimeout => TransportError::Timeout,
        other => failed("sending", other),
    }
}
