//! The hosted platforms' documented limits, which real Spin does not impose (`--platform`,
//! this host only): with a profile the host refuses what that platform would, so that the
//! app's answers at those limits can be tested on a machine without the platform.
//!
//! The figures are the platforms' own documentation (2026): Fermyon Cloud's FAQ, and
//! Akamai Functions' "Quotas and limits". What is not documented is not simulated.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A hosted platform whose limits the host imposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Fermyon Cloud: key-value stores of at most 1,024 keys, no service chaining.
    FermyonCloud,
    /// Akamai Functions (formerly Fermyon Wasm Functions): no SQLite, 50 key-value writes
    /// a second per application, 128 MiB of memory per request.
    AkamaiFunctions,
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "fermyon-cloud" => Ok(Self::FermyonCloud),
            "akamai-functions" => Ok(Self::AkamaiFunctions),
            other => Err(format!(
                "`{other}` is not a platform this host knows: fermyon-cloud or akamai-functions"
            )),
        }
    }
}

impl Platform {
    /// The key-value limits of this platform.
    pub fn key_value(self) -> KeyValueLimits {
        match self {
            Self::FermyonCloud => KeyValueLimits {
                max_keys_per_store: Some(1_024),
                max_key_bytes: 255,
                max_value_bytes: 1_000_000,
                max_writes_per_second: None,
            },
            Self::AkamaiFunctions => KeyValueLimits {
                max_keys_per_store: None,
                max_key_bytes: 8 * 1_024,
                max_value_bytes: 1_000_000,
                max_writes_per_second: Some(50),
            },
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

    /// The most linear memory one instance may use, if the platform says.
    pub fn max_instance_memory(self) -> Option<usize> {
        match self {
            Self::AkamaiFunctions => Some(128 << 20),
            Self::FermyonCloud => None,
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
        assert_eq!("fermyon-cloud".parse(), Ok(Platform::FermyonCloud));
        assert_eq!("akamai-functions".parse(), Ok(Platform::AkamaiFunctions));
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
        let limits = Platform::FermyonCloud.key_value();
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
