//! CONTRACT.md, "GET /api/v1/token": signed tokens that verify themselves, so issuing one
//! stores nothing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::token::{DEFAULT_TTL_SECONDS, NONCE_BYTES, SigningKey, TOKEN_CHARS};
use futures::StreamExt as _;

use crate::e2e_test;
use crate::helpers::{
    AppOptions, Registration, STORE_LABELS, TestApp, spawn_app, spawn_app_with, unix_secs,
};
use crate::raw_http::{RawConnection, registration_head};

/// A signing secret for tests that configure one, and a second for rotations.
const SECRET: &str = "e2e-token-signing-secret-0123456789abcdef";
const NEXT_SECRET: &str = "e2e-token-signing-secret-next-0123456789abcdef";

fn expired() -> serde_json::Value {
    serde_json::json!({"success": false, "message": "The token expired."})
}

/// A registration that fails its field checks: a token that passes its own check gets 422
/// for it, and stays unused.
fn invalid_registration() -> Registration {
    let mut registration = Registration::valid(1);
    registration.email = Some("nope".into());
    registration
}

/// The status a registration with `token` gets, its fields invalid: 422 if the token was
/// accepted, 401 if not.
async fn token_check(app: &TestApp, token: &str) -> (u16, serde_json::Value) {
    app.register_with(Some(token), &invalid_registration())
        .await
}

/// `count` tokens, `at_once` requests at a time.
async fn tokens(app: &TestApp, count: usize, at_once: usize) -> Vec<String> {
    futures::stream::iter(0..count)
        .map(|_| app.token())
        .buffer_unordered(at_once)
        .collect()
        .await
}

e2e_test! {
    async fn a_token_is_issued_on_get_and_on_post(target: Target) {
        let app = spawn_app(target).await;

        let get = app.get("/api/v1/token").await;
        let no_store = get.headers()["cache-control"].to_str().unwrap().to_owned();
        let (status, first) = crate::helpers::json(get).await;
        let (post_status, second) =
            crate::helpers::json(app.client.post(app.url("/api/v1/token")).send().await.unwrap()).await;

        assert_eq!((status, post_status), (200, 200));
        assert_eq!(first["success"], true);
        assert_eq!(no_store, "no-store");
        let (a, b) = (first["token"].as_str().unwrap(), second["token"].as_str().unwrap());
        // Unpadded base64url of version, key id, times, 128 random bits and the HMAC tag.
        assert_eq!(a.len(), TOKEN_CHARS);
        assert_ne!(a, b);
    }
}

e2e_test! {
    async fn a_missing_token_is_required_and_a_foreign_one_expired(target: Target) {
        let app = spawn_app(target).await;
        let registration = Registration::valid(1);

        let missing = app.register_with(None, &registration).await;
        let empty = app.register_with(Some(""), &registration).await;
        let garbage = app.register_with(Some("not-a-token"), &registration).await;
        // The shape of tokens before they were signed: refused, never a 5xx.
        let old_format = app
            .register_with(Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), &registration)
            .await;

        let required = serde_json::json!({"success": false, "message": "The token is required."});
        assert_eq!(missing, (401, required.clone()));
        assert_eq!(empty, (401, required));
        assert_eq!(garbage, (401, expired()));
        assert_eq!(old_format, (401, expired()));
    }
}

e2e_test! {
    async fn an_expired_token_is_refused(target: Target) {
        let app = spawn_app_with(target, AppOptions { token_ttl_seconds: 0, ..AppOptions::default() }).await;

        let (status, body) = app.register(&Registration::valid(1)).await;

        assert_eq!(status, 401);
        assert_eq!(body["message"], "The token expired.");
    }
}

e2e_test! {
    async fn rejected_registrations_do_not_use_up_the_token_but_a_success_does(target: Target) {
        let app = spawn_app(target).await;
        app.register(&Registration::valid(1)).await;
        let token = app.token().await;
        let duplicate = Registration::valid(1);

        let (first, _) = token_check(&app, &token).await;
        let (second, _) = app.register_with(Some(&token), &duplicate).await;
        let (third, _) = app.register_with(Some(&token), &Registration::valid(2)).await;
        let (again, body) = app.register_with(Some(&token), &Registration::valid(3)).await;

        assert_eq!((first, second, third), (422, 409, 201));
        assert_eq!(again, 401);
        assert_eq!(body["message"], "The token expired.");
    }
}

e2e_test! {
    /// The issue behind signed tokens: a flood of token requests grew the `tokens` store
    /// without bound. Now the app's key is its only entry, made by the first request.
    async fn a_flood_of_tokens_grows_no_store(target: Target) {
        let app = spawn_app(target).await;
        let first = app.token().await;
        let after_first: Vec<i64> = STORE_LABELS.map(|s| app.entries_in(s)).into();

        let flood = tokens(&app, 2_000, 16).await;

        let after_flood: Vec<i64> = STORE_LABELS.map(|s| app.entries_in(s)).into();
        // `signing-key` and `signing-key/<id>`: one key, kept under two names.
        assert_eq!(after_first, [2, 0, 0]);
        assert_eq!(after_flood, after_first);
        let distinct: std::collections::HashSet<&String> = flood.iter().chain([&first]).collect();
        assert_eq!(distinct.len(), 2_001);
        assert_eq!(token_check(&app, &flood[1_999]).await.0, 422);
    }
}

e2e_test! {
    /// With the secret configured, nothing at all is stored for tokens.
    async fn with_a_configured_key_the_tokens_store_stays_empty(target: Target) {
        let options = AppOptions { token_signing_keys: (SECRET, ""), ..AppOptions::default() };
        let app = spawn_app_with(target, options).await;

        let issued = tokens(&app, 200, 16).await;
        let (status, body) = app.register_with(Some(&issued[0]), &Registration::valid(1)).await;

        assert_eq!(status, 201, "{body}");
        assert_eq!(app.entries_in("tokens"), 0);
        // The configured key signs them: a token made with it here is one of the app's.
        let own = SigningKey::from_secret(SECRET)
            .unwrap()
            .issue([7; NONCE_BYTES], unix_secs(), 60);
        assert_eq!(token_check(&app, own.expose()).await.0, 422);
    }
}

e2e_test! {
    /// Instances that start together on an empty store may each make a key; the tokens
    /// every one of them signed must all stay valid.
    async fn the_first_tokens_issued_at_once_all_stay_valid(target: Target) {
        let app = spawn_app(target).await;

        let issued = tokens(&app, 24, 24).await;

        let mut statuses = Vec::new();
        for token in &issued {
            statuses.push(token_check(&app, token).await.0);
        }
        assert!(statuses.iter().all(|&s| s == 422), "{statuses:?}");
        let keys_made = app.entries_in("tokens") - 1;
        assert!((1..=24).contains(&keys_made), "{keys_made} keys");
        println!("{keys_made} signing key(s) made by 24 first requests at once");
    }
}

e2e_test! {
    /// Altered, truncated, forged, expired, future and oversized tokens: the contract's 401,
    /// never a 5xx.
    async fn bad_tokens_are_refused_with_the_contracts_401(target: Target) {
        let options = AppOptions { token_signing_keys: (SECRET, ""), ..AppOptions::default() };
        let app = spawn_app_with(target, options).await;
        let good = app.token().await;
        let ours = SigningKey::from_secret(SECRET).unwrap();
        let now = unix_secs();

        let mut altered = URL_SAFE_NO_PAD.decode(&good).unwrap();
        *altered.last_mut().unwrap() ^= 1;
        let altered = URL_SAFE_NO_PAD.encode(altered);
        let truncated = good[..good.len() - 2].to_owned();
        let other_key = SigningKey::generate([9; 40]).issue([1; NONCE_BYTES], now, 600);
        let expired_token = ours.issue([2; NONCE_BYTES], now - 7_200, 60);
        let from_the_future = ours.issue([3; NONCE_BYTES], now + 3_600, DEFAULT_TTL_SECONDS);
        let huge = "A".repeat(16 * 1024);
        let not_base64 = format!("{}!!", &good[..good.len() - 2]);

        for (what, token) in [
            ("altered", altered.as_str()),
            ("truncated", &truncated),
            ("signed with another key", other_key.expose()),
            ("expired", expired_token.expose()),
            ("from the future", from_the_future.expose()),
            ("huge", &huge),
            ("not base64", &not_base64),
        ] {
            assert_eq!(token_check(&app, token).await, (401, expired()), "{what}");
        }
        // The good one is still good after all that.
        assert_eq!(token_check(&app, &good).await.0, 422);
    }
}

e2e_test! {
    /// A bad token is refused from the request's head: the body is never waited for.
    async fn a_bad_token_is_refused_before_the_body_arrives(target: Target) {
        let app = spawn_app(target).await;
        let forged = SigningKey::generate([9; 40]).issue([1; NONCE_BYTES], unix_secs(), 600);
        let mut connection = RawConnection::open(&app).await;

        // A 10 MB body announced, none of it sent.
        connection
            .send_head(&registration_head(forged.expose()), 10 << 20)
            .await;
        let response = connection
            .read_response_or_close("registration with a forged token")
            .await
            .expect("an answer, not a close");

        assert_eq!(response.status, 401);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body, expired());
    }
}

e2e_test! {
    /// Rotation: the new secret signs, the previous one still verifies until its tokens
    /// expire, and once it is dropped they are refused.
    async fn a_rotated_key_keeps_its_tokens_valid_while_it_is_the_previous_one(target: Target) {
        let before = spawn_app_with(
            target,
            AppOptions { token_signing_keys: (SECRET, ""), ..AppOptions::default() },
        )
        .await;
        let old_token = before.token().await;
        drop(before);

        let rotated = spawn_app_with(
            target,
            AppOptions { token_signing_keys: (NEXT_SECRET, SECRET), ..AppOptions::default() },
        )
        .await;
        let new_token = rotated.token().await;
        assert_eq!(token_check(&rotated, &old_token).await.0, 422);
        assert_eq!(token_check(&rotated, &new_token).await.0, 422);
        drop(rotated);

        let retired = spawn_app_with(
            target,
            AppOptions { token_signing_keys: (NEXT_SECRET, ""), ..AppOptions::default() },
        )
        .await;
        assert_eq!(token_check(&retired, &old_token).await, (401, expired()));
        assert_eq!(token_check(&retired, &new_token).await.0, 422);
    }
}

e2e_test! {
    /// A configured secret too short to sign with is the operator's mistake: the token
    /// endpoint says so in the contract's shape (and the log), and signs nothing.
    async fn a_too_short_configured_key_is_an_error_not_a_weak_signature(target: Target) {
        // Too short, and deploy/secret.example.yaml's old placeholder (36 bytes), which
        // anyone who read the repository knows.
        for key in ["short", "CHANGE-ME-TO-32-OR-MORE-RANDOM-BYTES"] {
            let options = AppOptions { token_signing_keys: (key, ""), ..AppOptions::default() };
            let app = spawn_app_with(target, options).await;

            let (status, body) = app.get_json("/api/v1/token").await;

            assert_eq!(status, 500, "{key}: {body}");
            assert_eq!(body, serde_json::json!({"success": false, "message": "Internal server error"}), "{key}");
            assert_eq!(app.entries_in("tokens"), 0);
        }
    }
}

e2e_test! {
    /// A previous key that cannot be one only costs the tokens it signed: those signed
    /// with the current key still register (it made every registration a 500).
    async fn a_broken_previous_key_is_left_out_and_current_tokens_still_register(target: Target) {
        let options = AppOptions { token_signing_keys: (SECRET, "too-short"), ..AppOptions::default() };
        let app = spawn_app_with(target, options).await;

        let (status, body) = app.register(&Registration::valid(1)).await;

        assert_eq!(status, 201, "{body}");
    }
}
