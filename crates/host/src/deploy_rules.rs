//! What a platform refuses to deploy or start, checked before anything runs: by the host at
//! load under `--platform`, and by `spin-host deploy-check` before a deploy.
//!
//! Each rule is the platform's own, with its reason as the platform gives it where its tool
//! says it in words (Fermyon Cloud's `cloud` plugin, `src/commands/deploy.rs`), or as its
//! documentation states the limit (Akamai Functions' key-value guide and "Quotas and
//! limits"; the containerd shim's embedded Spin).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;

use crate::manifest::Manifest;
use crate::outbound::chaining_target;
use crate::platform::{KeyValueLabels, Platform};

/// The HTTP world a component exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpWorld {
    /// `wasi:http/handler@0.3.0`: spin-sdk 7, served by Spin ≥ 4.1 only.
    Wasi03,
    /// `wasi:http/incoming-handler@0.2.x`: spin-sdk 5, served by Spin 2 and later.
    Wasi02,
}

impl HttpWorld {
    /// The world `wasm`'s exports name, if it exports an HTTP handler.
    pub fn of(wasm: &[u8]) -> anyhow::Result<Option<Self>> {
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            if let wasmparser::Payload::ComponentExportSection(exports) = payload? {
                for export in exports {
                    let name = export?.name.name;
                    if name.starts_with("wasi:http/handler@0.3") {
                        return Ok(Some(Self::Wasi03));
                    }
                    if name.starts_with("wasi:http/incoming-handler@0.2") {
                        return Ok(Some(Self::Wasi02));
                    }
                }
            }
        }
        Ok(None)
    }
}

/// What the rules look at in one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentFacts {
    pub id: String,
    pub key_value_stores: Vec<String>,
    pub sqlite_databases: Vec<String>,
    /// Whether `allowed_outbound_hosts` names another component (`*.spin.internal`), which
    /// Spin records as the host requirement `local_service_chaining`.
    pub service_chaining: bool,
    /// `None` when the `.wasm` is not built yet.
    pub world: Option<HttpWorld>,
    /// The `.wasm`'s size; `None` when it is not built yet.
    pub bytes: Option<u64>,
}

/// What the rules look at in an application about to be deployed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppFacts {
    pub components: Vec<ComponentFacts>,
    /// Each variable's value: given, or else the manifest's default.
    pub variables: BTreeMap<String, String>,
    /// Variables the manifest requires that were given no value.
    pub unset_required: Vec<String>,
    /// The labels the deployment links or defines (`kv:LABEL`, `sqlite:NAME`); `None`
    /// when it says nothing of them (the platform then prompts, or provides them).
    pub provided: Option<BTreeSet<String>>,
}

impl AppFacts {
    /// The facts of `manifest` with `variables` given, its components read from disk (a
    /// component not built yet has no world or size).
    pub fn read(manifest: &Manifest, variables: &BTreeMap<String, String>) -> anyhow::Result<Self> {
        let mut components = Vec::new();
        for (id, decl) in &manifest.components {
            let path = manifest.root.join(&decl.source);
            let (world, bytes) = match std::fs::read(&path) {
                Ok(wasm) => (
                    HttpWorld::of(&wasm).with_context(|| format!("reading {}", path.display()))?,
                    Some(wasm.len() as u64),
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            };
            components.push(ComponentFacts {
                id: id.clone(),
                key_value_stores: decl.key_value_stores.clone(),
                sqlite_databases: decl.sqlite_databases.clone(),
                service_chaining: decl
                    .allowed_outbound_hosts
                    .iter()
                    .any(|pattern| names_a_component(pattern)),
                world,
                bytes,
            });
        }
        let mut values = BTreeMap::new();
        let mut unset_required = Vec::new();
        for (name, decl) in &manifest.variables {
            match variables.get(name).or(decl.default.as_ref()) {
                Some(value) => {
                    values.insert(name.clone(), value.clone());
                }
                None => unset_required.push(name.clone()),
            }
        }
        Ok(Self {
            components,
            variables: values,
            unset_required,
            provided: None,
        })
    }

    /// Every `kv:LABEL` and `sqlite:NAME` some component is granted.
    pub fn labels(&self) -> BTreeSet<String> {
        self.components
            .iter()
            .flat_map(|c| {
                let kv = c.key_value_stores.iter().map(|l| format!("kv:{l}"));
                let sqlite = c.sqlite_databases.iter().map(|n| format!("sqlite:{n}"));
                kv.chain(sqlite)
            })
            .collect()
    }
}

/// Whether an `allowed_outbound_hosts` pattern names a component of the application
/// (`http://registration.spin.internal`, or all of them: `http://*.spin.internal`).
pub fn names_a_component(pattern: &str) -> bool {
    let host = pattern.split_once("://").map_or(pattern, |(_, rest)| rest);
    let host = host.split(['/', ':']).next().unwrap_or(host);
    chaining_target(host).is_some()
}

/// Why `platform` would refuse to deploy or start the application: one line per reason,
/// none if it would take it.
pub fn refusals(platform: Platform, app: &AppFacts) -> Vec<String> {
    let mut why = Vec::new();
    let title = platform.title();

    if !platform.has_service_chaining() && app.components.iter().any(|c| c.service_chaining) {
        why.push(format!(
            "This app requires features that are not yet available on {title}: \
             local_service_chaining (an allowed_outbound_hosts entry names *.spin.internal)"
        ));
    }
    let wasi03: Vec<String> = app
        .components
        .iter()
        .filter(|c| c.world == Some(HttpWorld::Wasi03))
        .map(|c| format!("`{}`", c.id))
        .collect();
    if !platform.serves_wasi03() && !wasi03.is_empty() {
        let (noun, verb) = if wasi03.len() == 1 {
            ("component", "exports")
        } else {
            ("components", "export")
        };
        why.push(format!(
            "{noun} {} {verb} wasi:http/handler@0.3.0 (WASI 0.3, spin-sdk 7), which only \
             Spin ≥ 4.1 serves; {title} serves WASI 0.2: deploy the WASI 0.2 build",
            wasi03.join(", ")
        ));
    }
    match platform.key_value_labels() {
        KeyValueLabels::DefaultOnly => {
            for c in &app.components {
                for label in c.key_value_stores.iter().filter(|l| *l != "default") {
                    why.push(format!(
                        "component `{}` is granted key-value store `{label}`: on {title} the \
                         only label allowed is `default`",
                        c.id
                    ));
                }
            }
        }
        labels @ (KeyValueLabels::Linked | KeyValueLabels::RuntimeConfig) => {
            if let Some(provided) = &app.provided {
                for label in app.labels().difference(provided) {
                    why.push(if labels == KeyValueLabels::Linked {
                        format!(
                            "No link specified for label '{}' (spin cloud deploy --link {label}=NAME)",
                            label.split_once(':').map_or(label.as_str(), |(_, l)| l)
                        )
                    } else {
                        format!("`{label}` is not defined in the runtime config")
                    });
                }
            }
        }
    }
    if !platform.has_sqlite() {
        for c in &app.components {
            for name in &c.sqlite_databases {
                why.push(format!(
                    "component `{}` is granted SQLite database `{name}`: {title} does not \
                     support SQLite",
                    c.id
                ));
            }
        }
        if let Some(url) = app.variables.get("database_url")
            && !url.starts_with("postgres://")
        {
            why.push(format!(
                "database_url is `{}`: {title} has no SQLite, so it must be a postgres:// URL",
                redacted(url)
            ));
        }
    }
    if let Some(limit) = platform.max_application_bytes() {
        let total: u64 = app.components.iter().filter_map(|c| c.bytes).sum();
        if total > limit {
            why.push(format!(
                "the application's components are {} MiB: {title} deploys at most {} MiB",
                total >> 20,
                limit >> 20
            ));
        }
    }
    if !app.unset_required.is_empty() {
        let names = app.unset_required.join(", ");
        why.push(match platform {
            Platform::FermyonCloud => format!(
                "The application requires values for the following variable(s) which have \
                 not been set: {names}. Use the --variable flag to provide values."
            ),
            _ => format!(
                "no provider resolved required variable(s): {names} (give each with --variable)"
            ),
        });
    }
    why
}

/// `url` with any password replaced, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The manifest's components' `.wasm` files that are missing, for a message.
pub fn unbuilt(app: &AppFacts) -> Vec<&str> {
    app.components
        .iter()
        .filter(|c| c.bytes.is_none())
        .map(|c| c.id.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(id: &str, kv: &[&str], sqlite: &[&str]) -> ComponentFacts {
        ComponentFacts {
            id: id.to_owned(),
            key_value_stores: kv.iter().map(|s| (*s).to_owned()).collect(),
            sqlite_databases: sqlite.iter().map(|s| (*s).to_owned()).collect(),
            service_chaining: false,
            world: Some(HttpWorld::Wasi02),
            bytes: Some(1 << 20),
        }
    }

    fn app(components: Vec<ComponentFacts>, database_url: &str) -> AppFacts {
        AppFacts {
            components,
            variables: BTreeMap::from([("database_url".to_owned(), database_url.to_owned())]),
            ..AppFacts::default()
        }
    }

    #[test]
    fn akamai_functions_takes_only_the_default_store_and_no_sqlite() {
        let separate = app(
            vec![component("users", &["tokens", "photos"], &["default"])],
            "sqlite:default",
        );
        let why = refusals(Platform::AkamaiFunctions, &separate);
        assert_eq!(why.len(), 4, "{why:#?}");
        assert!(why[0].contains("`tokens`") && why[0].contains("only label allowed is `default`"));
        assert!(why[2].contains("SQLite database `default`"));
        assert!(why[3].contains("must be a postgres:// URL"));

        let single = app(
            vec![component("users", &["default"], &[])],
            "postgres://u:secret@db:5432/x",
        );
        assert_eq!(
            refusals(Platform::AkamaiFunctions, &single),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_password_is_never_printed() {
        let facts = app(vec![], "mysql://u:secret@db/x");
        let why = refusals(Platform::AkamaiFunctions, &facts).join("\n");
        assert!(!why.contains("secret") && why.contains("***"), "{why}");
    }

    #[test]
    fn fermyon_cloud_refuses_service_chaining_and_wants_a_link_per_label() {
        let mut chaining = component("users", &[], &["default"]);
        chaining.service_chaining = true;
        let mut facts = app(
            vec![chaining, component("token", &["default"], &[])],
            "sqlite:default",
        );
        facts.provided = Some(BTreeSet::from(["kv:default".to_owned()]));
        let why = refusals(Platform::FermyonCloud, &facts);
        assert_eq!(
            why,
            [
                "This app requires features that are not yet available on Fermyon Cloud: \
                 local_service_chaining (an allowed_outbound_hosts entry names *.spin.internal)",
                "No link specified for label 'default' (spin cloud deploy --link sqlite:default=NAME)",
            ]
        );
    }

    #[test]
    fn no_platform_serves_a_wasi03_component_and_akamai_counts_megabytes() {
        let mut big = component("users", &["default"], &[]);
        big.world = Some(HttpWorld::Wasi03);
        big.bytes = Some(51 << 20);
        let facts = app(vec![big], "postgres://db/x");
        for platform in crate::platform::PLATFORMS {
            assert!(
                refusals(platform, &facts)[0].contains("WASI 0.3"),
                "{platform:?}"
            );
        }
        assert!(refusals(Platform::AkamaiFunctions, &facts)[1].contains("51 MiB"));
    }

    #[test]
    fn required_variables_without_a_value_are_named() {
        let mut facts = app(vec![], "postgres://db/x");
        facts.unset_required = vec!["postgres_host".to_owned()];
        assert!(refusals(Platform::FermyonCloud, &facts)[0].contains(
            "following variable(s) which have not been set: postgres_host. Use the --variable flag"
        ));
        assert!(refusals(Platform::SpinKube, &facts)[0].contains("postgres_host"));
    }

    #[test]
    fn component_hosts_are_told_from_the_others() {
        for pattern in [
            "http://registration.spin.internal",
            "http://*.spin.internal",
            "https://registration.spin.internal:443/path",
        ] {
            assert!(names_a_component(pattern), "{pattern}");
        }
        for pattern in [
            "postgres://127.0.0.1:5432",
            "https://api.tinify.com",
            "http://a.b.spin.internal",
        ] {
            assert!(!names_a_component(pattern), "{pattern}");
        }
    }
}
