//! The batch summary: counts, errors by code, counted output values and exact payment totals,
//! tallied by each worker and merged at the end.

use super::*;

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

    pub(super) fn merge(&mut self, other: Summary) {
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
pub(super) struct Tally {
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
    pub(super) fn record(&mut self, engine: &VersionSet, outcome: &CaseOutcome) {
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
    pub(super) fn into_summary(self) -> Summary {
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
    pub(super) fn of(value: &Value) -> Option<Total> {
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
