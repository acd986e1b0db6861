//! `spin-host up` as a separate process, as a deployment runs it: for what needs a process
//! boundary — two hosts on shared stores, a host killed mid-request, what a host writes to
//! its log.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::helpers::{Build, build_components, workspace_root};

/// A running `spin-host up`. Dropping it kills the process.
pub struct HostProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl HostProcess {
    /// Starts the host on a free port with `build`'s manifest, the stores of
    /// `runtime_config` and `variables`, reusing instances as Spin does by default, and
    /// waits until it serves.
    pub fn start(
        build: Build,
        runtime_config: &Path,
        state_dir: &Path,
        variables: &[(&str, String)],
    ) -> Self {
        build_components(build);
        let mut command = Command::new(host_binary());
        command
            .current_dir(workspace_root())
            .args(["up", "-f", build.manifest(), "--listen", "127.0.0.1:0"])
            .arg("--runtime-config-file")
            .arg(runtime_config)
            .arg("--state-dir")
            .arg(state_dir)
            // The request log and the guests' output, as an operator would see them.
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in variables {
            command.arg("--variable").arg(format!("{name}={value}"));
        }
        let mut child = command.spawn().expect("starting spin-host");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut banner = String::new();
        stdout.read_line(&mut banner).expect("the host's banner");
        let base = banner
            .trim()
            .strip_prefix("Serving ")
            .unwrap_or_else(|| panic!("unexpected banner: {banner}"))
            .to_owned();
        let log = Arc::new(Mutex::new(banner));
        collect(stdout, Arc::clone(&log));
        collect(child.stderr.take().expect("stderr"), Arc::clone(&log));
        Self { child, base, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the process has written so far, stdout and stderr.
    pub fn log(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// Ends the process with SIGKILL: requests in flight get no answer, nothing is flushed.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Appends what `stream` yields to `log` until it closes.
fn collect(stream: impl Read + Send + 'static, log: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Ok(mut log) = log.lock() {
                log.push_str(&line);
                log.push('\n');
            }
        }
    });
}

/// The host binary, built once (the test build compiles only its library).
fn host_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(workspace_root())
                .args(["build", "--quiet", "-p", "spin-host", "--bin", "spin-host"])
                .status()
                .expect("running cargo");
            assert!(status.success(), "building spin-host failed");
            workspace_root().join("target/debug/spin-host")
        })
        .clone()
}
