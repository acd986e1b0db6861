//! The operator endpoints, all behind `Seed-Key` (without a configured `seed_key` none of
//! them exists; nor with one too short or a placeholder, which is logged once per
//! instance):
//!
//! - `POST /api/v1/seed?count=45`: CONTRACT.md, "Seed". Creates the predefined positions if
//!   missing and `count` fake users who all share one bundled 70x70 photo.
//! - `GET|POST /api/v1/maintenance/photos`: finds and removes photos no user has, and
//!   moves photos between the key-value store and the database ([`maintenance`]).

mod fakes;
mod maintenance;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use api::query::QueryParams;
use api::wire::SeededBody;
use api::{ApiError, Reply};
use domain::FieldErrors;
use domain::fields::{parse_integer, present};
use domain::photo_file::PhotoFile;
use domain::secret::OperatorKey;
use http::{Method, StatusCode};
use platform::Request;
use platform::vars;
use storage::{Cache, Database, POSITIONS_CACHE_KEY, PhotoHome, PhotoStore, Position};

/// Users created when `count` is not given.
const DEFAULT_COUNT: i64 = 45;
/// Most users one request may create.
const MAX_COUNT: i64 = 1000;
/// The photo every seeded user shares.
const STANDARD_PHOTO: &[u8] = include_bytes!("../assets/standard-photo.jpeg");
/// Fakes may collide with existing emails or phones and be skipped; up to this many batches
/// make up for that.
const ATTEMPTS_PER_USER: u32 = 3;

/// The contract's predefined positions.
fn predefined_positions() -> Vec<Position> {
    [
        (1, "Lawyer"),
        (2, "Content manager"),
        (3, "Security"),
        (4, "Designer"),
    ]
    .into_iter()
    .map(|(id, name)| Position {
        id,
        name: name.to_owned(),
    })
    .collect()
}

platform::http_entry!(route);

/// The path of the photo maintenance endpoint.
const MAINTENANCE_PHOTOS_PATH: &str = "/api/v1/maintenance/photos";

async fn route(request: Request) -> Result<Reply, ApiError> {
    let key = operator_key().await.ok_or(ApiError::PageNotFound)?;
    let path = request.uri().path().trim_end_matches('/').to_owned();
    let methods: &'static [Method] = match path.as_str() {
        "/api/v1/seed" => &[Method::POST],
        MAINTENANCE_PHOTOS_PATH => &[Method::GET, Method::POST],
        _ => return Err(ApiError::PageNotFound),
    };
    api::allow(request.method(), methods)?;
    let given = request
        .headers()
        .get("seed-key")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !key.matches(given) {
        return Err(ApiError::Forbidden);
    }
    if path == MAINTENANCE_PHOTOS_PATH {
        maintenance::photos(request).await
    } else {
        seed(request).await
    }
}

/// The configured `seed_key`, if one is set that can be a secret.
async fn operator_key() -> Option<OperatorKey> {
    /// Whether this instance has said why its `seed_key` is refused.
    static SAID: AtomicBool = AtomicBool::new(false);
    let secret = platform::setting_or(vars::SEED_KEY, "").await;
    if secret.trim().is_empty() {
        return None;
    }
    OperatorKey::from_secret(&secret)
        .inspect_err(|problem| {
            if !SAID.swap(true, Ordering::Relaxed) {
                eprintln!("seed_key refused ({problem}): the operator endpoints stay off");
            }
        })
        .ok()
}

async fn seed(request: Request) -> Result<Reply, ApiError> {
    let count = requested_count(QueryParams::of(request.uri()).get("count"))?;

    let db = Database::open(
        &platform::setting(vars::DATABASE_URL).await?,
        platform::postgres_ca_root,
    )
    .await?;
    let positions = predefined_positions();
    db.ensure_positions(&positions).await?;
    Cache::open(platform::kv_layout().await?)
        .await?
        .invalidate(POSITIONS_CACHE_KEY)
        .await?;

    // Stored before the users who have it; every seed stores the same bytes under the
    // same name, so a seed whose insert fails leaves only what the next one would write.
    let photo = PhotoFile::for_content(STANDARD_PHOTO);
    match platform::photo_home().await? {
        PhotoHome::Database => {
            db.put_photo_if_missing(photo.as_str(), STANDARD_PHOTO)
                .await?
        }
        PhotoHome::KeyValue => {
            let photos = PhotoStore::open(platform::kv_layout().await?).await?;
            if !photos.exists(photo.as_str()).await? {
                photos.put(photo.as_str(), STANDARD_PHOTO).await?;
            }
        }
    }

    let created = insert_fakes(&db, count, &positions, &photo).await?;
    Ok(api::json(
        StatusCode::CREATED,
        &SeededBody {
            success: true,
            message: format!("{created} users created"),
            users_created: created,
        },
    ))
}

/// Inserts `count` fake users: all at once in one statement (all its rows or none), then,
/// for fakes whose email or phone happened to exist, a smaller batch of new ones, up to
/// [`ATTEMPTS_PER_USER`] rounds. No transaction spans the batches: the instance's database
/// connection is shared by its concurrent requests and only ever runs single statements.
async fn insert_fakes(
    db: &Database,
    count: i64,
    positions: &[Position],
    photo: &PhotoFile,
) -> Result<u64, ApiError> {
    let wanted = count.unsigned_abs();
    let now = i64::try_from(platform::unix_now()).unwrap_or(i64::MAX);
    let mut created = 0u64;
    for _ in 0..ATTEMPTS_PER_USER {
        let missing = wanted.saturating_sub(created);
        if missing == 0 {
            break;
        }
        let batch = distinct_fakes(missing, positions, photo, now);
        created += db.insert_users_if_new(&batch).await?;
    }
    Ok(created)
}

/// `count` fake users with no email or phone twice among them (a statement inserting the
/// same email twice would fail as a whole).
fn distinct_fakes(
    count: u64,
    positions: &[Position],
    photo: &PhotoFile,
    now: i64,
) -> Vec<storage::NewUser> {
    let mut emails = HashSet::new();
    let mut phones = HashSet::new();
    let mut batch = Vec::new();
    // Collisions between fakes are rare; the bound only guards against a degenerate
    // generator.
    for _ in 0..count.saturating_mul(2) {
        if batch.len() as u64 == count {
            break;
        }
        let user = fakes::user(positions, photo, now);
        if !emails.contains(&user.email_key) && !phones.contains(&user.phone) {
            emails.insert(user.email_key.clone());
            phones.insert(user.phone.clone());
            batch.push(user);
        }
    }
    batch
}

/// `count`: an integer from 1 to 1000, 45 when absent.
fn requested_count(raw: Option<&str>) -> Result<i64, ApiError> {
    let Some(raw) = present(raw) else {
        return Ok(DEFAULT_COUNT);
    };
    let mut errors = FieldErrors::new();
    match parse_integer(raw) {
        None => errors.add("count", "The count must be an integer."),
        Some(n) if n < 1 => errors.add("count", "The count must be at least 1."),
        Some(n) if n > MAX_COUNT => errors.add("count", "The count may not be greater than 1000."),
        Some(n) => return Ok(n),
    }
    Err(ApiError::Validation(errors))
}
