//! Every error the API answers with, mapped to its status and body in one place.

use domain::FieldErrors;
use http::{HeaderValue, Method, StatusCode};
use storage::StoreError;

use crate::wire::ErrorBody;
use crate::{Reply, json};

/// An error response of the contract.
#[derive(Debug)]
pub enum ApiError {
    /// No such route: `404 Page not found` (also a page past the end of the list).
    PageNotFound,
    /// A known route with another method: `405` with `Allow`.
    MethodNotAllowed(&'static [Method]),
    /// Bad fields or parameters: `422 Validation failed` with `fails`.
    Validation(FieldErrors),
    /// `GET /users/{id}` with a non-integer id: `400`.
    InvalidUserId,
    /// `GET /users/{id}` for a missing user: `404`.
    UserNotFound,
    /// No `Token` header: `401`.
    TokenRequired,
    /// Unknown, expired or used token: `401`.
    TokenExpired,
    /// Email or phone already registered: `409`.
    UserExists,
    /// The positions table is empty: `422`.
    PositionsNotFound,
    /// `GET /images/users/{file}` for a missing photo: `404`.
    PhotoNotFound,
    /// Wrong seed key: `403`.
    Forbidden,
    /// A body that is not what its headers claim (broken multipart): `400`.
    MalformedBody(&'static str),
    /// A registration's body that did not arrive within its time: `408`.
    BodyTimeout,
    /// A store refused a registration's write (a platform's key or rate limit, a store
    /// that is down): `503` with `Retry-After`, logged. Nothing was registered and the
    /// token is still unused, so the client may send the same request again.
    StoreRefused(anyhow::Error),
    /// A registration not performed by its deadline (`registration_deadline_seconds`): a
    /// store or TinyPNG too slow. `503` with `Retry-After`, logged: nothing was registered,
    /// the token is still unused, and the same request may be sent again.
    DeadlinePassed(&'static str),
    /// A server fault (database down, misconfiguration): `500`, logged, never detailed.
    Internal(anyhow::Error),
}

impl ApiError {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::PageNotFound | Self::UserNotFound | Self::PhotoNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Validation(_) | Self::PositionsNotFound => StatusCode::UNPROCESSABLE_ENTITY,
            Self::InvalidUserId | Self::MalformedBody(_) => StatusCode::BAD_REQUEST,
            Self::TokenRequired | Self::TokenExpired => StatusCode::UNAUTHORIZED,
            Self::UserExists => StatusCode::CONFLICT,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::StoreRefused(_) | Self::DeadlinePassed(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The contract's body for this error.
    pub fn body(&self) -> ErrorBody {
        let fails = |field: &'static str, message: &str| {
            let mut fails = FieldErrors::new();
            fails.add(field, message);
            Some(fails)
        };
        let (message, fails) = match self {
            Self::PageNotFound => ("Page not found", None),
            Self::MethodNotAllowed(_) => ("Method not allowed", None),
            Self::Validation(errors) => ("Validation failed", Some(errors.clone())),
            Self::InvalidUserId => (
                "Validation failed",
                fails("user_id", "The user_id must be an integer."),
            ),
            Self::UserNotFound => (
                "The user with the requested identifier does not exist",
                fails("user_id", "User not found"),
            ),
            Self::TokenRequired => ("The token is required.", None),
            Self::TokenExpired => ("The token expired.", None),
            Self::UserExists => ("User with this phone or email already exist", None),
            Self::PositionsNotFound => ("Positions not found", None),
            Self::PhotoNotFound => ("Photo not found", None),
            Self::Forbidden => ("Forbidden", None),
            Self::MalformedBody(message) => (*message, None),
            Self::BodyTimeout => ("The request body did not arrive in time.", None),
            Self::StoreRefused(_) => (
                "The registration could not be stored just now. Nothing was registered; try again later.",
                None,
            ),
            Self::DeadlinePassed(_) => (
                "The registration could not be completed in time. Nothing was registered; try again later.",
                None,
            ),
            Self::Internal(_) => ("Internal server error", None),
        };
        ErrorBody {
            success: false,
            message: message.to_owned(),
            fails,
        }
    }

    /// The full response. Internal causes go to the log with their whole chain.
    pub fn into_reply(self) -> Reply {
        match &self {
            Self::Internal(cause) => eprintln!("internal error: {cause:#}"),
            Self::StoreRefused(cause) => eprintln!("a store refused a registration: {cause:#}"),
            Self::DeadlinePassed(step) => {
                eprintln!("a registration passed its deadline {step}; nothing was registered");
            }
            _ => {}
        }
        let mut reply = json(self.status(), &self.body());
        // An error holds for this moment only: a user id that is 404 now may be registered
        // a moment later, and RFC 9111 lets a cache keep a 404 it was told nothing about.
        reply.headers_mut().insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        if let Self::StoreRefused(_) | Self::DeadlinePassed(_) = &self {
            reply.headers_mut().insert(
                http::header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER_SECONDS),
            );
        }
        if let Self::MethodNotAllowed(methods) = &self {
            // Every GET route answers HEAD too (platform::serve).
            let head = methods.contains(&Method::GET).then_some("HEAD");
            let allow = methods
                .iter()
                .map(Method::as_str)
                .chain(head)
                .chain(["OPTIONS"])
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(value) = HeaderValue::from_str(&allow) {
                reply.headers_mut().insert(http::header::ALLOW, value);
            }
        }
        reply
    }
}

/// `Retry-After` of a refused registration: past a platform's write rate (writes a second)
/// a second is enough; a store that is down or full needs longer, which a client retrying
/// every few seconds finds out without flooding it.
pub const RETRY_AFTER_SECONDS: u32 = 5;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            // A conflict that reaches here was not expected by the handler.
            StoreError::Conflict(message) => {
                Self::Internal(anyhow::anyhow!("unexpected conflict: {message}"))
            }
            StoreError::Unavailable(cause) => Self::Internal(cause),
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn body_json(reply: Reply) -> serde_json::Value {
        let bytes = futures_executor::block_on(reply.into_body().collect())
            .unwrap()
            .to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn each_error_has_the_contracts_status_and_body() {
        let cases: Vec<(ApiError, u16, serde_json::Value)> = vec![
            (
                ApiError::PageNotFound,
                404,
                serde_json::json!({"success": false, "message": "Page not found"}),
            ),
            (
                ApiError::TokenRequired,
                401,
                serde_json::json!({"success": false, "message": "The token is required."}),
            ),
            (
                ApiError::TokenExpired,
                401,
                serde_json::json!({"success": false, "message": "The token expired."}),
            ),
            (
                ApiError::UserExists,
                409,
                serde_json::json!({"success": false, "message": "User with this phone or email already exist"}),
            ),
            (
                ApiError::PositionsNotFound,
                422,
                serde_json::json!({"success": false, "message": "Positions not found"}),
            ),
            (
                ApiError::PhotoNotFound,
                404,
                serde_json::json!({"success": false, "message": "Photo not found"}),
            ),
            (
                ApiError::Forbidden,
                403,
                serde_json::json!({"success": false, "message": "Forbidden"}),
            ),
            (
                ApiError::InvalidUserId,
                400,
                serde_json::json!({"success": false, "message": "Validation failed", "fails": {"user_id": ["The user_id must be an integer."]}}),
            ),
            (
                ApiError::UserNotFound,
                404,
                serde_json::json!({"success": false, "message": "The user with the requested identifier does not exist", "fails": {"user_id": ["User not found"]}}),
            ),
        ];
        for (error, status, body) in cases {
            let reply = error.into_reply();
            assert_eq!(reply.status().as_u16(), status);
            assert_eq!(
                reply.headers()[http::header::CONTENT_TYPE],
                "application/json"
            );
            assert_eq!(body_json(reply), body);
        }
    }

    #[test]
    fn a_refused_store_write_is_503_with_retry_after_and_no_cause() {
        let reply = ApiError::StoreRefused(anyhow::anyhow!("photos: 1024 keys")).into_reply();
        assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.headers()[http::header::RETRY_AFTER], "5");
        let body = ApiError::StoreRefused(anyhow::anyhow!("photos: 1024 keys")).body();
        assert!(!body.message.contains("1024"), "{}", body.message);
    }

    #[test]
    fn a_registration_past_its_deadline_is_503_with_retry_after() {
        let reply = ApiError::DeadlinePassed("writing the photo").into_reply();
        assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.headers()[http::header::RETRY_AFTER], "5");
        assert_eq!(reply.headers()[http::header::CACHE_CONTROL], "no-store");
        let body = body_json(reply);
        assert_eq!(body["success"], false);
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("Nothing was registered")),
            "{body}"
        );
    }

    #[test]
    fn no_cache_keeps_an_error() {
        for error in [
            ApiError::UserNotFound,
            ApiError::PageNotFound,
            ApiError::TokenExpired,
        ] {
            assert_eq!(
                error.into_reply().headers()[http::header::CACHE_CONTROL],
                "no-store"
            );
        }
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods() {
        let reply = ApiError::MethodNotAllowed(&[Method::GET, Method::POST]).into_reply();
        assert_eq!(reply.status(), 405);
        assert_eq!(
            reply.headers()[http::header::ALLOW],
            "GET, POST, HEAD, OPTIONS"
        );
        assert_eq!(body_json(reply)["success"], false);
    }

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let reply = ApiError::Internal(anyhow::anyhow!("password=hunter2 at db:5432")).into_reply();
        assert_eq!(reply.status(), 500);
        let body = body_json(reply);
        assert_eq!(
            body,
            serde_json::json!({"success": false, "message": "Internal server error"})
        );
    }
}
