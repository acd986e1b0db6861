//! A client for the TinyPNG API (<https://tinypng.com/developers/reference>):
//! `POST /shrink` with the image, `201` with a `Location`, then `GET` that location for the
//! optimised bytes. HTTP Basic auth is `api:<key>`.
//!
//! The client is generic over its [`Transport`], so its protocol handling (statuses,
//! retry, redirects to the output) is unit-tested natively; [`SpinTransport`] sends through
//! Spin's outbound HTTP, which `allowed_outbound_hosts` must permit, with spin-sdk 7 (WASI
//! 0.3, feature `wasi03`, the default) or spin-sdk 5 (WASI 0.2, feature `wasi02`).

#![warn(missing_docs)]

#[cfg(feature = "wasi02")]
#[cfg_attr(feature = "wasi03", allow(dead_code))]
mod wasi02;
#[cfg(feature = "wasi03")]
mod wasi03;

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{Method, Request, Response, StatusCode, header};
use url::Url;

#[cfg(all(feature = "wasi02", not(feature = "wasi03")))]
pub use wasi02::SpinTransport;
#[cfg(feature = "wasi03")]
pub use wasi03::SpinTransport;

/// The public API's address.
pub const DEFAULT_BASE_URL: &str = "https://api.tinify.com";
/// How long one call may take before the client gives up on it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body accepted (a shrunk 70x70 JPEG is a few KB).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why an optimisation failed. Callers keep their own image on any of these.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TinifyError {
    /// `401`: the API key is wrong.
    #[error("TinyPNG refused the API key (401)")]
    Unauthorized,
    /// `429`: the account's monthly limit is used up.
    #[error("TinyPNG rate limit reached (429)")]
    RateLimited,
    /// `5xx`, also on the retry.
    #[error("TinyPNG server error ({0})")]
    Server(u16),
    /// Any other status.
    #[error("TinyPNG answered {0} unexpectedly")]
    Unexpected(u16),
    /// `201` without a usable `Location`.
    #[error("TinyPNG gave no output location")]
    MissingLocation,
    /// The output is not a JPEG.
    #[error("TinyPNG output is not a JPEG")]
    NotJpeg,
    /// The call took longer than the timeout.
    #[error("TinyPNG did not answer within {0:?}")]
    Timeout(Duration),
    /// The request could not be sent (refused host, DNS, connection).
    #[error("TinyPNG unreachable: {0}")]
    Transport(String),
}

/// Failure of a [`Transport`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// No complete answer within the timeout.
    Timeout,
    /// Anything else.
    Failed(String),
}

/// Sends one HTTP request and returns the complete response.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// Sends `request`, giving up after `timeout`.
    async fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, TransportError>;
}

/// An API key. `Debug` does not print it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    fn basic_auth(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("api:{}", self.0)))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The TinyPNG client.
#[derive(Debug)]
pub struct TinifyClient<T> {
    base_url: Url,
    key: ApiKey,
    timeout: Duration,
    transport: T,
}

impl<T: Transport> TinifyClient<T> {
    /// A client for the API at `base_url` (normally [`DEFAULT_BASE_URL`]).
    pub fn new(base_url: Url, key: ApiKey, timeout: Duration, transport: T) -> Self {
        Self {
            base_url,
            key,
            timeout,
            transport,
        }
    }

    /// Optimises `jpeg` and returns TinyPNG's output (checked to be a JPEG).
    pub async fn shrink(&self, jpeg: &[u8]) -> Result<Vec<u8>, TinifyError> {
        let shrink_url = self
            .base_url
            .join("/shrink")
            .map_err(|e| TinifyError::Transport(e.to_string()))?;
        let created = self.call(Method::POST, &shrink_url, jpeg.to_vec()).await?;
        if created.status() != StatusCode::CREATED {
            return Err(TinifyError::Unexpected(created.status().as_u16()));
        }
        let output = created
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| shrink_url.join(l).ok())
            .ok_or(TinifyError::MissingLocation)?;
        let downloaded = self.call(Method::GET, &output, Vec::new()).await?;
        if downloaded.status() != StatusCode::OK {
            return Err(TinifyError::Unexpected(downloaded.status().as_u16()));
        }
        let bytes = downloaded.into_body();
        if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Err(TinifyError::NotJpeg);
        }
        Ok(bytes)
    }

    /// One call, retried once if the server fails (5xx).
    async fn call(
        &self,
        method: Method,
        url: &Url,
        body: Vec<u8>,
    ) -> Result<Response<Vec<u8>>, TinifyError> {
        let mut retried = false;
        loop {
            let response = self.send_once(method.clone(), url, body.clone()).await?;
            let status = response.status();
            match status.as_u16() {
                401 => return Err(TinifyError::Unauthorized),
                429 => return Err(TinifyError::RateLimited),
                500..=599 if !retried => retried = true,
                500..=599 => return Err(TinifyError::Server(status.as_u16())),
                _ => return Ok(response),
            }
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: &Url,
        body: Vec<u8>,
    ) -> Result<Response<Vec<u8>>, TinifyError> {
        let mut request = Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(header::AUTHORIZATION, self.key.basic_auth());
        if !body.is_empty() {
            request = request.header(header::CONTENT_TYPE, "image/jpeg");
        }
        let request = request
            .body(body)
            .map_err(|e| TinifyError::Transport(e.to_string()))?;
        self.transport
            .send(request, self.timeout)
            .await
            .map_err(|e| match e {
                TransportError::Timeout => TinifyError::Timeout(self.timeout),
                TransportError::Failed(reason) => TinifyError::Transport(reason),
            })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;

    const JPEG_IN: &[u8] = b"\xFF\xD8\xFFinput";
    const JPEG_OUT: &[u8] = b"\xFF\xD8\xFFsmaller";

    /// Answers from a script and records what it was sent.
    #[derive(Default)]
    struct Scripted {
        answers: RefCell<VecDeque<Result<Response<Vec<u8>>, TransportError>>>,
        sent: RefCell<Vec<Request<Vec<u8>>>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Response<Vec<u8>>, TransportError>>) -> Self {
            Self {
                answers: RefCell::new(answers.into()),
                sent: RefCell::default(),
            }
        }
    }

    impl Transport for &Scripted {
        async fn send(
            &self,
            request: Request<Vec<u8>>,
            _: Duration,
        ) -> Result<Response<Vec<u8>>, TransportError> {
            self.sent.borrow_mut().push(request);
            self.answers
                .borrow_mut()
                .pop_front()
                .unwrap_or(Err(TransportError::Failed("no more answers".into())))
        }
    }

    fn status(code: u16) -> Result<Response<Vec<u8>>, TransportError> {
        Ok(Response::builder().status(code).body(Vec::new()).unwrap())
    }

    fn created(location: &str) -> Result<Response<Vec<u8>>, TransportError> {
        Ok(Response::builder()
            .status(201)
            .header(header::LOCATION, location)
            .body(Vec::new())
            .unwrap())
    }

    fn output(bytes: &[u8]) -> Result<Response<Vec<u8>>, TransportError> {
        Ok(Response::builder()
            .status(200)
            .body(bytes.to_vec())
            .unwrap())
    }

    fn shrink(transport: &Scripted) -> Result<Vec<u8>, TinifyError> {
        let client = TinifyClient::new(
            Url::parse("https://api.tinify.com").unwrap(),
            ApiKey::new("secret-key"),
            Duration::from_secs(1),
            transport,
        );
        futures_executor::block_on(client.shrink(JPEG_IN))
    }

    #[test]
    fn shrinking_posts_the_image_with_basic_auth_then_downloads_the_location() {
        let transport = Scripted::new(vec![
            created("https://api.tinify.com/output/abc"),
            output(JPEG_OUT),
        ]);

        assert_eq!(shrink(&transport).unwrap(), JPEG_OUT);

        let sent = transport.sent.borrow();
        assert_eq!(sent[0].method(), Method::POST);
        assert_eq!(sent[0].uri(), "https://api.tinify.com/shrink");
        // base64("api:secret-key")
        assert_eq!(
            sent[0].headers()[header::AUTHORIZATION],
            "Basic YXBpOnNlY3JldC1rZXk="
        );
        assert_eq!(sent[0].body(), JPEG_IN);
        assert_eq!(sent[1].method(), Method::GET);
        assert_eq!(sent[1].uri(), "https://api.tinify.com/output/abc");
    }

    #[test]
    fn a_relative_location_is_resolved_against_the_api() {
        let transport = Scripted::new(vec![created("/output/xyz"), output(JPEG_OUT)]);
        assert_eq!(shrink(&transport).unwrap(), JPEG_OUT);
        assert_eq!(
            transport.sent.borrow()[1].uri(),
            "https://api.tinify.com/output/xyz"
        );
    }

    #[test]
    fn client_errors_are_reported_without_retry() {
        for (code, error) in [
            (401, TinifyError::Unauthorized),
            (429, TinifyError::RateLimited),
            (400, TinifyError::Unexpected(400)),
        ] {
            let transport = Scripted::new(vec![status(code)]);
            assert_eq!(shrink(&transport), Err(error));
            assert_eq!(
                transport.sent.borrow().len(),
                1,
                "{code} must not be retried"
            );
        }
    }

    #[test]
    fn a_server_error_is_retried_once() {
        let recovers = Scripted::new(vec![status(503), created("/output/1"), output(JPEG_OUT)]);
        assert_eq!(shrink(&recovers).unwrap(), JPEG_OUT);
        assert_eq!(recovers.sent.borrow().len(), 3);

        let fails = Scripted::new(vec![status(500), status(502)]);
        assert_eq!(shrink(&fails), Err(TinifyError::Server(502)));
        assert_eq!(fails.sent.borrow().len(), 2);
    }

    #[test]
    fn timeouts_and_transport_failures_are_errors() {
        let slow = Scripted::new(vec![Err(TransportError::Timeout)]);
        assert_eq!(
            shrink(&slow),
            Err(TinifyError::Timeout(Duration::from_secs(1)))
        );
        let refused = Scripted::new(vec![Err(TransportError::Failed("denied".into()))]);
        assert_eq!(
            shrink(&refused),
            Err(TinifyError::Transport("denied".into()))
        );
    }

    #[test]
    fn a_created_answer_without_location_or_with_junk_output_fails() {
        let no_location = Scripted::new(vec![status(201)]);
        assert_eq!(shrink(&no_location), Err(TinifyError::MissingLocation));
        let junk = Scripted::new(vec![created("/output/1"), output(b"<html>")]);
        assert_eq!(shrink(&junk), Err(TinifyError::NotJpeg));
    }

    #[test]
    fn the_key_is_not_in_debug_output() {
        assert!(!format!("{:?}", ApiKey::new("secret-key")).contains("secret"));
    }
}
