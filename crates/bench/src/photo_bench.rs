//! The photo pipeline on two kinds of 4000x3000 photo (camera-like, and noisy high-detail)
//! and a decompression-bomb header: natively (criterion's estimate and a process's peak
//! RSS), inside a component (through the host), and through `sharp` (libvips, the npm
//! package, a benchmark-only peer in `crates/bench/sharp`) on the same file. The quality of
//! both 70x70 results is measured as PSNR against a reference made from the full-resolution
//! decode.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use image::RgbImage;
use image::imageops::{self, FilterType};

use crate::host::Host;
use crate::load::fresh_dir;
use crate::plan::{Plan, workspace_root};
use crate::rows::{PhotoRow, Report, SharpRun};

use domain::registration::PHOTO_MAX_BYTES as MAX_UPLOAD;

pub fn run(plan: &Plan, work: &Path, report: &mut Report) -> anyhow::Result<()> {
    let (w, h) = plan.photo_side;
    // The camera-like photo at the highest quality within the upload limit (about 5 MB at
    // 4000x3000); the high-detail one at quality 90, where it also weighs about 5 MB.
    let camera = photo::samples::camera_like_within(w, h, MAX_UPLOAD)
        .context("no quality fits the upload limit")?;
    let high_detail = photo::samples::high_detail(w, h, 90);
    let bomb = photo::samples::bomb_header(60_000);

    let probe = Host::start(
        &workspace_root().join("crates/bench/spin.toml"),
        &fresh_dir(&work.join("probe-state"))?,
        None,
        &[],
        "/hello",
    )?;
    let inputs = [
        ("camera-like", camera, "thumbnail_4000x3000", true),
        ("high-detail", high_detail, "thumbnail_high_detail", true),
        ("60000x60000 bomb header", bomb, "check_bomb_header", false),
    ];
    for (kind, bytes, criterion, is_photo) in inputs {
        let file = work.join(format!("{}.jpeg", kind.replace(' ', "-")));
        std::fs::write(&file, &bytes)?;
        // Criterion's estimates are for the 4000x3000 samples: only for those inputs.
        let estimate = (plan.photo_side == (4000, 3000))
            .then(|| criterion_mean_ms(criterion))
            .flatten();
        let native_ms = estimate.unwrap_or_else(|| {
            let started = Instant::now();
            let _ = photo::thumbnail(&bytes);
            started.elapsed().as_secs_f64() * 1000.0
        });
        let native_rss = peak_rss_of_child(&file)?;
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

        let (psnr, sharp) = if is_photo {
            let reference = reference_thumbnail(&bytes)?;
            let ours = photo::thumbnail(&bytes)
                .ok()
                .map(|jpeg| psnr_db(&reference, &jpeg));
            let sharp = if plan.sharp {
                let output = work.join(format!("{kind}-sharp.jpeg"));
                let run = run_sharp(&file, &output, plan.probe_runs)?;
                let jpeg = std::fs::read(&output)?;
                Some(SharpRun {
                    psnr_db: psnr_db(&reference, &jpeg),
                    ..run
                })
            } else {
                None
            };
            (ours.flatten(), sharp)
        } else {
            (None, None)
        };
        report.photo.push(PhotoRow {
            label: if is_photo {
                format!(
                    "{kind} {w}x{h} JPEG, {:.2} MiB",
                    bytes.len() as f64 / (1 << 20) as f64
                )
            } else {
                kind.to_owned()
            },
            photo: is_photo,
            native_ms,
            native_peak_rss: native_rss,
            component_ms: micros[micros.len() / 2] as f64 / 1000.0,
            component_memory: memory,
            psnr_db: psnr,
            sharp,
        });
    }
    Ok(())
}

/// The quality reference: the full-resolution photo, centre-cropped, scaled to 70x70 with a
/// triangle filter widened to the whole reduction (every source pixel counts; no ringing).
fn reference_thumbnail(bytes: &[u8]) -> anyhow::Result<RgbImage> {
    let full = image::load_from_memory(bytes)?.to_rgb8();
    let side = full.width().min(full.height());
    let square = imageops::crop_imm(
        &full,
        (full.width() - side) / 2,
        (full.height() - side) / 2,
        side,
        side,
    )
    .to_image();
    Ok(imageops::resize(&square, 70, 70, FilterType::Triangle))
}

/// PSNR of a 70x70 JPEG against the reference, in dB over R, G and B (`None` if it does
/// not decode to 70x70).
fn psnr_db(reference: &RgbImage, jpeg: &[u8]) -> Option<f64> {
    let image = image::load_from_memory(jpeg).ok()?.to_rgb8();
    if image.dimensions() != reference.dimensions() {
        return None;
    }
    let squared: f64 = image
        .as_raw()
        .iter()
        .zip(reference.as_raw())
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    let mse = squared / image.as_raw().len() as f64;
    Some(10.0 * (255.0f64.powi(2) / mse.max(1e-12)).log10())
}

/// `node crates/bench/sharp/thumbnail.mjs` on `file`: sharp's 70x70 cover resize, `runs`
/// times after a warm-up, one libvips thread (the component has one thread too).
fn run_sharp(file: &Path, output: &Path, runs: usize) -> anyhow::Result<SharpRun> {
    let script = workspace_root().join("crates/bench/sharp/thumbnail.mjs");
    let result = Command::new("node")
        .arg(&script)
        .arg(file)
        .arg(output)
        .arg(runs.to_string())
        .output()
        .context("running node (scripts/bench installs sharp with npm ci)")?;
    anyhow::ensure!(
        result.status.success(),
        "sharp failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&result.stdout)?;
    Ok(SharpRun {
        median_ms: v["median_ms"].as_f64().context("median_ms")?,
        peak_rss: v["peak_rss_bytes"].as_u64().context("peak_rss_bytes")?,
        psnr_db: None,
        version: format!(
            "sharp {} (libvips {})",
            v["sharp"].as_str().unwrap_or("?"),
            v["libvips"].as_str().unwrap_or("?")
        ),
    })
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
