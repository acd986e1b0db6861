//! HTTP/1.1 written and read by hand, for what a client library hides: whether a response
//! arrived in one piece, and requests whose body is held back while the host works on them.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::{Registration, TestApp};

/// The boundary of the multipart bodies built here.
pub const BOUNDARY: &str = "------------------------e2eboundary";

/// One keep-alive connection.
pub struct RawConnection {
    stream: TcpStream,
    host: String,
}

/// How one response arrived.
pub struct Arrival {
    pub status: u16,
    /// The whole response was in the first read after the request was sent.
    pub whole_in_first_read: bool,
    /// The body (after the head).
    pub body: Vec<u8>,
}

impl RawConnection {
    pub async fn open(app: &TestApp) -> Self {
        let host = app.address.trim_start_matches("http://").to_owned();
        let stream = TcpStream::connect(&host).await.expect("connect");
        Self { stream, host }
    }

    /// Sends a request's head (request line and any headers, without Host) and, if `body` is
    /// given, its `Content-Length`, but not the body itself.
    pub async fn send_head(&mut self, head: &str, body_length: usize) {
        let mut request = format!("{head}\r\nHost: {}\r\n", self.host);
        if body_length > 0 {
            request.push_str(&format!("Content-Length: {body_length}\r\n"));
        }
        request.push_str("\r\n");
        self.stream
            .write_all(request.as_bytes())
            .await
            .expect("send head");
    }

    /// Sends raw bytes, head and all.
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send");
    }

    /// Sends (the rest of) a request body.
    pub async fn send_body(&mut self, body: &[u8]) {
        self.stream.write_all(body).await.expect("send body");
    }

    /// Sends one request and reads its response. Quick ACKs are off, as in a client that
    /// delays its acknowledgements, so a body written after its head shows as a second read.
    pub async fn exchange(&mut self, head: &str, body: &[u8]) -> Arrival {
        socket2::SockRef::from(&self.stream)
            .set_tcp_quickack(false)
            .expect("TCP_QUICKACK");
        self.send_head(head, body.len()).await;
        self.send_body(body).await;
        self.read_response(head).await
    }

    /// Half-closes the connection: the server reads the end of the stream, the client can
    /// still read the answer.
    pub async fn finish_sending(&mut self) {
        self.stream.shutdown().await.expect("half-close");
    }

    /// Reads one whole response, or `None` if the server closes the connection without
    /// one.
    pub async fn read_response_or_close(&mut self, request: &str) -> Option<Arrival> {
        let mut received = Vec::new();
        loop {
            let mut buf = vec![0; 1 << 16];
            let n = tokio::time::timeout(Duration::from_secs(30), self.stream.read(&mut buf))
                .await
                .expect("a response or a close within 30 s")
                .unwrap_or(0);
            if n == 0 {
                assert!(
                    received.is_empty(),
                    "{request}: the connection closed mid-response: {}",
                    String::from_utf8_lossy(&received)
                );
                return None;
            }
            received.extend_from_slice(&buf[..n]);
            if let Some((status, body)) = complete_response(&received, request) {
                return Some(Arrival {
                    status,
                    whole_in_first_read: false,
                    body,
                });
            }
        }
    }

    /// Reads one whole response.
    pub async fn read_response(&mut self, request: &str) -> Arrival {
        let mut received = Vec::new();
        let mut reads = 0;
        loop {
            let mut buf = vec![0; 1 << 16];
            let n = tokio::time::timeout(Duration::from_secs(30), self.stream.read(&mut buf))
                .await
                .expect("a response within 30 s")
                .expect("read");
            assert!(n > 0, "the host closed the connection after {request}");
            received.extend_from_slice(&buf[..n]);
            reads += 1;
            if let Some((status, body)) = complete_response(&received, request) {
                return Arrival {
                    status,
                    whole_in_first_read: reads == 1,
                    body,
                };
            }
        }
    }
}

/// The status and body, once `received` holds a whole response (its head and
/// `Content-Length` bytes of body).
fn complete_response(received: &[u8], request: &str) -> Option<(u16, Vec<u8>)> {
    let end = received.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().expect("a numeric Content-Length"));
    let length = match (status, length) {
        (204 | 304, _) => 0,
        (_, Some(length)) => length,
        // Without a length the end of the body cannot be known from the bytes alone.
        (_, None) => panic!("{request}: response {status} has no Content-Length"),
    };
    (received.len() >= end + length).then(|| (status, received[end..end + length].to_vec()))
}

/// A `multipart/form-data` body with [`BOUNDARY`], as a browser sends one.
pub fn multipart(registration: &Registration) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in [
        ("name", &registration.name),
        ("email", &registration.email),
        ("phone", &registration.phone),
        ("position_id", &registration.position_id),
    ] {
        if let Some(value) = value {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
    }
    if let Some((field, bytes)) = &registration.photo {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The head of a registration request with `token`.
pub fn registration_head(token: &str) -> String {
    format!(
        "POST /api/v1/users HTTP/1.1\r\nToken: {token}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}"
    )
}
