//! Row types: what is read from and written to the `users` and `positions` tables.

use anyhow::Context;

use crate::cell::{Cell, column};

/// A row of `positions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// `positions.id`.
    pub id: i64,
    /// `positions.name`.
    pub name: String,
}

/// A user joined with its position's name. As JSON it is an array of its fields in this
/// order, the order of the user queries' columns (the users page reads it that way).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct UserRecord {
    /// `users.id`.
    pub id: i64,
    /// `users.name`.
    pub name: String,
    /// `users.email`, as registered.
    pub email: String,
    /// `users.phone`, `+380XXXXXXXXX`.
    pub phone: String,
    /// `users.position_id`.
    pub position_id: i64,
    /// `positions.name`.
    pub position: String,
    /// `users.registration_timestamp`, Unix seconds.
    pub registration_timestamp: i64,
    /// `users.photo`, the photo's file name.
    pub photo: String,
}

/// A user to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Display name.
    pub name: String,
    /// Email as registered.
    pub email: String,
    /// Lower-cased email, the unique key.
    pub email_key: String,
    /// Normalised phone.
    pub phone: String,
    /// Existing position id.
    pub position_id: i64,
    /// Unix seconds.
    pub registration_timestamp: i64,
    /// Photo file name in the photo store.
    pub photo: String,
    /// Digest of the registration token, `None` for seeded users.
    pub registration_token: Option<String>,
}

impl TryFrom<&[Cell]> for Position {
    type Error = anyhow::Error;

    fn try_from(row: &[Cell]) -> anyhow::Result<Self> {
        Ok(Self {
            id: column(row, 0, "id")?.int()?,
            name: column(row, 1, "name")?.text()?,
        })
    }
}

/// Column order of every user query: see `USER_COLUMNS` in the database module.
impl TryFrom<&[Cell]> for UserRecord {
    type Error = anyhow::Error;

    fn try_from(row: &[Cell]) -> anyhow::Result<Self> {
        let decode = || -> anyhow::Result<Self> {
            Ok(Self {
                id: column(row, 0, "id")?.int()?,
                name: column(row, 1, "name")?.text()?,
                email: column(row, 2, "email")?.text()?,
                phone: column(row, 3, "phone")?.text()?,
                position_id: column(row, 4, "position_id")?.int()?,
                position: column(row, 5, "position")?.text()?,
                registration_timestamp: column(row, 6, "registration_timestamp")?.int()?,
                photo: column(row, 7, "photo")?.text()?,
            })
        };
        decode().context("decoding a user row")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_row_decodes_in_column_order() {
        let row = [
            Cell::Int(30),
            Cell::Text("Angel".into()),
            Cell::Text("angel@example.com".into()),
            Cell::Text("+380496540023".into()),
            Cell::Int(4),
            Cell::Text("Designer".into()),
            Cell::Int(1_537_777_441),
            Cell::Text("ab.jpeg".into()),
        ];
        let user = UserRecord::try_from(&row[..]).unwrap();
        assert_eq!(user.id, 30);
        assert_eq!(user.position, "Designer");
        assert_eq!(user.registration_timestamp, 1_537_777_441);
    }

    #[test]
    fn a_user_reads_from_a_json_array_in_column_order() {
        let json = r#"[30, "Angel", "angel@example.com", "+380496540023", 4, "Designer", 1537777441, "ab.jpeg"]"#;
        let user: UserRecord = serde_json::from_str(json).unwrap();
        assert_eq!(user.id, 30);
        assert_eq!(user.email, "angel@example.com");
        assert_eq!(user.position, "Designer");
        assert_eq!(user.photo, "ab.jpeg");
        // A NULL position name (no such position) is an error, not a default.
        let null_position =
            r#"[30, "Angel", "a@example.com", "+380496540023", 4, null, 1, "ab.jpeg"]"#;
        assert!(serde_json::from_str::<UserRecord>(null_position).is_err());
    }

    #[test]
    fn a_row_of_the_wrong_shape_is_an_error_not_a_default() {
        let short = [Cell::Int(1)];
        assert!(UserRecord::try_from(&short[..]).is_err());
        let wrong_type = [Cell::Text("1".into()), Cell::Text("Lawyer".into())];
        let err = Position::try_from(&wrong_type[..]).unwrap_err();
        assert!(err.to_string().contains("integer"), "{err}");
        let null_name = [Cell::Int(1), Cell::Null];
        assert!(Position::try_from(&null_name[..]).is_err());
    }
}
