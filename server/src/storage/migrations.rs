//! The schema, as a numbered list of migrations shared by every database.
//!
//! Each migration is one SQL file in `server/migrations/`, written in the SQL that SQLite and
//! PostgreSQL share; the few words that differ are placeholders (`{{ID_COLUMN}}`) that each
//! database's module fills in ([`Dialect`]). A migration is never edited once released: a change
//! is a new file at the end of [`MIGRATIONS`].

/// One step of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Its number, from 1, in order.
    pub version: i64,
    /// Its file name, for people.
    pub name: &'static str,
    /// Its SQL, with placeholders.
    pub sql: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_policies_and_decisions.sql",
        sql: include_str!("../../migrations/0001_policies_and_decisions.sql"),
    },
    Migration {
        version: 2,
        name: "0002_commission.sql",
        sql: include_str!("../../migrations/0002_commission.sql"),
    },
    Migration {
        version: 3,
        name: "0003_app_sessions.sql",
        sql: include_str!("../../migrations/0003_app_sessions.sql"),
    },
];

/// The words in which databases differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// An increasing 64-bit primary key the database assigns.
    pub id_column: &'static str,
}

impl Migration {
    /// The migration's SQL in `dialect`.
    pub fn sql_for(&self, dialect: Dialect) -> String {
        self.sql.replace("{{ID_COLUMN}}", dialect.id_column)
    }
}

/// The table that records which migrations a database has.
pub const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
