//! SQLite: the connection settings that make a commit durable, and the statements' bindings.
//!
//! `journal_mode=WAL` with `synchronous=FULL`: a commit returns once the write-ahead log is
//! synced, so a record answered `201` survives a crash or a power cut.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::migrations::{Dialect, CREATE_SCHEMA_MIGRATIONS, MIGRATIONS};
use super::{now_rfc3339, Database, Kept, NewRecord, Page, Record, Sql, SqlValue, StoreError};

/// SQLite's words in the migrations.
pub const DIALECT: Dialect = Dialect {
    id_column: "INTEGER PRIMARY KEY AUTOINCREMENT",
};

/// One connection to an SQLite file.
pub struct SqliteDatabase {
    connection: Connection,
}

impl SqliteDatabase {
    /// Opens (or creates) the file and applies the migrations it lacks.
    pub fn open(path: &str) -> Result<SqliteDatabase, StoreError> {
        let mut database = SqliteDatabase::connect(path)?;
        database.migrate()?;
        Ok(database)
    }

    /// Opens the file with the durable settings.
    pub fn connect(path: &str) -> Result<SqliteDatabase, StoreError> {
        let connection = Connection::open(Path::new(path))?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        Ok(SqliteDatabase { connection })
    }

    /// Applies the migrations the database does not have yet, each in its own transaction.
    fn migrate(&mut self) -> Result<(), StoreError> {
        self.connection.execute(CREATE_SCHEMA_MIGRATIONS, [])?;
        for migration in MIGRATIONS {
            let transaction = self.connection.transaction()?;
            let applied: Option<i64> = transaction
                .query_row(super::SELECT_MIGRATION, [migration.version], |row| {
                    row.get(0)
                })
                .optional()?;
            if applied.is_none() {
                transaction.execute_batch(&migration.sql_for(DIALECT))?;
                transaction.execute(
                    super::INSERT_MIGRATION,
                    params![migration.version, migration.name, now_rfc3339()],
                )?;
            }
            transaction.commit()?;
        }
        Ok(())
    }
}

fn record_of_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    let id: i64 = row.get(0)?;
    Ok(Record {
        id: id.to_string(),
        created_at: row.get(1)?,
        fields: NewRecord {
            case_id: row.get(2)?,
            case_json: row.get(3)?,
            as_of: row.get(4)?,
            policy_name: row.get(5)?,
            policy_version: row.get(6)?,
            policy_digest: row.get(7)?,
            decision_json: row.get(8)?,
            requested_by: row.get(9)?,
            idempotency_key: row.get(10)?,
        },
    })
}

impl Database for SqliteDatabase {
    fn insert_group(&mut self, records: Vec<NewRecord>) -> Result<Vec<Kept>, StoreError> {
        let transaction = self.connection.transaction()?;
        let mut kept = Vec::with_capacity(records.len());
        {
            let mut insert = transaction.prepare_cached(super::INSERT_RECORD)?;
            let mut existing = transaction.prepare_cached(&super::select_record_by_key())?;
            for record in records {
                let created_at = now_rfc3339();
                let id: Option<i64> = insert
                    .query_row(
                        params![
                            created_at,
                            record.case_id,
                            record.case_json,
                            record.as_of,
                            record.policy_name,
                            record.policy_version,
                            record.policy_digest,
                            record.decision_json,
                            record.requested_by,
                            record.idempotency_key,
                        ],
                        |row| row.get(0),
                    )
                    .optional()?;
                kept.push(match id {
                    Some(id) => Kept::new(id, created_at, record),
                    None => Kept {
                        record: existing.query_row(
                            params![record.requested_by, record.idempotency_key],
                            record_of_row,
                        )?,
                        created: false,
                    },
                });
            }
        }
        transaction.commit()?;
        Ok(kept)
    }

    fn record(&mut self, id: &str) -> Result<Option<Record>, StoreError> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let mut statement = self
            .connection
            .prepare_cached(&super::select_record_by_id())?;
        Ok(statement.query_row([id], record_of_row).optional()?)
    }

    fn records_of_case(
        &mut self,
        case_id: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Page, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(&super::select_records_of_case())?;
        let records = statement
            .query_map(
                params![case_id, before.unwrap_or(i64::MAX), i64::from(limit) + 1],
                record_of_row,
            )?
            .collect::<Result<Vec<Record>, rusqlite::Error>>()?;
        Ok(super::page(records, limit))
    }

    fn register_policy(
        &mut self,
        digest: &str,
        name: &str,
        version: &str,
        ir_json: &str,
    ) -> Result<(), StoreError> {
        self.connection.execute(
            super::INSERT_POLICY,
            params![digest, name, version, ir_json, now_rfc3339()],
        )?;
        Ok(())
    }

    fn policy_ir(&mut self, digest: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection
            .query_row(super::SELECT_POLICY_IR, [digest], |row| row.get(0))
            .optional()?)
    }

    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Sql) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let transaction = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut statements = SqliteStatements(&transaction);
        work(&mut statements)?;
        transaction.commit()?;
        Ok(())
    }
}

/// The statements of an SQLite transaction.
struct SqliteStatements<'a>(&'a rusqlite::Transaction<'a>);

impl rusqlite::ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            SqlValue::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            SqlValue::Integer(value) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            SqlValue::Text(value) => ToSqlOutput::Borrowed(ValueRef::Text(value.as_bytes())),
        })
    }
}

impl Sql for SqliteStatements<'_> {
    fn execute(&mut self, sql: &str, values: &[SqlValue]) -> Result<u64, StoreError> {
        let mut statement = self.0.prepare_cached(sql)?;
        let changed = statement.execute(rusqlite::params_from_iter(values.iter()))?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, values: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        use rusqlite::types::ValueRef;
        let mut statement = self.0.prepare_cached(sql)?;
        let width = statement.column_count();
        let mut rows = statement.query(rusqlite::params_from_iter(values.iter()))?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(width);
            for index in 0..width {
                values.push(match row.get_ref(index)? {
                    ValueRef::Null => SqlValue::Null,
                    ValueRef::Integer(value) => SqlValue::Integer(value),
                    ValueRef::Real(value) => SqlValue::Text(value.to_string()),
                    ValueRef::Text(text) | ValueRef::Blob(text) => {
                        SqlValue::Text(String::from_utf8_lossy(text).into_owned())
                    }
                });
            }
            found.push(values);
        }
        Ok(found)
    }
}
