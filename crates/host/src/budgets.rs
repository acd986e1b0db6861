//! What each of the app's endpoints asks of the metered services per request: key-value
//! reads and writes, SQL statements, outbound HTTP requests. The end-to-end budgets suite
//! (`crates/e2e/tests/budgets`) counts every call the real components make and holds each
//! count to these figures, so `deploy-check`'s arithmetic rests on measured numbers.

/// A deployment's shape, as far as the counts depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// A fresh instance for every request (the WASI 0.2 build): nothing an instance found
    /// is there for the next request.
    pub fresh_instances: bool,
    /// Photos in the database (`photo_store = database`) rather than key-value.
    pub photos_in_database: bool,
    /// `token_signing_key` set: no key-value read finds the signing key.
    pub signing_key: bool,
    /// `tinify_api_key` set: a registration optimises its photo with TinyPNG.
    pub tinify: bool,
}

/// The endpoints, as the budgets suite names them.
pub const ENDPOINTS: [&str; 6] = [
    "GET /api/v1/token",
    "GET /api/v1/positions",
    "GET /api/v1/users?page=1&count=6",
    "GET /api/v1/users/{id}",
    "GET /images/users/{file}",
    "POST /api/v1/users",
];

/// What one request asks of the metered services.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Metered {
    pub kv_reads: f64,
    pub kv_writes: f64,
    pub sql_statements: f64,
    /// Outbound HTTP requests (TinyPNG's `POST /shrink`, then `GET` of its result).
    pub outbound_http: f64,
}

/// What `endpoint` needs per request in `shape`; `None` for an endpoint not listed in
/// [`ENDPOINTS`]. On a reused WASI 0.3 instance the database connection, variables, the
/// positions answer and the photos it served are kept for the requests after the first.
pub fn per_request(endpoint: &str, shape: Shape) -> Option<Metered> {
    let per_instance = |n: f64| if shape.fresh_instances { n } else { 0.0 };
    // The signing key: from the variable, or else from the `tokens` store.
    let key_read = if shape.signing_key {
        0.0
    } else {
        per_instance(1.0)
    };
    let (kv_reads, kv_writes, sql_statements) = match endpoint {
        "GET /api/v1/token" => (key_read, 0.0, 0.0),
        // The cached answer.
        "GET /api/v1/positions" => (per_instance(1.0), 0.0, 0.0),
        // One statement, a new connection's schema check inside it.
        "GET /api/v1/users?page=1&count=6" | "GET /api/v1/users/{id}" => (0.0, 0.0, 1.0),
        "GET /images/users/{file}" if shape.photos_in_database => (0.0, 0.0, per_instance(1.0)),
        "GET /images/users/{file}" => (per_instance(1.0), 0.0, 0.0),
        // Token used?, position exists?, email or phone taken?, the insert, and the user with
        // this photo (did the insert take effect?); the photo's write unless it is in the
        // database, written with the user.
        "POST /api/v1/users" => (
            key_read,
            if shape.photos_in_database { 0.0 } else { 1.0 },
            5.0,
        ),
        _ => return None,
    };
    let outbound_http = if endpoint == "POST /api/v1/users" && shape.tinify {
        2.0
    } else {
        0.0
    };
    Some(Metered {
        kv_reads,
        kv_writes,
        sql_statements,
        outbound_http,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_a_budget_and_others_none() {
        let shape = Shape {
            fresh_instances: true,
            photos_in_database: false,
            signing_key: true,
            tinify: true,
        };
        for endpoint in ENDPOINTS {
            assert!(per_request(endpoint, shape).is_some(), "{endpoint}");
        }
        assert_eq!(per_request("DELETE /", shape), None);
        let registration = per_request("POST /api/v1/users", shape).unwrap();
        assert_eq!(
            (registration.kv_writes, registration.outbound_http),
            (1.0, 2.0)
        );
    }
}
