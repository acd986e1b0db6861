//! The photo pipeline: natively (criterion's estimate and a process's peak RSS) and inside
//! a component (through the host), for a camera JPEG and a decompression-bomb header.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;

use crate::host::Host;
use crate::load::fresh_dir;
use crate::report::{PhotoRow, Report};
use crate::{Plan, workspace_root};

use domain::registration::PHOTO_MAX_BYTES as MAX_UPLOAD;

pub fn run(plan: &Plan, work: &Path, report: &mut Report) -> anyhow::Result<()> {
    let (w, h) = plan.photo_side;
    // The highest quality that stays within the upload limit: about 5 MB at 4000x3000.
    let camera = photo::samples::camera_like_within(w, h, MAX_UPLOAD)
        .context("no quality fits the upload limit")?;
    let camera_file = work.join("camera.jpeg");
    std::fs::write(&camera_file, &camera)?;
    let bomb = photo::samples::bomb_header(60_000);
    let bomb_file = work.join("bomb.jpeg");
    std::fs::write(&bomb_file, &bomb)?;
    report.photo_bytes = camera.len() as u64;

    let probe = Host::start(
        &workspace_root().join("crates/bench/spin.toml"),
        &fresh_dir(&work.join("probe-state"))?,
        None,
        &[],
        "/hello",
    )?;
    for (label, bytes, file, criterion) in [
        (
            format!("{w}x{h} JPEG"),
            &camera,
            &camera_file,
            "thumbnail_4000x3000",
        ),
        (
            "60000x60000 bomb header".to_owned(),
            &bomb,
            &bomb_file,
            "check_bomb_header",
        ),
    ] {
        let native_ms = criterion_mean_ms(criterion).unwrap_or_else(|| {
            let started = Instant::now();
            let _ = photo::thumbnail(bytes);
            started.elapsed().as_secs_f64() * 1000.0
        });
        let native_rss = peak_rss_of_child(file)?;
        let mut micros = Vec::new();
        let mut memory = 0u64;
        for _ in 0..plan.probe_runs {
            let body: serde_json::Value = ureq::post(&format!("{}/probe", probe.base))
                .send(&bytes[..])?
                .body_mut()
                .read_json()?;
            micros.push(body["micros"].as_u64().context("micros")?);
            memory = memory.max(body["memory_bytes"].as_u64().context("memory")?);
        }
        micros.sort_unstable();
        report.photo.push(PhotoRow {
            label,
            native_ms,
            native_peak_rss: native_rss,
            component_ms: micros[micros.len() / 2] as f64 / 1000.0,
            component_memory: memory,
        });
    }
    Ok(())
}

/// Mean time of a criterion benchmark in the `photo` group, if `cargo bench -p photo` ran.
fn criterion_mean_ms(name: &str) -> Option<f64> {
    let path = workspace_root().join(format!("target/criterion/photo/{name}/new/estimates.json"));
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(v["mean"]["point_estimate"].as_f64()? / 1e6)
}

fn peak_rss_of_child(file: &Path) -> anyhow::Result<u64> {
    let output = Command::new(std::env::current_exe()?)
        .arg("photo-peak-rss")
        .arg(file)
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .parse()
        .with_context(|| format!("peak RSS child said {text:?}"))
}

/// In the child: run the pipeline once and print VmHWM (peak resident set) in bytes.
pub fn peak_rss_child(file: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file)?;
    let _ = std::hint::black_box(photo::thumbnail(&bytes));
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmHWM in /proc/self/status")?;
    println!("{}", kib * 1024);
    Ok(())
}
