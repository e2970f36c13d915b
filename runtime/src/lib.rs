//! Ereje runtime: evaluates a compiled policy ([`ir::Policy`]) against family cases, and
//! explains every decision.
//!
//! An [`Engine`] holds one checked policy. It reads case JSON against the policy's input record
//! ([`Engine::read_case`]), evaluates the declared outputs ([`Engine::evaluate`]) and writes
//! decisions and error lines in the decision contract's JSON shape. A bad case or a failed
//! evaluation is an error value ([`CaseError`]) with a stable code and a JSON pointer, never a
//! panic. With [`EvalOptions::trace`], a decision carries the tree of every value it used.
//!
//! Cases are read under [`Limits`], overridable with [`Engine::with_limits`]. The defaults:
//! a case of at most 1 MiB of JSON text (else `case.too_large`), objects and arrays nested at
//! most 32 levels deep (else `case.too_deep`, with the path where the limit was passed), string
//! values of at most 4096 characters and arrays of at most 10 000 items (else
//! `case.invalid_field`, with the path of the string or array).
//!
//! ```
//! use ereje_runtime::ir::*;
//! use ereje_runtime::value::{Date, Value};
//! use ereje_runtime::{Engine, EvalOptions};
//! use rust_decimal::Decimal;
//!
//! let date = |y, m, d| Date::from_ymd_opt(y, m, d).unwrap();
//! let field = |name: &str, ty: Type| FieldDef {
//!     name: name.into(), ty, required: true, default: None, constraints: vec![],
//! };
//! let policy = Policy {
//!     format_version: IR_FORMAT_VERSION,
//!     name: "demo".into(), version: "1".into(), publisher: "example".into(),
//!     in_force_from: date(2025, 1, 1),
//!     modules: vec![],
//!     types: vec![TypeDef::Record(RecordDef {
//!         name: "Case".into(),
//!         fields: vec![
//!             field("case_id", Type::Text),
//!             field("application_date", Type::Date),
//!             field("income", Type::Money),
//!         ],
//!     })],
//!     input: InputDecl { name: "case".into(), record: 0, id_field: Some(0), as_of_field: Some(1) },
//!     params: vec![Param {
//!         name: "poverty_line".into(), ty: Type::Money, source: Some("order No 160".into()),
//!         values: vec![ParamValue { from: date(2025, 1, 1), value: Value::Decimal(Decimal::from(32360)), source: None }],
//!         valid_until: None, note: None,
//!     }],
//!     tables: vec![], calendars: vec![], bands: vec![],
//!     items: vec![Item {
//!         name: "INCOME-TEST".into(), kind: ItemKind::Rule, ty: Type::Bool, params: vec![], locals: 0,
//!         body: Body::Expr(Expr::Binary(
//!             BinaryOp::Lt,
//!             Box::new(Expr::Field(Box::new(Expr::Input), 2)),
//!             Box::new(Expr::Param { param: 0, at: None }),
//!         )),
//!         source: None, messages: Messages::default(), module: 0, doc: None,
//!         messages_not: Messages::default(), note: None,
//!     }],
//!     groups: vec![],
//!     outputs: vec![Output { name: "eligible".into(), ty: Type::Bool, expr: Expr::Item(0), module: 0, payments: vec![] }],
//!     checks: vec![], labels: Default::default(),
//! };
//!
//! let engine = Engine::new(policy)?;
//! let case = r#"{"case_id": "c1", "application_date": "2025-03-12", "income": "21333.33"}"#;
//! let line = engine.evaluate_json(case, &EvalOptions::default()).to_json_line();
//! assert!(line.starts_with(r#"{"case_id":"c1","as_of":"2025-03-12","policy":{"name":"demo""#));
//! assert!(line.ends_with(r#""outputs":{"eligible":true}}"#));
//!
//! let bad = engine.evaluate_json(r#"{"case_id": "c2", "application_date": "2025-02-30", "income": 1}"#, &EvalOptions::default());
//! assert_eq!(bad.error().map(|error| error.code()), Some("case.invalid_field"));
//! # Ok::<(), ereje_runtime::LoadError>(())
//! ```

pub mod case;
mod compiled;
pub mod dates;
mod decimal;
pub mod decision;
pub mod error;
pub mod eval;
pub mod exact;
pub mod explain;
mod intern;
pub mod ir;
mod json_text;
pub mod limits;
mod load;
pub mod native;
pub(crate) mod operations;
pub mod trace;
pub mod value;
pub mod versions;
pub mod whatif;

use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use case::Case;
pub use decision::{CaseFailure, CaseOutcome, Decision, PolicyRef};
pub use error::{CaseError, LoadError};
pub use eval::Scratch;
pub use explain::{explain_case, ExplainOptions, Explanation};
pub use limits::Limits;
pub use trace::{Trace, TraceKind, TraceNode, TraceText};

use crate::error::codes;
use crate::value::Date;

/// How to evaluate a case.
#[derive(Debug, Default, Clone)]
pub struct EvalOptions {
    /// Evaluate as of this date instead of the date in the case's as-of field.
    pub as_of: Option<Date>,
    /// Record the trace of every value the decision used.
    pub trace: bool,
}

/// A loaded, checked policy, ready to evaluate cases. Cheap to clone and shareable across
/// threads.
#[derive(Clone)]
pub struct Engine {
    policy: Arc<ir::Policy>,
    prepared: Arc<operations::Prepared>,
    /// The policy compiled into closures, for evaluations without a trace.
    compiled: Arc<compiled::Program>,
    /// Native code of the policy's shape, when some was given ([`Engine::with_native_code`]):
    /// it evaluates every case, traced or not, that it does not give up on.
    native: Option<Arc<native::Binding>>,
    policy_ref: PolicyRef,
    limits: Limits,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Engine")
            .field("name", &self.policy.name)
            .field("version", &self.policy.version)
            .field("digest", &self.policy_ref.digest)
            .finish()
    }
}

impl Engine {
    /// Checks the IR's format version and that everything it refers to exists, and computes the
    /// policy's digest.
    pub fn new(policy: ir::Policy) -> Result<Engine, LoadError> {
        let prepared = load::prepare(&policy)?;
        let canonical = serde_json::to_vec(&policy).map_err(|failure| {
            LoadError::InvalidIr(format!("the ir cannot be serialized: {failure}"))
        })?;
        let hash = Sha256::digest(&canonical);
        let mut digest = String::with_capacity(7 + 64);
        digest.push_str("sha256:");
        for byte in hash {
            digest.push_str(&format!("{byte:02x}"));
        }
        let policy_ref = PolicyRef {
            name: intern::text(&policy.name),
            version: intern::text(&policy.version),
            digest: intern::text(&digest),
        };
        Ok(Engine::assemble(policy, prepared, policy_ref))
    }

    /// An engine of `policy`, checked and prepared already, whose digest is `policy_ref`'s.
    fn assemble(
        policy: ir::Policy,
        prepared: operations::Prepared,
        policy_ref: PolicyRef,
    ) -> Engine {
        let compiled = compiled::compile(&policy, &prepared);
        Engine {
            policy: Arc::new(policy),
            prepared: Arc::new(prepared),
            compiled: Arc::new(compiled),
            native: None,
            policy_ref,
            limits: Limits::default(),
        }
    }

    /// The same engine evaluating with the first of `code` made for its policy's shape (see
    /// [`native`]), or without native code, as before, when none is: a program passes every
    /// policy version it links (the `POLICIES` of a generated module) and any engine takes
    /// what fits. [`Engine::native_code`] tells which applies.
    pub fn with_native_code(mut self, code: &[&'static native::NativePolicy]) -> Engine {
        self.native = native::Binding::find(&self.policy, code).map(Arc::new);
        self
    }

    /// The native code this engine evaluates with, if any (see [`native`]).
    pub fn native_code(&self) -> Option<&'static native::NativePolicy> {
        self.native.as_ref().map(|binding| binding.code)
    }

    /// The same engine without its native code: it evaluates with the closure evaluator and
    /// the interpreter alone. For benchmarks and tests that compare the evaluators.
    #[doc(hidden)]
    pub fn without_native(mut self) -> Engine {
        self.native = None;
        self
    }

    /// The same engine, reading cases under other [`Limits`].
    pub fn with_limits(mut self, limits: Limits) -> Engine {
        self.limits = limits;
        self
    }

    /// A copy of this engine for another thread that shares no memory with it: its own policy,
    /// tables, compiled code and texts, built again from the same IR (the same digest, the
    /// same decisions).
    ///
    /// Rationale: a clone of an `Engine` is cheap and shares everything, which is right for
    /// most embedders. But evaluation takes and releases references to the engine's shared
    /// texts (output keys, rule names) many times per case; when two cores do that on the same
    /// engine, each reference count moves between their caches every time. A batch gives each
    /// worker thread a replica (measured in `BENCHMARKS.md`).
    ///
    /// The replica's digest and native code are this engine's: the IR is the same, so hashing
    /// it again and matching the native code's shape again (two thirds of the cost of a new
    /// engine, about 11 million instructions a batch worker) would only find them again.
    pub fn replica(&self) -> Result<Engine, LoadError> {
        let policy = (*self.policy).clone();
        let prepared = load::prepare(&policy)?;
        let mut replica =
            Engine::assemble(policy, prepared, self.policy_ref).with_limits(self.limits);
        replica.native = self
            .native
            .as_ref()
            .and_then(|binding| binding.replica(&replica.policy))
            .map(Arc::new);
        Ok(replica)
    }

    /// The limits on the cases this engine reads.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Loads a serialized IR (the JSON of an [`ir::Policy`]).
    pub fn from_json(json: &str) -> Result<Engine, LoadError> {
        let policy: ir::Policy = serde_json::from_str(json)
            .map_err(|failure| LoadError::InvalidJson(failure.to_string()))?;
        Engine::new(policy)
    }

    pub fn policy(&self) -> &ir::Policy {
        &self.policy
    }

    /// `sha256:<lowercase hex>` of the canonical IR JSON.
    pub fn digest(&self) -> &str {
        self.policy_ref.digest
    }

    /// Reads a case against the policy's input record.
    pub fn read_case(&self, json: &str) -> Result<Case, CaseError> {
        case::read_case(&self.policy, &self.limits, json).map_err(|(_, failure)| failure)
    }

    /// Whether the fast case reader alone reads `json` (without it, the checked reader runs):
    /// for benchmarks and tests.
    #[doc(hidden)]
    pub fn fast_reader_reads(&self, json: &str) -> bool {
        case::fast_reader_reads(&self.policy, &self.limits, json)
    }

    /// Reads a case with the checked reader alone, never the fast one: for tests that compare
    /// the two.
    #[doc(hidden)]
    pub fn read_case_checked(&self, json: &str) -> Result<Case, CaseError> {
        case::read_case_checked(&self.policy, &self.limits, json).map_err(|(_, failure)| failure)
    }

    /// Evaluates every declared output for a case.
    pub fn evaluate(&self, case: &Case, options: &EvalOptions) -> Result<Decision, CaseError> {
        self.evaluate_with(case, options, &mut Scratch::default())
    }

    /// Like [`Engine::evaluate`], reusing `scratch`'s buffers (for batches).
    pub fn evaluate_with(
        &self,
        case: &Case,
        options: &EvalOptions,
        scratch: &mut Scratch,
    ) -> Result<Decision, CaseError> {
        let as_of = self.as_of(case, options)?;
        if let Some(native) = &self.native {
            // Native code finishes nearly every case; when it gives up, the interpreter
            // below evaluates the case again and reports what went wrong.
            if let Some(decision) = self.evaluate_natively(native, case, as_of, options, scratch) {
                return Ok(decision);
            }
            return self.interpret(case, as_of, options, scratch);
        }
        if !options.trace {
            // The compiled evaluator finishes nearly every case; when it gives up, the
            // interpreter below evaluates the case again and reports what went wrong.
            let compiled = compiled::evaluate(
                &self.policy,
                &self.compiled,
                &case.root,
                as_of,
                &mut scratch.compiled,
            );
            if let Ok(outputs) = compiled {
                return Ok(self.decision(case, as_of, outputs, None));
            }
        }
        self.interpret(case, as_of, options, scratch)
    }

    /// A decision by native code, or `None` when it gave up.
    fn evaluate_natively(
        &self,
        native: &native::Binding,
        case: &Case,
        as_of: Date,
        options: &EvalOptions,
        scratch: &mut Scratch,
    ) -> Option<Decision> {
        let (outputs, trace) = if options.trace {
            let (outputs, trace) = native
                .evaluate_traced(
                    &self.policy,
                    &self.prepared,
                    &case.root,
                    as_of,
                    scratch.trace_buffers(),
                )
                .ok()?;
            (outputs, Some(trace))
        } else {
            let outputs = native
                .evaluate(&self.policy, &self.prepared, &case.root, as_of)
                .ok()?;
            (outputs, None)
        };
        Some(self.decision(case, as_of, outputs, trace))
    }

    /// The decision for `case` made of its outputs' values (and trace).
    fn decision(
        &self,
        case: &Case,
        as_of: Date,
        outputs: Vec<value::Value>,
        trace: Option<Trace>,
    ) -> Decision {
        Decision {
            case_id: case.case_id.clone(),
            as_of,
            policy: self.policy_ref,
            outputs,
            trace,
            ir: Arc::clone(&self.policy),
        }
    }

    /// Whether native code alone evaluates `case` (without it, the interpreter runs): for
    /// tests and benchmarks. `false` for an engine without native code.
    #[doc(hidden)]
    pub fn native_evaluates(&self, case: &Case, options: &EvalOptions) -> bool {
        match (&self.native, self.as_of(case, options)) {
            (Some(native), Ok(as_of)) => self
                .evaluate_natively(native, case, as_of, options, &mut Scratch::default())
                .is_some(),
            _ => false,
        }
    }

    /// Evaluates a case with the interpreter alone, never the compiled evaluator: for tests and
    /// benchmarks that compare the two.
    #[doc(hidden)]
    pub fn evaluate_interpreted(
        &self,
        case: &Case,
        options: &EvalOptions,
        scratch: &mut Scratch,
    ) -> Result<Decision, CaseError> {
        let as_of = self.as_of(case, options)?;
        self.interpret(case, as_of, options, scratch)
    }

    /// What each evaluator makes of `case`, as text (the decision's JSON with its trace when
    /// `options` asks for one, or the error): the engine's (native code or the compiled
    /// evaluator, the interpreter when they give up) and the interpreter's alone. For tests,
    /// fuzz targets and the bench, which require them equal.
    #[doc(hidden)]
    pub fn evaluator_outcomes(&self, case: &Case, options: &EvalOptions) -> (String, String) {
        let text = |outcome: Result<Decision, CaseError>| match outcome {
            Ok(decision) => decision.to_json_string(),
            Err(failure) => format!("{failure:?}"),
        };
        let mut scratch = Scratch::default();
        let compiled = text(self.evaluate_with(case, options, &mut scratch));
        let interpreted = text(self.evaluate_interpreted(case, options, &mut scratch));
        (compiled, interpreted)
    }

    /// Whether the compiled evaluator alone evaluates `case` (without it, the interpreter runs):
    /// for tests and benchmarks.
    #[doc(hidden)]
    pub fn compiled_evaluates(&self, case: &Case, options: &EvalOptions) -> bool {
        match self.as_of(case, options) {
            Ok(as_of) => compiled::evaluate(
                &self.policy,
                &self.compiled,
                &case.root,
                as_of,
                &mut compiled::CompiledScratch::default(),
            )
            .is_ok(),
            Err(_) => false,
        }
    }

    /// One definition of the policy evaluated alone for a case read as `root` on `as_of`, with
    /// its trace: what an explanation shows of a value the decision did not need (the deadline
    /// of a consent that was refused). `None` when it cannot be evaluated.
    pub fn evaluate_item_traced(
        &self,
        root: &value::Value,
        as_of: value::Date,
        item: ir::ItemId,
    ) -> Option<(value::Value, trace::Trace)> {
        let mut scratch = Scratch::default();
        let mut evaluator = eval::Evaluator::new(
            &self.policy,
            &self.prepared,
            as_of,
            root,
            &mut scratch,
            true,
        );
        let value = evaluator.item_value(item).ok()?;
        let trace = evaluator.take_trace()?;
        Some((value, trace))
    }

    fn interpret(
        &self,
        case: &Case,
        as_of: Date,
        options: &EvalOptions,
        scratch: &mut Scratch,
    ) -> Result<Decision, CaseError> {
        let mut evaluator = eval::Evaluator::new(
            &self.policy,
            &self.prepared,
            as_of,
            &case.root,
            scratch,
            options.trace,
        );
        evaluator.checks().map_err(|failure| *failure)?;
        let outputs = evaluator.outputs().map_err(|failure| *failure)?;
        let trace = evaluator.take_trace();
        Ok(self.decision(case, as_of, outputs, trace))
    }

    fn as_of(&self, case: &Case, options: &EvalOptions) -> Result<Date, CaseError> {
        let as_of = match options.as_of.or(case.as_of) {
            Some(date) => date,
            None => {
                let path = self
                    .policy
                    .input
                    .as_of_field
                    .and_then(|index| {
                        case::record_def(&self.policy, self.policy.input.record)
                            .ok()?
                            .fields
                            .get(index as usize)
                    })
                    .map(|field| {
                        let mut path = String::new();
                        json_text::push_key(&mut path, &field.name);
                        path
                    })
                    .unwrap_or_default();
                return Err(CaseError::new(
                    codes::MISSING_FIELD,
                    path,
                    "the case gives no date to evaluate it as of",
                ));
            }
        };
        if as_of < self.policy.in_force_from {
            return Err(CaseError::new(
                codes::NOT_IN_FORCE,
                "",
                format!(
                    "policy `{}` is in force from {}, not on {as_of}",
                    self.policy.name, self.policy.in_force_from
                ),
            ));
        }
        Ok(as_of)
    }

    /// Reads and evaluates a case; never fails: the outcome is a decision or an error line.
    pub fn evaluate_json(&self, json: &str, options: &EvalOptions) -> CaseOutcome {
        self.evaluate_json_with(json, options, &mut Scratch::default())
    }

    /// Like [`Engine::evaluate_json`], reusing `scratch`'s buffers (for batches).
    pub fn evaluate_json_with(
        &self,
        json: &str,
        options: &EvalOptions,
        scratch: &mut Scratch,
    ) -> CaseOutcome {
        let case = match case::read_case(&self.policy, &self.limits, json) {
            Ok(case) => case,
            Err((case_id, error)) => return CaseOutcome::Error(CaseFailure { case_id, error }),
        };
        match self.evaluate_with(&case, options, scratch) {
            Ok(decision) => CaseOutcome::Decision(decision),
            Err(error) => CaseOutcome::Error(CaseFailure {
                case_id: case.case_id,
                error,
            }),
        }
    }
}
