//! The plan of a run: how big and how long each part is, and the workspace it measures.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Tokens the full run issues in a row before counting the `tokens` store's entries.
pub const TOKEN_FLOOD: u64 = 100_000;

/// One window of the full run's soak.
pub const SOAK_WINDOW: Duration = Duration::from_secs(60);

/// How big and how long each part runs.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub users: u32,
    pub scale_users: u64,
    pub wrk_duration: Duration,
    pub connections: u32,
    pub threads: u32,
    pub photo_side: (u32, u32),
    pub probe_runs: usize,
    /// Run sharp (npm) beside the photo pipeline.
    pub sharp: bool,
    /// Soak windows in a row, each this long, at these connections.
    pub soak_windows: u32,
    pub soak_window: Duration,
    pub soak_connections: u32,
    /// Tokens to issue in a row before counting the `tokens` store (at least one wrk run).
    pub token_flood: u64,
}

impl Plan {
    pub fn full() -> Self {
        Self {
            users: 10_000,
            scale_users: 1_000_000,
            wrk_duration: Duration::from_secs(10),
            connections: 16,
            threads: 2,
            photo_side: (4000, 3000),
            probe_runs: 20,
            sharp: true,
            soak_windows: 10,
            soak_window: SOAK_WINDOW,
            soak_connections: 32,
            token_flood: TOKEN_FLOOD,
        }
    }

    pub fn smoke() -> Self {
        Self {
            users: 50,
            scale_users: 1_000,
            wrk_duration: Duration::from_secs(1),
            connections: 2,
            threads: 1,
            photo_side: (400, 300),
            probe_runs: 2,
            sharp: false,
            // Two short windows, so the soak's script keeps working too.
            soak_windows: 2,
            soak_window: Duration::from_secs(2),
            soak_connections: 4,
            token_flood: 0,
        }
    }
}

/// The repository's root, where `target/` and the manifests are.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
