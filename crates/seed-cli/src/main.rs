//! `usersbypage-seed --url https://app.example.com --key $SEED_KEY --count 5000` seeds;
//! `usersbypage-seed check` lists photos no user has; `usersbypage-seed repair` removes them.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(
    version,
    about = "Seeds and maintains a running usersbypage deployment",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// The deployment's origin.
    #[arg(long, global = true, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// The deployment's `seed_key`.
    #[arg(
        long,
        global = true,
        env = "USERSBYPAGE_SEED_KEY",
        hide_env_values = true
    )]
    key: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a command: seed.
    #[command(flatten)]
    seed: SeedArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Fill the deployment with fake users (the default).
    Seed(SeedArgs),
    /// List stored photos no user has; exits with 1 if there are any.
    Check,
    /// Remove stored photos no user has, after a grace period for registrations in flight.
    Repair {
        /// Seconds between listing the orphans and removing them: a registration in
        /// flight names its photo within that time and keeps it.
        #[arg(long, default_value_t = 60)]
        grace_seconds: u64,
    },
}

#[derive(Args)]
struct SeedArgs {
    /// Users to create.
    #[arg(long, default_value_t = 45)]
    count: u64,
    /// Users per request (at most 1000).
    #[arg(long, default_value_t = 200)]
    batch: u64,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let Some(key) = cli.key.as_deref() else {
        anyhow::bail!("the deployment's seed_key is needed: --key or USERSBYPAGE_SEED_KEY");
    };
    match cli.command {
        None => seed(&cli.url, key, &cli.seed),
        Some(Command::Seed(args)) => seed(&cli.url, key, &args),
        Some(Command::Check) => {
            let audit = seed_cli::photo_audit(&cli.url, key)?;
            for orphan in &audit.orphans {
                println!("{orphan}");
            }
            println!(
                "{} photos stored, {} without a user",
                audit.photos,
                audit.orphans.len()
            );
            Ok(if audit.orphans.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Some(Command::Repair { grace_seconds }) => {
            let audit = seed_cli::photo_audit(&cli.url, key)?;
            if audit.orphans.is_empty() {
                println!("{} photos stored, none without a user", audit.photos);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{} photos without a user; waiting {grace_seconds} s for registrations in flight",
                audit.orphans.len()
            );
            std::thread::sleep(Duration::from_secs(grace_seconds));
            let removal = seed_cli::remove_orphans(&cli.url, key, &audit.orphans)?;
            println!(
                "{} removed, {} kept (a user has them now)",
                removal.removed.len(),
                removal.kept.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn seed(url: &str, key: &str, args: &SeedArgs) -> anyhow::Result<ExitCode> {
    let bar = ProgressBar::new(args.count).with_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} users [{elapsed_precise}, {per_sec}]",
    )?);
    let created = seed_cli::seed(url, key, args.count, args.batch, |done| {
        bar.set_position(done)
    })?;
    bar.finish();
    println!("{created} users created at {url}");
    Ok(ExitCode::SUCCESS)
}
