//! Best-effort TinyPNG optimisation of the 70x70 JPEG (CONTRACT.md, "Photos").

use std::time::Duration;

use platform::vars;
use tinify::{ApiKey, SpinTransport, TinifyClient};
use url::Url;

/// TinyPNG's version of `jpeg`. Without an API key, or when TinyPNG fails, answers
/// something that is not a sound 70x70 JPEG, or times out, `jpeg` itself is kept and the
/// reason logged: a registration never fails for the optimiser, and waits for it at most
/// the configured timeout per call and `budget` in all (`None`: no time is left for it
/// before the registration's writes).
pub async fn optimize(jpeg: Vec<u8>, budget: Option<Duration>) -> Vec<u8> {
    let Some(budget) = budget else {
        eprintln!(
            "tinify: no time left before the registration's deadline; keeping the local JPEG"
        );
        return jpeg;
    };
    let key = platform::setting_or(vars::TINIFY_API_KEY, "").await;
    if key.trim().is_empty() {
        eprintln!("tinify: no API key configured; keeping the local JPEG");
        return jpeg;
    }
    let base = platform::setting_or(vars::TINIFY_BASE_URL, tinify::DEFAULT_BASE_URL).await;
    let Ok(base) = Url::parse(&base) else {
        eprintln!("tinify: tinify_base_url is not a URL; keeping the local JPEG");
        return jpeg;
    };
    let timeout = platform::setting_or(vars::TINIFY_TIMEOUT_MS, "")
        .await
        .trim()
        .parse()
        .map(Duration::from_millis)
        .unwrap_or(tinify::DEFAULT_TIMEOUT);

    let client = TinifyClient::new(base, ApiKey::new(key.trim()), timeout, SpinTransport);
    let Ok(shrunk) = platform::within(budget, client.shrink(&jpeg)).await else {
        eprintln!(
            "tinify: no answer within the registration's time for it; keeping the local JPEG"
        );
        return jpeg;
    };
    match shrunk {
        Ok(smaller) => match photo::check(&smaller) {
            Ok(d) if d.width == photo::THUMBNAIL_SIDE && d.height == photo::THUMBNAIL_SIDE => {
                smaller
            }
            _ => {
                eprintln!("tinify: output is not a 70x70 JPEG; keeping the local JPEG");
                jpeg
            }
        },
        Err(e) => {
            eprintln!("tinify: {e}; keeping the local JPEG");
            jpeg
        }
    }
}
