//! `spin-host deploy-check PLATFORM [MANIFEST]`: before anything is deployed, what the
//! platform would refuse of this application and configuration, and which of its
//! documented limits the app meets first. It takes the platform's own deploy flags
//! (`--from`, `--variable`, `--link`, …), so a guide's deploy command can be checked by
//! passing it its arguments.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::budgets::{self, Metered, Shape};
use crate::deploy_rules::{self, AppFacts};
use crate::manifest::Manifest;
use crate::platform::Platform;

/// What to check: a platform, a manifest and what the deploy command would be given.
#[derive(Debug, Clone)]
pub struct Request {
    pub platform: Platform,
    /// The manifest, or a directory holding `spin.toml`.
    pub manifest: PathBuf,
    /// `--variable` values, in order (`NAME=VALUE`, `NAME=@FILE`, `@FILE.toml|json`).
    pub variables: Vec<String>,
    /// `--link kv:LABEL=STORE` / `sqlite:LABEL=DATABASE` (Fermyon Cloud); none: the
    /// platform prompts for each label.
    pub links: Vec<String>,
}

/// The check's outcome: the report, and whether the platform would take the application.
#[derive(Debug)]
pub struct Outcome {
    pub report: String,
    pub accepted: bool,
}

/// Reads `--variable` arguments as Spin and `spin aka deploy` do: the last value of a name
/// wins.
pub fn read_variables(args: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for arg in args {
        if let Some(file) = arg.strip_prefix('@') {
            values.extend(variables_file(Path::new(file))?);
        } else if let Some((name, value)) = arg.split_once('=') {
            let value = match value.strip_prefix('@') {
                Some(file) => std::fs::read_to_string(file)
                    .with_context(|| format!("reading --variable {name}=@{file}"))?,
                None => value.to_owned(),
            };
            values.insert(name.to_owned(), value);
        } else {
            bail!("variables must be in the form 'key=value' or '@file', not `{arg}`");
        }
    }
    Ok(values)
}

/// A variables file: a flat table of strings, in TOML or JSON as its extension says.
fn variables_file(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => toml::from_str(&text)
            .with_context(|| format!("Failed to parse TOML from {}", path.display())),
        Some("json") => serde_json::from_str(&text)
            .with_context(|| format!("Failed to parse JSON from {}", path.display())),
        _ => bail!(
            "variable files must end in .json or .toml: {}",
            path.display()
        ),
    }
}

/// The labels `--link` arguments link, as `kv:LABEL` / `sqlite:LABEL`.
fn linked(links: &[String]) -> anyhow::Result<BTreeSet<String>> {
    links
        .iter()
        .map(|link| {
            let (label, _) = link.split_once('=').filter(|(label, _)| {
                label.starts_with("kv:") || label.starts_with("sqlite:")
            }).with_context(|| {
                format!("Links must be of the form 'sqlite:label=database' or 'kv:label=store', not `{link}`")
            })?;
            Ok(label.to_owned())
        })
        .collect()
}

/// Checks `request`.
pub fn check(request: &Request) -> anyhow::Result<Outcome> {
    let path = if request.manifest.is_dir() {
        request.manifest.join("spin.toml")
    } else {
        request.manifest.clone()
    };
    let manifest = Manifest::load(&path)?;
    let variables = read_variables(&request.variables)?;
    let mut app = AppFacts::read(&manifest, &variables)?;
    if !request.links.is_empty() {
        app.provided = Some(linked(&request.links)?);
    }
    let platform = request.platform;
    let refusals = deploy_rules::refusals(platform, &app);

    let mut report = format!("{} · {}\n", platform.title(), path.display());
    let unbuilt = deploy_rules::unbuilt(&app);
    if !unbuilt.is_empty() {
        let _ = writeln!(
            report,
            "  not built yet (their WASI world and size unchecked): {}; `spin build -f {}` first",
            unbuilt.join(", "),
            path.display()
        );
    }
    if refusals.is_empty() {
        let _ = writeln!(
            report,
            "  would take it: none of its rules refuses this application"
        );
    } else {
        let _ = writeln!(report, "  would refuse it:");
        for why in &refusals {
            let _ = writeln!(report, "  - {why}");
        }
    }
    for caution in cautions(platform, &app) {
        let _ = writeln!(report, "  note: {caution}");
    }
    let shape = shape_of(&app);
    let _ = writeln!(report, "  {}", describe(shape));
    let limits = limits(platform, &app, shape);
    match limits.first() {
        None => {
            let _ = writeln!(
                report,
                "  limits: none documented; the app meets your database's and stores' first"
            );
        }
        Some(first) => {
            let _ = writeln!(report, "  binds first: {}", first.text);
            for later in &limits[1..] {
                let _ = writeln!(report, "  then: {}", later.text);
            }
        }
    }
    Ok(Outcome {
        report,
        accepted: refusals.is_empty(),
    })
}

/// What the counts depend on, from the application's variables.
fn shape_of(app: &AppFacts) -> Shape {
    let set = |name: &str| {
        app.variables
            .get(name)
            .is_some_and(|v| !v.trim().is_empty())
    };
    Shape {
        fresh_instances: !app
            .components
            .iter()
            .any(|c| c.world == Some(deploy_rules::HttpWorld::Wasi03)),
        photos_in_database: app.variables.get("photo_store").map(String::as_str)
            == Some("database"),
        signing_key: set("token_signing_key"),
        tinify: set("tinify_api_key"),
    }
}

fn describe(shape: Shape) -> String {
    let registration = registration(shape);
    format!(
        "a registration (budgets test): {} key-value writes, {} reads, {} SQL statements, {} outbound HTTP requests; photos in {}, {}",
        registration.kv_writes,
        registration.kv_reads,
        registration.sql_statements,
        registration.outbound_http,
        if shape.photos_in_database {
            "the database"
        } else {
            "key-value"
        },
        if shape.signing_key {
            "tokens signed with token_signing_key"
        } else {
            "no token_signing_key (the key is kept in key-value)"
        }
    )
}

fn registration(shape: Shape) -> Metered {
    budgets::per_request("POST /api/v1/users", shape).unwrap_or_default()
}

/// Warnings that are not refusals.
fn cautions(platform: Platform, app: &AppFacts) -> Vec<String> {
    let mut notes = Vec::new();
    let labels = app.labels();
    let stores = labels.iter().filter(|l| l.starts_with("kv:")).count();
    if platform == Platform::FermyonCloud {
        if stores > 1 {
            notes.push(format!(
                "{stores} key-value stores: Fermyon Cloud's FAQ says an application has at most \
                 one (its plugin links several since v0.7.0); spin-fermyon-cloud.toml uses one"
            ));
        }
        if labels.iter().any(|l| l.starts_with("sqlite:"))
            && app
                .variables
                .get("database_url")
                .is_some_and(|u| u.starts_with("sqlite:"))
        {
            notes.push(
                "an account has one SQLite database (Starter and Growth): this app's is it"
                    .to_owned(),
            );
        }
        if app
            .variables
            .get("database_url")
            .is_some_and(|u| u.starts_with("postgres://"))
        {
            notes.push(
                "whether PostgreSQL traffic counts toward the 500 outbound requests an hour, \
                 the FAQ does not say; if it does, every statement below counts"
                    .to_owned(),
            );
        }
    }
    notes
}

/// One documented limit, as it binds this configuration.
struct Limit {
    /// Registrations it allows within an hour at the most (a cap on all time counts
    /// whole): the order in which a burst of registrations meets the limits.
    registrations_an_hour: f64,
    text: String,
}

/// The documented limits this configuration meets, the first to bind first.
fn limits(platform: Platform, app: &AppFacts, shape: Shape) -> Vec<Limit> {
    let per = |endpoint: &str| budgets::per_request(endpoint, shape).unwrap_or_default();
    let registration = registration(shape);
    let mut limits = Vec::new();
    match platform {
        Platform::SpinKube => {}
        Platform::FermyonCloud => {
            if !shape.photos_in_database {
                // The photos' store also holds what shares it in the single layout.
                let single = app
                    .components
                    .iter()
                    .any(|c| c.key_value_stores.iter().any(|l| l == "default"));
                let others = if single {
                    1.0 + if shape.signing_key { 0.0 } else { 2.0 }
                } else {
                    0.0
                };
                let photos = 1_024.0 - others - 1.0;
                limits.push(Limit {
                    registrations_an_hour: photos,
                    text: format!(
                        "1,024 keys a key-value store: one photo each, about {} registrations in all, then 503 (set photo_store = database)",
                        thousands(photos)
                    ),
                });
            }
            if registration.outbound_http > 0.0 {
                let allowed = 500.0 / registration.outbound_http;
                limits.push(Limit {
                    registrations_an_hour: allowed,
                    text: format!(
                        "500 outbound requests an hour: {} TinyPNG-optimised registrations an hour; later ones keep the local JPEG (201)",
                        thousands(allowed)
                    ),
                });
            }
            limits.push(Limit {
                registrations_an_hour: 50_000.0,
                text: "100,000 request executions a month on Starter (1,000,000 on Growth), across the account: a registration is two (its token and the POST), 50,000 registrations a month at most".to_owned(),
            });
            limits.push(Limit {
                registrations_an_hour: 1_000.0 * 3_600.0 / 2.0,
                text: "1,000 requests a second".to_owned(),
            });
        }
        Platform::AkamaiFunctions => {
            if registration.kv_writes > 0.0 {
                let allowed = 50.0 / registration.kv_writes;
                limits.push(Limit {
                    registrations_an_hour: allowed * 3_600.0,
                    text: format!(
                        "50 key-value writes a second: {} registrations a second, then 503 with Retry-After",
                        thousands(allowed)
                    ),
                });
            }
            let reads: Vec<String> = budgets::ENDPOINTS
                .iter()
                .filter(|endpoint| per(endpoint).kv_reads > 0.0)
                .map(|endpoint| format!("{endpoint} {}", per(endpoint).kv_reads))
                .collect();
            if !reads.is_empty() {
                limits.push(Limit {
                    // Reads do not stop registrations; listed after them.
                    registrations_an_hour: f64::INFINITY,
                    text: format!(
                        "1,000 key-value reads a second reaching the app, a read each: {} (a CDN in front serves the rest)",
                        reads.join(", ")
                    ),
                });
            }
            limits.push(Limit {
                registrations_an_hour: f64::INFINITY,
                text: "128 MiB a request: a registration with a 12 MP photo peaks at 4.5 MiB (budgets test)".to_owned(),
            });
        }
    }
    limits.sort_by(|a, b| a.registrations_an_hour.total_cmp(&b.registrations_an_hour));
    limits
}

/// `n`, rounded down, with thousands separated by commas: 1,023.
fn thousands(n: f64) -> String {
    let digits = (n.max(0.0) as u64).to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_written_with_thousands_separated() {
        assert_eq!(thousands(1_023.0), "1,023");
        assert_eq!(thousands(250.0), "250");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
    }

    #[test]
    fn variables_come_as_spin_takes_them_the_last_winning() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("v.toml");
        std::fs::write(&toml, "a = \"from toml\"\nb = \"2\"\n").unwrap();
        let json = dir.path().join("v.json");
        std::fs::write(&json, r#"{"c": "3"}"#).unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret").unwrap();
        let values = read_variables(&[
            format!("@{}", toml.display()),
            "a=given".to_owned(),
            format!("@{}", json.display()),
            format!("d=@{}", secret.display()),
            "e=x=y".to_owned(),
        ])
        .unwrap();
        assert_eq!(values["a"], "given");
        assert_eq!(values["b"], "2");
        assert_eq!(values["c"], "3");
        assert_eq!(values["d"], "s3cret");
        assert_eq!(values["e"], "x=y");
        assert!(read_variables(&["nope".to_owned()]).is_err());
        assert!(read_variables(&["@v.yaml".to_owned()]).is_err());
    }

    #[test]
    fn links_are_read_as_the_cloud_plugin_writes_them() {
        let labels = linked(&[
            "kv:default=store".to_owned(),
            "sqlite:default=db".to_owned(),
        ]);
        assert_eq!(
            labels.unwrap(),
            BTreeSet::from(["kv:default".to_owned(), "sqlite:default".to_owned()])
        );
        assert!(linked(&["default=store".to_owned()]).is_err());
    }
}
