//! `spin-host up --build`: run each component's build commands, as `spin build` does.
//!
//! One thing more than Spin: a fresh clone on a machine whose rustup does not install a
//! `rust-toolchain.toml`'s targets by itself (`RUSTUP_AUTO_INSTALL=0`) would otherwise fail
//! deep inside rustc ("can't find crate for `core`"). Before building, every `--target` the
//! build commands name is added through rustup when it is missing, with one line saying so.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail, ensure};

use crate::manifest::Manifest;

/// Runs every component's `[component.<id>.build]` commands in its working directory.
pub fn build_components(manifest: &Manifest) -> anyhow::Result<()> {
    let targets: BTreeSet<&str> = manifest
        .components
        .values()
        .filter_map(|component| component.build.as_ref())
        .flat_map(|build| build.commands.iter())
        .flat_map(|command| rust_targets(command))
        .collect();
    for target in targets {
        ensure_rust_target(&manifest.root, target)?;
    }

    for (id, component) in &manifest.components {
        let Some(build) = &component.build else {
            continue;
        };
        let dir = match &build.workdir {
            Some(workdir) => manifest.root.join(workdir),
            None => manifest.root.clone(),
        };
        for command in &build.commands {
            eprintln!("Building component {id} with `{command}`");
            let status = Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(&dir)
                .status()
                .with_context(|| format!("running `{command}`"))?;
            ensure!(
                status.success(),
                "building component `{id}` failed: `{command}` exited with {status}"
            );
        }
    }
    eprintln!("Finished building all Spin components");
    Ok(())
}

/// The Rust targets a build command names: `--target T` or `--target=T`.
fn rust_targets(command: &str) -> Vec<&str> {
    let mut words = command.split_whitespace();
    let mut targets = Vec::new();
    while let Some(word) = words.next() {
        if word == "--target" {
            targets.extend(words.next());
        } else if let Some(target) = word.strip_prefix("--target=") {
            targets.push(target);
        }
    }
    targets
}

/// Makes sure the toolchain that builds in `dir` (its `rust-toolchain.toml`) has `target`.
/// Without rustup there is nothing to add: the build then reports what is missing.
pub fn ensure_rust_target(dir: &Path, target: &str) -> anyhow::Result<()> {
    let Ok(installed) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()
    else {
        return Ok(());
    };
    if !installed.status.success() {
        bail!(
            "`rustup target list --installed` failed in {}",
            dir.display()
        );
    }
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == target)
    {
        return Ok(());
    }
    eprintln!("Adding the Rust target {target}, which the build needs: rustup target add {target}");
    let status = Command::new("rustup")
        .args(["target", "add", target])
        .current_dir(dir)
        .status()
        .context("running rustup")?;
    ensure!(
        status.success(),
        "the Rust target {target} is missing and `rustup target add {target}` failed; add it and run again"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::rust_targets;

    #[test]
    fn finds_every_target_a_command_names() {
        assert_eq!(
            rust_targets("cargo build --target wasm32-wasip2 --release -p token"),
            ["wasm32-wasip2"]
        );
        assert_eq!(
            rust_targets(
                "cargo build --target=wasm32-wasip1 && cargo build --target wasm32-wasip2"
            ),
            ["wasm32-wasip1", "wasm32-wasip2"]
        );
        assert!(rust_targets("npm run build").is_empty());
        assert!(rust_targets("cargo build --target").is_empty());
    }
}
