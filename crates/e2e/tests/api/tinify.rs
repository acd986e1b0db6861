//! TinyPNG optimisation is best effort: every failure still registers the user, with the
//! locally encoded photo.

use std::time::Duration;

use tinypng_mock::{Behaviour, MARKER};

use crate::e2e_test;
use crate::helpers::{AppOptions, Registration, TINIFY_KEY, spawn_app, spawn_app_with};

fn optimised(photo: &[u8]) -> bool {
    photo.windows(MARKER.len()).any(|w| w == MARKER)
}

async fn register_and_fetch_photo(app: &crate::helpers::TestApp) -> Vec<u8> {
    let (status, body) = app.register(&Registration::valid(1)).await;
    assert_eq!(status, 201, "{body}");
    app.photo_of(body["user_id"].as_i64().unwrap()).await
}

e2e_test! {
    async fn the_photo_is_shrunk_through_tinypng_with_basic_auth(target: Target) {
        let app = spawn_app(target).await;

        let photo = register_and_fetch_photo(&app).await;

        assert!(optimised(&photo), "the stored photo is TinyPNG's output");
        let requests = app.tinify.requests();
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("POST", "/shrink"));
        let expected = format!("Basic {}", base64_of(&format!("api:{TINIFY_KEY}")));
        assert_eq!(requests[0].authorization.as_deref(), Some(expected.as_str()));
        assert!(requests[0].body_len > 0);
        assert_eq!(requests[1].method, "GET");
        assert!(requests[1].path.starts_with("/output/"));
    }
}

e2e_test! {
    async fn a_server_error_is_retried_once(target: Target) {
        let app = spawn_app_with(target, AppOptions { tinify: Behaviour::ServerErrorOnce, ..AppOptions::default() }).await;

        let photo = register_and_fetch_photo(&app).await;

        assert!(optimised(&photo));
        let posts = app.tinify.requests().iter().filter(|r| r.method == "POST").count();
        assert_eq!(posts, 2);
    }
}

e2e_test! {
    async fn tinypng_down_slow_or_refusing_still_registers_with_the_local_photo(target: Target) {
        let cases = [
            ("down", Behaviour::ServerError, Some(TINIFY_KEY)),
            ("slow", Behaviour::Slow(Duration::from_secs(3)), Some(TINIFY_KEY)),
            ("rate limited", Behaviour::RateLimited, Some(TINIFY_KEY)),
            ("wrong key", Behaviour::Normal, Some("wrong-key")),
        ];
        for (case, behaviour, key) in cases {
            let app = spawn_app_with(target, AppOptions {
                tinify: behaviour,
                tinify_key: key,
                tinify_timeout_ms: 500,
                ..AppOptions::default()
            })
            .await;

            let photo = register_and_fetch_photo(&app).await;

            assert!(!optimised(&photo), "{case}: the local photo is kept");
            let decoded = image::load_from_memory(&photo).expect("a JPEG");
            assert_eq!((decoded.width(), decoded.height()), (70, 70), "{case}");
            assert!(!app.tinify.requests().is_empty(), "{case}: TinyPNG was asked");
        }
    }
}

e2e_test! {
    async fn without_an_api_key_tinypng_is_not_called(target: Target) {
        let app = spawn_app_with(target, AppOptions { tinify_key: None, ..AppOptions::default() }).await;

        let photo = register_and_fetch_photo(&app).await;

        assert!(!optimised(&photo));
        assert!(app.tinify.requests().is_empty());
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
