//! `spawn_app`: the application's real components on the repository's host, with a fresh
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
use spin_host::reuse::InstanceReuse;
use spin_host::server::Running;
use tempfile::TempDir;
use tinypng_mock::{Behaviour, MockTinify};

/// The SQL back end a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// PostgreSQL server the PostgreSQL runs use (the CI machine's).
const PG_ADMIN_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
pub const PG_HOST: &str = "127.0.0.1:5432";
/// The key the TinyPNG mock accepts.
pub const TINIFY_KEY: &str = "test-tinify-key";
/// The seed endpoint's key in tests.
pub const SEED_KEY: &str = "test-seed-key";

/// Defines one test that runs on both back ends: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! e2e_test {
    ($(#[$doc:meta])* async fn $name:ident($backend:ident: Backend) $body:block) => {
        $(#[$doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($backend: $crate::helpers::Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::helpers::Backend::Postgres).await
            }
        }
    };
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The application's components, compiled once per test run exactly as `spin build` does.
pub fn build_components() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.current_dir(workspace_root()).args([
            "build",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--release",
        ]);
        for component in ["token", "positions", "users", "photos", "seed", "site"] {
            cargo.args(["--package", component]);
        }
        let status = cargo
            .status()
            .expect("running cargo to build the components");
        assert!(status.success(), "building the components failed");
    });
}

/// Drops schemas left by earlier runs, once per run.
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
            for row in rows {
                let name: String = row.get(0);
                let _ = client
                    .execute(&format!("DROP SCHEMA {name} CASCADE"), &[])
                    .await;
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
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub tinify: MockTinify,
    pub backend: Backend,
    /// The PostgreSQL schema holding this app's tables.
    pub schema: Option<String>,
    pub dir: TempDir,
    running: Running,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, AppOptions::default()).await
}

pub async fn spawn_app_with(backend: Backend, options: AppOptions) -> TestApp {
    // E2E_LOG=1 prints the host's log (requests, guest output) while tests run.
    if std::env::var_os("E2E_LOG").is_some() {
        let _ = tracing_subscriber::fmt().try_init();
    }
    build_components();
    let dir = TempDir::new().expect("temp dir");
    let tinify = MockTinify::start(TINIFY_KEY, options.tinify)
        .await
        .expect("TinyPNG mock starts");

    let (database_url, schema) = match backend {
        Backend::Sqlite => ("sqlite:default".to_owned(), None),
        Backend::Postgres => {
            let (url, schema) = postgres_schema().await;
            (url, Some(schema))
        }
    };

    let runtime_config = dir.path().join("runtime-config.toml");
    std::fs::write(
        &runtime_config,
        "[key_value_store.tokens]\ntype = \"spin\"\npath = \"tokens.db\"\n\
         [key_value_store.photos]\ntype = \"spin\"\npath = \"photos.db\"\n\
         [key_value_store.cache]\ntype = \"spin\"\npath = \"cache.db\"\n",
    )
    .expect("writing runtime config");
    let variables = BTreeMap::from([
        ("database_url".to_owned(), database_url),
        ("postgres_host".to_owned(), PG_HOST.to_owned()),
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
    ]);
    let settings = Settings {
        manifest: workspace_root().join("spin.toml"),
        state_dir: Some(dir.path().join(".spin")),
        runtime_config: Some(runtime_config),
        variables,
        sqlite_statements: Vec::new(),
        // Spin's defaults: instances reused, 16 requests at once, no request timeout.
        reuse: InstanceReuse::default(),
        max_instance_memory: 256 << 20,
    };
    let running = spin_host::server::start(settings, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("the application starts");
    TestApp {
        address: format!("http://{}", running.addr()),
        // A request that hangs fails its test instead of the whole run.
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client"),
        tinify,
        backend,
        schema,
        dir,
        running,
    }
}

/// A fresh PostgreSQL schema: the `database_url` that selects it, and its name.
pub async fn postgres_schema() -> (String, String) {
    clean_old_schemas().await;
    let schema = format!("e2e_{}", random_suffix());
    pg_client()
        .await
        .execute(&format!("CREATE SCHEMA {schema}"), &[])
        .await
        .expect("creating the test schema");
    let url = format!("postgres://postgres@{PG_HOST}/test?options=-c%20search_path%3D{schema}");
    (url, schema)
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

/// The status and JSON body of a response (asserting the contract's JSON content type).
pub async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("body");
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"));
    assert_eq!(content_type, "application/json", "status {status}: {text}");
    assert!(body["success"].is_boolean(), "no boolean `success`: {text}");
    (status, body)
}

impl TestApp {
    /// What the host's instances of `component` have done so far.
    pub fn stats(&self, component: &str) -> InstanceStats {
        self.running
            .app()
            .component(component)
            .expect("a component of spin.toml")
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
        match self.backend {
            Backend::Sqlite => {
                let db = rusqlite::Connection::open(self.dir.path().join(".spin/sqlite_db.db"))
                    .expect("opening the SQLite file");
                db.busy_timeout(Duration::from_secs(5))
                    .expect("busy timeout");
                db.execute_batch(statement).expect("running SQL");
            }
            Backend::Postgres => {
                let schema = self.schema.as_deref().expect("schema");
                pg_client()
                    .await
                    .batch_execute(&format!("SET search_path TO {schema}; {statement}"))
                    .await
                    .expect("running SQL");
            }
        }
    }

    /// Runs a query directly against this app's database; its rows, every column an integer.
    pub async fn sql_integers(&self, query: &str) -> Vec<Vec<i64>> {
        match self.backend {
            Backend::Sqlite => {
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
            Backend::Postgres => {
                let schema = self.schema.as_deref().expect("schema");
                let client = pg_client().await;
                client
                    .batch_execute(&format!("SET search_path TO {schema}"))
                    .await
                    .expect("search_path");
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

    /// Empties a key-value store (the host keeps them as SQLite files).
    pub fn clear_store(&self, file: &str) {
        let db = rusqlite::Connection::open(self.dir.path().join(file)).expect("opening the store");
        db.execute_batch("DELETE FROM spin_key_value")
            .expect("clearing the store");
    }
}

impl TestApp {
    /// How many photos the photo store holds.
    pub fn photos_stored(&self) -> i64 {
        let db = rusqlite::Connection::open(self.dir.path().join("photos.db"))
            .expect("opening the store");
        db.query_row(
            "SELECT COUNT(*) FROM spin_key_value WHERE store = 'photos'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0)
    }

    /// `total_users` as the API reports it.
    pub async fn total_users(&self) -> i64 {
        let (_, body) = self.get_json("/api/v1/users").await;
        body["total_users"].as_i64().expect("total_users")
    }
}
