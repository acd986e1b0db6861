//! Seeds and maintains a running deployment over HTTP, with its `seed_key`: [`seed`] through
//! `POST /api/v1/seed`, in batches the endpoint accepts; [`photo_audit`] and
//! [`remove_orphans`] through `/api/v1/maintenance/photos`.

#![warn(missing_docs)]

use anyhow::{Context, bail};

/// Most users one seed request may create (the endpoint's limit).
pub const MAX_BATCH: u64 = 1000;

/// Creates `total` users at `base_url` (e.g. `https://app.example.com`) with `key`, `batch`
/// per request; calls `progress` with the running total after each request. Returns how
/// many were created.
pub fn seed(
    base_url: &str,
    key: &str,
    total: u64,
    batch: u64,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<u64> {
    if batch == 0 || batch > MAX_BATCH {
        bail!("batch must be between 1 and {MAX_BATCH}");
    }
    let agent = agent();
    let url = format!("{}/api/v1/seed", base_url.trim_end_matches('/'));
    let mut created = 0;
    while created < total {
        let count = batch.min(total - created);
        let response = agent
            .post(&url)
            .query("count", count.to_string())
            .header("Seed-Key", key)
            .send_empty()
            .with_context(|| format!("calling {url}"))?;
        let body = answer(&url, response, 201)?;
        let made = body["users_created"]
            .as_u64()
            .context("the answer has no users_created")?;
        if made == 0 {
            bail!("the deployment created no users in a batch of {count}");
        }
        created += made;
        progress(created);
    }
    Ok(created)
}

/// Most photos one removal request may name (the endpoint's limit).
pub const MAX_REMOVALS: usize = 1000;

/// The photo store as the maintenance endpoint sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoAudit {
    /// Photos stored.
    pub photos: u64,
    /// Stored photos no user has.
    pub orphans: Vec<String>,
}

/// What a removal did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    /// Orphans removed.
    pub removed: Vec<String>,
    /// Named photos kept: a user has them (by now), or they are not photo names.
    pub kept: Vec<String>,
}

/// Lists the photos at `base_url` that no user has.
pub fn photo_audit(base_url: &str, key: &str) -> anyhow::Result<PhotoAudit> {
    let url = maintenance_url(base_url);
    let response = agent()
        .get(&url)
        .header("Seed-Key", key)
        .call()
        .with_context(|| format!("calling {url}"))?;
    let body = answer(&url, response, 200)?;
    Ok(PhotoAudit {
        photos: body["photos"]
            .as_u64()
            .context("the answer has no photos")?,
        orphans: names(&body["orphans"]).context("the answer has no orphans")?,
    })
}

/// Removes those of `orphans` that no user has when the deployment gets to them, in
/// batches the endpoint accepts.
pub fn remove_orphans(base_url: &str, key: &str, orphans: &[String]) -> anyhow::Result<Removal> {
    let url = maintenance_url(base_url);
    let agent = agent();
    let mut removal = Removal::default();
    for batch in orphans.chunks(MAX_REMOVALS) {
        let response = agent
            .post(&url)
            .header("Seed-Key", key)
            .send_json(serde_json::json!({ "remove": batch }))
            .with_context(|| format!("calling {url}"))?;
        let body = answer(&url, response, 200)?;
        removal
            .removed
            .extend(names(&body["removed"]).context("the answer has no removed")?);
        removal
            .kept
            .extend(names(&body["kept"]).context("the answer has no kept")?);
    }
    Ok(removal)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn maintenance_url(base_url: &str) -> String {
    format!(
        "{}/api/v1/maintenance/photos",
        base_url.trim_end_matches('/')
    )
}

/// The JSON body of an answer with the `expected` status, or an error with the
/// deployment's message.
fn answer(
    url: &str,
    mut response: ureq::http::Response<ureq::Body>,
    expected: u16,
) -> anyhow::Result<serde_json::Value> {
    let status = response.status().as_u16();
    let body: serde_json::Value = response
        .body_mut()
        .read_json()
        .with_context(|| format!("reading the answer of {url} (status {status})"))?;
    if status != expected {
        let message = body["message"].as_str().unwrap_or("no message");
        bail!("{url} answered {status}: {message}");
    }
    Ok(body)
}

fn names(value: &serde_json::Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|name| name.as_str().map(str::to_owned))
        .collect()
}
