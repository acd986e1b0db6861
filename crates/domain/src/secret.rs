//! Secrets the operator configures (the seed key, token signing keys): the rules that keep
//! a published or guessable value from working as one.
//!
//! An example value printed in this repository, or any short one, is known to everyone who
//! reads it; applied unchanged, it would let anyone seed users or sign tokens. So a secret
//! is refused — the feature stays off, and the reason is logged — when it is shorter than
//! its minimum or reads as a placeholder.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why a configured secret is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeakSecret {
    /// Fewer bytes than the secret needs.
    TooShort {
        /// Its length in bytes.
        len: usize,
        /// The least it needs.
        min: usize,
    },
    /// Text from an example (`CHANGE-ME`, `REPLACE-…`), not a secret.
    Placeholder,
}

impl fmt::Display for WeakSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len, min } => {
                write!(f, "it has {len} bytes where at least {min} are needed")
            }
            Self::Placeholder => f.write_str("it is an example's placeholder, not a secret"),
        }
    }
}

impl std::error::Error for WeakSecret {}

/// Words that mark an example's value (compared without case or separators).
const PLACEHOLDER_WORDS: [&str; 4] = ["changeme", "replaceme", "yoursecret", "placeholder"];

/// `secret` without surrounding whitespace, if it has at least `min` bytes and does not
/// read as a placeholder.
pub fn check(secret: &str, min: usize) -> Result<&str, WeakSecret> {
    let secret = secret.trim();
    let letters: String = secret
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if PLACEHOLDER_WORDS.iter().any(|word| letters.contains(word)) {
        return Err(WeakSecret::Placeholder);
    }
    if secret.len() < min {
        return Err(WeakSecret::TooShort {
            len: secret.len(),
            min,
        });
    }
    Ok(secret)
}

/// The key of the operator endpoints (`seed_key`: seeding, photo maintenance).
#[derive(Clone)]
pub struct OperatorKey {
    digest: [u8; 32],
}

impl OperatorKey {
    /// Shortest operator key: 16 bytes (`openssl rand -hex 16` gives 32 characters).
    pub const MIN_BYTES: usize = 16;

    /// The key from the operator's secret.
    pub fn from_secret(secret: &str) -> Result<Self, WeakSecret> {
        let secret = check(secret, Self::MIN_BYTES)?;
        Ok(Self {
            digest: Sha256::digest(secret.as_bytes()).into(),
        })
    }

    /// Whether `given` is the key, in a time that says nothing about either: both are
    /// hashed to 32 bytes, and the digests compared in constant time (comparing the values
    /// themselves ends early when their lengths differ, which tells the key's length).
    pub fn matches(&self, given: &[u8]) -> bool {
        let given: [u8; 32] = Sha256::digest(given).into();
        bool::from(given.ct_eq(&self.digest))
    }
}

impl fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OperatorKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_values_are_refused_whatever_their_length() {
        for placeholder in [
            "CHANGE-ME",
            "change_me",
            "CHANGE-ME-TO-32-OR-MORE-RANDOM-BYTES",
            "replace-me-with-a-long-random-secret-value",
            "<your-secret-here-at-least-32-bytes-long>",
        ] {
            assert_eq!(
                check(placeholder, 8),
                Err(WeakSecret::Placeholder),
                "{placeholder}"
            );
        }
    }

    #[test]
    fn short_secrets_are_refused_and_long_ones_trimmed() {
        assert_eq!(
            check("abc", 16),
            Err(WeakSecret::TooShort { len: 3, min: 16 })
        );
        assert_eq!(check(" 0123456789abcdef \n", 16), Ok("0123456789abcdef"));
    }

    #[test]
    fn an_operator_key_matches_only_itself() {
        let key = OperatorKey::from_secret("d0c6b5f3a1e27498c3b1").unwrap();
        assert!(key.matches(b"d0c6b5f3a1e27498c3b1"));
        assert!(!key.matches(b"d0c6b5f3a1e27498c3b"));
        assert!(!key.matches(b""));
        assert!(!key.matches(b"d0c6b5f3a1e27498c3b1 "));
        assert_eq!(
            OperatorKey::from_secret("CHANGE-ME").map(|_| ()),
            Err(WeakSecret::Placeholder)
        );
        assert_eq!(format!("{key:?}"), "OperatorKey(..)");
    }
}
