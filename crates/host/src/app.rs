//! A loaded application: the manifest, compiled components, their grants and the router.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use std::time::SystemTime;

use anyhow::{Context, bail};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};
use wasmtime_wasi_http::handler::{ProxyHandler, ProxyPre};
use wasmtime_wasi_http::p3::bindings::ServicePre;

use crate::chaining::ChainTargets;
use crate::deploy_rules::{self, AppFacts};
use crate::instances::Instances;
pub use crate::instances::LoadedComponent;
use crate::manifest::Manifest;
use crate::outbound::OutboundPolicy;
use crate::platform::{KeyValueLabels, Platform};
use crate::reuse::InstanceReuse;
use crate::routes::Router;
use crate::runtime_config::RuntimeConfig;
use crate::spin_apis::key_value::{KvQuota, KvStore};
use crate::spin_apis::postgres::PgPools;
use crate::spin_apis::sqlite::Database;
use crate::spin_apis::{self, ComponentGrants};
use crate::state::{ChainedRequests, HostState};
use crate::stats::Counters;
use crate::variables::{self, Resolved};

/// How often the epoch ticks; the unit of the request deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Start-up settings beyond the manifest.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Path of `spin.toml`.
    pub manifest: PathBuf,
    /// Where default stores and databases live (`.spin` next to the manifest by default).
    pub state_dir: Option<PathBuf>,
    /// Spin's `--runtime-config-file`.
    pub runtime_config: Option<PathBuf>,
    /// Variable values given on the command line (`--variable name=value`); they win over
    /// the environment and manifest defaults.
    pub variables: BTreeMap<String, String>,
    /// `--sqlite` statements for the default database, in order.
    pub sqlite_statements: Vec<String>,
    /// How instances are reused across requests (Spin's flags and defaults).
    pub reuse: InstanceReuse,
    /// Linear memory one instance may grow to.
    pub max_instance_memory: usize,
    /// A hosted platform whose limits to impose (`--platform`; this host only).
    pub platform: Option<Platform>,
}

/// Everything needed to serve requests.
pub struct App {
    pub(crate) router: Router,
    pub(crate) components: BTreeMap<String, Arc<LoadedComponent>>,
    route_list: Vec<(String, String)>,
}

/// The process's engine: component-model async (WASI 0.3) and epoch interruption for
/// deadlines, with one thread advancing the epoch every [`EPOCH_TICK`]. Shared by every app
/// the process loads (tests load many), so compiled components can be shared too.
pub fn engine() -> anyhow::Result<Engine> {
    static ENGINE: Mutex<Option<Engine>> = Mutex::new(None);
    let mut slot = ENGINE
        .lock()
        .map_err(|_| anyhow::anyhow!("engine lock poisoned"))?;
    if let Some(engine) = slot.as_ref() {
        return Ok(engine.clone());
    }
    let engine = match Engine::new(&config(true)) {
        Ok(engine) => engine,
        Err(e) => {
            tracing::warn!("pooling allocator unavailable ({e}); allocating instances on demand");
            Engine::new(&config(false)).map_err(anyhow::Error::from)?
        }
    };
    let ticking = engine.clone();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                ticking.increment_epoch();
            }
        })?;
    *slot = Some(engine.clone());
    Ok(engine)
}

/// Most instances alive at once (each request has its own); past this a request fails.
const MAX_LIVE_INSTANCES: u32 = 1000;
/// Address space reserved per linear memory slot; `--max-instance-memory` is enforced
/// below this by each store's limiter.
const MEMORY_SLOT_BYTES: usize = 1 << 30;

fn config(pooling: bool) -> Config {
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    config.epoch_interruption(true);
    if pooling {
        // As in Spin: instance memories, tables and stacks come from pre-reserved slots,
        // so a request's instantiation costs no mmap/munmap (and no TLB shootdowns).
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_component_instances(MAX_LIVE_INSTANCES)
            .total_core_instances(MAX_LIVE_INSTANCES * 2)
            .total_memories(MAX_LIVE_INSTANCES)
            .total_tables(MAX_LIVE_INSTANCES * 2)
            .total_stacks(MAX_LIVE_INSTANCES)
            .max_memory_size(MEMORY_SLOT_BYTES)
            // Spin's defaults: when an instance ends, the first 2 MiB of its memory (and
            // 512 KiB of its tables) are reset by writing them rather than returned to the
            // kernel, so a request pays for the bytes its instance had.
            .linear_memory_keep_resident(2 << 20)
            .table_keep_resident(512 << 10);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Compiles the component at `path`, or reuses this process's earlier compilation of the
/// same file (same length and modification time).
fn compile(engine: &Engine, path: &Path) -> anyhow::Result<Component> {
    type Key = (PathBuf, u64, Option<SystemTime>);
    static COMPILED: Mutex<BTreeMap<Key, Component>> = Mutex::new(BTreeMap::new());
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok());
    if let Some(component) = COMPILED.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(component);
    }
    let component = Component::from_file(engine, path).map_err(anyhow::Error::from)?;
    if let Ok(mut compiled) = COMPILED.lock() {
        compiled.insert(key, component.clone());
    }
    Ok(component)
}

fn linker(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    // Rust's std on wasm32-wasip2 imports WASI 0.2; spin-sdk 7 imports WASI 0.3.
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    // wasi:http@0.2 for WASI 0.2 components (spin-sdk 5).
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    spin_apis::add_to_linker(&mut linker, HostState::spin)?;
    Ok(linker)
}

impl App {
    /// Loads and checks everything, compiles every component once, and prepares storage.
    /// Any unsupported setting, missing variable or unlinkable import stops start-up here.
    pub fn load(settings: Settings) -> anyhow::Result<Self> {
        let manifest = Manifest::load(&settings.manifest)?;
        let state_dir = settings
            .state_dir
            .clone()
            .unwrap_or_else(|| manifest.root.join(".spin"));
        let runtime = RuntimeConfig::load(settings.runtime_config.as_deref(), &state_dir)?;
        let resolved = Resolved::from_manifest(&manifest.variables, |name, env_name| {
            settings
                .variables
                .get(name)
                .cloned()
                .or_else(|| std::env::var(env_name).ok())
        })?;
        let router = Router::new(&manifest.routes)?;
        if let Some(platform) = settings.platform {
            refuse_as(platform, &manifest, &runtime, &resolved)?;
        }

        let kv_quota = settings
            .platform
            .and_then(Platform::key_value)
            .map(|limits| Arc::new(KvQuota::new(limits)));
        let mut kv_stores = BTreeMap::new();
        let mut databases = BTreeMap::new();
        for (id, decl) in &manifest.components {
            for label in &decl.key_value_stores {
                if kv_stores.contains_key(label) {
                    continue;
                }
                let location = runtime.key_value_stores.get(label).with_context(|| {
                    format!("component `{id}` uses key-value store `{label}`, which has no runtime config (add [key_value_store.{label}])")
                })?;
                let store = KvStore::open(label, location, kv_quota.clone())
                    .with_context(|| format!("opening key-value store `{label}`"))?;
                kv_stores.insert(label.clone(), Arc::new(store));
            }
            for name in &decl.sqlite_databases {
                if databases.contains_key(name) {
                    continue;
                }
                let location = runtime.sqlite_databases.get(name).with_context(|| {
                    format!("component `{id}` uses SQLite database `{name}`, which has no runtime config (add [sqlite_database.{name}])")
                })?;
                let db = Database::new(name, location)
                    .with_context(|| format!("opening SQLite database `{name}`"))?;
                databases.insert(name.clone(), Arc::new(db));
            }
        }
        if !settings.sqlite_statements.is_empty() {
            let default = match databases.get("default") {
                Some(db) => Arc::clone(db),
                None => {
                    let location = &runtime.sqlite_databases["default"];
                    Arc::new(Database::new("default", location)?)
                }
            };
            for statement in &settings.sqlite_statements {
                spin_apis::sqlite::run_script(&default, statement)
                    .context("running --sqlite statements")?;
            }
        }

        let engine = engine()?;
        let linker = linker(&engine)?;
        let postgres = Arc::new(PgPools::default());
        let chains = Arc::new(ChainTargets::default());
        let mut components = BTreeMap::new();
        for (id, decl) in &manifest.components {
            let path = manifest.root.join(&decl.source);
            let component = compile(&engine, &path)
                .with_context(|| format!("loading component `{id}` from {}", path.display()))?;
            let pre = linker
                .instantiate_pre(&component)
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!("component `{id}` imports something this host does not provide")
                })?;
            // A WASI 0.3 component exports wasi:http/handler@0.3.0 (spin-sdk 7); a WASI 0.2 one
            // wasi:http/incoming-handler@0.2.x (spin-sdk 5), which Spin serves with a fresh
            // instance for every request, one request at a time.
            let (pre, reuse) = match ServicePre::new(pre.clone()) {
                Ok(service) => (ProxyPre::P3(service), settings.reuse),
                Err(p3_error) => match wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre) {
                    Ok(proxy) => (
                        ProxyPre::P2(proxy),
                        InstanceReuse::one_instance_per_request(),
                    ),
                    Err(_) => {
                        return Err(anyhow::Error::from(p3_error)).with_context(|| {
                            format!(
                                "component `{id}` exports neither wasi:http/handler@0.3.0 nor wasi:http/incoming-handler@0.2"
                            )
                        });
                    }
                },
            };
            let outbound_patterns = decl
                .allowed_outbound_hosts
                .iter()
                .map(|p| resolved.expand(p))
                .collect::<anyhow::Result<Vec<_>>>()
                .with_context(|| format!("component `{id}`: allowed_outbound_hosts"))?;
            let grants = ComponentGrants {
                component: id.clone(),
                key_value: decl
                    .key_value_stores
                    .iter()
                    .map(|l| (l.clone(), Arc::clone(&kv_stores[l])))
                    .collect(),
                sqlite: decl
                    .sqlite_databases
                    .iter()
                    .map(|n| (n.clone(), Arc::clone(&databases[n])))
                    .collect(),
                variables: variables::component_variables(&manifest, id, &resolved),
                outbound: OutboundPolicy::new(&outbound_patterns)
                    .with_context(|| format!("component `{id}`: allowed_outbound_hosts"))?,
                postgres: Arc::clone(&postgres),
            };
            let stats = Arc::new(Counters::default());
            let instances = Instances {
                component: id.clone(),
                engine: engine.clone(),
                pre,
                grants: Arc::new(grants),
                environment: decl
                    .environment
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                max_instance_memory: settings
                    .platform
                    .and_then(Platform::max_instance_memory)
                    .map_or(settings.max_instance_memory, |cap| {
                        cap.min(settings.max_instance_memory)
                    }),
                reuse: InstanceReuse {
                    // The request timeout still applies; reuse does not, for WASI 0.2.
                    request_timeout: settings.reuse.request_timeout,
                    ..reuse
                },
                stats: Arc::clone(&stats),
                chains: Arc::clone(&chains) as Arc<dyn ChainedRequests>,
            };
            components.insert(
                id.clone(),
                Arc::new(LoadedComponent {
                    id: id.clone(),
                    handler: ProxyHandler::new(instances),
                    stats,
                }),
            );
        }
        if components.is_empty() {
            bail!("the manifest declares no components");
        }
        chains.set(&components);
        let route_list = manifest
            .routes
            .iter()
            .filter_map(|t| Some((t.component.clone(), t.route.clone()?)))
            .collect();
        Ok(Self {
            router,
            components,
            route_list,
        })
    }
}

/// Refuses to load what `platform` would refuse to deploy or start, with its reasons. The
/// runtime config's explicit tables stand for what the platform links or provisions.
fn refuse_as(
    platform: Platform,
    manifest: &Manifest,
    runtime: &RuntimeConfig,
    resolved: &Resolved,
) -> anyhow::Result<()> {
    let mut app = AppFacts::read(manifest, resolved.values())?;
    let mut provided = runtime.defined.clone();
    if platform.key_value_labels() == KeyValueLabels::RuntimeConfig {
        // Spin's own: the `default` store and database need no runtime config.
        provided.extend(["kv:default".to_owned(), "sqlite:default".to_owned()]);
    }
    app.provided = Some(provided);
    let refusals = deploy_rules::refusals(platform, &app);
    if refusals.is_empty() {
        return Ok(());
    }
    bail!(
        "{} would refuse this application:\n  {}",
        platform.title(),
        refusals.join("\n  ")
    )
}

impl App {
    /// The component `id`, if the manifest declares it.
    pub fn component(&self, id: &str) -> Option<&LoadedComponent> {
        self.components.get(id).map(Arc::as_ref)
    }

    /// (component, route) pairs for the start-up banner, in manifest order.
    pub fn routes(&self) -> Vec<(String, String)> {
        self.route_list.clone()
    }
}
