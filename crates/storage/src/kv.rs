//! Key-value stores: token signing keys, photo blobs and cached responses.
//!
//! Each is a logical store, opened in the [`KvLayout`] the deployment chose: under a label
//! of its own (granted in the manifest's `key_value_stores` and defined in the runtime
//! config), or in the `default` store under a key prefix of its own.

use domain::token::{KeyId, SigningKey};

use crate::error::StoreError;
use crate::kv_layout::{KeySpace, KvLayout, LogicalStore};
use crate::sdk::KvStore;

/// Cache key of the serialised positions answer.
pub const POSITIONS_CACHE_KEY: &str = "positions";

/// Key of the signing key new tokens are signed with.
const CURRENT_KEY: &str = "signing-key";

/// Key of the entry holding the signing key with id `id`.
fn key_entry(id: KeyId) -> String {
    format!("{CURRENT_KEY}/{id}")
}

/// A logical store: the Spin store that holds it, seen through its key space.
struct Store {
    store: KvStore,
    keys: KeySpace,
}

impl Store {
    async fn open(layout: KvLayout, logical: LogicalStore) -> Result<Self, StoreError> {
        let label = layout.label(logical);
        let store = KvStore::open(label).await.map_err(|e| {
            // The usual cause: a manifest that grants other labels than the layout opens.
            StoreError::unavailable(format!(
                "{e} (key_value_layout `{}` keeps `{}` in the store labelled `{label}`: the \
                 component's key_value_stores must grant it, and the platform provide it)",
                layout.as_str(),
                logical.name()
            ))
        })?;
        Ok(Self {
            store,
            keys: KeySpace::of(layout, logical),
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(&self.keys.key(key)).await
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store.set(&self.keys.key(key), value).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(&self.keys.key(key)).await
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.store.exists(&self.keys.key(key)).await
    }

    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.keys.own(self.store.keys().await?))
    }
}

/// Token signing keys the app made itself, for deployments that configure none.
///
/// Tokens are not stored: they verify themselves (`domain::token`). What is stored is the
/// key that signs them, once: `signing-key` names the key new tokens are signed with, and
/// `signing-key/<id>` holds each key ever made, written before it signs anything and never
/// overwritten. Two entries, because Spin's key-value API cannot create an entry only if it
/// is absent (its compare-and-swap, on SQLite, upserts a missing key): two instances
/// starting together on an empty store may both make a key, and the later write of
/// `signing-key` wins. The tokens the other one signed meanwhile still verify, through
/// their key's own entry.
pub struct TokenStore(Store);

impl TokenStore {
    /// Opens the `tokens` store.
    pub async fn open(layout: KvLayout) -> Result<Self, StoreError> {
        Store::open(layout, LogicalStore::Tokens).await.map(Self)
    }

    /// The key new tokens are signed with, if one was made.
    pub async fn current_key(&self) -> Result<Option<SigningKey>, StoreError> {
        self.read_key(CURRENT_KEY).await
    }

    /// The key with id `id`, if this store ever held it.
    pub async fn key(&self, id: KeyId) -> Result<Option<SigningKey>, StoreError> {
        self.read_key(&key_entry(id)).await
    }

    /// Keeps a newly made key: under its id first, so that it verifies whatever happens
    /// next, then as the current key.
    pub async fn add_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        let stored = key.to_stored();
        self.0.set(&key_entry(key.id()), &stored).await?;
        self.0.set(CURRENT_KEY, &stored).await
    }

    async fn read_key(&self, entry: &str) -> Result<Option<SigningKey>, StoreError> {
        let Some(bytes) = self.0.get(entry).await? else {
            return Ok(None);
        };
        SigningKey::from_stored(&bytes)
            .map(Some)
            .ok_or_else(|| StoreError::unavailable(format!("`{entry}` in `tokens` is corrupt")))
    }
}

/// Photo bytes by file name.
pub struct PhotoStore(Store);

impl PhotoStore {
    /// Opens the `photos` store.
    pub async fn open(layout: KvLayout) -> Result<Self, StoreError> {
        Store::open(layout, LogicalStore::Photos).await.map(Self)
    }

    /// Stores a photo under `name`.
    pub async fn put(&self, name: &str, jpeg: &[u8]) -> Result<(), StoreError> {
        self.0.set(name, jpeg).await
    }

    /// The photo stored under `name`.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(name).await
    }

    /// Whether a photo is stored under `name`.
    pub async fn exists(&self, name: &str) -> Result<bool, StoreError> {
        self.0.exists(name).await
    }

    /// Removes the photo under `name` (a registration that did not complete, an orphan).
    pub async fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.0.delete(name).await
    }

    /// The name of every stored photo (for the maintenance check; the whole list is held in
    /// memory, one short name per photo).
    pub async fn names(&self) -> Result<Vec<String>, StoreError> {
        self.0.keys().await
    }
}

/// Cached response bodies by key, each stamped with when it was stored so readers can
/// decide how old is too old.
pub struct Cache(Store);

/// Bytes of the big-endian Unix-seconds stamp in front of each cached body.
const STAMP_BYTES: usize = 8;

fn stamped(now: u64, body: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(STAMP_BYTES + body.len());
    value.extend_from_slice(&now.to_be_bytes());
    value.extend_from_slice(body);
    value
}

/// The body of a stamped value if it is younger than `max_age_seconds` at `now`.
fn fresh_body(value: Vec<u8>, now: u64, max_age_seconds: u64) -> Option<Vec<u8>> {
    let stamp: [u8; STAMP_BYTES] = value.get(..STAMP_BYTES)?.try_into().ok()?;
    let stored_at = u64::from_be_bytes(stamp);
    (now.saturating_sub(stored_at) < max_age_seconds).then(|| value[STAMP_BYTES..].to_vec())
}

impl Cache {
    /// Opens the `cache` store.
    pub async fn open(layout: KvLayout) -> Result<Self, StoreError> {
        Store::open(layout, LogicalStore::Cache).await.map(Self)
    }

    /// The body cached under `key`, unless it is `max_age_seconds` old or older at `now`.
    pub async fn get_fresh(
        &self,
        key: &str,
        now: u64,
        max_age_seconds: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.0.get(key).await?;
        Ok(value.and_then(|v| fresh_body(v, now, max_age_seconds)))
    }

    /// Caches `body` under `key`, stamped with `now`.
    pub async fn set(&self, key: &str, body: &[u8], now: u64) -> Result<(), StoreError> {
        self.0.set(key, &stamped(now, body)).await
    }

    /// Drops the entry under `key`.
    pub async fn invalidate(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_bodies_expire_after_their_max_age() {
        let value = stamped(1_000, b"body");
        assert_eq!(fresh_body(value.clone(), 1_000, 60), Some(b"body".to_vec()));
        assert_eq!(fresh_body(value.clone(), 1_059, 60), Some(b"body".to_vec()));
        assert_eq!(fresh_body(value, 1_060, 60), None);
        assert_eq!(fresh_body(b"short".to_vec(), 0, 60), None);
    }
}
