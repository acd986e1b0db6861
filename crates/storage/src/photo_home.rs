//! Where photos are kept: the `photos` key-value store, or the users' SQL database
//! (`photo_store`), for platforms whose key-value stores cannot hold a photo per user.

use crate::error::StoreError;

/// The store new photos are written to. The other one is still read, so photos stay
/// served while the maintenance endpoint moves them from one to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoHome {
    /// The `photos` key-value store, one entry per photo (the default).
    KeyValue,
    /// The `photos` table of the users' database, each photo written in the same statement
    /// as its user.
    Database,
}

impl PhotoHome {
    /// Reads a `photo_store` setting: `key-value` (or empty) or `database`.
    pub fn from_setting(value: &str) -> Result<Self, StoreError> {
        match value.trim() {
            "" | "key-value" => Ok(Self::KeyValue),
            "database" => Ok(Self::Database),
            other => Err(StoreError::unavailable(format!(
                "photo_store must be `key-value` or `database`, not `{other}`"
            ))),
        }
    }

    /// The store that is not this one.
    pub fn other(self) -> Self {
        match self {
            Self::KeyValue => Self::Database,
            Self::Database => Self::KeyValue,
        }
    }

    /// The setting's value for this store, as requests and answers name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyValue => "key-value",
            Self::Database => "database",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_names_a_store_and_an_unknown_one_is_an_error() {
        assert_eq!(PhotoHome::from_setting("").unwrap(), PhotoHome::KeyValue);
        assert_eq!(
            PhotoHome::from_setting(" key-value ").unwrap(),
            PhotoHome::KeyValue
        );
        assert_eq!(
            PhotoHome::from_setting("database").unwrap(),
            PhotoHome::Database
        );
        assert!(PhotoHome::from_setting("redis").is_err());
        for home in [PhotoHome::KeyValue, PhotoHome::Database] {
            assert_eq!(PhotoHome::from_setting(home.as_str()).unwrap(), home);
            assert_ne!(home.other(), home);
            assert_eq!(home.other().other(), home);
        }
    }
}
