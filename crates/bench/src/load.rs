//! Load: every endpoint under wrk on the app with `plan.users` users, at 16 connections and
//! at one keep-alive connection, beside a hello-world component on the same host; instances
//! reused (Spin's default) against one instance per request; the users page on pooled
//! PostgreSQL; the same endpoints on the WASI 0.2 build; and two host processes sharing
//! PostgreSQL and Redis. Then, for each real Spin CLI given, the same endpoints (both
//! builds, SQLite and the PostgreSQL users page) and hello world on copies of the same data:
//! the figures `spin up` users get.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use tinypng_mock::{Behaviour, MockTinify};

use crate::host::{Host, Server};
use crate::plan::{Plan, workspace_root};
use crate::rows::{
    LoadRow, PeerLoad, ReadsWhileRegistering, Report, SpinLoad, TokenFlood, USERS_PAGE, WrkStats,
};

/// Key shared by the bench's app and its TinyPNG mock.
pub const TINIFY_KEY: &str = "bench-key";
/// Key of the bench app's seed endpoint.
pub const SEED_KEY: &str = "bench-seed-key-8f3e21b7";
/// Spin's flag for one fresh instance per request.
const ONE_INSTANCE_PER_REQUEST: [&str; 2] = ["--max-instance-reuse-count", "1"];
/// The PostgreSQL schema the load runs use in database `test`.
const PG_SCHEMA: &str = "bench_load";
const PG_ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";
/// Redis databases of the two-host run (one per store label; Redis stores share keys).
const REDIS_STORES: [(&str, u8); 3] = [("tokens", 4), ("photos", 5), ("cache", 6)];
const REDIS: &str = "redis://127.0.0.1:6379";

/// How many connections a wrk run keeps open.
#[derive(Debug, Clone, Copy)]
pub enum Connections {
    /// `plan.connections` over `plan.threads` threads.
    Many,
    /// One keep-alive connection, one request at a time: what one browser tab waits for.
    One,
}

pub fn run(
    runtime: &tokio::runtime::Runtime,
    plan: &Plan,
    work: &Path,
    spins: &[Server],
    peer: Option<&str>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mock = runtime.block_on(MockTinify::start(TINIFY_KEY, Behaviour::Normal))?;
    let app_variables = app_variables(&mock);
    let state = fresh_dir(&work.join("load-state"))?;
    let runtime_config = write_runtime_config(&state)?;
    let app = Host::start(
        &spin_toml(),
        &state,
        Some(&runtime_config),
        &app_variables,
        "/api/v1/positions",
    )?;
    report.app_startup = Some(app.startup);
    let hello_manifest = workspace_root().join("crates/bench/spin.toml");
    let hello = Host::start(
        &hello_manifest,
        &fresh_dir(&work.join("hello-state"))?,
        None,
        &[],
        "/hello",
    )?;
    report.hello_startup = Some(hello.startup);

    seed(&app.base, plan.users)?;
    let (user_id, photo_path) = a_user(&app.base)?;
    let tokens_file = work.join("tokens.txt");
    let upload = work.join("upload-1mb.jpeg");
    let (w, h) = if plan.photo_side.0 >= 4000 {
        (1600, 1200)
    } else {
        (400, 300)
    };
    std::fs::write(&upload, photo::samples::camera_like(w, h, 92))?;
    report.upload_bytes = std::fs::metadata(&upload)?.len();
    let camera = write_camera_photo(plan, work)?;
    let taken_phones = work.join("load-taken-phones.txt");
    write_taken_phones(&app.base, &taken_phones)?;
    let inputs = Inputs {
        tokens: tokens_file,
        upload,
        paths: String::new(),
        taken_phones,
    };

    let hello_row = measure(plan, &inputs, Target::Ours(&hello), &Endpoint::hello())?;
    report.load.push(hello_row);
    let endpoints = app_endpoints(user_id, &photo_path);
    for endpoint in &endpoints {
        report
            .load
            .push(measure(plan, &inputs, Target::Ours(&app), endpoint)?);
    }
    report.token_flood = Some(token_flood(plan, &inputs, &app.base, &state)?);
    report.reads_while_registering =
        Some(reads_while_registering(plan, &inputs, &camera, &app.base)?);

    // The same app and hello world with a fresh instance for every request.
    report.hello_one_instance_per_request = Some(one_instance_per_request(
        plan,
        &hello_manifest,
        work,
        "hello",
        None,
        &[],
        "/hello",
    )?);
    drop(hello);
    drop(app); // its files are copied for the next runs

    // The same endpoints and data on the WASI 0.2 build (spin-wasi02.toml), which Spin
    // serves with one instance per request.
    let wasi02_state = copy_of_state(&runtime_config, &work.join("load-wasi02"))?;
    let wasi02 = Host::start(
        &workspace_root().join("spin-wasi02.toml"),
        &wasi02_state,
        Some(&wasi02_state.join("runtime-config.toml")),
        &app_variables,
        "/api/v1/positions",
    )?;
    report.wasi02_startup = Some(wasi02.startup);
    for endpoint in &endpoints {
        report
            .load_wasi02
            .push(measure(plan, &inputs, Target::Ours(&wasi02), endpoint)?);
    }
    drop(wasi02);

    // What each read asks of the platform, on both builds (the host counts; see host_calls).
    let reads: Vec<(String, String)> = endpoints
        .iter()
        .filter(|e| e.script.is_none())
        .map(|e| (e.label.clone(), e.path.clone()))
        .collect();
    let calls_wasi03 = copy_of_state(&runtime_config, &work.join("calls-wasi03"))?;
    let calls_wasi02 = copy_of_state(&runtime_config, &work.join("calls-wasi02"))?;
    report.host_calls = crate::host_calls::count(
        (&spin_toml(), &calls_wasi03),
        (&workspace_root().join("spin-wasi02.toml"), &calls_wasi02),
        &app_variables,
        &reads,
    )?;

    report.users_one_instance_per_request = Some(one_instance_per_request(
        plan,
        &spin_toml(),
        work,
        "app",
        Some(&runtime_config),
        &app_variables,
        USERS_PAGE,
    )?);

    // The users page on PostgreSQL, through the host's connection pool.
    let database_url = runtime.block_on(fresh_pg_schema())?;
    let mut pg_variables = app_variables.clone();
    pg_variables.push(("database_url", database_url));
    let state = fresh_dir(&work.join("load-postgres"))?;
    let pg_app = Host::start(
        &spin_toml(),
        &state,
        Some(&write_runtime_config(&state)?),
        &pg_variables,
        "/api/v1/positions",
    )?;
    seed(&pg_app.base, plan.users)?;
    report.postgres_users_page = Some(measure(
        plan,
        &inputs,
        Target::Ours(&pg_app),
        &Endpoint::postgres_users_page(),
    )?);
    let (user_id, _) = a_user(&pg_app.base)?;
    drop(pg_app);

    // Every row again under real Spin, on copies of the same data.
    let seeded = Seeded {
        runtime_config: &runtime_config,
        app_variables: &app_variables,
        pg_variables: &pg_variables,
        hello_manifest: &hello_manifest,
        endpoints: &endpoints,
        inputs: &inputs,
        camera: &camera,
    };
    for server in spins {
        report.spin.push(on_spin(plan, work, server, &seeded)?);
    }
    if let Some(peer) = peer {
        report.peer = Some(peer_rows(plan, &inputs, peer)?);
    }

    // Two host processes on the same PostgreSQL schema and Redis stores, loaded together.
    flush_redis()?;
    let state = fresh_dir(&work.join("load-two-hosts"))?;
    let redis_config = state.join("runtime-config.toml");
    std::fs::write(&redis_config, redis_runtime_config())?;
    let hosts = [
        Host::start(
            &spin_toml(),
            &state.join("one"),
            Some(&redis_config),
            &pg_variables,
            "/api/v1/positions",
        )?,
        Host::start(
            &spin_toml(),
            &state.join("other"),
            Some(&redis_config),
            &pg_variables,
            "/api/v1/positions",
        )?,
    ];
    let inputs = Inputs {
        paths: format!("{USERS_PAGE} /api/v1/users/{user_id} /api/v1/positions /api/v1/token"),
        ..inputs
    };
    let results: Vec<anyhow::Result<WrkStats>> = std::thread::scope(|scope| {
        let runs: Vec<_> = hosts
            .iter()
            .map(|host| {
                let url = format!("{}/", host.base);
                let inputs = &inputs;
                scope.spawn(move || {
                    wrk(
                        &Plan {
                            connections: (plan.connections / 2).max(1),
                            threads: 1,
                            ..*plan
                        },
                        Connections::Many,
                        &url,
                        Some("mixed.lua"),
                        inputs,
                    )
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| {
                run.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("wrk thread panicked")))
            })
            .collect()
    });
    let mut both = Vec::new();
    for result in results {
        both.push(result?);
    }
    report.two_hosts = Some(WrkStats::combined(&both));
    Ok(())
}

/// The app's variables in every bench run: the seed endpoint on, TinyPNG at `mock`.
fn app_variables(mock: &MockTinify) -> Vec<(&'static str, String)> {
    vec![
        ("seed_key", SEED_KEY.to_owned()),
        ("tinify_base_url", mock.url()),
        ("tinify_api_key", TINIFY_KEY.to_owned()),
    ]
}

/// What the real-Spin rows reuse from the host's runs: the seeded files and schema.
struct Seeded<'a> {
    /// The seeded SQLite state's runtime config (its folder is copied for each run).
    runtime_config: &'a Path,
    app_variables: &'a [(&'a str, String)],
    /// The app's variables with the seeded PostgreSQL schema's `database_url`.
    pg_variables: &'a [(&'a str, String)],
    hello_manifest: &'a Path,
    endpoints: &'a [Endpoint],
    inputs: &'a Inputs,
    /// The camera photo of the "reads while registering" rows.
    camera: &'a Path,
}

/// Hello world, every endpoint on both builds (SQLite), and the users page on PostgreSQL
/// on both builds, all served by `server`.
fn on_spin(
    plan: &Plan,
    work: &Path,
    server: &Server,
    seeded: &Seeded<'_>,
) -> anyhow::Result<SpinLoad> {
    let dir = work.join(
        server
            .label
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
    );
    let start = |manifest: &Path,
                 state: &Path,
                 config: Option<&Path>,
                 variables: &[(&str, String)],
                 probe: &str| {
        Host::start_on(server, manifest, state, config, variables, &[], probe)
            .with_context(|| format!("starting {} on {}", manifest.display(), server.label))
    };
    let hello = start(
        seeded.hello_manifest,
        &fresh_dir(&dir.join("hello"))?,
        None,
        &[],
        "/hello",
    )?;
    let hello_row = measure(
        plan,
        seeded.inputs,
        Target::Ours(&hello),
        &Endpoint::hello(),
    )?;
    drop(hello);

    // The endpoints on SQLite; then, if `flood`, the token flood and the reads while
    // registering on the same app.
    type Extras = Option<(TokenFlood, ReadsWhileRegistering)>;
    let sqlite_rows =
        |manifest: &Path, name: &str, flood: bool| -> anyhow::Result<(Vec<LoadRow>, Extras)> {
            let state = copy_of_state(seeded.runtime_config, &dir.join(name))?;
            let config = state.join("runtime-config.toml");
            let app = start(
                manifest,
                &state,
                Some(&config),
                seeded.app_variables,
                "/api/v1/positions",
            )?;
            let rows = seeded
                .endpoints
                .iter()
                .map(|endpoint| measure(plan, seeded.inputs, Target::Ours(&app), endpoint))
                .collect::<anyhow::Result<_>>()?;
            let extras = flood
                .then(|| -> anyhow::Result<_> {
                    Ok((
                        token_flood(plan, seeded.inputs, &app.base, &state)?,
                        reads_while_registering(plan, seeded.inputs, seeded.camera, &app.base)?,
                    ))
                })
                .transpose()?;
            Ok((rows, extras))
        };
    let postgres_row = |manifest: &Path, name: &str| -> anyhow::Result<LoadRow> {
        let state = fresh_dir(&dir.join(name))?;
        let config = write_runtime_config(&state)?;
        let app = start(
            manifest,
            &state,
            Some(&config),
            seeded.pg_variables,
            "/api/v1/positions",
        )?;
        measure(
            plan,
            seeded.inputs,
            Target::Ours(&app),
            &Endpoint::postgres_users_page(),
        )
    };
    let wasi02_toml = workspace_root().join("spin-wasi02.toml");
    let (wasi03, extras) = sqlite_rows(&spin_toml(), "wasi03", true)?;
    let (token_flood, reads_while_registering) =
        extras.context("the WASI 0.3 rows flood the token endpoint")?;
    Ok(SpinLoad {
        server: server.label.clone(),
        hello: hello_row,
        wasi03,
        postgres: postgres_row(&spin_toml(), "wasi03-postgres")?,
        wasi02: sqlite_rows(&wasi02_toml, "wasi02", false)?.0,
        postgres_wasi02: postgres_row(&wasi02_toml, "wasi02-postgres")?,
        token_flood,
        reads_while_registering,
    })
}

/// The same read rows, and the token endpoint, on a peer implementation of the contract
/// (the NestJS original) at `base`, which the caller has seeded: each row once to warm the
/// peer up (a JIT gets faster), then measured as ours are. The demo site and registration
/// are left out: the peer has no such site, and its tokens are its own.
fn peer_rows(plan: &Plan, inputs: &Inputs, base: &str) -> anyhow::Result<PeerLoad> {
    let base = base.trim_end_matches('/');
    // Our paths on the peer: the API's under its API root, photos as the peer names them.
    let api_root = peer_api_root(base)?;
    let on_peer = |path: &str| match path.strip_prefix(API) {
        Some(rest) => format!("{api_root}{rest}"),
        None => path.to_owned(),
    };
    let page: serde_json::Value = ureq::get(&format!("{base}{}", on_peer(USERS_PAGE)))
        .call()
        .with_context(|| format!("the peer's users page at {base}"))?
        .body_mut()
        .read_json()?;
    let user_id = page["users"][0]["id"]
        .as_i64()
        .context("the peer lists no user: seed it first")?;
    let photo_url = page["users"][0]["photo"].as_str().context("a photo")?;
    // The photo's path, whatever origin the peer puts in front of it.
    let photo_path = photo_url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|slash| rest[slash..].to_owned()))
        .context("the peer's photo URL")?;
    let endpoints: Vec<Endpoint> = app_endpoints(user_id, &photo_path)
        .into_iter()
        .filter(|e| e.script.is_none() && e.path != "/")
        .map(|e| Endpoint {
            path: on_peer(&e.path),
            ..e
        })
        .collect();
    for endpoint in &endpoints {
        wrk(
            plan,
            Connections::Many,
            &format!("{base}{}", endpoint.path),
            None,
            inputs,
        )
        .with_context(|| format!("warming the peer up on {}", endpoint.label))?;
    }
    let rows = endpoints
        .iter()
        .map(|endpoint| measure(plan, inputs, Target::Peer(base), endpoint))
        .collect::<anyhow::Result<_>>()?;
    Ok(PeerLoad {
        url: base.to_owned(),
        rows,
    })
}

/// The contract's API root.
const API: &str = "/api/v1";

/// Where a peer's API lives under its origin `base`: `/api/v1`, as the contract has it, or
/// the root (`""`), as the NestJS original serves it (its README's route table).
pub fn peer_api_root(base: &str) -> anyhow::Result<&'static str> {
    let base = base.trim_end_matches('/');
    for root in [API, ""] {
        if ureq::get(&format!("{base}{root}/positions"))
            .call()
            .is_ok_and(|r| r.status() == 200)
        {
            return Ok(root);
        }
    }
    anyhow::bail!("no positions at {base}{API}/positions or {base}/positions: is the peer running?")
}

/// Tokens from the app at `base`, `plan.connections` at a time, until `plan.token_flood`
/// have been issued (at least one wrk run), and the entries of the `tokens` store kept in
/// `state` (a Spin SQLite key-value file beside the runtime config) before and after.
fn token_flood(
    plan: &Plan,
    inputs: &Inputs,
    base: &str,
    state: &Path,
) -> anyhow::Result<TokenFlood> {
    let entries = || -> anyhow::Result<i64> {
        let store = rusqlite::Connection::open_with_flags(
            state.join("tokens.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .context("opening the tokens store's file")?;
        Ok(store.query_row(
            "SELECT COUNT(*) FROM spin_key_value WHERE store = 'tokens'",
            [],
            |row| row.get(0),
        )?)
    };
    let before = entries()?;
    let url = format!("{base}/api/v1/token");
    let mut issued = 0;
    // Bounded, for a server far slower than expected: 20 runs.
    for _ in 0..20 {
        let run = wrk(plan, Connections::Many, &url, None, inputs)?;
        anyhow::ensure!(run.errors == 0, "{} errors in the token flood", run.errors);
        issued += run.requests;
        if issued >= plan.token_flood {
            break;
        }
    }
    Ok(TokenFlood {
        issued,
        before,
        after: entries()?,
    })
}

/// What a phone sends, for the "reads while registering" rows: a camera-like JPEG of the
/// plan's size, at most 4 MiB so the app decodes it (the contract refuses more than 5 MB
/// before any decoding).
fn write_camera_photo(plan: &Plan, work: &Path) -> anyhow::Result<PathBuf> {
    const CAMERA_PHOTO_BYTES: usize = 4 << 20;
    let camera = work.join("upload-camera.jpeg");
    let jpeg = photo::samples::camera_like_within(
        plan.photo_side.0,
        plan.photo_side.1,
        CAMERA_PHOTO_BYTES,
    )
    .context("no camera-like JPEG fits in 4 MiB")?;
    std::fs::write(&camera, jpeg)?;
    Ok(camera)
}

/// Only the "reads while registering" rows: on the app of `manifest` (10,000 users, SQLite)
/// served by the host and by each real Spin given. To compare designs quickly, e.g. before
/// and after registration moved to its own component (`--manifest` of an older checkout).
pub fn reads_while_registering_only(
    runtime: &tokio::runtime::Runtime,
    plan: &Plan,
    work: &Path,
    manifest: &Path,
    spins: &[Server],
) -> anyhow::Result<Vec<(String, ReadsWhileRegistering)>> {
    let mock = runtime.block_on(MockTinify::start(TINIFY_KEY, Behaviour::Normal))?;
    let variables = app_variables(&mock);
    let state = fresh_dir(&work.join("mixed-state"))?;
    let runtime_config = write_runtime_config(&state)?;
    let camera = write_camera_photo(plan, work)?;
    let app = Host::start(
        manifest,
        &state,
        Some(&runtime_config),
        &variables,
        "/api/v1/positions",
    )?;
    seed(&app.base, plan.users)?;
    let taken_phones = work.join("mixed-taken-phones.txt");
    write_taken_phones(&app.base, &taken_phones)?;
    let inputs = Inputs {
        tokens: work.join("mixed-tokens.txt"),
        upload: camera.clone(),
        paths: String::new(),
        taken_phones,
    };
    let mut rows = vec![(
        "host".to_owned(),
        reads_while_registering(plan, &inputs, &camera, &app.base)?,
    )];
    drop(app);
    for server in spins {
        let state = copy_of_state(&runtime_config, &work.join("mixed-spin"))?;
        let app = Host::start_on(
            server,
            manifest,
            &state,
            Some(&state.join("runtime-config.toml")),
            &variables,
            &[],
            "/api/v1/positions",
        )?;
        rows.push((
            server.label.clone(),
            reads_while_registering(plan, &inputs, &camera, &app.base)?,
        ));
    }
    Ok(rows)
}

/// The users page at many connections while one client registers `camera` photos one after
/// another, against the users page alone on the same app just before: whether reads wait
/// behind photo work (docs/design.md, "Reads never wait behind photos").
fn reads_while_registering(
    plan: &Plan,
    inputs: &Inputs,
    camera: &Path,
    base: &str,
) -> anyhow::Result<ReadsWhileRegistering> {
    let reads = format!("{base}{USERS_PAGE}");
    let alone = wrk(plan, Connections::Many, &reads, None, inputs)
        .context("wrk on the users page alone")?;
    write_tokens(base, plan, &inputs.tokens)?;
    let registering = Inputs {
        upload: camera.to_path_buf(),
        ..inputs.clone()
    };
    let registration_url = format!("{base}/");
    let (during, registrations) = std::thread::scope(|scope| {
        let registrations = scope.spawn(|| {
            wrk(
                plan,
                Connections::One,
                &registration_url,
                Some("register.lua"),
                &registering,
            )
        });
        let during = wrk(plan, Connections::Many, &reads, None, inputs);
        let registrations = registrations
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("wrk thread panicked")));
        (during, registrations)
    });
    Ok(ReadsWhileRegistering {
        photo_bytes: std::fs::metadata(camera)?.len(),
        alone,
        during: during.context("wrk on the users page while registering")?,
        registrations: registrations.context("wrk registering camera photos")?,
    })
}

/// One endpoint of a load table.
struct Endpoint {
    label: String,
    path: String,
    /// A wrk script from crates/bench/wrk; `register.lua` needs fresh tokens per run.
    script: Option<&'static str>,
}

impl Endpoint {
    /// The hello-world component's one route: every load table's baseline.
    fn hello() -> Self {
        Self {
            label: "hello world (baseline)".into(),
            path: "/hello".into(),
            script: None,
        }
    }

    /// The users page, on an app started with PostgreSQL as its database.
    fn postgres_users_page() -> Self {
        Self {
            label: format!("GET {USERS_PAGE} on PostgreSQL"),
            path: USERS_PAGE.into(),
            script: None,
        }
    }
}

/// The app's endpoints the load tables measure, the users page first.
fn app_endpoints(user_id: i64, photo_path: &str) -> Vec<Endpoint> {
    let endpoint = |label: &str, path: &str| Endpoint {
        label: label.to_owned(),
        path: path.to_owned(),
        script: None,
    };
    vec![
        endpoint(&format!("GET {USERS_PAGE}"), USERS_PAGE),
        endpoint(
            "GET /api/v1/users/{id}",
            &format!("/api/v1/users/{user_id}"),
        ),
        endpoint("GET /api/v1/positions", "/api/v1/positions"),
        endpoint("GET /api/v1/token", "/api/v1/token"),
        endpoint("GET /images/users/{file}", photo_path),
        endpoint("GET / (demo site)", "/"),
        Endpoint {
            label: "POST /api/v1/users (1 MB JPEG)".into(),
            path: "/".into(),
            script: Some("register.lua"),
        },
    ]
}

/// What a load row is measured on.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// A server this process started, whose CPU time it can watch too.
    Ours(&'a Host),
    /// A peer implementation at this base URL, running elsewhere.
    Peer(&'a str),
}

/// `endpoint` on `target`, at many connections and at one; on our own server, with its CPU
/// time per request in the many-connection run.
fn measure(
    plan: &Plan,
    inputs: &Inputs,
    target: Target<'_>,
    endpoint: &Endpoint,
) -> anyhow::Result<LoadRow> {
    let (base, server) = match target {
        Target::Ours(host) => (host.base.as_str(), Some(host)),
        Target::Peer(base) => (base, None),
    };
    let url = format!("{base}{}", endpoint.path);
    let run = |connections| {
        if endpoint.script.is_some() {
            // Fresh tokens for every registration run: a used token would fail.
            write_tokens(base, plan, &inputs.tokens)?;
        }
        wrk(plan, connections, &url, endpoint.script, inputs)
            .with_context(|| format!("wrk on {} ({connections:?})", endpoint.label))
    };
    let (many, cpu_us_per_request) = with_server_cpu(server, || run(Connections::Many))?;
    Ok(LoadRow {
        label: endpoint.label.clone(),
        photo_upload: endpoint.script.is_some(),
        many,
        one: run(Connections::One)?,
        cpu_us_per_request,
    })
}

/// Runs `load` and, if `server` is given, divides the CPU time the server used meanwhile by
/// the requests `load` made.
fn with_server_cpu(
    server: Option<&Host>,
    load: impl FnOnce() -> anyhow::Result<WrkStats>,
) -> anyhow::Result<(WrkStats, Option<f64>)> {
    let Some(server) = server else {
        return Ok((load()?, None));
    };
    let before = server.cpu_time()?;
    let stats = load()?;
    let used = server.cpu_time()?.saturating_sub(before);
    let per_request = used.as_secs_f64() * 1e6 / stats.requests.max(1) as f64;
    Ok((stats, Some(per_request)))
}

/// A fresh state directory holding a copy of the files beside `runtime_config` (the
/// seeded stores and database, and the config itself), so another host reads the same data.
fn copy_of_state(runtime_config: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    let state = fresh_dir(dir)?;
    let seeded = runtime_config
        .parent()
        .context("the runtime config's directory")?;
    for entry in std::fs::read_dir(seeded)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), state.join(entry.file_name()))?;
        }
    }
    Ok(state)
}

/// Files and values the wrk scripts read.
#[derive(Clone)]
pub struct Inputs {
    /// One registration token per line (`register.lua`).
    pub tokens: PathBuf,
    /// The JPEG the registering scripts upload (`registration.lua`).
    pub upload: PathBuf,
    /// Space-separated paths `mixed.lua` cycles through.
    pub paths: String,
    /// The phones the app's users already have, one per line (`registration.lua`).
    pub taken_phones: PathBuf,
}

impl Inputs {
    /// For runs whose scripts read nothing.
    pub fn none() -> Self {
        Self {
            tokens: "/dev/null".into(),
            upload: "/dev/null".into(),
            paths: String::new(),
            taken_phones: "/dev/null".into(),
        }
    }
}

fn spin_toml() -> PathBuf {
    workspace_root().join("spin.toml")
}

/// `path` on a host started with `--max-instance-reuse-count 1`, at 16 connections.
fn one_instance_per_request(
    plan: &Plan,
    manifest: &Path,
    work: &Path,
    name: &str,
    runtime_config: Option<&Path>,
    variables: &[(&str, String)],
    path: &str,
) -> anyhow::Result<WrkStats> {
    let dir = work.join(format!("{name}-one-instance-per-request"));
    // The app reads the data the reused run seeded: same files, copied.
    let state = match runtime_config {
        Some(config) => copy_of_state(config, &dir)?,
        None => fresh_dir(&dir)?,
    };
    let config = runtime_config.map(|_| state.join("runtime-config.toml"));
    let host = Host::start_with(
        manifest,
        &state,
        config.as_deref(),
        variables,
        &ONE_INSTANCE_PER_REQUEST,
        path,
    )?;
    wrk(
        plan,
        Connections::Many,
        &format!("{}{path}", host.base),
        None,
        &Inputs::none(),
    )
}

/// A user's id and photo path, from the first page.
pub fn a_user(base: &str) -> anyhow::Result<(i64, String)> {
    let page: serde_json::Value = ureq::get(&format!("{base}{USERS_PAGE}"))
        .call()?
        .body_mut()
        .read_json()?;
    let user_id = page["users"][0]["id"].as_i64().context("a user")?;
    let photo_url = page["users"][0]["photo"].as_str().context("a photo")?;
    let photo_path = photo_url
        .strip_prefix(base)
        .context("photo URL on the app's origin")?
        .to_owned();
    Ok((user_id, photo_path))
}

/// Writes every phone the users of the app at `base` have, one per line, to `file`, for
/// the registering scripts to steer clear of (`registration.lua` says why).
pub fn write_taken_phones(base: &str, file: &Path) -> anyhow::Result<()> {
    let agent = ureq::Agent::new_with_defaults();
    let mut phones = String::new();
    let mut next = Some(format!("{base}/api/v1/users?page=1&count=100"));
    while let Some(url) = next {
        let page: serde_json::Value = agent.get(&url).call()?.body_mut().read_json()?;
        for user in page["users"].as_array().context("a users page")? {
            phones.push_str(user["phone"].as_str().context("a user's phone")?);
            phones.push('\n');
        }
        next = page["links"]["next_url"].as_str().map(str::to_owned);
    }
    std::fs::write(file, phones)?;
    Ok(())
}

/// Registrations per second a run is given tokens for: several times what the photo
/// pipeline allows on this machine even for the smoke run's small upload. A run that uses
/// them all reports failures rather than reusing one.
const TOKENS_PER_SECOND: u64 = 500;

/// Fresh tokens for one registration run, one per line, in `file` (read by `register.lua`).
fn write_tokens(base: &str, plan: &Plan, file: &Path) -> anyhow::Result<()> {
    let registrations = plan.wrk_duration.as_secs().max(1) * TOKENS_PER_SECOND + 100;
    let agent = ureq::Agent::new_with_defaults();
    let mut tokens = String::new();
    for _ in 0..registrations {
        let body: serde_json::Value = agent
            .get(&format!("{base}/api/v1/token"))
            .call()?
            .body_mut()
            .read_json()?;
        tokens.push_str(body["token"].as_str().context("token")?);
        tokens.push('\n');
    }
    std::fs::write(file, tokens)?;
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
    connections: Connections,
    url: &str,
    script: Option<&str>,
    inputs: &Inputs,
) -> anyhow::Result<WrkStats> {
    let (threads, connections) = match connections {
        Connections::Many => (plan.threads, plan.connections),
        Connections::One => (1, 1),
    };
    let scripts = workspace_root().join("crates/bench/wrk");
    let mut lua = std::fs::read_to_string(scripts.join("registration.lua"))?;
    if let Some(script) = script {
        lua.push_str(&std::fs::read_to_string(scripts.join(script))?);
    }
    lua.push_str(&std::fs::read_to_string(scripts.join("report.lua"))?);
    let script_file = tempfile_path("wrk", "lua");
    std::fs::write(&script_file, lua)?;
    let output = Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", plan.wrk_duration.as_secs()))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&script_file)
        .arg(url)
        .env("BENCH_TOKENS", &inputs.tokens)
        .env("BENCH_PHOTO", &inputs.upload)
        .env("BENCH_PATHS", &inputs.paths)
        .env("BENCH_TAKEN_PHONES", &inputs.taken_phones)
        .env("BENCH_THREADS", threads.to_string())
        .env("BENCH_RUN", next_run().to_string())
        .output()
        .context("running wrk (scripts/bench installs it)")?;
    let _ = std::fs::remove_file(&script_file);
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

/// A number for each wrk run of this process, so that scripts can make unique data.
fn next_run() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static RUN: AtomicU32 = AtomicU32::new(0);
    RUN.fetch_add(1, Ordering::Relaxed)
}

/// A path for a temporary file unique to this call.
fn tempfile_path(stem: &str, extension: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "usersbypage-{stem}-{}-{}.{extension}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

pub fn fresh_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(dir.to_path_buf())
}

/// The app's three key-value stores as files in `dir`.
pub fn write_runtime_config(dir: &Path) -> anyhow::Result<PathBuf> {
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

/// The three stores on Redis, one database each, as in `deploy/runtime-config.toml`.
pub fn redis_runtime_config() -> String {
    REDIS_STORES
        .iter()
        .map(|(label, db)| {
            format!("[key_value_store.{label}]\ntype = \"redis\"\nurl = \"{REDIS}/{db}\"\n")
        })
        .collect()
}

pub fn flush_redis() -> anyhow::Result<()> {
    for (_, db) in REDIS_STORES {
        let status = Command::new("redis-cli")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                "6379",
                "-n",
                &db.to_string(),
                "FLUSHDB",
            ])
            .status()
            .context("redis-cli (Redis on 127.0.0.1:6379 is needed for the two-host run)")?;
        anyhow::ensure!(status.success(), "FLUSHDB failed on Redis database {db}");
    }
    Ok(())
}

/// An empty schema for the PostgreSQL load runs; the `database_url` that selects it.
pub async fn fresh_pg_schema() -> anyhow::Result<String> {
    let (client, connection) = tokio_postgres::connect(PG_ADMIN, tokio_postgres::NoTls)
        .await
        .context("PostgreSQL at 127.0.0.1:5432, database test")?;
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA};"
        ))
        .await?;
    Ok(format!(
        "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&options=-c%20search_path%3D{PG_SCHEMA}"
    ))
}
