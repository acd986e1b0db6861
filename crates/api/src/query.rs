//! A request's query-string parameters, percent-decoded.

use http::Uri;

/// The parameters of a query string, in order (`?page=2&count=5`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// The parameters of `uri`'s query string (none without one).
    pub fn of(uri: &Uri) -> Self {
        Self(
            uri.query()
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// The first value given for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_decoded_and_the_first_wins() {
        let uri: Uri = "/api/v1/users?count=5&name=a%20b&count=9&empty="
            .parse()
            .unwrap();
        let params = QueryParams::of(&uri);
        assert_eq!(params.get("count"), Some("5"));
        assert_eq!(params.get("name"), Some("a b"));
        assert_eq!(params.get("empty"), Some(""));
        assert_eq!(params.get("page"), None);
    }

    #[test]
    fn no_query_string_means_no_parameters() {
        let uri: Uri = "/api/v1/users".parse().unwrap();
        assert_eq!(QueryParams::of(&uri), QueryParams::default());
    }
}
