//! Registration tokens (CONTRACT.md, `GET /api/v1/token`) that verify themselves.
//!
//! Issuing a token stores nothing: the token carries its own lifetime and is signed with
//! HMAC-SHA-256 under a key the client never sees. Its bytes, sent as unpadded base64url:
//!
//! ```text
//! version (1) ‖ key id (8) ‖ issued at (8) ‖ expires at (8) ‖ nonce (16) ‖ tag (32)
//! ```
//!
//! The times are big-endian Unix seconds; the nonce is 128 bits from a CSPRNG, so no two
//! tokens are alike; the tag is the HMAC of everything before it. The key id says which
//! key signed the token, so keys can be rotated (see [`SigningKey`]).
//!
//! What a signature cannot say is whether the token has been used. That is decided by the
//! database: a registration stores the token's [`TokenKey`] in a UNIQUE column with the
//! same insert that creates the user.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// How long a token stays valid when no other lifetime is configured: 40 minutes.
pub const DEFAULT_TTL_SECONDS: u64 = 40 * 60;
/// Random bytes per token: 128 bits, the contract's minimum, on top of the signature.
pub const NONCE_BYTES: usize = 16;
/// How far a token's issue time may lie in the future and still be accepted: replicas'
/// clocks differ a little.
pub const CLOCK_SKEW_SECONDS: u64 = 60;

const VERSION: u8 = 1;
const KEY_ID_BYTES: usize = 8;
const TAG_BYTES: usize = 32;
const SIGNED_BYTES: usize = 1 + KEY_ID_BYTES + 8 + 8 + NONCE_BYTES;
const TOKEN_BYTES: usize = SIGNED_BYTES + TAG_BYTES;
/// Length of every token's text: the unpadded base64url of its bytes.
pub const TOKEN_CHARS: usize = (TOKEN_BYTES * 4).div_ceil(3);

/// The shortest secret an operator may configure: 32 bytes, HMAC-SHA-256's output size.
pub const MIN_SECRET_BYTES: usize = 32;
/// Random bytes needed to generate a key: its id and a 256-bit secret.
pub const GENERATED_KEY_BYTES: usize = KEY_ID_BYTES + 32;

type HmacSha256 = Hmac<Sha256>;

/// Which key signed a token: 8 bytes, shown as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; KEY_ID_BYTES]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A key that signs and verifies tokens. `Debug` does not print the secret.
///
/// Keys come from two places: a secret the operator configures ([`SigningKey::from_secret`],
/// its id derived from it, so every replica agrees without coordination), or one generated
/// once from random bytes and stored ([`SigningKey::generate`], with a random id).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    id: KeyId,
    secret: Vec<u8>,
}

pub use crate::secret::WeakSecret;

impl SigningKey {
    /// A key from the operator's secret text (surrounding whitespace ignored). Its id is a
    /// digest of the secret, so replicas configured alike sign alike.
    pub fn from_secret(secret: &str) -> Result<Self, WeakSecret> {
        let secret = crate::secret::check(secret, MIN_SECRET_BYTES)?.as_bytes();
        let digest = Sha256::new()
            .chain_update(b"usersbypage token key id\0")
            .chain_update(secret)
            .finalize();
        let mut id = [0; KEY_ID_BYTES];
        id.copy_from_slice(&digest[..KEY_ID_BYTES]);
        Ok(Self {
            id: KeyId(id),
            secret: secret.to_vec(),
        })
    }

    /// A new key from random bytes (the caller supplies them from a CSPRNG).
    pub fn generate(random: [u8; GENERATED_KEY_BYTES]) -> Self {
        let (id, secret) = random.split_at(KEY_ID_BYTES);
        let mut key_id = [0; KEY_ID_BYTES];
        key_id.copy_from_slice(id);
        Self {
            id: KeyId(key_id),
            secret: secret.to_vec(),
        }
    }

    /// The key as stored: its id, then its secret.
    pub fn to_stored(&self) -> Vec<u8> {
        [&self.id.0[..], &self.secret].concat()
    }

    /// A key as [`to_stored`](Self::to_stored) wrote it; `None` if the bytes cannot be one.
    pub fn from_stored(bytes: &[u8]) -> Option<Self> {
        let (id, secret) = bytes.split_at_checked(KEY_ID_BYTES)?;
        let id = KeyId(id.try_into().ok()?);
        (secret.len() >= MIN_SECRET_BYTES).then(|| Self {
            id,
            secret: secret.to_vec(),
        })
    }

    /// The key's id, carried in every token it signs.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// A token valid from `now` for `ttl_seconds`, made unique by `nonce` (from a CSPRNG).
    pub fn issue(&self, nonce: [u8; NONCE_BYTES], now: u64, ttl_seconds: u64) -> Token {
        let mut bytes = Vec::with_capacity(TOKEN_BYTES);
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(&now.to_be_bytes());
        bytes.extend_from_slice(&now.saturating_add(ttl_seconds).to_be_bytes());
        bytes.extend_from_slice(&nonce);
        let tag = self.mac(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag);
        Token(URL_SAFE_NO_PAD.encode(bytes))
    }

    fn mac(&self, signed: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length; ours are at least 32 bytes.
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(signed);
        mac
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A token as issued to the client. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The text sent to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A token as presented in a request's `Token` header: well-formed, not yet verified.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedToken([u8; TOKEN_BYTES]);

/// Why a presented token is refused. The contract answers all of them alike ("The token
/// expired."); the reasons are for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not signed by the key its id names: altered, or forged.
    BadSignature,
    /// Past its expiry.
    Expired,
    /// Issued later than now (beyond [`CLOCK_SKEW_SECONDS`]): no key of ours signed that.
    FromTheFuture,
}

impl PresentedToken {
    /// Reads a `Token` header. Anything that is not exactly the shape of our tokens —
    /// empty, truncated, too long, not base64url, another version — is `None`, decided
    /// before any lookup or key is involved.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        if header.len() != TOKEN_CHARS {
            return None;
        }
        let decoded = URL_SAFE_NO_PAD.decode(header).ok()?;
        let bytes: [u8; TOKEN_BYTES] = decoded.try_into().ok()?;
        (bytes[0] == VERSION).then_some(Self(bytes))
    }

    /// The id of the key the token claims signed it.
    pub fn key_id(&self) -> KeyId {
        let mut id = [0; KEY_ID_BYTES];
        id.copy_from_slice(&self.0[1..=KEY_ID_BYTES]);
        KeyId(id)
    }

    /// Checks the signature with `key` (the key [`key_id`](Self::key_id) names), then the
    /// token's lifetime at `now`. On success, the key its single use is recorded under.
    pub fn verify(&self, key: &SigningKey, now: u64) -> Result<TokenKey, Refusal> {
        let (signed, tag) = self.0.split_at(SIGNED_BYTES);
        if key.id != self.key_id() || key.mac(signed).verify_slice(tag).is_err() {
            return Err(Refusal::BadSignature);
        }
        let time_at = |offset: usize| {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&signed[offset..offset + 8]);
            u64::from_be_bytes(bytes)
        };
        let issued_at = time_at(1 + KEY_ID_BYTES);
        let expires_at = time_at(1 + KEY_ID_BYTES + 8);
        if issued_at > now.saturating_add(CLOCK_SKEW_SECONDS) {
            return Err(Refusal::FromTheFuture);
        }
        if now >= expires_at {
            return Err(Refusal::Expired);
        }
        Ok(TokenKey(hex::encode(Sha256::digest(self.0))))
    }
}

impl fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PresentedToken(<redacted>)")
    }
}

/// What a token's single use is recorded under (`users.registration_token`): the hex
/// SHA-256 of its bytes, so the database never holds a token a client could present.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey(String);

impl TokenKey {
    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn key(byte: u8) -> SigningKey {
        SigningKey::generate([byte; GENERATED_KEY_BYTES])
    }

    fn issued(key: &SigningKey, nonce: u8) -> PresentedToken {
        let token = key.issue([nonce; NONCE_BYTES], NOW, DEFAULT_TTL_SECONDS);
        PresentedToken::parse(token.expose()).expect("our own token parses")
    }

    /// The token's text with the byte at `index` changed.
    fn altered(token: &Token, index: usize) -> String {
        let mut bytes = URL_SAFE_NO_PAD.decode(token.expose()).unwrap();
        bytes[index] ^= 0x01;
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn a_token_is_url_safe_text_of_fixed_length() {
        let token = key(1).issue([2; NONCE_BYTES], NOW, 60);
        assert_eq!(token.expose().len(), TOKEN_CHARS);
        assert_eq!(TOKEN_CHARS, 98);
        assert!(
            token
                .expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn a_token_verifies_under_its_key_until_it_expires() {
        let key = key(1);
        let token = issued(&key, 2);
        assert_eq!(token.key_id(), key.id());
        assert!(token.verify(&key, NOW).is_ok());
        assert!(token.verify(&key, NOW + DEFAULT_TTL_SECONDS - 1).is_ok());
        assert_eq!(
            token.verify(&key, NOW + DEFAULT_TTL_SECONDS),
            Err(Refusal::Expired)
        );
    }

    #[test]
    fn a_zero_lifetime_token_is_expired_at_once() {
        let key = key(1);
        let token = key.issue([2; NONCE_BYTES], NOW, 0);
        let presented = PresentedToken::parse(token.expose()).unwrap();
        assert_eq!(presented.verify(&key, NOW), Err(Refusal::Expired));
    }

    #[test]
    fn another_key_does_not_verify_it() {
        let token = issued(&key(1), 2);
        assert_eq!(token.verify(&key(3), NOW), Err(Refusal::BadSignature));
        // Same id, other secret: a forgery that names our key.
        let mut forged_with = key(3);
        forged_with.id = key(1).id();
        let forged = issued(&forged_with, 2);
        assert_eq!(forged.verify(&key(1), NOW), Err(Refusal::BadSignature));
    }

    #[test]
    fn changing_any_byte_breaks_the_token() {
        let key = key(1);
        let token = key.issue([2; NONCE_BYTES], NOW, DEFAULT_TTL_SECONDS);
        for index in 0..TOKEN_BYTES {
            let text = altered(&token, index);
            let refused = match PresentedToken::parse(&text) {
                None => true,
                Some(presented) => presented.verify(&key, NOW).is_err(),
            };
            assert!(refused, "byte {index} altered");
        }
    }

    #[test]
    fn a_token_issued_in_the_future_is_refused() {
        let key = key(1);
        let later = |seconds| {
            let token = key.issue([2; NONCE_BYTES], NOW + seconds, DEFAULT_TTL_SECONDS);
            PresentedToken::parse(token.expose())
                .unwrap()
                .verify(&key, NOW)
        };
        assert!(later(CLOCK_SKEW_SECONDS).is_ok());
        assert_eq!(later(CLOCK_SKEW_SECONDS + 1), Err(Refusal::FromTheFuture));
    }

    #[test]
    fn malformed_headers_are_not_tokens() {
        let good = key(1).issue([2; NONCE_BYTES], NOW, 60);
        let text = good.expose();
        let truncated = &text[..text.len() - 1];
        let padded = format!("{text}A");
        let huge = "A".repeat(100_000);
        let not_base64 = format!("{}!", &text[..text.len() - 1]);
        let old_format = "A".repeat(43);
        let mut other_version = URL_SAFE_NO_PAD.decode(text).unwrap();
        other_version[0] = 2;
        let other_version = URL_SAFE_NO_PAD.encode(other_version);
        for bad in [
            "",
            " ",
            truncated,
            &padded,
            &huge,
            &not_base64,
            &old_format,
            &other_version,
        ] {
            assert_eq!(PresentedToken::parse(bad), None, "{bad:.40}");
        }
        assert!(PresentedToken::parse(&format!(" {text} ")).is_some());
    }

    #[test]
    fn each_token_has_its_own_single_use_key() {
        let key = key(1);
        let first = issued(&key, 2).verify(&key, NOW).unwrap();
        let second = issued(&key, 3).verify(&key, NOW).unwrap();
        assert_ne!(first, second);
        assert_eq!(first.as_str().len(), 64);
        assert_eq!(first, issued(&key, 2).verify(&key, NOW + 1).unwrap());
    }

    #[test]
    fn configured_secrets_give_one_key_everywhere_and_must_be_long() {
        let secret = "a secret of more than thirty-two bytes";
        let (a, b) = (
            SigningKey::from_secret(secret).unwrap(),
            SigningKey::from_secret(&format!("  {secret}\n")).unwrap(),
        );
        assert_eq!(a, b);
        assert_ne!(
            a.id(),
            SigningKey::from_secret(&format!("{secret}!")).unwrap().id()
        );
        assert_eq!(
            SigningKey::from_secret("short"),
            Err(WeakSecret::TooShort { len: 5, min: 32 })
        );
        assert_eq!(
            SigningKey::from_secret("CHANGE-ME-TO-32-OR-MORE-RANDOM-BYTES"),
            Err(WeakSecret::Placeholder),
            "deploy/secret.example.yaml's old placeholder"
        );
    }

    #[test]
    fn stored_keys_round_trip_and_corrupt_ones_are_refused() {
        let key = key(7);
        assert_eq!(SigningKey::from_stored(&key.to_stored()), Some(key.clone()));
        assert_eq!(SigningKey::from_stored(&key.to_stored()[..20]), None);
        assert_eq!(SigningKey::from_stored(b""), None);
    }

    #[test]
    fn debug_output_hides_secrets_and_tokens() {
        let key = SigningKey::from_secret("0123456789abcdef0123456789abcdef-secret").unwrap();
        assert!(!format!("{key:?}").contains("0123456789"));
        let token = key.issue([1; NONCE_BYTES], NOW, 60);
        assert!(!format!("{token:?}").contains(token.expose()));
        let presented = PresentedToken::parse(token.expose()).unwrap();
        assert!(!format!("{presented:?}").contains(&token.expose()[..10]));
    }
}
