//! The entry glue for spin-sdk 5 (`wasi:http/incoming-handler@0.2`, WASI 0.2): what Spin 3
//! (SpinKube's shim) and Spin 4 serve.
//!
//! The response is written the other way round from the SDK's own helpers: its body goes
//! into the outgoing body (which the host buffers) and is finished *before* the response is
//! handed to the host. The host's HTTP connection then finds the whole body ready when it
//! writes the head, and both leave in one write — with Nagle's algorithm on (Spin does not
//! set `TCP_NODELAY`), a body written after its head would wait for the client's delayed
//! ACK, about 40 ms per response on a keep-alive connection.

use std::future::Future;

use api::{ApiError, Reply};
use bytes::Bytes;
use futures_util::StreamExt as _;
use http_body_util::{BodyExt as _, StreamBody};
use spin_sdk_wasi02::http::{IncomingRequest, ResponseOutparam};
use spin_sdk_wasi02::wit::wasi::http0_2_0::types::{
    Fields, Method, OutgoingBody, OutgoingResponse, Scheme,
};

use crate::{Body, Request, serve};

/// Serves one request: the component's `#[http_component]` entry calls this with the SDK's
/// request and response handle.
pub async fn respond<F, Fut>(request: IncomingRequest, response: ResponseOutparam, handler: F)
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let reply = match to_request(request) {
        Ok(request) => serve(request, handler).await,
        Err(error) => ApiError::Internal(error).into_reply(),
    };
    send(reply, response).await;
}

/// The SDK's request as a [`Request`]: method, absolute URI, headers, streamed body.
fn to_request(request: IncomingRequest) -> anyhow::Result<Request> {
    let method = match request.method() {
        Method::Get => http::Method::GET,
        Method::Head => http::Method::HEAD,
        Method::Post => http::Method::POST,
        Method::Put => http::Method::PUT,
        Method::Delete => http::Method::DELETE,
        Method::Connect => http::Method::CONNECT,
        Method::Options => http::Method::OPTIONS,
        Method::Trace => http::Method::TRACE,
        Method::Patch => http::Method::PATCH,
        Method::Other(other) => http::Method::from_bytes(other.as_bytes())?,
    };
    let scheme = match request.scheme() {
        Some(Scheme::Https) => "https".to_owned(),
        Some(Scheme::Other(other)) => other,
        _ => "http".to_owned(),
    };
    let path = request.path_with_query().unwrap_or_else(|| "/".to_owned());
    let uri = match request.authority() {
        Some(authority) => format!("{scheme}://{authority}{path}"),
        None => path,
    };
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in request.headers().entries() {
        builder = builder.header(name, value);
    }
    let chunks = request.into_body_stream().map(|chunk| {
        chunk
            .map(|bytes| http_body::Frame::data(Bytes::from(bytes)))
            .map_err(|e| anyhow::anyhow!("reading the request body: {e:?}"))
    });
    Ok(builder.body(Body::new(StreamBody::new(chunks)))?)
}

/// Writes `reply` as the response: head and body built, body written and finished, then
/// the response handed over (see the module comment for why in that order).
async fn send(reply: Reply, out: ResponseOutparam) {
    let (parts, body) = reply.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let entries: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let Ok(fields) = Fields::from_list(&entries) else {
        eprintln!("the response headers were refused by the host");
        return;
    };
    let response = OutgoingResponse::new(fields);
    if response.set_status_code(parts.status.as_u16()).is_err() {
        eprintln!("the response status was refused by the host");
        return;
    }
    let Ok(outgoing) = response.body() else {
        eprintln!("the response body could not be opened");
        return;
    };
    let Ok(stream) = outgoing.write() else {
        eprintln!("the response body stream could not be opened");
        return;
    };
    // As much as the host buffers takes no waiting (all of any answer of this API).
    let mut written = 0;
    while written < body.len() {
        match stream.check_write() {
            Ok(0) | Err(_) => break,
            Ok(room) => {
                let end = body
                    .len()
                    .min(written + usize::try_from(room).unwrap_or(usize::MAX));
                if stream.write(&body[written..end]).is_err() {
                    break;
                }
                written = end;
            }
        }
    }
    if written == body.len() {
        drop(stream);
        if OutgoingBody::finish(outgoing, None).is_err() {
            eprintln!("the response body could not be finished");
        }
        out.set(response);
        return;
    }
    // A body larger than the host's buffer: the rest follows once the host reads.
    out.set(response);
    for chunk in body[written..].chunks(4096) {
        if stream.blocking_write_and_flush(chunk).is_err() {
            eprintln!("the client went away while the response was written");
            return;
        }
    }
    drop(stream);
    if OutgoingBody::finish(outgoing, None).is_err() {
        eprintln!("the response body could not be finished");
    }
}

/// Completes after `duration`, on the host's monotonic clock: a `wasi:clocks` pollable
/// registered with spin-sdk 5's executor, which waits on it beside the request's streams.
pub(crate) async fn sleep(duration: std::time::Duration) {
    use wasi::clocks::monotonic_clock;
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    let deadline = monotonic_clock::now().saturating_add(nanos);
    // A pollable is owned by the executor once registered, so each pending poll
    // registers a fresh one for the same instant; dropping the token drops the last.
    let mut registered: Option<spin_executor::CancelOnDropToken> = None;
    std::future::poll_fn(move |context| {
        if monotonic_clock::now() >= deadline {
            return std::task::Poll::Ready(());
        }
        let pollable = monotonic_clock::subscribe_instant(deadline);
        let token = spin_executor::push_waker_and_get_token(pollable, context.waker().clone());
        drop(registered.replace(token.into()));
        std::task::Poll::Pending
    })
    .await
}

/// A Spin variable's value (`fermyon:spin/variables@2.0.0`).
pub(crate) async fn variable(name: &str) -> Result<String, String> {
    spin_sdk_wasi02::variables::get(name).map_err(|e| format!("{e:?}"))
}
