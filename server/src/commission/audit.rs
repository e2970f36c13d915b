//! The append-only audit log: every action of the commission's app is an entry carrying the
//! SHA-256 of the entry before it and of the row it is about, as the row was after the action.
//!
//! [`verify`] walks the chain from the first entry: each entry's `previous_sha256` must be the
//! hash of the one before, its own hash must be recomputed from its fields, and the row each
//! subject's last entry names must still hash to what the entry recorded. An edit of an entry, a
//! removed entry, or an edited row (a signed conclusion, a signature, a revision, a decision
//! record behind a conclusion) is found, with the entry where it shows.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::storage::{Database, Sql, SqlValue, StoreError};

/// The `previous_sha256` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry is about: a row of one of the app's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Commission(i64),
    User(i64),
    Revision(i64),
    Conclusion(i64),
    Signature(i64),
}

impl Subject {
    /// The subject as the log writes it (`conclusion:12`).
    pub fn text(self) -> String {
        let (kind, id) = match self {
            Subject::Commission(id) => ("commission", id),
            Subject::User(id) => ("user", id),
            Subject::Revision(id) => ("revision", id),
            Subject::Conclusion(id) => ("conclusion", id),
            Subject::Signature(id) => ("signature", id),
        };
        format!("{kind}:{id}")
    }

    /// Reads a subject the log wrote.
    pub fn parse(text: &str) -> Option<Subject> {
        let (kind, id) = text.split_once(':')?;
        let id = id.parse().ok()?;
        Some(match kind {
            "commission" => Subject::Commission(id),
            "user" => Subject::User(id),
            "revision" => Subject::Revision(id),
            "conclusion" => Subject::Conclusion(id),
            "signature" => Subject::Signature(id),
            _ => return None,
        })
    }

    /// The query giving the row's columns as they enter its digest.
    fn row_query(self) -> (&'static str, i64) {
        match self {
            Subject::Commission(id) => (
                "SELECT id, name, district, created_at FROM commissions WHERE id = $1",
                id,
            ),
            Subject::User(id) => (
                "SELECT id, login, full_name, password_hash, role, commission_id, created_at \
                 FROM users WHERE id = $1",
                id,
            ),
            Subject::Revision(id) => (
                "SELECT id, survey_id, number, case_id, case_json, latitude, longitude, accuracy, \
                 located_at, author_id, created_at FROM survey_revisions WHERE id = $1",
                id,
            ),
            // The decision record behind a conclusion enters its digest: the decision, the case
            // and the policy digest the record holds.
            Subject::Conclusion(id) => (
                "SELECT c.id, c.revision_id, c.decision_id, c.policy_version, c.policy_digest, \
                 c.status, c.created_at, d.case_json, d.decision_json, d.policy_digest \
                 FROM conclusions c JOIN decisions d ON d.id = c.decision_id WHERE c.id = $1",
                id,
            ),
            Subject::Signature(id) => (
                "SELECT id, conclusion_id, member_id, verdict, reason, signed_at \
                 FROM signatures WHERE id = $1",
                id,
            ),
        }
    }
}

/// The SHA-256 (hex) of a row as it is now, `None` when the row is not there.
pub fn row_digest(sql: &mut dyn Sql, subject: Subject) -> Result<Option<String>, StoreError> {
    let (query, id) = subject.row_query();
    let rows = sql.query(query, &[SqlValue::Integer(id)])?;
    Ok(rows.first().map(|row| {
        let mut hasher = Sha256::new();
        for value in row {
            let text = value.digest_text();
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
        hex(&hasher.finalize())
    }))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The hash of an entry from its fields.
fn entry_digest(
    previous: &str,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    row: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [previous, at, actor, action, subject, row] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

/// Appends an entry for `subject` as its row is now, inside the caller's transaction.
pub fn append(
    sql: &mut dyn Sql,
    actor: &str,
    action: &str,
    subject: Subject,
) -> Result<(), StoreError> {
    let row = row_digest(sql, subject)?.ok_or_else(|| {
        StoreError::Task(format!(
            "the audit entry's row `{}` is not there",
            subject.text()
        ))
    })?;
    let last = sql.query("SELECT sha256 FROM audit_log ORDER BY id DESC LIMIT 1", &[])?;
    let previous = last
        .first()
        .and_then(|row| row.first())
        .and_then(SqlValue::text)
        .unwrap_or(GENESIS)
        .to_string();
    let at = crate::storage::now_rfc3339();
    let subject = subject.text();
    let sha256 = entry_digest(&previous, &at, actor, action, &subject, &row);
    sql.execute(
        "INSERT INTO audit_log (at, actor, action, subject, row_sha256, previous_sha256, sha256) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            at.into(),
            actor.into(),
            action.into(),
            subject.into(),
            row.into(),
            previous.into(),
            sha256.into(),
        ],
    )?;
    Ok(())
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry links to the one before and every row is as its last entry recorded.
    Intact { entries: usize, rows: usize },
    /// The first place the chain breaks.
    Broken { entry: i64, reason: String },
}

/// Checks the whole chain and every row it names.
pub fn verify(database: &mut dyn Database) -> Result<Verdict, StoreError> {
    crate::storage::in_transaction(database, |sql| {
        let entries = sql.query(
            "SELECT id, at, actor, action, subject, row_sha256, previous_sha256, sha256 \
             FROM audit_log ORDER BY id",
            &[],
        )?;
        let mut previous = GENESIS.to_string();
        // The last entry of each subject, in order of first appearance, and where each subject
        // is in that list: one pass over the log, one look-up per entry.
        let mut last_of_subject: Vec<(String, String, i64)> = Vec::new();
        let mut position_of_subject: HashMap<String, usize> = HashMap::new();
        for entry in &entries {
            let field = |index: usize| {
                entry
                    .get(index)
                    .map(SqlValue::digest_text)
                    .unwrap_or_default()
            };
            let id = entry.first().and_then(SqlValue::integer).unwrap_or(0);
            let (at, actor, action, subject, row, linked, sha256) = (
                field(1),
                field(2),
                field(3),
                field(4),
                field(5),
                field(6),
                field(7),
            );
            if linked != previous {
                return Ok(Verdict::Broken {
                    entry: id,
                    reason: "its previous_sha256 is not the hash of the entry before it (an entry \
                             was removed, inserted or edited)"
                        .to_string(),
                });
            }
            if entry_digest(&linked, &at, &actor, &action, &subject, &row) != sha256 {
                return Ok(Verdict::Broken {
                    entry: id,
                    reason: "its fields do not hash to its sha256 (the entry was edited)"
                        .to_string(),
                });
            }
            previous = sha256;
            match position_of_subject
                .get(&subject)
                .and_then(|&position| last_of_subject.get_mut(position))
            {
                Some(last) => *last = (subject, row, id),
                None => {
                    position_of_subject.insert(subject.clone(), last_of_subject.len());
                    last_of_subject.push((subject, row, id));
                }
            }
        }
        for (subject_text, recorded, entry) in &last_of_subject {
            let Some(subject) = Subject::parse(subject_text) else {
                return Ok(Verdict::Broken {
                    entry: *entry,
                    reason: format!("its subject `{subject_text}` is not one the app writes"),
                });
            };
            match row_digest(sql, subject)? {
                Some(now) if now == *recorded => {}
                Some(_) => {
                    return Ok(Verdict::Broken {
                        entry: *entry,
                        reason: format!(
                            "the row `{subject_text}` was changed after this entry recorded it"
                        ),
                    })
                }
                None => {
                    return Ok(Verdict::Broken {
                        entry: *entry,
                        reason: format!("the row `{subject_text}` this entry recorded is gone"),
                    })
                }
            }
        }
        // A row the log never recorded (one inserted by hand) breaks it too.
        for (table, kind) in [
            ("survey_revisions", "revision"),
            ("conclusions", "conclusion"),
            ("signatures", "signature"),
        ] {
            let ids = sql.query(&format!("SELECT id FROM {table} ORDER BY id"), &[])?;
            for id in ids
                .iter()
                .filter_map(|row| row.first().and_then(SqlValue::integer))
            {
                let subject = format!("{kind}:{id}");
                if !position_of_subject.contains_key(&subject) {
                    return Ok(Verdict::Broken {
                        entry: entries.len() as i64,
                        reason: format!("the row `{subject}` has no audit entry"),
                    });
                }
            }
        }
        Ok(Verdict::Intact {
            entries: entries.len(),
            rows: last_of_subject.len(),
        })
    })
}
