//! Key-value stores: issued tokens, photo blobs and cached responses.
//!
//! Store labels are fixed here and must be granted in `spin.toml` (`key_value_stores`) and
//! defined in the runtime config.

use domain::token::{TokenGrant, TokenKey};

use crate::error::StoreError;
use crate::sdk::KvStore as Store;

/// Label of the store holding issued tokens.
pub const TOKENS: &str = "tokens";
/// Label of the store holding photo bytes.
pub const PHOTOS: &str = "photos";
/// Label of the store holding cached responses.
pub const CACHE: &str = "cache";
/// Cache key of the serialised positions answer.
pub const POSITIONS_CACHE_KEY: &str = "positions";

/// Issued registration tokens, by digest, with their expiry.
///
/// Whether a token has been *used* is not kept here: the key-value API has no
/// compare-and-swap, so single use is decided by the database's UNIQUE constraint on
/// `users.registration_token` instead.
pub struct TokenStore(Store);

impl TokenStore {
    /// Opens the `tokens` store.
    pub async fn open() -> Result<Self, StoreError> {
        Store::open(TOKENS).await.map(Self)
    }

    /// Records a newly issued token.
    pub async fn issue(&self, key: &TokenKey, grant: TokenGrant) -> Result<(), StoreError> {
        let value =
            serde_json::to_vec(&grant).map_err(|e| StoreError::unavailable(e.to_string()))?;
        self.0.set(key.as_str(), &value).await
    }

    /// The grant for a token, if it was issued (and not yet cleaned up).
    pub async fn grant(&self, key: &TokenKey) -> Result<Option<TokenGrant>, StoreError> {
        let Some(bytes) = self.0.get(key.as_str()).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::unavailable(format!("corrupt token grant: {e}")))
    }

    /// Forgets a token (after its registration, or once expired).
    pub async fn forget(&self, key: &TokenKey) -> Result<(), StoreError> {
        self.0.delete(key.as_str()).await
    }
}

/// Photo bytes by file name.
pub struct PhotoStore(Store);

impl PhotoStore {
    /// Opens the `photos` store.
    pub async fn open() -> Result<Self, StoreError> {
        Store::open(PHOTOS).await.map(Self)
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
    pub async fn open() -> Result<Self, StoreError> {
        Store::open(CACHE).await.map(Self)
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
