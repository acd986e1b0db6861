//! Validation errors collected per field, in the contract's shape.

use std::collections::BTreeMap;

use serde::Serialize;

/// Every failing field with its messages, as the contract's `fails` object. Fields keep
/// their messages in the order the rules were checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<&'static str, Vec<String>>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` against `field`.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_default().push(message.into());
    }

    /// Adds every error of `other`.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, messages) in other.0 {
            self.0.entry(field).or_default().extend(messages);
        }
    }

    /// Whether no field failed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages recorded for `field`.
    pub fn get(&self, field: &str) -> &[String] {
        self.0.get(field).map(Vec::as_slice).unwrap_or_default()
    }

    /// `Ok(value)` when nothing failed, otherwise the errors.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

/// A field's value after the contract's input normalisation: surrounding whitespace is
/// trimmed and an empty value counts as absent.
pub fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// An integer as the contract's `integer` rule accepts it: optional sign, decimal digits,
/// surrounding whitespace allowed; anything else (`1.5`, `1e3`, overflow) is not an integer.
pub fn parse_integer(value: &str) -> Option<i64> {
    value.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialise_as_arrays_per_field() {
        let mut errors = FieldErrors::new();
        errors.add("page", "The page must be at least 1.");
        errors.add("count", "The count must be an integer.");
        assert_eq!(
            serde_json::to_value(&errors).unwrap(),
            serde_json::json!({
                "count": ["The count must be an integer."],
                "page": ["The page must be at least 1."]
            })
        );
    }

    #[test]
    fn integers_follow_the_integer_rule() {
        assert_eq!(parse_integer(" 42 "), Some(42));
        assert_eq!(parse_integer("-3"), Some(-3));
        assert_eq!(parse_integer("+7"), Some(7));
        for not_integer in ["1.5", "1e3", "abc", "", "99999999999999999999"] {
            assert_eq!(parse_integer(not_integer), None, "{not_integer}");
        }
    }
}
