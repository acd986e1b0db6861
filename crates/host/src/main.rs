//! `spin-host up`: serve a Spin application the way `spin up` does.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use spin_host::app::Settings;
use spin_host::reuse::{self, InstanceReuse, Range};

#[derive(Parser)]
#[command(
    version,
    about = "Runs a Spin application's components locally, like `spin up`"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the application.
    Up(Up),
    /// Before a deploy: what a platform would refuse of this application and configuration,
    /// and which of its documented limits binds first. Takes the platform's deploy flags.
    DeployCheck(DeployCheck),
}

#[derive(clap::Args)]
struct DeployCheck {
    /// spinkube, fermyon-cloud or akamai-functions.
    platform: spin_host::platform::Platform,
    /// The application manifest, or a directory holding `spin.toml` (or give `--from`).
    manifest: Option<PathBuf>,
    /// The manifest, as `spin aka deploy` and `spin cloud deploy` take it.
    #[arg(short = 'f', long = "from", conflicts_with = "manifest")]
    from: Option<PathBuf>,
    /// A variable the deploy would be given: NAME=VALUE, NAME=@FILE, @FILE.toml or
    /// @FILE.json. May be repeated; the last value of a name wins.
    #[arg(long = "variable", value_name = "NAME=VALUE | @FILE")]
    variables: Vec<String>,
    /// A variables file (TOML or JSON), as `--variable @FILE`.
    #[arg(long = "variables", value_name = "FILE")]
    variables_file: Option<PathBuf>,
    /// Fermyon Cloud's `--link kv:LABEL=STORE` / `sqlite:LABEL=DATABASE`. May be repeated.
    #[arg(long = "link")]
    links: Vec<String>,
    /// Accepted as the deploy commands take it (the check reads the components last built).
    #[arg(long)]
    #[allow(
        dead_code,
        reason = "accepted so that a deploy command's arguments check as given"
    )]
    build: bool,
    /// Accepted as `spin aka deploy` takes it.
    #[arg(long)]
    #[allow(
        dead_code,
        reason = "accepted so that a deploy command's arguments check as given"
    )]
    no_confirm: bool,
    /// Accepted as `spin aka deploy` takes it.
    #[arg(long, value_name = "NAME")]
    #[allow(
        dead_code,
        reason = "accepted so that a deploy command's arguments check as given"
    )]
    create_name: Option<String>,
}

#[derive(clap::Args)]
struct Up {
    /// The application manifest, or a directory holding `spin.toml`.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    from: PathBuf,
    /// Address to listen on; port 0 picks a free one (the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// SQL to run on the default SQLite database before serving: `@file.sql` or a statement.
    /// May be repeated.
    #[arg(long = "sqlite")]
    sqlite: Vec<String>,
    /// Set a variable, overriding the environment and the manifest default: NAME=VALUE,
    /// NAME=@FILE (the file's text), or a file of them, @FILE.toml or @FILE.json, as in
    /// Spin. May be repeated; the last value of a name wins.
    #[arg(long = "variable", value_name = "NAME=VALUE | @FILE")]
    variables: Vec<String>,
    /// Run each component's `[component.<id>.build]` commands first, like `spin build --up`.
    #[arg(long)]
    build: bool,
    /// Spin runtime configuration (key_value_store and sqlite_database tables).
    #[arg(long = "runtime-config-file")]
    runtime_config_file: Option<PathBuf>,
    /// Directory for the default stores (default: `.spin` next to the manifest).
    #[arg(long = "state-dir")]
    state_dir: Option<PathBuf>,
    /// Most requests one instance serves before it is dropped (Spin's flag: a number or a
    /// range `a..b`, picked per instance). 1 gives every request a fresh instance.
    #[arg(long, value_parser = reuse::parse_count_range, default_value = "128")]
    max_instance_reuse_count: Range<usize>,
    /// Most requests one instance serves at once (Spin's flag; a number or a range).
    #[arg(long, value_parser = reuse::parse_count_range, default_value = "16")]
    max_instance_concurrent_reuse_count: Range<usize>,
    /// How long a request may take to produce its response before its instance is dropped
    /// (Spin's flag: `30`, `30s`, `500ms`, or a range); none by default, as in Spin.
    #[arg(long, value_parser = reuse::parse_duration_range)]
    request_timeout: Option<Range<Duration>>,
    /// How long an idle instance is kept for the next request (Spin's flag).
    #[arg(long, value_parser = reuse::parse_duration_range, default_value = "1s")]
    idle_instance_timeout: Range<Duration>,
    /// Linear memory one instance may use, in MiB.
    #[arg(long = "max-instance-memory", default_value_t = 256)]
    max_instance_memory_mib: usize,
    /// Count the host functions guests call; `kill -USR1` prints the totals on stdout
    /// (this host only: Spin has no such flag).
    #[arg(long)]
    count_host_calls: bool,
    /// Refuse what a platform would refuse, and impose its documented limits: `spinkube`,
    /// `fermyon-cloud` or `akamai-functions` (this host only: Spin has no such flag; see
    /// crates/host/README.md).
    #[arg(long)]
    platform: Option<spin_host::platform::Platform>,
}

/// Errors end the process with one line (and its causes), never a backtrace: they are
/// for the person who typed the command.
fn main() -> ExitCode {
    let up = match Cli::parse().command {
        Command::Up(up) => up,
        Command::DeployCheck(check) => return deploy_check(check),
    };
    init_logging(up.count_host_calls);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(run(up)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the check's report; fails when the platform would refuse the application.
fn deploy_check(args: DeployCheck) -> ExitCode {
    let mut variables = args.variables;
    if let Some(file) = args.variables_file {
        variables.insert(0, format!("@{}", file.display()));
    }
    let request = spin_host::deploy_check::Request {
        platform: args.platform,
        manifest: args
            .manifest
            .or(args.from)
            .unwrap_or_else(|| PathBuf::from("spin.toml")),
        variables,
        links: args.links,
    };
    match spin_host::deploy_check::check(&request) {
        Ok(outcome) => {
            print!("{}", outcome.report);
            if outcome.accepted {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The log on stderr, filtered by `RUST_LOG`; and, when asked, the host-call counter, which
/// sees the import spans the log leaves out.
fn init_logging(count_host_calls: bool) {
    use tracing_subscriber::prelude::*;
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,wasmtime=warn,cranelift=warn".into()),
        );
    let counter = count_host_calls.then(|| {
        spin_host::host_calls::CountingLayer
            .with_filter(spin_host::host_calls::CountingLayer::filter())
    });
    tracing_subscriber::registry()
        .with(log)
        .with(counter)
        .init();
}

async fn run(up: Up) -> anyhow::Result<()> {
    if up.count_host_calls {
        spin_host::host_calls::print_totals_on_sigusr1()?;
    }
    let manifest = if up.from.is_dir() {
        up.from.join("spin.toml")
    } else {
        up.from
    };
    if up.build {
        spin_host::build::build_components(&spin_host::manifest::Manifest::load(&manifest)?)?;
    }
    let sqlite_statements = up
        .sqlite
        .iter()
        .map(|arg| match arg.strip_prefix('@') {
            Some(file) => {
                std::fs::read_to_string(file).with_context(|| format!("reading --sqlite {arg}"))
            }
            None => Ok(arg.clone()),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let settings = Settings {
        manifest,
        state_dir: up.state_dir,
        runtime_config: up.runtime_config_file,
        variables: spin_host::deploy_check::read_variables(&up.variables)?,
        sqlite_statements,
        reuse: InstanceReuse {
            max_instance_reuse_count: up.max_instance_reuse_count,
            max_instance_concurrent_reuse_count: up.max_instance_concurrent_reuse_count,
            request_timeout: up.request_timeout,
            idle_instance_timeout: up.idle_instance_timeout,
        },
        max_instance_memory: up.max_instance_memory_mib << 20,
        platform: up.platform,
    };
    let running = spin_host::server::start(settings, up.listen).await?;
    let addr = running.addr();
    // The banner is for people and scripts; a closed stdout must not stop the server.
    let mut banner = format!("Serving http://{addr}\nAvailable Routes:\n");
    for (component, route) in running.app().routes() {
        banner.push_str(&format!("  {component}: http://{addr}{route}\n"));
    }
    let mut stdout = std::io::stdout();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
    running.run_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
