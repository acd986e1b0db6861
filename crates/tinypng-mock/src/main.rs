//! `tinypng-mock`: run the mock TinyPNG API on its own, for manual tries and benchmarks.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use tinypng_mock::{Behaviour, MockTinify};

#[derive(Parser)]
#[command(about = "A local stand-in for the TinyPNG API")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// API key to accept.
    #[arg(long, default_value = "test-key")]
    key: String,
    /// normal, rate-limited, server-error, server-error-once, or slow:<milliseconds>.
    #[arg(long, default_value = "normal")]
    behaviour: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let behaviour = match args.behaviour.as_str() {
        "normal" => Behaviour::Normal,
        "rate-limited" => Behaviour::RateLimited,
        "server-error" => Behaviour::ServerError,
        "server-error-once" => Behaviour::ServerErrorOnce,
        slow => match slow.strip_prefix("slow:").and_then(|ms| ms.parse().ok()) {
            Some(ms) => Behaviour::Slow(Duration::from_millis(ms)),
            None => anyhow::bail!("unknown behaviour `{slow}`"),
        },
    };
    let mock = MockTinify::start_on(args.listen, &args.key, behaviour).await?;
    println!("Serving {}", mock.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
