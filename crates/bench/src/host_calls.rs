//! Host calls per request, by endpoint and build: what each read asks of the platform.
//!
//! Under Spin a Spin API call (SQLite, key-value, variables) is handed to another thread,
//! so it is the largest cost a read can avoid. The repository's host counts every import a
//! guest calls (`spin-host up --count-host-calls`); the same `.wasm` makes the same calls
//! under Spin, so the counts hold there too. Each endpoint gets one request to warm up (a
//! WASI 0.3 instance is then reused), then [`REQUESTS`] more, one at a time; the table
//! gives the difference between the host's totals before and after, per request.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};

use crate::host::Host;
use crate::rows::{Calls, HostCallRow};

/// Requests per endpoint, after the warm-up one.
const REQUESTS: u32 = 20;

/// Counts the calls of each `(label, path)` GET on both builds, serving `state` (a
/// seeded state folder with its `runtime-config.toml`; it is used as it is).
pub fn count(
    wasi03: (&Path, &Path),
    wasi02: (&Path, &Path),
    app_variables: &[(&str, String)],
    endpoints: &[(String, String)],
) -> anyhow::Result<Vec<HostCallRow>> {
    let on_wasi03 = count_on(wasi03, app_variables, endpoints)?;
    let on_wasi02 = count_on(wasi02, app_variables, endpoints)?;
    Ok(endpoints
        .iter()
        .zip(on_wasi03.into_iter().zip(on_wasi02))
        .map(|((label, _), (wasi03, wasi02))| HostCallRow {
            label: label.clone(),
            wasi03,
            wasi02,
        })
        .collect())
}

/// Each endpoint's calls per request on the app `(manifest, state)`.
fn count_on(
    (manifest, state): (&Path, &Path),
    app_variables: &[(&str, String)],
    endpoints: &[(String, String)],
) -> anyhow::Result<Vec<Calls>> {
    let host = Host::start_with(
        manifest,
        state,
        Some(&state.join("runtime-config.toml")),
        app_variables,
        &["--count-host-calls"],
        "/api/v1/positions",
    )?;
    let agent = ureq::Agent::new_with_defaults();
    let get = |path: &str| -> anyhow::Result<()> {
        let mut response = agent
            .get(&format!("{}{path}", host.base))
            .call()
            .with_context(|| format!("GET {path}"))?;
        if response.status() != 200 {
            bail!("GET {path}: {}", response.status());
        }
        response.body_mut().read_to_vec()?;
        Ok(())
    };
    let mut counted = Vec::new();
    for (_, path) in endpoints {
        get(path)?;
        let before = host.host_call_totals()?;
        for _ in 0..REQUESTS {
            get(path)?;
        }
        let after = host.host_call_totals()?;
        counted.push(per_request(&before, &after, REQUESTS));
    }
    Ok(counted)
}

/// The calls made between two totals, per request.
fn per_request(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    requests: u32,
) -> Calls {
    after
        .iter()
        .filter_map(|(name, &total)| {
            let made = total - before.get(name).copied().unwrap_or(0);
            (made > 0).then(|| (name.clone(), made as f64 / f64::from(requests)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_per_request_from_two_totals() {
        let before = BTreeMap::from([("a".to_owned(), 3), ("b".to_owned(), 1)]);
        let after = BTreeMap::from([
            ("a".to_owned(), 23),
            ("b".to_owned(), 1),
            ("c".to_owned(), 5),
        ]);
        let calls = per_request(&before, &after, 10);
        assert_eq!(
            calls,
            BTreeMap::from([("a".to_owned(), 2.0), ("c".to_owned(), 0.5)])
        );
    }
}
