//! A Redis server of a test's own, on a free port, that can be crashed and started again:
//! the faults suite's Redis, and the key-value stores a registration's deadline is tested
//! against.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Redis server of the test's own, on a free port, that can be stopped and started
/// again. Append-only with every write synced, as a production Redis holding photos must
/// be: what was written survives a crash.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl RedisServer {
    pub fn start(dir: &Path) -> Self {
        let port = free_port();
        let mut server = Self {
            child: None,
            port,
            dir: dir.to_owned(),
        };
        server.resume();
        server
    }

    /// Starts the server again on its port and data directory, and waits until it answers.
    pub fn resume(&mut self) {
        std::fs::create_dir_all(&self.dir).expect("Redis dir");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        self.child = Some(child);
        let started = Instant::now();
        while redis::Client::open(self.url(0))
            .and_then(|c| c.get_connection())
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "Redis did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server, as a crash would.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self, db: u8) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.crash();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
