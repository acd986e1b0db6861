//! Reading a registration's `multipart/form-data` body with its limits enforced while
//! reading: the photo is kept only up to 5 MiB, and nothing past [`BODY_LIMIT`] is parsed.
//!
//! An oversized body is read on and thrown away up to [`DRAIN_LIMIT`] before the answer,
//! because a server that answers and closes with the upload unread makes the client's
//! TCP stack reset the connection, and the client never sees the contract's 422.
//!
//! Every part's headers must end within [`PART_HEADERS_LIMIT`]: multer looks for the end
//! of a part's headers from their start each time more data arrives, so one header of
//! megabytes cost it quadratic time (0.5 s for 11 MiB). [`PartHeaders`] watches the bytes
//! as they pass, in linear time, and stops the body at the limit.
//!
//! A body is acted on only once it has arrived in full: after the closing boundary the rest
//! is read to its end, which is where a server reports a body cut short (fewer bytes than its
//! `Content-Length`, a chunked body without its last chunk). A complete form whose client
//! then half-closes is refused, never registered.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use domain::registration::{PHOTO_MAX_BYTES, PhotoError, RegistrationForm};
use futures_util::Stream;

use crate::ApiError;

/// Largest body parsed: a maximal photo plus generous room for the text fields. Past this
/// the photo counts as too large.
pub const BODY_LIMIT: u64 = 12 * 1024 * 1024;
/// Largest body drained (read and discarded) so the client gets a clean answer; a body
/// declared larger is answered at once.
pub const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// Longest headers of one part: a `Content-Disposition` with a long file name and a
/// `Content-Type` take a few hundred bytes.
pub const PART_HEADERS_LIMIT: usize = 16 * 1024;

/// A part's headers went past [`PART_HEADERS_LIMIT`].
#[derive(Debug)]
struct PartHeadersTooLong;

impl std::fmt::Display for PartHeadersTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a part's headers are longer than {PART_HEADERS_LIMIT} bytes"
        )
    }
}

impl std::error::Error for PartHeadersTooLong {}

/// Finds where each part's headers start (after a boundary delimiter line) and end (the
/// first blank line), across chunk boundaries, and fails when they run past
/// [`PART_HEADERS_LIMIT`].
struct PartHeaders {
    /// `CRLF--boundary`: a delimiter (the body's first one follows a virtual CRLF).
    delimiter: Vec<u8>,
    /// Bytes of the current part's headers so far; `None` between parts.
    in_headers: Option<usize>,
    /// The end of the data seen so far that a pattern may continue from.
    tail: Vec<u8>,
    /// The closing delimiter was seen: the rest is epilogue.
    closed: bool,
}

impl PartHeaders {
    fn new(boundary: &str) -> Self {
        Self {
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            in_headers: None,
            tail: b"\r\n".to_vec(),
            closed: false,
        }
    }

    fn watch(&mut self, chunk: &[u8]) -> Result<(), PartHeadersTooLong> {
        if self.closed {
            return Ok(());
        }
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(chunk);
        let mut at = 0;
        loop {
            match self.in_headers {
                Some(seen) => match memchr::memmem::find(&window[at..], b"\r\n\r\n") {
                    Some(end) => {
                        self.in_headers = None;
                        at += end + 4;
                    }
                    None => {
                        let seen = seen + window.len() - at;
                        if seen > PART_HEADERS_LIMIT {
                            return Err(PartHeadersTooLong);
                        }
                        // Keep the last 3 bytes, which the next window counts again: the
                        // blank line may be split.
                        let keep = window.len().saturating_sub(3).max(at);
                        self.in_headers = Some(seen - (window.len() - keep));
                        self.tail = window[keep..].to_vec();
                        return Ok(());
                    }
                },
                None => match memchr::memmem::find(&window[at..], &self.delimiter) {
                    Some(found) => {
                        let after = at + found + self.delimiter.len();
                        match window.get(after..after + 2) {
                            Some(b"--") => {
                                self.closed = true;
                                return Ok(());
                            }
                            Some(_) => {
                                self.in_headers = Some(0);
                                at = after;
                            }
                            // Whether it closes the body is in the next chunk.
                            None => {
                                self.tail = window[at + found..].to_vec();
                                return Ok(());
                            }
                        }
                    }
                    None => {
                        let keep = window.len().saturating_sub(self.delimiter.len()).max(at);
                        self.tail = window[keep..].to_vec();
                        return Ok(());
                    }
                },
            }
        }
    }
}

/// The body went past [`BODY_LIMIT`].
#[derive(Debug)]
struct BodyTooLarge;

impl std::fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request body larger than {BODY_LIMIT} bytes")
    }
}

impl std::error::Error for BodyTooLarge {}

/// Passes chunks through up to [`BODY_LIMIT`]; past it, drains the rest (up to
/// [`DRAIN_LIMIT`]) without keeping it and then fails with [`BodyTooLarge`].
struct Capped<S> {
    inner: Pin<Box<S>>,
    seen: u64,
    draining: bool,
    headers: PartHeaders,
}

impl<S, E> Stream for Capped<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let next = match self.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(next) => next,
            };
            match next {
                Some(Ok(chunk)) => {
                    self.seen += chunk.len() as u64;
                    if !self.draining && self.seen <= BODY_LIMIT {
                        if let Err(e) = self.headers.watch(&chunk) {
                            return Poll::Ready(Some(Err(std::io::Error::other(e))));
                        }
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    self.draining = true;
                    if self.seen > DRAIN_LIMIT {
                        return Poll::Ready(Some(Err(std::io::Error::other(BodyTooLarge))));
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(std::io::Error::other(e)))),
                None if self.draining => {
                    return Poll::Ready(Some(Err(std::io::Error::other(BodyTooLarge))));
                }
                None => return Poll::Ready(None),
            }
        }
    }
}

/// The body as multer reads it, shared so that what multer leaves unread after the closing
/// boundary can still be read to the end.
struct Shared<S>(Arc<Mutex<Capped<S>>>);

impl<S, E> Stream for Shared<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut capped = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Pin::new(&mut *capped).poll_next(cx)
    }
}

/// The answer for a body that did not arrive in full.
const INCOMPLETE: &str = "The request body did not arrive in full.";
/// The answer for a body that is not multipart as its type says.
const NOT_MULTIPART: &str = "The request body is not valid multipart/form-data.";

/// A registration as uploaded.
#[derive(Debug)]
pub struct Upload {
    /// The text fields.
    pub form: RegistrationForm,
    /// The photo bytes (`photo`, or `file` as another name), or why there are none.
    pub photo: Result<Vec<u8>, PhotoError>,
}

impl Upload {
    fn empty(photo: PhotoError) -> Self {
        Self {
            form: RegistrationForm::default(),
            photo: Err(photo),
        }
    }
}

/// Reads `body` as the registration form. A body that is not multipart at all has no
/// fields (so every field is reported missing); a broken multipart body is a 400.
pub async fn read_registration<S, E>(
    content_type: Option<&str>,
    content_length: Option<u64>,
    body: S,
) -> Result<Upload, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    if content_length.is_some_and(|len| len > DRAIN_LIMIT) {
        return Ok(Upload::empty(PhotoError::TooLarge));
    }
    let Some(boundary) = content_type.and_then(|ct| multer::parse_boundary(ct).ok()) else {
        return Ok(Upload::empty(PhotoError::Missing));
    };
    let body = Arc::new(Mutex::new(Capped {
        inner: Box::pin(body),
        seen: 0,
        draining: false,
        headers: PartHeaders::new(&boundary),
    }));
    let mut multipart = multer::Multipart::new(Shared(Arc::clone(&body)), boundary);

    let mut form = RegistrationForm::default();
    let mut photo: Option<Result<Vec<u8>, PhotoError>> = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return stopped(e, form),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let slot = match name.as_str() {
            "name" => &mut form.name,
            "email" => &mut form.email,
            "phone" => &mut form.phone,
            "position_id" => &mut form.position_id,
            "photo" | "file" if photo.is_none() => {
                let mut bytes = Vec::new();
                let mut too_large = false;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) if !too_large => {
                            if bytes.len() + chunk.len() > PHOTO_MAX_BYTES {
                                too_large = true;
                                bytes = Vec::new();
                            } else {
                                bytes.extend_from_slice(&chunk);
                            }
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(e) => return stopped(e, form),
                    }
                }
                photo = Some(match (too_large, bytes.is_empty()) {
                    (true, _) => Err(PhotoError::TooLarge),
                    // A file input left empty still sends the part, with no bytes.
                    (false, true) => Err(PhotoError::Missing),
                    (false, false) => Ok(bytes),
                });
                continue;
            }
            _ => {
                // Unknown or repeated fields are read past, not kept.
                while let Ok(Some(_)) = field.chunk().await {}
                continue;
            }
        };
        let text = match field.text().await {
            Ok(text) => text,
            Err(e) => return stopped(e, form),
        };
        if slot.is_none() {
            *slot = Some(text);
        }
    }
    drop(multipart);
    let seen = read_to_end(Shared(Arc::clone(&body))).await?;
    if content_length.is_some_and(|declared| declared != seen) {
        return Err(ApiError::MalformedBody(INCOMPLETE));
    }
    Ok(Upload {
        form,
        photo: photo.unwrap_or(Err(PhotoError::Missing)),
    })
}

/// Reads what is left of the body (normally nothing: the closing boundary was its end) and
/// returns how many bytes it had in all; an error if it did not end cleanly.
async fn read_to_end<S, E>(mut rest: Shared<S>) -> Result<u64, ApiError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    while let Some(chunk) = futures_util::StreamExt::next(&mut rest).await {
        chunk.map_err(|_| ApiError::MalformedBody(INCOMPLETE))?;
    }
    Ok(rest.0.lock().unwrap_or_else(PoisonError::into_inner).seen)
}

/// Reading stopped early: too much data means the photo was too large; a body the server
/// could not deliver did not arrive in full; anything else is a malformed body.
fn stopped(error: multer::Error, form: RegistrationForm) -> Result<Upload, ApiError> {
    match &error {
        multer::Error::StreamReadFailed(source) => {
            let cause = source
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref());
            let too_large = cause.is_some_and(|inner| inner.is::<BodyTooLarge>());
            if cause.is_some_and(|inner| inner.is::<PartHeadersTooLong>()) {
                Err(ApiError::MalformedBody(NOT_MULTIPART))
            } else if too_large {
                Ok(Upload {
                    form,
                    photo: Err(PhotoError::TooLarge),
                })
            } else {
                Err(ApiError::MalformedBody(INCOMPLETE))
            }
        }
        _ => Err(ApiError::MalformedBody(NOT_MULTIPART)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    const BOUNDARY: &str = "XyZ";

    fn part(name: &str, value: &[u8]) -> Vec<u8> {
        let mut out =
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"").into_bytes();
        if name == "photo" || name == "file" {
            out.extend_from_slice(b"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg");
        }
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
        out
    }

    fn body(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out: Vec<u8> = parts.iter().flat_map(|(n, v)| part(n, v)).collect();
        out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        out
    }

    /// Feeds `bytes` in 64 KiB chunks, as a network would.
    fn read(bytes: Vec<u8>) -> Result<Upload, ApiError> {
        let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        futures_executor::block_on(read_registration(
            Some(&content_type),
            None,
            stream::iter(chunks),
        ))
    }

    #[test]
    fn all_fields_and_the_photo_are_read() {
        let upload = read(body(&[
            ("name", b"Ann"),
            ("email", b"ann@example.com"),
            ("phone", b"+380501234567"),
            ("position_id", b"2"),
            ("photo", b"\xFF\xD8\xFFjpeg"),
        ]))
        .unwrap();
        assert_eq!(upload.form.name.as_deref(), Some("Ann"));
        assert_eq!(upload.form.position_id.as_deref(), Some("2"));
        assert_eq!(upload.photo.unwrap(), b"\xFF\xD8\xFFjpeg");
    }

    #[test]
    fn file_is_another_name_for_photo() {
        let upload = read(body(&[("file", b"data")])).unwrap();
        assert_eq!(upload.photo.unwrap(), b"data");
    }

    #[test]
    fn a_missing_or_empty_photo_is_missing() {
        assert_eq!(
            read(body(&[("name", b"Ann")])).unwrap().photo,
            Err(PhotoError::Missing)
        );
        assert_eq!(
            read(body(&[("photo", b"")])).unwrap().photo,
            Err(PhotoError::Missing)
        );
    }

    #[test]
    fn a_photo_over_5_mib_is_too_large_and_later_fields_still_count() {
        let big = vec![0u8; PHOTO_MAX_BYTES + 1];
        let upload = read(body(&[("photo", &big), ("name", b"Ann")])).unwrap();
        assert_eq!(upload.photo, Err(PhotoError::TooLarge));
        assert_eq!(upload.form.name.as_deref(), Some("Ann"));

        let exact = vec![0u8; PHOTO_MAX_BYTES];
        assert_eq!(
            read(body(&[("photo", &exact)]))
                .unwrap()
                .photo
                .unwrap()
                .len(),
            PHOTO_MAX_BYTES
        );
    }

    #[test]
    fn a_body_past_the_limit_stops_reading() {
        let huge = vec![0u8; BODY_LIMIT as usize + 1];
        let upload = read(body(&[("name", b"Ann"), ("other", &huge)])).unwrap();
        assert_eq!(upload.photo, Err(PhotoError::TooLarge));
    }

    #[test]
    fn a_declared_length_past_the_drain_limit_is_refused_unread() {
        let polled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&polled);
        let body = stream::poll_fn(move |_| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            std::task::Poll::Ready(None::<Result<Bytes, std::io::Error>>)
        });
        let upload = futures_executor::block_on(read_registration(
            Some("multipart/form-data; boundary=x"),
            Some(DRAIN_LIMIT + 1),
            body,
        ))
        .unwrap();
        assert_eq!(upload.photo, Err(PhotoError::TooLarge));
        assert!(!polled.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn an_oversized_body_is_drained_to_its_end_before_the_answer() {
        let chunks = 20 * 16; // 20 MiB in 64 KiB chunks
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&served);
        let mut head = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n\r\n").into_bytes();
        head.resize(64 * 1024, 0);
        let body = stream::iter((0..chunks).map(move |i| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, std::io::Error>(if i == 0 {
                Bytes::from(head.clone())
            } else {
                Bytes::from(vec![0u8; 64 * 1024])
            })
        }));
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        let upload =
            futures_executor::block_on(read_registration(Some(&content_type), None, body)).unwrap();
        assert_eq!(upload.photo, Err(PhotoError::TooLarge));
        assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), chunks);
    }

    #[test]
    fn a_non_multipart_body_has_no_fields() {
        let upload = futures_executor::block_on(read_registration(
            Some("application/json"),
            None,
            stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from_static(b"{}"))]),
        ))
        .unwrap();
        assert!(upload.form.name.is_none());
        assert_eq!(upload.photo, Err(PhotoError::Missing));
    }

    /// Reads `bytes` as one chunk, declared as `declared` bytes long, and then, if given,
    /// the stream fails with `then_error`, as a server reports a body cut short.
    fn read_arrival(
        bytes: Vec<u8>,
        declared: Option<u64>,
        then_error: Option<&str>,
    ) -> Result<Upload, ApiError> {
        let mut chunks = vec![Ok(Bytes::from(bytes))];
        chunks.extend(then_error.map(|e| Err(std::io::Error::other(e.to_owned()))));
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        futures_executor::block_on(read_registration(
            Some(&content_type),
            declared,
            stream::iter(chunks),
        ))
    }

    fn did_not_arrive(result: &Result<Upload, ApiError>) -> bool {
        matches!(result, Err(ApiError::MalformedBody(INCOMPLETE)))
    }

    #[test]
    fn a_complete_form_in_a_body_shorter_than_declared_is_refused() {
        let bytes = body(&[("name", b"Ann"), ("photo", b"jpeg bytes")]);
        let declared = bytes.len() as u64 + 100;
        let result = read_arrival(bytes, Some(declared), None);
        assert!(did_not_arrive(&result), "{result:?}");
    }

    #[test]
    fn a_body_that_fails_after_its_closing_boundary_is_refused() {
        // How a server reports a chunked body whose last chunk never came: the data
        // stream ends in an error (WASI 0.2) or in failed trailers (WASI 0.3).
        let bytes = body(&[("name", b"Ann"), ("photo", b"jpeg bytes")]);
        let result = read_arrival(bytes, None, Some("connection closed mid-body"));
        assert!(did_not_arrive(&result), "{result:?}");
    }

    #[test]
    fn a_body_of_exactly_its_declared_length_is_read() {
        let bytes = body(&[("name", b"Ann"), ("photo", b"jpeg bytes")]);
        let declared = bytes.len() as u64;
        let upload = read_arrival(bytes, Some(declared), None).unwrap();
        assert_eq!(upload.form.name.as_deref(), Some("Ann"));
    }

    #[test]
    fn a_body_that_fails_mid_form_did_not_arrive_in_full() {
        let mut bytes = part("name", b"Ann");
        bytes.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\nhalf a ph"
            )
            .as_bytes(),
        );
        let result = read_arrival(bytes, None, Some("connection reset"));
        assert!(did_not_arrive(&result), "{result:?}");
    }

    #[test]
    fn part_headers_past_the_limit_stop_the_body_early() {
        let mut bytes =
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; X: ")
                .into_bytes();
        bytes.resize(11 * 1024 * 1024, b'a');
        let chunks_served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&chunks_served);
        let chunks: Vec<Bytes> = bytes
            .chunks(64 * 1024)
            .map(Bytes::copy_from_slice)
            .collect();
        let body = stream::iter(chunks.into_iter().map(move |c| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, std::io::Error>(c)
        }));
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        let result = futures_executor::block_on(read_registration(Some(&content_type), None, body));
        assert!(
            matches!(result, Err(ApiError::MalformedBody(NOT_MULTIPART))),
            "{result:?}"
        );
        // Stopped at the first chunk past 16 KiB, not after 11 MiB.
        assert_eq!(chunks_served.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn part_headers_are_found_across_chunk_boundaries() {
        let long_name = "n".repeat(PART_HEADERS_LIMIT / 2);
        let mut bytes = part(&long_name, b"x");
        bytes.extend(body(&[("name", b"Ann"), ("photo", b"jpeg")]));
        // Every split point, one byte at a time at the start, then larger pieces.
        for size in [1, 2, 3, 5, 7, 64, 4096] {
            let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
                .chunks(size)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
            let upload = futures_executor::block_on(read_registration(
                Some(&content_type),
                None,
                stream::iter(chunks),
            ))
            .unwrap_or_else(|e| panic!("chunks of {size}: {e:?}"));
            assert_eq!(upload.form.name.as_deref(), Some("Ann"), "chunks of {size}");
            assert_eq!(upload.photo.as_deref().ok(), Some(&b"jpeg"[..]));
        }
    }

    #[test]
    fn a_long_epilogue_after_the_closing_boundary_is_not_a_header() {
        let mut bytes = body(&[("name", b"Ann")]);
        bytes.extend(vec![b'e'; PART_HEADERS_LIMIT * 2]);
        let upload = read(bytes).unwrap();
        assert_eq!(upload.form.name.as_deref(), Some("Ann"));
    }

    #[test]
    fn a_broken_multipart_body_is_malformed() {
        let mut bytes = part("name", b"Ann");
        bytes.extend_from_slice(b"garbage without a closing boundary");
        assert!(matches!(read(bytes), Err(ApiError::MalformedBody(_))));
    }
}
