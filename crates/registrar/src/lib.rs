//! `POST /api/v1/users`: registration, checked in the contract's order (token, fields,
//! uniqueness) and made atomic by one SQL insert.
//!
//! Served by the `registration` component in the WASI 0.3 build (reached from `users`
//! through service chaining) and by `users` itself in the WASI 0.2 build (docs/design.md,
//! "Reads never wait behind photos").
//!
//! With `photo_store = key-value` (the default) the photo is stored before the user row so
//! a user never lacks one; if the insert loses a race, the photo is deleted again. With
//! `photo_store = database` the photo and the user are one statement. The token's single
//! use is the UNIQUE `users.registration_token` column, written by that same insert.

use std::time::Duration;

use api::wire::CreatedBody;
use api::{ApiError, Reply};
use domain::FieldErrors;
use domain::fields::{parse_integer, present};
use domain::photo_file::PhotoFile;
use domain::registration::{Registration, UNKNOWN_POSITION};
use domain::token::{PresentedToken, TokenKey};
use http::StatusCode;
use http_body_util::BodyDataStream;
use platform::Request;
use platform::vars;
use storage::{Database, NewUser, PhotoHome, PhotoStore, StoreError};

mod optimize;

use crate::optimize::optimize;

/// Registers the user `request` describes, or says why not in the contract's terms.
pub async fn create_user(request: Request) -> Result<Reply, ApiError> {
    let (parts, body) = request.into_parts();

    // 1. Token: before reading the body, so an unauthorised upload costs nothing.
    let token_key = valid_token(&parts.headers).await?;
    let db = Database::open(
        &platform::setting(vars::DATABASE_URL).await?,
        platform::postgres_ca_root,
    )
    .await?;
    if db.token_used(token_key.as_str()).await? {
        return Err(ApiError::TokenExpired);
    }

    // 2. Fields, all reported together.
    let header = |name: http::header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header(http::header::CONTENT_TYPE);
    let content_length = header(http::header::CONTENT_LENGTH).and_then(|l| l.parse().ok());
    let stream = futures_util::TryStreamExt::map_err(BodyDataStream::new(body), |e| {
        std::io::Error::other(format!("reading the request body: {e:?}"))
    });
    // The body has its time to arrive: a client that stalls does not hold an instance
    // and its buffers open for as long as it likes (Spin sets no timeout of its own).
    let upload = platform::within(
        body_timeout().await,
        api::multipart::read_registration(content_type.as_deref(), content_length, stream),
    )
    .await
    .map_err(|_| ApiError::BodyTimeout)??;

    let mut errors = FieldErrors::new();
    let registration = upload.form.parse().map_err(|e| errors.merge(e)).ok();
    if let Some(id) = present(upload.form.position_id.as_deref()).and_then(parse_integer)
        && !db.position_exists(id).await?
    {
        errors.add("position_id", UNKNOWN_POSITION);
    }
    let thumbnail = upload
        .photo
        .and_then(|bytes| photo::thumbnail(&bytes))
        .map_err(|e| errors.add("photo", e.message()))
        .ok();
    let (Some(registration), Some(thumbnail), true) = (registration, thumbnail, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors));
    };

    // 3. Uniqueness: checked now so a duplicate costs no TinyPNG call; the insert below
    //    checks again, atomically.
    let email_key = registration.email.unique_key();
    if db
        .identity_taken(&email_key, registration.phone.as_ref())
        .await?
    {
        return Err(ApiError::UserExists);
    }

    // 4. Photo and user.
    let jpeg = optimize(thumbnail).await;
    let file = PhotoFile::from_random(platform::random_bytes()?);
    let user = new_user(registration, email_key, &file, &token_key);
    let inserted = match platform::photo_home().await? {
        PhotoHome::Database => db.insert_user_with_photo(&user, &jpeg).await,
        PhotoHome::KeyValue => {
            let photos = PhotoStore::open().await.map_err(refused)?;
            photos.put(file.as_str(), &jpeg).await.map_err(refused)?;
            let inserted = db.insert_user(&user).await;
            if inserted.is_err() {
                remove_unused_photo(&db, &photos, &file).await;
            }
            inserted
        }
    };
    match inserted {
        Ok(()) => {}
        // Lost a race: to this token's other use, or to the same email/phone.
        Err(StoreError::Conflict(_)) if db.token_used(token_key.as_str()).await? => {
            return Err(ApiError::TokenExpired);
        }
        Err(StoreError::Conflict(_)) => return Err(ApiError::UserExists),
        // An error may still have come after the insert took effect (a connection lost on
        // the way back): only a user with this photo says which.
        Err(other) => {
            if !db.photo_in_use(file.as_str()).await? {
                return Err(refused(other));
            }
        }
    }
    // Registered: whatever fails from here is a 500, never an answer saying otherwise.
    let user_id = db.user_id_by_token(token_key.as_str()).await?;

    Ok(api::json(
        StatusCode::CREATED,
        &CreatedBody {
            success: true,
            user_id,
            message: "New user successfully registered",
        },
    ))
}

/// Removes the photo of a registration whose insert failed, once the database says no
/// user has it (the insert did not take effect after all). When the database cannot say,
/// the photo stays: an orphan the maintenance endpoint finds, where removing it could leave
/// a user without a photo.
async fn remove_unused_photo(db: &Database, photos: &PhotoStore, file: &PhotoFile) {
    match db.photo_in_use(file.as_str()).await {
        Ok(false) => {
            if let Err(e) = photos.delete(file.as_str()).await {
                eprintln!("could not remove the photo of a failed registration: {e:#}");
            }
        }
        Ok(true) => {}
        Err(e) => eprintln!(
            "kept the photo {} of a failed registration: the database cannot say whether it was registered ({e:#})",
            file.as_str()
        ),
    }
}

/// A store's refusal of a registration's write: nothing is registered (the photo written
/// before a refused insert is removed again), so the client may retry.
fn refused(error: StoreError) -> ApiError {
    match error {
        StoreError::Unavailable(cause) => ApiError::StoreRefused(cause),
        conflict @ StoreError::Conflict(_) => ApiError::StoreRefused(conflict.into()),
    }
}

/// How long a registration's body may take to arrive (`registration_body_timeout_seconds`).
async fn body_timeout() -> Duration {
    let seconds = platform::setting_or(vars::REGISTRATION_BODY_TIMEOUT_SECONDS, "").await;
    seconds
        .trim()
        .parse()
        .ok()
        .filter(|&s| s > 0)
        .map_or(DEFAULT_BODY_TIMEOUT, Duration::from_secs)
}

/// Time for a registration's body when `registration_body_timeout_seconds` is unset: 5 MiB
/// at 700 kbit/s, a slow mobile uplink.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// The single-use key of the request's token, if the token is ours and unexpired. Whether
/// it was used already is the database's to say.
async fn valid_token(headers: &http::HeaderMap) -> Result<TokenKey, ApiError> {
    let raw = headers
        .get("token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(ApiError::TokenRequired)?;
    let token = PresentedToken::parse(raw).ok_or(ApiError::TokenExpired)?;
    let key = token_keys::for_verifying(token.key_id())
        .await?
        .ok_or(ApiError::TokenExpired)?;
    token
        .verify(&key, platform::unix_now())
        .map_err(|_| ApiError::TokenExpired)
}

fn new_user(
    registration: Registration,
    email_key: String,
    photo: &PhotoFile,
    token: &TokenKey,
) -> NewUser {
    NewUser {
        name: registration.name.to_string(),
        email: registration.email.to_string(),
        email_key,
        phone: registration.phone.to_string(),
        position_id: registration.position_id.get(),
        registration_timestamp: i64::try_from(platform::unix_now()).unwrap_or(i64::MAX),
        photo: photo.as_str().to_owned(),
        registration_token: Some(token.as_str().to_owned()),
    }
}
