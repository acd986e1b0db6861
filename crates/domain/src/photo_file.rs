//! Names of stored photos: random, free of personal data, ending in `.jpeg`.

use std::fmt;

use sha2::{Digest, Sha256};

/// Random bytes in a photo name: 128 bits, so names cannot be guessed or enumerated.
pub const PHOTO_NAME_BYTES: usize = 16;
const EXTENSION: &str = ".jpeg";

/// A photo's file name: 32 lower-case hex digits and `.jpeg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoFile(String);

impl PhotoFile {
    /// A fresh name from random bytes (supplied by the caller's CSPRNG).
    pub fn from_random(bytes: [u8; PHOTO_NAME_BYTES]) -> Self {
        Self(format!("{}{EXTENSION}", hex::encode(bytes)))
    }

    /// The name for shared content (the seed's standard photo): derived from the bytes, so
    /// storing it twice stores it once.
    pub fn for_content(jpeg: &[u8]) -> Self {
        let digest = Sha256::digest(jpeg);
        Self(format!(
            "{}{EXTENSION}",
            hex::encode(&digest[..PHOTO_NAME_BYTES])
        ))
    }

    /// A requested name, if it has the shape of ours; anything else cannot exist.
    pub fn parse(name: &str) -> Option<Self> {
        let stem = name.strip_suffix(EXTENSION)?;
        let ok = stem.len() == PHOTO_NAME_BYTES * 2
            && stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhotoFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_end_in_jpeg() {
        let name = PhotoFile::from_random([0xab; PHOTO_NAME_BYTES]);
        assert_eq!(name.as_str(), format!("{}.jpeg", "ab".repeat(16)));
        assert_eq!(PhotoFile::parse(name.as_str()), Some(name));
    }

    #[test]
    fn foreign_names_are_refused() {
        for bad in [
            "",
            "x.jpeg",
            "../etc/passwd",
            &format!("{}.png", "a".repeat(32)),
            &format!("{}.jpeg", "A".repeat(32)),
        ] {
            assert_eq!(PhotoFile::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_names_depend_only_on_content() {
        assert_eq!(PhotoFile::for_content(b"x"), PhotoFile::for_content(b"x"));
        assert_ne!(PhotoFile::for_content(b"x"), PhotoFile::for_content(b"y"));
        assert!(PhotoFile::parse(PhotoFile::for_content(b"x").as_str()).is_some());
    }
}
