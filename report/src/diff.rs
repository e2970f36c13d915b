//! What changes between two policies (or two versions of one), in the analyst's
//! terms, and what the change does to a population of cases.
//!
//! The static difference compares two IRs item by item by name: parameters (their values by
//! date), rules, definitions, functions, groups, outputs, tables, bands, calendars, types and
//! modules. Bodies are compared as canonical text written with names (see [`Printer`]), so that
//! the numeric ids that differ between two compilations do not show as changes.
//!
//! The impact decides every case with both sides and compares the decisions output field by
//! field, by the field's type alone (nothing here knows a kz output): money fields are summed,
//! fields with few values (text, enums, booleans, integers) count their transitions, lists of
//! ids say which ids appeared or disappeared, so that cases group by the rule that made the
//! difference.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use ereje_runtime::exact::{Number, Ratio};
use ereje_runtime::ir::{
    AggregateKind, BinaryOp, Body, Builtin, Expr, Item, ItemKind, Pattern, Policy, RoundingMode,
    Type, TypeDef, UnaryOp,
};
use ereje_runtime::value::Value;
use ereje_runtime::{CaseOutcome, EvalOptions, Scratch};
use rust_decimal::Decimal;
use serde_json::json;

use ereje_compiler::VersionSet;

// ------------------------------------------------------------------ canonical expressions

/// Writes IR expressions back as text with names: the same meaning gives the same text in two
/// IRs whose item, parameter and type numbering differ. Local variables are named by slot
/// (`x3`), function parameters by their names.
pub struct Printer<'p> {
    policy: &'p Policy,
    locals: Vec<(Option<String>, Option<Type>)>,
}

fn strip_optional(ty: &Type) -> &Type {
    match ty {
        Type::Optional(inner) => inner,
        other => other,
    }
}

impl<'p> Printer<'p> {
    pub fn new(policy: &'p Policy) -> Printer<'p> {
        Printer {
            policy,
            locals: Vec::new(),
        }
    }

    /// A printer for an item's body: its parameters are written by their names.
    pub fn for_item(policy: &'p Policy, item: &Item) -> Printer<'p> {
        let mut printer = Printer::new(policy);
        for (name, ty) in &item.params {
            printer.locals.push((Some(name.clone()), Some(ty.clone())));
        }
        printer
    }

    fn set_local(&mut self, slot: u32, ty: Option<Type>) {
        let slot = slot as usize;
        if self.locals.len() <= slot {
            self.locals.resize(slot + 1, (None, None));
        }
        if let Some(entry) = self.locals.get_mut(slot) {
            entry.1 = ty;
        }
    }

    fn local_name(&self, slot: u32) -> String {
        match self.locals.get(slot as usize) {
            Some((Some(name), _)) => name.clone(),
            _ => format!("x{slot}"),
        }
    }

    pub fn type_name(&self, ty: &Type) -> String {
        match ty {
            Type::Enum(id) | Type::Record(id) => match self.policy.types.get(*id as usize) {
                Some(TypeDef::Enum(def)) => def.name.clone(),
                Some(TypeDef::Record(def)) => def.name.clone(),
                None => format!("type#{id}"),
            },
            Type::List(inner) => format!("List<{}>", self.type_name(inner)),
            Type::Optional(inner) => format!("{}?", self.type_name(inner)),
            Type::Map(inner) => format!("Map<{}>", self.type_name(inner)),
            Type::Object(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|(name, ty)| format!("{name}: {}", self.type_name(ty)))
                    .collect();
                format!("{{ {} }}", fields.join(", "))
            }
            other => format!("{other:?}"),
        }
    }

    fn variant_name(&self, enum_type: Option<&Type>, index: u32) -> String {
        if let Some(Type::Enum(id)) = enum_type.map(strip_optional) {
            if let Some(TypeDef::Enum(def)) = self.policy.types.get(*id as usize) {
                if let Some(variant) = def.variants.get(index as usize) {
                    return variant.name.clone();
                }
            }
        }
        format!("variant#{index}")
    }

    /// A value as policy text; `hint` is its type where the context knows it (enums).
    pub fn value(&self, value: &Value, hint: Option<&Type>) -> String {
        match value {
            Value::Absent => "none".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Integer(i) => i.to_string(),
            Value::Decimal(d) => d.normalize().to_string(),
            // The exact fraction, which is also its policy text (`64000/3`).
            Value::Ratio(ratio) => ratio.to_string(),
            Value::Date(d) => d.to_string(),
            Value::Month(m) => format!("{:04}-{:02}", m.year, m.month),
            Value::Quarter(q) => q.to_string(),
            Value::Text(t) => format!("{t:?}"),
            Value::Enum(index) => self.variant_name(hint, *index),
            Value::List(items) => {
                let inner = match hint.map(strip_optional) {
                    Some(Type::List(inner)) => Some(inner.as_ref()),
                    _ => None,
                };
                let items: Vec<String> = items.iter().map(|v| self.value(v, inner)).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Record(record) => {
                let fields: Vec<String> =
                    record.fields.iter().map(|v| self.value(v, None)).collect();
                format!("{{{}}}", fields.join(", "))
            }
            Value::Map(entries) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|(key, v)| format!("{key}: {}", self.value(v, None)))
                    .collect();
                format!("{{{}}}", entries.join(", "))
            }
        }
    }

    fn field(&self, record: Option<&Type>, index: u32) -> (String, Option<Type>) {
        let optional = matches!(record, Some(Type::Optional(_)));
        if let Some(Type::Record(id)) = record.map(strip_optional) {
            if let Some(TypeDef::Record(def)) = self.policy.types.get(*id as usize) {
                if let Some(field) = def.fields.get(index as usize) {
                    let ty = if optional && !matches!(field.ty, Type::Optional(_)) {
                        Type::Optional(Box::new(field.ty.clone()))
                    } else {
                        field.ty.clone()
                    };
                    return (field.name.clone(), Some(ty));
                }
            }
        }
        (format!("field#{index}"), None)
    }

    fn list(&mut self, items: &[Expr], hint: Option<&Type>) -> String {
        let items: Vec<String> = items.iter().map(|e| self.expr_hint(e, hint).0).collect();
        items.join(", ")
    }

    pub fn expr(&mut self, expr: &Expr) -> String {
        self.expr_hint(expr, None).0
    }

    /// The text of an expression and its type where it can be told.
    fn expr_hint(&mut self, expr: &Expr, hint: Option<&Type>) -> (String, Option<Type>) {
        let policy = self.policy;
        match expr {
            Expr::Const(value) => (self.value(value, hint), hint.cloned()),
            Expr::Input => (
                policy.input.name.clone(),
                Some(Type::Record(policy.input.record)),
            ),
            Expr::AsOf => ("as_of".to_string(), Some(Type::Date)),
            Expr::Local(slot) => (
                self.local_name(*slot),
                self.locals.get(*slot as usize).and_then(|l| l.1.clone()),
            ),
            Expr::Item(id) => match policy.items.get(*id as usize) {
                Some(item) => (item.name.clone(), Some(item.ty.clone())),
                None => (format!("item#{id}"), None),
            },
            Expr::Call(id, arguments) => {
                let item = policy.items.get(*id as usize);
                let hints: Vec<Option<Type>> = item
                    .map(|item| item.params.iter().map(|p| Some(p.1.clone())).collect())
                    .unwrap_or_default();
                let arguments: Vec<String> = arguments
                    .iter()
                    .enumerate()
                    .map(|(i, a)| self.expr_hint(a, hints.get(i).and_then(Option::as_ref)).0)
                    .collect();
                match item {
                    Some(item) => (
                        format!("{}({})", item.name, arguments.join(", ")),
                        Some(item.ty.clone()),
                    ),
                    None => (format!("item#{id}({})", arguments.join(", ")), None),
                }
            }
            Expr::Param { param, at } => {
                let (name, ty) = match policy.params.get(*param as usize) {
                    Some(p) => (p.name.clone(), Some(p.ty.clone())),
                    None => (format!("param#{param}"), None),
                };
                match at {
                    None => (name, ty),
                    Some(date) => (format!("at({name}, {})", self.expr(date)), ty),
                }
            }
            Expr::Field(record, index) => {
                let (text, ty) = self.expr_hint(record, None);
                let (name, field_ty) = self.field(ty.as_ref(), *index);
                (format!("{text}.{name}"), field_ty)
            }
            Expr::Unary(op, inner) => {
                let (text, ty) = self.expr_hint(inner, hint);
                match op {
                    UnaryOp::Not => (format!("not {text}"), Some(Type::Bool)),
                    UnaryOp::NegInteger | UnaryOp::NegDecimal => (format!("-{text}"), ty),
                    UnaryOp::IntegerToDecimal => (text, Some(Type::Decimal)),
                    UnaryOp::Retype => (text, hint.cloned()),
                }
            }
            Expr::Binary(op, left, right) => {
                let (left_text, left_ty) = self.expr_hint(left, None);
                let right_hint = match op {
                    BinaryOp::In | BinaryOp::NotIn => left_ty
                        .as_ref()
                        .map(|ty| Type::List(Box::new(strip_optional(ty).clone()))),
                    _ => left_ty.clone(),
                };
                let (right_text, right_ty) = self.expr_hint(right, right_hint.as_ref());
                let (left_text, left_ty) = if left_ty.is_none() && right_ty.is_some() {
                    self.expr_hint(left, right_ty.as_ref())
                } else {
                    (left_text, left_ty)
                };
                let (symbol, ty) = match op {
                    BinaryOp::AddInteger | BinaryOp::AddDecimal => ("+", left_ty),
                    BinaryOp::SubInteger | BinaryOp::SubDecimal => ("-", left_ty),
                    BinaryOp::MulInteger | BinaryOp::MulDecimal => ("*", left_ty),
                    BinaryOp::DivInteger => ("/", Some(Type::Decimal)),
                    BinaryOp::DivDecimal => ("/", left_ty),
                    BinaryOp::Eq => ("==", Some(Type::Bool)),
                    BinaryOp::Ne => ("!=", Some(Type::Bool)),
                    BinaryOp::Lt => ("<", Some(Type::Bool)),
                    BinaryOp::Le => ("<=", Some(Type::Bool)),
                    BinaryOp::Gt => (">", Some(Type::Bool)),
                    BinaryOp::Ge => (">=", Some(Type::Bool)),
                    BinaryOp::In => ("in", Some(Type::Bool)),
                    BinaryOp::NotIn => ("not in", Some(Type::Bool)),
                };
                (format!("({left_text} {symbol} {right_text})"), ty)
            }
            Expr::And(left, right) => (
                format!("({} and {})", self.expr(left), self.expr(right)),
                Some(Type::Bool),
            ),
            Expr::Or(left, right) => (
                format!("({} or {})", self.expr(left), self.expr(right)),
                Some(Type::Bool),
            ),
            Expr::If {
                condition,
                then,
                otherwise,
            } => {
                let condition = self.expr(condition);
                let (then_text, then_ty) = self.expr_hint(then, hint);
                let (else_text, else_ty) = self.expr_hint(otherwise, hint);
                (
                    format!("(if {condition} then {then_text} else {else_text})"),
                    then_ty.or(else_ty),
                )
            }
            Expr::Match { scrutinee, arms } => {
                let (text, scrutinee_ty) = self.expr_hint(scrutinee, None);
                let mut result_ty = None;
                let mut parts = Vec::new();
                for arm in arms {
                    let pattern = match &arm.pattern {
                        Pattern::Variant(index) => self.variant_name(scrutinee_ty.as_ref(), *index),
                        Pattern::Literal(value) => self.value(value, scrutinee_ty.as_ref()),
                        Pattern::Some => {
                            let slot = arm.bind.unwrap_or(u32::MAX);
                            let inner = scrutinee_ty.as_ref().map(|t| strip_optional(t).clone());
                            self.set_local(slot, inner);
                            format!("some {}", self.local_name(slot))
                        }
                        Pattern::None => "none".to_string(),
                        Pattern::Wildcard => "_".to_string(),
                    };
                    let (body, ty) = self.expr_hint(&arm.body, hint);
                    result_ty = result_ty.or(ty);
                    parts.push(format!("{pattern} => {body}"));
                }
                (
                    format!("match {text} {{ {} }}", parts.join(", ")),
                    result_ty,
                )
            }
            Expr::Aggregate {
                kind,
                var,
                list,
                filter,
                body,
            } => {
                let (list_text, list_ty) = self.expr_hint(list, None);
                let element = match list_ty.as_ref().map(strip_optional) {
                    Some(Type::List(inner)) => Some(inner.as_ref().clone()),
                    _ => None,
                };
                self.set_local(*var, element.clone());
                let mut text = format!("{} in {list_text}", self.local_name(*var));
                if let Some(filter) = filter {
                    let _ = write!(text, " where {}", self.expr(filter));
                }
                let mut body_ty = None;
                if let Some(body) = body {
                    let (body_text, ty) = self.expr_hint(body, None);
                    body_ty = ty;
                    let _ = write!(text, " => {body_text}");
                }
                let (name, ty) = match kind {
                    AggregateKind::SumInteger => ("sum", Some(Type::Integer)),
                    AggregateKind::SumDecimal => ("sum", body_ty),
                    AggregateKind::Count => ("count", Some(Type::Integer)),
                    AggregateKind::Any => ("any", Some(Type::Bool)),
                    AggregateKind::All => ("all", Some(Type::Bool)),
                    AggregateKind::Filter => ("filter", list_ty),
                    AggregateKind::Map => ("map", body_ty.map(|t| Type::List(Box::new(t)))),
                    AggregateKind::FlatMap => ("flat_map", body_ty),
                    AggregateKind::Min => ("min", body_ty.map(|t| Type::Optional(Box::new(t)))),
                    AggregateKind::Max => ("max", body_ty.map(|t| Type::Optional(Box::new(t)))),
                };
                (format!("{name}({text})"), ty)
            }
            Expr::MapOf {
                var,
                list,
                filter,
                key,
                value,
            } => {
                let (list_text, list_ty) = self.expr_hint(list, None);
                let element = match list_ty.as_ref().map(strip_optional) {
                    Some(Type::List(inner)) => Some(inner.as_ref().clone()),
                    _ => None,
                };
                self.set_local(*var, element);
                let mut text = format!("{{ for {} in {list_text}", self.local_name(*var));
                if let Some(filter) = filter {
                    let _ = write!(text, " where {}", self.expr(filter));
                }
                let key = self.expr(key);
                let (value, ty) = self.expr_hint(value, None);
                let _ = write!(text, ": {key} => {value} }}");
                (text, ty.map(|t| Type::Map(Box::new(t))))
            }
            Expr::List(items) => {
                let inner = match hint.map(strip_optional) {
                    Some(Type::List(inner)) => Some(inner.as_ref().clone()),
                    _ => None,
                };
                (
                    format!("[{}]", self.list(items, inner.as_ref())),
                    hint.cloned(),
                )
            }
            Expr::Object(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|(name, e)| format!("{name}: {}", self.expr(e)))
                    .collect();
                (format!("{{ {} }}", fields.join(", ")), None)
            }
            Expr::Builtin(builtin, arguments) => self.builtin(*builtin, arguments),
            Expr::Round {
                value,
                places,
                mode,
            } => {
                let (text, ty) = self.expr_hint(value, hint);
                let mode = match mode {
                    RoundingMode::HalfUp => "half_up",
                    RoundingMode::HalfEven => "half_even",
                    RoundingMode::Down => "down",
                    RoundingMode::Up => "up",
                };
                (format!("round({text}, {places}, {mode})"), ty)
            }
            Expr::Band(id, value) => (
                format!("band({}, {})", self.band_name(*id), self.expr(value)),
                policy.bands.get(*id as usize).map(|b| b.result.clone()),
            ),
            Expr::BandLabel(id, value) => (
                format!("band_label({}, {})", self.band_name(*id), self.expr(value)),
                Some(Type::Text),
            ),
            Expr::Lookup(id, keys) => {
                let table = policy.tables.get(*id as usize);
                let name = table.map_or_else(|| format!("table#{id}"), |t| t.name.clone());
                let keys = self.list(keys, None);
                (
                    format!("lookup({name}, {keys})"),
                    table.map(|t| Type::Optional(Box::new(Type::Record(t.row_type)))),
                )
            }
            Expr::Holding(group) => (
                format!("holding({})", self.group_name(*group)),
                Some(Type::List(Box::new(Type::RuleId))),
            ),
            Expr::GroupSum(group) => (format!("total({})", self.group_name(*group)), None),
            Expr::GroupValues(group) => (format!("values({})", self.group_name(*group)), None),
            Expr::ExceptionApplied(item) => (
                format!(
                    "exception_applied({})",
                    policy
                        .items
                        .get(*item as usize)
                        .map_or_else(|| format!("item#{item}"), |i| i.name.clone())
                ),
                Some(Type::Optional(Box::new(Type::RuleId))),
            ),
            Expr::Coalesce(left, right) => {
                let (left_text, left_ty) = self.expr_hint(left, None);
                let inner = left_ty.as_ref().map(|t| strip_optional(t).clone());
                let (right_text, right_ty) = self.expr_hint(right, inner.as_ref());
                (format!("({left_text} ?? {right_text})"), right_ty.or(inner))
            }
            Expr::IsPresent(inner) => (
                format!("is_present({})", self.expr(inner)),
                Some(Type::Bool),
            ),
            Expr::First(inner) => {
                let (text, ty) = self.expr_hint(inner, None);
                let element = match ty.as_ref().map(strip_optional) {
                    Some(Type::List(inner)) => Some(Type::Optional(inner.clone())),
                    _ => None,
                };
                (format!("first({text})"), element)
            }
        }
    }

    fn band_name(&self, id: u32) -> String {
        self.policy
            .bands
            .get(id as usize)
            .map_or_else(|| format!("bands#{id}"), |b| b.name.clone())
    }

    fn group_name(&self, id: u32) -> String {
        self.policy
            .groups
            .get(id as usize)
            .map_or_else(|| format!("group#{id}"), |g| g.name.clone())
    }

    fn builtin(&mut self, builtin: Builtin, arguments: &[Expr]) -> (String, Option<Type>) {
        use Builtin as B;
        let (name, ty) = match builtin {
            B::AddMonths => ("add_months", Some(Type::Date)),
            B::AddDays => ("add_days", Some(Type::Date)),
            B::AddYears => ("add_years", Some(Type::Date)),
            B::Age => ("age", Some(Type::Integer)),
            B::DaysBetween => ("days_between", Some(Type::Integer)),
            B::QuarterOf | B::QuarterOfMonth => ("quarter", Some(Type::Quarter)),
            B::MonthOf => ("month", Some(Type::Month)),
            B::PreviousQuarter => ("previous", Some(Type::Quarter)),
            B::NextQuarter => ("next", Some(Type::Quarter)),
            B::PreviousMonth => ("previous", Some(Type::Month)),
            B::NextMonth => ("next", Some(Type::Month)),
            B::QuarterFirstDay | B::MonthFirstDay => ("first_day", Some(Type::Date)),
            B::QuarterLastDay | B::MonthLastDay => ("last_day", Some(Type::Date)),
            B::QuarterContainsMonth | B::ListContains => ("contains", Some(Type::Bool)),
            B::YearOf => ("year", Some(Type::Integer)),
            B::MakeDate => ("date", Some(Type::Date)),
            B::AddWorkingDays => ("add_working_days", Some(Type::Date)),
            B::IsWorkingDay => ("is_working_day", Some(Type::Bool)),
            B::Length => ("length", Some(Type::Integer)),
            B::AbsInteger => ("abs", Some(Type::Integer)),
            B::AbsDecimal => ("abs", None),
            B::Min2 => ("min", None),
            B::Max2 => ("max", None),
            B::ToMoney => ("money", Some(Type::Money)),
            B::ToDecimal => ("decimal", Some(Type::Decimal)),
            B::ToText => ("text", Some(Type::Text)),
            B::IsEmpty => ("is_empty", Some(Type::Bool)),
        };
        let mut texts = Vec::with_capacity(arguments.len());
        let mut first_ty = None;
        for (index, argument) in arguments.iter().enumerate() {
            let calendar = matches!(builtin, B::AddWorkingDays | B::IsWorkingDay) && index == 0;
            match (calendar, argument) {
                (true, Expr::Const(Value::Integer(id))) => texts.push(
                    usize::try_from(*id)
                        .ok()
                        .and_then(|id| self.policy.calendars.get(id))
                        .map_or_else(|| format!("calendar#{id}"), |c| c.name.clone()),
                ),
                _ => {
                    let (text, ty) = self.expr_hint(argument, None);
                    if index == 0 {
                        first_ty = ty;
                    }
                    texts.push(text);
                }
            }
        }
        (format!("{name}({})", texts.join(", ")), ty.or(first_ty))
    }
}

// ------------------------------------------------------------------ static difference

/// One difference between the two policies.
#[derive(Debug, Clone)]
pub struct Change {
    /// `parameter`, `rule`, `definition`, `function`, `derived parameter`, `group`, `output`,
    /// `table`, `bands`, `calendar`, `type`, `module`.
    pub kind: &'static str,
    pub name: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// What changed, one line each (`values: from 2025-01-01 = 1 → from 2025-01-01 = 2`).
    pub details: Vec<String>,
}

fn item_kind(item: &Item) -> &'static str {
    match item.kind {
        ItemKind::Rule => "rule",
        ItemKind::Definition => "definition",
        ItemKind::Function => "function",
        ItemKind::DerivedParam => "derived parameter",
    }
}

fn body_text(policy: &Policy, item: &Item) -> String {
    let mut printer = Printer::for_item(policy, item);
    match &item.body {
        Body::Expr(expr) => printer.expr(expr),
        Body::Exceptions { base, exceptions } => {
            let mut text = printer.expr(base);
            for exception in exceptions {
                let condition = printer.expr(&exception.condition);
                let value = printer.expr(&exception.value);
                let _ = write!(
                    text,
                    "; exception {} when {condition} = {value}",
                    exception.label
                );
            }
            text
        }
    }
}

fn item_signature(policy: &Policy, item: &Item) -> String {
    let printer = Printer::new(policy);
    let params: Vec<String> = item
        .params
        .iter()
        .map(|(name, ty)| format!("{name}: {}", printer.type_name(ty)))
        .collect();
    let result = printer.type_name(&item.ty);
    if params.is_empty() {
        result
    } else {
        format!("({}): {result}", params.join(", "))
    }
}

fn param_values(policy: &Policy, index: usize) -> String {
    let printer = Printer::new(policy);
    policy.params.get(index).map_or_else(String::new, |param| {
        param
            .values
            .iter()
            .map(|v| {
                format!(
                    "from {} = {}",
                    v.from,
                    printer.value(&v.value, Some(&param.ty))
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

fn quoted(text: Option<&String>) -> String {
    text.map_or_else(|| "(none)".to_string(), |t| format!("{t:?}"))
}

fn compare_field(details: &mut Vec<String>, what: &str, old: String, new: String) {
    if old != new {
        details.push(format!("{what}: {old} → {new}"));
    }
}

fn group_members(policy: &Policy, index: usize) -> Vec<(String, Option<String>)> {
    policy.groups.get(index).map_or_else(Vec::new, |group| {
        group
            .members
            .iter()
            .map(|member| {
                let name = policy
                    .items
                    .get(member.item as usize)
                    .map_or_else(|| format!("item#{}", member.item), |i| i.name.clone());
                (name, member.active_from.map(|d| d.to_string()))
            })
            .collect()
    })
}

/// Named things of one kind on both sides, compared by a function that lists the differences.
fn compare_named<T>(
    changes: &mut Vec<Change>,
    kind: impl Fn(&T) -> &'static str,
    old: &[T],
    new: &[T],
    name: impl Fn(&T) -> String,
    describe_added: impl Fn(&T, bool) -> Vec<String>,
    compare: impl Fn(&T, &T) -> Vec<String>,
) {
    let old_names: BTreeMap<String, &T> = old.iter().map(|t| (name(t), t)).collect();
    let new_names: BTreeMap<String, &T> = new.iter().map(|t| (name(t), t)).collect();
    for item in new {
        let key = name(item);
        match old_names.get(&key) {
            None => changes.push(Change {
                kind: kind(item),
                name: key,
                change: "added",
                details: describe_added(item, true),
            }),
            Some(previous) => {
                let details = compare(previous, item);
                if !details.is_empty() {
                    changes.push(Change {
                        kind: kind(item),
                        name: key,
                        change: "changed",
                        details,
                    });
                }
            }
        }
    }
    for item in old {
        let key = name(item);
        if !new_names.contains_key(&key) {
            changes.push(Change {
                kind: kind(item),
                name: key,
                change: "removed",
                details: describe_added(item, false),
            });
        }
    }
}

/// The difference between two policies, grouped by kind in a fixed order.
pub fn static_diff(old: &Policy, new: &Policy) -> Vec<Change> {
    let mut changes = Vec::new();
    compare_named(
        &mut changes,
        |_| "module",
        &old.modules,
        &new.modules,
        |m| m.name.clone(),
        |m, _| {
            vec![format!(
                "version {} ({}), in force from {}",
                m.version, m.file, m.in_force_from
            )]
        },
        |a, b| {
            let mut details = Vec::new();
            compare_field(
                &mut details,
                "version",
                a.version.clone(),
                b.version.clone(),
            );
            compare_field(&mut details, "file", a.file.clone(), b.file.clone());
            compare_field(
                &mut details,
                "in force from",
                a.in_force_from.to_string(),
                b.in_force_from.to_string(),
            );
            let amends = |m: &ereje_runtime::ir::ModuleInfo| {
                m.amends.as_ref().map_or_else(
                    || "(nothing)".to_string(),
                    |a| format!("{} from {}", a.module, a.from),
                )
            };
            compare_field(&mut details, "amends", amends(a), amends(b));
            details
        },
    );
    let index_of = |policy: &Policy, name: &str| policy.params.iter().position(|p| p.name == name);
    compare_named(
        &mut changes,
        |_| "parameter",
        &old.params,
        &new.params,
        |p| p.name.clone(),
        |p, added| {
            let policy = if added { new } else { old };
            let index = index_of(policy, &p.name).unwrap_or(usize::MAX);
            vec![
                format!("type: {}", Printer::new(policy).type_name(&p.ty)),
                format!("values: {}", param_values(policy, index)),
                format!("source: {}", quoted(p.source.as_ref())),
            ]
        },
        |a, b| {
            let mut details = Vec::new();
            compare_field(
                &mut details,
                "type",
                Printer::new(old).type_name(&a.ty),
                Printer::new(new).type_name(&b.ty),
            );
            compare_field(
                &mut details,
                "values",
                param_values(old, index_of(old, &a.name).unwrap_or(usize::MAX)),
                param_values(new, index_of(new, &b.name).unwrap_or(usize::MAX)),
            );
            compare_field(
                &mut details,
                "source",
                quoted(a.source.as_ref()),
                quoted(b.source.as_ref()),
            );
            details
        },
    );
    compare_named(
        &mut changes,
        item_kind,
        &old.items,
        &new.items,
        |i| i.name.clone(),
        |item, added| {
            let policy = if added { new } else { old };
            let mut details = vec![
                format!("signature: {}", item_signature(policy, item)),
                format!("formula: {}", body_text(policy, item)),
            ];
            if let Some(source) = &item.source {
                details.push(format!("source: {source:?}"));
            }
            details
        },
        |a, b| {
            let mut details = Vec::new();
            compare_field(
                &mut details,
                "kind",
                item_kind(a).into(),
                item_kind(b).into(),
            );
            compare_field(
                &mut details,
                "signature",
                item_signature(old, a),
                item_signature(new, b),
            );
            compare_field(
                &mut details,
                "formula",
                body_text(old, a),
                body_text(new, b),
            );
            compare_field(
                &mut details,
                "source",
                quoted(a.source.as_ref()),
                quoted(b.source.as_ref()),
            );
            compare_field(
                &mut details,
                "message ru",
                quoted(a.messages.ru.as_ref()),
                quoted(b.messages.ru.as_ref()),
            );
            compare_field(
                &mut details,
                "message kk",
                quoted(a.messages.kk.as_ref()),
                quoted(b.messages.kk.as_ref()),
            );
            compare_field(
                &mut details,
                "message en",
                quoted(a.messages.en.as_ref()),
                quoted(b.messages.en.as_ref()),
            );
            let module = |policy: &Policy, item: &Item| {
                policy
                    .modules
                    .get(item.module as usize)
                    .map_or_else(String::new, |m| m.name.clone())
            };
            compare_field(&mut details, "module", module(old, a), module(new, b));
            details
        },
    );
    let group_index =
        |policy: &Policy, name: &str| policy.groups.iter().position(|g| g.name == name);
    compare_named(
        &mut changes,
        |_| "group",
        &old.groups,
        &new.groups,
        |g| g.name.clone(),
        |g, added| {
            let policy = if added { new } else { old };
            let members = group_members(policy, group_index(policy, &g.name).unwrap_or(usize::MAX));
            vec![format!(
                "members: {}",
                members
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )]
        },
        |a, b| {
            let old_members = group_members(old, group_index(old, &a.name).unwrap_or(usize::MAX));
            let new_members = group_members(new, group_index(new, &b.name).unwrap_or(usize::MAX));
            let mut details = Vec::new();
            for (name, from) in &new_members {
                if !old_members.iter().any(|(n, _)| n == name) {
                    let from = from
                        .as_ref()
                        .map(|d| format!(" (from {d})"))
                        .unwrap_or_default();
                    details.push(format!("extended with {name}{from}"));
                }
            }
            for (name, _) in &old_members {
                if !new_members.iter().any(|(n, _)| n == name) {
                    details.push(format!("no longer has {name}"));
                }
            }
            let order = |members: &[(String, Option<String>)]| {
                members
                    .iter()
                    .map(|(n, f)| {
                        format!(
                            "{n}{}",
                            f.as_ref().map(|d| format!("@{d}")).unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if details.is_empty() {
                compare_field(
                    &mut details,
                    "members",
                    order(&old_members),
                    order(&new_members),
                );
            } else {
                details.push(format!("members now: {}", order(&new_members)));
            }
            details
        },
    );
    compare_named(
        &mut changes,
        |_| "output",
        &old.outputs,
        &new.outputs,
        |o| o.name.clone(),
        |o, added| {
            let policy = if added { new } else { old };
            vec![format!("formula: {}", Printer::new(policy).expr(&o.expr))]
        },
        |a, b| {
            let mut details = Vec::new();
            compare_field(
                &mut details,
                "type",
                Printer::new(old).type_name(&a.ty),
                Printer::new(new).type_name(&b.ty),
            );
            compare_field(
                &mut details,
                "formula",
                Printer::new(old).expr(&a.expr),
                Printer::new(new).expr(&b.expr),
            );
            details
        },
    );
    let rows = |policy: &Policy, table: &ereje_runtime::ir::Table| {
        let printer = Printer::new(policy);
        table
            .rows
            .iter()
            .map(|row| {
                let key: Vec<String> = row.key.iter().map(|v| printer.value(v, None)).collect();
                format!("{} => {}", key.join(", "), printer.value(&row.value, None))
            })
            .collect::<BTreeSet<String>>()
    };
    compare_named(
        &mut changes,
        |_| "table",
        &old.tables,
        &new.tables,
        |t| t.name.clone(),
        |t, _| vec![format!("{} rows", t.rows.len())],
        |a, b| {
            let (old_rows, new_rows) = (rows(old, a), rows(new, b));
            let mut details: Vec<String> = new_rows
                .difference(&old_rows)
                .map(|row| format!("row added: {row}"))
                .collect();
            details.extend(
                old_rows
                    .difference(&new_rows)
                    .map(|row| format!("row removed: {row}")),
            );
            compare_field(
                &mut details,
                "source",
                quoted(a.source.as_ref()),
                quoted(b.source.as_ref()),
            );
            details
        },
    );
    let bands = |policy: &Policy, table: &ereje_runtime::ir::BandTable| {
        let printer = Printer::new(policy);
        let bound = |b: &Option<ereje_runtime::ir::Bound>, lower: bool| match b {
            None => {
                if lower {
                    "(-inf".to_string()
                } else {
                    "+inf)".to_string()
                }
            }
            Some(b) => {
                let v = printer.value(&b.value, None);
                match (lower, b.inclusive) {
                    (true, true) => format!("[{v}"),
                    (true, false) => format!("({v}"),
                    (false, true) => format!("{v}]"),
                    (false, false) => format!("{v})"),
                }
            }
        };
        table
            .bands
            .iter()
            .map(|b| {
                format!(
                    "{}, {} => {} {:?}",
                    bound(&b.lower, true),
                    bound(&b.upper, false),
                    printer.value(&b.value, Some(&table.result)),
                    b.label
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    compare_named(
        &mut changes,
        |_| "bands",
        &old.bands,
        &new.bands,
        |b| b.name.clone(),
        |b, added| vec![bands(if added { new } else { old }, b)],
        |a, b| {
            let mut details = Vec::new();
            compare_field(&mut details, "bands", bands(old, a), bands(new, b));
            details
        },
    );
    compare_named(
        &mut changes,
        |_| "calendar",
        &old.calendars,
        &new.calendars,
        |c| c.name.clone(),
        |c, _| {
            vec![format!(
                "years {}",
                c.years
                    .iter()
                    .map(|y| y.year.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )]
        },
        |a, b| {
            let mut details = Vec::new();
            for year in &b.years {
                match a.years.iter().find(|y| y.year == year.year) {
                    None => details.push(format!("year {} added", year.year)),
                    Some(previous) if previous != year => {
                        details.push(format!("year {} changed", year.year))
                    }
                    Some(_) => {}
                }
            }
            for year in &a.years {
                if !b.years.iter().any(|y| y.year == year.year) {
                    details.push(format!("year {} removed", year.year));
                }
            }
            details
        },
    );
    let type_text = |policy: &Policy, def: &TypeDef| {
        let printer = Printer::new(policy);
        match def {
            TypeDef::Enum(e) => e
                .variants
                .iter()
                .map(|v| v.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            TypeDef::Record(r) => r
                .fields
                .iter()
                .map(|f| {
                    format!(
                        "{}: {}{}",
                        f.name,
                        printer.type_name(&f.ty),
                        if f.required { "" } else { " (optional)" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    };
    let type_name = |def: &TypeDef| match def {
        TypeDef::Enum(e) => e.name.clone(),
        TypeDef::Record(r) => r.name.clone(),
    };
    compare_named(
        &mut changes,
        |_| "type",
        &old.types,
        &new.types,
        type_name,
        |def, added| vec![type_text(if added { new } else { old }, def)],
        |a, b| {
            let mut details = Vec::new();
            compare_field(
                &mut details,
                "definition",
                type_text(old, a),
                type_text(new, b),
            );
            details
        },
    );
    changes
}

const KIND_ORDER: [&str; 12] = [
    "module",
    "parameter",
    "derived parameter",
    "rule",
    "definition",
    "function",
    "group",
    "output",
    "table",
    "bands",
    "calendar",
    "type",
];

fn heading(kind: &str) -> &'static str {
    match kind {
        "module" => "Modules",
        "parameter" => "Parameters",
        "derived parameter" => "Derived parameters",
        "rule" => "Rules",
        "definition" => "Definitions",
        "function" => "Functions",
        "group" => "Groups",
        "output" => "Outputs",
        "table" => "Tables",
        "bands" => "Bands",
        "calendar" => "Calendars",
        _ => "Types",
    }
}

fn sign(change: &str) -> &'static str {
    match change {
        "added" => "+",
        "removed" => "-",
        _ => "~",
    }
}

pub fn static_text(old_label: &str, new_label: &str, changes: &[Change]) -> String {
    let mut out = format!("Static difference\n  old: {old_label}\n  new: {new_label}\n");
    if changes.is_empty() {
        out.push_str("\nNo difference: the two policies compile to the same rules.\n");
        return out;
    }
    let count = |change: &str| changes.iter().filter(|c| c.change == change).count();
    let _ = writeln!(
        out,
        "  {} added, {} removed, {} changed",
        count("added"),
        count("removed"),
        count("changed")
    );
    for kind in KIND_ORDER {
        let of_kind: Vec<&Change> = changes.iter().filter(|c| c.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{}:", heading(kind));
        for change in of_kind {
            let _ = writeln!(
                out,
                "  {} {} ({})",
                sign(change.change),
                change.name,
                change.change
            );
            for detail in &change.details {
                let _ = writeln!(out, "      {detail}");
            }
        }
    }
    out
}

pub fn static_json(old_label: &str, new_label: &str, changes: &[Change]) -> serde_json::Value {
    let changes: Vec<serde_json::Value> = KIND_ORDER
        .iter()
        .flat_map(|kind| changes.iter().filter(move |c| c.kind == *kind))
        .map(
            |c| json!({ "kind": c.kind, "name": c.name, "change": c.change, "details": c.details }),
        )
        .collect();
    json!({ "old": old_label, "new": new_label, "changes": changes })
}

// ------------------------------------------------------------------ impact

/// A leaf of a decision's outputs, by its path (`asp/monthly_total`).
#[derive(Debug, Clone, PartialEq)]
enum Leaf {
    /// Money (summed, exactly); a map of money counts as its sum.
    Money(Number),
    /// A value with few possible values: text, enum, boolean, integer, absent.
    Category(String),
    /// A list of texts or ids (reasons).
    Ids(Vec<String>),
    /// Anything else, compared as its JSON text.
    Other(String),
}

fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

/// The exact amount of a money leaf: a decimal, or the fraction `"numerator/denominator"` of
/// one that does not terminate (LANGUAGE.md, "Exact arithmetic").
fn decimal_of(value: &serde_json::Value) -> Number {
    let text = json_text(value);
    match text.parse::<Ratio>() {
        Ok(ratio) => Number::Ratio(ratio),
        Err(_) => Number::Decimal(text.parse::<Decimal>().unwrap_or_default()),
    }
}

/// An exact amount as the report shows it: itself when it is a decimal, otherwise rounded
/// half-up to two places, as money is shown.
fn shown(amount: Number) -> Decimal {
    match amount {
        Number::Decimal(amount) => amount,
        Number::Ratio(ratio) => ratio.display(2),
    }
}

/// The exact sum of two amounts; past the largest decimal, the report says so.
fn sum_of(left: Number, right: Number) -> Result<Number, String> {
    left.checked_add(right)
        .map_err(|_| "a money total passes the largest decimal".to_string())
}

fn flatten(ty: &Type, value: &serde_json::Value, path: String, out: &mut Vec<(String, Leaf)>) {
    match ty {
        Type::Optional(inner) => match (inner.as_ref(), value) {
            (Type::Object(_), _) => flatten(inner, value, path, out),
            (_, serde_json::Value::Null) => match inner.as_ref() {
                Type::Money => out.push((path, Leaf::Money(Number::Decimal(Decimal::ZERO)))),
                _ => out.push((path, Leaf::Category("null".to_string()))),
            },
            _ => flatten(inner, value, path, out),
        },
        Type::Object(fields) => {
            for (name, field_ty) in fields {
                let child = value.get(name).unwrap_or(&serde_json::Value::Null);
                flatten(field_ty, child, format!("{path}/{name}"), out);
            }
        }
        Type::Money => out.push((path, Leaf::Money(decimal_of(value)))),
        Type::Map(inner) if matches!(inner.as_ref(), Type::Money) => {
            // A sum past the largest decimal cannot come from one decision's amounts; it
            // counts as zero rather than stopping the report.
            let total = value
                .as_object()
                .and_then(|map| {
                    map.values()
                        .map(decimal_of)
                        .try_fold(Number::Decimal(Decimal::ZERO), |sum, amount| {
                            sum.checked_add(amount).ok()
                        })
                })
                .unwrap_or(Number::Decimal(Decimal::ZERO));
            out.push((format!("{path} (sum)"), Leaf::Money(total)));
        }
        Type::Bool | Type::Integer | Type::Text | Type::Enum(_) | Type::RuleId => {
            out.push((path, Leaf::Category(json_text(value))))
        }
        Type::List(inner) if matches!(inner.as_ref(), Type::Text | Type::RuleId) => {
            let ids = value
                .as_array()
                .map(|items| items.iter().map(json_text).collect())
                .unwrap_or_default();
            out.push((path, Leaf::Ids(ids)));
        }
        _ => out.push((path, Leaf::Other(json_text(value)))),
    }
}

fn leaves(outcome: &CaseOutcome) -> Result<Vec<(String, Leaf)>, String> {
    match outcome {
        CaseOutcome::Error(failure) => Err(failure.error.code.to_string()),
        CaseOutcome::Decision(decision) => {
            let mut out = Vec::new();
            for (name, ty, _) in decision.output_entries() {
                let json = decision
                    .output_json(name)
                    .unwrap_or(serde_json::Value::Null);
                flatten(ty, &json, name.to_string(), &mut out);
            }
            Ok(out)
        }
    }
}

/// The impact of the new policy over a population.
#[derive(Debug, Clone)]
pub struct Impact {
    pub old_label: String,
    pub new_label: String,
    pub cases: usize,
    /// Cases decided by both sides.
    pub compared: usize,
    /// Cases whose decision differs in some field.
    pub changed: usize,
    /// Case id and error code on each side, for cases that are an error on either side.
    pub errors: Vec<(String, String, String)>,
    /// Per category field: (old value, new value) → case ids.
    pub transitions: BTreeMap<String, BTreeMap<(String, String), Vec<String>>>,
    /// Per category field: value → (count old, count new), for the charts.
    pub distributions: BTreeMap<String, BTreeMap<String, (usize, usize)>>,
    /// Per money field: (cases changed, old total, new total).
    pub money: Vec<(String, usize, Decimal, Decimal)>,
    /// Per id-list field: ("+ID" or "-ID") → case ids.
    pub reasons: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Other fields: how many cases changed.
    pub other_changes: BTreeMap<String, usize>,
    /// The money field ranking winners and losers.
    pub measure: Option<String>,
    /// (case id, old, new, change) for every case whose measure changed, largest gain first.
    pub measure_changes: Vec<(String, Decimal, Decimal, Decimal)>,
    pub top: usize,
}

/// One side of an impact comparison: a label for the report and the engines that decide.
pub struct ImpactSide<'a> {
    pub label: &'a str,
    pub engines: &'a VersionSet,
}

/// Decides every case of `cases` (JSON Lines) with both sides and compares the decisions.
pub fn impact(
    old: &ImpactSide<'_>,
    new: &ImpactSide<'_>,
    cases: &str,
    measure: Option<&str>,
    top: usize,
) -> Result<Impact, String> {
    let options = EvalOptions::default();
    let (mut old_scratch, mut new_scratch) = (Scratch::default(), Scratch::default());
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut count = 0usize;
    for (line_number, line) in cases.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        count += 1;
        let decide = |side: &ImpactSide<'_>, scratch: &mut Scratch| {
            side.engines
                .evaluate_json(line, &options, scratch)
                .ok_or_else(|| "policy.empty".to_string())
        };
        let old_outcome = decide(old, &mut old_scratch)?;
        let new_outcome = decide(new, &mut new_scratch)?;
        let id = old_outcome
            .case_id()
            .or(new_outcome.case_id())
            .map_or_else(|| format!("line {}", line_number + 1), str::to_string);
        match (leaves(&old_outcome), leaves(&new_outcome)) {
            (Ok(a), Ok(b)) => rows.push((id, a, b)),
            (a, b) => errors.push((
                id,
                a.err().unwrap_or_else(|| "decided".to_string()),
                b.err().unwrap_or_else(|| "decided".to_string()),
            )),
        }
    }
    let mut transitions: BTreeMap<String, BTreeMap<(String, String), Vec<String>>> =
        BTreeMap::new();
    let mut distributions: BTreeMap<String, BTreeMap<String, (usize, usize)>> = BTreeMap::new();
    let mut money: BTreeMap<String, (usize, usize, Number, Number)> = BTreeMap::new();
    let mut reasons: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut other_changes: BTreeMap<String, usize> = BTreeMap::new();
    let mut field_order: Vec<String> = Vec::new();
    let mut changed = 0;
    for (id, old_leaves, new_leaves) in &rows {
        let new_map: BTreeMap<&str, &Leaf> =
            new_leaves.iter().map(|(p, l)| (p.as_str(), l)).collect();
        let mut any = old_leaves.len() != new_leaves.len();
        for (path, old_leaf) in old_leaves {
            let Some(new_leaf) = new_map.get(path.as_str()).copied() else {
                any = true;
                continue;
            };
            if !field_order.contains(path) {
                field_order.push(path.clone());
            }
            any |= old_leaf != new_leaf;
            match (old_leaf, new_leaf) {
                (Leaf::Money(a), Leaf::Money(b)) => {
                    let entry = money.entry(path.clone()).or_insert((
                        field_order.len(),
                        0,
                        Number::Decimal(Decimal::ZERO),
                        Number::Decimal(Decimal::ZERO),
                    ));
                    entry.1 += usize::from(a != b);
                    entry.2 = sum_of(entry.2, *a)?;
                    entry.3 = sum_of(entry.3, *b)?;
                }
                (Leaf::Category(a), Leaf::Category(b)) => {
                    let counts = distributions.entry(path.clone()).or_default();
                    counts.entry(a.clone()).or_default().0 += 1;
                    counts.entry(b.clone()).or_default().1 += 1;
                    if a != b {
                        transitions
                            .entry(path.clone())
                            .or_default()
                            .entry((a.clone(), b.clone()))
                            .or_default()
                            .push(id.clone());
                    }
                }
                (Leaf::Ids(a), Leaf::Ids(b)) => {
                    for added in b.iter().filter(|x| !a.contains(x)) {
                        reasons
                            .entry(path.clone())
                            .or_default()
                            .entry(format!("+{added}"))
                            .or_default()
                            .push(id.clone());
                    }
                    for removed in a.iter().filter(|x| !b.contains(x)) {
                        reasons
                            .entry(path.clone())
                            .or_default()
                            .entry(format!("-{removed}"))
                            .or_default()
                            .push(id.clone());
                    }
                }
                (a, b) => {
                    if a != b {
                        *other_changes.entry(path.clone()).or_default() += 1;
                    }
                }
            }
        }
        changed += usize::from(any);
    }
    let mut money: Vec<(String, usize, usize, Number, Number)> = money
        .into_iter()
        .map(|(path, (order, n, a, b))| (path, order, n, a, b))
        .collect();
    money.sort_by_key(|entry| entry.1);
    let money: Vec<(String, usize, Decimal, Decimal)> = money
        .into_iter()
        .map(|(path, _, n, a, b)| (path, n, shown(a), shown(b)))
        .collect();
    let measure = match measure {
        Some(wanted) => {
            if !money.iter().any(|(path, ..)| path == wanted) {
                let known: Vec<&str> = money.iter().map(|(p, ..)| p.as_str()).collect();
                return Err(format!(
                    "--measure {wanted}: not a money field of the decisions; the money fields are {}",
                    known.join(", ")
                ));
            }
            Some(wanted.to_string())
        }
        // By convention a total comes after the amounts it adds up: the last money field of
        // the first output that has one (not a map's sum).
        None => money
            .iter()
            .filter(|(path, ..)| !path.ends_with(" (sum)"))
            .fold(None::<&String>, |last, (path, ..)| match last {
                Some(previous) if previous.split('/').next() != path.split('/').next() => last,
                _ => Some(path),
            })
            .cloned(),
    };
    let mut measure_changes = Vec::new();
    if let Some(measure) = &measure {
        for (id, old_leaves, new_leaves) in &rows {
            let find = |leaves: &[(String, Leaf)]| {
                leaves
                    .iter()
                    .find(|(p, _)| p == measure)
                    .and_then(|(_, l)| match l {
                        Leaf::Money(m) => Some(*m),
                        _ => None,
                    })
            };
            if let (Some(a), Some(b)) = (find(old_leaves), find(new_leaves)) {
                if a != b {
                    let change = b.checked_sub(a).map_err(|_| {
                        format!("{id}: the change of {measure} passes the largest decimal")
                    })?;
                    measure_changes.push((id.clone(), shown(a), shown(b), shown(change)));
                }
            }
        }
        measure_changes.sort_by(|x, y| y.3.cmp(&x.3).then_with(|| x.0.cmp(&y.0)));
    }
    Ok(Impact {
        old_label: old.label.to_string(),
        new_label: new.label.to_string(),
        cases: count,
        compared: rows.len(),
        changed,
        errors,
        transitions,
        distributions,
        money,
        reasons,
        other_changes,
        measure,
        measure_changes,
        top,
    })
}

/// A decimal with its sign and thousands separated by spaces: `+12 345.5`.
pub fn money_text(value: Decimal, signed: bool) -> String {
    let text = value.normalize().to_string();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(digit);
    }
    if let Some(fraction) = fraction {
        grouped.push('.');
        grouped.push_str(fraction);
    }
    let sign = if negative {
        "-"
    } else if signed && !value.is_zero() {
        "+"
    } else {
        ""
    };
    format!("{sign}{grouped}")
}

impl Impact {
    pub fn winners(&self) -> impl Iterator<Item = &(String, Decimal, Decimal, Decimal)> {
        self.measure_changes
            .iter()
            .filter(|c| c.3 > Decimal::ZERO)
            .take(self.top)
    }

    pub fn losers(&self) -> impl Iterator<Item = &(String, Decimal, Decimal, Decimal)> {
        let mut losers: Vec<_> = self
            .measure_changes
            .iter()
            .filter(|c| c.3 < Decimal::ZERO)
            .collect();
        losers.sort_by(|x, y| x.3.cmp(&y.3).then_with(|| x.0.cmp(&y.0)));
        losers.into_iter().take(self.top)
    }
}

pub fn impact_text(impact: &Impact) -> String {
    let mut out = format!(
        "Impact over {} cases\n  old: {}\n  new: {}\n  decided by both: {}; decision changed: {}; errors: {}\n",
        impact.cases,
        impact.old_label,
        impact.new_label,
        impact.compared,
        impact.changed,
        impact.errors.len()
    );
    if !impact.transitions.is_empty() {
        out.push_str("\nChanged values (old → new: cases):\n");
        for (path, changes) in &impact.transitions {
            let _ = writeln!(out, "  {path}");
            for ((a, b), ids) in changes {
                let _ = writeln!(out, "    {a} → {b}: {} ({})", ids.len(), ids.join(", "));
            }
        }
    }
    if !impact.money.is_empty() {
        out.push_str("\nMoney (cases changed; old total → new total, change):\n");
        for (path, n, a, b) in &impact.money {
            let _ = writeln!(
                out,
                "  {path}: {n} changed; {} → {} ({})",
                money_text(*a, false),
                money_text(*b, false),
                money_text(*b - *a, true)
            );
        }
    }
    if !impact.reasons.is_empty() {
        out.push_str("\nCases by the id that appeared (+) or disappeared (-):\n");
        for (path, groups) in &impact.reasons {
            let _ = writeln!(out, "  {path}");
            for (id, cases) in groups {
                let _ = writeln!(out, "    {id}: {} ({})", cases.len(), cases.join(", "));
            }
        }
    }
    if !impact.other_changes.is_empty() {
        out.push_str("\nOther fields changed (cases):\n");
        for (path, n) in &impact.other_changes {
            let _ = writeln!(out, "  {path}: {n}");
        }
    }
    if let Some(measure) = &impact.measure {
        let _ = writeln!(out, "\nWinners by {measure} (largest gain first):");
        write_ranked(&mut out, impact.winners());
        let _ = writeln!(out, "\nLosers by {measure} (largest loss first):");
        write_ranked(&mut out, impact.losers());
    }
    if !impact.errors.is_empty() {
        out.push_str("\nCases not decided on a side (old, new):\n");
        for (id, a, b) in &impact.errors {
            let _ = writeln!(out, "  {id}: {a}, {b}");
        }
    }
    out
}

pub fn impact_json(impact: &Impact) -> serde_json::Value {
    let transitions: Vec<serde_json::Value> = impact
        .transitions
        .iter()
        .flat_map(|(path, changes)| {
            changes.iter().map(move |((a, b), ids)| {
                json!({ "field": path, "old": a, "new": b, "count": ids.len(), "cases": ids })
            })
        })
        .collect();
    let money: Vec<serde_json::Value> = impact
        .money
        .iter()
        .map(|(path, n, a, b)| {
            json!({ "field": path, "cases_changed": n, "old_total": a.normalize().to_string(),
                    "new_total": b.normalize().to_string(), "change": (*b - *a).normalize().to_string() })
        })
        .collect();
    let reasons: Vec<serde_json::Value> = impact
        .reasons
        .iter()
        .flat_map(|(path, groups)| {
            groups.iter().map(move |(id, cases)| {
                let (change, id) = id.split_at(1);
                json!({ "field": path, "id": id, "change": if change == "+" { "added" } else { "removed" },
                        "count": cases.len(), "cases": cases })
            })
        })
        .collect();
    let ranked = |items: Vec<&(String, Decimal, Decimal, Decimal)>| {
        items
            .into_iter()
            .map(|(id, a, b, c)| json!({ "case_id": id, "old": a.normalize().to_string(), "new": b.normalize().to_string(), "change": c.normalize().to_string() }))
            .collect::<Vec<_>>()
    };
    let errors: Vec<serde_json::Value> = impact
        .errors
        .iter()
        .map(|(id, a, b)| json!({ "case_id": id, "old": a, "new": b }))
        .collect();
    json!({
        "old": impact.old_label,
        "new": impact.new_label,
        "cases": impact.cases,
        "compared": impact.compared,
        "changed": impact.changed,
        "transitions": transitions,
        "money": money,
        "reasons": reasons,
        "other_changes": impact.other_changes,
        "measure": impact.measure,
        "winners": ranked(impact.winners().collect()),
        "losers": ranked(impact.losers().collect()),
        "errors": errors,
    })
}

/// One line per case of a ranking (`id: before → after (change)`), or `none`.
fn write_ranked<'a>(
    out: &mut String,
    cases: impl Iterator<Item = &'a (String, Decimal, Decimal, Decimal)>,
) {
    let mut any = false;
    for (id, before, after, change) in cases {
        any = true;
        let _ = writeln!(
            out,
            "  {id}: {} → {} ({})",
            money_text(*before, false),
            money_text(*after, false),
            money_text(*change, true)
        );
    }
    if !any {
        out.push_str("  none\n");
    }
}
