//! Uploads built to crash, stall or bloat the app (docs/hostile-input.md): each is
//! refused in the contract's shape, nothing is written, and registrations sent beside them
//! — into the same reused instances — are served as if they were alone.

use serde_json::{Value, json};

use crate::e2e_test;
use crate::helpers::{Registration, TestApp, spawn_app};

/// The contract's answer to a photo that is not a usable JPEG.
fn invalid_photo() -> Value {
    json!({"success": false, "message": "Validation failed", "fails": {"photo": ["Image is invalid."]}})
}

/// Registers `n` with `photo`, expecting it refused as an invalid image, and checks the
/// token is still good for an honest registration afterwards.
async fn refused_and_token_kept(app: &TestApp, n: u32, photo: Vec<u8>) {
    let token = app.token().await;
    let mut registration = Registration::valid(n);
    registration.photo = Some(("photo", photo));
    let refused = app.register_with(Some(&token), &registration).await;
    assert_eq!(refused, (422, invalid_photo()));
    let (status, body) = app
        .register_with(Some(&token), &Registration::valid(n))
        .await;
    assert_eq!(status, 201, "the token is still usable: {body}");
}

e2e_test! {
    /// One per class an attacker tried: table slots out of range (crashed the instance),
    /// a second frame header (bypassed the size limit: 201 after 13 s and 1.2 GiB),
    /// 400 refinement scans (201 after 38 s of CPU), a frame with no data, DC refinements
    /// past the budget, a progressive panorama too large for either decoder.
    async fn every_hostile_photo_is_an_invalid_image_and_leaves_nothing(target: Target) {
        let app = spawn_app(target).await;
        let samples = photo::samples::hostile::all();
        let mut n = 0;
        for (name, bytes) in samples {
            n += 1;
            if name.contains("1000x50000") {
                // Legal, and cheap for the 1/8 decoder: a photo like any other.
                let mut registration = Registration::valid(n);
                registration.photo = Some(("photo", bytes));
                let (status, body) = app.register(&registration).await;
                assert_eq!(status, 201, "{name}: {body}");
                continue;
            }
            refused_and_token_kept(&app, n, bytes).await;
        }
        // Only the honest registrations and the panorama were stored.
        assert_eq!(app.total_users().await, i64::from(n));
        assert_eq!(app.photos_stored().await, i64::from(n));
    }
}

e2e_test! {
    /// The attack that crashed the instance cut off the other registrations it was
    /// serving. Now each hostile upload is refused on its own while honest ones, sent at
    /// the same moment (a reused instance serves up to 16 at once), all register.
    async fn honest_registrations_beside_hostile_ones_all_register(target: Target) {
        let app = spawn_app(target).await;
        let hostile: Vec<Vec<u8>> = photo::samples::hostile::all()
            .into_iter()
            .filter(|(name, _)| !name.contains("1000x50000"))
            .map(|(_, bytes)| bytes)
            .collect();
        let mut requests = Vec::new();
        for (i, bytes) in hostile.iter().cycle().take(12).enumerate() {
            let i = u32::try_from(i).unwrap();
            let mut attack = Registration::valid(100 + i);
            attack.photo = Some(("photo", bytes.clone()));
            requests.push((false, attack));
            requests.push((true, Registration::valid(200 + i)));
        }
        let tokens = futures::future::join_all(requests.iter().map(|_| app.token())).await;

        let answers = futures::future::join_all(
            requests.iter().zip(&tokens).map(|((_, registration), token)| app.register_with(Some(token), registration)),
        )
        .await;

        for ((honest, _), (status, body)) in requests.iter().zip(&answers) {
            if *honest {
                assert_eq!(*status, 201, "{body}");
            } else {
                assert_eq!((*status, body.clone()), (422, invalid_photo()));
            }
        }
        assert_eq!(app.total_users().await, 12);
    }
}

e2e_test! {
    /// A part whose headers never end made the multipart reader rescan them on every
    /// chunk: ~0.5 s of CPU for 11 MiB.
    async fn endless_part_headers_are_a_bad_request(target: Target) {
        let app = spawn_app(target).await;
        let token = app.token().await;
        let boundary = "hostileboundary";
        let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; x=\"").into_bytes();
        body.resize(11 * 1024 * 1024, b'a');

        let response = app
            .client
            .post(app.url("/api/v1/users"))
            .header("Token", &token)
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await;

        // The answer may come before the whole upload has been sent, and the server may
        // then close the connection under the client: either way nothing is registered.
        if let Ok(response) = response {
            let answer = crate::helpers::json(response).await;
            assert_eq!(answer, (400, json!({"success": false, "message": "The request body is not valid multipart/form-data."})));
        }
        assert_eq!(app.total_users().await, 0);
        let (status, body) = app.register_with(Some(&token), &Registration::valid(1)).await;
        assert_eq!(status, 201, "the token is still usable: {body}");
    }
}
