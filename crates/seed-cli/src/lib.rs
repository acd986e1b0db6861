//! Seeds a running deployment through `POST /api/v1/seed`, in batches the endpoint
//! accepts, reporting progress after each.

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
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/api/v1/seed", base_url.trim_end_matches('/'));
    let mut created = 0;
    while created < total {
        let count = batch.min(total - created);
        let mut response = agent
            .post(&url)
            .query("count", count.to_string())
            .header("Seed-Key", key)
            .send_empty()
            .with_context(|| format!("calling {url}"))?;
        let status = response.status().as_u16();
        let body: serde_json::Value = response
            .body_mut()
            .read_json()
            .with_context(|| format!("reading the answer of {url} (status {status})"))?;
        if status != 201 {
            let message = body["message"].as_str().unwrap_or("no message");
            bail!("{url} answered {status}: {message}");
        }
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
