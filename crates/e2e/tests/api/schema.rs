//! The schema is brought up to date by whichever request comes first, including a read,
//! which checks the schema's version in its own statement (`storage::database`, `ReadSql`).

use crate::e2e_test;
use crate::helpers::spawn_app;

/// The newest migration recorded in the database.
async fn schema_version(app: &crate::helpers::TestApp) -> i64 {
    app.sql_integers("SELECT MAX(version) FROM schema_migrations")
        .await[0][0]
}

e2e_test! {
    /// A schema one migration behind answers every read's statement here (the last
    /// migration adds only what `photo_store = database` uses), so only the version the
    /// read carries tells it is behind.
    async fn a_read_that_would_succeed_on_an_old_schema_still_migrates_it(target: Target) {
        let latest = storage::migrations::latest();
        let behind = storage::migrations::MIGRATIONS.len() - 1;
        for read in ["/api/v1/users?page=1&count=5", "/api/v1/users/1", "/api/v1/positions"] {
            let app = spawn_app(target).await;
            app.schema_through(behind).await;
            assert!(schema_version(&app).await < latest);

            let (status, body) = app.get_json(read).await;

            assert!(matches!(status, 200 | 404), "{read}: {status} {body}");
            assert_eq!(schema_version(&app).await, latest, "{read} left the schema behind");
        }
    }
}
