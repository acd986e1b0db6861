//! Reading a registration's `multipart/form-data` body with its limits enforced while
//! reading: the photo is kept only up to 5 MiB (the rest is drained, not stored) and the
//! whole body stops at [`BODY_LIMIT`].

use bytes::Bytes;
use domain::registration::{PHOTO_MAX_BYTES, PhotoError, RegistrationForm};
use futures_util::Stream;

use crate::ApiError;

/// Largest body read: a maximal photo plus generous room for the text fields. Past this
/// the upload stops and the photo counts as too large.
pub const BODY_LIMIT: u64 = 12 * 1024 * 1024;

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
    if content_length.is_some_and(|len| len > BODY_LIMIT) {
        return Ok(Upload::empty(PhotoError::TooLarge));
    }
    let Some(boundary) = content_type.and_then(|ct| multer::parse_boundary(ct).ok()) else {
        return Ok(Upload::empty(PhotoError::Missing));
    };
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(BODY_LIMIT));
    let mut multipart = multer::Multipart::with_constraints(body, boundary, constraints);

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
    Ok(Upload {
        form,
        photo: photo.unwrap_or(Err(PhotoError::Missing)),
    })
}

/// Reading stopped early: too much data means the photo was too large; anything else is
/// a malformed body.
fn stopped(error: multer::Error, form: RegistrationForm) -> Result<Upload, ApiError> {
    match error {
        multer::Error::StreamSizeExceeded { .. } => Ok(Upload {
            form,
            photo: Err(PhotoError::TooLarge),
        }),
        _ => Err(ApiError::MalformedBody(
            "The request body is not valid multipart/form-data.",
        )),
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
    fn a_declared_length_past_the_limit_is_refused_unread() {
        let never_polled = stream::iter(Vec::<Result<Bytes, std::io::Error>>::new());
        let upload = futures_executor::block_on(read_registration(
            Some("multipart/form-data; boundary=x"),
            Some(BODY_LIMIT + 1),
            never_polled,
        ))
        .unwrap();
        assert_eq!(upload.photo, Err(PhotoError::TooLarge));
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

    #[test]
    fn a_broken_multipart_body_is_malformed() {
        let mut bytes = part("name", b"Ann");
        bytes.extend_from_slice(b"garbage without a closing boundary");
        assert!(matches!(read(bytes), Err(ApiError::MalformedBody(_))));
    }
}
