//! Which keys sign and verify registration tokens, found once per instance.
//!
//! - When the operator sets the secret variable `token_signing_key`, it signs every new
//!   token, and `token_signing_key_previous`, if set, still verifies the tokens signed
//!   before a rotation (docs/configuration.md, "Token signing keys"). Every replica
//!   configured alike signs alike; nothing is stored.
//! - Otherwise the app makes a key from `wasi:random` the first time it needs one and keeps
//!   it in the `tokens` store ([`storage::TokenStore`]), so `spin up` needs no setup and
//!   replicas sharing that store share the key.
//!
//! Keys are kept for the life of the instance, as Spin variables are (`platform`): issuing
//! a token reads no store after an instance's first, verifying one reads the store only
//! for a key id the instance has not seen.

#![warn(missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use api::ApiError;
use domain::token::{GENERATED_KEY_BYTES, KeyId, SigningKey};
use platform::vars;
use storage::TokenStore;

/// The stored keys this instance has found so far (the configured ones come from
/// variables, which `platform` already keeps per instance).
static FOUND: Mutex<Found> = Mutex::new(Found {
    stored_current: None,
    stored: Vec::new(),
});

struct Found {
    /// The stored key new tokens are signed with.
    stored_current: Option<SigningKey>,
    /// Stored keys met when verifying.
    stored: Vec<SigningKey>,
}

/// The keys found so far. Each update is one assignment or push, so a panic elsewhere
/// cannot leave them half-written: a poisoned lock is still good.
fn found() -> MutexGuard<'static, Found> {
    FOUND.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The key to sign a new token with.
pub async fn for_issuing() -> Result<SigningKey, ApiError> {
    if let Some(current) = configured_key(vars::TOKEN_SIGNING_KEY).await? {
        return Ok(current);
    }
    if let Some(key) = found().stored_current.clone() {
        return Ok(key);
    }
    // Requests that an instance serves at once may each get here and make a key (all stay
    // valid: see `TokenStore`). They do not wait for one another instead: with an async
    // lock held across the store calls, a request waiting for another request's lock made
    // the instance trap (wit-bindgen's `FutureState::callback` panicked; Redis stores).
    let store = TokenStore::open(platform::kv_layout().await?).await?;
    let key = match store.current_key().await? {
        Some(key) => key,
        None => {
            let key = SigningKey::generate(platform::random_bytes::<GENERATED_KEY_BYTES>()?);
            store.add_key(&key).await?;
            key
        }
    };
    found().stored_current = Some(key.clone());
    Ok(key)
}

/// The key with id `id`, if it is one of ours: `None` means the token naming it is forged
/// or was signed with a key since retired.
pub async fn for_verifying(id: KeyId) -> Result<Option<SigningKey>, ApiError> {
    if let Some(current) = configured_key(vars::TOKEN_SIGNING_KEY).await? {
        let previous = previous_key().await;
        return Ok([Some(current), previous]
            .into_iter()
            .flatten()
            .find(|key| key.id() == id));
    }
    let cached = {
        let found = found();
        let mut known = found.stored.iter().chain(&found.stored_current);
        known.find(|key| key.id() == id).cloned()
    };
    if cached.is_some() {
        return Ok(cached);
    }
    let key = TokenStore::open(platform::kv_layout().await?)
        .await?
        .key(id)
        .await?;
    if let Some(key) = &key {
        found().stored.push(key.clone());
    }
    Ok(key)
}

/// The key in `token_signing_key_previous`, if one is set that can be a key. One that
/// cannot (too short, a placeholder) is the operator's mistake, but only tokens signed
/// before a rotation need it: it is left out, and said once per instance, so that tokens
/// signed with the current key still register.
async fn previous_key() -> Option<SigningKey> {
    /// Whether this instance has said why the previous key is left out.
    static SAID: AtomicBool = AtomicBool::new(false);
    let name = vars::TOKEN_SIGNING_KEY_PREVIOUS;
    let secret = platform::setting_or(name, "").await;
    if secret.trim().is_empty() {
        return None;
    }
    SigningKey::from_secret(&secret)
        .inspect_err(|problem| {
            if !SAID.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "variable `{name}` refused ({problem}): tokens signed with it are refused"
                );
            }
        })
        .ok()
}

/// The key in variable `name`; `None` when it is empty. A secret too short to be a key, or
/// a placeholder, is the operator's mistake, reported as one rather than signed with.
async fn configured_key(name: &str) -> Result<Option<SigningKey>, ApiError> {
    let secret = platform::setting_or(name, "").await;
    if secret.trim().is_empty() {
        return Ok(None);
    }
    SigningKey::from_secret(&secret)
        .map(Some)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("variable `{name}`: {e}")))
}
