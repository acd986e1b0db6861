//! deploy/README.md's commands, run as typed: every `sh` block of the SpinKube, Fermyon
//! Cloud and Akamai Functions sections runs in bash, in a folder laid out like the
//! repository, with `spin` and `kubectl` stood in for by scripts that record their
//! arguments (the platforms cannot be reached from here). Then each recorded deploy is
//! checked as that platform would check it (`spin-host deploy-check` with the command's own
//! arguments) and started on the repository's host under the platform's profile, with the
//! variables and links the command gave, and must register a user. The only edits are the
//! ones the guide asks of its reader: the PostgreSQL placeholders, here the test database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use spin_host::app::Settings;
use spin_host::platform::Platform;
use spin_host::reuse::InstanceReuse;

use crate::helpers::{
    Build, Registration, build_components, json, postgres_schema, workspace_root,
};
use crate::server_process::{Server, host_binary};

/// The `sh` blocks of the section whose heading starts with `heading`.
fn blocks(readme: &str, heading: &str) -> Vec<String> {
    let section = readme
        .split("\n## ")
        .find(|section| section.starts_with(heading))
        .unwrap_or_else(|| panic!("deploy/README.md has no section `## {heading}`"));
    section
        .split("```sh\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().unwrap_or_default().to_owned())
        .collect()
}

/// A folder laid out like the repository, as the guide's commands expect it.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let root = workspace_root().canonicalize().expect("the repository");
        for linked in [
            "target",
            "scripts",
            "spin.toml",
            "spin-wasi02.toml",
            "spin-fermyon-cloud.toml",
            "spin-akamai.toml",
        ] {
            std::os::unix::fs::symlink(root.join(linked), dir.path().join(linked))
                .expect("linking the repository's files");
        }
        std::fs::create_dir(dir.path().join("deploy")).expect("deploy/");
        for file in ["runtime-config.toml", "spinapp.yaml"] {
            std::fs::copy(
                root.join("deploy").join(file),
                dir.path().join("deploy").join(file),
            )
            .expect("copying deploy/");
        }
        // What the reader brings: a GitHub token for the registry.
        std::fs::write(dir.path().join("ghcr-token.txt"), "ghp_example\n").expect("token");
        // `spin` and `kubectl` record each call, one argument a line, `--` after the last.
        let bin = dir.path().join("stand-ins");
        std::fs::create_dir(&bin).expect("stand-ins");
        for tool in ["spin", "kubectl"] {
            let script = bin.join(tool);
            std::fs::write(
                &script,
                format!(
                    "#!/usr/bin/env bash\n{{ echo {tool}; printf '%s\\n' \"$@\"; echo --; }} >> \"$CALLS\"\n"
                ),
            )
            .expect("a stand-in");
            Command::new("chmod")
                .arg("+x")
                .arg(&script)
                .status()
                .expect("chmod");
        }
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs one of the guide's blocks in bash, as a reader would paste it.
    fn run(&self, block: &str) {
        let output = Command::new("bash")
            .args(["-euo", "pipefail", "-c", block])
            .current_dir(self.path())
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.path().join("stand-ins").display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("CALLS", self.path().join("calls"))
            .output()
            .expect("bash");
        assert!(
            output.status.success(),
            "the guide's block failed:\n{block}\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Every recorded call of `spin` and `kubectl`: the tool, then its arguments.
    fn calls(&self) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(self.path().join("calls")).unwrap_or_default();
        text.split("\n--\n")
            .filter(|call| !call.trim().is_empty())
            .map(|call| call.lines().map(str::to_owned).collect())
            .collect()
    }

    /// The recorded calls that begin with `command`, their arguments after it.
    fn calls_of(&self, command: &[&str]) -> Vec<Vec<String>> {
        self.calls()
            .into_iter()
            .filter(|call| call.len() >= command.len() && call[..command.len()] == *command)
            .map(|call| call[command.len()..].to_vec())
            .collect()
    }
}

/// `spin-host deploy-check PLATFORM ARGS` in the workspace: its report, and whether the
/// platform would take the app.
fn deploy_check(workspace: &Workspace, platform: Platform, args: &[String]) -> (bool, String) {
    let output = Command::new(host_binary())
        .arg("deploy-check")
        .arg(platform.name())
        .args(args)
        .current_dir(workspace.path())
        .output()
        .expect("deploy-check");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), report)
}

/// The value of each `flag` in a command's arguments (`--flag VALUE` or `--flag=VALUE`).
fn values(args: &[String], flag: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == flag {
            found.extend(args.next().cloned());
        } else if let Some(value) = arg.strip_prefix(&format!("{flag}=")) {
            found.push(value.to_owned());
        }
    }
    found
}

/// Deploys what a recorded deploy command gives onto the repository's host under
/// `platform`'s profile — its manifest, its variables, its links as the runtime config — and
/// registers a user there.
async fn serve_and_register(workspace: &Workspace, platform: Platform, args: &[String]) {
    let manifest = values(args, "--from")
        .pop()
        .expect("the command names its manifest");
    // Files named `@FILE` are read from where the command ran.
    let in_workspace = |arg: &String| match arg.split_once('@') {
        Some((before, file)) if before.is_empty() || before.ends_with('=') => {
            format!("{before}@{}", workspace.path().join(file).display())
        }
        _ => arg.clone(),
    };
    let given: Vec<String> = values(args, "--variable")
        .iter()
        .map(in_workspace)
        .collect();
    let variables = spin_host::deploy_check::read_variables(&given).expect("variables");
    let state = workspace.path().join(format!(".spin-{}", platform.name()));
    std::fs::create_dir_all(&state).expect("state dir");
    let links: String = values(args, "--link")
        .iter()
        .map(|link| {
            let (label, name) = link.split_once('=').expect("LABEL=NAME");
            let table = match label.split_once(':') {
                Some(("kv", label)) => format!("key_value_store.{label}"),
                Some(("sqlite", label)) => format!("sqlite_database.{label}"),
                _ => panic!("a link names kv: or sqlite:, not {link}"),
            };
            let file = state.join(format!("{name}.db"));
            format!(
                "[{table}]\ntype = \"spin\"\npath = \"{}\"\n",
                file.display()
            )
        })
        .collect();
    let runtime_config = state.join("runtime-config.toml");
    std::fs::write(&runtime_config, links).expect("runtime config");
    let settings = Settings {
        manifest: workspace.path().join(&manifest),
        state_dir: Some(state),
        runtime_config: Some(runtime_config),
        variables,
        sqlite_statements: Vec::new(),
        reuse: InstanceReuse::default(),
        max_instance_memory: 256 << 20,
        platform: Some(platform),
    };
    let running = spin_host::server::start(settings, "127.0.0.1:0".parse().expect("address"))
        .await
        .unwrap_or_else(|e| panic!("{} would not start {manifest}: {e:#}", platform.title()));
    let base = format!("http://{}", running.addr());
    let client = reqwest::Client::new();
    let positions = client
        .get(format!("{base}/api/v1/positions"))
        .send()
        .await
        .expect("positions");
    assert_eq!(positions.status(), 200, "{}", platform.title());
    let (_, token) = json(
        client
            .get(format!("{base}/api/v1/token"))
            .send()
            .await
            .expect("token"),
    )
    .await;
    let created = client
        .post(format!("{base}/api/v1/users"))
        .header("Token", token["token"].as_str().expect("token"))
        .multipart(Registration::valid(1).form())
        .send()
        .await
        .expect("registration");
    let (status, created) = json(created).await;
    assert_eq!(status, 201, "{}: {created}", platform.title());
    let id = created["user_id"].as_i64().expect("user_id");
    let (_, user) = json(
        client
            .get(format!("{base}/api/v1/users/{id}"))
            .send()
            .await
            .expect("user"),
    )
    .await;
    let photo = client
        .get(user["user"]["photo"].as_str().expect("a photo URL"))
        .send()
        .await
        .expect("photo");
    assert_eq!(photo.status(), 200, "{}", platform.title());
}

/// The test database, in place of the guide's placeholders.
async fn with_test_database(block: &str) -> String {
    let (url, _schema) = postgres_schema().await;
    block
        .replace(
            "postgres://usersbypage:PASSWORD@db.example.com:5432/usersbypage",
            &url,
        )
        .replace("db.example.com:5432", crate::helpers::PG_HOST)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deploy_guides_commands_work_as_typed() {
    if !matches!(Server::under_test(), Server::Host) {
        eprintln!("the guides' platforms are stood in for by the repository's host only");
        return;
    }
    build_components(Build::Wasi02);
    build_components(Build::Wasi03);
    let readme = std::fs::read_to_string(workspace_root().join("deploy/README.md"))
        .expect("deploy/README.md");

    for (heading, platform, deploy) in [
        (
            "2. Kubernetes with SpinKube",
            Platform::SpinKube,
            &["spin", "registry", "push"][..],
        ),
        (
            "3. Fermyon Cloud",
            Platform::FermyonCloud,
            &["spin", "cloud", "deploy"][..],
        ),
        (
            "4. Akamai Functions",
            Platform::AkamaiFunctions,
            &["spin", "aka", "deploy"][..],
        ),
    ] {
        let workspace = Workspace::new();
        let blocks = blocks(&readme, heading);
        assert!(!blocks.is_empty(), "{heading}: no commands");
        for block in &blocks {
            workspace.run(&with_test_database(block).await);
        }
        // Secrets are made once: running every block again changes none.
        let secrets = secrets(workspace.path());
        assert!(
            !secrets.is_empty() && secrets.values().all(|text| !text.trim().is_empty()),
            "{heading}: the guide keeps its secrets in deploy/secrets/"
        );
        for block in &blocks {
            workspace.run(&with_test_database(block).await);
        }
        assert_eq!(
            secrets,
            self::secrets(workspace.path()),
            "{heading}: secrets remade"
        );

        let deploys = workspace.calls_of(deploy);
        assert!(!deploys.is_empty(), "{heading}: no `{}`", deploy.join(" "));
        for args in &deploys {
            // `registry push` names its manifest with -f and its image last.
            let args: Vec<String> = match platform {
                Platform::SpinKube => vec!["--from".into(), values(args, "-f").pop().expect("-f")],
                _ => args.clone(),
            };
            let (accepted, report) = deploy_check(&workspace, platform, &args);
            assert!(
                accepted,
                "{heading}: `{} {}`:\n{report}",
                deploy.join(" "),
                args.join(" ")
            );
        }
        if platform != Platform::SpinKube {
            serve_and_register(&workspace, platform, &deploys[0]).await;
        }
    }
}

/// Every file under `deploy/secrets/`, by name.
fn secrets(root: &Path) -> BTreeMap<PathBuf, String> {
    let Ok(entries) = std::fs::read_dir(root.join("deploy/secrets")) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            (entry.path(), text)
        })
        .collect()
}
