//! The server under measurement as a separate process, as a deployment runs it: the
//! repository's host (`spin-host up`) or a real Spin CLI (`spin up`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::plan::workspace_root;

/// A server that serves a Spin application: `up` with Spin's flags.
#[derive(Debug, Clone)]
pub struct Server {
    /// How tables name it ("Spin 4.1.0-pre0", "the repository's host").
    pub label: String,
    pub binary: PathBuf,
    /// Environment it runs with (the nodelay build's `SPIN_TCP_NODELAY=1`).
    pub env: Vec<(String, String)>,
}

impl Server {
    /// The repository's host, release build.
    pub fn host() -> Self {
        Self {
            label: "the repository's host".to_owned(),
            binary: workspace_root().join("target/release/spin-host"),
            env: Vec::new(),
        }
    }

    /// A real Spin CLI, named by its `--version` line plus `suffix`.
    pub fn spin(binary: &Path, suffix: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let output = Command::new(binary)
            .arg("--version")
            .output()
            .with_context(|| format!("running {}", binary.display()))?;
        let version = String::from_utf8_lossy(&output.stdout);
        let version = version.split_whitespace().nth(1).unwrap_or("?");
        Ok(Self {
            label: format!("Spin {version}{suffix}"),
            binary: binary.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        })
    }
}

/// What `spin-host up --count-host-calls` prints on `SIGUSR1`, before the totals as JSON
/// (`spin_host::host_calls::TOTALS_PREFIX`).
const HOST_CALL_TOTALS: &str = "host calls: ";

/// A running `spin-host up` or `spin up`.
pub struct Host {
    child: Child,
    /// The host-call totals lines the server prints (`--count-host-calls`).
    host_call_totals: Mutex<Receiver<String>>,
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

    /// CPU time (user and system) the server's processes have used so far: `spin up` and
    /// the `spin trigger http` it serves from, the process group it was started as.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let group = self.child.id().to_string();
        // SAFETY: sysconf(3) reads a constant of the system; no memory is involved.
        let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let ticks_per_second = u64::try_from(ticks_per_second)
            .ok()
            .filter(|&t| t > 0)
            .context("sysconf(_SC_CLK_TCK)")?;
        let mut ticks = 0;
        for entry in std::fs::read_dir("/proc")? {
            let path = entry?.path();
            // A process may end between listing and reading: skip what cannot be read.
            let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
                continue;
            };
            // proc_pid_stat(5): fields after the parenthesised command name, from `state`
            // on; `pgrp` is the third, `utime` and `stime` the twelfth and thirteenth.
            let Some((_, fields)) = stat.rsplit_once(')') else {
                continue;
            };
            let fields: Vec<&str> = fields.split_whitespace().collect();
            if fields.get(2) == Some(&group.as_str()) {
                for field in [11, 12] {
                    ticks += fields
                        .get(field)
                        .and_then(|t| t.parse::<u64>().ok())
                        .context("utime and stime in /proc/<pid>/stat")?;
                }
            }
        }
        Ok(Duration::from_micros(ticks * 1_000_000 / ticks_per_second))
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
        Self::start_on(
            &Server::host(),
            manifest,
            state_dir,
            runtime_config,
            variables,
            flags,
            probe,
        )
    }

    /// [`Host::start_with`] on `server`.
    pub fn start_on(
        server: &Server,
        manifest: &Path,
        state_dir: &Path,
        runtime_config: Option<&Path>,
        variables: &[(&str, String)],
        flags: &[&str],
        probe: &str,
    ) -> anyhow::Result<Self> {
        let binary = &server.binary;
        if !binary.exists() {
            bail!(
                "{} is missing: build it with `cargo build --release -p spin-host` (scripts/bench does)",
                binary.display()
            );
        }
        let mut command = Command::new(binary);
        // `spin up` serves from a child process (`spin trigger http`): the server is the
        // process group, which is what `Drop` ends.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command.envs(server.env.iter().map(|(k, v)| (k, v)));
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
        // Spin prints a few lines (and a blank one) before `Serving http://…`.
        let mut base = None;
        let mut line = String::new();
        while base.is_none() {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                bail!("{} exited before serving", binary.display());
            }
            base = line.trim().strip_prefix("Serving ").map(str::to_owned);
        }
        let base = base.context("the serving address")?;
        // Keep reading so the server never writes into a closed pipe; pass on host-call
        // totals, drop the rest.
        let (totals, host_call_totals) = channel();
        std::thread::spawn(move || {
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if let Some(json) = line.strip_prefix(HOST_CALL_TOTALS)
                    && totals.send(json.to_owned()).is_err()
                {
                    break;
                }
            }
        });
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
            host_call_totals: Mutex::new(host_call_totals),
            base,
            startup: started.elapsed(),
        })
    }

    /// The host functions guests have called so far, by name, as a host started with
    /// `--count-host-calls` counts them: asks with `SIGUSR1` and reads the answer.
    pub fn host_call_totals(&self) -> anyhow::Result<BTreeMap<String, u64>> {
        let pid = libc::pid_t::try_from(self.child.id())?;
        // SAFETY: kill(2) on our own child; no memory is involved.
        if unsafe { libc::kill(pid, libc::SIGUSR1) } != 0 {
            bail!("signalling the host: {}", std::io::Error::last_os_error());
        }
        let lines = self
            .host_call_totals
            .lock()
            .map_err(|_| anyhow::anyhow!("host-call totals lock poisoned"))?;
        let json = lines
            .recv_timeout(Duration::from_secs(10))
            .context("no host-call totals: was the host started with --count-host-calls?")?;
        Ok(serde_json::from_str(&json)?)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Ok(group) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our child's process group; no memory is involved.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
