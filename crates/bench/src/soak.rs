//! The soak: one host on the production shape (PostgreSQL users, Redis stores, instances
//! reused as Spin does) under reads and registrations mixed, at many connections, for many
//! minutes in a row. Each window's throughput and latency, and the host's resident memory
//! after each, show whether anything builds up: errors, latency, memory.

use std::path::Path;

use tinypng_mock::{Behaviour, MockTinify};

use crate::host::Host;
use crate::load::{self, Connections, Inputs, SEED_KEY, TINIFY_KEY};
use crate::plan::{Plan, workspace_root};
use crate::rows::{Report, SoakWindow};

pub fn run(
    runtime: &tokio::runtime::Runtime,
    plan: &Plan,
    work: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    if plan.soak_windows == 0 {
        return Ok(());
    }
    let mock = runtime.block_on(MockTinify::start(TINIFY_KEY, Behaviour::Normal))?;
    let database_url = runtime.block_on(load::fresh_pg_schema())?;
    load::flush_redis()?;
    let state = load::fresh_dir(&work.join("soak"))?;
    let runtime_config = state.join("runtime-config.toml");
    std::fs::write(&runtime_config, load::redis_runtime_config())?;
    let host = Host::start(
        &workspace_root().join("spin.toml"),
        &state,
        Some(&runtime_config),
        &[
            ("database_url", database_url),
            ("seed_key", SEED_KEY.to_owned()),
            ("tinify_base_url", mock.url()),
            ("tinify_api_key", TINIFY_KEY.to_owned()),
        ],
        "/api/v1/positions",
    )?;
    load::seed(&host.base, plan.users)?;
    let (user_id, photo_path) = load::a_user(&host.base)?;
    let upload = work.join("soak-upload.jpeg");
    std::fs::write(&upload, photo::samples::camera_like(400, 300, 92))?;
    let taken_phones = work.join("soak-taken-phones.txt");
    load::write_taken_phones(&host.base, &taken_phones)?;
    let inputs = Inputs {
        tokens: "/dev/null".into(),
        upload,
        taken_phones,
        paths: format!(
            "/api/v1/users?page=1&count=6 /api/v1/users/{user_id} /api/v1/positions {photo_path} /api/v1/users?page=3&count=6"
        ),
    };
    let window = Plan {
        connections: plan.soak_connections,
        wrk_duration: plan.soak_window,
        ..*plan
    };
    report.soak_rss_start = Some(host.rss()?);
    for _ in 0..plan.soak_windows {
        let stats = load::wrk(
            &window,
            Connections::Many,
            &format!("{}/", host.base),
            Some("soak.lua"),
            &inputs,
        )?;
        report.soak.push(SoakWindow {
            stats,
            rss: host.rss()?,
        });
    }
    Ok(())
}
