//! `usersbypage-seed --url https://app.example.com --key $SEED_KEY --count 5000`

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(
    version,
    about = "Fills a running usersbypage deployment with fake users"
)]
struct Args {
    /// The deployment's origin.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// The deployment's `seed_key`.
    #[arg(long, env = "USERSBYPAGE_SEED_KEY", hide_env_values = true)]
    key: String,
    /// Users to create.
    #[arg(long, default_value_t = 45)]
    count: u64,
    /// Users per request (at most 1000).
    #[arg(long, default_value_t = 200)]
    batch: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bar = ProgressBar::new(args.count).with_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} users [{elapsed_precise}, {per_sec}]",
    )?);
    let created = seed_cli::seed(&args.url, &args.key, args.count, args.batch, |done| {
        bar.set_position(done)
    })?;
    bar.finish();
    println!("{created} users created at {}", args.url);
    Ok(())
}
