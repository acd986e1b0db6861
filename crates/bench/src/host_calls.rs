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

/// Requests per endpoint, after the warm-up one.
const REQUESTS: u32 = 20;

/// Calls per request by `package/interface.function`.
pub type Calls = BTreeMap<String, f64>;

/// One endpoint's calls on each build.
pub struct HostCallRow {
    pub label: String,
    /// WASI 0.3 build, a reused (warm) instance.
    pub wasi03: Calls,
    /// WASI 0.2 build, an instance per request.
    pub wasi02: Calls,
}

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

/// A table cell: the total, then the platform's (Spin API) calls by name and the WASI ones
/// as one figure, e.g. `13: sqlite.execute-async 1, variables.get 2 · WASI 10`.
pub fn summary(calls: &Calls) -> String {
    // Folded from 0.0: an empty `sum` of floats is -0.0.
    let total = calls.values().fold(0.0, |sum, n| sum + n);
    let (spin, wasi): (Vec<_>, Vec<_>) = calls
        .iter()
        .partition(|(name, _)| !name.starts_with("wasi:"));
    let wasi = wasi.iter().fold(0.0, |sum, (_, n)| sum + **n);
    let spin: Vec<String> = spin
        .iter()
        .map(|(name, n)| format!("{} {}", short_name(name), figure(**n)))
        .collect();
    let spin = if spin.is_empty() {
        "no Spin API call".to_owned()
    } else {
        spin.join(", ")
    };
    format!("{}: {spin} · WASI {}", figure(total), figure(wasi))
}

/// `spin:sqlite/sqlite.[method]connection.execute-async` → `sqlite.execute-async`.
fn short_name(name: &str) -> String {
    let after_package = name.rsplit_once('/').map_or(name, |(_, rest)| rest);
    let (interface, function) = after_package.split_once('.').unwrap_or(("", after_package));
    let function = function.rsplit_once('.').map_or(function, |(_, f)| f);
    format!("{interface}.{function}")
}

/// A count per request: whole when it is, else to two places.
fn figure(n: f64) -> String {
    if (n - n.round()).abs() < 0.005 {
        format!("{n:.0}")
    } else {
        format!("{n:.2}")
    }
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

    #[test]
    fn a_summary_names_the_spin_calls_and_sums_the_wasi_ones() {
        let calls = Calls::from([
            (
                "spin:sqlite/sqlite.[method]connection.execute-async".to_owned(),
                1.0,
            ),
            ("spin:variables/variables.get".to_owned(), 0.5),
            ("wasi:http/types.[method]request.get-method".to_owned(), 1.0),
            ("wasi:http/types.[static]response.new".to_owned(), 1.0),
        ]);
        assert_eq!(
            summary(&calls),
            "3.50: sqlite.execute-async 1, variables.get 0.50 · WASI 2"
        );
        assert_eq!(summary(&Calls::new()), "0: no Spin API call · WASI 0");
    }
}
