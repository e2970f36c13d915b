//! Errors: a policy that cannot be loaded, and a case that cannot be read or evaluated.
//!
//! A case error is data, not a crash: it has a stable code (`case.invalid_field`,
//! `eval.division_by_zero`, …), the JSON pointer of the offending part of the case, a lowercase
//! message that quotes user input in backticks and, for evaluation errors, the item that was being
//! evaluated.

use std::borrow::Cow;

/// Why a compiled policy could not be loaded into an [`crate::Engine`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The IR was written for another version of the runtime.
    #[error("unsupported ir format version {found} (this runtime reads version {expected})")]
    UnsupportedFormat { found: u32, expected: u32 },
    /// The serialized IR is not valid JSON or does not have the IR's shape.
    #[error("the ir is not valid: {0}")]
    InvalidJson(String),
    /// The IR refers to something that does not exist (an item, a type, a parameter, …).
    #[error("the ir is inconsistent: {0}")]
    InvalidIr(String),
}

/// A case that cannot be read, or whose evaluation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CaseError {
    /// A stable machine-readable code such as `case.invalid_field`.
    pub code: Cow<'static, str>,
    /// The JSON pointer of the offending part of the case; `""` for the whole case.
    pub path: String,
    /// A lowercase human-readable message; user input appears in backticks.
    pub message: String,
    /// For evaluation errors: the innermost item (rule id or definition name) being evaluated.
    pub rule: Option<String>,
}

impl CaseError {
    /// A case error without a rule.
    pub fn new(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> CaseError {
        CaseError {
            code: Cow::Borrowed(code),
            path: path.into(),
            message: message.into(),
            rule: None,
        }
    }

    /// The error's code as text.
    pub fn code(&self) -> &str {
        &self.code
    }
}

/// The error codes the runtime produces.
pub mod codes {
    pub const INVALID_JSON: &str = "case.invalid_json";
    pub const NOT_OBJECT: &str = "case.not_object";
    pub const MISSING_FIELD: &str = "case.missing_field";
    pub const UNKNOWN_FIELD: &str = "case.unknown_field";
    pub const INVALID_FIELD: &str = "case.invalid_field";
    /// The case text is longer than [`crate::Limits::max_case_bytes`].
    pub const TOO_LARGE: &str = "case.too_large";
    /// Objects and arrays nest deeper than [`crate::Limits::max_depth`].
    pub const TOO_DEEP: &str = "case.too_deep";
    /// An object of the case gives the same key twice (the path is the second one's): an
    /// ambiguous case is refused rather than one of its values chosen.
    pub const DUPLICATE_KEY: &str = "case.duplicate_key";
    /// No version of the policy is in force on the case's date.
    pub const NOT_IN_FORCE: &str = "case.not_in_force";
    /// A line of JSON Lines input that holds no case (blank, or only spaces).
    pub const EMPTY_LINE: &str = "case.empty_line";
    pub const NO_PARAMETER_VALUE: &str = "eval.no_parameter_value";
    pub const OVERFLOW: &str = "eval.overflow";
    pub const DIVISION_BY_ZERO: &str = "eval.division_by_zero";
    pub const CALENDAR_NOT_COVERED: &str = "eval.calendar_not_covered";
    pub const INVALID_DATE: &str = "eval.invalid_date";
    pub const NO_MATCH: &str = "eval.no_match";
    /// The IR and the values disagree (a value of the wrong type, a field that does not exist):
    /// a compiler bug or a hand-made IR, never a property of a valid case.
    pub const TYPE_ERROR: &str = "eval.type_error";
    /// An item depends on itself, or function calls nest too deeply.
    pub const CYCLE: &str = "eval.cycle";
}
