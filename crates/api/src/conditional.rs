//! Conditional GET: strong ETags, `If-None-Match`, and what HTTP caches are told.

use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::{Reply, with_body};

/// A strong ETag for `content`: its quoted 128-bit XXH3 hash, in hex.
///
/// An ETag only has to change when the content does; nothing is signed or trusted on it
/// (at worst a forged collision would keep one client on its cached copy). SHA-256, used
/// before, was a tenth of the users page's guest time in WebAssembly.
pub fn etag_for(content: &[u8]) -> String {
    format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(content))
}

/// Whether the client's `If-None-Match` already names `etag` (weak comparison, as RFC 9110
/// prescribes for `If-None-Match`), so the answer is `304 Not Modified`.
pub fn is_fresh(headers: &HeaderMap, etag: &str) -> bool {
    let strip = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = strip(etag);
    headers
        .get_all(http::header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == "*" || strip(tag) == ours)
}

/// A JSON answer HTTP caches can revalidate: `200` with `body`, its [`etag_for`] and
/// `cache_control`; or `304 Not Modified`, without body or content type, when the
/// request's `If-None-Match` already names that ETag.
pub fn revalidatable_json(request: &HeaderMap, body: Vec<u8>, cache_control: HeaderValue) -> Reply {
    let etag = etag_for(&body);
    let mut reply = if is_fresh(request, &etag) {
        let mut reply = with_body(StatusCode::NOT_MODIFIED, "application/json", Vec::new());
        reply.headers_mut().remove(header::CONTENT_TYPE);
        reply
    } else {
        with_body(StatusCode::OK, "application/json", body)
    };
    let headers = reply.headers_mut();
    headers.insert(header::CACHE_CONTROL, cache_control);
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    reply
}

/// `Cache-Control` for answers that change whenever someone registers: kept but always
/// revalidated (`no-cache`), unless shared caches may serve them for `shared_max_age`
/// seconds (a CDN in front of the app; browsers still revalidate).
pub fn revalidate_or_shared_for(shared_max_age: u64) -> HeaderValue {
    if shared_max_age == 0 {
        HeaderValue::from_static("no-cache")
    } else {
        HeaderValue::from_str(&format!("public, max-age=0, s-maxage={shared_max_age}"))
            .unwrap_or(HeaderValue::from_static("no-cache"))
    }
}

/// `Cache-Control` for answers that never change (an anchored users page, a user): any
/// cache may keep them for `max_age` seconds without asking (`immutable`: not even on
/// reload). 0 makes every cache revalidate instead (`no-cache`).
pub fn immutable_for(max_age: u64) -> HeaderValue {
    if max_age == 0 {
        HeaderValue::from_static("no-cache")
    } else {
        HeaderValue::from_str(&format!("public, max-age={max_age}, immutable"))
            .unwrap_or(HeaderValue::from_static("no-cache"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(if_none_match: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::IF_NONE_MATCH, if_none_match.parse().unwrap());
        h
    }

    #[test]
    fn etags_are_quoted_and_depend_on_content() {
        let tag = etag_for(b"abc");
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34);
        assert_ne!(tag, etag_for(b"abd"));
    }

    #[test]
    fn a_matching_if_none_match_gets_304_without_a_body() {
        let body = br#"{"success":true}"#.to_vec();
        let cache = || HeaderValue::from_static("no-cache");
        let full = revalidatable_json(&HeaderMap::new(), body.clone(), cache());
        let etag = full.headers()[header::ETAG].to_str().unwrap().to_owned();
        let again = revalidatable_json(&headers(&etag), body.clone(), cache());
        let changed = revalidatable_json(&headers(&etag), b"{}".to_vec(), cache());

        assert_eq!(full.status(), StatusCode::OK);
        assert_eq!(full.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(full.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], etag.as_str());
        assert!(again.headers().get(header::CONTENT_TYPE).is_none());
        assert_eq!(again.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(changed.status(), StatusCode::OK);
        assert_ne!(changed.headers()[header::ETAG], etag.as_str());
    }

    #[test]
    fn lists_revalidate_unless_a_shared_max_age_is_set() {
        assert_eq!(revalidate_or_shared_for(0), "no-cache");
        assert_eq!(
            revalidate_or_shared_for(10),
            "public, max-age=0, s-maxage=10"
        );
    }

    #[test]
    fn what_never_changes_is_kept_for_its_max_age_unless_that_is_0() {
        assert_eq!(
            immutable_for(31_536_000),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(immutable_for(0), "no-cache");
    }

    #[test]
    fn if_none_match_matches_lists_weak_tags_and_star() {
        let tag = etag_for(b"abc");
        assert!(is_fresh(&headers(&tag), &tag));
        assert!(is_fresh(&headers(&format!("\"x\", W/{tag}")), &tag));
        assert!(is_fresh(&headers("*"), &tag));
        assert!(!is_fresh(&headers("\"other\""), &tag));
        assert!(!is_fresh(&HeaderMap::new(), &tag));
    }
}
