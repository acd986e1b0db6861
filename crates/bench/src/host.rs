//! The repository's host as a separate process, as a deployment would run it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::workspace_root;

/// A running `spin-host up`.
pub struct Host {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// From spawning the process to the first `200` on the probe path.
    pub startup: Duration,
}

impl Host {
    /// The host process's resident memory now (Linux `VmRSS`), in bytes.
    pub fn rss(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .context("VmRSS in /proc/<pid>/status")?;
        Ok(kib * 1024)
    }

    /// Starts the release host on a free port and waits for `probe` to answer 200.
    pub fn start(
        manifest: &Path,
        state_dir: &Path,
        runtime_config: Option<&Path>,
        variables: &[(&str, String)],
        probe: &str,
    ) -> anyhow::Result<Self> {
        Self::start_with(manifest, state_dir, runtime_config, variables, &[], probe)
    }

    /// [`Host::start`] with extra `spin-host up` flags (such as Spin's instance-reuse flags).
    pub fn start_with(
        manifest: &Path,
        state_dir: &Path,
        runtime_config: Option<&Path>,
        variables: &[(&str, String)],
        flags: &[&str],
        probe: &str,
    ) -> anyhow::Result<Self> {
        let binary = workspace_root().join("target/release/spin-host");
        if !binary.exists() {
            bail!(
                "{} is missing: build it with `cargo build --release -p spin-host` (scripts/bench does)",
                binary.display()
            );
        }
        let mut command = Command::new(&binary);
        command
            .args(["up", "--listen", "127.0.0.1:0", "-f"])
            .arg(manifest)
            .arg("--state-dir")
            .arg(state_dir)
            // One log line per request would be measured too: keep the log to warnings.
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(config) = runtime_config {
            command.arg("--runtime-config-file").arg(config);
        }
        for (name, value) in variables {
            command.arg("--variable").arg(format!("{name}={value}"));
        }
        let started = Instant::now();
        let mut child = command.spawn().context("starting spin-host")?;
        let stdout = child.stdout.take().context("host stdout")?;
        let mut reader = BufReader::new(stdout);
        let mut banner = String::new();
        reader.read_line(&mut banner)?;
        // Keep reading (and discarding) so the host never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let base = banner
            .trim()
            .strip_prefix("Serving ")
            .with_context(|| format!("unexpected banner {banner:?}"))?
            .to_owned();
        let agent = ureq::Agent::new_with_defaults();
        loop {
            if let Ok(response) = agent.get(&format!("{base}{probe}")).call()
                && response.status() == 200
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                bail!("{probe} never answered 200");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(Self {
            child,
            base,
            startup: started.elapsed(),
        })
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
