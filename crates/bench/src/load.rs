//! Load: every endpoint under wrk on the app with `plan.users` users, and the hello-world
//! baseline on the same host.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use tinypng_mock::{Behaviour, MockTinify};

use crate::host::Host;
use crate::report::{LoadRow, Report, WrkStats};
use crate::{Plan, workspace_root};

/// Key shared by the bench's app and its TinyPNG mock.
const TINIFY_KEY: &str = "bench-key";
/// Key of the bench app's seed endpoint.
pub const SEED_KEY: &str = "bench-seed-key";

pub fn run(
    runtime: &tokio::runtime::Runtime,
    plan: &Plan,
    work: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mock = runtime.block_on(MockTinify::start(TINIFY_KEY, Behaviour::Normal))?;
    let state = fresh_dir(&work.join("load-state"))?;
    let runtime_config = write_runtime_config(&state)?;
    let app = Host::start(
        &workspace_root().join("spin.toml"),
        &state,
        Some(&runtime_config),
        &[
            ("seed_key", SEED_KEY.to_owned()),
            ("tinify_base_url", mock.url()),
            ("tinify_api_key", TINIFY_KEY.to_owned()),
        ],
        "/api/v1/positions",
    )?;
    report.app_startup = Some(app.startup);
    let hello = Host::start(
        &workspace_root().join("crates/bench/spin.toml"),
        &fresh_dir(&work.join("hello-state"))?,
        None,
        &[],
        "/hello",
    )?;
    report.hello_startup = Some(hello.startup);

    seed(&app.base, plan.users)?;
    let agent = ureq::Agent::new_with_defaults();
    let page: serde_json::Value = agent
        .get(&format!("{}/api/v1/users?page=1&count=6", app.base))
        .call()?
        .body_mut()
        .read_json()?;
    let user_id = page["users"][0]["id"].as_i64().context("a user")?;
    let photo_url = page["users"][0]["photo"]
        .as_str()
        .context("a photo")?
        .to_owned();
    let photo_path = photo_url
        .strip_prefix(&app.base)
        .context("photo URL on the app's origin")?
        .to_owned();

    // One token per registration the run can make; 2 requests per second per connection
    // is far above what a 1 MB upload reaches here.
    let registrations = plan.wrk_duration.as_secs().max(1) * u64::from(plan.connections) * 20;
    let tokens_file = work.join("tokens.txt");
    let mut tokens = String::new();
    for _ in 0..registrations {
        let body: serde_json::Value = agent
            .get(&format!("{}/api/v1/token", app.base))
            .call()?
            .body_mut()
            .read_json()?;
        tokens.push_str(body["token"].as_str().context("token")?);
        tokens.push('\n');
    }
    std::fs::write(&tokens_file, tokens)?;
    let upload = work.join("upload-1mb.jpeg");
    let (w, h) = if plan.photo_side.0 >= 4000 {
        (1600, 1200)
    } else {
        (400, 300)
    };
    std::fs::write(&upload, photo::samples::camera_like(w, h, 92))?;
    report.upload_bytes = std::fs::metadata(&upload)?.len();

    let users_page = "/api/v1/users?page=1&count=6".to_owned();
    let targets: Vec<(String, String, String, Option<&str>)> = vec![
        (
            "hello world (baseline)".into(),
            hello.base.clone(),
            "/hello".into(),
            None,
        ),
        (
            format!("GET {users_page}"),
            app.base.clone(),
            users_page.clone(),
            None,
        ),
        (
            "GET /api/v1/users/{id}".into(),
            app.base.clone(),
            format!("/api/v1/users/{user_id}"),
            None,
        ),
        (
            "GET /api/v1/positions".into(),
            app.base.clone(),
            "/api/v1/positions".into(),
            None,
        ),
        (
            "GET /api/v1/token".into(),
            app.base.clone(),
            "/api/v1/token".into(),
            None,
        ),
        (
            "GET /images/users/{file}".into(),
            app.base.clone(),
            photo_path,
            None,
        ),
        (
            "POST /api/v1/users (1 MB JPEG)".into(),
            app.base.clone(),
            "/".into(),
            Some("register.lua"),
        ),
    ];
    for (label, base, path, script) in targets {
        let stats = wrk(
            plan,
            &format!("{base}{path}"),
            script,
            &tokens_file,
            &upload,
        )
        .with_context(|| format!("wrk on {label}"))?;
        report.load.push(LoadRow { label, stats });
    }
    Ok(())
}

/// Seeds `users` users through the seed endpoint, 1000 per request.
pub fn seed(base: &str, users: u32) -> anyhow::Result<()> {
    let agent = ureq::Agent::new_with_defaults();
    let mut created = 0;
    while created < users {
        let count = (users - created).min(1000);
        let body: serde_json::Value = agent
            .post(&format!("{base}/api/v1/seed?count={count}"))
            .header("Seed-Key", SEED_KEY)
            .send_empty()?
            .body_mut()
            .read_json()?;
        let made = body["users_created"].as_u64().context("users_created")?;
        created += u32::try_from(made)?;
    }
    Ok(())
}

/// Runs wrk against `url`, with `script` (from crates/bench/wrk) before the report hook.
pub fn wrk(
    plan: &Plan,
    url: &str,
    script: Option<&str>,
    tokens: &Path,
    upload: &Path,
) -> anyhow::Result<WrkStats> {
    let scripts = workspace_root().join("crates/bench/wrk");
    let mut lua = String::new();
    if let Some(script) = script {
        lua.push_str(&std::fs::read_to_string(scripts.join(script))?);
    }
    lua.push_str(&std::fs::read_to_string(scripts.join("report.lua"))?);
    let script_file =
        std::env::temp_dir().join(format!("usersbypage-wrk-{}.lua", std::process::id()));
    std::fs::write(&script_file, lua)?;
    let output = Command::new("wrk")
        .arg(format!("-t{}", plan.threads))
        .arg(format!("-c{}", plan.connections))
        .arg(format!("-d{}s", plan.wrk_duration.as_secs()))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&script_file)
        .arg(url)
        .env("BENCH_TOKENS", tokens)
        .env("BENCH_PHOTO", upload)
        .env("BENCH_THREADS", plan.threads.to_string())
        .output()
        .context("running wrk (scripts/bench installs it)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let json = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WRK_JSON "))
        .with_context(|| format!("no WRK_JSON line in wrk output:\n{stdout}"))?;
    let v: serde_json::Value = serde_json::from_str(json)?;
    let get = |k: &str| v[k].as_f64().unwrap_or_default();
    Ok(WrkStats {
        requests: get("requests") as u64,
        rps: get("requests") / (get("duration_us") / 1e6).max(1e-9),
        p50_ms: get("p50_us") / 1000.0,
        p99_ms: get("p99_us") / 1000.0,
        errors: get("errors") as u64,
    })
}

pub fn fresh_dir(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(dir.to_path_buf())
}

/// The app's three key-value stores as files in `dir`.
pub fn write_runtime_config(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join("runtime-config.toml");
    let mut text = String::new();
    for label in ["tokens", "photos", "cache"] {
        text.push_str(&format!(
            "[key_value_store.{label}]\ntype = \"spin\"\npath = \"{label}.db\"\n"
        ));
    }
    std::fs::write(&path, text)?;
    Ok(path)
}
