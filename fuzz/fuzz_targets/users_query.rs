//! The users list's query string (`page`, `count`, `offset`, `as_of`), any bytes, read as the
//! users component reads it and located against lists of several lengths. It must answer —
//! a page, no page, or the contract's failures — without panicking, and a page's links must
//! name the list it was read from.
#![no_main]

use api::query::QueryParams;
use domain::paging::PageQuery;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = format!("/api/v1/users?{query}").parse::<http::Uri>() else {
        return;
    };
    let params = QueryParams::of(&uri);
    let Ok(request) = (PageQuery {
        page: params.get("page"),
        count: params.get("count"),
        offset: params.get("offset"),
        as_of: params.get("as_of"),
    })
    .parse() else {
        return;
    };
    let list = url::Url::parse("http://host/api/v1/users").expect("a URL");
    let _ = request.offset();
    for users_now in [0, 1, 47, u64::from(u32::MAX), i64::MAX.unsigned_abs()] {
        if let Some(page) = request.locate(users_now, &list) {
            assert!(page.total_users <= users_now);
            let anchor = format!("as_of={}", page.total_users);
            for link in [&page.next_url, &page.prev_url].into_iter().flatten() {
                assert!(link.ends_with(&anchor), "{link}");
            }
        }
    }
});
