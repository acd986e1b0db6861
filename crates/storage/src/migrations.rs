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
];

/// The version a fully migrated database records.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

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
