//! Realistic fake users.

use domain::photo_file::PhotoFile;
use fake::Fake;
use fake::faker::name::en::{FirstName, LastName};
use fake::rand::RngExt;
use storage::{NewUser, Position};

/// A fake user with a plausible name, a unique-looking email, a `+380` phone and a random
/// position.
pub fn user(positions: &[Position], photo: &PhotoFile, registered_at: i64) -> NewUser {
    let mut rng = fake::rand::rng();
    let first: String = FirstName().fake();
    let last: String = LastName().fake();
    let tag: u32 = rng.random_range(1000..1_000_000);
    let email = format!("{}.{}{tag}@example.com", ascii(&first), ascii(&last));
    let phone = format!("+380{:09}", rng.random_range(0..1_000_000_000u32));
    let position = &positions[rng.random_range(0..positions.len())];
    NewUser {
        name: format!("{first} {last}"),
        email_key: email.to_lowercase(),
        email,
        phone,
        position_id: position.id,
        registration_timestamp: registered_at,
        photo: photo.as_str().to_owned(),
        registration_token: None,
    }
}

/// Lower-case ASCII letters of a name, for the email's local part.
fn ascii(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
