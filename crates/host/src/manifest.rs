//! Reads a Spin application manifest (`spin.toml`, manifest version 2).
//!
//! Only the parts of the format this host implements are accepted. Every other key is refused
//! when the manifest is loaded, so an application never silently runs with a setting ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use serde::Deserialize;

/// The application as declared in `spin.toml`, validated.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// `[application].name`.
    pub name: String,
    /// The directory holding `spin.toml`; component sources are relative to it.
    pub root: PathBuf,
    /// `[variables]`, by name.
    pub variables: BTreeMap<String, VariableDecl>,
    /// `[[trigger.http]]`, in manifest order.
    pub routes: Vec<HttpTrigger>,
    /// `[component.<id>]`, by id.
    pub components: BTreeMap<String, ComponentDecl>,
}

/// One application variable (`[variables]`).
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// Used when no provider (the environment) has a value.
    pub default: Option<String>,
    /// With no default and no provided value, start-up fails.
    #[serde(default)]
    pub required: bool,
    /// Only affects logging here: secret values are never printed.
    #[serde(default)]
    pub secret: bool,
    /// Free text, ignored by the runtime.
    pub description: Option<String>,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpTrigger {
    /// The component the route maps to.
    pub component: String,
    /// `None` for a private route (`route = { private = true }`): reachable by no URL.
    pub route: Option<String>,
}

/// One `[component.<id>]` table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ComponentDecl {
    /// Path of the `.wasm` file, relative to the manifest directory.
    pub source: PathBuf,
    /// Patterns in Spin's `allowed_outbound_hosts` syntax (may contain `{{ variable }}`).
    pub allowed_outbound_hosts: Vec<String>,
    /// Key-value store labels the component may open.
    pub key_value_stores: Vec<String>,
    /// SQLite database names the component may open.
    pub sqlite_databases: Vec<String>,
    /// Component variables: name to template (`"{{ app_var }}"` or literal text).
    pub variables: BTreeMap<String, String>,
    /// Environment variables visible to the guest through `wasi:cli/environment`.
    pub environment: BTreeMap<String, String>,
    /// `[component.<id>.build]`, run by `up --build` as `spin build` would.
    pub build: Option<BuildDecl>,
}

/// How to build one component.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BuildDecl {
    /// Shell commands, run in order.
    pub commands: Vec<String>,
    /// Directory to run them in, relative to the manifest (default: the manifest's).
    pub workdir: Option<PathBuf>,
}

// ---- wire format -------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: u32,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: BTreeMap<String, Vec<RawHttpTrigger>>,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "descriptive keys are accepted so real manifests load"
)]
struct RawApplication {
    name: String,
    version: Option<String>,
    authors: Option<Vec<String>>,
    description: Option<String>,
    trigger: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpTrigger {
    route: RawRoute,
    component: RawComponentRef,
    executor: Option<toml::Table>,
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Deserialize)]
#[serde(untagged)]
#[allow(
    dead_code,
    reason = "inline components are recognised only to refuse them"
)]
enum RawComponentRef {
    Id(String),
    Inline(toml::Table),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    source: RawSource,
    description: Option<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    sqlite_databases: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    files: Vec<toml::Value>,
    #[serde(default)]
    exclude_files: Vec<String>,
    #[serde(default)]
    ai_models: Vec<String>,
    dependencies: Option<toml::Table>,
    dependencies_inherit_configuration: Option<bool>,
    build: Option<RawBuild>,
    tool: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(untagged)]
#[allow(
    dead_code,
    reason = "remote sources are recognised only to refuse them"
)]
enum RawSource {
    Path(PathBuf),
    Remote(toml::Table),
}

/// `spin build` settings; `watch` is for `spin watch` and only accepted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    command: RawCommand,
    workdir: Option<PathBuf>,
    #[allow(
        dead_code,
        reason = "accepted for `spin watch`; this host does not watch"
    )]
    watch: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCommand {
    One(String),
    Many(Vec<String>),
}

impl Manifest {
    /// Reads and validates `spin.toml` at `path`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading manifest {}", path.display()))?;
        // `spin.toml` alone has an empty parent, which is no directory to run builds in.
        let root = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, root).with_context(|| format!("in manifest {}", path.display()))
    }

    /// Validates manifest text; `root` is the directory sources are relative to.
    pub fn parse(text: &str, root: PathBuf) -> anyhow::Result<Self> {
        let raw: RawManifest = toml::from_str(text)?;
        ensure!(
            raw.spin_manifest_version == 2,
            "spin_manifest_version {} is not supported (only 2)",
            raw.spin_manifest_version
        );
        let RawApplication {
            name,
            version: _,
            authors: _,
            description: _,
            trigger,
        } = raw.application;
        if let Some(trigger) = trigger {
            for (kind, settings) in trigger {
                ensure!(
                    kind == "http",
                    "[application.trigger.{kind}] is not supported: only HTTP triggers are"
                );
                if let Some(key) = settings.as_table().and_then(|t| t.keys().next()) {
                    bail!("[application.trigger.http] `{key}` is not supported by this host");
                }
            }
        }

        for (var, decl) in &raw.variables {
            ensure!(
                is_variable_name(var),
                "variable name `{var}` is invalid: use lower-case letters, digits and underscores"
            );
            ensure!(
                !(decl.required && decl.default.is_some()),
                "variable `{var}` is required and has a default: choose one"
            );
        }

        let mut components = BTreeMap::new();
        for (id, raw) in raw.component {
            components.insert(id.clone(), component(&id, raw)?);
        }

        let mut routes = Vec::new();
        for (kind, triggers) in raw.trigger {
            ensure!(
                kind == "http",
                "trigger type `{kind}` is not supported: this host runs HTTP triggers only"
            );
            for trigger in triggers {
                ensure!(
                    trigger.executor.is_none(),
                    "HTTP trigger `executor` is not supported: components must export wasi:http/handler"
                );
                let _ = trigger.id;
                let component = match trigger.component {
                    RawComponentRef::Id(id) => id,
                    RawComponentRef::Inline(_) => {
                        bail!(
                            "inline components in [[trigger.http]] are not supported: use [component.<id>]"
                        )
                    }
                };
                ensure!(
                    components.contains_key(&component),
                    "[[trigger.http]] refers to component `{component}`, which is not defined"
                );
                let route = match trigger.route {
                    RawRoute::Path(route) => Some(route),
                    RawRoute::Private { private: true } => None,
                    RawRoute::Private { private: false } => bail!(
                        "route must be a path or `{{ private = true }}`: component `{component}` has `{{ private = false }}`"
                    ),
                };
                routes.push(HttpTrigger { component, route });
            }
        }

        for (id, component) in &components {
            for template in component
                .variables
                .values()
                .chain(&component.allowed_outbound_hosts)
            {
                for var in crate::template::references(template)? {
                    ensure!(
                        raw.variables.contains_key(&var),
                        "component `{id}` refers to `{{{{ {var} }}}}`, which is not in [variables]"
                    );
                }
            }
        }

        Ok(Self {
            name,
            root,
            variables: raw.variables,
            routes,
            components,
        })
    }
}

fn component(id: &str, raw: RawComponent) -> anyhow::Result<ComponentDecl> {
    let unsupported = |what: &str| -> anyhow::Error {
        anyhow::anyhow!("component `{id}`: `{what}` is not supported by this host")
    };
    if !raw.files.is_empty() || !raw.exclude_files.is_empty() {
        return Err(unsupported("files"));
    }
    if !raw.ai_models.is_empty() {
        return Err(unsupported("ai_models"));
    }
    if raw.dependencies.is_some() || raw.dependencies_inherit_configuration.is_some() {
        return Err(unsupported("dependencies"));
    }
    let _ = (raw.description, raw.tool);
    let build = raw.build.map(|b| BuildDecl {
        commands: match b.command {
            RawCommand::One(command) => vec![command],
            RawCommand::Many(commands) => commands,
        },
        workdir: b.workdir,
    });
    let source = match raw.source {
        RawSource::Path(path) => path,
        RawSource::Remote(_) => return Err(unsupported("source = { url, digest }")),
    };
    for var in raw.variables.keys() {
        ensure!(
            is_variable_name(var),
            "component `{id}`: variable name `{var}` is invalid"
        );
    }
    for pattern in &raw.allowed_outbound_hosts {
        // Templates are checked again once variables are resolved; patterns without
        // them fail here, at load time.
        if !pattern.contains("{{") {
            crate::outbound::AllowedHost::parse(pattern)
                .with_context(|| format!("component `{id}`: allowed_outbound_hosts"))?;
        }
    }
    Ok(ComponentDecl {
        source,
        allowed_outbound_hosts: raw.allowed_outbound_hosts,
        key_value_stores: raw.key_value_stores,
        sqlite_databases: raw.sqlite_databases,
        variables: raw.variables,
        environment: raw.environment,
        build,
    })
}

/// Spin variable names: lower-case ASCII letters, digits and `_`, starting with a letter.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Manifest> {
        Manifest::parse(text, PathBuf::from("/app"))
    }

    const MINIMAL: &str = r#"
        spin_manifest_version = 2
        [application]
        name = "demo"
        [variables]
        api_key = { required = true, secret = true }
        greeting = { default = "hi" }
        [[trigger.http]]
        route = "/api/..."
        component = "api"
        [[trigger.http]]
        route = { private = true }
        component = "api"
        [component.api]
        source = "api.wasm"
        allowed_outbound_hosts = ["https://example.com"]
        key_value_stores = ["default"]
        sqlite_databases = ["default"]
        environment = { RUST_LOG = "info" }
        [component.api.variables]
        key = "{{ api_key }}"
        [component.api.build]
        command = "cargo build"
        watch = ["src/**/*.rs"]
    "#;

    #[test]
    fn a_complete_manifest_is_read() {
        let m = parse(MINIMAL).unwrap();
        assert_eq!(m.name, "demo");
        assert!(m.variables["api_key"].required);
        assert_eq!(m.variables["greeting"].default.as_deref(), Some("hi"));
        assert_eq!(
            m.routes,
            vec![
                HttpTrigger {
                    component: "api".into(),
                    route: Some("/api/...".into())
                },
                HttpTrigger {
                    component: "api".into(),
                    route: None
                }
            ]
        );
        let api = &m.components["api"];
        assert_eq!(api.source, PathBuf::from("api.wasm"));
        assert_eq!(api.key_value_stores, vec!["default"]);
        assert_eq!(api.variables["key"], "{{ api_key }}");
        assert_eq!(api.environment["RUST_LOG"], "info");
        assert_eq!(api.build.as_ref().unwrap().commands, vec!["cargo build"]);
    }

    #[test]
    fn unsupported_settings_are_refused_with_their_name() {
        let cases = [
            ("files = [\"a.txt\"]", "files"),
            ("ai_models = [\"llama2-chat\"]", "ai_models"),
            ("unknown_key = 1", "unknown_key"),
            ("dependencies = { \"a:b/c\" = \"1.0\" }", "dependencies"),
        ];
        for (line, named) in cases {
            let text = MINIMAL.replace(
                "sqlite_databases = [\"default\"]",
                &format!("sqlite_databases = [\"default\"]\n{line}"),
            );
            let err = format!("{:#}", parse(&text).unwrap_err());
            assert!(
                err.contains(named),
                "{line}: error `{err}` should name `{named}`"
            );
        }
    }

    #[test]
    fn other_trigger_types_are_refused() {
        let text = MINIMAL.replace("[[trigger.http]]", "[[trigger.redis]]");
        let err = format!("{:#}", parse(&text).unwrap_err());
        assert!(err.contains("redis"), "{err}");
    }

    #[test]
    fn a_route_to_an_undefined_component_is_refused() {
        let text = MINIMAL.replace(
            "component = \"api\"\n        [[",
            "component = \"nope\"\n        [[",
        );
        let err = format!("{:#}", parse(&text).unwrap_err());
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn a_template_naming_an_undeclared_variable_is_refused() {
        let text = MINIMAL.replace("{{ api_key }}", "{{ missing }}");
        let err = format!("{:#}", parse(&text).unwrap_err());
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn manifest_version_1_is_refused() {
        let text = MINIMAL.replace("spin_manifest_version = 2", "spin_manifest_version = 1");
        assert!(parse(&text).is_err());
    }

    #[test]
    fn an_invalid_outbound_host_is_refused_at_load() {
        let text = MINIMAL.replace("https://example.com", "example.com");
        let err = format!("{:#}", parse(&text).unwrap_err());
        assert!(err.contains("example.com"), "{err}");
    }
}
