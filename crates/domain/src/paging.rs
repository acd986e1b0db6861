//! Pages of the user list (CONTRACT.md, `GET /api/v1/users`): parameters, counts and links.
//!
//! The list is newest first, so every registration pushes it down by one: a client that
//! pages by number while others register sees a user again on the next page. A page can
//! therefore be *anchored*: `as_of=N` reads the list as it was when it held N users, its N
//! oldest (users are never deleted or changed, and each holds a gap-free place 1, 2, 3…
//! in registration order, so that list is fixed forever). Every page's links carry the
//! anchor of the list they were read from, so a client that follows `next_url` walks
//! exactly the users that existed when its walk began, each once, and an anchored page
//! never changes: HTTP caches may keep it.

use url::Url;

use crate::fields::{FieldErrors, parse_integer, present};

/// Users per page when `count` is not given.
pub const DEFAULT_COUNT: u32 = 5;
/// Largest `count` a client may ask for.
pub const MAX_COUNT: u32 = 100;

/// Where a page starts: the page-number form or the offset form. The links of the answer
/// keep the form the client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// `page` (1-based).
    Page(u64),
    /// `offset`: the number of newest users skipped.
    Offset(u64),
}

/// Valid paging parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Where the page starts.
    pub start: Start,
    /// Users per page requested (1..=100).
    pub count: u32,
    /// `as_of`: page the list as it was when it held this many users; `None` pages the
    /// list as it is now.
    pub as_of: Option<u64>,
}

/// Raw query parameters.
#[derive(Debug, Clone, Default)]
pub struct PageQuery<'a> {
    /// `page`.
    pub page: Option<&'a str>,
    /// `count`.
    pub count: Option<&'a str>,
    /// `offset`.
    pub offset: Option<&'a str>,
    /// `as_of`.
    pub as_of: Option<&'a str>,
}

impl PageQuery<'_> {
    /// Checks every parameter and reports every failure. An empty parameter counts as
    /// absent. With `offset` present, `page` is ignored, as the contract says.
    pub fn parse(&self) -> Result<PageRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let offset = count_of_users(&mut errors, "offset", self.offset);
        let as_of = count_of_users(&mut errors, "as_of", self.as_of);
        let page = match present(self.page) {
            Some(_) if self.offset.is_some_and(|o| !o.trim().is_empty()) => 1,
            None => 1,
            Some(raw) => match parse_integer(raw) {
                None => {
                    errors.add("page", "The page must be an integer.");
                    1
                }
                Some(n) if n < 1 => {
                    errors.add("page", "The page must be at least 1.");
                    1
                }
                Some(n) => n.unsigned_abs(),
            },
        };
        let count = match present(self.count) {
            None => DEFAULT_COUNT,
            Some(raw) => match parse_integer(raw) {
                None => {
                    errors.add("count", "The count must be an integer.");
                    DEFAULT_COUNT
                }
                Some(n) if n < 1 => {
                    errors.add("count", "The count must be at least 1.");
                    DEFAULT_COUNT
                }
                Some(n) if n > i64::from(MAX_COUNT) => {
                    errors.add("count", "The count may not be greater than 100.");
                    DEFAULT_COUNT
                }
                Some(n) => u32::try_from(n).unwrap_or(DEFAULT_COUNT),
            },
        };
        let start = match offset {
            Some(offset) => Start::Offset(offset),
            None => Start::Page(page),
        };
        errors.into_result(PageRequest {
            start,
            count,
            as_of,
        })
    }
}

/// A parameter that counts users (`offset`, `as_of`): absent, or an integer of at least 0;
/// anything else is reported against `field` in the contract's words.
fn count_of_users(errors: &mut FieldErrors, field: &'static str, raw: Option<&str>) -> Option<u64> {
    let raw = present(raw)?;
    match parse_integer(raw) {
        None => {
            errors.add(field, format!("The {field} must be an integer."));
            None
        }
        Some(n) if n < 0 => {
            errors.add(field, format!("The {field} must be at least 0."));
            None
        }
        Some(n) => Some(n.unsigned_abs()),
    }
}

/// A page to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Users to skip (newest first).
    pub offset: u64,
    /// Users to read at most.
    pub limit: u32,
    /// `page` in the answer.
    pub page: u64,
    /// `total_pages` in the answer.
    pub total_pages: u64,
    /// `total_users` in the answer: the length of the list paged (the anchor).
    pub total_users: u64,
    /// Whether the request named its list (`as_of`): then this page never changes.
    pub anchored: bool,
    /// `links.next_url`.
    pub next_url: Option<String>,
    /// `links.prev_url`.
    pub prev_url: Option<String>,
}

impl PageRequest {
    /// Users to skip before this page, whatever the total: the page can be read together
    /// with the total and located afterwards.
    pub fn offset(&self) -> u64 {
        match self.start {
            Start::Page(page) => (page - 1).saturating_mul(u64::from(self.count)),
            Start::Offset(offset) => offset,
        }
    }

    /// The page, given the number of users now, with absolute links under `list_url` (the
    /// list's own URL, e.g. `https://host/api/v1/users`) that carry the list's anchor.
    /// `None` for a page past the end of its list, and for an `as_of` above the number of
    /// users (a list that has not existed: no link gave it). The first page of an empty
    /// list is a page.
    pub fn locate(&self, users_now: u64, list_url: &Url) -> Option<Page> {
        if self.as_of.is_some_and(|as_of| as_of > users_now) {
            return None;
        }
        let total_users = self.as_of.unwrap_or(users_now);
        let count = u64::from(self.count);
        let total_pages = total_users.div_ceil(count);
        let link = |key: &str, value: u64| {
            let mut url = list_url.clone();
            url.query_pairs_mut()
                .clear()
                .append_pair(key, &value.to_string())
                .append_pair("count", &count.to_string())
                .append_pair("as_of", &total_users.to_string());
            url.to_string()
        };
        let anchored = self.as_of.is_some();
        match self.start {
            Start::Page(page) => {
                if page > total_pages.max(1) {
                    return None;
                }
                Some(Page {
                    offset: self.offset(),
                    limit: self.count,
                    page,
                    total_pages,
                    total_users,
                    anchored,
                    next_url: (page < total_pages).then(|| link("page", page + 1)),
                    prev_url: (page > 1).then(|| link("page", page - 1)),
                })
            }
            Start::Offset(offset) => {
                if offset > 0 && offset >= total_users {
                    return None;
                }
                let next = offset.saturating_add(count);
                Some(Page {
                    offset,
                    limit: self.count,
                    page: offset / count + 1,
                    total_pages,
                    total_users,
                    anchored,
                    next_url: (next < total_users).then(|| link("offset", next)),
                    prev_url: (offset > 0).then(|| link("offset", offset.saturating_sub(count))),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query<'a>(
        page: Option<&'a str>,
        count: Option<&'a str>,
        offset: Option<&'a str>,
    ) -> PageQuery<'a> {
        PageQuery {
            page,
            count,
            offset,
            as_of: None,
        }
    }

    fn list_url() -> Url {
        Url::parse("http://host/api/v1/users").unwrap()
    }

    #[test]
    fn defaults_are_page_one_of_five() {
        let request = query(None, None, None).parse().unwrap();
        assert_eq!(
            request,
            PageRequest {
                start: Start::Page(1),
                count: 5,
                as_of: None,
            }
        );
        let empty = query(Some(""), Some(" "), Some("")).parse().unwrap();
        assert_eq!(empty, request);
    }

    #[test]
    fn every_bad_parameter_is_reported_with_its_message() {
        let errors = query(Some("abc"), Some("0"), None).parse().unwrap_err();
        assert_eq!(errors.get("page"), ["The page must be an integer."]);
        assert_eq!(errors.get("count"), ["The count must be at least 1."]);

        let cases = [
            (
                query(Some("0"), None, None),
                "page",
                "The page must be at least 1.",
            ),
            (
                query(Some("-4"), None, None),
                "page",
                "The page must be at least 1.",
            ),
            (
                query(None, Some("x"), None),
                "count",
                "The count must be an integer.",
            ),
            (
                query(None, Some("101"), None),
                "count",
                "The count may not be greater than 100.",
            ),
            (
                query(None, None, Some("1.5")),
                "offset",
                "The offset must be an integer.",
            ),
            (
                query(None, None, Some("-1")),
                "offset",
                "The offset must be at least 0.",
            ),
        ];
        for (q, field, message) in cases {
            assert_eq!(q.parse().unwrap_err().get(field), [message], "{q:?}");
        }
    }

    #[test]
    fn offset_wins_over_page() {
        let request = query(Some("not-a-number"), Some("10"), Some("20"))
            .parse()
            .unwrap();
        assert_eq!(request.start, Start::Offset(20));
    }

    #[test]
    fn page_links_follow_the_contract_example() {
        let request = query(None, None, None).parse().unwrap();
        let page = request.locate(47, &list_url()).unwrap();
        assert_eq!((page.page, page.total_pages, page.total_users), (1, 10, 47));
        assert_eq!(
            page.next_url.as_deref(),
            Some("http://host/api/v1/users?page=2&count=5&as_of=47")
        );
        assert_eq!(page.prev_url, None);

        let last = query(Some("10"), None, None)
            .parse()
            .unwrap()
            .locate(47, &list_url())
            .unwrap();
        assert_eq!((last.offset, last.limit), (45, 5));
        assert_eq!(last.next_url, None);
        assert_eq!(
            last.prev_url.as_deref(),
            Some("http://host/api/v1/users?page=9&count=5&as_of=47")
        );
    }

    #[test]
    fn a_page_past_the_end_is_not_a_page_but_an_empty_first_page_is() {
        let page2 = query(Some("2"), None, None).parse().unwrap();
        assert_eq!(page2.locate(5, &list_url()), None);
        assert_eq!(page2.locate(0, &list_url()), None);
        let first = query(None, None, None)
            .parse()
            .unwrap()
            .locate(0, &list_url())
            .unwrap();
        assert_eq!(
            (first.total_pages, first.next_url, first.prev_url),
            (0, None, None)
        );
    }

    #[test]
    fn offset_links_keep_the_offset_form() {
        let at = |offset: &str| query(None, Some("5"), Some(offset)).parse().unwrap();
        let middle = at("7").locate(20, &list_url()).unwrap();
        assert_eq!(middle.page, 2);
        assert_eq!(
            middle.next_url.as_deref(),
            Some("http://host/api/v1/users?offset=12&count=5&as_of=20")
        );
        assert_eq!(
            middle.prev_url.as_deref(),
            Some("http://host/api/v1/users?offset=2&count=5&as_of=20")
        );

        let near_start = at("3").locate(20, &list_url()).unwrap();
        assert_eq!(
            near_start.prev_url.as_deref(),
            Some("http://host/api/v1/users?offset=0&count=5&as_of=20")
        );
        let start = at("0").locate(20, &list_url()).unwrap();
        assert_eq!(start.prev_url, None);
        let end = at("15").locate(20, &list_url()).unwrap();
        assert_eq!(end.next_url, None);
        assert_eq!(at("20").locate(20, &list_url()), None);
        assert!(at("0").locate(0, &list_url()).is_some());
    }

    #[test]
    fn the_offset_is_known_before_the_total() {
        assert_eq!(
            query(Some("3"), Some("5"), None).parse().unwrap().offset(),
            10
        );
        assert_eq!(
            query(Some("9"), Some("5"), Some("7"))
                .parse()
                .unwrap()
                .offset(),
            7
        );
        assert_eq!(query(None, None, None).parse().unwrap().offset(), 0);
        let last = query(Some("4"), Some("5"), None).parse().unwrap();
        assert_eq!(last.locate(20, &list_url()).unwrap().offset, last.offset());
    }

    #[test]
    fn huge_pages_do_not_overflow() {
        let request = query(Some("9223372036854775807"), Some("100"), None)
            .parse()
            .unwrap();
        assert_eq!(request.locate(10, &list_url()), None);
        assert_eq!(request.offset(), u64::MAX);
    }

    fn anchored(query: &str, as_of: &str) -> PageRequest {
        let (key, value) = query.split_once('=').unwrap();
        let mut q = PageQuery {
            count: Some("5"),
            as_of: Some(as_of),
            ..PageQuery::default()
        };
        match key {
            "page" => q.page = Some(value),
            _ => q.offset = Some(value),
        }
        q.parse().unwrap()
    }

    #[test]
    fn a_bad_as_of_is_reported_with_the_others() {
        let errors = PageQuery {
            page: Some("0"),
            as_of: Some("soon"),
            ..PageQuery::default()
        }
        .parse()
        .unwrap_err();
        assert_eq!(errors.get("as_of"), ["The as_of must be an integer."]);
        assert_eq!(errors.get("page"), ["The page must be at least 1."]);
        let negative = PageQuery {
            as_of: Some("-1"),
            ..PageQuery::default()
        };
        assert_eq!(
            negative.parse().unwrap_err().get("as_of"),
            ["The as_of must be at least 0."]
        );
        let empty = PageQuery {
            as_of: Some(" "),
            ..PageQuery::default()
        };
        assert_eq!(empty.parse().unwrap().as_of, None);
    }

    #[test]
    fn an_anchored_page_counts_and_links_the_list_it_names() {
        // 47 users when the walk began, 60 now: the page is of the 47.
        let second = anchored("page=2", "47").locate(60, &list_url()).unwrap();
        assert_eq!(
            (second.page, second.total_pages, second.total_users),
            (2, 10, 47)
        );
        assert!(second.anchored);
        assert_eq!(
            second.next_url.as_deref(),
            Some("http://host/api/v1/users?page=3&count=5&as_of=47")
        );
        assert_eq!(
            second.prev_url.as_deref(),
            Some("http://host/api/v1/users?page=1&count=5&as_of=47")
        );
        let last = anchored("page=10", "47").locate(60, &list_url()).unwrap();
        assert_eq!(last.next_url, None, "the walk ends where its list did");
        assert_eq!(anchored("page=11", "47").locate(60, &list_url()), None);

        let offset = anchored("offset=40", "47").locate(60, &list_url()).unwrap();
        assert_eq!((offset.page, offset.total_users), (9, 47));
        assert_eq!(
            offset.next_url.as_deref(),
            Some("http://host/api/v1/users?offset=45&count=5&as_of=47")
        );
    }

    #[test]
    fn an_unanchored_page_anchors_its_links_to_the_list_now() {
        let first = query(None, None, None)
            .parse()
            .unwrap()
            .locate(47, &list_url())
            .unwrap();
        assert!(!first.anchored);
        assert_eq!(first.total_users, 47);
        assert!(first.next_url.unwrap().ends_with("&as_of=47"));
    }

    #[test]
    fn an_anchor_ahead_of_the_list_is_no_page_but_the_list_now_is_one() {
        assert_eq!(anchored("page=1", "48").locate(47, &list_url()), None);
        let now = anchored("page=1", "47").locate(47, &list_url()).unwrap();
        assert_eq!((now.total_users, now.anchored), (47, true));
        let empty = anchored("page=1", "0").locate(47, &list_url()).unwrap();
        assert_eq!((empty.total_pages, empty.next_url), (0, None));
    }
}
