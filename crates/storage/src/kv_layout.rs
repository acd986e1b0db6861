//! Which Spin key-value stores hold the app's three logical stores (`key_value_layout`).
//!
//! The app keeps three kinds of entries: token signing keys, photos and cached answers.
//! Where a platform provisions stores by label (`spin up`, SpinKube, Fermyon Cloud's links),
//! each kind has a store of its own: `tokens`, `photos`, `cache`. Akamai Functions
//! provisions exactly one, labelled `default`; there the three share it, each under a key
//! prefix of its own. No prefix is the start of another, and every key the app writes in
//! that layout carries one, so a logical store reads, lists and overwrites only its own
//! keys; keys without any of the prefixes (someone else's) are never seen.

use crate::error::StoreError;

/// How the logical stores map to Spin store labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvLayout {
    /// Each logical store under its own label, keys as they are (the default).
    Separate,
    /// All three in the store labelled `default`, each under its [`prefix`](Self::prefix).
    Single,
}

/// One of the app's logical key-value stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicalStore {
    /// Token signing keys the app made itself.
    Tokens,
    /// Photo bytes by file name.
    Photos,
    /// Cached response bodies.
    Cache,
}

impl LogicalStore {
    /// Every logical store.
    pub const ALL: [Self; 3] = [Self::Tokens, Self::Photos, Self::Cache];

    /// Its name: its label in the separate layout, its prefix (before `/`) in the single one.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tokens => "tokens",
            Self::Photos => "photos",
            Self::Cache => "cache",
        }
    }
}

/// The label of the one store of the single layout: the only one Akamai Functions allows.
pub const DEFAULT_LABEL: &str = "default";

impl KvLayout {
    /// Reads a `key_value_layout` setting: `separate` (or empty) or `single`.
    pub fn from_setting(value: &str) -> Result<Self, StoreError> {
        match value.trim() {
            "" | "separate" => Ok(Self::Separate),
            "single" => Ok(Self::Single),
            other => Err(StoreError::unavailable(format!(
                "key_value_layout must be `separate` or `single`, not `{other}`"
            ))),
        }
    }

    /// The setting's value for this layout.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Separate => "separate",
            Self::Single => "single",
        }
    }

    /// The Spin label `store` is opened under.
    pub fn label(self, store: LogicalStore) -> &'static str {
        match self {
            Self::Separate => store.name(),
            Self::Single => DEFAULT_LABEL,
        }
    }

    /// What every key of `store` starts with in the Spin store.
    pub fn prefix(self, store: LogicalStore) -> &'static str {
        match (self, store) {
            (Self::Separate, _) => "",
            (Self::Single, LogicalStore::Tokens) => "tokens/",
            (Self::Single, LogicalStore::Photos) => "photos/",
            (Self::Single, LogicalStore::Cache) => "cache/",
        }
    }
}

/// A logical store's view of the keys of the Spin store that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpace {
    prefix: &'static str,
}

impl KeySpace {
    /// The key space of `store` in `layout`.
    pub fn of(layout: KvLayout, store: LogicalStore) -> Self {
        Self {
            prefix: layout.prefix(store),
        }
    }

    /// The Spin store's key for the logical `key`.
    pub fn key(self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The logical keys among the Spin store's `keys`: those of this key space, without
    /// the prefix (the app never writes an empty key).
    pub fn own(self, keys: Vec<String>) -> Vec<String> {
        if self.prefix.is_empty() {
            return keys;
        }
        keys.into_iter()
            .filter_map(|key| {
                key.strip_prefix(self.prefix)
                    .filter(|own| !own.is_empty())
                    .map(str::to_owned)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_names_a_layout_and_an_unknown_one_is_an_error() {
        assert_eq!(KvLayout::from_setting("").unwrap(), KvLayout::Separate);
        assert_eq!(
            KvLayout::from_setting(" single ").unwrap(),
            KvLayout::Single
        );
        for layout in [KvLayout::Separate, KvLayout::Single] {
            assert_eq!(KvLayout::from_setting(layout.as_str()).unwrap(), layout);
        }
        assert!(KvLayout::from_setting("default").is_err());
    }

    #[test]
    fn the_separate_layout_is_one_label_per_store_and_keys_as_they_are() {
        for store in LogicalStore::ALL {
            assert_eq!(KvLayout::Separate.label(store), store.name());
            let space = KeySpace::of(KvLayout::Separate, store);
            assert_eq!(space.key("positions"), "positions");
            assert_eq!(space.own(vec!["a".into(), "b".into()]), ["a", "b"]);
        }
    }

    #[test]
    fn the_single_layout_keeps_each_stores_keys_apart_in_the_default_store() {
        let spaces = LogicalStore::ALL.map(|store| {
            assert_eq!(KvLayout::Single.label(store), DEFAULT_LABEL);
            KeySpace::of(KvLayout::Single, store)
        });
        // The same logical key in each store is a different Spin key...
        let keys: Vec<String> = spaces.iter().map(|space| space.key("x.jpeg")).collect();
        assert_eq!(keys, ["tokens/x.jpeg", "photos/x.jpeg", "cache/x.jpeg"]);
        // ...and no prefix begins another, so no two stores' keys can ever be equal.
        for a in LogicalStore::ALL {
            for b in LogicalStore::ALL.into_iter().filter(|&b| b != a) {
                assert!(
                    !KvLayout::Single
                        .prefix(a)
                        .starts_with(KvLayout::Single.prefix(b))
                );
            }
        }
        // Listing one store sees its own keys, unprefixed, and nothing of the others or of
        // keys the app never wrote.
        let everything: Vec<String> = keys
            .iter()
            .cloned()
            .chain([
                "photos/".to_owned(),
                "photosx.jpeg".to_owned(),
                "signing-key".to_owned(),
            ])
            .collect();
        assert_eq!(spaces[1].own(everything.clone()), ["x.jpeg"]);
        assert_eq!(spaces[0].own(everything.clone()), ["x.jpeg"]);
        assert_eq!(spaces[2].own(everything), ["x.jpeg"]);
    }
}
