//! The platforms the app is deployed to, and what each documents that real Spin does not
//! impose (`--platform`, this host only): what it refuses to deploy or run, and the limits it
//! puts on a running app. With a profile the host refuses at load what that platform would
//! refuse, for that platform's reason, and refuses at run time what it would refuse then, so
//! that both can be tested on a machine without the platform.
//!
//! The figures and rules are the platforms' own documentation and tools (2026): Fermyon
//! Cloud's FAQ and its `cloud` plugin (`spin cloud deploy`), Akamai Functions' "Quotas and
//! limits" and key-value guide, containerd-shim-spin's release notes. What is not
//! documented is not imposed.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A platform the app is deployed to, whose documented rules and limits the host and
/// `deploy-check` apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Kubernetes with SpinKube: containerd-shim-spin v0.24.0, which embeds Spin 3.6.3 and
    /// so serves WASI 0.2 components only; stores and databases are the operator's.
    SpinKube,
    /// Fermyon Cloud: key-value stores of at most 1,024 keys, linked to the app per label;
    /// no service chaining.
    FermyonCloud,
    /// Akamai Functions (formerly Fermyon Wasm Functions): one key-value store, labelled
    /// `default`; no SQLite; 50 key-value writes a second per application, 128 MiB of
    /// memory per request, applications of at most 50 MiB.
    AkamaiFunctions,
}

/// Every platform, in the order the guides give them.
pub const PLATFORMS: [Platform; 3] = [
    Platform::SpinKube,
    Platform::FermyonCloud,
    Platform::AkamaiFunctions,
];

impl FromStr for Platform {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        PLATFORMS
            .into_iter()
            .find(|platform| platform.name() == name)
            .ok_or_else(|| {
                format!(
                    "`{name}` is not a platform this host knows: spinkube, fermyon-cloud or akamai-functions"
                )
            })
    }
}

/// How a platform provides the key-value stores an app's components are granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyValueLabels {
    /// Any label, each defined by the runtime configuration (SpinKube, `spin up`).
    RuntimeConfig,
    /// Any label, each linked to one of the account's stores (Fermyon Cloud's `--link
    /// kv:LABEL=STORE`); the host takes a label defined in the runtime config as linked.
    Linked,
    /// Only the label `default` (Akamai Functions).
    DefaultOnly,
}

impl Platform {
    /// The name `--platform` and `deploy-check` take.
    pub fn name(self) -> &'static str {
        match self {
            Self::SpinKube => "spinkube",
            Self::FermyonCloud => "fermyon-cloud",
            Self::AkamaiFunctions => "akamai-functions",
        }
    }

    /// The platform as its documentation names it.
    pub fn title(self) -> &'static str {
        match self {
            Self::SpinKube => "SpinKube",
            Self::FermyonCloud => "Fermyon Cloud",
            Self::AkamaiFunctions => "Akamai Functions",
        }
    }

    /// The key-value limits of this platform, if it has any of its own.
    pub fn key_value(self) -> Option<KeyValueLimits> {
        match self {
            Self::SpinKube => None,
            Self::FermyonCloud => Some(KeyValueLimits {
                max_keys_per_store: Some(1_024),
                max_key_bytes: 255,
                max_value_bytes: 1_000_000,
                max_writes_per_second: None,
            }),
            Self::AkamaiFunctions => Some(KeyValueLimits {
                max_keys_per_store: None,
                max_key_bytes: 8 * 1_024,
                max_value_bytes: 1_000_000,
                max_writes_per_second: Some(50),
            }),
        }
    }

    /// Which key-value labels the platform provides, and how.
    pub fn key_value_labels(self) -> KeyValueLabels {
        match self {
            Self::SpinKube => KeyValueLabels::RuntimeConfig,
            Self::FermyonCloud => KeyValueLabels::Linked,
            Self::AkamaiFunctions => KeyValueLabels::DefaultOnly,
        }
    }

    /// Whether the platform offers Spin's SQLite databases.
    pub fn has_sqlite(self) -> bool {
        !matches!(self, Self::AkamaiFunctions)
    }

    /// Whether one component may call another (`http://<id>.spin.internal`).
    pub fn has_service_chaining(self) -> bool {
        !matches!(self, Self::FermyonCloud)
    }

    /// Whether the platform serves WASI 0.3 components (`wasi:http/handler@0.3.0`, Spin ≥
    /// 4.1). None does yet: each runs a Spin that serves WASI 0.2 only.
    pub fn serves_wasi03(self) -> bool {
        false
    }

    /// The most linear memory one instance may use, if the platform says.
    pub fn max_instance_memory(self) -> Option<usize> {
        match self {
            Self::AkamaiFunctions => Some(128 << 20),
            Self::SpinKube | Self::FermyonCloud => None,
        }
    }

    /// The largest application the platform deploys (its components' bytes), if it says.
    pub fn max_application_bytes(self) -> Option<u64> {
        match self {
            Self::AkamaiFunctions => Some(50 << 20),
            Self::SpinKube | Self::FermyonCloud => None,
        }
    }
}

/// What a platform's key-value stores accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyValueLimits {
    /// Keys one store may hold.
    pub max_keys_per_store: Option<u64>,
    pub max_key_bytes: usize,
    pub max_value_bytes: usize,
    /// Writes (sets and deletes) a second, across the application's stores.
    pub max_writes_per_second: Option<u32>,
}

impl KeyValueLimits {
    /// Why a write of `key` and `value` is refused before it reaches the store, if it is.
    pub fn refuse_size(&self, key: &str, value: &[u8]) -> Option<String> {
        if key.len() > self.max_key_bytes {
            return Some(format!(
                "key of {} bytes: the platform allows {}",
                key.len(),
                self.max_key_bytes
            ));
        }
        (value.len() > self.max_value_bytes).then(|| {
            format!(
                "value of {} bytes: the platform allows {}",
                value.len(),
                self.max_value_bytes
            )
        })
    }
}

/// The application's key-value writes in the current one-second window, for a write-rate
/// limit shared by every store.
#[derive(Debug)]
pub struct WriteRate {
    limit: u32,
    window: Mutex<(Instant, u32)>,
}

impl WriteRate {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Writes admitted a second.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Counts one write at `now`; `false` if the window is already full.
    pub fn admit(&self, now: Instant) -> bool {
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        if window.1 >= self.limit {
            return false;
        }
        window.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_named_as_the_flag_takes_them() {
        for platform in PLATFORMS {
            assert_eq!(platform.name().parse(), Ok(platform));
        }
        assert_eq!("fermyon-cloud".parse(), Ok(Platform::FermyonCloud));
        assert!("aws".parse::<Platform>().is_err());
        assert!(!Platform::FermyonCloud.has_service_chaining());
        assert!(!Platform::AkamaiFunctions.has_sqlite());
        assert_eq!(
            Platform::AkamaiFunctions.max_instance_memory(),
            Some(128 << 20)
        );
    }

    #[test]
    fn keys_and_values_over_the_platforms_sizes_are_refused() {
        let limits = Platform::FermyonCloud
            .key_value()
            .expect("Fermyon Cloud's limits");
        assert_eq!(limits.refuse_size("photo.jpeg", &[0; 3_000]), None);
        assert!(limits.refuse_size(&"k".repeat(256), b"v").is_some());
        assert!(limits.refuse_size("k", &vec![0; 1_000_001]).is_some());
    }

    #[test]
    fn a_write_rate_admits_its_limit_each_second() {
        let rate = WriteRate::new(3);
        let start = Instant::now();
        let admitted = (0..5).filter(|_| rate.admit(start)).count();
        assert_eq!(admitted, 3);
        assert!(!rate.admit(start + Duration::from_millis(999)));
        assert!(rate.admit(start + Duration::from_secs(1)));
    }
}
