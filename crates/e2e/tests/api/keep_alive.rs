//! Every response leaves the host with its head and body together, request after request on
//! one keep-alive connection.
//!
//! The host leaves Nagle's algorithm on, as Spin does. If a body is written after its head,
//! the kernel holds the body until the client acknowledges the head, and clients delay that
//! acknowledgement (about 40 ms on Linux, up to 200 ms elsewhere). The client here switches
//! quick acknowledgements off before each request, so a split response always shows: its
//! first read holds the head alone and the body comes tens of milliseconds later. A response
//! written in one piece arrives in one read.

use crate::e2e_test;
use crate::helpers::{Registration, SEED_KEY, jpeg, spawn_app};
use crate::raw_http::{Arrival, RawConnection, multipart, registration_head};

/// Requests per endpoint on the same connection.
const ROUNDS: usize = 10;

e2e_test! {
    async fn responses_leave_with_their_head(target: Target) {
        let app = spawn_app(target).await;
        app.seed(12).await;
        let (_, page) = app.get_json("/api/v1/users?page=1&count=1").await;
        let user_id = page["users"][0]["id"].as_i64().expect("a seeded user");
        let photo = page["users"][0]["photo"].as_str().expect("a photo URL").to_owned();
        let photo_path = photo.trim_start_matches(&app.address).to_owned();
        let (_, positions) = app.get_json("/api/v1/positions").await;
        let positions_etag = app
            .get("/api/v1/positions")
            .await
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .expect("an ETag");
        assert_eq!(positions["success"], true);
        let photo_body = jpeg(200, 200);

        let mut connection = RawConnection::open(&app).await;
        let mut split = Vec::new();
        let mut expect = |what: &str, arrival: Arrival, status: u16| {
            assert_eq!(arrival.status, status, "{what}");
            if !arrival.whole_in_first_read {
                split.push(what.to_owned());
            }
        };
        for round in 0..ROUNDS {
            let n = round as u32;
            let cases: Vec<(String, Vec<u8>, u16)> = vec![
                ("GET /api/v1/token HTTP/1.1".into(), vec![], 200),
                ("POST /api/v1/token HTTP/1.1".into(), vec![], 200),
                ("GET /api/v1/positions HTTP/1.1".into(), vec![], 200),
                (format!("GET /api/v1/positions HTTP/1.1\r\nIf-None-Match: {positions_etag}"), vec![], 304),
                ("GET /api/v1/users?page=1&count=6 HTTP/1.1".into(), vec![], 200),
                ("GET /api/v1/users?offset=3&count=2 HTTP/1.1".into(), vec![], 200),
                ("GET /api/v1/users?page=0&count=x HTTP/1.1".into(), vec![], 422),
                ("GET /api/v1/users?page=99 HTTP/1.1".into(), vec![], 404),
                (format!("GET /api/v1/users/{user_id} HTTP/1.1"), vec![], 200),
                ("GET /api/v1/users/999999 HTTP/1.1".into(), vec![], 404),
                ("GET /api/v1/users/x HTTP/1.1".into(), vec![], 400),
                (format!("GET {photo_path} HTTP/1.1"), vec![], 200),
                ("GET /images/users/0123456789abcdef0123456789abcdef.jpeg HTTP/1.1".into(), vec![], 404),
                ("GET / HTTP/1.1".into(), vec![], 200),
                ("GET /app.js HTTP/1.1".into(), vec![], 200),
                ("GET /no/such/page HTTP/1.1".into(), vec![], 404),
                ("PUT /api/v1/token HTTP/1.1".into(), vec![], 405),
                ("OPTIONS /api/v1/users HTTP/1.1\r\nOrigin: https://example.com\r\nAccess-Control-Request-Method: POST".into(), vec![], 204),
                ("POST /api/v1/users HTTP/1.1".into(), vec![], 401),
                (format!("POST /api/v1/seed?count=1 HTTP/1.1\r\nSeed-Key: {SEED_KEY}"), vec![], 201),
            ];
            for (head, body, status) in cases {
                let arrival = connection.exchange(&head, &body).await;
                expect(head.lines().next().unwrap_or_default(), arrival, status);
            }

            let token = app.token().await;
            let mut invalid = Registration::valid(1000 + n);
            invalid.email = Some("not an email".into());
            let head = registration_head(&token);
            let arrival = connection.exchange(&head, &multipart(&invalid)).await;
            expect("POST /api/v1/users (invalid)", arrival, 422);

            let mut valid = Registration::valid(2000 + n);
            valid.photo = Some(("photo", photo_body.clone()));
            let arrival = connection.exchange(&head, &multipart(&valid)).await;
            expect("POST /api/v1/users (valid)", arrival, 201);
        }

        assert!(split.is_empty(), "responses whose body left after their head: {split:?}");
    }
}
