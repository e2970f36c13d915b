//! Every SQL statement the service runs on SQLite.
//!
//! Records are written by one thread that owns the writing connection: it takes every record
//! waiting for it, inserts them in one transaction and commits once (group commit), and answers
//! each request only after the commit, which with `journal_mode=WAL` and `synchronous=FULL` has
//! been synced to disk. Reads and the policy registry use a second connection.

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use super::migrations::{Dialect, CREATE_SCHEMA_MIGRATIONS, MIGRATIONS, SQLITE};
use super::{now_rfc3339, Kept, NewRecord, Page, Record, StoreError};

/// The most records one commit takes.
const GROUP_LIMIT: usize = 1024;

type Reply = oneshot::Sender<Result<Kept, StoreError>>;

/// An SQLite database file with its writer thread.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    sender: Mutex<Option<mpsc::Sender<(NewRecord, Reply)>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    side: Mutex<Connection>,
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    Ok(connection)
}

/// Applies the migrations the database does not have yet, each in its own transaction.
fn migrate(connection: &mut Connection, dialect: Dialect) -> Result<(), StoreError> {
    connection.execute(CREATE_SCHEMA_MIGRATIONS, [])?;
    for migration in MIGRATIONS {
        let transaction = connection.transaction()?;
        let applied: Option<i64> = transaction
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [migration.version],
                |row| row.get(0),
            )
            .optional()?;
        if applied.is_none() {
            transaction.execute_batch(&migration.sql_for(dialect))?;
            transaction.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                params![migration.version, migration.name, now_rfc3339()],
            )?;
        }
        transaction.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (or creates) the database file, applies the migrations and starts the writer.
    pub fn open(path: &str) -> Result<SqliteStore, StoreError> {
        let path = Path::new(path);
        let mut writer = connect(path)?;
        migrate(&mut writer, SQLITE)?;
        let side = connect(path)?;
        let (sender, receiver) = mpsc::channel::<(NewRecord, Reply)>();
        let handle = std::thread::Builder::new()
            .name("ereje-sqlite-writer".to_string())
            .spawn(move || write_loop(writer, receiver))
            .map_err(|error| StoreError::Task(error.to_string()))?;
        Ok(SqliteStore {
            shared: Arc::new(Shared {
                sender: Mutex::new(Some(sender)),
                writer: Mutex::new(Some(handle)),
                side: Mutex::new(side),
            }),
        })
    }

    /// Sends a record to the writer and waits for its commit.
    pub async fn keep(&self, record: NewRecord) -> Result<Kept, StoreError> {
        let (reply, answer) = oneshot::channel();
        {
            let sender = self
                .shared
                .sender
                .lock()
                .map_err(|_| StoreError::WriterStopped)?;
            let sender = sender.as_ref().ok_or(StoreError::WriterStopped)?;
            sender
                .send((record, reply))
                .map_err(|_| StoreError::WriterStopped)?;
        }
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// Runs `work` on the side connection on a blocking thread.
    pub async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Side<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            let connection = shared
                .side
                .lock()
                .map_err(|_| StoreError::Task("the side connection is poisoned".to_string()))?;
            work(&Side {
                connection: &connection,
            })
        })
        .await
        .map_err(|error| StoreError::Task(error.to_string()))?
    }

    /// Stops the writer once it has committed what it was sent, and waits for it.
    pub fn close(&self) {
        if let Ok(mut sender) = self.shared.sender.lock() {
            sender.take();
        }
        let handle = self
            .shared
            .writer
            .lock()
            .ok()
            .and_then(|mut handle| handle.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

fn write_loop(mut connection: Connection, receiver: mpsc::Receiver<(NewRecord, Reply)>) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < GROUP_LIMIT {
            match receiver.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let (records, replies): (Vec<NewRecord>, Vec<Reply>) = group.into_iter().unzip();
        match insert_group(&mut connection, records) {
            Ok(kept) => {
                for (reply, kept) in replies.into_iter().zip(kept) {
                    let _ = reply.send(Ok(kept));
                }
            }
            Err(error) => {
                let message = error.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Task(message.clone())));
                }
            }
        }
    }
}

const RECORD_COLUMNS: &str = "id, created_at, case_id, case_json, as_of, policy_name, \
     policy_version, policy_digest, decision_json, requested_by, idempotency_key";

/// Inserts a group of records in one transaction; a record whose idempotency key is taken
/// gives the record that took it.
fn insert_group(
    connection: &mut Connection,
    records: Vec<NewRecord>,
) -> Result<Vec<Kept>, StoreError> {
    let transaction = connection.transaction()?;
    let mut kept = Vec::with_capacity(records.len());
    {
        let mut insert = transaction.prepare_cached(
            "INSERT INTO decisions (created_at, case_id, case_json, as_of, policy_name, \
             policy_version, policy_digest, decision_json, requested_by, idempotency_key) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT (requested_by, idempotency_key) DO NOTHING RETURNING id",
        )?;
        let mut existing = transaction.prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM decisions WHERE requested_by = ?1 AND idempotency_key = ?2"
        ))?;
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
            match id {
                Some(id) => kept.push(Kept {
                    record: Record {
                        id: id.to_string(),
                        created_at,
                        fields: record,
                    },
                    created: true,
                }),
                None => {
                    let first = existing.query_row(
                        params![record.requested_by, record.idempotency_key],
                        record_of_row,
                    )?;
                    kept.push(Kept {
                        record: first,
                        created: false,
                    });
                }
            }
        }
    }
    transaction.commit()?;
    Ok(kept)
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

/// The side connection: reads and the policy registry.
pub struct Side<'a> {
    connection: &'a Connection,
}

impl Side<'_> {
    /// The record with this id (`None` for an id that is not a number or not there).
    pub fn record(&self, id: &str) -> Result<Option<Record>, StoreError> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let mut statement = self.connection.prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM decisions WHERE id = ?1"
        ))?;
        Ok(statement.query_row([id], record_of_row).optional()?)
    }

    /// A page of the records of a case, newest first.
    pub fn records_of_case(
        &self,
        case_id: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Page, StoreError> {
        let mut statement = self.connection.prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM decisions WHERE case_id = ?1 AND id < ?2 \
             ORDER BY id DESC LIMIT ?3"
        ))?;
        let records = statement
            .query_map(
                params![case_id, before.unwrap_or(i64::MAX), i64::from(limit) + 1],
                record_of_row,
            )?
            .collect::<Result<Vec<Record>, rusqlite::Error>>()?;
        Ok(super::page(records, limit))
    }

    /// Adds a policy to the registry unless its digest is there.
    pub fn register_policy(
        &self,
        digest: &str,
        name: &str,
        version: &str,
        ir_json: &str,
    ) -> Result<(), StoreError> {
        self.connection.execute(
            "INSERT INTO policies (digest, name, version, ir_json, registered_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (digest) DO NOTHING",
            params![digest, name, version, ir_json, now_rfc3339()],
        )?;
        Ok(())
    }

    /// The IR JSON of a registered policy.
    pub fn policy_ir(&self, digest: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT ir_json FROM policies WHERE digest = ?1",
                [digest],
                |row| row.get(0),
            )
            .optional()?)
    }
}
