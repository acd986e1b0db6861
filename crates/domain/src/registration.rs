//! A registration form and the values it must hold (CONTRACT.md, `POST /api/v1/users`).
//!
//! [`RegistrationForm::parse`] checks every text field and reports every failure at once;
//! the photo is checked by the `photo` crate and its [`PhotoError`] merged in by the caller.

use std::fmt;

use crate::fields::{FieldErrors, parse_integer, present};

/// Longest name, in characters.
pub const NAME_MAX_CHARS: usize = 60;
/// Shortest name, in characters.
pub const NAME_MIN_CHARS: usize = 2;
/// Longest email address, in characters.
pub const EMAIL_MAX_CHARS: usize = 100;
/// Largest photo upload: 5 MiB, as the contract's "5 Mbytes".
pub const PHOTO_MAX_BYTES: usize = 5 * 1024 * 1024;
/// Smallest photo side, in pixels.
pub const PHOTO_MIN_SIDE: u32 = 70;

/// A user's display name: 2 to 60 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

/// An email address valid under RFC 5322, at most 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// A Ukrainian mobile number, always stored as `+380XXXXXXXXX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

/// A position id as sent; whether the position exists is for storage to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionId(i64);

impl UserName {
    /// Checks a present name's length.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let chars = raw.chars().count();
        if chars < NAME_MIN_CHARS {
            Err("The name must be at least 2 characters.")
        } else if chars > NAME_MAX_CHARS {
            Err("The name may not be greater than 60 characters.")
        } else {
            Ok(Self(raw.to_owned()))
        }
    }
}

impl Email {
    /// Checks a present address; may fail both rules at once.
    pub fn parse(raw: &str) -> Result<Self, Vec<&'static str>> {
        let mut problems = Vec::new();
        if !email_address::EmailAddress::is_valid(raw) {
            problems.push("The email must be a valid email address.");
        }
        if raw.chars().count() > EMAIL_MAX_CHARS {
            problems.push("The email may not be greater than 100 characters.");
        }
        if problems.is_empty() {
            Ok(Self(raw.to_owned()))
        } else {
            Err(problems)
        }
    }

    /// The form uniqueness is decided on: emails are compared case-insensitively.
    pub fn unique_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl Phone {
    /// Accepts `380XXXXXXXXX` with an optional leading `+` (the contract's
    /// `^[\+]{0,1}380([0-9]{9})$`) and normalises to `+380XXXXXXXXX`.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let digits = raw.strip_prefix('+').unwrap_or(raw);
        let subscriber = digits.strip_prefix("380").unwrap_or_default();
        if subscriber.len() == 9 && subscriber.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(format!("+{digits}")))
        } else {
            Err("The phone format is invalid.")
        }
    }
}

impl PositionId {
    /// The id as a number.
    pub fn get(self) -> i64 {
        self.0
    }
}

macro_rules! text_value {
    ($($ty:ty),*) => {$(
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
text_value!(UserName, Email, Phone);

/// The text fields of a registration as received (`None` when the field was not sent).
#[derive(Debug, Clone, Default)]
pub struct RegistrationForm {
    /// `name`.
    pub name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `phone`.
    pub phone: Option<String>,
    /// `position_id`.
    pub position_id: Option<String>,
}

/// A registration whose text fields are all valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The user's name.
    pub name: UserName,
    /// The user's email address.
    pub email: Email,
    /// The user's phone, normalised.
    pub phone: Phone,
    /// The chosen position (existence not yet checked).
    pub position_id: PositionId,
}

impl RegistrationForm {
    /// Checks every field, collecting every failure.
    pub fn parse(&self) -> Result<Registration, FieldErrors> {
        let mut errors = FieldErrors::new();

        let name = match present(self.name.as_deref()) {
            None => {
                errors.add("name", "The name field is required.");
                None
            }
            Some(raw) => UserName::parse(raw)
                .map_err(|message| errors.add("name", message))
                .ok(),
        };
        let email = match present(self.email.as_deref()) {
            None => {
                errors.add("email", "The email field is required.");
                None
            }
            Some(raw) => Email::parse(raw)
                .map_err(|messages| messages.into_iter().for_each(|m| errors.add("email", m)))
                .ok(),
        };
        let phone = match present(self.phone.as_deref()) {
            None => {
                errors.add("phone", "The phone field is required.");
                None
            }
            Some(raw) => Phone::parse(raw)
                .map_err(|message| errors.add("phone", message))
                .ok(),
        };
        let position_id = match present(self.position_id.as_deref()) {
            None => {
                errors.add("position_id", "The position id field is required.");
                None
            }
            Some(raw) => match parse_integer(raw) {
                Some(id) => Some(PositionId(id)),
                None => {
                    errors.add("position_id", "The position id must be an integer.");
                    None
                }
            },
        };

        match (name, email, phone, position_id) {
            (Some(name), Some(email), Some(phone), Some(position_id)) if errors.is_empty() => {
                Ok(Registration {
                    name,
                    email,
                    phone,
                    position_id,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The message for a position id that names no position.
pub const UNKNOWN_POSITION: &str = "The selected position id is invalid.";

/// Why a photo was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoError {
    /// No `photo` (or `file`) field.
    Missing,
    /// More than [`PHOTO_MAX_BYTES`].
    TooLarge,
    /// The content is not a JPEG, whatever its name or declared type.
    NotJpeg,
    /// A JPEG that cannot be decoded (corrupt, truncated, or absurd dimensions).
    Invalid,
    /// Narrower or shorter than [`PHOTO_MIN_SIDE`].
    TooSmall,
}

impl PhotoError {
    /// The contract's message.
    pub fn message(self) -> &'static str {
        match self {
            Self::Missing => "The photo field is required.",
            Self::TooLarge => "The photo may not be greater than 5 Mbytes.",
            Self::NotJpeg => "The photo must be a jpg/jpeg image.",
            Self::Invalid => "Image is invalid.",
            Self::TooSmall => "The photo must be at least 70x70 pixels.",
        }
    }
}

impl fmt::Display for PhotoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for PhotoError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, email: &str, phone: &str, position: &str) -> RegistrationForm {
        let field = |v: &str| (v != "<absent>").then(|| v.to_owned());
        RegistrationForm {
            name: field(name),
            email: field(email),
            phone: field(phone),
            position_id: field(position),
        }
    }

    #[test]
    fn a_valid_form_is_normalised() {
        let reg = form(" Ann ", "Ann@Example.com", "380501234567", "2")
            .parse()
            .unwrap();
        assert_eq!(reg.name.as_ref(), "Ann");
        assert_eq!(reg.email.as_ref(), "Ann@Example.com");
        assert_eq!(reg.email.unique_key(), "ann@example.com");
        assert_eq!(reg.phone.as_ref(), "+380501234567");
        assert_eq!(reg.position_id.get(), 2);
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let errors = form("<absent>", "", "   ", "<absent>").parse().unwrap_err();
        assert_eq!(errors.get("name"), ["The name field is required."]);
        assert_eq!(errors.get("email"), ["The email field is required."]);
        assert_eq!(errors.get("phone"), ["The phone field is required."]);
        assert_eq!(
            errors.get("position_id"),
            ["The position id field is required."]
        );
    }

    #[test]
    fn each_rule_has_the_contracts_message() {
        // A valid address (local part within RFC 5321's 64) that is 101 characters long.
        let long_email = format!("{}@{}.com", "a".repeat(60), "b".repeat(36));
        let cases: &[(RegistrationForm, &str, &[&str])] = &[
            (
                form("A", "a@b.co", "380501234567", "1"),
                "name",
                &["The name must be at least 2 characters."],
            ),
            (
                form(&"x".repeat(61), "a@b.co", "380501234567", "1"),
                "name",
                &["The name may not be greater than 60 characters."],
            ),
            (
                form("Ann", "not-an-email", "380501234567", "1"),
                "email",
                &["The email must be a valid email address."],
            ),
            (
                form("Ann", &long_email, "380501234567", "1"),
                "email",
                &["The email may not be greater than 100 characters."],
            ),
            (
                form("Ann", "a@b.co", "+38050123456", "1"),
                "phone",
                &["The phone format is invalid."],
            ),
            (
                form("Ann", "a@b.co", "0501234567", "1"),
                "phone",
                &["The phone format is invalid."],
            ),
            (
                form("Ann", "a@b.co", "++380501234567", "1"),
                "phone",
                &["The phone format is invalid."],
            ),
            (
                form("Ann", "a@b.co", "+380 50 123 45 67", "1"),
                "phone",
                &["The phone format is invalid."],
            ),
            (
                form("Ann", "a@b.co", "380501234567", "two"),
                "position_id",
                &["The position id must be an integer."],
            ),
            (
                form("Ann", "a@b.co", "380501234567", "1.5"),
                "position_id",
                &["The position id must be an integer."],
            ),
        ];
        for (form, field, expected) in cases {
            let errors = form.parse().unwrap_err();
            assert_eq!(errors.get(field), *expected, "{form:?}");
        }
    }

    #[test]
    fn names_are_measured_in_characters_not_bytes() {
        assert!(UserName::parse("Юлія").is_ok());
        assert!(UserName::parse(&"ї".repeat(60)).is_ok());
        assert!(UserName::parse(&"ї".repeat(61)).is_err());
    }

    #[test]
    fn sixty_characters_and_a_hundred_character_email_are_allowed() {
        let email = format!("{}@{}.com", "a".repeat(60), "b".repeat(35));
        assert_eq!(email.len(), 100);
        assert!(
            form(&"x".repeat(60), &email, "+380501234567", "1")
                .parse()
                .is_ok()
        );
    }

    #[test]
    fn both_email_rules_can_fail_together() {
        let email = "x".repeat(120);
        let errors = form("Ann", &email, "380501234567", "1")
            .parse()
            .unwrap_err();
        assert_eq!(errors.get("email").len(), 2);
    }
}
