//! "Why not" and "what would change it": reading a reason's body in the IR.
//!
//! A reason's body is taken apart at `and` (and at a `match` on a present optional). A numeric or
//! date comparison gives the "why not" (both sides, the distance). Its deciding side is inverted
//! through divisions, multiplications, additions and subtractions by values that do not depend on
//! it, down to a sum over records of the case or to a field of the case; the nearest
//! representable value at which the comparison fails (money has two decimals, dates move by
//! days) is written into the case and the case is evaluated again. A change is reported only when
//! the reason no longer holds in that evaluation. A Bool fact (`not signed`), a match over
//! records of the case (`any(p in purchases where p.date >= …)`) is handled the same way; every
//! other condition is listed as a condition that holds.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::expr::{self, Context, LocalTypes, Locals};
use super::Quantity;
use crate::exact::Number;
use crate::ir::{
    AggregateKind, BinaryOp, Body, Expr, ItemKind, Pattern, RoundingMode, Type, UnaryOp,
};
use crate::trace::TraceKind;
use crate::value::Value;

/// The two sides of a comparison that decided a reason.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The left side as written in the policy (names of items and parameters).
    pub left: String,
    pub left_value: Quantity,
    /// `<`, `<=`, `>` or `>=`.
    pub operator: String,
    pub right: String,
    pub right_value: Quantity,
    /// Where the left side lies against the right one.
    pub relation: Relation,
    /// How far apart they are: an amount for numbers, days for dates.
    pub distance: Quantity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Above,
    Below,
    Equal,
}

/// A change of the case at which a reason would no longer hold.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// What changes: an item summing records of the case (`ASP-COUNTED-INCOME`) or the JSON
    /// path of a fact.
    pub subject: String,
    /// For a sum: the field of the summed records (`amount`).
    pub field: Option<String>,
    pub current: Quantity,
    /// The nearest value at which the reason no longer holds.
    pub value: Quantity,
    /// The condition the new value meets, as the policy compares it (`<` and the threshold the
    /// deciding side is compared with, carried back through the arithmetic).
    pub limit_operator: Option<String>,
    pub limit: Option<Quantity>,
    /// The edits of the case JSON that were evaluated.
    pub edits: Vec<Edit>,
    /// The reason no longer holds when the edited case is evaluated (always true for the
    /// changes of an explanation: unconfirmed candidates are dropped).
    pub confirmed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The value must be at most `value`.
    AtMost,
    /// The value must be at least `value`.
    AtLeast,
    /// The fact must be `value`.
    Set,
    /// The records must not be in the case (or not match).
    Remove,
}

/// One edit of the case JSON: the path, the old value, the new one (`None` when removed).
#[derive(Debug, Clone, Serialize)]
pub struct Edit {
    pub path: String,
    pub from: Option<serde_json::Value>,
    pub to: Option<serde_json::Value>,
}

#[derive(Debug, Default)]
pub(crate) struct Analysis {
    pub(crate) comparison: Option<Comparison>,
    pub(crate) conditions: Vec<String>,
    pub(crate) changes: Vec<Change>,
}

/// Tells whether an edited case (JSON text) no longer has the reason; `None` when the edited
/// case cannot be decided.
pub(crate) type Confirm<'c> = dyn Fn(&str) -> Option<bool> + 'c;

struct Analyser<'a, 'c> {
    context: &'a Context<'a>,
    /// The text each match binding stands for.
    names: Vec<(u32, String)>,
    case_json: &'a str,
    confirm: &'c Confirm<'c>,
    analysis: Analysis,
}

/// Analyses the reason `item` (a Bool rule that holds).
pub(crate) fn analyse(
    context: &Context<'_>,
    item: usize,
    case_json: &str,
    confirm: &Confirm<'_>,
) -> Analysis {
    let Some(item) = context.policy.items.get(item) else {
        return Analysis::default();
    };
    let Body::Expr(body) = &item.body else {
        return Analysis::default();
    };
    let mut analyser = Analyser {
        context,
        names: Vec::new(),
        case_json,
        confirm,
        analysis: Analysis::default(),
    };
    analyser.examine(body, &mut Vec::new(), &mut Vec::new(), 0);
    analyser.analysis
}

/// How deep definitions are followed.
const MAX_DEPTH: usize = 8;

fn strip_conversions(expr: &Expr) -> &Expr {
    match expr {
        Expr::Unary(UnaryOp::IntegerToDecimal | UnaryOp::Retype, inner) => strip_conversions(inner),
        other => other,
    }
}

fn negate(op: BinaryOp) -> Option<BinaryOp> {
    match op {
        BinaryOp::Lt => Some(BinaryOp::Ge),
        BinaryOp::Le => Some(BinaryOp::Gt),
        BinaryOp::Gt => Some(BinaryOp::Le),
        BinaryOp::Ge => Some(BinaryOp::Lt),
        _ => None,
    }
}

/// `a op b` ⇔ `b mirror(op) a`.
fn mirror(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        other => other,
    }
}

/// The side of a comparison the case decides: a sum over records of the case, or a field.
enum Leaf {
    Sum {
        /// The trace node that read the summed fields (the item holding the sum).
        owner: Option<usize>,
        owner_name: String,
        field: String,
        unit: Type,
    },
    Field {
        path: String,
        unit: Type,
        current: Option<Value>,
    },
}

/// What the deciding side must satisfy: `leaf op target`.
struct Requirement {
    leaf: Leaf,
    op: BinaryOp,
    target: Value,
}

impl Analyser<'_, '_> {
    fn examine(&mut self, expr: &Expr, locals: &mut Locals, types: &mut LocalTypes, depth: usize) {
        let policy = self.context.policy;
        match expr {
            Expr::And(left, right) => {
                self.examine(left, locals, types, depth);
                self.examine(right, locals, types, depth);
            }
            Expr::Match { scrutinee, arms } => {
                let value = expr::value_of(self.context, scrutinee, locals);
                let arm = value.as_ref().and_then(|value| {
                    arms.iter().find(|arm| match (&arm.pattern, value) {
                        (Pattern::None, Value::Absent) => true,
                        (Pattern::Some, value) => !value.is_absent(),
                        (Pattern::Wildcard, _) => true,
                        (Pattern::Literal(literal), value) => literal == value,
                        (Pattern::Variant(index), Value::Enum(variant)) => index == variant,
                        _ => false,
                    })
                });
                match (arm, value) {
                    (Some(arm), Some(value)) => {
                        let pushed = arm.bind.is_some();
                        if let Some(slot) = arm.bind {
                            let name = expr::render_named(policy, scrutinee, types, &self.names);
                            self.names.push((slot, name));
                            locals.push((slot, value));
                            let ty = expr::type_of(policy, scrutinee, types).map(|ty| match ty {
                                Type::Optional(inner) => *inner,
                                other => other,
                            });
                            types.push((slot, ty.unwrap_or(Type::Never)));
                        }
                        self.examine(&arm.body, locals, types, depth);
                        if pushed {
                            locals.pop();
                            types.pop();
                            self.names.pop();
                        }
                    }
                    _ => self.condition(expr, types),
                }
            }
            Expr::Item(item)
                if depth < MAX_DEPTH
                    && policy.items.get(*item as usize).is_some_and(|item| {
                        item.kind == ItemKind::Definition && matches!(item.body, Body::Expr(_))
                    }) =>
            {
                if let Some(Body::Expr(body)) =
                    policy.items.get(*item as usize).map(|item| &item.body)
                {
                    self.examine(body, &mut Vec::new(), &mut Vec::new(), depth + 1);
                }
            }
            Expr::Binary(op, left, right) if negate(*op).is_some() => {
                self.comparison(*op, left, right, locals, types, expr);
            }
            Expr::Unary(UnaryOp::Not, inner) => {
                let fact = match strip_conversions(inner) {
                    Expr::Coalesce(value, default) if matches!(**default, Expr::Const(_)) => value,
                    other => other,
                };
                match expr::input_path(policy, fact) {
                    Some(path) => {
                        let current = expr::value_of(self.context, fact, locals);
                        self.set_fact(&path, current, Value::Bool(true));
                    }
                    None => self.condition(expr, types),
                }
            }
            Expr::Field(..) => match expr::input_path(policy, expr) {
                Some(path) => {
                    let current = expr::value_of(self.context, expr, locals);
                    self.set_fact(&path, current, Value::Bool(false));
                }
                None => self.condition(expr, types),
            },
            Expr::Aggregate {
                kind: AggregateKind::Any,
                var,
                list,
                filter: Some(filter),
                ..
            } => self.any_records(*var, list, filter, locals, types, expr),
            _ => self.condition(expr, types),
        }
    }

    fn condition(&mut self, expr: &Expr, types: &LocalTypes) {
        let text = expr::render_named(self.context.policy, expr, types, &self.names);
        self.analysis.conditions.push(text);
    }

    fn comparison(
        &mut self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
        locals: &Locals,
        types: &LocalTypes,
        whole: &Expr,
    ) {
        let policy = self.context.policy;
        let left_value = expr::value_of(self.context, left, locals);
        let right_value = expr::value_of(self.context, right, locals);
        let (Some(left_value), Some(right_value)) = (left_value, right_value) else {
            self.condition(whole, types);
            return;
        };
        let unit = expr::type_of(policy, left, types)
            .filter(|ty| *ty != Type::Decimal)
            .or_else(|| expr::type_of(policy, right, types))
            .or_else(|| expr::type_of(policy, left, types));
        if self.analysis.comparison.is_none() {
            self.analysis.comparison = describe(
                policy,
                &self.names,
                op,
                (left, &left_value),
                (right, &right_value),
                unit.as_ref(),
                types,
            );
        }
        let Some(wanted) = negate(op) else {
            return;
        };
        let requirement = self
            .solve(left, wanted, right_value.clone(), locals, types, None, 0)
            .or_else(|| self.solve(right, mirror(wanted), left_value, locals, types, None, 0));
        let Some(requirement) = requirement else {
            return;
        };
        if let Some(change) = self.apply(&requirement) {
            self.analysis.changes.push(change);
        }
    }

    /// Carries `expr op target` back to a leaf the case decides.
    #[allow(clippy::too_many_arguments)]
    fn solve(
        &self,
        expr: &Expr,
        op: BinaryOp,
        target: Value,
        locals: &Locals,
        types: &LocalTypes,
        owner: Option<(usize, String)>,
        depth: usize,
    ) -> Option<Requirement> {
        if depth > MAX_DEPTH {
            return None;
        }
        let policy = self.context.policy;
        if let Some(path) = expr::input_path(policy, expr) {
            let unit = expr::type_of(policy, expr, types)?;
            let unit = match unit {
                Type::Optional(inner) => *inner,
                other => other,
            };
            let current = expr::value_of(self.context, expr, locals);
            return Some(Requirement {
                leaf: Leaf::Field {
                    path,
                    unit,
                    current,
                },
                op,
                target,
            });
        }
        // Targets are inverted exactly: a target divided by a family size is a ratio.
        let constant = |operand: &Expr| -> Option<Number> {
            expr::value_of(self.context, operand, locals)?.as_number()
        };
        let positive = |value: &Number| value.order(Number::Decimal(Decimal::ZERO)).is_gt();
        let number = target.as_number();
        match expr {
            Expr::Unary(UnaryOp::IntegerToDecimal | UnaryOp::Retype, inner) => {
                self.solve(inner, op, target, locals, types, owner, depth + 1)
            }
            Expr::Item(item) => {
                let definition = policy.items.get(*item as usize)?;
                if definition.kind == ItemKind::Function {
                    return None;
                }
                let Body::Expr(body) = &definition.body else {
                    return None;
                };
                let node = self.context.item_node(*item)?;
                self.solve(
                    body,
                    op,
                    target,
                    &Vec::new(),
                    &Vec::new(),
                    Some((node, definition.name.clone())),
                    depth + 1,
                )
            }
            Expr::Binary(BinaryOp::DivDecimal | BinaryOp::DivInteger, numerator, divisor) => {
                let divisor = constant(divisor).filter(positive)?;
                let target = Value::number(number?.checked_mul(divisor).ok()?);
                self.solve(numerator, op, target, locals, types, owner, depth + 1)
            }
            Expr::Binary(BinaryOp::MulDecimal | BinaryOp::MulInteger, a, b) => {
                let attempt = |x: &Expr, k: &Expr| {
                    let factor = constant(k).filter(positive)?;
                    let target = Value::number(number?.checked_div(factor).ok()??);
                    self.solve(x, op, target, locals, types, owner.clone(), depth + 1)
                };
                attempt(a, b).or_else(|| attempt(b, a))
            }
            Expr::Binary(BinaryOp::AddDecimal | BinaryOp::AddInteger, a, b) => {
                let attempt = |x: &Expr, k: &Expr| {
                    let target = Value::number(number?.checked_sub(constant(k)?).ok()?);
                    self.solve(x, op, target, locals, types, owner.clone(), depth + 1)
                };
                attempt(a, b).or_else(|| attempt(b, a))
            }
            Expr::Binary(BinaryOp::SubDecimal | BinaryOp::SubInteger, a, b) => {
                let target_a = number
                    .and_then(|number| number.checked_add(constant(b)?).ok())
                    .map(Value::number);
                target_a
                    .and_then(|target| {
                        self.solve(a, op, target, locals, types, owner.clone(), depth + 1)
                    })
                    .or_else(|| {
                        let target = Value::number(constant(a)?.checked_sub(number?).ok()?);
                        self.solve(
                            b,
                            mirror(op),
                            target,
                            locals,
                            types,
                            owner.clone(),
                            depth + 1,
                        )
                    })
            }
            Expr::Aggregate {
                kind: AggregateKind::SumDecimal | AggregateKind::SumInteger,
                var,
                list,
                body: Some(body),
                ..
            } => {
                let Expr::Field(record, index) = strip_conversions(body) else {
                    return None;
                };
                if !matches!(**record, Expr::Local(slot) if slot == *var) {
                    return None;
                }
                let element = match expr::type_of(policy, list, types)? {
                    Type::List(element) => *element,
                    Type::Optional(inner) => match *inner {
                        Type::List(element) => *element,
                        _ => return None,
                    },
                    _ => return None,
                };
                let field = expr::field_def(policy, &element, *index)?;
                let unit = match &field.ty {
                    Type::Optional(inner) => (**inner).clone(),
                    other => other.clone(),
                };
                let (owner, owner_name) = match owner {
                    Some((node, name)) => (Some(node), name),
                    None => (None, expr::render(policy, expr, types)),
                };
                Some(Requirement {
                    leaf: Leaf::Sum {
                        owner,
                        owner_name,
                        field: field.name.clone(),
                        unit,
                    },
                    op,
                    target,
                })
            }
            _ => None,
        }
    }

    /// Turns a requirement into edits of the case, evaluates them and keeps the change only
    /// when the reason no longer holds.
    fn apply(&self, requirement: &Requirement) -> Option<Change> {
        let (unit, subject, field) = match &requirement.leaf {
            Leaf::Sum {
                owner_name,
                field,
                unit,
                ..
            } => (unit, owner_name.clone(), Some(field.clone())),
            Leaf::Field { path, unit, .. } => (unit, path.clone(), None),
        };
        let value = nearest(requirement.op, &requirement.target, unit)?;
        let kind = match requirement.op {
            BinaryOp::Lt | BinaryOp::Le => ChangeKind::AtMost,
            _ => ChangeKind::AtLeast,
        };
        let (current, edits) = match &requirement.leaf {
            Leaf::Sum { owner, field, .. } => {
                let records = self.summed_fields(*owner, field);
                let current: Decimal = records.iter().map(|(_, amount)| *amount).sum();
                let new_total = value.as_decimal()?;
                (
                    Value::Decimal(current),
                    spread(&records, current, new_total, unit)?,
                )
            }
            Leaf::Field { path, current, .. } => (
                current.clone().unwrap_or(Value::Absent),
                vec![Edit {
                    path: path.clone(),
                    from: self.json_at(path),
                    to: Some(json_of(&value, unit)?),
                }],
            ),
        };
        let confirmed = self.evaluate(&edits)?;
        confirmed.then(|| Change {
            kind,
            subject,
            field,
            current: Quantity::of(self.context.policy, &current, Some(unit)),
            value: Quantity::of(self.context.policy, &value, Some(unit)),
            limit_operator: Some(expr::operator_symbol(requirement.op).to_string()),
            limit: Some(Quantity::of(
                self.context.policy,
                &requirement.target,
                Some(unit),
            )),
            edits,
            confirmed,
        })
    }

    /// The summed fields the owner node read, as (JSON path, amount).
    fn summed_fields(&self, owner: Option<usize>, field: &str) -> Vec<(String, Decimal)> {
        let trace = self.context.trace;
        let Some(owner) = owner.and_then(|owner| trace.nodes.get(owner)) else {
            return Vec::new();
        };
        let suffix = format!("/{field}");
        let mut out: Vec<(String, Decimal)> = Vec::new();
        for node in trace
            .inputs(owner)
            .iter()
            .filter_map(|input| trace.nodes.get(*input))
        {
            if node.kind != TraceKind::Input {
                continue;
            }
            let (Some(path), Some(amount)) = (trace.path(node), node.value.as_decimal()) else {
                continue;
            };
            if path.ends_with(&suffix) && !out.iter().any(|(seen, _)| seen == path) {
                out.push((path.to_string(), amount));
            }
        }
        out
    }

    fn set_fact(&mut self, path: &str, current: Option<Value>, value: Value) {
        let edits = vec![Edit {
            path: path.to_string(),
            from: self.json_at(path),
            to: json_of(&value, &Type::Bool),
        }];
        if self.evaluate(&edits) == Some(true) {
            self.analysis.changes.push(Change {
                kind: ChangeKind::Set,
                subject: path.to_string(),
                field: None,
                current: Quantity::of(
                    self.context.policy,
                    &current.unwrap_or(Value::Absent),
                    Some(&Type::Bool),
                ),
                value: Quantity::of(self.context.policy, &value, Some(&Type::Bool)),
                limit_operator: None,
                limit: None,
                edits,
                confirmed: true,
            });
        }
    }

    /// `any(x in list where filter)` over records of the case: the records that match would
    /// have to stop matching: the nearest value of a compared field, else their absence.
    fn any_records(
        &mut self,
        var: u32,
        list: &Expr,
        filter: &Expr,
        locals: &mut Locals,
        types: &mut LocalTypes,
        whole: &Expr,
    ) {
        let policy = self.context.policy;
        let Some(Value::List(elements)) = expr::value_of(self.context, list, locals) else {
            self.condition(whole, types);
            return;
        };
        let element_type = match expr::type_of(policy, list, types) {
            Some(Type::List(element)) => *element,
            Some(Type::Optional(inner)) => match *inner {
                Type::List(element) => *element,
                _ => Type::Never,
            },
            _ => Type::Never,
        };
        let mut matching: Vec<(String, Value)> = Vec::new();
        for element in elements.iter() {
            locals.push((var, element.clone()));
            let holds = expr::value_of(self.context, filter, locals) == Some(Value::Bool(true));
            locals.pop();
            if let (true, Value::Record(record)) = (holds, element) {
                if let Some(path) = &record.path {
                    matching.push((path.to_string(), element.clone()));
                }
            }
        }
        if matching.is_empty() {
            self.condition(whole, types);
            return;
        }
        let mut conjuncts = Vec::new();
        flatten_and(filter, &mut conjuncts);
        types.push((var, element_type.clone()));
        for conjunct in conjuncts {
            let Expr::Binary(op, left, right) = conjunct else {
                continue;
            };
            let Some(wanted) = negate(*op) else {
                continue;
            };
            let on_var = |side: &Expr| match strip_conversions(side) {
                Expr::Field(record, index) if matches!(**record, Expr::Local(slot) if slot == var) => {
                    Some(*index)
                }
                _ => None,
            };
            let (index, other, wanted) = match (on_var(left), on_var(right)) {
                (Some(index), None) => (index, &**right, wanted),
                (None, Some(index)) => (index, &**left, mirror(wanted)),
                _ => continue,
            };
            let Some(field) = expr::field_def(policy, &element_type, index) else {
                continue;
            };
            let unit = match &field.ty {
                Type::Optional(inner) => (**inner).clone(),
                other => other.clone(),
            };
            let mut edits = Vec::new();
            let mut currents = Vec::new();
            let mut value = None;
            for (path, element) in &matching {
                locals.push((var, element.clone()));
                let bound = expr::value_of(self.context, other, locals);
                locals.pop();
                let Some(new_value) = bound.and_then(|bound| nearest(wanted, &bound, &unit)) else {
                    continue;
                };
                let field_path = format!("{path}/{}", field.name);
                if let Value::Record(record) = element {
                    if let Some(current) = record.fields.get(index as usize) {
                        currents.push(Quantity::of(policy, current, Some(&unit)));
                    }
                }
                if let Some(json) = json_of(&new_value, &unit) {
                    edits.push(Edit {
                        from: self.json_at(&field_path),
                        path: field_path,
                        to: Some(json),
                    });
                }
                value = Some(new_value);
            }
            let Some(value) = value else {
                continue;
            };
            if edits.len() != matching.len() || self.evaluate(&edits) != Some(true) {
                continue;
            }
            let subject = edits
                .iter()
                .map(|edit| edit.path.clone())
                .collect::<Vec<_>>()
                .join(", ");
            self.analysis.changes.push(Change {
                kind: match wanted {
                    BinaryOp::Lt | BinaryOp::Le => ChangeKind::AtMost,
                    _ => ChangeKind::AtLeast,
                },
                subject,
                field: Some(field.name.clone()),
                current: if currents.len() == 1 {
                    currents.remove(0)
                } else {
                    Quantity::List(currents)
                },
                value: Quantity::of(policy, &value, Some(&unit)),
                limit_operator: Some(expr::operator_symbol(wanted).to_string()),
                limit: None,
                edits,
                confirmed: true,
            });
            types.pop();
            return;
        }
        types.pop();
        // No compared field flips it: the matching records would have to be absent.
        let mut edits: Vec<Edit> = matching
            .iter()
            .map(|(path, _)| Edit {
                path: path.clone(),
                from: self.json_at(path),
                to: None,
            })
            .collect();
        edits.reverse();
        if self.evaluate(&edits) == Some(true) {
            self.analysis.changes.push(Change {
                kind: ChangeKind::Remove,
                subject: matching
                    .iter()
                    .map(|(path, _)| path.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
                field: None,
                current: Quantity::List(
                    matching
                        .iter()
                        .map(|(path, _)| Quantity::Record(path.clone()))
                        .collect(),
                ),
                value: Quantity::Absent,
                limit_operator: None,
                limit: None,
                edits,
                confirmed: true,
            });
        } else {
            self.condition(whole, types);
        }
    }

    fn json_at(&self, path: &str) -> Option<serde_json::Value> {
        let json: serde_json::Value = serde_json::from_str(self.case_json).ok()?;
        json.pointer(path).cloned()
    }

    /// Applies the edits to the case JSON and evaluates it: whether the reason is gone.
    fn evaluate(&self, edits: &[Edit]) -> Option<bool> {
        let mut json: serde_json::Value = serde_json::from_str(self.case_json).ok()?;
        for edit in edits {
            match &edit.to {
                Some(value) => set_pointer(&mut json, &edit.path, value.clone())?,
                None => remove_pointer(&mut json, &edit.path)?,
            }
        }
        let text = serde_json::to_string(&json).ok()?;
        (self.confirm)(&text)
    }
}

fn flatten_and<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    match expr {
        Expr::And(left, right) => {
            flatten_and(left, out);
            flatten_and(right, out);
        }
        other => out.push(other),
    }
}

fn describe(
    policy: &crate::ir::Policy,
    names: &[(u32, String)],
    op: BinaryOp,
    left: (&Expr, &Value),
    right: (&Expr, &Value),
    unit: Option<&Type>,
    types: &LocalTypes,
) -> Option<Comparison> {
    let (relation, distance) = match (left.1, right.1) {
        (Value::Date(a), Value::Date(b)) => {
            let days = (*a - *b).num_days();
            (
                match days.signum() {
                    1 => Relation::Above,
                    -1 => Relation::Below,
                    _ => Relation::Equal,
                },
                Quantity::Integer(days.abs()),
            )
        }
        (a, b) => {
            let difference = a.as_number()?.checked_sub(b.as_number()?).ok()?;
            let relation = match difference.order(Number::Decimal(Decimal::ZERO)) {
                std::cmp::Ordering::Greater => Relation::Above,
                std::cmp::Ordering::Less => Relation::Below,
                std::cmp::Ordering::Equal => Relation::Equal,
            };
            (
                relation,
                Quantity::of(policy, &Value::number(difference.abs()), unit),
            )
        }
    };
    Some(Comparison {
        left: expr::render_named(policy, left.0, types, names),
        left_value: Quantity::of(policy, left.1, unit),
        operator: expr::operator_symbol(op).to_string(),
        right: expr::render_named(policy, right.0, types, names),
        right_value: Quantity::of(policy, right.1, unit),
        relation,
        distance,
    })
}

/// The representable value nearest to `target` that meets `value op target`: money and
/// decimals have two decimal places, integers are whole, dates move by days.
fn nearest(op: BinaryOp, target: &Value, unit: &Type) -> Option<Value> {
    match (unit, target) {
        (Type::Date, Value::Date(date)) => {
            let days = match op {
                BinaryOp::Lt => -1,
                BinaryOp::Gt => 1,
                _ => 0,
            };
            crate::dates::add_days(*date, days).map(Value::Date)
        }
        (Type::Integer, target) => {
            let (floor, ceiling, whole) = floor_and_ceiling(target.as_number()?, 0)?;
            let value = match op {
                BinaryOp::Lt if whole => floor - Decimal::ONE,
                BinaryOp::Lt | BinaryOp::Le => floor,
                BinaryOp::Gt if whole => ceiling + Decimal::ONE,
                _ => ceiling,
            };
            i64::try_from(value).ok().map(Value::Integer)
        }
        (_, target) => {
            let step = Decimal::new(1, 2);
            let (floor, ceiling, whole) = floor_and_ceiling(target.as_number()?, 2)?;
            let value = match op {
                BinaryOp::Lt if whole => floor - step,
                BinaryOp::Lt | BinaryOp::Le => floor,
                BinaryOp::Gt if whole => ceiling + step,
                _ => ceiling,
            };
            Some(Value::Decimal(value.normalize()))
        }
    }
}

/// The largest value of `places` decimal places at or below `target` and the smallest at or
/// above it, exactly, and whether `target` is one of them.
fn floor_and_ceiling(target: Number, places: u32) -> Option<(Decimal, Decimal, bool)> {
    let toward_zero = target.round(places, RoundingMode::Down).ok()?;
    let away = target.round(places, RoundingMode::Up).ok()?;
    let whole = Number::Decimal(toward_zero).order(target).is_eq();
    let (floor, ceiling) = if target.is_negative() {
        (away, toward_zero)
    } else {
        (toward_zero, away)
    };
    Some((floor, ceiling, whole))
}

/// Edits that make the summed amounts total `new_total`: each amount scaled by the same factor
/// (rounded down to the cent), the remainder added to the largest; with nothing to scale, the
/// whole total on the first record.
fn spread(
    records: &[(String, Decimal)],
    current: Decimal,
    new_total: Decimal,
    unit: &Type,
) -> Option<Vec<Edit>> {
    if records.is_empty() || new_total < Decimal::ZERO {
        return None;
    }
    let places = if *unit == Type::Integer { 0 } else { 2 };
    let mut amounts: Vec<Decimal> = if current > Decimal::ZERO {
        records
            .iter()
            .map(|(_, amount)| {
                (amount * new_total / current)
                    .round_dp_with_strategy(places, RoundingStrategy::ToZero)
            })
            .collect()
    } else {
        let mut amounts = vec![Decimal::ZERO; records.len()];
        if let Some(first) = amounts.first_mut() {
            *first = new_total;
        }
        amounts
    };
    // Rounding down lost less than one step per record: give the steps back one by one.
    let step = if places == 0 {
        Decimal::ONE
    } else {
        Decimal::new(1, 2)
    };
    let mut remainder = new_total - amounts.iter().copied().sum::<Decimal>();
    for amount in amounts.iter_mut() {
        if remainder < step {
            break;
        }
        *amount += step;
        remainder -= step;
    }
    if let Some(first) = amounts.first_mut() {
        *first += remainder;
    }
    records
        .iter()
        .zip(amounts)
        .filter(|((_, old), new)| old != new)
        .map(|((path, old), new)| {
            Some(Edit {
                path: path.clone(),
                from: json_of(&Value::Decimal(*old), unit),
                to: json_of(&Value::Decimal(new), unit),
            })
        })
        .collect()
}

/// A value as case JSON: money and decimals as exact strings, dates in ISO form.
fn json_of(value: &Value, unit: &Type) -> Option<serde_json::Value> {
    match (value, unit) {
        (Value::Bool(flag), _) => Some(serde_json::Value::Bool(*flag)),
        (Value::Date(date), _) => Some(serde_json::Value::String(date.to_string())),
        (Value::Integer(number), _) => Some(serde_json::Value::from(*number)),
        (Value::Decimal(number), Type::Integer) => {
            i64::try_from(*number).ok().map(serde_json::Value::from)
        }
        (Value::Decimal(number), _) => {
            Some(serde_json::Value::String(number.normalize().to_string()))
        }
        _ => None,
    }
}

fn pointer_segments(path: &str) -> Vec<String> {
    path.split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Sets the value at a JSON pointer, creating the objects on the way.
fn set_pointer(json: &mut serde_json::Value, path: &str, value: serde_json::Value) -> Option<()> {
    let segments = pointer_segments(path);
    let (last, parents) = segments.split_last()?;
    let mut current = json;
    for segment in parents {
        current = match current {
            serde_json::Value::Object(map) => {
                let entry = map
                    .entry(segment.clone())
                    .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                if entry.is_null() {
                    *entry = serde_json::Value::Object(serde_json::Map::new());
                }
                entry
            }
            serde_json::Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match current {
        serde_json::Value::Object(map) => {
            map.insert(last.clone(), value);
            Some(())
        }
        serde_json::Value::Array(items) => {
            *items.get_mut(last.parse::<usize>().ok()?)? = value;
            Some(())
        }
        _ => None,
    }
}

/// Removes the value at a JSON pointer (an array element or an object key).
fn remove_pointer(json: &mut serde_json::Value, path: &str) -> Option<()> {
    let segments = pointer_segments(path);
    let (last, parents) = segments.split_last()?;
    let mut current = json;
    for segment in parents {
        current = match current {
            serde_json::Value::Object(map) => map.get_mut(segment)?,
            serde_json::Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match current {
        serde_json::Value::Object(map) => map.remove(last).map(|_| ()),
        serde_json::Value::Array(items) => {
            let index = last.parse::<usize>().ok()?;
            (index < items.len()).then(|| {
                items.remove(index);
            })
        }
        _ => None,
    }
}
