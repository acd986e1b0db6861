//! CONTRACT.md, "POST /api/v1/users": fields, uniqueness, success, and nothing half-written.

use serde_json::json;

use crate::e2e_test;
use crate::helpers::{Registration, jpeg, png, spawn_app};

e2e_test! {
    async fn a_valid_registration_creates_the_user_with_a_70x70_photo(target: Target) {
        let app = spawn_app(target).await;
        let mut registration = Registration::valid(1);
        registration.phone = Some("380501112233".into());

        let (status, body) = app.register(&registration).await;

        assert_eq!(status, 201, "{body}");
        assert_eq!(body["success"], true);
        assert_eq!(body["message"], "New user successfully registered");
        let id = body["user_id"].as_i64().expect("integer user_id");
        let (_, list) = app.get_json("/api/v1/users").await;
        assert_eq!(list["users"][0]["id"], id);
        assert_eq!(list["users"][0]["phone"], "+380501112233");
        let photo = image::load_from_memory(&app.photo_of(id).await).expect("a decodable photo");
        assert_eq!((photo.width(), photo.height()), (70, 70));
    }
}

e2e_test! {
    async fn file_is_accepted_as_the_photo_field(target: Target) {
        let app = spawn_app(target).await;
        let mut registration = Registration::valid(1);
        registration.photo = Some(("file", jpeg(100, 100)));

        let (status, body) = app.register(&registration).await;

        assert_eq!(status, 201, "{body}");
    }
}

e2e_test! {
    async fn each_invalid_field_gets_the_contracts_message(target: Target) {
        let app = spawn_app(target).await;
        let token = app.token().await;
        let long_email = format!("{}@{}.com", "a".repeat(60), "b".repeat(36));
        let mut too_large = jpeg(100, 100);
        too_large.resize(5 * 1024 * 1024 + 1, 0);
        let mut bomb = jpeg(100, 100);
        let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline JPEG");
        bomb[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]); // 60000 x 60000
        let mut corrupt = jpeg(300, 300);
        corrupt.truncate(corrupt.len() / 3);

        type Change = Box<dyn Fn(&mut Registration)>;
        let cases: Vec<(&str, Change, &str)> = vec![
            ("name", Box::new(|r| r.name = None), "The name field is required."),
            ("name", Box::new(|r| r.name = Some("A".into())), "The name must be at least 2 characters."),
            ("name", Box::new(|r| r.name = Some("x".repeat(61))), "The name may not be greater than 60 characters."),
            ("email", Box::new(|r| r.email = None), "The email field is required."),
            ("email", Box::new(|r| r.email = Some("not-an-email".into())), "The email must be a valid email address."),
            ("email", Box::new(move |r| r.email = Some(long_email.clone())), "The email may not be greater than 100 characters."),
            ("phone", Box::new(|r| r.phone = None), "The phone field is required."),
            ("phone", Box::new(|r| r.phone = Some("+38050123456".into())), "The phone format is invalid."),
            ("phone", Box::new(|r| r.phone = Some("+1 555 0100".into())), "The phone format is invalid."),
            ("position_id", Box::new(|r| r.position_id = None), "The position id field is required."),
            ("position_id", Box::new(|r| r.position_id = Some("two".into())), "The position id must be an integer."),
            ("position_id", Box::new(|r| r.position_id = Some("99".into())), "The selected position id is invalid."),
            ("photo", Box::new(|r| r.photo = None), "The photo field is required."),
            ("photo", Box::new(move |r| r.photo = Some(("photo", too_large.clone()))), "The photo may not be greater than 5 Mbytes."),
            ("photo", Box::new(|r| r.photo = Some(("photo", png(100, 100)))), "The photo must be a jpg/jpeg image."),
            ("photo", Box::new(move |r| r.photo = Some(("photo", corrupt.clone()))), "Image is invalid."),
            ("photo", Box::new(move |r| r.photo = Some(("photo", bomb.clone()))), "Image is invalid."),
            ("photo", Box::new(|r| r.photo = Some(("photo", jpeg(69, 69)))), "The photo must be at least 70x70 pixels."),
        ];
        for (field, change, message) in cases {
            let mut registration = Registration::valid(1);
            change(&mut registration);

            let (status, body) = app.register_with(Some(&token), &registration).await;

            assert_eq!(status, 422, "{field}: {message}: {body}");
            assert_eq!(body["message"], "Validation failed");
            assert_eq!(body["fails"], json!({ field: [message] }), "{field}: {message}");
        }
        assert_eq!(app.total_users().await, 0);
        assert_eq!(app.photos_stored().await, 0, "no photo is kept for a rejected registration");
    }
}

e2e_test! {
    async fn every_failing_field_is_reported_together(target: Target) {
        let app = spawn_app(target).await;
        let registration = Registration {
            name: Some("A".into()),
            email: Some("bad".into()),
            phone: Some("123".into()),
            position_id: Some("99".into()),
            photo: None,
        };

        let (status, body) = app.register(&registration).await;

        assert_eq!(status, 422);
        let fails = body["fails"].as_object().unwrap();
        let mut fields: Vec<&str> = fails.keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["email", "name", "phone", "photo", "position_id"]);
    }
}

e2e_test! {
    async fn a_body_far_over_the_limit_is_refused_as_too_large(target: Target) {
        let app = spawn_app(target).await;
        let mut registration = Registration::valid(1);
        let mut huge = jpeg(100, 100);
        huge.resize(20 * 1024 * 1024, 0);
        registration.photo = Some(("photo", huge));

        let (status, body) = app.register(&registration).await;

        assert_eq!(status, 422);
        assert_eq!(body["fails"]["photo"], json!(["The photo may not be greater than 5 Mbytes."]));
    }
}

e2e_test! {
    async fn a_taken_email_in_any_case_or_a_taken_phone_is_409(target: Target) {
        let app = spawn_app(target).await;
        app.register(&Registration::valid(1)).await;
        let mut same_email = Registration::valid(2);
        same_email.email = Some("USER1@Example.COM".into());
        let mut same_phone = Registration::valid(3);
        same_phone.phone = Some("380500000001".into());

        let email = app.register(&same_email).await;
        let phone = app.register(&same_phone).await;

        let conflict = json!({"success": false, "message": "User with this phone or email already exist"});
        assert_eq!(email, (409, conflict.clone()));
        assert_eq!(phone, (409, conflict));
        assert_eq!(app.total_users().await, 1);
        assert_eq!(app.photos_stored().await, 1);
    }
}

e2e_test! {
    async fn a_body_that_is_not_multipart_reports_every_field_missing(target: Target) {
        let app = spawn_app(target).await;
        let token = app.token().await;

        let response = app
            .client
            .post(app.url("/api/v1/users"))
            .header("Token", token)
            .json(&json!({"name": "Ann"}))
            .send()
            .await
            .unwrap();
        let (status, body) = crate::helpers::json(response).await;

        assert_eq!(status, 422);
        assert_eq!(body["fails"].as_object().unwrap().len(), 5);
    }
}
