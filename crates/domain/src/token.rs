//! Registration tokens (CONTRACT.md, `GET /api/v1/token`).
//!
//! A token is 32 bytes from a CSPRNG, sent to the client as unpadded base64url. Storage only
//! ever sees its SHA-256 digest ([`TokenKey`]): a leaked key-value store or database does not
//! hand out usable tokens.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Random bytes per token: 256 bits, twice the contract's minimum.
pub const TOKEN_BYTES: usize = 32;
/// How long a token stays valid when no other lifetime is configured: 40 minutes.
pub const DEFAULT_TTL_SECONDS: u64 = 40 * 60;

/// A token as the client holds it. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// The digest a token is stored and looked up under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey(String);

impl Token {
    /// A token from fresh random bytes (the caller supplies them from a CSPRNG).
    pub fn from_random(bytes: [u8; TOKEN_BYTES]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as presented in the `Token` header. Anything that is not the base64url of
    /// exactly [`TOKEN_BYTES`] bytes cannot be one of ours; it is refused without a lookup.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let decoded = URL_SAFE_NO_PAD.decode(header).ok()?;
        (decoded.len() == TOKEN_BYTES).then(|| Self(header.to_owned()))
    }

    /// The text sent to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The storage key: hex SHA-256 of the token text.
    pub fn key(&self) -> TokenKey {
        let digest = Sha256::digest(self.0.as_bytes());
        TokenKey(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

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

/// What is stored for an issued token: when it stops being valid (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenGrant {
    /// Unix time after which the token is expired.
    pub expires_at: u64,
}

impl TokenGrant {
    /// A grant issued at `now` lasting `ttl_seconds`.
    pub fn issued(now: u64, ttl_seconds: u64) -> Self {
        Self {
            expires_at: now.saturating_add(ttl_seconds),
        }
    }

    /// Whether the token may still be used at `now`.
    pub fn is_valid_at(&self, now: u64) -> bool {
        now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_round_trip() {
        let token = Token::from_random([0xfb; TOKEN_BYTES]);
        assert_eq!(token.expose().len(), 43);
        assert!(
            token
                .expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(Token::parse(token.expose()), Some(token));
    }

    #[test]
    fn foreign_strings_are_not_tokens() {
        for bad in ["", "abc", "not base64!", &"A".repeat(44)] {
            assert_eq!(Token::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_key_is_a_digest_not_the_token() {
        let token = Token::from_random([7; TOKEN_BYTES]);
        let key = token.key();
        assert_eq!(key.as_str().len(), 64);
        assert!(!key.as_str().contains(token.expose()));
        assert_ne!(key, Token::from_random([8; TOKEN_BYTES]).key());
    }

    #[test]
    fn debug_output_hides_the_token() {
        let token = Token::from_random([1; TOKEN_BYTES]);
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[test]
    fn a_grant_expires_at_its_deadline() {
        let grant = TokenGrant::issued(1_000, DEFAULT_TTL_SECONDS);
        assert!(grant.is_valid_at(1_000 + DEFAULT_TTL_SECONDS - 1));
        assert!(!grant.is_valid_at(1_000 + DEFAULT_TTL_SECONDS));
    }
}
