//! Key-value stores: issued tokens, photo blobs and cached responses.
//!
//! Store labels are fixed here and must be granted in `spin.toml` (`key_value_stores`) and
//! defined in the runtime config.

use domain::token::{TokenGrant, TokenKey};
use spin_sdk::key_value::Store;

use crate::error::StoreError;

/// Label of the store holding issued tokens.
pub const TOKENS: &str = "tokens";
/// Label of the store holding photo bytes.
pub const PHOTOS: &str = "photos";
/// Label of the store holding cached responses.
pub const CACHE: &str = "cache";

async fn open(label: &str) -> Result<Store, StoreError> {
    Store::open(label)
        .await
        .map_err(|e| StoreError::unavailable(format!("opening key-value store `{label}`: {e:?}")))
}

fn kv_error(label: &'static str) -> impl Fn(spin_sdk::key_value::Error) -> StoreError {
    move |e| StoreError::unavailable(format!("key-value store `{label}`: {e:?}"))
}

/// Issued registration tokens, by digest, with their expiry.
///
/// Whether a token has been *used* is not kept here: the key-value API has no
/// compare-and-swap, so single use is decided by the database's UNIQUE constraint on
/// `users.registration_token` instead.
pub struct TokenStore(Store);

impl TokenStore {
    /// Opens the `tokens` store.
    pub async fn open() -> Result<Self, StoreError> {
        open(TOKENS).await.map(Self)
    }

    /// Records a newly issued token.
    pub async fn issue(&self, key: &TokenKey, grant: TokenGrant) -> Result<(), StoreError> {
        let value =
            serde_json::to_vec(&grant).map_err(|e| StoreError::unavailable(e.to_string()))?;
        self.0
            .set(key.as_str(), value)
            .await
            .map_err(kv_error(TOKENS))
    }

    /// The grant for a token, if it was issued (and not yet cleaned up).
    pub async fn grant(&self, key: &TokenKey) -> Result<Option<TokenGrant>, StoreError> {
        let Some(bytes) = self.0.get(key.as_str()).await.map_err(kv_error(TOKENS))? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::unavailable(format!("corrupt token grant: {e}")))
    }

    /// Forgets a token (after its registration, or once expired).
    pub async fn forget(&self, key: &TokenKey) -> Result<(), StoreError> {
        self.0.delete(key.as_str()).await.map_err(kv_error(TOKENS))
    }
}

/// Photo bytes by file name.
pub struct PhotoStore(Store);

impl PhotoStore {
    /// Opens the `photos` store.
    pub async fn open() -> Result<Self, StoreError> {
        open(PHOTOS).await.map(Self)
    }

    /// Stores a photo under `name`.
    pub async fn put(&self, name: &str, jpeg: &[u8]) -> Result<(), StoreError> {
        self.0.set(name, jpeg).await.map_err(kv_error(PHOTOS))
    }

    /// The photo stored under `name`.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(name).await.map_err(kv_error(PHOTOS))
    }

    /// Whether a photo is stored under `name`.
    pub async fn exists(&self, name: &str) -> Result<bool, StoreError> {
        self.0.exists(name).await.map_err(kv_error(PHOTOS))
    }

    /// Removes the photo under `name` (a registration that did not complete).
    pub async fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.0.delete(name).await.map_err(kv_error(PHOTOS))
    }
}

/// Cached response bodies by key.
pub struct Cache(Store);

impl Cache {
    /// Opens the `cache` store.
    pub async fn open() -> Result<Self, StoreError> {
        open(CACHE).await.map(Self)
    }

    /// The cached bytes under `key`.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(key).await.map_err(kv_error(CACHE))
    }

    /// Caches `value` under `key`.
    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.0.set(key, value).await.map_err(kv_error(CACHE))
    }

    /// Drops the entry under `key`.
    pub async fn invalidate(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await.map_err(kv_error(CACHE))
    }
}
