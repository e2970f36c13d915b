//! The district commission's app (issue 20): a member surveys a family, the engine gives the
//! preliminary conclusion (a decision record of `/v1/decisions`, explained by `ereje-report`),
//! the member sends it to the commission, the others sign or decline, and when every member has
//! signed it is final and prints on one page.
//!
//! This module holds the app's data and every write to it, each in one transaction with its
//! audit entry ([`audit`]); [`web`] has the pages and [`form`] the survey form, generated from
//! the policy's input record. Nothing of a survey is updated in place: a correction is a new
//! revision, whose conclusion replaces the one before (voided with the signatures it had).

pub mod audit;
pub mod form;
pub mod pages;
pub mod sessions;
pub mod web;

use crate::storage::{in_transaction, Database, Sql, SqlValue, StoreError};
use audit::Subject;

/// What a user may do in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRole {
    /// Surveys families of their commission and signs its conclusions.
    Member,
    /// A member who chairs the commission (one per commission).
    Chair,
    /// Reads the surveys and conclusions of their commission; changes nothing.
    Analyst,
    /// Sets up commissions and people (through `ereje commission add` and `ereje user add`).
    Admin,
}

impl UserRole {
    /// The role's name in the database and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            UserRole::Member => "member",
            UserRole::Chair => "chair",
            UserRole::Analyst => "analyst",
            UserRole::Admin => "admin",
        }
    }

    /// The role of a name.
    pub fn parse(name: &str) -> Option<UserRole> {
        Some(match name {
            "member" => UserRole::Member,
            "chair" => UserRole::Chair,
            "analyst" => UserRole::Analyst,
            "admin" => UserRole::Admin,
            _ => return None,
        })
    }

    /// Whether the role signs its commission's conclusions.
    pub fn signs(self) -> bool {
        matches!(self, UserRole::Member | UserRole::Chair)
    }

    /// Whether a user of the role belongs to one commission (every role but the admin): an
    /// analyst reads only the commission they are attached to.
    pub fn has_commission(self) -> bool {
        !matches!(self, UserRole::Admin)
    }
}

/// A person of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub full_name: String,
    pub password_hash: String,
    pub role: UserRole,
    pub commission_id: Option<i64>,
}

/// Why an action of the app was refused, or the database failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The action is not allowed to this user (`403`): the thing is another commission's.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The action changes something and the user only reads (an analyst, an admin) (`403`).
    #[error("read only: {0}")]
    ReadOnly(String),
    /// There is no such thing (`404`).
    #[error("not found: {0}")]
    NotFound(String),
    /// The action does not fit the state of the thing (`409`), or its input is wrong (`422`).
    #[error("{0}")]
    Invalid(String),
}

fn text_at(row: &[SqlValue], index: usize) -> String {
    row.get(index)
        .and_then(SqlValue::text)
        .unwrap_or_default()
        .to_string()
}

fn optional_text_at(row: &[SqlValue], index: usize) -> Option<String> {
    row.get(index).and_then(SqlValue::text).map(str::to_string)
}

fn integer_at(row: &[SqlValue], index: usize) -> i64 {
    row.get(index).and_then(SqlValue::integer).unwrap_or(0)
}

/// The id a `RETURNING id` statement gave.
fn returned_id(rows: &[Vec<SqlValue>]) -> Result<i64, StoreError> {
    rows.first()
        .and_then(|row| row.first())
        .and_then(SqlValue::integer)
        .ok_or_else(|| StoreError::Task("the insert returned no id".to_string()))
}

const USER_COLUMNS: &str = "id, login, full_name, password_hash, role, commission_id";

fn user_of_row(row: &[SqlValue]) -> User {
    User {
        id: integer_at(row, 0),
        login: text_at(row, 1),
        full_name: text_at(row, 2),
        password_hash: text_at(row, 3),
        role: UserRole::parse(&text_at(row, 4)).unwrap_or(UserRole::Analyst),
        commission_id: row.get(5).and_then(SqlValue::integer),
    }
}

/// The user with this login.
pub fn user_by_login(sql: &mut dyn Sql, login: &str) -> Result<Option<User>, StoreError> {
    let rows = sql.query(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE login = $1"),
        &[login.into()],
    )?;
    Ok(rows.first().map(|row| user_of_row(row)))
}

/// The user with this id.
pub fn user_by_id(sql: &mut dyn Sql, id: i64) -> Result<Option<User>, StoreError> {
    let rows = sql.query(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
        &[id.into()],
    )?;
    Ok(rows.first().map(|row| user_of_row(row)))
}

/// The members who sign a commission's conclusions (members and its chair), by id.
pub fn signers(sql: &mut dyn Sql, commission_id: i64) -> Result<Vec<User>, StoreError> {
    let rows = sql.query(
        &format!(
            "SELECT {USER_COLUMNS} FROM users WHERE commission_id = $1 \
             AND role IN ('member', 'chair') ORDER BY id"
        ),
        &[commission_id.into()],
    )?;
    Ok(rows.iter().map(|row| user_of_row(row)).collect())
}

/// Creates a commission (`ereje commission add`); its id.
pub fn add_commission(
    database: &mut dyn Database,
    name: &str,
    district: &str,
    actor: &str,
) -> Result<i64, AppError> {
    in_transaction(database, |sql| -> Result<i64, AppError> {
        let id = returned_id(&sql.query(
            "INSERT INTO commissions (name, district, created_at) VALUES ($1, $2, $3) RETURNING id",
            &[
                name.into(),
                district.into(),
                crate::storage::now_rfc3339().into(),
            ],
        )?)?;
        audit::append(sql, actor, "commission_added", Subject::Commission(id))?;
        Ok(id)
    })
}

/// Creates a user (`ereje user add`), the password kept as an argon2 hash; its id. A member or
/// chair names their commission; a commission has one chair.
pub fn add_user(
    database: &mut dyn Database,
    login: &str,
    full_name: &str,
    password: &str,
    role: UserRole,
    commission: Option<&str>,
    actor: &str,
) -> Result<i64, AppError> {
    if role.has_commission() && commission.is_none() {
        return Err(AppError::Invalid(format!(
            "a {} belongs to a commission: give --commission NAME",
            role.name()
        )));
    }
    let hash = crate::auth::hash_secret(password).map_err(AppError::Invalid)?;
    in_transaction(database, |sql| -> Result<i64, AppError> {
        let commission_id = match commission {
            None => None,
            Some(name) => {
                let rows =
                    sql.query("SELECT id FROM commissions WHERE name = $1", &[name.into()])?;
                match rows
                    .first()
                    .and_then(|row| row.first())
                    .and_then(SqlValue::integer)
                {
                    Some(id) => Some(id),
                    None => {
                        return Err(AppError::NotFound(format!(
                            "there is no commission `{name}`"
                        )))
                    }
                }
            }
        };
        if role == UserRole::Chair {
            let chairs = sql.query(
                "SELECT login FROM users WHERE commission_id = $1 AND role = 'chair'",
                &[commission_id.unwrap_or(0).into()],
            )?;
            if let Some(chair) = chairs.first() {
                return Err(AppError::Invalid(format!(
                    "the commission already has a chair, `{}`",
                    text_at(chair, 0)
                )));
            }
        }
        if user_by_login(sql, login)?.is_some() {
            return Err(AppError::Invalid(format!("the login `{login}` is taken")));
        }
        let id = returned_id(&sql.query(
            "INSERT INTO users (login, full_name, password_hash, role, commission_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                login.into(),
                full_name.into(),
                hash.clone().into(),
                role.name().into(),
                commission_id.map_or(SqlValue::Null, SqlValue::Integer),
                crate::storage::now_rfc3339().into(),
            ],
        )?)?;
        audit::append(sql, actor, "user_added", Subject::User(id))?;
        Ok(id)
    })
}

/// Writes the audit entry of a sign-in.
pub fn record_sign_in(database: &mut dyn Database, user: &User) -> Result<(), StoreError> {
    in_transaction(database, |sql| {
        audit::append(sql, &user.login, "signed_in", Subject::User(user.id))
    })
}

/// Where the browser said the family was surveyed, as it said it (decimal text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    pub accuracy: Option<String>,
    pub time: Option<String>,
}

/// A revision to keep, with its decision record already kept.
#[derive(Debug, Clone)]
pub struct NewRevision {
    /// The survey it corrects, `None` for a new survey.
    pub survey_id: Option<i64>,
    pub case_id: Option<String>,
    pub case_json: String,
    pub location: Location,
    /// The decision record of `/v1/decisions` that decided it.
    pub decision_id: i64,
    pub policy_version: String,
    pub policy_digest: String,
}

/// Keeps a revision and its draft conclusion; a correction voids the conclusions before it.
/// Returns the survey's and the conclusion's ids.
pub fn save_revision(
    database: &mut dyn Database,
    author: &User,
    revision: NewRevision,
) -> Result<(i64, i64), AppError> {
    if !author.role.signs() {
        return Err(AppError::ReadOnly(format!(
            "a {} does not survey",
            author.role.name()
        )));
    }
    let commission_id = author
        .commission_id
        .ok_or_else(|| AppError::Forbidden("only a commission's member surveys".to_string()))?;
    in_transaction(database, |sql| -> Result<(i64, i64), AppError> {
        let now = crate::storage::now_rfc3339();
        let (survey_id, number) = match revision.survey_id {
            Some(survey_id) => {
                let rows = sql.query(
                    "SELECT s.commission_id, MAX(r.number) FROM surveys s \
                     JOIN survey_revisions r ON r.survey_id = s.id WHERE s.id = $1 \
                     GROUP BY s.commission_id",
                    &[survey_id.into()],
                )?;
                let Some(row) = rows.first() else {
                    return Err(AppError::NotFound(format!(
                        "there is no survey {survey_id}"
                    )));
                };
                if integer_at(row, 0) != commission_id {
                    return Err(AppError::Forbidden(
                        "the survey belongs to another commission".to_string(),
                    ));
                }
                (survey_id, integer_at(row, 1) + 1)
            }
            None => {
                let id = returned_id(&sql.query(
                    "INSERT INTO surveys (commission_id, created_by, created_at) \
                     VALUES ($1, $2, $3) RETURNING id",
                    &[commission_id.into(), author.id.into(), now.clone().into()],
                )?)?;
                (id, 1)
            }
        };
        let location = &revision.location;
        let revision_id = returned_id(&sql.query(
            "INSERT INTO survey_revisions (survey_id, number, case_id, case_json, latitude, \
             longitude, accuracy, located_at, author_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[
                survey_id.into(),
                number.into(),
                revision.case_id.clone().into(),
                revision.case_json.clone().into(),
                location.latitude.clone().into(),
                location.longitude.clone().into(),
                location.accuracy.clone().into(),
                location.time.clone().into(),
                author.id.into(),
                now.clone().into(),
            ],
        )?)?;
        let action = if number == 1 {
            "survey_saved"
        } else {
            "revised"
        };
        audit::append(sql, &author.login, action, Subject::Revision(revision_id))?;
        let earlier = sql.query(
            "SELECT c.id FROM conclusions c JOIN survey_revisions r ON r.id = c.revision_id \
             WHERE r.survey_id = $1 AND c.status <> 'voided' ORDER BY c.id",
            &[survey_id.into()],
        )?;
        for id in earlier.iter().map(|row| integer_at(row, 0)) {
            sql.execute(
                "UPDATE conclusions SET status = 'voided' WHERE id = $1",
                &[id.into()],
            )?;
            audit::append(
                sql,
                &author.login,
                "conclusion_voided",
                Subject::Conclusion(id),
            )?;
        }
        let conclusion_id = returned_id(&sql.query(
            "INSERT INTO conclusions (revision_id, decision_id, policy_version, policy_digest, \
             status, created_at) VALUES ($1, $2, $3, $4, 'draft', $5) RETURNING id",
            &[
                revision_id.into(),
                revision.decision_id.into(),
                revision.policy_version.clone().into(),
                revision.policy_digest.clone().into(),
                now.into(),
            ],
        )?)?;
        audit::append(
            sql,
            &author.login,
            "conclusion_drafted",
            Subject::Conclusion(conclusion_id),
        )?;
        Ok((survey_id, conclusion_id))
    })
}

/// A signature or a refusal to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub member_id: i64,
    pub member_name: String,
    /// `signed` or `declined`.
    pub verdict: String,
    pub reason: String,
    pub time: String,
}

/// A conclusion with everything its pages show.
#[derive(Debug, Clone)]
pub struct Conclusion {
    pub id: i64,
    /// `draft`, `sent`, `final` or `voided`.
    pub status: String,
    pub commission_id: i64,
    pub commission_name: String,
    pub district: String,
    pub survey_id: i64,
    pub revision_number: i64,
    pub case_id: Option<String>,
    pub case_json: String,
    pub location: Location,
    pub author_id: i64,
    pub author_name: String,
    pub saved_at: String,
    pub decision_id: i64,
    pub policy_version: String,
    pub policy_digest: String,
    pub signatures: Vec<Signature>,
    /// Every member who signs the commission's conclusions.
    pub signers: Vec<User>,
}

/// The conclusion with this id.
pub fn conclusion(sql: &mut dyn Sql, id: i64) -> Result<Option<Conclusion>, StoreError> {
    let rows = sql.query(
        "SELECT c.id, c.status, s.commission_id, m.name, m.district, s.id, r.number, r.case_id, \
         r.case_json, r.latitude, r.longitude, r.accuracy, r.located_at, r.author_id, \
         u.full_name, r.created_at, c.decision_id, c.policy_version, c.policy_digest \
         FROM conclusions c JOIN survey_revisions r ON r.id = c.revision_id \
         JOIN surveys s ON s.id = r.survey_id JOIN commissions m ON m.id = s.commission_id \
         JOIN users u ON u.id = r.author_id WHERE c.id = $1",
        &[id.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let signatures = sql
        .query(
            "SELECT g.member_id, u.full_name, g.verdict, g.reason, g.signed_at FROM signatures g \
             JOIN users u ON u.id = g.member_id WHERE g.conclusion_id = $1 ORDER BY g.id",
            &[id.into()],
        )?
        .iter()
        .map(|row| Signature {
            member_id: integer_at(row, 0),
            member_name: text_at(row, 1),
            verdict: text_at(row, 2),
            reason: text_at(row, 3),
            time: text_at(row, 4),
        })
        .collect();
    let commission_id = integer_at(row, 2);
    Ok(Some(Conclusion {
        id: integer_at(row, 0),
        status: text_at(row, 1),
        commission_id,
        commission_name: text_at(row, 3),
        district: text_at(row, 4),
        survey_id: integer_at(row, 5),
        revision_number: integer_at(row, 6),
        case_id: optional_text_at(row, 7),
        case_json: text_at(row, 8),
        location: Location {
            latitude: optional_text_at(row, 9),
            longitude: optional_text_at(row, 10),
            accuracy: optional_text_at(row, 11),
            time: optional_text_at(row, 12),
        },
        author_id: integer_at(row, 13),
        author_name: text_at(row, 14),
        saved_at: text_at(row, 15),
        decision_id: integer_at(row, 16),
        policy_version: text_at(row, 17),
        policy_digest: text_at(row, 18),
        signatures,
        signers: signers(sql, commission_id)?,
    }))
}

/// The conclusion with this id, if `user` may see it: `403` for another commission's.
pub fn visible_conclusion(sql: &mut dyn Sql, user: &User, id: i64) -> Result<Conclusion, AppError> {
    let found = conclusion(sql, id)?
        .ok_or_else(|| AppError::NotFound(format!("there is no conclusion {id}")))?;
    if user.commission_id != Some(found.commission_id) {
        return Err(AppError::Forbidden(
            "the conclusion belongs to another commission".to_string(),
        ));
    }
    Ok(found)
}

/// One revision of a survey, for the survey's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionSummary {
    pub number: i64,
    pub case_id: Option<String>,
    pub author_name: String,
    pub saved_at: String,
    pub conclusion_id: i64,
    pub status: String,
    pub policy_digest: String,
}

/// Every revision of a survey, newest first, if `user` may see it.
pub fn survey_revisions(
    sql: &mut dyn Sql,
    user: &User,
    survey_id: i64,
) -> Result<Vec<RevisionSummary>, AppError> {
    let owner = sql.query(
        "SELECT commission_id FROM surveys WHERE id = $1",
        &[survey_id.into()],
    )?;
    let Some(owner) = owner.first().map(|row| integer_at(row, 0)) else {
        return Err(AppError::NotFound(format!(
            "there is no survey {survey_id}"
        )));
    };
    if user.commission_id != Some(owner) {
        return Err(AppError::Forbidden(
            "the survey belongs to another commission".to_string(),
        ));
    }
    Ok(sql
        .query(
            "SELECT r.number, r.case_id, u.full_name, r.created_at, c.id, c.status, c.policy_digest \
             FROM survey_revisions r JOIN conclusions c ON c.revision_id = r.id \
             JOIN users u ON u.id = r.author_id WHERE r.survey_id = $1 ORDER BY r.number DESC",
            &[survey_id.into()],
        )?
        .iter()
        .map(|row| RevisionSummary {
            number: integer_at(row, 0),
            case_id: optional_text_at(row, 1),
            author_name: text_at(row, 2),
            saved_at: text_at(row, 3),
            conclusion_id: integer_at(row, 4),
            status: text_at(row, 5),
            policy_digest: text_at(row, 6),
        })
        .collect())
}

/// The current conclusions of a commission (not voided), newest first, with whether `user` has
/// yet to sign each.
pub fn current_conclusions(
    sql: &mut dyn Sql,
    user: &User,
) -> Result<Vec<(RevisionSummary, i64, bool)>, StoreError> {
    let Some(commission_id) = user.commission_id else {
        return Ok(Vec::new());
    };
    Ok(sql
        .query(
            "SELECT r.number, r.case_id, u.full_name, r.created_at, c.id, c.status, \
             c.policy_digest, r.survey_id, \
             (SELECT COUNT(*) FROM signatures g WHERE g.conclusion_id = c.id AND g.member_id = $1) \
             FROM conclusions c JOIN survey_revisions r ON r.id = c.revision_id \
             JOIN surveys s ON s.id = r.survey_id JOIN users u ON u.id = r.author_id \
             WHERE s.commission_id = $2 AND c.status <> 'voided' ORDER BY c.id DESC",
            // SQLite numbers `$N` parameters in the order they first appear in the text.
            &[user.id.into(), commission_id.into()],
        )?
        .iter()
        .map(|row| {
            let summary = RevisionSummary {
                number: integer_at(row, 0),
                case_id: optional_text_at(row, 1),
                author_name: text_at(row, 2),
                saved_at: text_at(row, 3),
                conclusion_id: integer_at(row, 4),
                status: text_at(row, 5),
                policy_digest: text_at(row, 6),
            };
            let waits = summary.status == "sent" && integer_at(row, 8) == 0 && user.role.signs();
            (summary, integer_at(row, 7), waits)
        })
        .collect())
}

/// Sends a draft conclusion to the commission: the sender signs it as they send it.
pub fn send(database: &mut dyn Database, user: &User, id: i64) -> Result<(), AppError> {
    in_transaction(database, |sql| -> Result<(), AppError> {
        let found = visible_conclusion(sql, user, id)?;
        if !user.role.signs() {
            return Err(AppError::ReadOnly(format!(
                "a {} sends nothing",
                user.role.name()
            )));
        }
        if found.status != "draft" {
            return Err(AppError::Invalid(format!(
                "the conclusion is {}, not a draft",
                found.status
            )));
        }
        sql.execute(
            "UPDATE conclusions SET status = 'sent' WHERE id = $1",
            &[id.into()],
        )?;
        audit::append(sql, &user.login, "conclusion_sent", Subject::Conclusion(id))?;
        put_signature(sql, user, &found, "signed", "")
    })
}

/// Signs (`signed`) or declines (`declined`, with a reason) a sent conclusion; when every member
/// has signed, it is final.
pub fn sign(
    database: &mut dyn Database,
    user: &User,
    id: i64,
    verdict: &str,
    reason: &str,
) -> Result<(), AppError> {
    if verdict == "declined" && reason.trim().is_empty() {
        return Err(AppError::Invalid(
            "a refusal to sign needs its reason".to_string(),
        ));
    }
    if verdict != "signed" && verdict != "declined" {
        return Err(AppError::Invalid(format!(
            "`{verdict}` is neither signed nor declined"
        )));
    }
    in_transaction(database, |sql| -> Result<(), AppError> {
        let found = visible_conclusion(sql, user, id)?;
        if !user.role.signs() {
            return Err(AppError::ReadOnly(format!(
                "a {} signs nothing",
                user.role.name()
            )));
        }
        if found.status != "sent" {
            return Err(AppError::Invalid(format!(
                "the conclusion is {}: only a sent one is signed",
                found.status
            )));
        }
        put_signature(sql, user, &found, verdict, reason.trim())
    })
}

/// Inserts a signature with its audit entry and makes the conclusion final when it was the last.
fn put_signature(
    sql: &mut dyn Sql,
    user: &User,
    found: &Conclusion,
    verdict: &str,
    reason: &str,
) -> Result<(), AppError> {
    if found
        .signatures
        .iter()
        .any(|signature| signature.member_id == user.id)
    {
        return Err(AppError::Invalid(
            "you have already answered this conclusion".to_string(),
        ));
    }
    let signature_id = returned_id(&sql.query(
        "INSERT INTO signatures (conclusion_id, member_id, verdict, reason, signed_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        &[
            found.id.into(),
            user.id.into(),
            verdict.into(),
            reason.into(),
            crate::storage::now_rfc3339().into(),
        ],
    )?)?;
    audit::append(sql, &user.login, verdict, Subject::Signature(signature_id))?;
    let signed = sql.query(
        "SELECT COUNT(*) FROM signatures WHERE conclusion_id = $1 AND verdict = 'signed'",
        &[found.id.into()],
    )?;
    let signed = signed.first().map_or(0, |row| integer_at(row, 0));
    if verdict == "signed" && usize::try_from(signed).unwrap_or(0) >= found.signers.len() {
        sql.execute(
            "UPDATE conclusions SET status = 'final' WHERE id = $1",
            &[found.id.into()],
        )?;
        audit::append(
            sql,
            &user.login,
            "conclusion_final",
            Subject::Conclusion(found.id),
        )?;
    }
    Ok(())
}
