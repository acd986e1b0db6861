//! A local TinyPNG: the parts of <https://tinypng.com/developers/reference> the application
//! uses, with switchable failures, so tests never reach the real service.
//!
//! - `POST /shrink` with HTTP Basic `api:<key>` and an image body: `201 Created`, a
//!   `Location: <origin>/output/<id>` header, a `Compression-Count` header and the JSON
//!   summary the real API sends.
//! - `GET /output/<id>`: `200` with the "optimised" JPEG. The mock does not really compress:
//!   it returns the input with a JPEG comment segment ([`MARKER`]) inserted after the SOI
//!   marker, so a test can tell that the stored photo came through the mock.
//! - Wrong key: `401`; non-image body: `415`; and on demand `429`, `5xx` (always or once)
//!   or a slow answer.

#![warn(missing_docs)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// Text of the comment segment the mock adds to its output.
pub const MARKER: &[u8] = b"optimised by tinypng-mock";

/// How the mock answers `POST /shrink`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// As the real API on success.
    Normal,
    /// `429 Too Many Requests` (monthly limit reached).
    RateLimited,
    /// `503` on every call.
    ServerError,
    /// `503` on the first call, then normal (checks the client's retry).
    ServerErrorOnce,
    /// Normal, after waiting this long.
    Slow(Duration),
}

/// One request the mock received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// `Authorization` header, if any.
    pub authorization: Option<String>,
    /// Body length.
    pub body_len: usize,
}

struct State {
    key: String,
    behaviour: Behaviour,
    outputs: HashMap<String, Vec<u8>>,
    requests: Vec<Recorded>,
    compressions: u64,
    failed_once: bool,
}

/// A running mock.
#[derive(Clone)]
pub struct MockTinify {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl MockTinify {
    /// Starts a mock on a free loopback port that accepts API key `key`.
    pub async fn start(key: &str, behaviour: Behaviour) -> anyhow::Result<Self> {
        Self::start_on("127.0.0.1:0".parse()?, key, behaviour).await
    }

    /// Starts a mock on `listen`.
    pub async fn start_on(
        listen: SocketAddr,
        key: &str,
        behaviour: Behaviour,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let mock = Self {
            addr: listener.local_addr()?,
            state: Arc::new(Mutex::new(State {
                key: key.to_owned(),
                behaviour,
                outputs: HashMap::new(),
                requests: Vec::new(),
                compressions: 0,
                failed_once: false,
            })),
        };
        let serving = mock.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mock = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let mock = mock.clone();
                        async move { Ok::<_, Infallible>(mock.answer(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(mock)
    }

    /// The mock's origin, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes how later requests are answered.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.state().behaviour = behaviour;
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        let authorization = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match req.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Could not read the body.",
                );
            }
        };
        let behaviour = {
            let mut state = self.state();
            state.requests.push(Recorded {
                method: method.clone(),
                path: path.clone(),
                authorization: authorization.clone(),
                body_len: body.len(),
            });
            state.behaviour
        };
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("api:{}", self.state().key))
        );
        if authorization.as_deref() != Some(expected.as_str()) {
            return error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Credentials are invalid.",
            );
        }
        match (method.as_str(), path.as_str()) {
            ("POST", "/shrink") => self.shrink(behaviour, body).await,
            ("GET", output) if output.starts_with("/output/") => {
                let id = &output["/output/".len()..];
                match self.state().outputs.get(id) {
                    Some(bytes) => {
                        let mut response = Response::new(Full::new(Bytes::from(bytes.clone())));
                        response.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            hyper::header::HeaderValue::from_static("image/jpeg"),
                        );
                        response
                    }
                    None => error(StatusCode::NOT_FOUND, "NotFound", "Output not found."),
                }
            }
            _ => error(StatusCode::NOT_FOUND, "NotFound", "Not found."),
        }
    }

    async fn shrink(&self, behaviour: Behaviour, input: Bytes) -> Response<Full<Bytes>> {
        match behaviour {
            Behaviour::RateLimited => {
                return error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "Your monthly limit has been exceeded",
                );
            }
            Behaviour::ServerError => return server_error(),
            Behaviour::ServerErrorOnce => {
                let mut state = self.state();
                if !state.failed_once {
                    state.failed_once = true;
                    return server_error();
                }
            }
            Behaviour::Slow(delay) => tokio::time::sleep(delay).await,
            Behaviour::Normal => {}
        }
        if !input.starts_with(&[0xFF, 0xD8, 0xFF]) && !input.starts_with(b"\x89PNG") {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                "File type is not supported.",
            );
        }
        let output = with_marker(&input);
        let (id, count) = {
            let mut state = self.state();
            state.compressions += 1;
            let id = format!("mock{}", state.compressions);
            state.outputs.insert(id.clone(), output.clone());
            (id, state.compressions)
        };
        let location = format!("{}/output/{id}", self.url());
        let summary = serde_json::json!({
            "input": { "size": input.len(), "type": "image/jpeg" },
            "output": {
                "size": output.len(),
                "type": "image/jpeg",
                "ratio": output.len() as f64 / input.len().max(1) as f64,
                "url": location,
            }
        });
        let mut response = Response::new(Full::new(Bytes::from(summary.to_string())));
        *response.status_mut() = StatusCode::CREATED;
        let headers = response.headers_mut();
        headers.insert(
            hyper::header::CONTENT_TYPE,
            "application/json"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        if let Ok(location) = location.parse() {
            headers.insert(hyper::header::LOCATION, location);
        }
        if let Ok(count) = count.to_string().parse() {
            headers.insert("compression-count", count);
        }
        response
    }
}

/// `jpeg` with a COM segment carrying [`MARKER`] right after SOI.
pub fn with_marker(jpeg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(jpeg.len() + MARKER.len() + 4);
    out.extend_from_slice(&jpeg[..2.min(jpeg.len())]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(
        &u16::try_from(MARKER.len() + 2)
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(MARKER);
    out.extend_from_slice(jpeg.get(2..).unwrap_or_default());
    out
}

fn server_error() -> Response<Full<Bytes>> {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "InternalServerError",
        "The service is temporarily unavailable.",
    )
}

fn error(status: StatusCode, error: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": error, "message": message }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}
