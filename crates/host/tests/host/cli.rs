//! `spin-host up` as a process: start-up refusals, the banner, log lines, shutdown.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use crate::support::{MANIFEST, fixture_wasm};

fn write_manifest(dir: &std::path::Path, manifest: &str) -> std::path::PathBuf {
    let path = dir.join("spin.toml");
    let fixture = fixture_wasm().to_str().unwrap().to_owned();
    std::fs::write(&path, manifest.replace("FIXTURE", &fixture)).unwrap();
    path
}

fn host() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spin-host"));
    command.env("RUST_LOG", "info");
    command
}

#[test]
fn an_unsupported_manifest_key_stops_start_up_with_its_name() {
    let dir = tempfile::TempDir::new().unwrap();
    let manifest = MANIFEST.replace(
        "[component.bare]",
        "[component.bare]\nfiles = [\"static/**\"]",
    );
    let path = write_manifest(dir.path(), &manifest);

    let output = host().args(["up", "-f"]).arg(&path).output().unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("`files` is not supported"), "{stderr}");
}

#[test]
fn a_key_value_label_without_runtime_config_stops_start_up() {
    let dir = tempfile::TempDir::new().unwrap();
    // No runtime config file, so `photos` is unknown.
    let path = write_manifest(dir.path(), MANIFEST);

    let output = host().args(["up", "-f"]).arg(&path).output().unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("key_value_store.photos"), "{stderr}");
}

#[test]
fn serves_logs_each_request_and_guest_output_then_stops_on_sigterm() {
    let dir = tempfile::TempDir::new().unwrap();
    let manifest = MANIFEST
        .replace(
            "key_value_stores = [\"default\", \"photos\"]",
            "key_value_stores = [\"default\"]",
        )
        .replace(
            "sqlite_databases = [\"default\", \"reports\"]",
            "sqlite_databases = [\"default\"]",
        );
    let path = write_manifest(dir.path(), &manifest);
    let mut child = host()
        .args(["up", "--listen", "127.0.0.1:0", "-f"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    stdout.read_line(&mut banner).unwrap();
    let addr = banner
        .trim()
        .strip_prefix("Serving http://")
        .unwrap_or_else(|| panic!("unexpected banner {banner:?}"))
        .to_owned();

    let response = reqwest::blocking_get(&format!("http://{addr}/all/log?text=hi"));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();

    assert_eq!(response, 200);
    assert!(kill.success());
    assert!(status.success(), "exit status {status:?}; log:\n{stderr}");
    assert!(stderr.contains("GET /all/log all 200"), "{stderr}");
    assert!(stderr.contains("[all stdout] to stdout: hi"), "{stderr}");
    assert!(stderr.contains("[all stderr] to stderr: hi"), "{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
}

/// A tiny blocking GET, so this test needs no async runtime.
mod reqwest {
    use std::io::{Read, Write};

    pub fn blocking_get(url: &str) -> u16 {
        let rest = url.strip_prefix("http://").unwrap();
        let (addr, path) = rest.split_at(rest.find('/').unwrap());
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response.split(' ').nth(1).unwrap().parse().unwrap()
    }
}

#[test]
fn up_build_runs_each_components_build_commands_first() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("runtime-config.toml"),
        crate::support::RUNTIME_CONFIG,
    )
    .unwrap();
    let manifest = MANIFEST.replace(
        "[component.bare]",
        "[component.bare.build]\ncommand = [\"touch first.marker\", \"touch second.marker\"]\n\n[component.bare]",
    );
    write_manifest(dir.path(), &manifest);
    // Relative paths from the app's directory, as in the README's start command.
    let mut child = host()
        .current_dir(dir.path())
        .args(["up", "--build", "--listen", "127.0.0.1:0"])
        .args([
            "--runtime-config-file",
            "runtime-config.toml",
            "-f",
            "spin.toml",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(banner.starts_with("Serving http://"), "{banner}");
    assert!(dir.path().join("first.marker").exists());
    assert!(dir.path().join("second.marker").exists());
}

#[test]
fn a_failing_build_stops_start_up() {
    let dir = tempfile::TempDir::new().unwrap();
    let manifest = MANIFEST.replace(
        "[component.bare]",
        "[component.bare.build]\ncommand = \"exit 3\"\n\n[component.bare]",
    );
    let path = write_manifest(dir.path(), &manifest);

    let output = host()
        .args(["up", "--build", "-f"])
        .arg(&path)
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("building component `bare` failed"),
        "{stderr}"
    );
}
