//! Runtime configuration: where key-value stores and SQLite databases live.
//!
//! Reads the `key_value_store` and `sqlite_database` tables of Spin's `--runtime-config-file`
//! (type `spin` only) and adds Spin's defaults: the `default` store in
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
}

/// The resolved runtime configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeConfig {
    /// Key-value stores by label.
    pub key_value_stores: BTreeMap<String, Location>,
    /// SQLite databases by name.
    pub sqlite_databases: BTreeMap<String, Location>,
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
        };
        for (label, store) in raw.key_value_store {
            let location = store.location(&base, &format!("key_value_store.{label}"))?;
            config.key_value_stores.insert(label, location);
        }
        for (name, db) in raw.sqlite_database {
            let location = db.location(&base, &format!("sqlite_database.{name}"))?;
            config.sqlite_databases.insert(name, location);
        }
        Ok(config)
    }
}

impl RawStore {
    fn location(self, base: &Path, table: &str) -> anyhow::Result<Location> {
        if self.r#type != "spin" {
            bail!(
                "[{table}] type `{}` is not supported by this host (only `spin`, a local SQLite file)",
                self.r#type
            );
        }
        Ok(match self.path {
            Some(path) => Location::File(base.join(path)),
            None => Location::Memory,
        })
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
    fn a_config_file_adds_stores_relative_to_itself() {
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
            Location::File(dir.join("app.db"))
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn other_store_types_are_refused() {
        let raw: RawConfig =
            toml::from_str("[key_value_store.x]\ntype = \"redis\"\nurl = \"redis://x\"\n")
                .unwrap_or_default();
        assert!(
            raw.key_value_store.is_empty(),
            "unknown keys must not parse"
        );
        let store = RawStore {
            r#type: "redis".into(),
            path: None,
        };
        let err = store
            .location(Path::new("."), "key_value_store.x")
            .unwrap_err();
        assert!(err.to_string().contains("redis"));
    }
}
