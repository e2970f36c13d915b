//! Explanations of decisions, as data an embedding application can show.
//!
//! [`explain_case`] evaluates a case with its trace and returns an [`Explanation`]: the outcome,
//! each reason that decided it (the rules of a group collected by `holding` whose ids appear in
//! the outputs) with its messages in every language the policy gives, its legal source and the
//! numbers it was computed from; for a reason that is a comparison, the value, the threshold and
//! the distance between them ("why not"); the nearest change of a fact of the case at which the
//! reason would no longer hold, found from the IR and confirmed by evaluating the changed case
//! again ("what would change it"); the position of every banded value in its bands; the facts of
//! the case the reasons used, with their JSON paths; and the decisive branch of the trace.
//!
//! Everything here is generic over the IR: no rule, parameter or output is named in Rust. Words
//! for people (messages, sources, band labels) come from the policy; the few generic words of an
//! explanation (`above`, `at most`) belong to whoever renders it.

mod bands;
mod change;
mod expr;

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::decision::{CaseFailure, CaseOutcome, Decision};
use crate::ir::{FieldDef, ItemKind, JsonLiteral, Messages, Policy, Type, TypeDef};
use crate::trace::{Trace, TraceKind};
use crate::value::{Date, Value};
use crate::{Engine, EvalOptions};

pub use bands::BandPosition;
pub use change::{Change, ChangeKind, Comparison, Edit, Relation};

/// A value with its unit, written exactly: money and decimals as their decimal text, dates in
/// ISO form. Renderers format it for people (`786 400 ₸`, `12.03.2025`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "unit", content = "value", rename_all = "snake_case")]
pub enum Quantity {
    Money(Decimal),
    Decimal(Decimal),
    Integer(i64),
    Date(Date),
    Month(String),
    Quarter(String),
    Bool(bool),
    Text(String),
    /// A record read from the case, by its JSON path.
    Record(String),
    List(Vec<Quantity>),
    /// Named entries, in order (an object or a map).
    Entries(Vec<(String, Quantity)>),
    /// An optional value that is not there.
    Absent,
}

impl Quantity {
    /// A runtime value with its static type (the type decides money against plain numbers and
    /// enum names against indices).
    pub fn of(policy: &Policy, value: &Value, ty: Option<&Type>) -> Quantity {
        let ty = match ty {
            Some(Type::Optional(inner)) => Some(&**inner),
            other => other,
        };
        match value {
            Value::Absent => Quantity::Absent,
            Value::Bool(flag) => Quantity::Bool(*flag),
            Value::Integer(number) => match ty {
                Some(Type::Money) => Quantity::Money(Decimal::from(*number)),
                Some(Type::Decimal) => Quantity::Decimal(Decimal::from(*number)),
                _ => Quantity::Integer(*number),
            },
            Value::Decimal(number) => {
                let mut number = *number;
                if number.is_zero() {
                    number.set_sign_positive(true);
                }
                match ty {
                    Some(Type::Money) => Quantity::Money(number),
                    _ => Quantity::Decimal(number),
                }
            }
            // A value that does not terminate: its nearest decimal, which renderings show to
            // the places of its type, marked as approximate (`≈ 625,83 ₸`).
            Value::Ratio(ratio) => match ty {
                Some(Type::Money) => Quantity::Money(ratio.approximate()),
                _ => Quantity::Decimal(ratio.approximate()),
            },
            Value::Date(date) => Quantity::Date(*date),
            Value::Month(month) => Quantity::Month(month.to_string()),
            Value::Quarter(quarter) => Quantity::Quarter(quarter.to_string()),
            Value::Text(text) => Quantity::Text(text.to_string()),
            Value::Enum(index) => Quantity::Text(enum_literal(policy, ty, *index)),
            Value::List(items) => {
                let element = match ty {
                    Some(Type::List(element)) => Some(&**element),
                    _ => None,
                };
                Quantity::List(
                    items
                        .iter()
                        .map(|item| Quantity::of(policy, item, element))
                        .collect(),
                )
            }
            Value::Record(record) => match &record.path {
                Some(path) => Quantity::Record(path.to_string()),
                None => {
                    let definition = match ty {
                        Some(Type::Record(id)) => match policy.types.get(*id as usize) {
                            Some(TypeDef::Record(definition)) => Some(definition),
                            _ => None,
                        },
                        _ => None,
                    };
                    Quantity::Entries(
                        record
                            .fields
                            .iter()
                            .enumerate()
                            .map(|(position, field)| {
                                let field_def = definition
                                    .and_then(|definition| definition.fields.get(position));
                                (
                                    field_def.map_or_else(
                                        || position.to_string(),
                                        |field| field.name.clone(),
                                    ),
                                    Quantity::of(policy, field, field_def.map(|field| &field.ty)),
                                )
                            })
                            .collect(),
                    )
                }
            },
            Value::Map(entries) => Quantity::Entries(
                entries
                    .iter()
                    .map(|(key, item)| {
                        let item_ty = match ty {
                            Some(Type::Map(element)) => Some(&**element),
                            Some(Type::Object(fields)) => fields
                                .iter()
                                .find(|(field, _)| **field == **key)
                                .map(|(_, ty)| ty),
                            _ => None,
                        };
                        (key.to_string(), Quantity::of(policy, item, item_ty))
                    })
                    .collect(),
            ),
        }
    }

    /// The number, for money, decimals and integers.
    pub fn number(&self) -> Option<Decimal> {
        match self {
            Quantity::Money(number) | Quantity::Decimal(number) => Some(*number),
            Quantity::Integer(number) => Some(Decimal::from(*number)),
            _ => None,
        }
    }
}

fn enum_literal(policy: &Policy, ty: Option<&Type>, index: u32) -> String {
    let variant = match ty {
        Some(Type::Enum(id)) => match policy.types.get(*id as usize) {
            Some(TypeDef::Enum(definition)) => definition.variants.get(index as usize),
            _ => None,
        },
        _ => None,
    };
    match variant.map(|variant| &variant.json) {
        Some(JsonLiteral::Text(text)) => text.clone(),
        Some(JsonLiteral::Integer(number)) => number.to_string(),
        None => index.to_string(),
    }
}

/// The explanation of one decision.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub case_id: Option<String>,
    pub as_of: Date,
    pub policy: PolicyInfo,
    /// Every output's value, in declaration order: the outcome comes first.
    pub outputs: Vec<(String, Quantity)>,
    /// Each reason that decided the outcome, in the order the outputs list them.
    pub reasons: Vec<Reason>,
    /// The rules the outputs used directly (amounts, kinds, lines), other than the reasons,
    /// with their values, messages and sources.
    pub rules: Vec<AppliedRule>,
    /// Every banded value the decision used (a category from a score), with the way to the
    /// neighbouring bands.
    pub bands: Vec<BandPosition>,
    /// The facts of the case the decisive branch used, with their JSON paths, in order of use.
    pub facts: Vec<Fact>,
    /// The decisive branch of the trace: the reasons' computations, or, when there is no
    /// reason, the computations of every rule that could have been one.
    pub decisive: Vec<TraceBranch>,
    /// The whole trace, when asked for.
    pub full_trace: Option<Vec<TraceBranch>>,
    /// The policy's words for the names the explanation shows (`label` items), by target
    /// (`asp.monthly_total`, `asp.outcome.granted`, `Member.birth_date`).
    pub labels: std::collections::BTreeMap<String, Messages>,
    /// The outputs the policy marks as payments (`output asp payments [monthly_total]`), each
    /// with its payment fields, in declaration order: what a family asked about, which an
    /// explanation opens with.
    pub payments: Vec<(String, Vec<String>)>,
    /// The values an exception gave (the pilot not applied, a welfare override), each with the
    /// exception's rule and what it was computed from.
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// The days the policy's calendars say are not worked, from a week before the earliest date
    /// an override was computed from to its latest date: what a working-day deadline skipped.
    #[serde(default)]
    pub non_working_days: Vec<Date>,
    /// The records of the case's lists that have an `id` (the members), each by its id and its
    /// role as a label target (see [`FactName::owner_role`]): what an output keyed by member
    /// ids is read with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberName>,
}

/// A record of a list of the case by its id and role (`m3`, `Role.child`).
#[derive(Debug, Clone, Serialize)]
pub struct MemberName {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// A value an exception gave instead of the definition's own (`asp_pilot` by `PILOT-CONSENT`).
#[derive(Debug, Clone, Serialize)]
pub struct Override {
    /// The definition whose value the exception gave.
    pub definition: String,
    /// The exception's label, usually the id of a rule (`PILOT-CONSENT`).
    pub exception: String,
    pub value: Quantity,
    /// The rule of the exception's id: its value, its message matching that value (`message
    /// not` when it does not hold) and its source.
    pub rule_value: Option<Quantity>,
    pub messages: Messages,
    pub source: Option<String>,
    /// The definitions, calls and facts of the case the value was computed from, depth first,
    /// each once; a call's arguments name the member it was made for.
    pub basis: Vec<BasisEntry>,
}

/// One value of an override's basis, with its depth below the override (1 for a direct input).
#[derive(Debug, Clone, Serialize)]
pub struct BasisEntry {
    pub depth: usize,
    #[serde(flatten)]
    pub number: Number,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyInfo {
    pub name: String,
    pub version: String,
    pub digest: String,
}

/// A rule that decided the outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    /// The rule id.
    pub rule: String,
    /// The rule's message in each language the policy gives.
    pub messages: Messages,
    /// The legal source.
    pub source: Option<String>,
    /// The values the rule was computed from (its direct inputs in the trace).
    pub numbers: Vec<Number>,
    /// For a rule whose decisive condition is a comparison: both sides and their distance.
    pub comparison: Option<Comparison>,
    /// The other conditions of the rule, which hold (e.g. the pilot applies).
    pub conditions: Vec<String>,
    /// The nearest changes of the case at which the rule would no longer hold, each confirmed
    /// by evaluating the changed case again (unconfirmed candidates are not listed).
    pub changes: Vec<Change>,
    /// The facts of the case the rule used.
    pub facts: Vec<Fact>,
}

/// A rule an output used directly.
#[derive(Debug, Clone, Serialize)]
pub struct AppliedRule {
    pub rule: String,
    pub value: Quantity,
    /// What the rule says for its value: for a Bool rule that does not hold, its
    /// `message not` (never the message that says it holds).
    pub messages: Messages,
    pub source: Option<String>,
    /// The output that used the rule.
    pub output: String,
    /// The values the rule was computed from (its direct inputs in the trace): the steps of a
    /// derivation.
    pub numbers: Vec<Number>,
}

/// A named value the decision used.
#[derive(Debug, Clone, Serialize)]
pub struct Number {
    pub kind: &'static str,
    pub id: String,
    pub value: Quantity,
    pub effective_from: Option<Date>,
    pub source: Option<String>,
    /// For a fact of the case: what it is, as a caseworker names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub named: Option<FactName>,
    /// For a function call, the JSON path of its first record argument (the member it was
    /// made for); `named` then names that member as its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argument: Option<String>,
    /// For a rule or definition that reads records of the case (a sum over incomes): the facts
    /// it read directly, in reading order. A record whose amount was not read was left out, by
    /// the last fact read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<Fact>,
}

/// What a fact of the case is: the label target of its field (`Member.birth_date`) and the id
/// of the member (or other listed record with an `id`) it belongs to, in the case's own ids.
#[derive(Debug, Clone, Serialize)]
pub struct FactName {
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The owner's role as a label target (`Role.child`): the value of the first field of the
    /// owner's record whose type is an enum, when the case gives it. Explanations name the
    /// owner by its id and this value's label (`m3, ребёнок`); which field it is comes from
    /// the policy's record, not from a name known to Rust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_role: Option<String>,
    /// For a field of an enum type: the enum's name, whose values are labelled
    /// (`IncomeKind.salary`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
}

/// A fact read from the case.
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    /// The JSON pointer of the field in the case.
    pub path: String,
    pub value: Quantity,
    /// What the fact is, as a caseworker names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub named: Option<FactName>,
}

/// A node of the trace with the nodes it was computed from. A node met a second time is
/// `repeated` and carries no inputs.
#[derive(Debug, Clone, Serialize)]
pub struct TraceBranch {
    pub kind: &'static str,
    pub id: String,
    pub value: Quantity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeated: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<TraceBranch>,
}

/// What to include in an explanation.
#[derive(Debug, Clone, Default)]
pub struct ExplainOptions {
    /// Evaluate as of this date instead of the case's own.
    pub as_of: Option<Date>,
    /// Include the whole trace, not only the decisive branch.
    pub full_trace: bool,
}

/// Evaluates a case (JSON text) with its trace and explains the decision. A case that cannot be
/// decided gives its error line instead.
pub fn explain_case(
    engine: &Engine,
    case_json: &str,
    options: &ExplainOptions,
) -> Result<Explanation, CaseFailure> {
    let eval_options = EvalOptions {
        as_of: options.as_of,
        trace: true,
    };
    let decision = match engine.evaluate_json(case_json, &eval_options) {
        CaseOutcome::Decision(decision) => decision,
        CaseOutcome::Error(failure) => return Err(failure),
    };
    let case = engine.read_case(case_json).map_err(|error| CaseFailure {
        case_id: decision.case_id.clone(),
        error,
    })?;
    Ok(explain_decision(
        engine,
        case_json,
        case.root(),
        &decision,
        options,
    ))
}

/// Explains a decision evaluated with a trace from `case_json` (read as `root`). Without a trace,
/// the explanation lists the outputs only.
pub fn explain_decision(
    engine: &Engine,
    case_json: &str,
    root: &Value,
    decision: &Decision,
    options: &ExplainOptions,
) -> Explanation {
    let policy = engine.policy();
    let empty = Trace::default();
    let trace = decision.trace.as_ref().unwrap_or(&empty);
    let context = expr::Context::new(policy, trace, root, decision.as_of);
    let outputs = decision
        .output_entries()
        .map(|(name, ty, value)| (name.to_string(), Quantity::of(policy, value, Some(ty))))
        .collect();
    let holding_reasons = reason_ids(policy, &decision.outputs);
    let reevaluate = |json: &str| -> Option<Vec<String>> {
        let options = EvalOptions {
            as_of: options.as_of,
            trace: false,
        };
        match engine.evaluate_json(json, &options) {
            CaseOutcome::Decision(decision) => Some(reason_ids(policy, &decision.outputs)),
            CaseOutcome::Error(_) => None,
        }
    };
    let mut reasons = Vec::new();
    let mut decisive_nodes = Vec::new();
    for rule in &holding_reasons {
        let Some(item_index) = policy
            .items
            .iter()
            .position(|item| item.kind == ItemKind::Rule && item.name == *rule)
        else {
            continue;
        };
        let node = context.item_nodes.get(rule.as_str()).copied();
        if let Some(node) = node {
            decisive_nodes.push(node);
        }
        let analysis = change::analyse(&context, item_index, case_json, &|json| {
            reevaluate(json).map(|reasons| !reasons.contains(rule))
        });
        let item = &policy.items[item_index];
        reasons.push(Reason {
            rule: rule.clone(),
            messages: item.messages.clone(),
            source: item.source.clone(),
            numbers: node.map_or_else(Vec::new, |node| numbers(policy, trace, node)),
            comparison: analysis.comparison,
            conditions: analysis.conditions,
            changes: analysis.changes,
            facts: node.map_or_else(Vec::new, |node| facts(policy, trace, &[node])),
        });
    }
    if decisive_nodes.is_empty() {
        decisive_nodes = candidate_nodes(policy, &context);
    }
    let mut explanation = Explanation {
        case_id: decision.case_id.clone(),
        as_of: decision.as_of,
        policy: PolicyInfo {
            name: decision.policy.name.to_string(),
            version: decision.policy.version.to_string(),
            digest: decision.policy.digest.to_string(),
        },
        outputs,
        reasons,
        rules: applied_rules(policy, trace, &holding_reasons),
        bands: bands::positions(&context),
        facts: facts(policy, trace, &decisive_nodes),
        decisive: branches(policy, trace, &decisive_nodes),
        full_trace: options
            .full_trace
            .then(|| branches(policy, trace, &trace.roots)),
        labels: policy.labels.clone(),
        payments: policy
            .outputs
            .iter()
            .filter(|output| !output.payments.is_empty() || output.ty == Type::Money)
            .map(|output| (output.name.clone(), output.payments.clone()))
            .collect(),
        overrides: overrides(engine, root, decision.as_of, trace),
        non_working_days: Vec::new(),
        members: members(policy, root),
    };
    explanation.non_working_days = non_working_days(policy, &explanation.overrides);
    name_facts(policy, root, &mut explanation);
    explanation
}

/// Names every fact of the case the explanation shows (the facts, and the numbers read from
/// the case) by the field it is and the member it belongs to.
fn name_facts(policy: &Policy, root: &Value, explanation: &mut Explanation) {
    let numbers = explanation
        .reasons
        .iter_mut()
        .flat_map(|reason| reason.numbers.iter_mut())
        .chain(
            explanation
                .rules
                .iter_mut()
                .flat_map(|rule| rule.numbers.iter_mut()),
        );
    for number in numbers {
        if number.id.starts_with('/') {
            number.named = fact_name(policy, root, &number.id);
        }
        for fact in &mut number.facts {
            fact.named = fact_name(policy, root, &fact.path);
        }
    }
    for number in explanation
        .overrides
        .iter_mut()
        .flat_map(|found| found.basis.iter_mut())
        .map(|entry| &mut entry.number)
    {
        match &number.argument {
            Some(argument) => number.named = fact_name(policy, root, argument),
            None if number.id.starts_with('/') => {
                number.named = fact_name(policy, root, &number.id);
            }
            None => {}
        }
    }
    let facts = explanation.facts.iter_mut().chain(
        explanation
            .reasons
            .iter_mut()
            .flat_map(|reason| reason.facts.iter_mut()),
    );
    for fact in facts {
        fact.named = fact_name(policy, root, &fact.path);
    }
}

/// Walks a JSON pointer through the case's types: the last record field it names (as
/// `Record.field`) and the `id` of the last listed record it passes through.
pub fn fact_name(policy: &Policy, root: &Value, path: &str) -> Option<FactName> {
    let mut ty = Type::Record(policy.input.record);
    let mut value = Some(root);
    let mut target = None;
    let mut owner = None;
    let mut owner_role = None;
    for segment in path.split('/').skip(1) {
        if let Type::Optional(inner) = ty {
            ty = *inner;
        }
        match ty {
            Type::Record(id) => {
                let Some(TypeDef::Record(definition)) = policy.types.get(id as usize) else {
                    return None;
                };
                let position = definition
                    .fields
                    .iter()
                    .position(|field| field.name == segment)?;
                let field = definition.fields.get(position)?;
                target = Some(format!("{}.{segment}", definition.name));
                value = match value {
                    Some(Value::Record(record)) => record.fields.get(position),
                    _ => None,
                };
                ty = field.ty.clone();
            }
            Type::List(element) => {
                let index: usize = segment.parse().ok()?;
                value = match value {
                    Some(Value::List(items)) => items.get(index),
                    _ => None,
                };
                ty = *element;
                if let (Type::Record(id), Some(Value::Record(record))) = (&ty, value) {
                    if let Some(TypeDef::Record(definition)) = policy.types.get(*id as usize) {
                        let id_field = definition
                            .fields
                            .iter()
                            .position(|field| field.name == "id");
                        if let Some(Value::Text(text)) =
                            id_field.and_then(|position| record.fields.get(position))
                        {
                            owner = Some(text.to_string());
                            owner_role = role_of(policy, &definition.fields, &record.fields);
                        }
                    }
                }
            }
            _ => return None,
        }
    }
    if let Type::Optional(inner) = ty {
        ty = *inner;
    }
    let values = match ty {
        Type::Enum(id) => match policy.types.get(id as usize) {
            Some(TypeDef::Enum(definition)) => Some(definition.name.clone()),
            _ => None,
        },
        _ => None,
    };
    target.map(|target| FactName {
        target,
        owner,
        owner_role,
        values,
    })
}

/// The records with an `id` in the lists of the case's input record, by id and role.
fn members(policy: &Policy, root: &Value) -> Vec<MemberName> {
    let (Some(TypeDef::Record(input)), Value::Record(case)) =
        (policy.types.get(policy.input.record as usize), root)
    else {
        return Vec::new();
    };
    let mut members = Vec::new();
    for (field, value) in input.fields.iter().zip(case.fields.iter()) {
        let (Type::List(element), Value::List(items)) = (&field.ty, value) else {
            continue;
        };
        let Type::Record(id) = element.as_ref() else {
            continue;
        };
        let Some(TypeDef::Record(definition)) = policy.types.get(*id as usize) else {
            continue;
        };
        let Some(id_position) = definition
            .fields
            .iter()
            .position(|field| field.name == "id")
        else {
            continue;
        };
        for item in items.iter() {
            if let Value::Record(record) = item {
                if let Some(Value::Text(text)) = record.fields.get(id_position) {
                    members.push(MemberName {
                        id: text.to_string(),
                        role: role_of(policy, &definition.fields, &record.fields),
                    });
                }
            }
        }
    }
    members
}

/// The label target of a record's role (`Role.child`): the value of its first enum field, when
/// the record has one and gives it.
fn role_of(policy: &Policy, fields: &[FieldDef], values: &[Value]) -> Option<String> {
    let (position, enum_id) = fields.iter().enumerate().find_map(|(position, field)| {
        let ty = match &field.ty {
            Type::Optional(inner) => inner.as_ref(),
            ty => ty,
        };
        match ty {
            Type::Enum(id) => Some((position, *id)),
            _ => None,
        }
    })?;
    let Some(TypeDef::Enum(definition)) = policy.types.get(enum_id as usize) else {
        return None;
    };
    match values.get(position) {
        Some(Value::Enum(index)) => definition
            .variants
            .get(*index as usize)
            .map(|variant| format!("{}.{}", definition.name, variant.name)),
        _ => None,
    }
}

/// The ids of the rules of groups (the rules `holding(...)` collects) that appear as text in
/// the outputs, in order of first appearance.
pub fn reason_ids(policy: &Policy, outputs: &[Value]) -> Vec<String> {
    let group_rules: HashSet<&str> = policy
        .groups
        .iter()
        .flat_map(|group| group.members.iter())
        .filter_map(|member| policy.items.get(member.item as usize))
        .filter(|item| item.kind == ItemKind::Rule && item.ty == Type::Bool)
        .map(|item| item.name.as_str())
        .collect();
    let mut found: Vec<String> = Vec::new();
    for output in outputs {
        collect_texts(output, &mut |text| {
            if group_rules.contains(text) && !found.iter().any(|seen| seen == text) {
                found.push(text.to_string());
            }
        });
    }
    found
}

fn collect_texts(value: &Value, visit: &mut dyn FnMut(&str)) {
    match value {
        Value::Text(text) => visit(text),
        Value::List(items) => items.iter().for_each(|item| collect_texts(item, visit)),
        Value::Map(entries) => entries
            .iter()
            .for_each(|(_, item)| collect_texts(item, visit)),
        Value::Record(record) => record
            .fields
            .iter()
            .for_each(|item| collect_texts(item, visit)),
        _ => {}
    }
}

/// The trace nodes of every Bool group rule the decision evaluated (the rules that could have
/// been reasons), in group order.
fn candidate_nodes(policy: &Policy, context: &expr::Context<'_>) -> Vec<usize> {
    let mut nodes = Vec::new();
    for member in policy.groups.iter().flat_map(|group| group.members.iter()) {
        let is_bool_rule = policy
            .items
            .get(member.item as usize)
            .is_some_and(|item| item.kind == ItemKind::Rule && item.ty == Type::Bool);
        if let (true, Some(node)) = (is_bool_rule, context.item_node(member.item)) {
            if !nodes.contains(&node) {
                nodes.push(node);
            }
        }
    }
    nodes
}

fn applied_rules(policy: &Policy, trace: &Trace, reasons: &[String]) -> Vec<AppliedRule> {
    let mut seen: Vec<(usize, &str)> = Vec::new();
    for root in trace.roots.iter().filter_map(|root| trace.nodes.get(*root)) {
        for input in trace.inputs(root) {
            let is_rule = trace.nodes.get(*input).is_some_and(|node| {
                node.kind == TraceKind::Rule && !reasons.iter().any(|reason| **reason == *node.id)
            });
            if is_rule && !seen.iter().any(|(index, _)| index == input) {
                seen.push((*input, &*root.id));
            }
        }
    }
    seen.iter()
        .filter_map(|(index, output)| Some((*index, trace.nodes.get(*index)?, *output)))
        .filter_map(|(index, node, output)| {
            let item = policy.items.iter().find(|item| *item.name == *node.id)?;
            let does_not_hold = node.value == Value::Bool(false);
            Some(AppliedRule {
                rule: node.id.to_string(),
                value: Quantity::of(policy, &node.value, node.ty),
                messages: if does_not_hold {
                    item.messages_not.clone()
                } else {
                    item.messages.clone()
                },
                source: item.source.clone(),
                output: output.to_string(),
                numbers: numbers(policy, trace, index),
            })
        })
        .collect()
}

fn numbers(policy: &Policy, trace: &Trace, node: usize) -> Vec<Number> {
    let Some(node) = trace.nodes.get(node) else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    trace
        .inputs(node)
        .iter()
        .filter_map(|input| trace.nodes.get(*input))
        .filter(|input| seen.insert((input.kind.as_str(), &*input.id, trace.path(input))))
        .map(|input| Number {
            kind: input.kind.as_str(),
            id: trace.path(input).unwrap_or(&input.id).to_string(),
            value: Quantity::of(policy, &input.value, input.ty),
            effective_from: input.effective_from,
            source: input.source.as_deref().map(String::from),
            named: None,
            argument: None,
            facts: if matches!(input.kind, TraceKind::Rule | TraceKind::Definition) {
                direct_facts(policy, trace, input)
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// The nodes whose value an exception gave, each with its exception's rule and its basis.
fn overrides(engine: &Engine, root: &Value, as_of: Date, trace: &Trace) -> Vec<Override> {
    let policy = engine.policy();
    let mut out: Vec<Override> = Vec::new();
    for node in &trace.nodes {
        let Some(exception) = node.exception.as_deref() else {
            continue;
        };
        if node.kind != TraceKind::Definition
            || out
                .iter()
                .any(|seen| seen.definition == *node.id && seen.exception == *exception)
        {
            continue;
        }
        let rule_node = trace
            .inputs(node)
            .iter()
            .filter_map(|input| trace.nodes.get(*input))
            .find(|input| input.kind == TraceKind::Rule && *input.id == *exception);
        let item = policy
            .items
            .iter()
            .find(|item| item.kind == ItemKind::Rule && item.name == *exception);
        let does_not_hold = rule_node.is_some_and(|rule| rule.value == Value::Bool(false));
        out.push(Override {
            definition: node.id.to_string(),
            exception: exception.to_string(),
            value: Quantity::of(policy, &node.value, node.ty),
            rule_value: rule_node.map(|rule| Quantity::of(policy, &rule.value, rule.ty)),
            messages: item.map_or_else(Messages::default, |item| {
                if does_not_hold {
                    item.messages_not.clone()
                } else {
                    item.messages.clone()
                }
            }),
            source: item.and_then(|item| item.source.clone()),
            basis: basis(policy, trace, node),
        });
        // When the rule does not hold, the dates it would have been checked against may not have
        // been needed (a refused consent is not compared with its deadline): the date
        // definitions its rule reads, evaluated alone, with the facts they read.
        let (Some(last), Some(item), true) = (out.last_mut(), item, does_not_hold) else {
            continue;
        };
        for id in date_definitions(policy, item) {
            let Some(definition) = policy.items.get(id as usize) else {
                continue;
            };
            if last
                .basis
                .iter()
                .any(|entry| entry.number.id == definition.name)
            {
                continue;
            }
            let Some((_, alone)) = engine.evaluate_item_traced(root, as_of, id) else {
                continue;
            };
            let Some(top) = alone
                .nodes
                .iter()
                .find(|found| found.kind == TraceKind::Definition && *found.id == definition.name)
            else {
                continue;
            };
            last.basis.push(BasisEntry {
                depth: 1,
                number: Number {
                    kind: top.kind.as_str(),
                    id: top.id.to_string(),
                    value: Quantity::of(policy, &top.value, top.ty),
                    effective_from: top.effective_from,
                    source: top.source.as_deref().map(String::from),
                    named: None,
                    argument: None,
                    facts: Vec::new(),
                },
            });
            last.basis
                .extend(basis(policy, &alone, top).into_iter().map(|mut entry| {
                    entry.depth += 1;
                    entry
                }));
        }
    }
    out
}

/// The definitions without parameters of a date type that `item` reads, directly or through
/// the definitions and functions it reads, in the order first met.
fn date_definitions(policy: &Policy, item: &crate::ir::Item) -> Vec<crate::ir::ItemId> {
    let mut seen: Vec<crate::ir::ItemId> = Vec::new();
    let mut stack: Vec<&crate::ir::Item> = vec![item];
    let mut out = Vec::new();
    while let Some(current) = stack.pop() {
        let mut visit = |expr: &crate::ir::Expr| {
            if let crate::ir::Expr::Item(id) | crate::ir::Expr::Call(id, _) = expr {
                if !seen.contains(id) {
                    seen.push(*id);
                }
            }
        };
        match &current.body {
            crate::ir::Body::Expr(expr) => expr.visit(&mut visit),
            crate::ir::Body::Exceptions { base, exceptions } => {
                base.visit(&mut visit);
                for exception in exceptions {
                    exception.condition.visit(&mut visit);
                    exception.value.visit(&mut visit);
                }
            }
        }
        for id in &seen {
            if out.contains(id) {
                continue;
            }
            let Some(found) = policy.items.get(*id as usize) else {
                continue;
            };
            let is_date = matches!(&found.ty, Type::Date)
                || matches!(&found.ty, Type::Optional(inner) if **inner == Type::Date);
            out.push(*id);
            if !(is_date && found.params.is_empty() && found.kind == ItemKind::Definition) {
                stack.push(found);
            }
        }
    }
    out.into_iter()
        .filter(|id| {
            policy.items.get(*id as usize).is_some_and(|found| {
                found.params.is_empty()
                    && found.kind == ItemKind::Definition
                    && (found.ty == Type::Date
                        || matches!(&found.ty, Type::Optional(inner) if **inner == Type::Date))
            })
        })
        .collect()
}

/// The definitions, function calls and facts under `node`, depth first, each once, with their
/// depth below it.
fn basis(policy: &Policy, trace: &Trace, node: &crate::trace::TraceNode) -> Vec<BasisEntry> {
    let mut out: Vec<BasisEntry> = Vec::new();
    let mut visited = vec![false; trace.nodes.len()];
    let mut stack: Vec<(usize, usize)> = trace
        .inputs(node)
        .iter()
        .rev()
        .map(|input| (*input, 1))
        .collect();
    while let Some((index, depth)) = stack.pop() {
        match visited.get_mut(index) {
            Some(flag) if !*flag => *flag = true,
            _ => continue,
        }
        let Some(input) = trace.nodes.get(index) else {
            continue;
        };
        let shown = matches!(
            input.kind,
            TraceKind::Definition | TraceKind::Function | TraceKind::Input
        );
        let id = trace.path(input).unwrap_or(&input.id).to_string();
        // A call's first record argument: the member it was made for, by JSON path.
        let argument = trace.args(input).iter().find_map(|(value, ty)| {
            match Quantity::of(policy, value, ty.as_deref()) {
                Quantity::Record(path) => Some(path),
                _ => None,
            }
        });
        let seen = out
            .iter()
            .any(|entry| entry.number.id == id && entry.number.argument == argument);
        if shown && !seen {
            out.push(BasisEntry {
                depth,
                number: Number {
                    kind: input.kind.as_str(),
                    id,
                    value: Quantity::of(policy, &input.value, input.ty),
                    effective_from: input.effective_from,
                    source: input.source.as_deref().map(String::from),
                    named: None,
                    argument,
                    facts: Vec::new(),
                },
            });
        }
        stack.extend(
            trace
                .inputs(input)
                .iter()
                .rev()
                .map(|child| (*child, depth + 1)),
        );
    }
    out
}

/// The days the policy's calendars do not work (holidays on weekdays, and weekend days not
/// worked) in the two weeks up to each date an override's basis computed (a deadline).
fn non_working_days(policy: &Policy, overrides: &[Override]) -> Vec<Date> {
    use chrono::Datelike;
    let mut out = Vec::new();
    let computed = overrides
        .iter()
        .flat_map(|found| found.basis.iter())
        .filter(|entry| entry.number.kind == "definition")
        .filter_map(|entry| match entry.number.value {
            Quantity::Date(date) => Some(date),
            _ => None,
        });
    for last in computed {
        let mut day = last - chrono::Days::new(14);
        while day <= last {
            for calendar in &policy.calendars {
                let Some(year) = calendar.years.iter().find(|year| year.year == day.year()) else {
                    continue;
                };
                let weekend = matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
                let off = if weekend {
                    !year.working.contains(&day)
                } else {
                    year.non_working.contains(&day)
                };
                if off && !out.contains(&day) {
                    out.push(day);
                }
            }
            day = day + chrono::Days::new(1);
        }
    }
    out.sort();
    out
}

/// The facts of list elements (`/members/0/incomes/1/amount`) a node read directly, each once.
fn direct_facts(policy: &Policy, trace: &Trace, node: &crate::trace::TraceNode) -> Vec<Fact> {
    let mut out: Vec<Fact> = Vec::new();
    for input in trace
        .inputs(node)
        .iter()
        .filter_map(|index| trace.nodes.get(*index))
    {
        let Some(path) = trace.path(input) else {
            continue;
        };
        let in_list = path
            .split('/')
            .any(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()));
        if input.kind == TraceKind::Input && in_list && !out.iter().any(|fact| fact.path == path) {
            out.push(Fact {
                path: path.to_string(),
                value: Quantity::of(policy, &input.value, input.ty),
                named: None,
            });
        }
    }
    out
}

/// The input nodes with a path under `nodes`, each path once, in depth-first order.
fn facts(policy: &Policy, trace: &Trace, nodes: &[usize]) -> Vec<Fact> {
    let mut visited = vec![false; trace.nodes.len()];
    let mut paths = HashSet::new();
    let mut out = Vec::new();
    let mut stack: Vec<usize> = nodes.iter().rev().copied().collect();
    while let Some(index) = stack.pop() {
        match visited.get_mut(index) {
            Some(flag) if !*flag => *flag = true,
            _ => continue,
        }
        let Some(node) = trace.nodes.get(index) else {
            continue;
        };
        if node.kind == TraceKind::Input {
            if let Some(path) = trace.path(node) {
                if paths.insert(path) {
                    out.push(Fact {
                        path: path.to_string(),
                        value: Quantity::of(policy, &node.value, node.ty),
                        named: None,
                    });
                }
            }
        }
        stack.extend(trace.inputs(node).iter().rev().copied());
    }
    out
}

/// The trees under `nodes`; a node met again is marked repeated and not expanded, and
/// identical siblings (the same call made twice) are shown once.
fn branches(policy: &Policy, trace: &Trace, nodes: &[usize]) -> Vec<TraceBranch> {
    let mut expanded = vec![false; trace.nodes.len()];
    nodes
        .iter()
        .filter_map(|node| branch(policy, trace, *node, &mut expanded))
        .collect()
}

fn branch(
    policy: &Policy,
    trace: &Trace,
    index: usize,
    expanded: &mut [bool],
) -> Option<TraceBranch> {
    let node = trace.nodes.get(index)?;
    let repeated = expanded.get(index).copied().unwrap_or(true) && !trace.inputs(node).is_empty();
    if let Some(flag) = expanded.get_mut(index) {
        *flag = true;
    }
    let mut inputs = Vec::new();
    if !repeated {
        let mut siblings: Vec<(TraceKind, &str, &Value, Vec<Quantity>)> = Vec::new();
        for child in trace.inputs(node) {
            let Some(child_node) = trace.nodes.get(*child) else {
                continue;
            };
            let args: Vec<Quantity> = trace
                .args(child_node)
                .iter()
                .map(|(value, ty)| Quantity::of(policy, value, ty.as_deref()))
                .collect();
            let same = siblings.iter().any(|(kind, id, value, seen_args)| {
                *kind == child_node.kind
                    && **id == *child_node.id
                    && **value == child_node.value
                    && *seen_args == args
                    && child_node.kind != TraceKind::Input
            });
            if same {
                continue;
            }
            siblings.push((child_node.kind, &child_node.id, &child_node.value, args));
            if let Some(child_branch) = branch(policy, trace, *child, expanded) {
                inputs.push(child_branch);
            }
        }
    }
    Some(TraceBranch {
        kind: node.kind.as_str(),
        id: node.id.to_string(),
        value: Quantity::of(policy, &node.value, node.ty),
        path: trace.path(node).map(String::from),
        args: trace
            .args(node)
            .iter()
            .map(|(value, ty)| Quantity::of(policy, value, ty.as_deref()))
            .collect(),
        effective_from: node.effective_from,
        source: node.source.as_deref().map(String::from),
        found: node.found,
        label: node.label.as_deref().map(String::from),
        exception: node.exception.as_deref().map(String::from),
        repeated,
        inputs,
    })
}
