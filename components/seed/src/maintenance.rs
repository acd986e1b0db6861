//! `GET|POST /api/v1/maintenance/photos`: photos no user has, found and removed; and
//! photos moved between the `photos` key-value store and the database.
//!
//! A registration stores its photo before it inserts its user, so that no user ever lacks
//! a photo. A registration that dies between the two — its host killed, its database gone
//! mid-request — leaves a stored photo no user names: an orphan. `GET` lists the orphans;
//! `POST {"remove": [...]}` removes those of the named photos that no user has *then*.
//!
//! A registration in flight names its photo milliseconds after storing it, so a photo can
//! look orphaned for that long. The caller therefore waits between listing and removing
//! (`usersbypage-seed repair` waits a minute by default): what is still unnamed after the
//! wait was left by a request that is no longer running.
//!
//! `POST {"move_to": "database" | "key-value", "limit": 100}` moves up to `limit` photos
//! into that store from the other, for a deployment that changes `photo_store` (set it
//! first: new photos then go to the new store, and the photos component reads both). Each
//! photo is copied, then removed from where it was, so a request that dies half-way leaves a
//! photo in both stores, never in neither; the next request finishes it. The answer says
//! whether anything is left to move (`done`): send the request until it is. Photos no user
//! has are not moved into the database, where the orphan check does not look: they stay
//! for it to remove.

use api::wire::{PhotoAuditBody, PhotosMovedBody, PhotosRemovedBody};
use api::{ApiError, Reply};
use domain::photo_file::PhotoFile;
use http::{Method, StatusCode};
use http_body_util::{BodyExt as _, Limited};
use platform::{Request, vars};
use serde::Deserialize;
use storage::{Database, PhotoHome, PhotoStore};

/// Most photos one removal request may name.
const MAX_REMOVALS: usize = 1000;
/// A removal body naming [`MAX_REMOVALS`] photos fits well within this.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Photos one move request moves when it names no `limit`, and at most.
const DEFAULT_MOVES: u32 = 100;
const MAX_MOVES: u32 = 500;

/// `POST` body: a removal or a move.
#[derive(Deserialize)]
#[serde(untagged)]
enum Job {
    Removal(Removal),
    Move(Move),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Removal {
    remove: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Move {
    move_to: String,
    /// Absent: [`DEFAULT_MOVES`]; `null` is not a number and is refused.
    #[serde(default = "default_moves")]
    limit: u32,
}

fn default_moves() -> u32 {
    DEFAULT_MOVES
}

pub async fn photos(request: Request) -> Result<Reply, ApiError> {
    let db = Database::open(
        &platform::setting(vars::DATABASE_URL).await?,
        platform::postgres_ca_root,
    )
    .await?;
    let photos = PhotoStore::open(platform::kv_layout().await?).await?;
    if request.method() == Method::GET {
        let names = photos.names().await?;
        let mut orphans = Vec::new();
        for name in &names {
            if !db.photo_in_use(name).await? {
                orphans.push(name.clone());
            }
        }
        orphans.sort();
        return Ok(api::json(
            StatusCode::OK,
            &PhotoAuditBody {
                success: true,
                photos: names.len() as u64,
                orphans,
            },
        ));
    }

    let removal = match read_job(request).await? {
        Job::Removal(removal) => removal,
        Job::Move(to) => return move_photos(&db, &photos, to).await,
    };
    let (mut removed, mut kept) = (Vec::new(), Vec::new());
    for name in removal.remove {
        // Only names of our shape are photos; anything else is left alone.
        let orphan = PhotoFile::parse(&name).is_some() && !db.photo_in_use(&name).await?;
        if orphan {
            photos.delete(&name).await?;
            removed.push(name);
        } else {
            kept.push(name);
        }
    }
    Ok(api::json(
        StatusCode::OK,
        &PhotosRemovedBody {
            success: true,
            removed,
            kept,
        },
    ))
}

/// Moves up to the job's `limit` photos into the store it names, from the other one.
async fn move_photos(db: &Database, kv: &PhotoStore, job: Move) -> Result<Reply, ApiError> {
    let to = PhotoHome::from_setting(&job.move_to)
        .ok()
        .filter(|_| !job.move_to.trim().is_empty())
        .ok_or(NOT_A_JOB)?;
    if !(1..=MAX_MOVES).contains(&job.limit) {
        return Err(NOT_A_JOB);
    }
    let limit = job.limit as usize;
    let mut moved = Vec::new();
    let done = match to {
        PhotoHome::Database => {
            let mut names = kv.names().await?;
            names.sort_unstable();
            let mut rest = names.into_iter();
            for name in rest.by_ref() {
                if PhotoFile::parse(&name).is_none() || !db.photo_in_use(&name).await? {
                    continue;
                }
                if let Some(jpeg) = kv.get(&name).await? {
                    db.put_photo_if_missing(&name, &jpeg).await?;
                    kv.delete(&name).await?;
                    moved.push(name);
                }
                if moved.len() == limit {
                    break;
                }
            }
            rest.next().is_none()
        }
        PhotoHome::KeyValue => {
            let batch = db.first_photos(limit as u32).await?;
            let done = batch.len() < limit;
            for (name, jpeg) in batch {
                kv.put(&name, &jpeg).await?;
                db.delete_photo(&name).await?;
                moved.push(name);
            }
            done
        }
    };
    Ok(api::json(
        StatusCode::OK,
        &PhotosMovedBody {
            success: true,
            moved_to: to.as_str(),
            moved,
            done,
        },
    ))
}

const NOT_A_JOB: ApiError = ApiError::MalformedBody(
    "The body must be JSON: {\"remove\": [photo file names]} (at most 1000), or {\"move_to\": \"database\" or \"key-value\", \"limit\": 1 to 500}.",
);

async fn read_job(request: Request) -> Result<Job, ApiError> {
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|_| NOT_A_JOB)?
        .to_bytes();
    let job: Job = serde_json::from_slice(&body).map_err(|_| NOT_A_JOB)?;
    if let Job::Removal(removal) = &job
        && removal.remove.len() > MAX_REMOVALS
    {
        return Err(NOT_A_JOB);
    }
    Ok(job)
}
