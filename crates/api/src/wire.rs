//! JSON bodies exactly as the contract shows them.

use domain::FieldErrors;
use serde::Serialize;
use storage::{Position, UserRecord};
use url::Url;

/// `{"success": false, "message": …, "fails"?: …}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// Human-readable summary.
    pub message: String,
    /// Failing fields, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fails: Option<FieldErrors>,
}

/// `GET /api/v1/token`.
#[derive(Debug, Serialize)]
pub struct TokenBody<'a> {
    /// Always `true`.
    pub success: bool,
    /// The opaque token.
    pub token: &'a str,
}

/// One position.
#[derive(Debug, Serialize)]
pub struct PositionJson {
    /// Position id.
    pub id: i64,
    /// Position name.
    pub name: String,
}

/// `GET /api/v1/positions`.
#[derive(Debug, Serialize)]
pub struct PositionsBody {
    /// Always `true`.
    pub success: bool,
    /// Ordered by id.
    pub positions: Vec<PositionJson>,
}

impl PositionsBody {
    /// The body for `positions`.
    pub fn new(positions: Vec<Position>) -> Self {
        Self {
            success: true,
            positions: positions
                .into_iter()
                .map(|p| PositionJson {
                    id: p.id,
                    name: p.name,
                })
                .collect(),
        }
    }
}

/// A single user (`GET /api/v1/users/{id}`: no `registration_timestamp`).
#[derive(Debug, Serialize)]
pub struct SingleUser {
    /// User id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Email as registered.
    pub email: String,
    /// `+380XXXXXXXXX`.
    pub phone: String,
    /// Position name.
    pub position: String,
    /// Position id.
    pub position_id: i64,
    /// Absolute photo URL.
    pub photo: String,
}

/// A user in the list: the single-user fields and when they registered.
#[derive(Debug, Serialize)]
pub struct ListedUser {
    /// The user.
    #[serde(flatten)]
    pub user: SingleUser,
    /// Unix seconds.
    pub registration_timestamp: i64,
}

/// The absolute URL of a stored photo under `base` (the request's own origin, whose path is
/// `/`: [`crate::request_url::base_url`]), the file name one encoded path segment.
///
/// Put together as text rather than by `Url::join`, which parses the whole URL again: a
/// page lists up to 100 photos, and the joins were a tenth of its guest time.
pub fn photo_url(base: &Url, file: &str) -> String {
    let origin = base.as_str().trim_end_matches('/');
    let file = percent_encoding::utf8_percent_encode(file, PATH_SEGMENT);
    format!("{origin}{PHOTOS_PATH}{file}")
}

/// Where photos are served (spin.toml routes it to the `photos` component).
pub const PHOTOS_PATH: &str = "/images/users/";

/// Everything but RFC 3986's unreserved characters (§2.3) is encoded, so a name can neither
/// end the segment (`/`, `?`, `#`) nor read as an escape (`%`).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl SingleUser {
    /// The single-user entry for `user`.
    pub fn new(user: UserRecord, base: &Url) -> Self {
        Self {
            photo: photo_url(base, &user.photo),
            id: user.id,
            name: user.name,
            email: user.email,
            phone: user.phone,
            position: user.position,
            position_id: user.position_id,
        }
    }
}

impl ListedUser {
    /// The list entry for `user`.
    pub fn new(user: UserRecord, base: &Url) -> Self {
        let registration_timestamp = user.registration_timestamp;
        Self {
            user: SingleUser::new(user, base),
            registration_timestamp,
        }
    }
}

/// `links` of a page.
#[derive(Debug, Serialize)]
pub struct Links {
    /// Next page, `null` at the end.
    pub next_url: Option<String>,
    /// Previous page, `null` at the start.
    pub prev_url: Option<String>,
}

/// `GET /api/v1/users`.
#[derive(Debug, Serialize)]
pub struct UsersPageBody {
    /// Always `true`.
    pub success: bool,
    /// Page number.
    pub page: u64,
    /// Pages at the requested count.
    pub total_pages: u64,
    /// All users.
    pub total_users: u64,
    /// Users in this answer.
    pub count: usize,
    /// Neighbouring pages.
    pub links: Links,
    /// Newest first.
    pub users: Vec<ListedUser>,
}

/// `GET /api/v1/users/{id}`.
#[derive(Debug, Serialize)]
pub struct UserBody {
    /// Always `true`.
    pub success: bool,
    /// The user.
    pub user: SingleUser,
}

/// `POST /api/v1/users`, `201`.
#[derive(Debug, Serialize)]
pub struct CreatedBody {
    /// Always `true`.
    pub success: bool,
    /// The new user's id.
    pub user_id: i64,
    /// `New user successfully registered`.
    pub message: &'static str,
}

/// `POST /api/v1/seed`, `201`.
#[derive(Debug, Serialize)]
pub struct SeededBody {
    /// Always `true`.
    pub success: bool,
    /// Summary.
    pub message: String,
    /// Users actually created (fakes colliding with existing emails or phones are skipped).
    pub users_created: u64,
}

/// `GET /api/v1/maintenance/photos`.
#[derive(Debug, Serialize)]
pub struct PhotoAuditBody {
    /// Always `true`.
    pub success: bool,
    /// Photos in the store.
    pub photos: u64,
    /// Stored photos no user has, by file name.
    pub orphans: Vec<String>,
}

/// `POST /api/v1/maintenance/photos`.
#[derive(Debug, Serialize)]
pub struct PhotosRemovedBody {
    /// Always `true`.
    pub success: bool,
    /// The named photos that were orphans and are gone now.
    pub removed: Vec<String>,
    /// The named photos that were kept: a user has them, or they are not photo names.
    pub kept: Vec<String>,
}

/// `POST /api/v1/maintenance/photos` with `{"move_to": …}`.
#[derive(Debug, Serialize)]
pub struct PhotosMovedBody {
    /// Always `true`.
    pub success: bool,
    /// The store the photos were moved to: `key-value` or `database`.
    pub moved_to: &'static str,
    /// The photos moved by this request, by file name.
    pub moved: Vec<String>,
    /// Whether no photo a user has is left in the other store: `false` means "send the
    /// request again". Photos no user has stay where they are, for the orphan check.
    pub done: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_urls_are_under_the_request_origin() {
        let base = Url::parse("https://api.example.com:8443/").unwrap();
        assert_eq!(
            photo_url(&base, "5f0c3e6a.jpeg"),
            "https://api.example.com:8443/images/users/5f0c3e6a.jpeg"
        );
    }

    #[test]
    fn a_photo_name_stays_one_path_segment() {
        let base = Url::parse("http://localhost:3000/").unwrap();
        let url = photo_url(&base, "a b/../c?d#e%f.jpeg");
        assert_eq!(
            url,
            "http://localhost:3000/images/users/a%20b%2F..%2Fc%3Fd%23e%25f.jpeg"
        );
        let parsed = Url::parse(&url).unwrap();
        assert_eq!(
            parsed.path_segments().unwrap().collect::<Vec<_>>(),
            ["images", "users", "a%20b%2F..%2Fc%3Fd%23e%25f.jpeg"]
        );
        assert_eq!((parsed.query(), parsed.fragment()), (None, None));
    }
}
