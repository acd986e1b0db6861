//! Runtime configuration: where key-value stores and SQLite databases live.
//!
//! Reads the `key_value_store` and `sqlite_database` tables of Spin's `--runtime-config-file`
//! (type `spin`, a local SQLite file, a relative `path` resolved as Spin does: a store's
//! against the file's folder, a database's against the working directory; and for key-value
//! stores type `redis` with a `url`, as Spin's Redis provider) and adds Spin's defaults: the `default` store in
//! `<state dir>/sqlite_key_value.db` and the `default` database in `<state dir>/sqlite_db.db`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// Where one store or database keeps its data.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// A SQLite file.
    File(PathBuf),
    /// Memory only, gone when the host stops.
    Memory,
    /// A Redis server (key-value stores only), by `redis://` URL.
    Redis(String),
}

/// The resolved runtime configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeConfig {
    /// Key-value stores by label.
    pub key_value_stores: BTreeMap<String, Location>,
    /// SQLite databases by name.
    pub sqlite_databases: BTreeMap<String, Location>,
    /// The stores and databases the file defines (`kv:LABEL`, `sqlite:NAME`), Spin's
    /// defaults aside: what a platform that links each label (Fermyon Cloud) would have
    /// linked.
    pub defined: std::collections::BTreeSet<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    key_value_store: BTreeMap<String, RawStore>,
    #[serde(default)]
    sqlite_database: BTreeMap<String, RawStore>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    r#type: String,
    path: Option<PathBuf>,
    url: Option<String>,
}

impl RuntimeConfig {
    /// Spin's defaults under `state_dir`, overridden by the runtime config file if given.
    pub fn load(file: Option<&Path>, state_dir: &Path) -> anyhow::Result<Self> {
        let (raw, base) = match file {
            Some(file) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading runtime config {}", file.display()))?;
                let raw: RawConfig = toml::from_str(&text)
                    .with_context(|| format!("in runtime config {}", file.display()))?;
                let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
                (raw, base)
            }
            None => (RawConfig::default(), PathBuf::from(".")),
        };
        let mut config = Self {
            key_value_stores: BTreeMap::from([(
                "default".to_owned(),
                Location::File(state_dir.join("sqlite_key_value.db")),
            )]),
            sqlite_databases: BTreeMap::from([(
                "default".to_owned(),
                Location::File(state_dir.join("sqlite_db.db")),
            )]),
            defined: std::collections::BTreeSet::new(),
        };
        for (label, store) in raw.key_value_store {
            let table = format!("key_value_store.{label}");
            let location = match store.r#type.as_str() {
                "redis" => store.redis(&table)?,
                _ => store.local(&base, &table)?,
            };
            config.defined.insert(format!("kv:{label}"));
            config.key_value_stores.insert(label, location);
        }
        // Spin resolves a key-value store's relative `path` against the config file's folder,
        // but a SQLite database's against the working directory (spin-runtime-config,
        // `sqlite_config_resolver`).
        let working_dir = std::env::current_dir().context("reading the working directory")?;
        for (name, db) in raw.sqlite_database {
            let location = db.local(&working_dir, &format!("sqlite_database.{name}"))?;
            config.defined.insert(format!("sqlite:{name}"));
            config.sqlite_databases.insert(name, location);
        }
        Ok(config)
    }
}

impl RawStore {
    /// `type = "spin"`: a SQLite file at `path` (relative to the config file), or memory.
    fn local(self, base: &Path, table: &str) -> anyhow::Result<Location> {
        if self.r#type != "spin" {
            bail!(
                "[{table}] type `{}` is not supported by this host here (only `spin`, a local SQLite file{})",
                self.r#type,
                if table.starts_with("key_value_store.") {
                    ", or `redis`"
                } else {
                    ""
                }
            );
        }
        if self.url.is_some() {
            bail!("[{table}] a `spin` store takes `path`, not `url`");
        }
        Ok(match self.path {
            Some(path) => Location::File(base.join(path)),
            None => Location::Memory,
        })
    }

    /// `type = "redis"`: a Redis server at `url`.
    fn redis(self, table: &str) -> anyhow::Result<Location> {
        if self.path.is_some() {
            bail!("[{table}] a `redis` store takes `url`, not `path`");
        }
        let url = self
            .url
            .with_context(|| format!("[{table}] a `redis` store needs `url = \"redis://…\"`"))?;
        Ok(Location::Redis(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_live_in_the_state_dir() {
        let c = RuntimeConfig::load(None, Path::new("/app/.spin")).unwrap();
        assert_eq!(
            c.key_value_stores["default"],
            Location::File("/app/.spin/sqlite_key_value.db".into())
        );
        assert_eq!(
            c.sqlite_databases["default"],
            Location::File("/app/.spin/sqlite_db.db".into())
        );
    }

    #[test]
    fn a_config_file_adds_stores_relative_to_itself_and_databases_to_the_working_dir() {
        let dir = std::env::temp_dir().join(format!("rc-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("runtime.toml");
        std::fs::write(
            &file,
            "[key_value_store.photos]\ntype = \"spin\"\npath = \"photos.db\"\n\
             [key_value_store.cache]\ntype = \"spin\"\n\
             [sqlite_database.default]\ntype = \"spin\"\npath = \"app.db\"\n",
        )
        .unwrap();
        let c = RuntimeConfig::load(Some(&file), Path::new(".spin")).unwrap();
        assert_eq!(
            c.key_value_stores["photos"],
            Location::File(dir.join("photos.db"))
        );
        assert_eq!(c.key_value_stores["cache"], Location::Memory);
        assert_eq!(
            c.sqlite_databases["default"],
            Location::File(std::env::current_dir().unwrap().join("app.db"))
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn redis_stores_take_a_url() {
        let dir = tempdir_with(
            "[key_value_store.tokens]\ntype = \"redis\"\nurl = \"redis://cache:6379/1\"\n",
        );
        let c = RuntimeConfig::load(Some(&dir.join("runtime.toml")), Path::new(".spin")).unwrap();
        assert_eq!(
            c.key_value_stores["tokens"],
            Location::Redis("redis://cache:6379/1".into())
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn other_store_types_and_misplaced_keys_are_refused() {
        for (config, expected) in [
            (
                "[key_value_store.x]\ntype = \"azure_cosmos\"\n",
                "azure_cosmos",
            ),
            ("[key_value_store.x]\ntype = \"redis\"\n", "needs `url"),
            (
                "[key_value_store.x]\ntype = \"redis\"\npath = \"x.db\"\nurl = \"redis://r\"\n",
                "not `path`",
            ),
            (
                "[sqlite_database.x]\ntype = \"redis\"\nurl = \"redis://r\"\n",
                "redis",
            ),
            (
                "[key_value_store.x]\ntype = \"spin\"\nurl = \"redis://r\"\n",
                "not `url`",
            ),
        ] {
            let dir = tempdir_with(config);
            let error = RuntimeConfig::load(Some(&dir.join("runtime.toml")), Path::new(".spin"))
                .unwrap_err();
            assert!(
                format!("{error:#}").contains(expected),
                "{config}: {error:#}"
            );
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    fn tempdir_with(config: &str) -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rc-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("runtime.toml"), config).unwrap();
        dir
    }
}
