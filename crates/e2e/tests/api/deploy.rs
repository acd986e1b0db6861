//! `deploy/`: the SpinKube manifest has the shape SpinKube expects and names the Secrets it
//! reads; the production runtime config is one the server accepts and serves from Redis.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::helpers::{Build, workspace_root};
use crate::server_process::ServerProcess;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpinApp {
    api_version: String,
    kind: String,
    spec: SpinAppSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpinAppSpec {
    image: String,
    replicas: u32,
    executor: String,
    runtime_config: RuntimeConfigSource,
    variables: Vec<Variable>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuntimeConfigSource {
    load_from_secret: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Variable {
    name: String,
    value: Option<String>,
    value_from: Option<ValueFrom>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValueFrom {
    secret_key_ref: SecretKeyRef,
}

#[derive(Deserialize)]
struct SecretKeyRef {
    name: String,
    key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Secret {
    kind: String,
    metadata: Metadata,
    string_data: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The variables `spin.toml` declares.
fn declared_variables() -> Vec<String> {
    let manifest: toml::Table = toml::from_str(&read("spin.toml")).expect("spin.toml");
    manifest["variables"]
        .as_table()
        .expect("[variables]")
        .keys()
        .cloned()
        .collect()
}

/// An example's value is public: applied unchanged, the example Secret must turn nothing
/// on (its `seed_key: "CHANGE-ME"` let anyone who read it seed users).
#[test]
fn the_example_secrets_are_empty() {
    let secrets: Vec<Secret> = serde_saphyr::from_multiple(&read("deploy/secret.example.yaml"))
        .expect("secret.example.yaml");
    let variables = secrets
        .iter()
        .find(|s| s.metadata.name == "usersbypage-secrets")
        .expect("the variables' Secret");
    assert!(!variables.string_data.is_empty());
    for (name, value) in &variables.string_data {
        assert_eq!(value, "", "{name} has a value in the example");
    }
}

#[test]
fn the_spinapp_runs_the_app_on_spinkube_with_its_runtime_config_from_a_secret() {
    let app: SpinApp = serde_saphyr::from_str(&read("deploy/spinapp.yaml")).expect("spinapp.yaml");
    let secrets: Vec<Secret> = serde_saphyr::from_multiple(&read("deploy/secret.example.yaml"))
        .expect("secret.example.yaml");
    let secret = |name: &str| {
        secrets
            .iter()
            .find(|s| s.kind == "Secret" && s.metadata.name == name)
            .unwrap_or_else(|| panic!("secret.example.yaml defines no Secret {name}"))
    };

    assert_eq!(app.api_version, "core.spinkube.dev/v1alpha1");
    assert_eq!(app.kind, "SpinApp");
    assert_eq!(app.spec.executor, "containerd-shim-spin");
    assert!(
        app.spec.replicas >= 2,
        "more than one replica: state must be shared"
    );
    let (repository, tag) = app
        .spec
        .image
        .rsplit_once(':')
        .expect("an image with a tag");
    assert!(
        repository.contains('/') && !tag.contains('/'),
        "{}",
        app.spec.image
    );

    // The runtime config travels in a Secret under the key the operator mounts, and is
    // the one in deploy/runtime-config.toml.
    let mounted = &secret(&app.spec.runtime_config.load_from_secret).string_data;
    let in_secret: toml::Table = toml::from_str(
        mounted
            .get("runtime-config.toml")
            .expect("key runtime-config.toml"),
    )
    .expect("the Secret's runtime config");
    let in_repo: toml::Table =
        toml::from_str(&read("deploy/runtime-config.toml")).expect("runtime config");
    assert_eq!(
        in_secret, in_repo,
        "the Secret's runtime config drifted from deploy/runtime-config.toml"
    );

    // Every variable exists in the app; secrets come from the Secret, never inline.
    let declared = declared_variables();
    for variable in &app.spec.variables {
        assert!(
            declared.contains(&variable.name),
            "spin.toml declares no `{}`",
            variable.name
        );
        match (&variable.value, &variable.value_from) {
            (Some(_), None) => {}
            (None, Some(from)) => {
                let source = secret(&from.secret_key_ref.name);
                assert!(
                    source.string_data.contains_key(&from.secret_key_ref.key),
                    "{}",
                    variable.name
                );
            }
            _ => panic!(
                "`{}` needs exactly one of value and valueFrom",
                variable.name
            ),
        }
    }
    let database_url = app.spec.variables.iter().find(|v| v.name == "database_url");
    assert!(
        database_url.is_some_and(|v| v.value_from.is_some()),
        "database_url (it holds a password) comes from a Secret"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_serves_with_the_production_runtime_config() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    // The same file, with the cluster's Redis replaced by this machine's.
    let config = read("deploy/runtime-config.toml")
        .replace("redis.usersbypage.svc.cluster.local", "127.0.0.1");
    let runtime_config = dir.path().join("runtime-config.toml");
    std::fs::write(&runtime_config, config).expect("runtime config");
    // SpinKube serves WASI 0.2: the build deploy/ ships.
    let state_dir = dir.path().join(".spin");
    let server = tokio::task::spawn_blocking(move || {
        ServerProcess::start(Build::Wasi02, &runtime_config, &state_dir, &[])
    })
    .await
    .expect("the server accepts deploy/runtime-config.toml");

    let response = reqwest::get(server.url("/api/v1/token"))
        .await
        .expect("token request");

    // The first token makes the signing key in the `tokens` store: on Redis, with this
    // config.
    assert_eq!(response.status(), 200);
}
