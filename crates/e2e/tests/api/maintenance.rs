//! `/api/v1/maintenance/photos` and `usersbypage-seed check` / `repair`: photos no user has
//! are found and removed; photos users have are never touched.

use serde_json::json;

use crate::e2e_test;
use crate::helpers::{
    AppOptions, Registration, SEED_KEY, TestApp, json, spawn_app, spawn_app_with,
};

const ORPHANS: [&str; 2] = [
    "0123456789abcdef0123456789abcdef.jpeg",
    "fedcba9876543210fedcba9876543210.jpeg",
];

/// The file names of every user's photo, through the API.
async fn users_photos(app: &TestApp) -> Vec<String> {
    let (_, page) = app.get_json("/api/v1/users?count=100").await;
    page["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| {
            let url = u["photo"].as_str().expect("a photo URL");
            url.rsplit('/').next().expect("a file name").to_owned()
        })
        .collect()
}

e2e_test! {
    async fn orphan_photos_are_listed_and_removed_and_users_photos_kept(target: Target) {
        // In key-value, where orphans can be (the hosted platforms' manifests default to the
        // database: here their photos share the `default` store with the others).
        let app = spawn_app_with(target, AppOptions { photo_store: Some("key-value"), ..AppOptions::default() }).await;
        app.seed(3).await;
        for n in 0..2 {
            assert_eq!(app.register(&Registration::valid(n)).await.0, 201);
        }
        for orphan in ORPHANS {
            app.plant_orphan_photo(orphan);
        }
        let in_use = users_photos(&app).await;
        let address = app.address.clone();

        // The CLI's check: exactly the planted photos, of 2 registered + 1 shared seed photo + 2.
        let audit = {
            let address = address.clone();
            tokio::task::spawn_blocking(move || seed_cli::photo_audit(&address, SEED_KEY))
                .await
                .expect("task")
                .expect("check")
        };
        assert_eq!(audit.photos, 5);
        assert_eq!(audit.orphans, ORPHANS.map(str::to_owned).to_vec());

        // Removal re-checks every name: a user's photo and a foreign name are kept.
        let mut named: Vec<String> = ORPHANS.map(str::to_owned).to_vec();
        named.push(in_use[0].clone());
        named.push("../../etc/passwd".to_owned());
        let removal = tokio::task::spawn_blocking(move || {
            seed_cli::remove_orphans(&address, SEED_KEY, &named)
        })
        .await
        .expect("task")
        .expect("repair");
        assert_eq!(removal.removed, ORPHANS.map(str::to_owned).to_vec());
        assert_eq!(removal.kept, vec![in_use[0].clone(), "../../etc/passwd".to_owned()]);

        let (status, after) = json(
            app.client
                .get(app.url("/api/v1/maintenance/photos"))
                .header("Seed-Key", SEED_KEY)
                .send()
                .await
                .expect("audit"),
        )
        .await;
        assert_eq!((status, after["photos"].clone(), after["orphans"].clone()), (200, json!(3), json!([])));
        for photo in users_photos(&app).await {
            let response = app.get(&format!("/images/users/{photo}")).await;
            assert_eq!(response.status(), 200, "{photo}");
        }
    }
}

e2e_test! {
    async fn maintenance_needs_the_seed_key_and_a_well_formed_removal(target: Target) {
        let app = spawn_app(target).await;
        let url = app.url("/api/v1/maintenance/photos");
        let without_key = app.client.get(&url).send().await.expect("request");
        assert_eq!(json(without_key).await, (403, json!({"success": false, "message": "Forbidden"})));
        let wrong_method = app
            .client
            .delete(&url)
            .header("Seed-Key", SEED_KEY)
            .send()
            .await
            .expect("request");
        assert_eq!(wrong_method.headers()["allow"], "GET, POST, HEAD, OPTIONS");
        assert_eq!(json(wrong_method).await.0, 405);

        let too_many: Vec<String> = (0..1001).map(|n| format!("{n:032x}.jpeg")).collect();
        for body in [
            "not json".to_owned(),
            json!({"remove": "one.jpeg"}).to_string(),
            json!({"remove": [], "also": 1}).to_string(),
            json!({ "remove": too_many }).to_string(),
        ] {
            let response = app
                .client
                .post(&url)
                .header("Seed-Key", SEED_KEY)
                .header("Content-Type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("request");
            let (status, answer) = json(response).await;
            assert_eq!((status, answer["success"].clone()), (400, json!(false)), "{body}: {answer}");
        }
    }
}
