//! The one table the suite prints (Markdown, so it pastes into the README).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::Plan;

/// What wrk measured.
#[derive(Debug, Clone, Copy)]
pub struct WrkStats {
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

pub struct LoadRow {
    pub label: String,
    pub stats: WrkStats,
}

pub struct ScaleRow {
    pub backend: String,
    pub page: String,
    pub stats: WrkStats,
}

pub struct PhotoRow {
    pub label: String,
    pub native_ms: f64,
    pub native_peak_rss: u64,
    pub component_ms: f64,
    pub component_memory: u64,
}

pub struct Report {
    plan: Plan,
    smoke: bool,
    pub sizes: Vec<(String, u64)>,
    pub app_startup: Option<Duration>,
    pub hello_startup: Option<Duration>,
    pub upload_bytes: u64,
    pub photo_bytes: u64,
    pub load: Vec<LoadRow>,
    pub scale: Vec<ScaleRow>,
    pub photo: Vec<PhotoRow>,
}

/// The components `spin.toml` serves, with their size targets.
const COMPONENTS: [(&str, u64); 6] = [
    ("token", MIB),
    ("positions", MIB),
    ("users", MIB * 5 / 2),
    ("photos", MIB),
    ("seed", MIB),
    ("site", MIB),
];
const MIB: u64 = 1024 * 1024;

pub fn component_sizes(root: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    COMPONENTS
        .iter()
        .map(|(name, _)| {
            let path = root.join(format!("target/wasm32-wasip2/release/{name}.wasm"));
            Ok((name.to_string(), std::fs::metadata(&path)?.len()))
        })
        .collect()
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / MIB as f64)
}

impl Report {
    pub fn new(plan: Plan, smoke: bool) -> Self {
        Self {
            plan,
            smoke,
            sizes: Vec::new(),
            app_startup: None,
            hello_startup: None,
            upload_bytes: 0,
            photo_bytes: 0,
            load: Vec::new(),
            scale: Vec::new(),
            photo: Vec::new(),
        }
    }

    pub fn render(&self) -> String {
        let p = &self.plan;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### usersbypage benchmarks{}\n\nwrk: {} threads, {} connections, {} s per row; host: release build of crates/host; machine: {} cores.\n",
            if self.smoke {
                " (SMOKE RUN: tiny data, numbers mean nothing)"
            } else {
                ""
            },
            p.threads,
            p.connections,
            p.wrk_duration.as_secs(),
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
        );
        let hello = self.load.first().map(|r| r.stats.rps).unwrap_or(f64::NAN);
        let _ = writeln!(
            out,
            "| Load ({} users) | req/s | p50 ms | p99 ms | errors | × hello |",
            p.users
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        for row in &self.load {
            let s = row.stats;
            let _ = writeln!(
                out,
                "| {} | {:.0} | {:.2} | {:.2} | {} of {} | {:.2} |",
                row.label,
                s.rps,
                s.p50_ms,
                s.p99_ms,
                s.errors,
                s.requests,
                s.rps / hello
            );
        }
        let _ = writeln!(
            out,
            "\n| Scale ({} users, count=6) | page | req/s | p50 ms | p99 ms | errors |",
            p.scale_users
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
        for row in &self.scale {
            let s = row.stats;
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {} |",
                row.backend, row.page, s.rps, s.p50_ms, s.p99_ms, s.errors
            );
        }
        let _ = writeln!(
            out,
            "\n| Photo pipeline (camera JPEG: {}) | native ms | native peak RSS | in component ms | component memory |",
            mib(self.photo_bytes)
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        for row in &self.photo {
            let _ = writeln!(
                out,
                "| {} | {:.1} | {} | {:.1} | {} |",
                row.label,
                row.native_ms,
                mib(row.native_peak_rss),
                row.component_ms,
                mib(row.component_memory)
            );
        }
        let _ = writeln!(out, "\n| Size and start-up | value | target |");
        let _ = writeln!(out, "|---|---:|---:|");
        for ((name, size), (_, target)) in self.sizes.iter().zip(COMPONENTS) {
            let _ = writeln!(out, "| {name}.wasm | {} | ≤ {} |", mib(*size), mib(target));
        }
        if let Some(d) = self.app_startup {
            let _ = writeln!(
                out,
                "| host start → first 200 (app, 6 components) | {} ms | |",
                d.as_millis()
            );
        }
        if let Some(d) = self.hello_startup {
            let _ = writeln!(
                out,
                "| host start → first 200 (hello world) | {} ms | |",
                d.as_millis()
            );
        }

        let users_page = self.load.get(1).map(|r| r.stats.rps / hello);
        let photo = self.photo.first().map(|r| r.component_ms);
        let sizes_ok = self
            .sizes
            .iter()
            .zip(COMPONENTS)
            .all(|((_, size), (_, target))| *size <= target);
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        let _ = writeln!(out, "\n| Target | result | |");
        let _ = writeln!(out, "|---|---:|---|");
        if let Some(ratio) = users_page {
            let _ = writeln!(
                out,
                "| users page ≥ 0.5 × hello-world req/s | {ratio:.2} × | {} |",
                verdict(ratio >= 0.5)
            );
        }
        if let Some(ms) = photo {
            let _ = writeln!(
                out,
                "| 5 MB photo in the component ≤ 90 ms | {ms:.1} ms | {} |",
                verdict(ms <= 90.0)
            );
        }
        let _ = writeln!(
            out,
            "| each component ≤ 1 MiB (users ≤ 2.5 MiB) | see sizes | {} |",
            verdict(sizes_ok)
        );
        out
    }
}
