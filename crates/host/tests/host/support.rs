//! Builds the fixture component once per test run and serves it from a fresh directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;

use serde_json::Value;
use spin_host::InstanceStats;
use spin_host::app::Settings;
use spin_host::reuse::InstanceReuse;
use spin_host::server::Running;
use tempfile::TempDir;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixture component, compiled for `wasm32-wasip2` during this test run.
pub fn fixture_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        // The workspace's own target dir: cargo releases its lock before running tests, and
        // sharing the dir means the wasm dependencies are compiled once for everything.
        let target = workspace_root().join("target");
        spin_host::build::ensure_rust_target(&workspace_root(), "wasm32-wasip2")
            .expect("the wasm32-wasip2 target");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(workspace_root())
            .args([
                "build",
                "--quiet",
                "--package",
                "spin-host-fixture",
                "--target",
                "wasm32-wasip2",
                "--release",
                "--target-dir",
            ])
            .arg(&target)
            .status()
            .expect("running cargo to build the fixture component");
        assert!(status.success(), "building the fixture component failed");
        target.join("wasm32-wasip2/release/spin_host_fixture.wasm")
    })
}

/// The manifest most tests use. `all` has every grant; `bare` has none.
pub const MANIFEST: &str = r#"
spin_manifest_version = 2

[application]
name = "host-tests"

[variables]
greeting = { default = "hello" }
mock_port = { default = "9" }
pg_address = { default = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable" }
pg_host = { default = "127.0.0.1:5432" }

[[trigger.http]]
route = "/all/..."
component = "all"

[[trigger.http]]
route = "/bare/..."
component = "bare"

[[trigger.http]]
route = "/exact/headers"
component = "bare"

[[trigger.http]]
route = "/items/:id/headers"
component = "bare"

[[trigger.http]]
route = { private = true }
component = "all"

[component.all]
source = "FIXTURE"
key_value_stores = ["default", "photos"]
sqlite_databases = ["default", "reports"]
allowed_outbound_hosts = ["http://127.0.0.1:{{ mock_port }}", "postgres://{{ pg_host }}"]
environment = { FOO = "bar" }

[component.all.variables]
greeting = "{{ greeting }}, world"
pg_address = "{{ pg_address }}"

[component.bare]
source = "FIXTURE"
"#;

/// The runtime config most tests use: one named store and one named database. `{dir}` is
/// the app's directory: a database's relative path resolves against the working directory,
/// as in Spin, not against the config's folder as a store's does.
pub const RUNTIME_CONFIG: &str = r#"
[key_value_store.photos]
type = "spin"
path = "photos.db"

[sqlite_database.reports]
type = "spin"
path = "{dir}/reports.db"
"#;

/// An application served in-process from its own temporary directory.
pub struct TestApp {
    pub running: Running,
    pub dir: TempDir,
    pub client: reqwest::Client,
}

/// Options for [`TestApp::start_with`].
pub struct Options {
    pub manifest: String,
    pub runtime_config: String,
    pub variables: BTreeMap<String, String>,
    pub sqlite: Vec<String>,
    pub reuse: InstanceReuse,
    pub max_instance_memory: usize,
    pub platform: Option<spin_host::platform::Platform>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            manifest: MANIFEST.to_owned(),
            runtime_config: RUNTIME_CONFIG.to_owned(),
            variables: BTreeMap::new(),
            sqlite: Vec::new(),
            reuse: InstanceReuse::default(),
            max_instance_memory: 256 << 20,
            platform: None,
        }
    }
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let dir = TempDir::new().expect("temp dir");
        Self::start_in(dir, options).await.expect("host starts")
    }

    /// Starts in an existing directory (to check what survives a restart).
    pub async fn start_in(dir: TempDir, options: Options) -> anyhow::Result<Self> {
        let manifest = dir.path().join("spin.toml");
        let fixture = fixture_wasm().to_str().expect("utf-8 path").to_owned();
        std::fs::write(&manifest, options.manifest.replace("FIXTURE", &fixture))?;
        let runtime_config = dir.path().join("runtime-config.toml");
        let config = options
            .runtime_config
            .replace("{dir}", &dir.path().display().to_string());
        std::fs::write(&runtime_config, config)?;
        let settings = Settings {
            manifest,
            state_dir: Some(dir.path().join(".spin")),
            runtime_config: Some(runtime_config),
            variables: options.variables,
            sqlite_statements: options.sqlite,
            reuse: options.reuse,
            max_instance_memory: options.max_instance_memory,
            platform: options.platform,
        };
        let running = spin_host::server::start(settings, "127.0.0.1:0".parse()?).await?;
        Ok(Self {
            running,
            dir,
            client: reqwest::Client::new(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.addr())
    }

    /// GET `path`; the status and the body parsed as JSON (`Null` if it is not JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// GET `path` and expect a 200.
    pub async fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// What the instances of `component` have done so far.
    pub fn stats(&self, component: &str) -> InstanceStats {
        self.running
            .app()
            .component(component)
            .expect("the component exists")
            .stats()
    }

    /// Sends the head of a `POST path` whose 5-byte body is held back, and waits until the
    /// host has handed the request to an instance: the instance then works on it (waiting
    /// for its body) until [`HeldRequest::finish`].
    pub async fn post_held(&self, path: &str) -> HeldRequest {
        let mut stream = tokio::net::TcpStream::connect(self.running.addr())
            .await
            .expect("connect");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
            self.running.addr()
        );
        stream.write_all(head.as_bytes()).await.expect("send head");
        // The host hands a request on once its head is parsed; give it time to do so.
        tokio::time::sleep(Duration::from_millis(30)).await;
        HeldRequest { stream }
    }

    /// Stops the host and hands back its directory.
    pub async fn stop(self) -> TempDir {
        self.running.shutdown().await.expect("clean shutdown");
        self.dir
    }
}

/// A request whose body has not been sent yet.
pub struct HeldRequest {
    stream: tokio::net::TcpStream,
}

impl HeldRequest {
    /// Sends the body and reads the whole response: its status and the raw text after the
    /// head.
    pub async fn finish(mut self) -> (u16, String) {
        // A trapped instance may have answered already; the write may then fail.
        let _ = self.stream.write_all(b"hello").await;
        let mut response = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut self.stream, &mut response).await;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        (status, body)
    }
}

/// Percent-encodes a query value.
pub fn q(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
