//! The application served by a separate process, as a deployment runs it: the repository's
//! `spin-host up`, or a real Spin CLI when `E2E_SPIN` names one. For what needs a process
//! boundary (two servers on shared stores, a server killed mid-request, what a server
//! writes to its log) and for every test when the suite runs on real Spin.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use crate::helpers::{Build, Target, build_components, workspace_root};

/// What serves the application in this test run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// The repository's Spin-compatible host (crates/host).
    Host,
    /// A real `spin` binary, from `E2E_SPIN=/path/to/spin`, with its `--version` line.
    Spin { binary: PathBuf, version: String },
}

impl Server {
    /// The server every test of this run uses: real Spin when `E2E_SPIN` names a binary,
    /// the repository's host otherwise.
    pub fn under_test() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(|| match std::env::var_os("E2E_SPIN") {
            None => Server::Host,
            Some(binary) => {
                let binary = PathBuf::from(binary);
                let output = Command::new(&binary)
                    .arg("--version")
                    .output()
                    .unwrap_or_else(|e| panic!("E2E_SPIN={}: {e}", binary.display()));
                let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                Server::Spin { binary, version }
            }
        })
    }

    pub fn is_spin(&self) -> bool {
        matches!(self, Server::Spin { .. })
    }

    /// Whether this server can serve `build`: Spin 3 serves no WASI 0.3 component.
    fn check_serves(&self, build: Build) {
        if let Server::Spin { version, .. } = self {
            assert!(
                build == Build::Wasi02 || !version.starts_with("spin 3."),
                "{version} serves only WASI 0.2 components: run only the WASI 0.2 tests on it \
                 (cargo test -p e2e -- wasi02_)"
            );
        }
    }

    fn binary(&self) -> PathBuf {
        match self {
            Server::Host => host_binary(),
            Server::Spin { binary, .. } => binary.clone(),
        }
    }
}

/// True, after printing why, when this test cannot run on the server under test; the test
/// then returns without checking anything. Each use says in one line what it needs.
pub fn host_only(why: &str) -> bool {
    let spin = Server::under_test().is_spin();
    if spin {
        println!("not run on real Spin: {why}");
    }
    spin
}

/// A running `spin up` (or `spin-host up`). Dropping it kills the process.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts the server under test on a free port with `build`'s manifest, the stores of
    /// `runtime_config` and `variables`, reusing instances as Spin does by default, and
    /// waits until it serves.
    pub fn start(
        build: Build,
        runtime_config: &Path,
        state_dir: &Path,
        variables: &[(&str, String)],
    ) -> Self {
        Self::start_on(
            Server::under_test(),
            build,
            runtime_config,
            state_dir,
            variables,
        )
    }

    /// As [`start`](Self::start), with `target`'s manifest (a hosted platform's, or its
    /// build's).
    pub fn start_target(
        target: Target,
        runtime_config: &Path,
        state_dir: &Path,
        variables: &[(&str, String)],
    ) -> Self {
        Self::start_manifest(
            Server::under_test(),
            target.build,
            target.manifest(),
            runtime_config,
            state_dir,
            variables,
        )
    }

    /// As [`start`](Self::start), on the given server.
    pub fn start_on(
        server: &Server,
        build: Build,
        runtime_config: &Path,
        state_dir: &Path,
        variables: &[(&str, String)],
    ) -> Self {
        Self::start_manifest(
            server,
            build,
            build.manifest(),
            runtime_config,
            state_dir,
            variables,
        )
    }

    /// Starts `server` with `manifest`, whose components are `build`'s.
    fn start_manifest(
        server: &Server,
        build: Build,
        manifest: &str,
        runtime_config: &Path,
        state_dir: &Path,
        variables: &[(&str, String)],
    ) -> Self {
        server.check_serves(build);
        build_components(build);
        let mut command = Command::new(server.binary());
        // `spin up` runs the application in a child process (`spin trigger http`): the
        // server is the process group, which is what `kill` ends.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command
            .current_dir(workspace_root())
            .args(["up", "-f", manifest, "--listen", "127.0.0.1:0"])
            .arg("--runtime-config-file")
            .arg(runtime_config)
            .arg("--state-dir")
            .arg(state_dir)
            // The request log and the guests' output, as an operator would see them.
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in variables {
            command.arg("--variable").arg(format!("{name}={value}"));
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", server.binary().display()));
        let log = Arc::new(Mutex::new(String::new()));
        collect(child.stderr.take().expect("stderr"), Arc::clone(&log));
        // Spin prints a blank line, then `Serving http://…`; the host starts with it.
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut base = None;
        let mut line = String::new();
        while base.is_none() {
            line.clear();
            let read = stdout.read_line(&mut line).expect("the server's stdout");
            if let Ok(mut log) = log.lock() {
                log.push_str(&line);
            }
            if read == 0 {
                let _ = child.wait();
                std::thread::sleep(std::time::Duration::from_millis(200));
                panic!(
                    "{} exited before serving:\n{}",
                    server.binary().display(),
                    log.lock().map(|l| l.clone()).unwrap_or_default()
                );
            }
            base = line.trim().strip_prefix("Serving ").map(str::to_owned);
        }
        collect(stdout, Arc::clone(&log));
        Self {
            child,
            base: base.expect("the serving address"),
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the process has written so far, stdout and stderr.
    pub fn log(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// Ends the server with SIGKILL: requests in flight get no answer, nothing is flushed.
    pub fn kill(self) {
        drop(self);
    }

    /// SIGKILL to the whole process group (`spin up` and its `spin trigger http`).
    fn kill_group(&mut self) {
        if let Ok(group) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals that process group; it touches
            // no memory of ours.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill_group();
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
pub fn host_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
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
