//! `usersbypage-bench`: the benchmark suite, printed as one table. Run it through
//! `scripts/bench` (which builds everything in release mode and installs `wrk`).
//!
//! - Load: each endpoint under `wrk` on the app with 10,000 users, and a hello-world
//!   component on the same host as the baseline.
//! - Scale: the users page at the first, a middle and the last page with 1,000,000 users,
//!   on SQLite and on PostgreSQL.
//! - Photo pipeline: two kinds of ~5 MB 4000x3000 JPEG and a decompression-bomb header,
//!   natively (criterion's estimate, peak RSS of a process doing only that), inside a
//!   component, and through sharp on the same files, with each result's PSNR.
//! - Sizes of the `.wasm` components and the host's time from start to first 200.
//!
//! `--smoke` runs everything on tiny data for a few seconds, to keep the suite working in CI.

mod host;
mod host_calls;
mod hostile;
mod load;
mod photo_bench;
mod plan;
mod report;
mod rows;
mod scale;
mod soak;

use std::path::{Path, PathBuf};

use clap::Parser;

use crate::plan::{Plan, workspace_root};
use crate::rows::{HostileRows, Report};

#[derive(Parser)]
#[command(about = "Load, scale, photo-pipeline and size figures for usersbypage")]
struct Args {
    /// Seconds, tiny data: check that the suite works, not what it measures.
    #[arg(long)]
    smoke: bool,
    /// A real Spin CLI (≥ 4.1) to run the load rows on as well.
    #[arg(long)]
    spin: Option<PathBuf>,
    /// A Spin CLI with `TCP_NODELAY` behind `SPIN_TCP_NODELAY=1` (../shared/spin's
    /// 4.1.0-pre0-nodelay build), to show that one change beside stock Spin.
    #[arg(long)]
    spin_nodelay: Option<PathBuf>,
    /// Another implementation of the contract (the NestJS original), already running and
    /// seeded: its read rows are measured after a warm-up and set beside ours.
    #[arg(long)]
    peer: Option<String>,
    /// Only the "reads while registering" rows, on the host and each Spin given.
    #[arg(long)]
    reads_while_registering: bool,
    /// The application those rows serve (default: the workspace's spin.toml).
    #[arg(long, requires = "reads_while_registering")]
    manifest: Option<PathBuf>,
    /// Only the hostile-input rows: hostile and honest photos in the component, honest
    /// registrations beside hostile ones, sequential registrations (and the peer's, with
    /// `--peer`), on the host and each Spin given.
    #[arg(long)]
    hostile: bool,
    /// Only the scale rows: first, middle and last pages, plain and anchored (`as_of`), at
    /// the plan's user count, on SQLite and PostgreSQL, on the host and each Spin given.
    #[arg(long)]
    scale: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// (internal) Run the photo pipeline once on a file and print this process's peak RSS.
    PhotoPeakRss { file: PathBuf },
}

/// The hostile-input rows: photo costs on the host and every Spin, and the registration
/// rows on the first Spin (what users run) or, without one, the host.
fn hostile_rows(
    plan: &Plan,
    work: &Path,
    spins: &[host::Server],
    peer: Option<&str>,
) -> anyhow::Result<HostileRows> {
    let mut servers = vec![host::Server::host()];
    servers.extend(spins.iter().take(1).cloned());
    let main = servers.last().cloned().unwrap_or_else(host::Server::host);
    Ok(HostileRows {
        costs: hostile::photo_costs(plan, work, &servers)?,
        beside: hostile::beside(plan, work, &main)?,
        registrations: hostile::registrations(plan, work, &main, peer)?,
    })
}

/// The sizes of the components built in `target_dir` (`target` or `target/wasi02`).
pub fn component_sizes(target_dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    report::COMPONENTS
        .iter()
        .map(|(name, _)| {
            let path = target_dir.join(format!("wasm32-wasip2/release/{name}.wasm"));
            Ok((name.to_string(), std::fs::metadata(&path)?.len()))
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::PhotoPeakRss { file }) = args.command {
        return photo_bench::peak_rss_child(&file);
    }
    let plan = if args.smoke {
        Plan::smoke()
    } else {
        Plan::full()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let work = workspace_root().join("target/bench");
    std::fs::create_dir_all(&work)?;

    let mut report = Report::new(plan, args.smoke);
    report.sizes = component_sizes(&workspace_root().join("target"))?;
    report.sizes_wasi02 = component_sizes(&workspace_root().join("target/wasi02"))?;
    let mut spins = Vec::new();
    if let Some(binary) = &args.spin {
        spins.push(host::Server::spin(binary, "", &[])?);
    }
    if let Some(binary) = &args.spin_nodelay {
        spins.push(host::Server::spin(
            binary,
            " + TCP_NODELAY",
            &[("SPIN_TCP_NODELAY", "1")],
        )?);
    }
    if args.reads_while_registering {
        let manifest = args
            .manifest
            .unwrap_or_else(|| workspace_root().join("spin.toml"));
        for (server, row) in
            load::reads_while_registering_only(&runtime, &plan, &work, &manifest, &spins)?
        {
            let mut line = String::new();
            report::render_reads_while_registering(&mut line, plan.connections, &row);
            println!("{} ({server}):{line}", manifest.display());
        }
        return Ok(());
    }
    if args.hostile {
        report.hostile = hostile_rows(&plan, &work, &spins, args.peer.as_deref())?;
        let mut out = String::new();
        report.hostile.render(&mut out);
        println!("{out}");
        return Ok(());
    }
    if args.scale {
        scale::run(&runtime, &plan, &work, &spins, &mut report)?;
        let mut out = String::new();
        report.render_scale(&mut out);
        println!("{out}");
        return Ok(());
    }
    load::run(
        &runtime,
        &plan,
        &work,
        &spins,
        args.peer.as_deref(),
        &mut report,
    )?;
    scale::run(&runtime, &plan, &work, &spins, &mut report)?;
    photo_bench::run(&plan, &work, &mut report)?;
    report.hostile = hostile_rows(&plan, &work, &spins, args.peer.as_deref())?;
    soak::run(&runtime, &plan, &work, &mut report)?;
    println!("{}", report.render());
    Ok(())
}
