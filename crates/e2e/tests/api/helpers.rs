//! `spawn_app`: the application's real components on the server under test (the
//! repository's host, or real Spin when `E2E_SPIN` names a `spin` binary), with a fresh
//! SQLite state directory or PostgreSQL schema, fresh key-value stores and a TinyPNG mock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use spin_host::InstanceStats;
use spin_host::app::Settings;
use spin_host::platform::Platform;
use spin_host::reuse::InstanceReuse;
use spin_host::server::Running;
use tempfile::TempDir;
use tinypng_mock::{Behaviour, MockTinify};

use crate::server_process::{Server, ServerProcess};

/// The SQL back end a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sql {
    Sqlite,
    Postgres,
}

/// The build of the components a test serves (docs/builds.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// spin-sdk 7, `wasi:http/handler@0.3.0`: `spin.toml`.
    Wasi03,
    /// spin-sdk 5, `wasi:http/incoming-handler@0.2.0`: `spin-wasi02.toml`.
    Wasi02,
}

impl Build {
    /// The manifest that serves this build.
    pub fn manifest(self) -> &'static str {
        match self {
            Build::Wasi03 => "spin.toml",
            Build::Wasi02 => "spin-wasi02.toml",
        }
    }

    /// The `cargo build` arguments after `--target wasm32-wasip2 --release`, as the
    /// manifest's build commands give them.
    fn cargo_args(self) -> &'static [&'static str] {
        match self {
            Build::Wasi03 => &[],
            Build::Wasi02 => &[
                "--no-default-features",
                "--features",
                "wasi02",
                "--target-dir",
                "target/wasi02",
            ],
        }
    }
}

/// What one run of a test serves: a build of the components on a SQL back end, with a
/// hosted platform's manifest and, on the repository's host, that platform's profile
/// (`--platform`: its refusals and limits; real Spin imposes none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub build: Build,
    pub sql: Sql,
    pub platform: Option<Platform>,
}

impl Target {
    /// The manifest this target serves: the build's own, or the platform's.
    pub fn manifest(self) -> &'static str {
        match self.platform {
            Some(Platform::AkamaiFunctions) => "spin-akamai.toml",
            Some(Platform::FermyonCloud) => "spin-fermyon-cloud.toml",
            Some(Platform::SpinKube) | None => self.build.manifest(),
        }
    }

    /// How the manifest keeps the app's key-value stores.
    pub fn layout(self) -> storage::KvLayout {
        match self.platform {
            Some(Platform::AkamaiFunctions | Platform::FermyonCloud) => storage::KvLayout::Single,
            Some(Platform::SpinKube) | None => storage::KvLayout::Separate,
        }
    }

    /// The key-value labels the manifest grants.
    pub fn store_labels(self) -> Vec<&'static str> {
        match self.layout() {
            storage::KvLayout::Separate => STORE_LABELS.to_vec(),
            storage::KvLayout::Single => vec![storage::DEFAULT_LABEL],
        }
    }

    /// Where the manifest keeps photos unless a test says otherwise (`photo_store`): the
    /// hosted platforms' manifests keep them in the database.
    pub fn default_photo_store(self) -> &'static str {
        match self.layout() {
            storage::KvLayout::Separate => "key-value",
            storage::KvLayout::Single => "database",
        }
    }
}

/// PostgreSQL server the PostgreSQL runs use (the CI machine's).
const PG_ADMIN_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
pub const PG_HOST: &str = "127.0.0.1:5432";
/// The key the TinyPNG mock accepts.
pub const TINIFY_KEY: &str = "test-tinify-key";
/// The seed endpoint's key in tests.
pub const SEED_KEY: &str = "test-seed-key-5d1c0a9e";

/// The labels of the app's key-value stores (`key_value_stores` in spin.toml).
pub const STORE_LABELS: [&str; 3] = ["tokens", "photos", "cache"];

/// A runtime config keeping each of the app's stores in a Spin SQLite file beside it, as
/// `spin up` does on a laptop (Spin resolves a relative `path` against the config's folder).
pub fn local_stores_config() -> String {
    local_config_of(&STORE_LABELS)
}

/// A runtime config keeping each store of `labels` in `<label>.db` beside it.
fn local_config_of(labels: &[&str]) -> String {
    labels
        .iter()
        .map(|label| format!("[key_value_store.{label}]\ntype = \"spin\"\npath = \"{label}.db\"\n"))
        .collect()
}

/// A runtime config keeping each store in Redis at the URL given for its label, as
/// replicas share them in production.
pub fn redis_stores_config<'a>(stores: impl IntoIterator<Item = (&'a str, String)>) -> String {
    stores
        .into_iter()
        .map(|(label, url)| {
            format!("[key_value_store.{label}]\ntype = \"redis\"\nurl = \"{url}\"\n")
        })
        .collect()
}

/// Defines one test that runs on every [`Target`]: `name::sqlite` and `name::postgres` on the
/// WASI 0.3 build, `name::wasi02_sqlite` and `name::wasi02_postgres` on the WASI 0.2 one,
/// and the WASI 0.2 build as each hosted platform's guide deploys it:
/// `name::wasi02_akamai_functions` (spin-akamai.toml on PostgreSQL) and
/// `name::wasi02_fermyon_cloud` (spin-fermyon-cloud.toml on SQLite), each under that
/// platform's profile on the repository's host.
/// `wasi03_only:` before the function limits it to the WASI 0.3 build, for what only that
/// build does (one instance serving many requests at once); `postgres_only:` to PostgreSQL,
/// for what needs a database across a network.
#[macro_export]
macro_rules! e2e_test {
    ($(#[$doc:meta])* async fn $name:ident($target:ident: Target) $body:block) => {
        $crate::e2e_test!(@tests [$(#[$doc])*] $name $target $body;
            sqlite: Wasi03 Sqlite None, postgres: Wasi03 Postgres None,
            wasi02_sqlite: Wasi02 Sqlite None, wasi02_postgres: Wasi02 Postgres None,
            wasi02_akamai_functions: Wasi02 Postgres AkamaiFunctions,
            wasi02_fermyon_cloud: Wasi02 Sqlite FermyonCloud);
    };
    (wasi03_only: $(#[$doc:meta])* async fn $name:ident($target:ident: Target) $body:block) => {
        $crate::e2e_test!(@tests [$(#[$doc])*] $name $target $body;
            sqlite: Wasi03 Sqlite None, postgres: Wasi03 Postgres None);
    };
    (postgres_only: $(#[$doc:meta])* async fn $name:ident($target:ident: Target) $body:block) => {
        $crate::e2e_test!(@tests [$(#[$doc])*] $name $target $body;
            postgres: Wasi03 Postgres None, wasi02_postgres: Wasi02 Postgres None,
            wasi02_akamai_functions: Wasi02 Postgres AkamaiFunctions);
    };
    (@platform None) => { None };
    (@platform $platform:ident) => { Some(::spin_host::platform::Platform::$platform) };
    (@tests [$(#[$doc:meta])*] $name:ident $target:ident $body:block;
        $($test:ident: $build:ident $sql:ident $platform:ident),+) => {
        $(#[$doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($target: $crate::helpers::Target) $body

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    run($crate::helpers::Target {
                        build: $crate::helpers::Build::$build,
                        sql: $crate::helpers::Sql::$sql,
                        platform: $crate::e2e_test!(@platform $platform),
                    })
                    .await
                }
            )+
        }
    };
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The application's components, compiled once per test run and build exactly as
/// `spin build` does with that build's manifest.
pub fn build_components(build: Build) {
    static BUILT: [OnceLock<()>; 2] = [OnceLock::new(), OnceLock::new()];
    BUILT[build as usize].get_or_init(|| {
        spin_host::build::ensure_rust_target(&workspace_root(), "wasm32-wasip2")
            .expect("the wasm32-wasip2 target");
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.current_dir(workspace_root()).args([
            "build",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--release",
        ]);
        cargo.args(build.cargo_args());
        for component in [
            "token",
            "positions",
            "users",
            "registration",
            "photos",
            "seed",
            "site",
        ] {
            cargo.args(["--package", component]);
        }
        let status = cargo
            .status()
            .expect("running cargo to build the components");
        assert!(status.success(), "building the {build:?} components failed");
    });
}

/// How old a test schema must be before a later run drops it: older than any run, so two
/// runs at once (a CI run beside a developer's) never drop each other's schemas.
const STALE_SCHEMA_SECS: u64 = 3 * 60 * 60;

/// Drops schemas left by earlier runs (`e2e_<unix seconds>_<random>`), once per run.
async fn clean_old_schemas() {
    static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    CLEANED
        .get_or_init(|| async {
            let client = pg_client().await;
            let rows = client
                .query(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'e2e_%'",
                    &[],
                )
                .await
                .expect("listing schemas");
            let stale_before = unix_secs().saturating_sub(STALE_SCHEMA_SECS);
            for row in rows {
                let name: String = row.get(0);
                let created = name
                    .strip_prefix("e2e_")
                    .and_then(|rest| rest.split_once('_'))
                    .and_then(|(secs, _)| secs.parse::<u64>().ok())
                    .unwrap_or(0);
                if created < stale_before {
                    let _ = client
                        .execute(&format!("DROP SCHEMA {name} CASCADE"), &[])
                        .await;
                }
            }
        })
        .await;
}

pub async fn pg_client() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(PG_ADMIN_URL, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (database `test`) must be running");
    tokio::spawn(connection);
    client
}

/// Settings a test may change.
pub struct AppOptions {
    pub tinify: Behaviour,
    /// `None`: no API key configured.
    pub tinify_key: Option<&'static str>,
    pub tinify_timeout_ms: u64,
    pub seed_key: &'static str,
    pub cors_allowed_origins: &'static str,
    pub token_ttl_seconds: u64,
    /// PostgreSQL runs only: reach it over TLS, with Spin's default sslmode, through this
    /// front (crate `pg-tls-front`) instead of in plain text.
    pub postgres_tls_front: Option<std::net::SocketAddr>,
    /// `postgres_ca_root`: a CA (PEM) to trust for PostgreSQL's certificate.
    pub postgres_ca_root: Option<String>,
    /// `token_signing_key` and `token_signing_key_previous`; empty: not configured.
    pub token_signing_keys: (&'static str, &'static str),
    /// `users_cache_shared_max_age`.
    pub users_cache_shared_max_age: u32,
    /// `users_cache_immutable_max_age`.
    pub users_cache_immutable_max_age: u32,
    /// `registration_body_timeout_seconds`; 0: unset (the deadline).
    pub registration_body_timeout_seconds: u32,
    /// `registration_deadline_seconds`; 0: unset (the app's default).
    pub registration_deadline_seconds: u32,
    /// The key-value stores in Redis at this `redis://host:port` (one database per store),
    /// instead of Spin's SQLite files.
    pub key_value_redis: Option<String>,
    /// PostgreSQL runs only: reach it in plain text through this proxy (say, a
    /// `StallingProxy`) instead of directly.
    pub postgres_via: Option<std::net::SocketAddr>,
    /// `photo_store`: `key-value` or `database`; `None`: the target's manifest's default
    /// (its guide's choice).
    pub photo_store: Option<&'static str>,
    /// PostgreSQL runs only: this schema (another app's database) instead of a fresh one.
    pub postgres_schema: Option<String>,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            tinify: Behaviour::Normal,
            tinify_key: Some(TINIFY_KEY),
            tinify_timeout_ms: 2_000,
            seed_key: SEED_KEY,
            cors_allowed_origins: "*",
            token_ttl_seconds: 2_400,
            postgres_tls_front: None,
            postgres_ca_root: None,
            token_signing_keys: ("", ""),
            users_cache_shared_max_age: 0,
            users_cache_immutable_max_age: 31_536_000,
            registration_body_timeout_seconds: 60,
            registration_deadline_seconds: 0,
            key_value_redis: None,
            postgres_via: None,
            photo_store: None,
            postgres_schema: None,
        }
    }
}

/// A variable's value: empty (unset, the app's default) for 0.
fn unset_if_zero(value: u32) -> String {
    if value == 0 {
        String::new()
    } else {
        value.to_string()
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub tinify: MockTinify,
    pub target: Target,
    /// The PostgreSQL schema holding this app's tables.
    pub schema: Option<String>,
    pub dir: TempDir,
    served: Served,
}

/// How a test's app is served.
enum Served {
    /// The repository's host, inside the test process (its instance statistics readable).
    InProcess(Running),
    /// Real Spin, as a child process.
    Process(ServerProcess),
}

pub async fn spawn_app(target: Target) -> TestApp {
    spawn_app_with(target, AppOptions::default()).await
}

pub async fn spawn_app_with(target: Target, options: AppOptions) -> TestApp {
    // E2E_LOG=1 prints the host's log (requests, guest output) while tests run.
    if std::env::var_os("E2E_LOG").is_some() {
        let _ = tracing_subscriber::fmt().try_init();
    }
    build_components(target.build);
    let dir = TempDir::new().expect("temp dir");
    let tinify = MockTinify::start(TINIFY_KEY, options.tinify)
        .await
        .expect("TinyPNG mock starts");

    let (database_url, schema) = match target.sql {
        Sql::Sqlite => ("sqlite:default".to_owned(), None),
        Sql::Postgres => {
            let (url, schema) = match &options.postgres_schema {
                Some(schema) => (schema_url(schema), schema.clone()),
                None => postgres_schema().await,
            };
            (url, Some(schema))
        }
    };
    // Over TLS: the same schema through the front, with Spin's default sslmode (prefer).
    let (database_url, postgres_host) = match (options.postgres_tls_front, &schema) {
        (Some(front), Some(schema)) => (
            format!("postgres://postgres@{front}/test?options=-c%20search_path%3D{schema}"),
            front.to_string(),
        ),
        _ => (database_url, PG_HOST.to_owned()),
    };
    let (database_url, postgres_host) = match (options.postgres_via, &schema) {
        (Some(proxy), Some(_)) => (
            database_url.replace(PG_HOST, &proxy.to_string()),
            proxy.to_string(),
        ),
        _ => (database_url, postgres_host),
    };

    let runtime_config = dir.path().join("runtime-config.toml");
    let labels = target.store_labels();
    let mut stores = match &options.key_value_redis {
        // One Redis database per store: Redis stores share keys across labels.
        Some(redis) => redis_stores_config(
            labels
                .iter()
                .copied()
                .zip(0..)
                .map(|(label, db)| (label, format!("{redis}/{db}"))),
        ),
        None => local_config_of(&labels),
    };
    if target.platform == Some(Platform::FermyonCloud) {
        // What `spin cloud deploy --link sqlite:default=…` links: the default database,
        // where Spin keeps it.
        stores.push_str(&format!(
            // Absolute: Spin resolves a database's relative path against the working
            // directory.
            "[sqlite_database.default]\ntype = \"spin\"\npath = \"{}\"\n",
            dir.path().join(".spin/sqlite_db.db").display()
        ));
    }
    std::fs::write(&runtime_config, stores).expect("writing runtime config");
    let variables = BTreeMap::from([
        ("database_url".to_owned(), database_url),
        ("postgres_host".to_owned(), postgres_host),
        (
            "postgres_ca_root".to_owned(),
            options.postgres_ca_root.clone().unwrap_or_default(),
        ),
        ("tinify_base_url".to_owned(), tinify.url()),
        (
            "tinify_api_key".to_owned(),
            options.tinify_key.unwrap_or_default().to_owned(),
        ),
        (
            "tinify_timeout_ms".to_owned(),
            options.tinify_timeout_ms.to_string(),
        ),
        ("seed_key".to_owned(), options.seed_key.to_owned()),
        (
            "cors_allowed_origins".to_owned(),
            options.cors_allowed_origins.to_owned(),
        ),
        (
            "token_ttl_seconds".to_owned(),
            options.token_ttl_seconds.to_string(),
        ),
        (
            "token_signing_key".to_owned(),
            options.token_signing_keys.0.to_owned(),
        ),
        (
            "token_signing_key_previous".to_owned(),
            options.token_signing_keys.1.to_owned(),
        ),
        (
            "users_cache_shared_max_age".to_owned(),
            options.users_cache_shared_max_age.to_string(),
        ),
        (
            "users_cache_immutable_max_age".to_owned(),
            options.users_cache_immutable_max_age.to_string(),
        ),
        (
            "registration_body_timeout_seconds".to_owned(),
            unset_if_zero(options.registration_body_timeout_seconds),
        ),
        (
            "registration_deadline_seconds".to_owned(),
            unset_if_zero(options.registration_deadline_seconds),
        ),
        (
            "photo_store".to_owned(),
            options
                .photo_store
                .unwrap_or(target.default_photo_store())
                .to_owned(),
        ),
    ]);
    let state_dir = dir.path().join(".spin");
    let served = match Server::under_test() {
        Server::Host => {
            let settings = Settings {
                manifest: workspace_root().join(target.manifest()),
                state_dir: Some(state_dir),
                runtime_config: Some(runtime_config),
                variables,
                sqlite_statements: Vec::new(),
                // Spin's defaults: instances reused, 16 requests at once, no request timeout.
                reuse: InstanceReuse::default(),
                max_instance_memory: 256 << 20,
                platform: target.platform,
            };
            let running =
                spin_host::server::start(settings, "127.0.0.1:0".parse().expect("address"))
                    .await
                    .expect("the application starts");
            Served::InProcess(running)
        }
        Server::Spin { .. } => {
            let config = runtime_config.clone();
            let process = tokio::task::spawn_blocking(move || {
                let variables: Vec<(&str, String)> = variables
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.clone()))
                    .collect();
                ServerProcess::start_target(target, &config, &state_dir, &variables)
            })
            .await
            .expect("starting Spin");
            Served::Process(process)
        }
    };
    let address = match &served {
        Served::InProcess(running) => format!("http://{}", running.addr()),
        Served::Process(process) => process.base.clone(),
    };
    TestApp {
        address,
        // A request that hangs fails its test instead of the whole run.
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client"),
        tinify,
        target,
        schema,
        dir,
        served,
    }
}

/// A fresh PostgreSQL schema: the `database_url` that selects it, and its name.
pub async fn postgres_schema() -> (String, String) {
    clean_old_schemas().await;
    let schema = format!("e2e_{}_{}", unix_secs(), random_suffix());
    pg_client()
        .await
        .execute(&format!("CREATE SCHEMA {schema}"), &[])
        .await
        .expect("creating the test schema");
    (schema_url(&schema), schema)
}

/// The `database_url` that selects `schema`.
fn schema_url(schema: &str) -> String {
    format!(
        "postgres://postgres@{PG_HOST}/test?sslmode=disable&options=-c%20search_path%3D{schema}"
    )
}

/// Now, in Unix seconds.
pub fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{:016x}", hasher.finish())
}

/// A registration's fields; tests change what they need.
#[derive(Clone)]
pub struct Registration {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub position_id: Option<String>,
    /// Field name and bytes of the photo part.
    pub photo: Option<(&'static str, Vec<u8>)>,
}

impl Registration {
    /// A valid registration, unique by `n`.
    pub fn valid(n: u32) -> Self {
        Self {
            name: Some(format!("User {n}")),
            email: Some(format!("user{n}@example.com")),
            phone: Some(format!("+380{:09}", 500_000_000 + n)),
            position_id: Some("2".to_owned()),
            photo: Some(("photo", jpeg(400, 300))),
        }
    }

    pub fn form(&self) -> Form {
        let mut form = Form::new();
        for (name, value) in [
            ("name", &self.name),
            ("email", &self.email),
            ("phone", &self.phone),
            ("position_id", &self.position_id),
        ] {
            if let Some(value) = value {
                form = form.text(name, value.clone());
            }
        }
        if let Some((field, bytes)) = &self.photo {
            let part = Part::bytes(bytes.clone())
                .file_name("photo.jpg")
                .mime_str("image/jpeg")
                .expect("mime");
            form = form.part(*field, part);
        }
        form
    }
}

/// A JPEG of the given size with a gradient, as a camera would send.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            90,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encoding a test JPEG");
    out.into_inner()
}

/// A PNG, to check that content (not names) decides the type.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb([10, 20, 30]));
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a test PNG");
    out.into_inner()
}

/// A response header's value as text; empty when it is absent (or not text).
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The status and JSON body of a response (asserting the contract's JSON content type).
pub async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = header(&response, "content-type");
    let text = response.text().await.expect("body");
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"));
    assert_eq!(content_type, "application/json", "status {status}: {text}");
    assert!(body["success"].is_boolean(), "no boolean `success`: {text}");
    (status, body)
}

impl TestApp {
    /// What the host's instances of `component` have done so far: only the repository's
    /// host tells (tests that need it are `host_only`).
    pub fn stats(&self, component: &str) -> InstanceStats {
        let Served::InProcess(running) = &self.served else {
            panic!("instance statistics come only from the repository's host");
        };
        running
            .app()
            .component(component)
            .expect("a component of the manifest")
            .stats()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        json(self.get(path).await).await
    }

    pub async fn token(&self) -> String {
        let (status, body) = self.get_json("/api/v1/token").await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn register_with(
        &self,
        token: Option<&str>,
        registration: &Registration,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(self.url("/api/v1/users"))
            .multipart(registration.form());
        if let Some(token) = token {
            request = request.header("Token", token);
        }
        json(request.send().await.expect("request")).await
    }

    /// A registration with `token`: its status, `Retry-After` (empty when absent) and body.
    pub async fn register_with_retry_after(
        &self,
        token: &str,
        registration: &Registration,
    ) -> (u16, String, Value) {
        let response = self
            .client
            .post(self.url("/api/v1/users"))
            .header("Token", token)
            .multipart(registration.form())
            .send()
            .await
            .expect("registration");
        let retry_after = header(&response, "retry-after");
        let (status, body) = json(response).await;
        (status, retry_after, body)
    }

    /// Registers with a fresh token.
    pub async fn register(&self, registration: &Registration) -> (u16, Value) {
        let token = self.token().await;
        self.register_with(Some(&token), registration).await
    }

    pub async fn seed(&self, count: u32) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(&format!("/api/v1/seed?count={count}")))
            .header("Seed-Key", SEED_KEY)
            .send()
            .await
            .expect("request");
        json(response).await
    }

    /// The photo behind a user's `photo` URL.
    pub async fn photo_of(&self, user_id: i64) -> Vec<u8> {
        let (_, body) = self.get_json(&format!("/api/v1/users/{user_id}")).await;
        let url = body["user"]["photo"]
            .as_str()
            .expect("photo url")
            .to_owned();
        let response = self.client.get(url).send().await.expect("photo request");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("photo bytes").to_vec()
    }

    /// Runs SQL directly against this app's database (to arrange or to sabotage).
    pub async fn sql(&self, statement: &str) {
        match self.target.sql {
            Sql::Sqlite => {
                let db = rusqlite::Connection::open(self.dir.path().join(".spin/sqlite_db.db"))
                    .expect("opening the SQLite file");
                db.busy_timeout(Duration::from_secs(5))
                    .expect("busy timeout");
                db.execute_batch(statement).expect("running SQL");
            }
            Sql::Postgres => {
                let schema = self.schema.as_deref().expect("schema");
                pg_client()
                    .await
                    .batch_execute(&format!("SET search_path TO {schema}; {statement}"))
                    .await
                    .expect("running SQL");
            }
        }
    }

    /// Builds the schema as the first `migrations` migrations left it, recorded in
    /// `schema_migrations` as the app records them, before the app has touched the database.
    pub async fn schema_through(&self, migrations: usize) {
        let version_table = match self.target.sql {
            Sql::Sqlite => {
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            }
            Sql::Postgres => {
                "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            }
        };
        let mut script = vec![version_table.to_owned()];
        for migration in &storage::migrations::MIGRATIONS[..migrations] {
            let text = match self.target.sql {
                Sql::Sqlite => migration.sqlite,
                Sql::Postgres => migration.postgres,
            };
            script.extend(storage::migrations::statements(text));
            script.push(format!(
                "INSERT INTO schema_migrations VALUES ({}, '{}', 0)",
                migration.version, migration.name
            ));
        }
        for statement in script {
            self.sql(&statement).await;
        }
    }

    /// A PostgreSQL client on this app's schema.
    async fn schema_client(&self) -> tokio_postgres::Client {
        let schema = self.schema.as_deref().expect("schema");
        let client = pg_client().await;
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .expect("search_path");
        client
    }

    /// Runs a query directly against this app's database; its rows, every column an integer.
    pub async fn sql_integers(&self, query: &str) -> Vec<Vec<i64>> {
        match self.target.sql {
            Sql::Sqlite => {
                let db = rusqlite::Connection::open(self.dir.path().join(".spin/sqlite_db.db"))
                    .expect("opening the SQLite file");
                let mut statement = db.prepare(query).expect("preparing SQL");
                let width = statement.column_count();
                statement
                    .query_map([], |row| (0..width).map(|i| row.get::<_, i64>(i)).collect())
                    .expect("running SQL")
                    .collect::<Result<_, _>>()
                    .expect("integer rows")
            }
            Sql::Postgres => {
                let client = self.schema_client().await;
                client
                    .query(query, &[])
                    .await
                    .expect("running SQL")
                    .iter()
                    .map(|row| (0..row.len()).map(|i| row.get::<_, i64>(i)).collect())
                    .collect()
            }
        }
    }

    /// Empties the logical key-value store `name` (`tokens`, `photos` or `cache`; each kept
    /// in a SQLite file beside the runtime config, alone or with the others).
    pub fn clear_store(&self, name: &str) {
        let (label, prefix) = self.store_of(name);
        let db = rusqlite::Connection::open(self.dir.path().join(format!("{label}.db")))
            .expect("opening the store");
        db.execute(
            "DELETE FROM spin_key_value WHERE store = ?1 AND key LIKE ?2 || '%'",
            [label, prefix],
        )
        .expect("clearing the store");
    }

    /// The label and key prefix of the logical store `name` in this app's layout.
    pub fn store_of(&self, name: &str) -> (&'static str, &'static str) {
        let store = storage::LogicalStore::ALL
            .into_iter()
            .find(|store| store.name() == name)
            .unwrap_or_else(|| panic!("no logical store `{name}`"));
        let layout = self.target.layout();
        (layout.label(store), layout.prefix(store))
    }
}

impl TestApp {
    /// How many entries the logical key-value store `name` holds (`tokens`, `photos` or
    /// `cache`, in a SQLite file beside the runtime config; one never opened holds none).
    pub fn entries_in(&self, name: &str) -> i64 {
        let (label, prefix) = self.store_of(name);
        let file = self.dir.path().join(format!("{label}.db"));
        let Ok(db) =
            rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        else {
            return 0;
        };
        db.query_row(
            "SELECT COUNT(*) FROM spin_key_value WHERE store = ?1 AND key LIKE ?2 || '%'",
            [label, prefix],
            |r| r.get(0),
        )
        .unwrap_or(0)
    }

    /// How many photos the `photos` key-value store holds.
    pub fn photos_in_key_value(&self) -> i64 {
        self.entries_in("photos")
    }

    /// How many photos are stored, in key-value and in the database.
    pub async fn photos_stored(&self) -> i64 {
        self.photos_in_key_value() + self.photos_in_database().await
    }

    /// How many photos the database's `photos` table holds; none before it is migrated.
    pub async fn photos_in_database(&self) -> i64 {
        const COUNT: &str = "SELECT COUNT(*) FROM photos";
        match self.target.sql {
            Sql::Sqlite => rusqlite::Connection::open(self.dir.path().join(".spin/sqlite_db.db"))
                .and_then(|db| db.query_row(COUNT, [], |row| row.get(0)))
                .unwrap_or(0),
            Sql::Postgres => {
                let client = self.schema_client().await;
                match client.query_one(COUNT, &[]).await {
                    Ok(row) => row.get(0),
                    Err(_) => 0,
                }
            }
        }
    }

    /// Stores a photo no user has in the `photos` key-value store, as a registration killed
    /// between storing its photo and inserting its user leaves one.
    pub fn plant_orphan_photo(&self, name: &str) {
        let (label, prefix) = self.store_of("photos");
        let db = rusqlite::Connection::open(self.dir.path().join(format!("{label}.db")))
            .expect("opening the store");
        db.execute(
            "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)",
            rusqlite::params![label, format!("{prefix}{name}"), jpeg(70, 70)],
        )
        .expect("planting a photo");
    }

    /// `total_users` as the API reports it.
    pub async fn total_users(&self) -> i64 {
        let (_, body) = self.get_json("/api/v1/users").await;
        body["total_users"].as_i64().expect("total_users")
    }
}
