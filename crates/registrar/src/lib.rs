//! `POST /api/v1/users`: registration, checked in the contract's order (token, fields,
//! uniqueness) and made atomic by one SQL insert, performed by its deadline or not at all.
//!
//! Served by the `registration` component in the WASI 0.3 build (reached from `users`
//! through service chaining) and by `users` itself in the WASI 0.2 build (docs/design.md,
//! "Reads never wait behind photos").
//!
//! With `photo_store = key-value` (the default) the photo is stored before the user row so
//! a user never lacks one; if the insert does not take effect, the photo is deleted again.
//! With `photo_store = database` the photo and the user are one statement. The token's
//! single use is the UNIQUE `users.registration_token` column, written by that same insert.
//!
//! The deadline (`registration_deadline_seconds`) runs from the request's arrival. Every
//! step before the writes is abandoned when it passes (WASI 0.3), or, where the guest
//! cannot leave a host call (a WASI 0.2 store call blocks), its late result is discarded.
//! A photo written late is deleted again. The insert carries the deadline into the
//! database, which writes nothing once its clock has passed it. So past the deadline the
//! answer is `503` with nothing written and the token unused: a client that gave up may
//! always send the same request again (docs/design.md, "One deadline per registration").

use std::time::Duration;

use api::wire::CreatedBody;
use api::{ApiError, Reply};
use domain::FieldErrors;
use domain::deadline::Deadline;
use domain::fields::{parse_integer, present};
use domain::photo_file::PhotoFile;
use domain::registration::{Registration, UNKNOWN_POSITION};
use domain::token::{PresentedToken, TokenKey};
use http::StatusCode;
use http_body_util::BodyDataStream;
use platform::Request;
use storage::{Database, NewUser, PhotoHome, PhotoStore, StoreError};

mod limits;
mod optimize;

use crate::limits::Limits;
use crate::optimize::optimize;

/// Registers the user `request` describes, or says why not in the contract's terms.
pub async fn create_user(request: Request) -> Result<Reply, ApiError> {
    let limits = Limits::read().await;
    let deadline = Deadline::after(platform::unix_millis(), limits.deadline);
    let checked = in_time(deadline, check(request, &limits, deadline))
        .await
        .ok_or(ApiError::DeadlinePassed("before its writes"))??;
    let user_id = write(checked, deadline).await?;
    Ok(api::json(
        StatusCode::CREATED,
        &CreatedBody {
            success: true,
            user_id,
            message: "New user successfully registered",
        },
    ))
}

/// A registration that passed every check, with its optimised photo: what is written.
struct Checked {
    db: Database,
    token_key: TokenKey,
    registration: Registration,
    email_key: String,
    jpeg: Vec<u8>,
}

/// Everything before the writes, in the contract's order; reads only, so abandoning it at
/// any point leaves nothing behind.
async fn check(request: Request, limits: &Limits, deadline: Deadline) -> Result<Checked, ApiError> {
    let (parts, body) = request.into_parts();

    // 1. Token: before reading the body, so an unauthorised upload costs nothing.
    let token_key = valid_token(&parts.headers).await?;
    let db = Database::open(
        &platform::setting(platform::vars::DATABASE_URL).await?,
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
    let body_time = deadline
        .remaining_before(platform::unix_millis(), limits.writes_reserve())
        .map_or(Duration::ZERO, |left| left.min(limits.body));
    let upload = platform::within(
        body_time,
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

    // 3. Uniqueness: checked now so a duplicate costs no TinyPNG call; the insert checks
    //    again, atomically.
    let email_key = registration.email.unique_key();
    if db
        .identity_taken(&email_key, registration.phone.as_ref())
        .await?
    {
        return Err(ApiError::UserExists);
    }

    // 4. The photo, optimised in the time left before the writes' share.
    let budget = deadline.remaining_before(platform::unix_millis(), limits.writes_reserve());
    let jpeg = optimize(thumbnail, budget).await;
    Ok(Checked {
        db,
        token_key,
        registration,
        email_key,
        jpeg,
    })
}

/// Writes the checked registration by `deadline`: its photo, then its user (or both in one
/// statement). The new user's id, or why nothing was registered.
async fn write(checked: Checked, deadline: Deadline) -> Result<i64, ApiError> {
    let Checked {
        db,
        token_key,
        registration,
        email_key,
        jpeg,
    } = checked;
    let file = PhotoFile::from_random(platform::random_bytes()?);
    let user = new_user(registration, email_key, &file, &token_key);
    let (inserted, photos) = match platform::photo_home().await? {
        PhotoHome::Database => (
            db.insert_user_with_photo(&user, &jpeg, deadline.unix_millis())
                .await,
            None,
        ),
        PhotoHome::KeyValue => {
            let photos = put_photo(&file, &jpeg, deadline).await?;
            (
                db.insert_user(&user, deadline.unix_millis()).await,
                Some(photos),
            )
        }
    };
    let outcome = outcome(&db, inserted, &file, &token_key).await;
    if let (Outcome::NotWritten(_), Some(photos)) = (&outcome, &photos) {
        remove_photo(photos, &file).await;
    }
    match outcome {
        Outcome::Registered(id) => Ok(id),
        // A photo whose user the database cannot confirm stays: an orphan the maintenance
        // check finds, where removing it could leave a user without a photo.
        Outcome::NotWritten(error) | Outcome::Unknown(error) => Err(error),
    }
}

/// Writes the photo to the `photos` store, by `deadline`. A write still pending then is
/// abandoned (WASI 0.3) and one that answers late (a WASI 0.2 store call the guest cannot
/// leave) is not kept: either way the photo is deleted again, on the same store
/// connection, after the write.
async fn put_photo(
    file: &PhotoFile,
    jpeg: &[u8],
    deadline: Deadline,
) -> Result<PhotoStore, ApiError> {
    let photos = PhotoStore::open(platform::kv_layout().await?)
        .await
        .map_err(refused)?;
    match in_time(deadline, photos.put(file.as_str(), jpeg)).await {
        Some(Ok(())) => Ok(photos),
        Some(Err(refusal)) => Err(refused(refusal)),
        None => {
            remove_photo(&photos, file).await;
            Err(ApiError::DeadlinePassed("writing the photo"))
        }
    }
}

/// `step`'s output if it comes before `deadline`; `None` if it comes later or not at all
/// (then it is dropped unfinished).
async fn in_time<T>(deadline: Deadline, step: impl Future<Output = T>) -> Option<T> {
    let left = deadline.remaining(platform::unix_millis())?;
    let output = platform::within(left, step).await.ok()?;
    // A blocking host call (WASI 0.2) returns whenever it does: check again.
    deadline.remaining(platform::unix_millis()).map(|_| output)
}

/// What became of a registration's insert.
enum Outcome {
    /// The user exists, with this id.
    Registered(i64),
    /// No user was written: the error to answer.
    NotWritten(ApiError),
    /// The database cannot say: the error to answer.
    Unknown(ApiError),
}

/// Whether `inserted` took effect. The insert's own answer is not enough: it may have come
/// back late and empty (the database's clock had passed the deadline, so it wrote nothing),
/// or as an error after the row was written (a connection lost on the way back). The user
/// with this request's photo says which.
async fn outcome(
    db: &Database,
    inserted: Result<(), StoreError>,
    file: &PhotoFile,
    token_key: &TokenKey,
) -> Outcome {
    if let Err(StoreError::Conflict(_)) = inserted {
        // A lost race, to this token's other use or to the same email or phone: the
        // statement failed whole.
        return Outcome::NotWritten(match db.token_used(token_key.as_str()).await {
            Ok(true) => ApiError::TokenExpired,
            Ok(false) => ApiError::UserExists,
            Err(e) => e.into(),
        });
    }
    match db.user_id_by_photo(file.as_str()).await {
        Ok(Some(id)) => Outcome::Registered(id),
        Ok(None) => Outcome::NotWritten(match inserted {
            Ok(()) => ApiError::DeadlinePassed("in the database"),
            Err(refusal) => refused(refusal),
        }),
        Err(e) => Outcome::Unknown(e.into()),
    }
}

/// Deletes the photo of a registration that wrote no user. Its failure is logged: the
/// photo is then an orphan the maintenance check finds.
async fn remove_photo(photos: &PhotoStore, file: &PhotoFile) {
    if let Err(e) = photos.delete(file.as_str()).await {
        eprintln!(
            "could not remove the photo {} of a registration that wrote no user: {e:#}",
            file.as_str()
        );
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
