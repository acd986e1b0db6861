//! The schema migrations in `migrations/`, embedded at build time.

/// One migration, in both dialects.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The number in its file name.
    pub version: i64,
    /// The rest of its file name.
    pub name: &'static str,
    /// The SQLite script.
    pub sqlite: &'static str,
    /// The PostgreSQL script.
    pub postgres: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../../../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../../../migrations/postgres/", $name, ".sql")),
        }
    };
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_positions_and_users"),
    migration!(2, "0002_users_total"),
    migration!(3, "0003_list_positions"),
    migration!(4, "0004_users_photo_index"),
    migration!(5, "0005_photos_in_the_database"),
];

/// The version a fully migrated database records.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The PostgreSQL advisory lock held while migrating (any constant), so that concurrent
/// first requests migrate once.
pub const POSTGRES_MIGRATION_LOCK: i64 = 7_277_241_001;

/// Every migration as one PostgreSQL statement: a `DO` block that takes the migration lock,
/// creates `schema_migrations` if need be and applies each migration it does not record,
/// recording it. One statement is one transaction that ends with the statement, so a
/// request that dies half-way leaves no transaction open on a connection Spin's pool would
/// hand to another request (its recycling does not roll back), and nothing half-migrated.
pub fn postgres_migrate_all() -> String {
    let mut block = format!(
        "DO {MIGRATE_TAG}\nBEGIN\n\
         PERFORM pg_advisory_xact_lock({POSTGRES_MIGRATION_LOCK});\n\
         CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);\n"
    );
    for migration in MIGRATIONS {
        block.push_str(&format!(
            "IF NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = {}) THEN\n",
            migration.version
        ));
        for statement in statements(migration.postgres) {
            block.push_str(&format!(
                "EXECUTE {STATEMENT_TAG}{statement}{STATEMENT_TAG};\n"
            ));
        }
        block.push_str(&format!(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ({}, '{}', EXTRACT(EPOCH FROM now())::BIGINT);\nEND IF;\n",
            migration.version, migration.name
        ));
    }
    block.push_str(&format!("END\n{MIGRATE_TAG}"));
    block
}

/// Dollar-quote tags of [`postgres_migrate_all`]; no migration may contain them.
const MIGRATE_TAG: &str = "$usersbypage_migrate$";
const STATEMENT_TAG: &str = "$usersbypage_statement$";

/// Splits a script into statements: each ends with `;` at the end of a line. Comment-only
/// and blank lines between statements are dropped.
pub fn statements(script: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with("--")) {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            statements.push(current.trim().trim_end_matches(';').to_owned());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_owned());
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        }
    }

    #[test]
    fn scripts_split_into_statements_without_comments() {
        let script = "-- a comment\nCREATE TABLE a (x);\n\n-- another\nINSERT INTO a VALUES\n  (1),\n  (2);\n";
        assert_eq!(
            statements(script),
            vec!["CREATE TABLE a (x)", "INSERT INTO a VALUES\n  (1),\n  (2)"]
        );
    }

    #[test]
    fn postgres_migrates_in_one_block_that_checks_each_version() {
        let block = postgres_migrate_all();
        assert!(block.starts_with("DO $usersbypage_migrate$"));
        assert!(block.ends_with("$usersbypage_migrate$"));
        for m in MIGRATIONS {
            assert!(
                !m.postgres.contains(MIGRATE_TAG) && !m.postgres.contains(STATEMENT_TAG),
                "{}: uses a dollar-quote tag of the migration block",
                m.name
            );
            assert!(block.contains(&format!("WHERE version = {}) THEN", m.version)));
            for statement in statements(m.postgres) {
                assert!(block.contains(&statement), "{}", m.name);
            }
            // The migration's name is quoted as a literal: it must not end the literal.
            assert!(!m.name.contains('\''), "{}", m.name);
        }
    }

    #[test]
    fn every_migration_has_statements_in_both_dialects() {
        for m in MIGRATIONS {
            assert!(
                !statements(m.sqlite).is_empty(),
                "{}: SQLite script is empty",
                m.name
            );
            assert!(
                !statements(m.postgres).is_empty(),
                "{}: PostgreSQL script is empty",
                m.name
            );
        }
    }
}
