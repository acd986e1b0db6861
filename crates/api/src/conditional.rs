//! Conditional GET: strong ETags and `If-None-Match`.

use http::HeaderMap;
use sha2::{Digest, Sha256};

/// A strong ETag for `content`: a quoted, truncated SHA-256.
pub fn etag_for(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    format!("\"{}\"", hex::encode(&digest[..16]))
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
    fn if_none_match_matches_lists_weak_tags_and_star() {
        let tag = etag_for(b"abc");
        assert!(is_fresh(&headers(&tag), &tag));
        assert!(is_fresh(&headers(&format!("\"x\", W/{tag}")), &tag));
        assert!(is_fresh(&headers("*"), &tag));
        assert!(!is_fresh(&headers("\"other\""), &tag));
        assert!(!is_fresh(&HeaderMap::new(), &tag));
    }
}
