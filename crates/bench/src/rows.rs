//! What the benchmark measured: the rows each load produces and [`crate::report`] formats.
//! Loads fill a [`Report`]; nothing here measures or prints.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::plan::Plan;

/// The users page every load measures; its rows are labelled `GET {USERS_PAGE}`.
pub const USERS_PAGE: &str = "/api/v1/users?page=1&count=6";

/// What wrk measured.
#[derive(Debug, Clone, Copy)]
pub struct WrkStats {
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

impl WrkStats {
    /// Two runs side by side: requests and rates add up; latencies are the worse of the two.
    pub fn combined(runs: &[WrkStats]) -> WrkStats {
        WrkStats {
            requests: runs.iter().map(|r| r.requests).sum(),
            rps: runs.iter().map(|r| r.rps).sum(),
            p50_ms: runs.iter().map(|r| r.p50_ms).fold(0.0, f64::max),
            p99_ms: runs.iter().map(|r| r.p99_ms).fold(0.0, f64::max),
            errors: runs.iter().map(|r| r.errors).sum(),
        }
    }
}

/// One endpoint at many connections and at one keep-alive connection.
pub struct LoadRow {
    pub label: String,
    /// The 1 MB registration: its latency is the photo pipeline's, not the host's.
    pub photo_upload: bool,
    pub many: WrkStats,
    pub one: WrkStats,
    /// The server's CPU time per request in the many-connection run, in microseconds (its
    /// processes' user and system time over the run; none for a peer, which runs elsewhere).
    /// What the server itself spends, apart from wrk on the same cores.
    pub cpu_us_per_request: Option<f64>,
}

/// Tokens issued in a row on the WASI 0.3 build (SQLite key-value), and what the `tokens`
/// store holds afterwards: issuing a token must store nothing.
#[derive(Debug, Clone, Copy)]
pub struct TokenFlood {
    pub issued: u64,
    /// Entries before the flood: the signing key under its two names, and one more for each
    /// further key instances made when the first tokens were asked for at once.
    pub before: i64,
    pub after: i64,
}

/// The users page at many connections while one client registers camera photos in a row,
/// against the users page alone on the same app (WASI 0.3 build, SQLite).
#[derive(Debug, Clone, Copy)]
pub struct ReadsWhileRegistering {
    /// The size of the registered photo.
    pub photo_bytes: u64,
    pub alone: WrkStats,
    pub during: WrkStats,
    /// The registering client's run (one connection, one registration at a time).
    pub registrations: WrkStats,
}

/// The read rows on a peer implementation of the contract (`--peer`, the NestJS original).
pub struct PeerLoad {
    pub url: String,
    pub rows: Vec<LoadRow>,
}

/// The load rows on one real Spin CLI.
pub struct SpinLoad {
    /// "Spin 4.1.0-pre0", "Spin 4.1.0-pre0 + TCP_NODELAY".
    pub server: String,
    pub hello: LoadRow,
    /// The app's endpoints, WASI 0.3 build, SQLite.
    pub wasi03: Vec<LoadRow>,
    /// The users page, WASI 0.3 build, PostgreSQL.
    pub postgres: LoadRow,
    pub wasi02: Vec<LoadRow>,
    pub postgres_wasi02: LoadRow,
    pub token_flood: TokenFlood,
    pub reads_while_registering: ReadsWhileRegistering,
}

impl SpinLoad {
    pub fn rows(&self) -> impl Iterator<Item = &LoadRow> {
        std::iter::once(&self.hello)
            .chain(&self.wasi03)
            .chain(std::iter::once(&self.postgres))
            .chain(&self.wasi02)
            .chain(std::iter::once(&self.postgres_wasi02))
    }
}

/// One window of the soak.
pub struct SoakWindow {
    pub stats: WrkStats,
    /// The host's resident memory at the window's end.
    pub rss: u64,
}

pub struct ScaleRow {
    pub backend: String,
    pub page: String,
    /// Read with `as_of` (the links' anchor) rather than as the list is now.
    pub anchored: bool,
    pub stats: WrkStats,
}

pub struct PhotoRow {
    pub label: String,
    /// A real photo (not the bomb header): quality and sharp apply.
    pub photo: bool,
    pub native_ms: f64,
    pub native_peak_rss: u64,
    pub component_ms: f64,
    pub component_memory: u64,
    /// PSNR of our 70x70 result against the full-resolution reference.
    pub psnr_db: Option<f64>,
    pub sharp: Option<SharpRun>,
}

/// sharp's run on the same photo.
pub struct SharpRun {
    pub median_ms: f64,
    /// Of the whole Node process, Node itself included.
    pub peak_rss: u64,
    pub psnr_db: Option<f64>,
    pub version: String,
}

pub struct Report {
    pub plan: Plan,
    /// A smoke run: tiny data, nothing judged.
    pub smoke: bool,
    pub sizes: Vec<(String, u64)>,
    /// The WASI 0.2 build's components (`target/wasi02`).
    pub sizes_wasi02: Vec<(String, u64)>,
    pub app_startup: Option<Duration>,
    pub wasi02_startup: Option<Duration>,
    pub hello_startup: Option<Duration>,
    pub upload_bytes: u64,
    pub load: Vec<LoadRow>,
    /// The app's rows of `load` (hello world aside) on the WASI 0.2 build.
    pub load_wasi02: Vec<LoadRow>,
    /// Host calls per request of each read, both builds.
    pub host_calls: Vec<HostCallRow>,
    pub hello_one_instance_per_request: Option<WrkStats>,
    pub users_one_instance_per_request: Option<WrkStats>,
    pub postgres_users_page: Option<LoadRow>,
    pub two_hosts: Option<WrkStats>,
    /// The token flood on the host's WASI 0.3 app.
    pub token_flood: Option<TokenFlood>,
    pub reads_while_registering: Option<ReadsWhileRegistering>,
    /// The load rows again on each real Spin CLI given (`--spin`, `--spin-nodelay`).
    pub spin: Vec<SpinLoad>,
    /// The read rows on the peer given with `--peer`.
    pub peer: Option<PeerLoad>,
    pub scale: Vec<ScaleRow>,
    pub photo: Vec<PhotoRow>,
    /// Hostile photos and honest registrations beside them, and against the peer.
    pub hostile: HostileRows,
    /// The host's resident memory after seeding, before the first soak window.
    pub soak_rss_start: Option<u64>,
    pub soak: Vec<SoakWindow>,
}

/// What `crate::hostile` measured.
#[derive(Default)]
pub struct HostileRows {
    pub costs: Vec<PhotoCost>,
    pub beside: Vec<Beside>,
    pub registrations: Vec<Registrations>,
}

/// One input through the pipeline in a component.
#[derive(Debug, Clone)]
pub struct PhotoCost {
    pub server: String,
    pub input: String,
    pub bytes: usize,
    /// `ok`, or the contract's message.
    pub answer: String,
    /// Median over the runs, in the component (its own clock).
    pub component_ms: f64,
    /// Largest linear memory one request made a fresh instance grow to.
    pub memory_bytes: u64,
}

/// Honest registrations alone and beside one hostile class.
#[derive(Debug, Clone)]
pub struct Beside {
    pub server: String,
    pub class: String,
    /// The hostile registrations' statuses (all the same when they behave).
    pub hostile_statuses: Vec<u16>,
    pub hostile_ms: f64,
    pub honest_alone_ms: f64,
    pub honest_beside_ms: f64,
    /// Statuses of the honest registrations sent beside (all 201 when they behave).
    pub honest_statuses: Vec<u16>,
}

/// Sequential registrations of one photo on one implementation.
#[derive(Debug, Clone)]
pub struct Registrations {
    pub implementation: String,
    pub photo: String,
    pub bytes: usize,
    pub median_ms: f64,
    pub p90_ms: f64,
    pub failures: usize,
}

/// Calls per request by `package/interface.function`.
pub type Calls = BTreeMap<String, f64>;

/// One endpoint's calls on each build.
pub struct HostCallRow {
    pub label: String,
    /// WASI 0.3 build, a reused (warm) instance.
    pub wasi03: Calls,
    /// WASI 0.2 build, an instance per request.
    pub wasi02: Calls,
}

impl Report {
    pub fn new(plan: Plan, smoke: bool) -> Self {
        Self {
            plan,
            smoke,
            sizes: Vec::new(),
            sizes_wasi02: Vec::new(),
            app_startup: None,
            wasi02_startup: None,
            hello_startup: None,
            upload_bytes: 0,
            load: Vec::new(),
            load_wasi02: Vec::new(),
            host_calls: Vec::new(),
            hello_one_instance_per_request: None,
            users_one_instance_per_request: None,
            postgres_users_page: None,
            two_hosts: None,
            token_flood: None,
            reads_while_registering: None,
            spin: Vec::new(),
            peer: None,
            scale: Vec::new(),
            hostile: HostileRows::default(),
            photo: Vec::new(),
            soak_rss_start: None,
            soak: Vec::new(),
        }
    }
}
