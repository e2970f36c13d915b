//! `ereje batch`: many cases in, one decision or error line out per input line, in input order.
//!
//! There is no reader or writer thread: `threads` workers (the calling thread is one of them)
//! each repeat three steps, keeping their buffers and their [`Scratch`] for the whole run:
//!
//! - under the input lock, cut the next chunk of lines into the worker's own byte buffer
//!   (noting where each line ends) and take the chunk's number;
//! - without any lock, decide every line, appending each decision or error line to the
//!   worker's output buffer, and count it in the worker's own summary tally;
//! - under the output lock, write the chunk if its turn has come (then every parked chunk that
//!   follows it), or park it in the reordering buffer.
//!
//! Memory stays flat however long the input is: a worker may take chunk `k` only once chunk
//! `k - in_flight_chunks` is written, so no more than [`BatchOptions::in_flight_chunks`] chunks
//! wait at any time, each a few hundred kilobytes of output.
//!
//! Line N of the output answers line N of the input: a blank line gets the error line
//! `case.empty_line`, a line that is not UTF-8 gets `case.invalid_json`, and a bad line never
//! changes or stops its neighbours.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ereje_compiler::versions::VersionSet;
use ereje_runtime::exact::Number;
use ereje_runtime::ir::{JsonLiteral, Policy, Type, TypeDef};
use ereje_runtime::value::Value;
use ereje_runtime::{CaseError, CaseFailure, CaseOutcome, EvalOptions, Scratch};

use crate::csv_input::{CsvLayout, CsvNames, INVALID_ROW};

/// The error code of a blank input line.
pub use ereje_runtime::error::codes::EMPTY_LINE;

/// How to run a batch.
#[derive(Clone)]
pub struct BatchOptions {
    /// The number of worker threads (at least 1).
    pub threads: usize,
    /// Evaluation options (trace, as-of date) for every case.
    pub eval: EvalOptions,
    /// For CSV input: the layout read from the header row; `None` for JSON Lines.
    pub csv: Option<Arc<CsvLayout>>,
    /// Lines per chunk handed to a worker.
    pub chunk_lines: usize,
    /// The most chunks that may exist at once (read, being decided, or waiting to be written).
    pub in_flight_chunks: usize,
    /// The cases to skip at the start of the input (lines, or CSV data rows).
    pub skip: u64,
    /// A progress bar to advance by the bytes read, when the caller shows one.
    pub progress: Option<indicatif::ProgressBar>,
    /// When this holds a number other than 0 (the signal that asked the run to stop), no more
    /// lines are read: the lines read so far are decided and written, and the run ends.
    pub stop: Option<Arc<AtomicUsize>>,
}

impl BatchOptions {
    pub fn new(threads: usize, eval: EvalOptions) -> BatchOptions {
        let threads = threads.max(1);
        // A decision line with its trace is about 35 KB, thirty times one without: fewer lines
        // a chunk keep a chunk at a few hundred kilobytes either way (0.3 MB without traces,
        // 0.55 MB with them), which bounds the reordering buffer's memory and evens out the
        // workers' last chunks. A chunk's cost of locking is a few hundred nanoseconds against
        // 1 ms of evaluation at least.
        let chunk_lines = if eval.trace { 16 } else { 256 };
        BatchOptions {
            threads,
            eval,
            csv: None,
            chunk_lines,
            in_flight_chunks: threads * 4 + 2,
            skip: 0,
            progress: None,
            stop: None,
        }
    }
}

/// What a batch did: counts, errors by code, output values counted and the payments the policy marks
/// (`payments [...]` on an output) totalled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Input lines answered (decisions plus errors).
    pub cases: u64,
    pub decisions: u64,
    /// Error lines by error code.
    pub errors: BTreeMap<String, u64>,
    /// For each counted field (`asp.outcome`, `welfare.category`, …): how many decisions gave
    /// each value. A field is counted when it is named `outcome` or `category` at the top level
    /// of an output object, or when the output itself is a text, enum or boolean.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// For each field the policy marks as a payment (`output asp payments [monthly_total]`), and
    /// each Money output: the sum over all decisions, by path (`asp.monthly_total`).
    pub totals: BTreeMap<String, Total>,
    pub elapsed: Duration,
    /// The process's peak resident memory (VmHWM) at the end, where the system tells it.
    pub peak_memory_bytes: Option<u64>,
    /// Whether the stop flag ([`BatchOptions::stop`]) ended the run before the end of its
    /// input (the lines read were still answered).
    pub stopped_early: bool,
    /// Whether a byte-order mark at the start of the input was skipped.
    pub byte_order_mark_skipped: bool,
    /// Why the run ended before the end of its input, when it did.
    pub interruption: Option<Interruption>,
}

/// A run that ended before the end of its input: by a signal (the lines read were still
/// answered) or by a write error.
#[derive(Debug, Clone, PartialEq)]
pub struct Interruption {
    /// What stopped the run (`SIGTERM`, `a write error: …`).
    pub reason: String,
    /// The output lines written, each a whole answer.
    pub lines_answered: u64,
    /// The `--skip` that resumes the run: the lines skipped before plus the lines answered.
    pub resume_skip: u64,
    /// Where the answered lines are, when they went to a file.
    pub partial_file: Option<std::path::PathBuf>,
}

impl Interruption {
    /// The sentence that says what happened and how to resume.
    pub fn to_text(&self) -> String {
        let kept = match &self.partial_file {
            Some(path) => format!("; they are in `{}`", path.display()),
            None => String::new(),
        };
        format!(
            "the run was stopped ({}): {} lines were answered{kept}; resume with `--skip {}`\n",
            self.reason, self.lines_answered, self.resume_skip
        )
    }
}

impl Summary {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn merge(&mut self, other: Summary) {
        self.cases += other.cases;
        self.decisions += other.decisions;
        for (code, count) in other.errors {
            *self.errors.entry(code).or_default() += count;
        }
        for (path, values) in other.counts {
            let target = self.counts.entry(path).or_default();
            for (value, count) in values {
                *target.entry(value).or_default() += count;
            }
        }
        for (path, total) in other.totals {
            let target = self.totals.entry(path).or_default();
            *target = target.plus(total);
        }
    }

    pub fn cases_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.cases as f64 / seconds
        } else {
            0.0
        }
    }

    /// The summary as one JSON object (keys sorted; Money totals as exact decimal strings).
    pub fn to_json(&self) -> serde_json::Value {
        let totals: serde_json::Map<String, serde_json::Value> = self
            .totals
            .iter()
            .map(|(path, total)| (path.clone(), serde_json::Value::String(total.to_string())))
            .collect();
        let mut json = serde_json::json!({
            "cases": self.cases,
            "decisions": self.decisions,
            "errors": self.error_count(),
            "errors_by_code": self.errors,
            "counts": self.counts,
            "totals": totals,
            "elapsed_seconds": self.elapsed.as_secs_f64(),
            "cases_per_second": self.cases_per_second().round(),
            "peak_memory_bytes": self.peak_memory_bytes,
        });
        // Said only when it happened, so that the summary of a plain run keeps its keys.
        if let Some(object) = json.as_object_mut() {
            if self.byte_order_mark_skipped {
                object.insert("byte_order_mark_skipped".into(), true.into());
            }
            if let Some(interruption) = &self.interruption {
                let partial = interruption
                    .partial_file
                    .as_ref()
                    .map(|path| path.display().to_string());
                object.insert(
                    "interrupted".into(),
                    serde_json::json!({
                        "reason": interruption.reason,
                        "lines_answered": interruption.lines_answered,
                        "resume_skip": interruption.resume_skip,
                        "partial_file": partial,
                    }),
                );
            }
        }
        json
    }

    /// The summary as lines for people.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{} cases in {:.2} s ({:.0} cases/s): {} decisions, {} errors\n",
            self.cases,
            self.elapsed.as_secs_f64(),
            self.cases_per_second(),
            self.decisions,
            self.error_count()
        );
        let join =
            |entries: &mut dyn Iterator<Item = String>| entries.collect::<Vec<_>>().join(", ");
        if !self.errors.is_empty() {
            let listed = join(
                &mut self
                    .errors
                    .iter()
                    .map(|(code, count)| format!("{code} {count}")),
            );
            text.push_str(&format!("  errors: {listed}\n"));
        }
        for (path, values) in &self.counts {
            let listed = join(
                &mut values
                    .iter()
                    .map(|(value, count)| format!("{value} {count}")),
            );
            text.push_str(&format!("  {path}: {listed}\n"));
        }
        for (path, total) in &self.totals {
            text.push_str(&format!("  {path}: total {total}\n"));
        }
        if let Some(bytes) = self.peak_memory_bytes {
            text.push_str(&format!(
                "  peak memory: {:.1} MB\n",
                bytes as f64 / 1_048_576.0
            ));
        }
        if self.byte_order_mark_skipped {
            text.push_str("  the byte order mark (U+FEFF) at the start of the input was skipped\n");
        }
        if let Some(interruption) = &self.interruption {
            text.push_str(&interruption.to_text());
        }
        text
    }

    #[cfg(test)]
    /// Counts and totals one decision or error line: the reference for [`Tally`], which the
    /// batch uses and the tests compare with it.
    pub fn record(&mut self, policy: &Policy, outcome: &CaseOutcome) {
        self.cases += 1;
        let decision = match outcome {
            CaseOutcome::Decision(decision) => decision,
            CaseOutcome::Error(failure) => {
                *self
                    .errors
                    .entry(failure.error.code().to_string())
                    .or_default() += 1;
                return;
            }
        };
        self.decisions += 1;
        for (name, ty, value) in decision.output_entries() {
            match (unwrap_optional(ty), value) {
                (Type::Object(fields), Value::Map(entries)) => {
                    for (key, field_value) in entries.iter() {
                        let Some(field_type) = fields
                            .iter()
                            .find(|(field_name, _)| field_name.as_str() == &**key)
                            .map(|(_, ty)| unwrap_optional(ty))
                        else {
                            continue;
                        };
                        let is_payment = policy.outputs.iter().any(|output| {
                            output.name == name && output.payments.iter().any(|p| *p == **key)
                        });
                        if *field_type == Type::Money && is_payment {
                            self.add_money(name, Some(key), field_value);
                        } else if &**key == "outcome" || &**key == "category" {
                            self.count(policy, name, Some(key), field_type, field_value);
                        }
                    }
                }
                (Type::Money, _) => self.add_money(name, None, value),
                (Type::Text | Type::Bool | Type::Enum(_), _) => {
                    self.count(policy, name, None, unwrap_optional(ty), value)
                }
                _ => {}
            }
        }
    }

    #[cfg(test)]
    fn add_money(&mut self, output: &str, field: Option<&str>, value: &Value) {
        if let Some(amount) = Total::of(value) {
            let total = self.totals.entry(path_of(output, field)).or_default();
            *total = total.plus(amount);
        }
    }

    #[cfg(test)]
    fn count(
        &mut self,
        policy: &Policy,
        output: &str,
        field: Option<&str>,
        ty: &Type,
        value: &Value,
    ) {
        let shown = match value {
            Value::Absent => "null".to_string(),
            Value::Text(text) => text.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Integer(number) => number.to_string(),
            Value::Enum(index) => match (ty, policy.types.get(index_of(ty))) {
                (Type::Enum(_), Some(TypeDef::Enum(definition))) => {
                    match definition
                        .variants
                        .get(*index as usize)
                        .map(|variant| &variant.json)
                    {
                        Some(JsonLiteral::Text(text)) => text.clone(),
                        Some(JsonLiteral::Integer(number)) => number.to_string(),
                        None => index.to_string(),
                    }
                }
                _ => index.to_string(),
            },
            _ => return,
        };
        let values = self.counts.entry(path_of(output, field)).or_default();
        match values.get_mut(&shown) {
            Some(count) => *count += 1,
            None => {
                values.insert(shown, 1);
            }
        }
    }
}

/// A worker's running count of what [`Summary::record`] counts, kept in flat slots so that a
/// case costs no allocation and no map lookup by a formatted path: the path, kind and enum
/// texts of every counted or totalled field are worked out once per policy (a [`SummaryPlan`]),
/// and [`Tally::into_summary`] turns the slots into the summary's maps at the end. It counts
/// exactly what `Summary::record` counts (the tests compare both on every kind of line).
#[derive(Default)]
struct Tally {
    cases: u64,
    decisions: u64,
    /// Error lines by code (a handful of codes: a list is quicker than a map).
    errors: Vec<(String, u64)>,
    /// One plan per policy met, usually one; found by the decision's `Arc`.
    plans: Vec<(Arc<Policy>, SummaryPlan)>,
    /// The Money totals, by slot; `None` until a first amount.
    totals: Vec<(String, Option<Total>)>,
    /// The counted fields, by slot.
    counts: Vec<(String, CountSlot)>,
}

/// For each output of one policy, in order, what the summary takes from its value.
struct SummaryPlan {
    outputs: Vec<OutputPlan>,
}

enum OutputPlan {
    /// An object output: the action for each declared field, in declaration order (the first
    /// field of a name wins, as in `Summary::record`).
    Object(Vec<(String, FieldAction)>),
    Action(FieldAction),
}

#[derive(Clone, Copy)]
enum FieldAction {
    Nothing,
    /// Add a Decimal value to this total slot.
    Total(usize),
    /// Count the value in this count slot.
    Count(usize),
}

/// The counts of one field's values, by kind of value, before they are turned into texts.
#[derive(Default)]
struct CountSlot {
    /// The text shown for each enum variant, when the field's type is an enum of the first
    /// policy (as `Summary::count` shows it); `None` shows the index.
    variant_texts: Option<Vec<String>>,
    absent: u64,
    bools: [u64; 2],
    /// Counts by enum index.
    variants: Vec<u64>,
    /// Texts and integers, by their shown text.
    shown: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, engine: &VersionSet, outcome: &CaseOutcome) {
        self.cases += 1;
        let decision = match outcome {
            CaseOutcome::Decision(decision) => decision,
            CaseOutcome::Error(failure) => {
                let code = failure.error.code();
                match self.errors.iter_mut().find(|(known, _)| known == code) {
                    Some((_, count)) => *count += 1,
                    None => self.errors.push((code.to_string(), 1)),
                }
                return;
            }
        };
        self.decisions += 1;
        // `Summary::record` counts only with a first policy (for its enum texts).
        let Some(first) = engine.first() else {
            return;
        };
        let ir = decision.ir();
        let plan_index = match self
            .plans
            .iter()
            .position(|(policy, _)| Arc::ptr_eq(policy, ir))
        {
            Some(index) => index,
            None => {
                let plan = self.plan(first.policy(), ir);
                self.plans.push((Arc::clone(ir), plan));
                self.plans.len() - 1
            }
        };
        let Some((_, plan)) = self.plans.get(plan_index) else {
            return;
        };
        for (output_plan, value) in plan.outputs.iter().zip(&decision.outputs) {
            match (output_plan, value) {
                (OutputPlan::Object(fields), Value::Map(entries)) => {
                    for (position, (key, field_value)) in entries.iter().enumerate() {
                        // The entries usually come in the declared order: look there first.
                        let action = match fields.get(position) {
                            Some((name, action)) if name.as_str() == &**key => Some(*action),
                            _ => fields
                                .iter()
                                .find(|(name, _)| name.as_str() == &**key)
                                .map(|(_, action)| *action),
                        };
                        if let Some(action) = action {
                            apply(&mut self.totals, &mut self.counts, action, field_value);
                        }
                    }
                }
                (OutputPlan::Object(_), _) => {}
                (OutputPlan::Action(action), value) => {
                    apply(&mut self.totals, &mut self.counts, *action, value)
                }
            }
        }
    }

    /// Works out the plan of policy `ir`, enum texts taken from the `first` policy.
    fn plan(&mut self, first: &Policy, ir: &Policy) -> SummaryPlan {
        let outputs = ir
            .outputs
            .iter()
            .map(|output| {
                let name = output.name.as_str();
                match unwrap_optional(&output.ty) {
                    Type::Object(fields) => OutputPlan::Object(
                        fields
                            .iter()
                            .map(|(field, ty)| {
                                let ty = unwrap_optional(ty);
                                let is_payment = output.payments.iter().any(|p| p == field);
                                let action = if *ty == Type::Money && is_payment {
                                    FieldAction::Total(self.total_slot(name, Some(field)))
                                } else if field == "outcome" || field == "category" {
                                    FieldAction::Count(self.count_slot(
                                        first,
                                        name,
                                        Some(field),
                                        ty,
                                    ))
                                } else {
                                    FieldAction::Nothing
                                };
                                (field.clone(), action)
                            })
                            .collect(),
                    ),
                    Type::Money => {
                        OutputPlan::Action(FieldAction::Total(self.total_slot(name, None)))
                    }
                    ty @ (Type::Text | Type::Bool | Type::Enum(_)) => OutputPlan::Action(
                        FieldAction::Count(self.count_slot(first, name, None, ty)),
                    ),
                    _ => OutputPlan::Action(FieldAction::Nothing),
                }
            })
            .collect();
        SummaryPlan { outputs }
    }

    fn total_slot(&mut self, output: &str, field: Option<&str>) -> usize {
        let path = path_of(output, field);
        match self.totals.iter().position(|(known, _)| *known == path) {
            Some(slot) => slot,
            None => {
                self.totals.push((path, None));
                self.totals.len() - 1
            }
        }
    }

    /// The slot of a counted field. Two fields of one path but different types (two versions
    /// of a policy) get different slots, each showing its values its own way; their counts
    /// meet again in the summary's map by path and shown text.
    fn count_slot(
        &mut self,
        first: &Policy,
        output: &str,
        field: Option<&str>,
        ty: &Type,
    ) -> usize {
        let variant_texts = match (ty, first.types.get(index_of(ty))) {
            (Type::Enum(_), Some(TypeDef::Enum(definition))) => Some(
                definition
                    .variants
                    .iter()
                    .map(|variant| match &variant.json {
                        JsonLiteral::Text(text) => text.clone(),
                        JsonLiteral::Integer(number) => number.to_string(),
                    })
                    .collect::<Vec<String>>(),
            ),
            _ => None,
        };
        let path = path_of(output, field);
        let found = self
            .counts
            .iter()
            .position(|(known, slot)| *known == path && slot.variant_texts == variant_texts);
        match found {
            Some(slot) => slot,
            None => {
                self.counts.push((
                    path,
                    CountSlot {
                        variant_texts,
                        ..CountSlot::default()
                    },
                ));
                self.counts.len() - 1
            }
        }
    }

    /// The summary of what was counted (elapsed time and memory left empty).
    fn into_summary(self) -> Summary {
        let mut summary = Summary {
            cases: self.cases,
            decisions: self.decisions,
            ..Summary::default()
        };
        for (code, count) in self.errors {
            *summary.errors.entry(code).or_default() += count;
        }
        for (path, total) in self.totals {
            if let Some(total) = total {
                let target = summary.totals.entry(path).or_default();
                *target = target.plus(total);
            }
        }
        for (path, slot) in self.counts {
            let mut shown: Vec<(String, u64)> = Vec::new();
            if slot.absent > 0 {
                shown.push(("null".to_string(), slot.absent));
            }
            for (flag, count) in [false, true].into_iter().zip(slot.bools) {
                if count > 0 {
                    shown.push((flag.to_string(), count));
                }
            }
            for (index, count) in slot.variants.iter().enumerate() {
                if *count > 0 {
                    let text = slot
                        .variant_texts
                        .as_ref()
                        .and_then(|texts| texts.get(index).cloned())
                        .unwrap_or_else(|| index.to_string());
                    shown.push((text, *count));
                }
            }
            shown.extend(slot.shown);
            if shown.is_empty() {
                continue;
            }
            let values = summary.counts.entry(path).or_default();
            for (text, count) in shown {
                *values.entry(text).or_default() += count;
            }
        }
        summary
    }
}

/// The exact sum of Money values (a payment field over a batch): a decimal, or a fraction when
/// an amount the policy left unrounded does not terminate. Never rounded and never saturated:
/// a sum past the language's range is `Overflowed`, which the summary says instead of a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Total {
    Exact(Number),
    Overflowed,
}

impl Default for Total {
    fn default() -> Total {
        Total::Exact(Number::ZERO)
    }
}

impl Total {
    /// The amount of a Money value, `None` for a value that is not one (absent).
    fn of(value: &Value) -> Option<Total> {
        value.as_number().map(Total::Exact)
    }

    /// The exact sum of two totals.
    pub fn plus(self, other: Total) -> Total {
        match (self, other) {
            (Total::Exact(left), Total::Exact(right)) => left
                .checked_add(right)
                .map_or(Total::Overflowed, Total::Exact),
            _ => Total::Overflowed,
        }
    }
}

impl std::fmt::Display for Total {
    /// A decimal as it is (`1234.50`), a fraction as decision JSON writes it
    /// (`numerator/denominator`), and `overflow` for a sum past the language's range.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Total::Exact(Number::Decimal(amount)) => write!(formatter, "{amount}"),
            Total::Exact(Number::Ratio(ratio)) => write!(formatter, "{ratio}"),
            Total::Overflowed => formatter.write_str("overflow"),
        }
    }
}

/// The enum indices a count slot counts in its vector.
const MOST_COUNTED_VARIANTS: usize = 4096;

/// Adds `value` to a total or counts it, as `Summary::add_money` and `Summary::count` do.
fn apply(
    totals: &mut [(String, Option<Total>)],
    counts: &mut [(String, CountSlot)],
    action: FieldAction,
    value: &Value,
) {
    match action {
        FieldAction::Nothing => {}
        FieldAction::Total(slot) => {
            if let (Some(amount), Some((_, total))) = (Total::of(value), totals.get_mut(slot)) {
                *total = Some(match total {
                    Some(sum) => sum.plus(amount),
                    None => amount,
                });
            }
        }
        FieldAction::Count(slot) => {
            let Some((_, slot)) = counts.get_mut(slot) else {
                return;
            };
            match value {
                Value::Absent => slot.absent += 1,
                Value::Bool(flag) => {
                    if let Some(count) = slot.bools.get_mut(usize::from(*flag)) {
                        *count += 1;
                    }
                }
                // An index beyond the enum's variants (which a checked policy never gives) is
                // counted by its text, so that the slot's vector stays small.
                Value::Enum(index) if (*index as usize) < MOST_COUNTED_VARIANTS => {
                    let index = *index as usize;
                    if slot.variants.len() <= index {
                        slot.variants.resize(index + 1, 0);
                    }
                    if let Some(count) = slot.variants.get_mut(index) {
                        *count += 1;
                    }
                }
                Value::Enum(index) => {
                    let text = slot
                        .variant_texts
                        .as_ref()
                        .and_then(|texts| texts.get(*index as usize).cloned())
                        .unwrap_or_else(|| index.to_string());
                    *slot.shown.entry(text).or_default() += 1;
                }
                Value::Text(text) => match slot.shown.get_mut(&**text) {
                    Some(count) => *count += 1,
                    None => {
                        slot.shown.insert(text.to_string(), 1);
                    }
                },
                Value::Integer(number) => {
                    *slot.shown.entry(number.to_string()).or_default() += 1;
                }
                _ => {}
            }
        }
    }
}

fn index_of(ty: &Type) -> usize {
    match ty {
        Type::Enum(id) => *id as usize,
        _ => usize::MAX,
    }
}

fn unwrap_optional(ty: &Type) -> &Type {
    match ty {
        Type::Optional(inner) => unwrap_optional(inner),
        other => other,
    }
}

fn path_of(output: &str, field: Option<&str>) -> String {
    match field {
        Some(field) => format!("{output}.{field}"),
        None => output.to_string(),
    }
}

/// The process's peak resident set size, from `/proc/self/status` (Linux); `None` elsewhere.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kilobytes * 1024)
}

/// The input side of a batch, shared by the workers: whoever holds its lock reads the next
/// chunk of lines and gives it the next number.
struct InputSide<R> {
    input: Source<R>,
    next_number: u64,
    /// Set at the end of the input (or on a read error), so that no worker reads again.
    finished: bool,
    /// Set when the stop flag ended the reading before the end of the input.
    stopped: bool,
}

/// Where the cases come from: lines of JSON, or the rows of a CSV file (its header row read).
enum Source<R> {
    Lines(R),
    Csv(csv::Reader<R>),
}

impl<R: BufRead> Source<R> {
    /// The source `options` asks for, its first `options.skip` cases skipped.
    fn new(input: R, options: &BatchOptions) -> io::Result<Source<R>> {
        let mut source = match &options.csv {
            None => Source::Lines(input),
            Some(layout) => Source::Csv(
                csv::ReaderBuilder::new()
                    .delimiter(layout.separator())
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(input),
            ),
        };
        let mut line = Vec::new();
        let mut record = csv::ByteRecord::new();
        for _ in 0..options.skip {
            let more = match &mut source {
                Source::Lines(input) => {
                    line.clear();
                    input.read_until(b'\n', &mut line)? > 0
                }
                Source::Csv(reader) => reader.read_byte_record(&mut record)?,
            };
            if !more {
                break;
            }
        }
        Ok(source)
    }
}

/// The output side of a batch, shared by the workers: whoever holds its lock writes every
/// chunk whose turn has come, and parks a chunk that finished early.
struct OutputSide<'output, W> {
    output: &'output mut W,
    /// The number of the next chunk to write.
    next_to_write: u64,
    /// Chunks decided before their turn, by number, with their line counts.
    waiting: BTreeMap<u64, (String, u64)>,
    /// The lines written so far, and their bytes: whole chunks only.
    lines_written: u64,
    bytes_written: u64,
    /// Emptied output buffers, handed back to workers that park a chunk, so that a run
    /// allocates a bounded number of buffers rather than one per chunk.
    spare: Vec<String>,
}

/// What every worker shares: the two sides, the condition a reader waits on when the
/// reordering window is full, and the first error.
struct Shared<'output, R, W> {
    input: Mutex<InputSide<R>>,
    output: Mutex<OutputSide<'output, W>>,
    /// Signalled each time chunks are written (the window moves) or the run fails.
    written: Condvar,
    /// Set when the run must stop: an input or output error, or a worker that panicked.
    failed: AtomicBool,
    error: Mutex<Option<io::Error>>,
}

impl<R, W> Shared<'_, R, W> {
    /// Records the first error and wakes every waiting worker so that they stop.
    fn fail(&self, error: io::Error) {
        if let Ok(mut slot) = self.error.lock() {
            if slot.is_none() {
                *slot = Some(error);
            }
        }
        self.stop();
    }

    fn stop(&self) {
        self.failed.store(true, AtomicOrdering::SeqCst);
        // Taking the lock orders the flag with a worker that is about to wait, so that it
        // cannot miss the wake-up.
        let _held = self.output.lock();
        self.written.notify_all();
    }

    fn has_failed(&self) -> bool {
        self.failed.load(AtomicOrdering::SeqCst)
    }
}

/// Stops the run if its worker unwinds from a panic, so that the other workers do not wait
/// forever for a chunk that will never be written.
struct StopOnPanic<'shared, 'output, R, W>(&'shared Shared<'output, R, W>);

impl<R, W> Drop for StopOnPanic<'_, '_, R, W> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0
                .fail(io::Error::other("a batch worker thread failed"));
        }
    }
}

/// Decides every line of `input` and writes one line per input line to `output`, in order.
/// Fails only when the input cannot be read or the output cannot be written.
///
/// There is no reader or writer thread: each of the `threads` workers (the calling thread is
/// one of them) takes the input lock to cut the next chunk of lines into a buffer of its own,
/// decides the chunk without any lock, then takes the output lock to write it if its turn has
/// come (with every parked chunk that follows) or to park it. On 2 cores, 2 workers then keep
/// both cores busy with evaluation, instead of sharing them with a reader and a writer thread
/// woken for every chunk. A worker may take chunk `k` only once chunk `k - in_flight_chunks`
/// is written, so memory stays flat however long the input and however slow one chunk.
pub fn run_batch<R, W>(
    engine: &VersionSet,
    input: R,
    output: &mut W,
    options: &BatchOptions,
) -> io::Result<Summary>
where
    R: BufRead + Send,
    W: Write + Send,
{
    run_batch_counting(engine, input, output, options).map_err(|stopped| stopped.error)
}

/// A batch that failed: the error, and the whole output lines written before it (a failed
/// write may have left part of a line after them).
#[derive(Debug)]
pub struct Stopped {
    pub error: io::Error,
    pub lines_written: u64,
    /// The bytes of those whole lines: where to cut a partly written output.
    pub bytes_written: u64,
}

/// [`run_batch`], telling on failure how many output lines were written (each a whole answer,
/// in input order), so that the run can be resumed after them.
pub fn run_batch_counting<R, W>(
    engine: &VersionSet,
    input: R,
    output: &mut W,
    options: &BatchOptions,
) -> Result<Summary, Stopped>
where
    R: BufRead + Send,
    W: Write + Send,
{
    let started = Instant::now();
    let threads = options.threads.max(1);
    let input = Source::new(input, options).map_err(|error| Stopped {
        error,
        lines_written: 0,
        bytes_written: 0,
    })?;
    let shared = Shared {
        input: Mutex::new(InputSide {
            input,
            next_number: 0,
            finished: false,
            stopped: false,
        }),
        output: Mutex::new(OutputSide {
            output,
            next_to_write: 0,
            waiting: BTreeMap::new(),
            lines_written: 0,
            bytes_written: 0,
            spare: Vec::new(),
        }),
        written: Condvar::new(),
        failed: AtomicBool::new(false),
        error: Mutex::new(None),
    };
    let mut summary = std::thread::scope(|scope| {
        let shared = &shared;
        let helpers: Vec<_> = (1..threads)
            .map(|_| scope.spawn(move || work(engine, options, shared)))
            .collect();
        let mut summary = work(engine, options, shared);
        for helper in helpers {
            match helper.join() {
                Ok(part) => summary.merge(part),
                Err(_) => shared.fail(io::Error::other("a batch worker thread failed")),
            }
        }
        summary
    });
    let error = match shared.error.into_inner() {
        Ok(error) => error,
        Err(_) => Some(io::Error::other("a batch worker thread failed")),
    };
    let (output, lines_written, bytes_written) = match shared.output.into_inner() {
        Ok(side) => (side.output, side.lines_written, side.bytes_written),
        Err(_) => {
            return Err(Stopped {
                error: io::Error::other("a batch worker thread failed"),
                lines_written: 0,
                bytes_written: 0,
            })
        }
    };
    let flushed = match error {
        Some(error) => Err(error),
        None => output.flush(),
    };
    if let Err(error) = flushed {
        return Err(Stopped {
            error,
            lines_written,
            bytes_written,
        });
    }
    summary.stopped_early = match shared.input.into_inner() {
        Ok(side) => side.stopped,
        Err(_) => true,
    };
    summary.elapsed = started.elapsed();
    summary.peak_memory_bytes = peak_memory_bytes();
    if let Some(progress) = &options.progress {
        progress.finish_and_clear();
    }
    Ok(summary)
}

/// A worker's buffers, kept for the whole run.
struct WorkerBuffers {
    /// The bytes of the chunk's lines, newlines included.
    bytes: Vec<u8>,
    /// Where each line of `bytes` ends (after its newline, if any).
    line_ends: Vec<usize>,
    /// The chunk's output lines.
    text: String,
    /// The chunk's CSV rows, when the input is CSV: the first `row_count` (the others are
    /// kept for their memory).
    rows: Vec<csv::ByteRecord>,
    row_count: usize,
    /// A CSV row converted to JSON.
    converted: String,
}

/// The input buffer of a worker is given back to the allocator after a chunk larger than
/// this, so that one huge line does not keep its memory for the rest of the run.
const LARGEST_KEPT_INPUT_BUFFER: usize = 16 << 20;

/// One worker: reads, decides and writes chunks until the input ends or the run fails, and
/// returns what it counted.
fn work<R, W>(engine: &VersionSet, options: &BatchOptions, shared: &Shared<'_, R, W>) -> Summary
where
    R: BufRead,
    W: Write,
{
    let _stop_on_panic = StopOnPanic(shared);
    // Each worker decides with its own replica of the engines, so that the workers share no
    // reference counts (see `Engine::replica`); the shared set stays the fallback.
    let replica = engine.replica().ok();
    let engine = replica.as_ref().unwrap_or(engine);
    let chunk_lines = options.chunk_lines.max(1);
    let window = options.in_flight_chunks.max(options.threads.max(1)) as u64;
    let mut scratch = Scratch::default();
    let mut tally = Tally::default();
    let mut buffers = WorkerBuffers {
        bytes: Vec::with_capacity(chunk_lines * 1024),
        line_ends: Vec::with_capacity(chunk_lines),
        text: String::with_capacity(chunk_lines * 1024),
        rows: Vec::new(),
        row_count: 0,
        converted: String::new(),
    };
    while let Some(number) = read_chunk(shared, options, chunk_lines, window, &mut buffers) {
        buffers.text.clear();
        let mut start = 0;
        for &end in &buffers.line_ends {
            let raw = buffers.bytes.get(start..end).unwrap_or_default();
            start = end;
            let outcome = decide_line(engine, options, raw, &mut scratch);
            outcome.write_json_line(&mut buffers.text);
            buffers.text.push('\n');
            tally.record(engine, &outcome);
        }
        for row in buffers.rows.iter().take(buffers.row_count) {
            let outcome = decide_row(engine, options, row, &mut scratch, &mut buffers.converted);
            outcome.write_json_line(&mut buffers.text);
            buffers.text.push('\n');
            tally.record(engine, &outcome);
        }
        let lines = (buffers.line_ends.len() + buffers.row_count) as u64;
        if !write_chunk(shared, number, lines, &mut buffers.text) {
            break;
        }
    }
    tally.into_summary()
}

/// Cuts the next chunk of lines into `buffers` and returns its number; `None` at the end of
/// the input or when the run has failed. Waits, holding the input lock, while the chunk would
/// be more than `window` chunks ahead of the next one to write.
fn read_chunk<R, W>(
    shared: &Shared<'_, R, W>,
    options: &BatchOptions,
    chunk_lines: usize,
    window: u64,
    buffers: &mut WorkerBuffers,
) -> Option<u64>
where
    R: BufRead,
{
    let mut input = shared.input.lock().ok()?;
    if input.finished || shared.has_failed() {
        return None;
    }
    {
        // The output lock is only ever taken after the input lock, never before it, and a
        // worker writing its chunk needs the output lock alone: the wait cannot deadlock.
        let mut output = shared.output.lock().ok()?;
        while input.next_number >= output.next_to_write + window {
            if shared.has_failed() {
                return None;
            }
            output = shared.written.wait(output).ok()?;
        }
    }
    if shared.has_failed() {
        return None;
    }
    if buffers.bytes.capacity() > LARGEST_KEPT_INPUT_BUFFER {
        buffers.bytes = Vec::with_capacity(chunk_lines * 1024);
    }
    buffers.bytes.clear();
    buffers.line_ends.clear();
    buffers.row_count = 0;
    let side = &mut *input;
    let read_before = match &side.input {
        Source::Lines(_) => 0,
        Source::Csv(reader) => reader.position().byte(),
    };
    while buffers.line_ends.len() + buffers.row_count < chunk_lines {
        if options
            .stop
            .as_ref()
            .is_some_and(|stop| stop.load(AtomicOrdering::SeqCst) != 0)
        {
            side.finished = true;
            side.stopped = true;
            break;
        }
        let read = match &mut side.input {
            Source::Lines(lines) => {
                lines
                    .read_until(b'\n', &mut buffers.bytes)
                    .map(|length| match length {
                        0 => false,
                        _ => {
                            buffers.line_ends.push(buffers.bytes.len());
                            true
                        }
                    })
            }
            Source::Csv(reader) => {
                if buffers.rows.len() <= buffers.row_count {
                    buffers.rows.push(csv::ByteRecord::new());
                }
                match buffers.rows.get_mut(buffers.row_count) {
                    Some(row) => reader.read_byte_record(row).map_err(io::Error::from),
                    None => Ok(false),
                }
                .inspect(|more| buffers.row_count += usize::from(*more))
            }
        };
        match read {
            Ok(true) => {}
            Ok(false) => {
                side.finished = true;
                break;
            }
            Err(error) => {
                side.finished = true;
                drop(input);
                shared.fail(error);
                return None;
            }
        }
    }
    if buffers.line_ends.is_empty() && buffers.row_count == 0 {
        return None;
    }
    if let Some(progress) = &options.progress {
        let read = match &side.input {
            Source::Lines(_) => buffers.bytes.len() as u64,
            Source::Csv(reader) => reader.position().byte().saturating_sub(read_before),
        };
        progress.inc(read);
    }
    let number = input.next_number;
    input.next_number += 1;
    Some(number)
}

/// Writes chunk `number` if its turn has come, then every parked chunk that follows it; parks
/// it otherwise (taking a spare buffer in exchange for `text`). Returns `false` when the run has
/// failed.
fn write_chunk<R, W: Write>(
    shared: &Shared<'_, R, W>,
    number: u64,
    lines: u64,
    text: &mut String,
) -> bool {
    let Ok(mut guard) = shared.output.lock() else {
        return false;
    };
    if shared.has_failed() {
        return false;
    }
    let side = &mut *guard;
    if number != side.next_to_write {
        // A new buffer starts at the size of this one, so that it does not grow by doubling.
        let capacity = text.capacity();
        let spare = side
            .spare
            .pop()
            .unwrap_or_else(|| String::with_capacity(capacity));
        let parked = std::mem::replace(text, spare);
        side.waiting.insert(number, (parked, lines));
        return true;
    }
    let mut result = side.output.write_all(text.as_bytes());
    side.next_to_write += 1;
    if result.is_ok() {
        side.lines_written += lines;
        side.bytes_written += text.len() as u64;
    }
    while result.is_ok() {
        let Some((mut parked, parked_lines)) = side.waiting.remove(&side.next_to_write) else {
            break;
        };
        result = side.output.write_all(parked.as_bytes());
        side.next_to_write += 1;
        if result.is_ok() {
            side.lines_written += parked_lines;
            side.bytes_written += parked.len() as u64;
        }
        parked.clear();
        side.spare.push(parked);
    }
    drop(guard);
    match result {
        Ok(()) => {
            shared.written.notify_all();
            true
        }
        Err(error) => {
            shared.fail(error);
            false
        }
    }
}

/// Decides one raw input line of JSON (its newline, if any, included): see
/// [`VersionSet::decide_line`], which the service and the Python package call as well.
pub fn decide_line(
    engine: &VersionSet,
    options: &BatchOptions,
    raw: &[u8],
    scratch: &mut Scratch,
) -> CaseOutcome {
    engine.decide_line(raw, &options.eval, scratch)
}

/// Decides one CSV row through the case JSON it gives (`converted` is the buffer for it). A
/// row of one blank cell is a blank line, as in JSON Lines.
pub fn decide_row(
    engine: &VersionSet,
    options: &BatchOptions,
    row: &csv::ByteRecord,
    scratch: &mut Scratch,
    converted: &mut String,
) -> CaseOutcome {
    let Some(layout) = &options.csv else {
        return failure(
            None,
            CaseError::new(INVALID_ROW, "", "a csv row without a csv header"),
        );
    };
    if row.len() == 1 && row.iter().all(|cell| cell.trim_ascii().is_empty()) {
        return failure(
            None,
            CaseError::new(
                EMPTY_LINE,
                "",
                "the line is empty: every input line must hold one case",
            ),
        );
    }
    converted.clear();
    match layout.row_to_json(row, converted) {
        Ok(()) => engine.decide_json(converted, &options.eval, scratch),
        Err((case_id, error)) => failure(case_id, error),
    }
}

/// Decides the case `json`.
fn failure(case_id: Option<String>, error: CaseError) -> CaseOutcome {
    CaseOutcome::Error(CaseFailure { case_id, error })
}

// ---------------------------------------------------------------------------------------------
// The `ereje batch` command.

pub const BATCH_HELP: &str = "\
Input: JSON Lines (one case object per line), or CSV with `--format csv` or a `.csv` file name.
Output: one line per input line, in input order: the decision JSON, or an error line
  {\"case_id\", \"error\": {\"code\", \"path\", \"message\"}}. A blank line gets the error code
  `case.empty_line`; a CSV row that cannot be cut into the header's cells gets `csv.invalid_row`.
  For CSV, the header row is not a case: output line N answers data row N.
Summary: on stderr at the end (cases, errors by code, every `outcome` and `category` field of the
  outputs counted by value, every Money field totalled, elapsed time, cases/s, peak memory);
  `--summary json` prints it as one JSON object instead. A progress bar is shown when stderr is
  a terminal.
Files: `-o FILE` naming the input (the same file, a hard link or a symlink to it) is refused.
  The output is written to `FILE.partial` and renamed to FILE when the run ends normally, so
  FILE is never a half-written output; a `FILE.partial` left by an earlier run is never
  overwritten. SIGINT or SIGTERM (once: a second one ends the process at once) or a write error
  stops the run with whole lines in `FILE.partial`; the summary says how many lines were
  answered and the `--skip N` that resumes the run. A byte-order mark at the start of the
  input is skipped (the summary says so); one elsewhere, or another invisible character outside
  a JSON string, gets an error line naming it. A key given twice in one object of a case gets
  the error line `case.duplicate_key` with the JSON path of the second one.

CSV (one case per row; the header names the columns in any order; an empty cell is \"not
  given\"; `,` or `;` separated; quoted cells may hold separators, line breaks and `\"\"`):
  the columns are derived from the policy's input record, each field in declaration order:
  a plain field is one column named by its part (its name, or the short name the policy's
  csv.toml gives its dotted path) after the parts of the records above it, joined by `_`;
  a list of records with one money field whose other fields are enums, months, quarters or
  booleans is keyed: `<part>_<key value>…` (a true boolean key is written before the part);
  any other list is numbered: `<part><k>_<column>`, k from 1. For policies/kz, see README.md:
  case_id, vehicles, contract_signed, deposits, mortgage_deposits, expenses_<YYYY-MM>,
  loan<k>_amount, m<k>_birth_date, m<k>_consent, m<k>_income_<kind>_<YYYY-MM>, ...
  Booleans: true/false, yes/no, да/нет, иә/жоқ, 1/0. An unknown column stops the run (exit 2).

Exit codes:
  0  every line got a decision
  1  the policy has errors (they are printed)
  2  a file cannot be read or written, the CSV header is invalid, or bad arguments
  3  some lines got error lines (all lines were still answered)
  130, 143  stopped by SIGINT or SIGTERM (the lines read were answered; see the summary)";

#[derive(clap::Args, Debug)]
pub struct BatchArgs {
    /// The policy directory (holding `ereje.toml`).
    pub policy_dir: std::path::PathBuf,
    /// The cases: a JSON Lines or CSV file, or `-` for stdin.
    pub cases: std::path::PathBuf,
    /// Where to write the output lines (stdout without it).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Add each decision's trace.
    #[arg(long)]
    pub trace: bool,
    /// Worker threads (default: every core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print the summary as JSON (on stderr).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub summary: Option<SummaryFormat>,
    /// The input format (default: `csv` for a `.csv` file name, else `jsonl`).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Evaluate every case as of this date (YYYY-MM-DD) instead of its own.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::parse_date)]
    pub as_of: Option<ereje_runtime::value::Date>,
    /// Decide every case with this version of the policy (default: the version in force on
    /// each case's date).
    #[arg(long, value_name = "NAME")]
    pub version: Option<String>,
    /// What-if: give a parameter another value, on every date or from DATE on; repeatable.
    #[arg(long = "set", value_name = "PARAM=VALUE[@DATE]", value_parser = crate::versions::parse_set)]
    pub sets: Vec<ereje_runtime::whatif::Override>,
    /// The largest case accepted, in bytes (default 1048576); a larger line gets the error
    /// line `case.too_large`.
    #[arg(long, value_name = "BYTES")]
    pub max_case_bytes: Option<usize>,
    /// The deepest nesting of objects and arrays accepted (default 32); a deeper case gets the
    /// error line `case.too_deep`.
    #[arg(long, value_name = "LEVELS")]
    pub max_depth: Option<u32>,
    /// Skip the first N cases (lines, or CSV data rows): resumes a run that was stopped after
    /// answering N of them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub skip: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    Jsonl,
    Csv,
}

fn io_failure(code: &'static str, message: String) -> u8 {
    crate::fail(miette::miette!(code = code, "{message}"))
}

/// Runs `ereje batch` and returns its exit code.
pub fn command(args: &BatchArgs) -> u8 {
    // Before anything is opened for writing, and before the policy is loaded (quick to refuse).
    if let Some(output) = &args.output {
        if let Err(message) = crate::files::refuse_output_over_input(&args.cases, output) {
            return io_failure("io::output", message);
        }
    }
    let limits = crate::limits(args.max_case_bytes, args.max_depth);
    let engine = match crate::versions::load_side_with_limits(
        &args.policy_dir,
        args.version.as_deref(),
        &args.sets,
        limits,
    ) {
        Ok(side) => side.engines,
        Err(code) => return code,
    };
    let from_stdin = args.cases.as_os_str() == "-";
    let format = args.format.unwrap_or_else(|| {
        let csv = args
            .cases
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("csv"));
        if csv {
            InputFormat::Csv
        } else {
            InputFormat::Jsonl
        }
    });
    let (mut input, length): (Box<dyn BufRead + Send>, Option<u64>) = if from_stdin {
        (
            Box::new(io::BufReader::with_capacity(256 * 1024, io::stdin())),
            None,
        )
    } else {
        match std::fs::File::open(&args.cases) {
            Ok(file) => {
                let length = file.metadata().ok().map(|metadata| metadata.len());
                (
                    Box::new(io::BufReader::with_capacity(256 * 1024, file)),
                    length,
                )
            }
            Err(error) => {
                return io_failure(
                    "io::cases",
                    format!(
                        "cannot read the cases file `{}`: {error}",
                        args.cases.display()
                    ),
                )
            }
        }
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let eval = EvalOptions {
        as_of: args.as_of,
        trace: args.trace,
    };
    let mut options = BatchOptions::new(threads, eval);
    let byte_order_mark_skipped = match skip_byte_order_mark(&mut input) {
        Ok(skipped) => skipped,
        Err(error) => {
            return io_failure("io::cases", format!("cannot read the cases: {error}"));
        }
    };
    if format == InputFormat::Csv {
        // The header row is one line: column names hold no line breaks.
        let mut header = Vec::new();
        if let Err(error) = input.read_until(b'\n', &mut header) {
            return io_failure("io::cases", format!("cannot read the CSV header: {error}"));
        }
        let names = match CsvNames::load(&args.policy_dir) {
            Ok(names) => names,
            Err(message) => return io_failure("csv::names", message),
        };
        let Some(first) = engine.first() else {
            return io_failure("csv::header", "the policy has no version".to_string());
        };
        match CsvLayout::from_header(first.policy(), &names, &header) {
            Ok(layout) => options.csv = Some(Arc::new(layout)),
            Err(message) => {
                return io_failure(
                    "csv::header",
                    format!("the CSV header is invalid: {message}"),
                )
            }
        }
    }
    options.skip = args.skip;
    if std::io::IsTerminal::is_terminal(&io::stderr()) {
        let progress = match length {
            Some(length) => {
                let bar = indicatif::ProgressBar::new(length);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                ) {
                    bar.set_style(style);
                }
                bar
            }
            None => {
                let spinner = indicatif::ProgressBar::new_spinner();
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{spinner} {bytes} read {bytes_per_sec}",
                ) {
                    spinner.set_style(style);
                }
                spinner
            }
        };
        options.progress = Some(progress);
    }
    // SIGINT and SIGTERM stop the run between lines; a second one ends the process at once
    // (the conditional shutdown is registered first, so the first signal only arms it).
    let stop = Arc::new(AtomicUsize::new(0));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let armed = Arc::new(AtomicBool::new(false));
        let registered = signal_hook::flag::register_conditional_shutdown(
            signal,
            128 + signal,
            Arc::clone(&armed),
        )
        .and_then(|_| signal_hook::flag::register(signal, armed))
        .and_then(|_| {
            signal_hook::flag::register_usize(signal, Arc::clone(&stop), signal as usize)
        });
        if let Err(error) = registered {
            return io_failure(
                "io::signals",
                format!("cannot watch for signal {signal}: {error}"),
            );
        }
    }
    options.stop = Some(Arc::clone(&stop));
    let mut partial = None;
    let result = match &args.output {
        Some(path) => match crate::files::PartialOutput::create(path) {
            // No `BufWriter`: the workers write whole chunks of lines (a few hundred
            // kilobytes), which a buffer would only copy once more (with traces, that copy was
            // 7 % of the instructions of a case).
            Ok(output) => {
                let output = partial.insert(output);
                run_batch_counting(&engine, input, output.file(), &options)
            }
            Err(message) => return io_failure("io::output", message),
        },
        None => {
            // The workers write, so the writer must be `Send`: `Stdout` is, its lock is not.
            // Its line buffer passes a chunk that ends with a newline straight through when
            // empty, and every chunk ends with one, so chunks are not copied there either.
            let mut writer = io::stdout();
            run_batch_counting(&engine, input, &mut writer, &options)
        }
    };
    let partial_file = partial
        .as_ref()
        .and_then(|output| output.partial().map(Path::to_path_buf));
    let mut summary = match result {
        Ok(summary) => summary,
        // A closed pipe (`ereje batch … | head`) ends the run quietly.
        Err(stopped) if stopped.error.kind() == io::ErrorKind::BrokenPipe => return crate::EXIT_OK,
        Err(stopped) => {
            if let Some(output) = &mut partial {
                // A failed write may have left part of a line: the file keeps whole lines.
                let _ = output.file().set_len(stopped.bytes_written);
            }
            let interruption = Interruption {
                reason: format!("a write error: {}", stopped.error),
                lines_answered: stopped.lines_written,
                resume_skip: args.skip + stopped.lines_written,
                partial_file,
            };
            if let Some(progress) = &options.progress {
                progress.finish_and_clear();
            }
            return io_failure(
                "io::batch",
                format!("the batch stopped: {}", interruption.to_text().trim_end()),
            );
        }
    };
    summary.byte_order_mark_skipped = byte_order_mark_skipped;
    // A signal that came after the last line was read stopped nothing: the run is complete.
    let signal = if summary.stopped_early {
        stop.load(AtomicOrdering::SeqCst)
    } else {
        0
    };
    if signal != 0 {
        summary.interruption = Some(Interruption {
            reason: signal_name(signal),
            lines_answered: summary.cases,
            resume_skip: args.skip + summary.cases,
            partial_file,
        });
    } else if let Some(output) = partial {
        let shown = output
            .partial()
            .map(|path| path.display().to_string())
            .unwrap_or_default();
        if let (Err(error), Some(target)) = (output.finish(), &args.output) {
            return io_failure(
                "io::output",
                format!(
                    "cannot rename `{shown}` to `{}`: {error} (the output is complete in `{shown}`)",
                    target.display()
                ),
            );
        }
    }
    match args.summary {
        Some(SummaryFormat::Json) => crate::print_stderr(&format!("{}\n", summary.to_json())),
        None => crate::print_stderr(&summary.to_text()),
    }
    if signal != 0 {
        // The shell's code for a command ended by that signal.
        (128 + signal).min(255) as u8
    } else if summary.error_count() > 0 {
        crate::EXIT_CASE_ERROR
    } else {
        crate::EXIT_OK
    }
}

/// The name of a signal that stops a batch.
fn signal_name(signal: usize) -> String {
    match i32::try_from(signal) {
        Ok(signal_hook::consts::SIGINT) => "SIGINT".to_string(),
        Ok(signal_hook::consts::SIGTERM) => "SIGTERM".to_string(),
        _ => format!("signal {signal}"),
    }
}

/// Skips a UTF-8 byte-order mark at the start of `input`; says whether there was one.
fn skip_byte_order_mark(input: &mut dyn BufRead) -> io::Result<bool> {
    const MARK: &[u8] = "\u{feff}".as_bytes();
    let buffer = input.fill_buf()?;
    let found = buffer.starts_with(MARK);
    if found {
        input.consume(MARK.len());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_totals_are_exact_sums_of_fractions_and_never_saturate() {
        let third = Value::number(Number::fraction(1, 3).unwrap());
        let mut total = Total::default();
        for _ in 0..3 {
            total = total.plus(Total::of(&third).unwrap());
        }
        assert_eq!(total.to_string(), "1");
        total = total.plus(Total::of(&third).unwrap());
        assert_eq!(total.to_string(), "4/3");
        let largest = Value::Decimal(rust_decimal::Decimal::MAX);
        let past = Total::of(&largest)
            .unwrap()
            .plus(Total::of(&largest).unwrap());
        assert_eq!(past, Total::Overflowed);
        assert_eq!(past.plus(total).to_string(), "overflow");
        assert_eq!(Total::of(&Value::Absent), None);
    }

    /// Generated cases, the same cases broken in several ways, and blank lines.
    fn mixed_lines() -> Vec<String> {
        let mut population = String::new();
        crate::generate::write_population(&mut population, 7, 300);
        let mut lines = Vec::new();
        for (index, line) in population.lines().enumerate() {
            match index % 7 {
                0 => lines.push(String::new()),
                1 => lines.push(line.replacen('"', "", 1)),
                2 => lines.push(line.replacen("\"members\"", "\"member\"", 1)),
                3 => lines.push(line.get(..line.len() / 2).unwrap_or_default().to_string()),
                _ => lines.push(line.to_string()),
            }
        }
        lines
    }

    fn kz() -> VersionSet {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/kz");
        match crate::versions::load_side_with_limits(
            &directory,
            None,
            &[],
            crate::limits(None, None),
        ) {
            Ok(side) => side.engines,
            Err(code) => panic!("policies/kz does not load (exit code {code})"),
        }
    }

    #[test]
    fn the_tally_counts_what_summary_record_counts() {
        let engine = kz();
        let options = BatchOptions::new(1, EvalOptions::default());
        let mut scratch = Scratch::default();
        let mut reference = Summary::default();
        let mut tally = Tally::default();
        let policy = engine.first().map(|first| first.policy().clone());
        for line in mixed_lines() {
            let outcome = decide_line(&engine, &options, line.as_bytes(), &mut scratch);
            if let Some(policy) = &policy {
                reference.record(policy, &outcome);
            }
            tally.record(&engine, &outcome);
        }
        let counted = tally.into_summary();
        assert!(reference.decisions > 0 && reference.error_count() > 0);
        assert!(!reference.counts.is_empty() && !reference.totals.is_empty());
        assert_eq!(counted, reference);
    }

    #[test]
    fn every_thread_count_and_chunk_size_gives_the_same_lines_and_summary() {
        let engine = kz();
        let input = mixed_lines().join("\n") + "\n";
        let run = |threads: usize, chunk_lines: usize, in_flight_chunks: usize| {
            let mut options = BatchOptions::new(threads, EvalOptions::default());
            options.chunk_lines = chunk_lines;
            options.in_flight_chunks = in_flight_chunks;
            let mut output = Vec::new();
            match run_batch(&engine, input.as_bytes(), &mut output, &options) {
                Ok(mut summary) => {
                    summary.elapsed = Duration::ZERO;
                    summary.peak_memory_bytes = None;
                    (output, summary)
                }
                Err(error) => panic!("the batch failed: {error}"),
            }
        };
        let (expected, expected_summary) = run(1, 256, 6);
        assert_eq!(expected.iter().filter(|byte| **byte == b'\n').count(), 300);
        for (threads, chunk_lines, in_flight_chunks) in
            [(2, 1, 1), (2, 7, 2), (3, 5, 3), (4, 64, 9)]
        {
            let (output, summary) = run(threads, chunk_lines, in_flight_chunks);
            assert!(
                output == expected,
                "{threads} threads, {chunk_lines} lines a chunk"
            );
            assert_eq!(summary, expected_summary);
        }
    }

    /// A writer that fails after a few bytes: the batch stops with the error, and no worker
    /// waits forever for a chunk that is never written.
    struct FailingWriter {
        room: usize,
    }

    impl Write for FailingWriter {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.room < bytes.len() {
                return Err(io::Error::other("disk full"));
            }
            self.room -= bytes.len();
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_output_error_stops_every_worker() {
        let engine = kz();
        let input = mixed_lines().join("\n") + "\n";
        let mut options = BatchOptions::new(2, EvalOptions::default());
        options.chunk_lines = 3;
        let mut output = FailingWriter { room: 5000 };
        let result = run_batch(&engine, input.as_bytes(), &mut output, &options);
        assert!(result.is_err());
    }
}
