//! `GET|POST /api/v1/maintenance/photos`: photos no user has, found and removed.
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

use api::wire::{PhotoAuditBody, PhotosRemovedBody};
use api::{ApiError, Reply};
use domain::photo_file::PhotoFile;
use http::{Method, StatusCode};
use http_body_util::{BodyExt as _, Limited};
use platform::{Request, vars};
use serde::Deserialize;
use storage::{Database, PhotoStore};

/// Most photos one removal request may name.
const MAX_REMOVALS: usize = 1000;
/// A removal body naming [`MAX_REMOVALS`] photos fits well within this.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// `POST` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Removal {
    remove: Vec<String>,
}

pub async fn photos(request: Request) -> Result<Reply, ApiError> {
    let db = Database::open(
        &platform::setting(vars::DATABASE_URL).await?,
        platform::postgres_ca_root,
    )
    .await?;
    let photos = PhotoStore::open().await?;
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

    let removal = read_removal(request).await?;
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

async fn read_removal(request: Request) -> Result<Removal, ApiError> {
    const NOT_A_REMOVAL: ApiError = ApiError::MalformedBody(
        "The body must be JSON: {\"remove\": [photo file names]}, at most 1000 of them.",
    );
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|_| NOT_A_REMOVAL)?
        .to_bytes();
    let removal: Removal = serde_json::from_slice(&body).map_err(|_| NOT_A_REMOVAL)?;
    if removal.remove.len() > MAX_REMOVALS {
        return Err(NOT_A_REMOVAL);
    }
    Ok(removal)
}
