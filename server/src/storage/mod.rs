//! Where decision records and the policy registry are kept.
//!
//! One [`Store`] per process, over one database: SQLite by default (embedded, nothing to
//! install), PostgreSQL for a `postgres://` target. Each database has one module holding all of
//! its SQL (`sqlite.rs`, `postgres.rs`) behind the [`Database`] trait; the schema is a numbered list of migrations ([`migrations`]), the same
//! steps for every database, applied at start in order and recorded in `schema_migrations`. A
//! later feature (the commission's surveys, signatures, users, audit log) adds a migration to the
//! list and its queries to each database's module; nothing already there changes.

pub mod migrations;
pub mod postgres;
pub mod sqlite;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// Why the store failed. Never a bad request: these answer `500` (or stop the start).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database writer thread has stopped (the service is stopping).
    #[error("the database writer has stopped")]
    WriterStopped,
    /// A task running a database call failed.
    #[error("a database task failed: {0}")]
    Task(String),
    /// PostgreSQL refused an operation.
    #[error("postgresql: {0}")]
    Postgres(#[from] ::postgres::Error),
}

/// A decision record to keep: what a `POST /v1/decisions` evaluated and who asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    /// The case's id, when the case has one.
    pub case_id: Option<String>,
    /// The case's JSON text exactly as received.
    pub case_json: String,
    /// The date the case was decided as of.
    pub as_of: String,
    /// The policy that decided it.
    pub policy_name: String,
    pub policy_version: String,
    /// `sha256:<hex>` of the compiled IR, a key of the policy registry.
    pub policy_digest: String,
    /// The decision line, exactly as `/v1/evaluate` answers it (without the newline).
    pub decision_json: String,
    /// The token's name, or `anonymous` on a loopback service without tokens.
    pub requested_by: String,
    /// The `Idempotency-Key` header, when the request had one.
    pub idempotency_key: Option<String>,
}

/// A kept decision record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's id (decimal digits), increasing with time.
    pub id: String,
    /// When the record was kept (RFC 3339, UTC, microseconds).
    pub created_at: String,
    /// What was kept.
    pub fields: NewRecord,
}

impl Record {
    /// The record's JSON: its fields, then the case exactly as received and the decision line,
    /// both embedded as JSON (both were read as JSON before they were kept).
    pub fn to_json(&self) -> String {
        let fields = &self.fields;
        let head = serde_json::json!({
            "id": self.id,
            "created_at": self.created_at,
            "case_id": fields.case_id,
            "as_of": fields.as_of,
            "policy": {
                "name": fields.policy_name,
                "version": fields.policy_version,
                "digest": fields.policy_digest,
            },
            "requested_by": fields.requested_by,
        })
        .to_string();
        let mut out = String::with_capacity(
            head.len() + fields.case_json.len() + fields.decision_json.len() + 32,
        );
        out.push_str(head.strip_suffix('}').unwrap_or(&head));
        out.push_str(",\"case\":");
        out.push_str(fields.case_json.trim());
        out.push_str(",\"decision\":");
        out.push_str(fields.decision_json.trim());
        out.push('}');
        out
    }
}

/// The answer to keeping a record: the record and whether this request created it (`false`:
/// an earlier request with the same `Idempotency-Key` did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub record: Record,
    pub created: bool,
}

impl Kept {
    /// A record this request created, with the id and time the database gave it.
    fn new(id: i64, created_at: String, fields: NewRecord) -> Kept {
        Kept {
            record: Record {
                id: id.to_string(),
                created_at,
                fields,
            },
            created: true,
        }
    }
}

/// One page of the records of a case, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub records: Vec<Record>,
    /// The `before` to ask for the next page with, when there may be one.
    pub next_before: Option<String>,
}

/// What each database does; its module holds the SQL. One value is one connection.
pub trait Database: Send + 'static {
    /// Inserts records in one transaction and commits it durably; a record whose idempotency
    /// key is taken gives the record that took it.
    fn insert_group(&mut self, records: Vec<NewRecord>) -> Result<Vec<Kept>, StoreError>;
    /// The record with this id (`None` for an id that is not a number or not there).
    fn record(&mut self, id: &str) -> Result<Option<Record>, StoreError>;
    /// A page of the records of a case, newest first.
    fn records_of_case(
        &mut self,
        case_id: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Page, StoreError>;
    /// Adds a policy to the registry unless its digest is there.
    fn register_policy(
        &mut self,
        digest: &str,
        name: &str,
        version: &str,
        ir_json: &str,
    ) -> Result<(), StoreError>;
    /// The IR JSON of a registered policy.
    fn policy_ir(&mut self, digest: &str) -> Result<Option<String>, StoreError>;
    /// Runs `work` in one transaction that takes the write lock at once, committing it when
    /// `work` succeeds and rolling it back otherwise. The commission's app writes through this.
    fn transaction(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Sql) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
}

/// A value bound to or read from a statement: the commission's tables hold only 64-bit integers
/// and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Text(String),
}

impl SqlValue {
    /// The integer, if the value is one.
    pub fn integer(&self) -> Option<i64> {
        match self {
            SqlValue::Integer(value) => Some(*value),
            _ => None,
        }
    }

    /// The text, if the value is text.
    pub fn text(&self) -> Option<&str> {
        match self {
            SqlValue::Text(value) => Some(value),
            _ => None,
        }
    }

    /// The value as it enters a row's digest: integers in decimal, null as `\N`.
    pub fn digest_text(&self) -> String {
        match self {
            SqlValue::Null => "\\N".to_string(),
            SqlValue::Integer(value) => value.to_string(),
            SqlValue::Text(value) => value.clone(),
        }
    }
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> SqlValue {
        SqlValue::Integer(value)
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> SqlValue {
        SqlValue::Text(value.to_string())
    }
}

impl From<String> for SqlValue {
    fn from(value: String) -> SqlValue {
        SqlValue::Text(value)
    }
}

impl From<Option<String>> for SqlValue {
    fn from(value: Option<String>) -> SqlValue {
        value.map_or(SqlValue::Null, SqlValue::Text)
    }
}

/// Statements inside a transaction, in the SQL both databases share (`$N` parameters).
pub trait Sql {
    /// Runs a statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, values: &[SqlValue]) -> Result<u64, StoreError>;
    /// Runs a query; its rows.
    fn query(&mut self, sql: &str, values: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, StoreError>;
}

/// Runs `work` in one transaction of `database` and gives back what it returned; the
/// transaction is rolled back when `work` fails.
pub fn in_transaction<T, E: From<StoreError>>(
    database: &mut dyn Database,
    work: impl FnOnce(&mut dyn Sql) -> Result<T, E>,
) -> Result<T, E> {
    let mut work = Some(work);
    let mut answer = None;
    let outcome = database.transaction(&mut |sql| {
        let work = work
            .take()
            .ok_or_else(|| StoreError::Task("a transaction ran twice".to_string()))?;
        let result = work(sql);
        let failed = result.is_err();
        answer = Some(result);
        if failed {
            Err(StoreError::Task("rolled back".to_string()))
        } else {
            Ok(())
        }
    });
    match (answer, outcome) {
        (Some(Err(error)), _) => Err(error),
        (_, Err(error)) => Err(E::from(error)),
        (Some(Ok(value)), Ok(())) => Ok(value),
        (None, Ok(())) => Err(E::from(StoreError::Task(
            "a transaction gave no answer".to_string(),
        ))),
    }
}

/// Opens one connection to the database `target` names (a `postgres://` URL, else an SQLite file
/// path) with the migrations applied: for the commands that use the database without a service.
pub fn open_database(target: &str) -> Result<Box<dyn Database>, StoreError> {
    if is_postgres(target) {
        Ok(Box::new(postgres::PostgresDatabase::open(target)?))
    } else {
        Ok(Box::new(sqlite::SqliteDatabase::open(target)?))
    }
}

fn is_postgres(target: &str) -> bool {
    target.starts_with("postgres://") || target.starts_with("postgresql://")
}

/// The most records one commit takes.
const GROUP_LIMIT: usize = 1024;

type Reply = oneshot::Sender<Result<Kept, StoreError>>;

/// The store of a running service: a writer thread that owns one connection and commits the
/// records waiting for it together (group commit), and a second connection for the rest.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    sender: Mutex<Option<mpsc::Sender<(NewRecord, Reply)>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    side: Mutex<Option<Box<dyn Database>>>,
}

impl Drop for Shared {
    /// Closes the side connection on a thread of its own: PostgreSQL's synchronous client runs
    /// a runtime of its own to close, which may not start on a thread of the service's runtime.
    fn drop(&mut self) {
        let side = self.side.get_mut().ok().and_then(Option::take);
        if let Some(side) = side {
            let _ = std::thread::spawn(move || drop(side)).join();
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Store")
    }
}

impl Store {
    /// Opens the database `target` names (a `postgres://` URL, else an SQLite file path) and
    /// applies the migrations.
    pub fn open(target: &str) -> Result<Store, StoreError> {
        if is_postgres(target) {
            let writer = postgres::PostgresDatabase::open(target)?;
            let side = postgres::PostgresDatabase::connect(target)?;
            Store::start(writer, Box::new(side))
        } else {
            let writer = sqlite::SqliteDatabase::open(target)?;
            let side = sqlite::SqliteDatabase::connect(target)?;
            Store::start(writer, Box::new(side))
        }
    }

    fn start<D: Database>(writer: D, side: Box<dyn Database>) -> Result<Store, StoreError> {
        let (sender, receiver) = mpsc::channel::<(NewRecord, Reply)>();
        let handle = std::thread::Builder::new()
            .name("ereje-db-writer".to_string())
            .spawn(move || write_loop(writer, receiver))
            .map_err(|error| StoreError::Task(error.to_string()))?;
        Ok(Store {
            shared: Arc::new(Shared {
                sender: Mutex::new(Some(sender)),
                writer: Mutex::new(Some(handle)),
                side: Mutex::new(Some(side)),
            }),
        })
    }

    /// Keeps a record durably (committed and synced) and answers once it is, grouping the
    /// records of concurrent requests into one commit.
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
    pub async fn side<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            let mut connection = shared
                .side
                .lock()
                .map_err(|_| StoreError::Task("the side connection is poisoned".to_string()))?;
            let connection = connection.as_mut().ok_or(StoreError::WriterStopped)?;
            work(connection.as_mut())
        })
        .await
        .map_err(|error| StoreError::Task(error.to_string()))?
    }

    /// The record with this id.
    pub async fn record(&self, id: String) -> Result<Option<Record>, StoreError> {
        self.side(move |database| database.record(&id)).await
    }

    /// The records of a case, newest first, at most `limit`, older than the id `before`.
    pub async fn records_of_case(
        &self,
        case_id: String,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Page, StoreError> {
        self.side(move |database| database.records_of_case(&case_id, limit, before))
            .await
    }

    /// Adds a compiled policy to the registry (nothing when its digest is there already).
    pub async fn register_policy(
        &self,
        digest: String,
        name: String,
        version: String,
        ir_json: String,
    ) -> Result<(), StoreError> {
        self.side(move |database| database.register_policy(&digest, &name, &version, &ir_json))
            .await
    }

    /// The IR JSON of the registry's policy with this digest.
    pub async fn policy_ir(&self, digest: String) -> Result<Option<String>, StoreError> {
        self.side(move |database| database.policy_ir(&digest)).await
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

fn write_loop<D: Database>(mut database: D, receiver: mpsc::Receiver<(NewRecord, Reply)>) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < GROUP_LIMIT {
            match receiver.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let (records, replies): (Vec<NewRecord>, Vec<Reply>) = group.into_iter().unzip();
        match database.insert_group(records) {
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

/// The present time as RFC 3339 in UTC with microseconds, for `created_at`.
pub fn now_rfc3339() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// Cuts the `limit + 1` newest records a query fetched into a page and whether there is more.
pub(crate) fn page(mut records: Vec<Record>, limit: u32) -> Page {
    let more = records.len() > limit as usize;
    records.truncate(limit as usize);
    let next_before = if more {
        records.last().map(|record| record.id.clone())
    } else {
        None
    };
    Page {
        records,
        next_before,
    }
}

// The statements both databases run as they are (`$N` parameters, which SQLite reads too).

/// The columns of a record, in the order [`Record`]s are read from rows.
const RECORD_COLUMNS: &str = "id, created_at, case_id, case_json, as_of, policy_name, \
     policy_version, policy_digest, decision_json, requested_by, idempotency_key";

const INSERT_RECORD: &str = "INSERT INTO decisions (created_at, case_id, case_json, as_of, \
     policy_name, policy_version, policy_digest, decision_json, requested_by, idempotency_key) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (requested_by, idempotency_key) DO NOTHING RETURNING id";

fn select_record_by_key() -> String {
    format!(
        "SELECT {RECORD_COLUMNS} FROM decisions WHERE requested_by = $1 AND idempotency_key = $2"
    )
}

fn select_record_by_id() -> String {
    format!("SELECT {RECORD_COLUMNS} FROM decisions WHERE id = $1")
}

fn select_records_of_case() -> String {
    format!(
        "SELECT {RECORD_COLUMNS} FROM decisions WHERE case_id = $1 AND id < $2 \
         ORDER BY id DESC LIMIT $3"
    )
}

const INSERT_POLICY: &str = "INSERT INTO policies (digest, name, version, ir_json, registered_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest) DO NOTHING";

const SELECT_POLICY_IR: &str = "SELECT ir_json FROM policies WHERE digest = $1";

const SELECT_MIGRATION: &str = "SELECT version FROM schema_migrations WHERE version = $1";

const INSERT_MIGRATION: &str =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";
