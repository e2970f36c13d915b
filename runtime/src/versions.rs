//! The version of a policy in force on a case's date.
//!
//! A policy set may hold several versions side by side (the manifest's `[[version]]` tables,
//! read by the compiler): each in force from a date, or proposed. A [`VersionSet`] holds an
//! engine per in-force version and decides each case with the one in force on its as-of date,
//! so an embedder that ships compiled IR (one per version) chooses by date with the runtime
//! alone:
//!
//! ```no_run
//! # fn load(old: &str, new: &str) -> Result<(), ereje_runtime::LoadError> {
//! use ereje_runtime::value::Date;
//! use ereje_runtime::versions::VersionSet;
//! use ereje_runtime::{Engine, EvalOptions, Scratch};
//!
//! let day = |y, m, d| Date::from_ymd_opt(y, m, d).unwrap_or(Date::MIN);
//! let set = VersionSet::by_date(vec![
//!     (day(2025, 1, 1), Engine::from_json(old)?),
//!     (day(2025, 7, 1), Engine::from_json(new)?),
//! ]);
//! let case = r#"{"case_id": "c1", "application_date": "2025-08-01"}"#;
//! let line = set.evaluate_json(case, &EvalOptions::default(), &mut Scratch::default());
//! # let _ = line;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use crate::error::codes;
use crate::value::Date;
use crate::{CaseError, CaseFailure, CaseOutcome, Engine, EvalOptions, Scratch};

/// Whether a version is law or a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionStatus {
    /// In force from this date (until a later in-force version takes over).
    InForce { from: Date },
    /// A proposal (a draft, a what-if): never chosen by date, only by name.
    Proposed,
}

/// The engines of several versions, each chosen for the cases of its dates: every in-force
/// version (for `eval` and `batch`), or one version forced by name.
#[derive(Debug, Clone)]
pub struct VersionSet {
    /// Sorted by `from`, earliest first; a forced or single version has no date here.
    engines: Vec<(Option<Date>, Arc<Engine>)>,
}

impl VersionSet {
    /// The same set with every engine replaced by its [`Engine::replica`], for another thread.
    pub fn replica(&self) -> Result<VersionSet, crate::LoadError> {
        let engines = self
            .engines
            .iter()
            .map(|(from, engine)| Ok((*from, Arc::new(engine.replica()?))))
            .collect::<Result<_, crate::LoadError>>()?;
        Ok(VersionSet { engines })
    }

    /// The earliest version's engine (for what every version shares: the outputs' shapes).
    pub fn first(&self) -> Option<&Engine> {
        self.engines.first().map(|(_, engine)| engine.as_ref())
    }

    /// One engine used for every case (a version forced with `--version`).
    pub fn single(engine: Engine) -> VersionSet {
        VersionSet {
            engines: vec![(None, Arc::new(engine))],
        }
    }

    /// Engines for in-force versions; each decides the cases dated from its `from` until the
    /// next version's. An empty list gives an empty set, which [`VersionSet::pick`] never
    /// answers from.
    pub fn by_date(mut engines: Vec<(Date, Engine)>) -> VersionSet {
        engines.sort_by_key(|(from, _)| *from);
        VersionSet {
            engines: engines
                .into_iter()
                .map(|(from, engine)| (Some(from), Arc::new(engine)))
                .collect(),
        }
    }

    /// The engine for a case as of `date`: the version in force on it, else the earliest (whose
    /// own check then reports the date as before the policy is in force).
    pub fn pick(&self, date: Option<Date>) -> Option<&Engine> {
        let chosen = date.and_then(|date| {
            self.engines
                .iter()
                .rev()
                .find(|(from, _)| from.is_none_or(|from| from <= date))
        });
        chosen
            .or_else(|| self.engines.first())
            .map(|(_, engine)| engine.as_ref())
    }

    pub fn engines(&self) -> impl Iterator<Item = &Engine> {
        self.engines.iter().map(|(_, engine)| engine.as_ref())
    }

    /// Reads a case, picks the version in force on its as-of date (the option's, else the
    /// case's) and decides it. Never fails: the outcome is a decision or an error line.
    pub fn evaluate_json(
        &self,
        json: &str,
        options: &EvalOptions,
        scratch: &mut Scratch,
    ) -> Option<CaseOutcome> {
        let first = self.engines.first().map(|(_, engine)| engine.as_ref())?;
        let as_of = match options.as_of {
            Some(date) => Some(date),
            None if self.engines.len() > 1 => {
                first.read_case(json).ok().and_then(|case| case.as_of())
            }
            None => None,
        };
        let engine = self.pick(as_of)?;
        Some(engine.evaluate_json_with(json, options, scratch))
    }

    /// Decides one case's JSON text; a case no version is in force for is the error
    /// `case.not_in_force`.
    pub fn decide_json(
        &self,
        json: &str,
        options: &EvalOptions,
        scratch: &mut Scratch,
    ) -> CaseOutcome {
        self.evaluate_json(json, options, scratch)
            .unwrap_or_else(|| {
                failure(
                    codes::NOT_IN_FORCE,
                    "no version of the policy is in force for this case".to_string(),
                )
            })
    }

    /// Decides one line of JSON Lines input (its `\n` or `\r\n`, if any, included), as
    /// `ereje batch`, the service's stream and the Python package do: a line that is not UTF-8
    /// and a blank line are error lines of their own, so that every input line has its output
    /// line.
    pub fn decide_line(
        &self,
        raw: &[u8],
        options: &EvalOptions,
        scratch: &mut Scratch,
    ) -> CaseOutcome {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        match std::str::from_utf8(raw) {
            Err(error) => failure(
                codes::INVALID_JSON,
                format!("the line is not valid utf-8 (byte {})", error.valid_up_to()),
            ),
            Ok(line) if line.trim().is_empty() => failure(
                codes::EMPTY_LINE,
                "the line is empty: every input line must hold one case".to_string(),
            ),
            Ok(line) => self.decide_json(line, options, scratch),
        }
    }
}

/// An error line of a case that has no case id.
fn failure(code: &'static str, message: String) -> CaseOutcome {
    CaseOutcome::Error(CaseFailure {
        case_id: None,
        error: CaseError::new(code, "", message),
    })
}

impl VersionStatus {
    /// The date the version is in force from, or `None` for a proposal.
    pub fn in_force_from(&self) -> Option<Date> {
        match self {
            VersionStatus::InForce { from } => Some(*from),
            VersionStatus::Proposed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::*;

    /// A policy whose single output is its version's name.
    fn engine(version: &str) -> Engine {
        let policy = Policy {
            format_version: IR_FORMAT_VERSION,
            name: "p".into(),
            version: version.into(),
            publisher: "x".into(),
            in_force_from: Date::MIN,
            modules: vec![],
            types: vec![TypeDef::Record(RecordDef {
                name: "Case".into(),
                fields: vec![FieldDef {
                    name: "on".into(),
                    ty: Type::Date,
                    required: true,
                    default: None,
                    constraints: vec![],
                }],
            })],
            input: InputDecl {
                name: "case".into(),
                record: 0,
                id_field: None,
                as_of_field: Some(0),
            },
            params: vec![],
            labels: Default::default(),
            tables: vec![],
            calendars: vec![],
            bands: vec![],
            items: vec![],
            groups: vec![],
            outputs: vec![],
            checks: vec![],
        };
        Engine::new(policy).unwrap()
    }

    fn day(text: &str) -> Date {
        Date::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn each_case_is_decided_by_the_version_in_force_on_its_date() {
        let set = VersionSet::by_date(vec![
            (day("2025-07-01"), engine("new")),
            (day("2024-01-01"), engine("old")),
        ]);
        let version =
            |date: Option<&str>| set.pick(date.map(day)).map(|e| e.policy().version.clone());
        assert_eq!(version(Some("2024-01-01")).as_deref(), Some("old"));
        assert_eq!(version(Some("2025-06-30")).as_deref(), Some("old"));
        assert_eq!(version(Some("2025-07-01")).as_deref(), Some("new"));
        // Before every version, and without a date: the earliest, whose checks then speak.
        assert_eq!(version(Some("2023-12-31")).as_deref(), Some("old"));
        assert_eq!(version(None).as_deref(), Some("old"));
        let line = |json: &str| {
            set.evaluate_json(json, &EvalOptions::default(), &mut Scratch::default())
                .map(|outcome| outcome.to_json_line())
                .unwrap_or_default()
        };
        assert!(line(r#"{"on": "2025-08-01"}"#).contains(r#""version":"new""#));
        assert!(line(r#"{"on": "2025-03-01"}"#).contains(r#""version":"old""#));
        assert_eq!(
            VersionStatus::InForce {
                from: day("2025-01-01")
            }
            .in_force_from(),
            Some(day("2025-01-01"))
        );
        assert_eq!(VersionStatus::Proposed.in_force_from(), None);
        assert!(VersionSet::by_date(vec![])
            .pick(Some(day("2025-01-01")))
            .is_none());
    }
}
