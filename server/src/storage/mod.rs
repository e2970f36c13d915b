//! Where decision records and the policy registry are kept.
//!
//! One [`Store`] per process, over one database: SQLite by default (embedded, nothing to
//! install), PostgreSQL for a `postgres://` target. Each database has one module holding all of
//! its SQL (`sqlite.rs`); the schema is a numbered list of migrations ([`migrations`]), the same
//! steps for every database, applied at start in order and recorded in `schema_migrations`. A
//! later feature (the commission's surveys, signatures, users, audit log) adds a migration to the
//! list and its queries to each database's module; nothing already there changes.

pub mod migrations;
pub mod sqlite;

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
    /// The target names a database this build does not support.
    #[error("unsupported database `{0}`: give a file path (SQLite)")]
    Unsupported(String),
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

/// One page of the records of a case, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub records: Vec<Record>,
    /// The `before` to ask for the next page with, when there may be one.
    pub next_before: Option<String>,
}

/// The store of a running service.
#[derive(Debug, Clone)]
pub enum Store {
    /// An SQLite file.
    Sqlite(sqlite::SqliteStore),
}

impl Store {
    /// Opens the database `target` names (a file path for SQLite) and applies the migrations.
    pub fn open(target: &str) -> Result<Store, StoreError> {
        if target.starts_with("postgres://") || target.starts_with("postgresql://") {
            return Err(StoreError::Unsupported(target.to_string()));
        }
        Ok(Store::Sqlite(sqlite::SqliteStore::open(target)?))
    }

    /// Keeps a record durably (committed and synced) and answers once it is, grouping the
    /// records of concurrent requests into one commit.
    pub async fn keep(&self, record: NewRecord) -> Result<Kept, StoreError> {
        match self {
            Store::Sqlite(store) => store.keep(record).await,
        }
    }

    /// The record with this id.
    pub async fn record(&self, id: String) -> Result<Option<Record>, StoreError> {
        match self {
            Store::Sqlite(store) => store.read(move |reader| reader.record(&id)).await,
        }
    }

    /// The records of a case, newest first, at most `limit`, older than the id `before`.
    pub async fn records_of_case(
        &self,
        case_id: String,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Page, StoreError> {
        match self {
            Store::Sqlite(store) => {
                store
                    .read(move |reader| reader.records_of_case(&case_id, limit, before))
                    .await
            }
        }
    }

    /// Adds a compiled policy to the registry (nothing when its digest is there already).
    pub async fn register_policy(
        &self,
        digest: String,
        name: String,
        version: String,
        ir_json: String,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(store) => {
                store
                    .read(move |reader| reader.register_policy(&digest, &name, &version, &ir_json))
                    .await
            }
        }
    }

    /// The IR JSON of the registry's policy with this digest.
    pub async fn policy_ir(&self, digest: String) -> Result<Option<String>, StoreError> {
        match self {
            Store::Sqlite(store) => store.read(move |reader| reader.policy_ir(&digest)).await,
        }
    }

    /// Stops the writer after the records already sent to it are committed, and closes the
    /// database.
    pub fn close(&self) {
        match self {
            Store::Sqlite(store) => store.close(),
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
fn page(mut records: Vec<Record>, limit: u32) -> Page {
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
