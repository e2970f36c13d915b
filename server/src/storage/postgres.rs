//! PostgreSQL: the same migrations and statements as SQLite, over the `postgres` crate's
//! synchronous client (the writer is a thread of its own, like SQLite's).
//!
//! A commit returns once PostgreSQL has flushed its write-ahead log (`synchronous_commit` on,
//! the server's default), so a record answered `201` survives a crash of either side.

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use super::migrations::{Dialect, CREATE_SCHEMA_MIGRATIONS, MIGRATIONS};
use super::{now_rfc3339, Database, Kept, NewRecord, Page, Record, Sql, SqlValue, StoreError};

/// PostgreSQL's words in the migrations.
pub const DIALECT: Dialect = Dialect {
    id_column: "BIGSERIAL PRIMARY KEY",
};

/// One connection to a PostgreSQL database.
pub struct PostgresDatabase {
    client: Client,
    /// The record insert and the look-up by idempotency key, prepared once for the connection
    /// (preparing them for every group cost two round trips a commit).
    record_statements: Option<(Statement, Statement)>,
}

impl PostgresDatabase {
    /// Connects and applies the migrations the database lacks.
    pub fn open(url: &str) -> Result<PostgresDatabase, StoreError> {
        let mut database = PostgresDatabase::connect(url)?;
        database.migrate()?;
        Ok(database)
    }

    /// Connects (without TLS: the service and the database share a host or a private network).
    pub fn connect(url: &str) -> Result<PostgresDatabase, StoreError> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute("SET synchronous_commit = on")?;
        Ok(PostgresDatabase {
            client,
            record_statements: None,
        })
    }

    /// Applies the migrations the database does not have yet, each in its own transaction
    /// (a lock on `schema_migrations` keeps two starting services from applying one twice).
    fn migrate(&mut self) -> Result<(), StoreError> {
        self.client.batch_execute(CREATE_SCHEMA_MIGRATIONS)?;
        for migration in MIGRATIONS {
            let mut transaction = self.client.transaction()?;
            transaction.batch_execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")?;
            let applied = transaction.query_opt(super::SELECT_MIGRATION, &[&migration.version])?;
            if applied.is_none() {
                transaction.batch_execute(&migration.sql_for(DIALECT))?;
                transaction.execute(
                    super::INSERT_MIGRATION,
                    &[&migration.version, &migration.name, &now_rfc3339()],
                )?;
            }
            transaction.commit()?;
        }
        Ok(())
    }
}

fn record_of_row(row: &Row) -> Result<Record, StoreError> {
    let id: i64 = row.try_get(0)?;
    Ok(Record {
        id: id.to_string(),
        created_at: row.try_get(1)?,
        fields: NewRecord {
            case_id: row.try_get(2)?,
            case_json: row.try_get(3)?,
            as_of: row.try_get(4)?,
            policy_name: row.try_get(5)?,
            policy_version: row.try_get(6)?,
            policy_digest: row.try_get(7)?,
            decision_json: row.try_get(8)?,
            requested_by: row.try_get(9)?,
            idempotency_key: row.try_get(10)?,
        },
    })
}

impl Database for PostgresDatabase {
    fn insert_group(&mut self, records: Vec<NewRecord>) -> Result<Vec<Kept>, StoreError> {
        let (insert, existing) = match &self.record_statements {
            Some(statements) => statements.clone(),
            None => {
                let insert = self.client.prepare(super::INSERT_RECORD)?;
                let existing = self.client.prepare(&super::select_record_by_key())?;
                self.record_statements = Some((insert.clone(), existing.clone()));
                (insert, existing)
            }
        };
        let mut transaction = self.client.transaction()?;
        let mut kept = Vec::with_capacity(records.len());
        for record in records {
            let created_at = now_rfc3339();
            let values: [&(dyn ToSql + Sync); 10] = [
                &created_at,
                &record.case_id,
                &record.case_json,
                &record.as_of,
                &record.policy_name,
                &record.policy_version,
                &record.policy_digest,
                &record.decision_json,
                &record.requested_by,
                &record.idempotency_key,
            ];
            let id: Option<i64> = transaction
                .query_opt(&insert, &values)?
                .map(|row| row.try_get(0))
                .transpose()?;
            kept.push(match id {
                Some(id) => Kept::new(id, created_at, record),
                None => {
                    let row = transaction
                        .query_one(&existing, &[&record.requested_by, &record.idempotency_key])?;
                    Kept {
                        record: record_of_row(&row)?,
                        created: false,
                    }
                }
            });
        }
        transaction.commit()?;
        Ok(kept)
    }

    fn record(&mut self, id: &str) -> Result<Option<Record>, StoreError> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        self.client
            .query_opt(&super::select_record_by_id(), &[&id])?
            .map(|row| record_of_row(&row))
            .transpose()
    }

    fn records_of_case(
        &mut self,
        case_id: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Page, StoreError> {
        let rows = self.client.query(
            &super::select_records_of_case(),
            &[
                &case_id,
                &before.unwrap_or(i64::MAX),
                &(i64::from(limit) + 1),
            ],
        )?;
        let records = rows
            .iter()
            .map(record_of_row)
            .collect::<Result<Vec<Record>, StoreError>>()?;
        Ok(super::page(records, limit))
    }

    fn register_policy(
        &mut self,
        digest: &str,
        name: &str,
        version: &str,
        ir_json: &str,
    ) -> Result<(), StoreError> {
        self.client.execute(
            super::INSERT_POLICY,
            &[&digest, &name, &version, &ir_json, &now_rfc3339()],
        )?;
        Ok(())
    }

    fn policy_ir(&mut self, digest: &str) -> Result<Option<String>, StoreError> {
        self.client
            .query_opt(super::SELECT_POLICY_IR, &[&digest])?
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(StoreError::from)
    }

    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Sql) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let transaction = self.client.transaction()?;
        let mut statements = PostgresStatements(transaction);
        work(&mut statements)?;
        statements.0.commit()?;
        Ok(())
    }
}

/// The statements of a PostgreSQL transaction.
struct PostgresStatements<'a>(postgres::Transaction<'a>);

impl ToSql for SqlValue {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            SqlValue::Null => Ok(postgres::types::IsNull::Yes),
            SqlValue::Integer(value) => value.to_sql(ty, out),
            SqlValue::Text(value) => value.to_sql(ty, out),
        }
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        <i64 as ToSql>::accepts(ty) || <String as ToSql>::accepts(ty)
    }

    postgres::types::to_sql_checked!();
}

impl Sql for PostgresStatements<'_> {
    fn execute(&mut self, sql: &str, values: &[SqlValue]) -> Result<u64, StoreError> {
        let values: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|value| value as &(dyn ToSql + Sync))
            .collect();
        Ok(self.0.execute(sql, &values)?)
    }

    fn query(&mut self, sql: &str, values: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let values: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|value| value as &(dyn ToSql + Sync))
            .collect();
        let rows = self.0.query(sql, &values)?;
        let mut found = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = Vec::with_capacity(row.len());
            for (index, column) in row.columns().iter().enumerate() {
                let value = if *column.type_() == postgres::types::Type::INT8 {
                    row.try_get::<_, Option<i64>>(index)?
                        .map_or(SqlValue::Null, SqlValue::Integer)
                } else {
                    row.try_get::<_, Option<String>>(index)?
                        .map_or(SqlValue::Null, SqlValue::Text)
                };
                values.push(value);
            }
            found.push(values);
        }
        Ok(found)
    }
}
