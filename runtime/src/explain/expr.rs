//! A small reader of IR expressions for explanations: the value of an expression from the
//! decision's trace, the case and the parameters; its static type; and its text for people.
//!
//! This is not a second evaluator. It reads only what an explanation needs to restate a
//! comparison (sums, products and quotients of items, parameters, constants and case fields, and
//! date arithmetic); anything else gives `None` and the explanation says less.

use std::collections::HashMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::dates;
use crate::ir::{
    AggregateKind, BinaryOp, Builtin, Expr, ItemKind, Policy, RoundingMode, Type, TypeDef, UnaryOp,
};
use crate::trace::{Trace, TraceKind};
use crate::value::{Date, Value};

/// Everything an expression's value may be read from.
pub(crate) struct Context<'a> {
    pub(crate) policy: &'a Policy,
    pub(crate) trace: &'a Trace,
    pub(crate) root: &'a Value,
    pub(crate) as_of: Date,
    /// The trace node of each memoised item (rules, definitions, derived parameters), by name.
    pub(crate) item_nodes: HashMap<&'a str, usize>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        policy: &'a Policy,
        trace: &'a Trace,
        root: &'a Value,
        as_of: Date,
    ) -> Context<'a> {
        let mut item_nodes = HashMap::new();
        for (index, node) in trace.nodes.iter().enumerate() {
            let memoised = matches!(
                node.kind,
                TraceKind::Rule | TraceKind::Definition | TraceKind::Parameter
            );
            if memoised {
                item_nodes.entry(&*node.id).or_insert(index);
            }
        }
        Context {
            policy,
            trace,
            root,
            as_of,
            item_nodes,
        }
    }

    /// The trace node of a memoised item, when the decision used it.
    pub(crate) fn item_node(&self, item: u32) -> Option<usize> {
        let item = self.policy.items.get(item as usize)?;
        if item.kind == ItemKind::Function {
            return None;
        }
        self.item_nodes.get(item.name.as_str()).copied()
    }

    /// A parameter's value in force on the as-of date.
    pub(crate) fn param_value(&self, param: u32) -> Option<Value> {
        let param = self.policy.params.get(param as usize)?;
        let (_, found) = param.value_on(self.as_of).ok()?;
        Some(found.value.clone())
    }
}

/// Local slots bound while reading an expression (match bindings, aggregate variables).
pub(crate) type Locals = Vec<(u32, Value)>;

fn local(locals: &Locals, slot: u32) -> Option<Value> {
    locals
        .iter()
        .rev()
        .find(|(bound, _)| *bound == slot)
        .map(|(_, value)| value.clone())
}

/// The value of `expr`, or `None` when it uses something this reader does not follow.
pub(crate) fn value_of(context: &Context<'_>, expr: &Expr, locals: &Locals) -> Option<Value> {
    match expr {
        Expr::Const(value) => Some(value.clone()),
        Expr::Input => Some(context.root.clone()),
        Expr::AsOf => Some(Value::Date(context.as_of)),
        Expr::Local(slot) => local(locals, *slot),
        Expr::Item(item) => {
            let node = context.item_node(*item)?;
            context.trace.nodes.get(node).map(|node| node.value.clone())
        }
        Expr::Param { param, at: None } => context.param_value(*param),
        Expr::Field(record, index) => match value_of(context, record, locals)? {
            Value::Record(record) => record.fields.get(*index as usize).cloned(),
            Value::Absent => Some(Value::Absent),
            _ => None,
        },
        Expr::Unary(op, operand) => {
            let operand = value_of(context, operand, locals)?;
            match (op, operand) {
                (UnaryOp::Not, Value::Bool(flag)) => Some(Value::Bool(!flag)),
                (UnaryOp::NegInteger, Value::Integer(number)) => {
                    number.checked_neg().map(Value::Integer)
                }
                (UnaryOp::NegDecimal, Value::Decimal(number)) => Some(Value::Decimal(-number)),
                (UnaryOp::NegDecimal, Value::Ratio(ratio)) => {
                    Some(Value::number(crate::exact::Number::Ratio(*ratio).negated()))
                }
                (UnaryOp::IntegerToDecimal, Value::Integer(number)) => {
                    Some(Value::Decimal(Decimal::from(number)))
                }
                (UnaryOp::Retype, value) => Some(value),
                _ => None,
            }
        }
        Expr::Binary(op, left, right) => {
            let left = value_of(context, left, locals)?;
            let right = value_of(context, right, locals)?;
            binary(*op, &left, &right)
        }
        Expr::And(left, right) => match value_of(context, left, locals)? {
            Value::Bool(false) => Some(Value::Bool(false)),
            Value::Bool(true) => value_of(context, right, locals),
            _ => None,
        },
        Expr::Or(left, right) => match value_of(context, left, locals)? {
            Value::Bool(true) => Some(Value::Bool(true)),
            Value::Bool(false) => value_of(context, right, locals),
            _ => None,
        },
        Expr::Coalesce(value, default) => match value_of(context, value, locals)? {
            Value::Absent => value_of(context, default, locals),
            present => Some(present),
        },
        Expr::IsPresent(value) => Some(Value::Bool(!value_of(context, value, locals)?.is_absent())),
        Expr::Round {
            value,
            places,
            mode,
        } => {
            let number = match value_of(context, value, locals)? {
                // A value that does not terminate rounds as the evaluator rounds it, exactly.
                Value::Ratio(ratio) => {
                    return crate::exact::Number::Ratio(*ratio)
                        .round(*places, *mode)
                        .ok()
                        .map(Value::Decimal);
                }
                other => other.as_decimal()?,
            };
            let strategy = match mode {
                RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
                RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
                RoundingMode::Down => RoundingStrategy::ToZero,
                RoundingMode::Up => RoundingStrategy::AwayFromZero,
            };
            Some(Value::Decimal(
                number.round_dp_with_strategy(*places, strategy),
            ))
        }
        Expr::Builtin(builtin, arguments) => {
            let values: Option<Vec<Value>> = arguments
                .iter()
                .map(|argument| value_of(context, argument, locals))
                .collect();
            builtin_value(*builtin, &values?)
        }
        _ => None,
    }
}

fn builtin_value(builtin: Builtin, arguments: &[Value]) -> Option<Value> {
    match (builtin, arguments) {
        (Builtin::AddMonths, [Value::Date(date), Value::Integer(months)]) => {
            dates::add_months(*date, *months).map(Value::Date)
        }
        (Builtin::AddYears, [Value::Date(date), Value::Integer(years)]) => {
            dates::add_years(*date, *years).map(Value::Date)
        }
        (Builtin::AddDays, [Value::Date(date), Value::Integer(days)]) => {
            dates::add_days(*date, *days).map(Value::Date)
        }
        (Builtin::Length, [Value::List(items)]) => {
            i64::try_from(items.len()).ok().map(Value::Integer)
        }
        (Builtin::IsEmpty, [Value::List(items)]) => Some(Value::Bool(items.is_empty())),
        (Builtin::ToMoney | Builtin::ToDecimal, [value]) => value.as_number().map(Value::number),
        (Builtin::Min2, [a, b]) => Some(if a.compare(b)?.is_le() { a } else { b }.clone()),
        (Builtin::Max2, [a, b]) => Some(if a.compare(b)?.is_ge() { a } else { b }.clone()),
        _ => None,
    }
}

/// Arithmetic and comparisons on two values, as the evaluator does them.
pub(crate) fn binary(op: BinaryOp, left: &Value, right: &Value) -> Option<Value> {
    match op {
        BinaryOp::AddInteger => Some(Value::Integer(
            left.as_integer()?.checked_add(right.as_integer()?)?,
        )),
        BinaryOp::SubInteger => Some(Value::Integer(
            left.as_integer()?.checked_sub(right.as_integer()?)?,
        )),
        BinaryOp::MulInteger => Some(Value::Integer(
            left.as_integer()?.checked_mul(right.as_integer()?)?,
        )),
        // Exact, as the evaluator computes them (a quotient that does not terminate is a ratio).
        BinaryOp::DivInteger
        | BinaryOp::DivDecimal
        | BinaryOp::AddDecimal
        | BinaryOp::SubDecimal
        | BinaryOp::MulDecimal => crate::operations::binary(op, left, right).ok(),
        BinaryOp::Eq => Some(Value::Bool(left == right)),
        BinaryOp::Ne => Some(Value::Bool(left != right)),
        BinaryOp::Lt => Some(Value::Bool(left.compare(right)?.is_lt())),
        BinaryOp::Le => Some(Value::Bool(left.compare(right)?.is_le())),
        BinaryOp::Gt => Some(Value::Bool(left.compare(right)?.is_gt())),
        BinaryOp::Ge => Some(Value::Bool(left.compare(right)?.is_ge())),
        BinaryOp::In | BinaryOp::NotIn => None,
    }
}

/// Local slots' types while reading an expression's type.
pub(crate) type LocalTypes = Vec<(u32, Type)>;

fn strip_optional(ty: Type) -> Type {
    match ty {
        Type::Optional(inner) => *inner,
        other => other,
    }
}

/// The static type of `expr`, where it can be read without the checker.
pub(crate) fn type_of(policy: &Policy, expr: &Expr, locals: &LocalTypes) -> Option<Type> {
    match expr {
        Expr::Const(Value::Integer(_)) => Some(Type::Integer),
        Expr::Const(Value::Decimal(_)) => Some(Type::Decimal),
        Expr::Const(Value::Bool(_)) => Some(Type::Bool),
        Expr::Const(Value::Date(_)) | Expr::AsOf => Some(Type::Date),
        Expr::Const(Value::Text(_)) => Some(Type::Text),
        Expr::Input => Some(Type::Record(policy.input.record)),
        Expr::Local(slot) => locals
            .iter()
            .rev()
            .find(|(bound, _)| bound == slot)
            .map(|(_, ty)| ty.clone()),
        Expr::Item(item) | Expr::Call(item, _) => {
            policy.items.get(*item as usize).map(|item| item.ty.clone())
        }
        Expr::Param { param, .. } => policy.params.get(*param as usize).map(|p| p.ty.clone()),
        Expr::Field(record, index) => {
            let record_type = strip_optional(type_of(policy, record, locals)?);
            let optional = matches!(type_of(policy, record, locals)?, Type::Optional(_));
            let field = field_def(policy, &record_type, *index)?;
            if optional {
                Some(match &field.ty {
                    Type::Optional(_) => field.ty.clone(),
                    other => Type::Optional(Box::new(other.clone())),
                })
            } else {
                Some(field.ty.clone())
            }
        }
        Expr::Unary(UnaryOp::Not, _) => Some(Type::Bool),
        Expr::Unary(UnaryOp::IntegerToDecimal, _) => Some(Type::Decimal),
        Expr::Unary(UnaryOp::Retype, operand) => match type_of(policy, operand, locals)? {
            Type::Money => Some(Type::Decimal),
            _ => Some(Type::Money),
        },
        Expr::Unary(_, operand) => type_of(policy, operand, locals),
        Expr::Binary(op, left, right) => {
            let left = type_of(policy, left, locals).map(strip_optional);
            let right = type_of(policy, right, locals).map(strip_optional);
            match op {
                BinaryOp::AddInteger | BinaryOp::SubInteger | BinaryOp::MulInteger => {
                    Some(Type::Integer)
                }
                BinaryOp::DivInteger => Some(Type::Decimal),
                BinaryOp::AddDecimal | BinaryOp::SubDecimal => left.or(right),
                BinaryOp::MulDecimal => {
                    if left == Some(Type::Money) || right == Some(Type::Money) {
                        Some(Type::Money)
                    } else {
                        Some(Type::Decimal)
                    }
                }
                BinaryOp::DivDecimal => match (left, right) {
                    (Some(Type::Money), Some(Type::Money)) => Some(Type::Decimal),
                    (Some(Type::Money), _) => Some(Type::Money),
                    _ => Some(Type::Decimal),
                },
                _ => Some(Type::Bool),
            }
        }
        Expr::And(..) | Expr::Or(..) | Expr::IsPresent(_) => Some(Type::Bool),
        Expr::Coalesce(value, default) => type_of(policy, value, locals)
            .map(strip_optional)
            .or_else(|| type_of(policy, default, locals)),
        Expr::Round { value, .. } => type_of(policy, value, locals),
        Expr::Builtin(builtin, arguments) => match builtin {
            Builtin::AddMonths | Builtin::AddDays | Builtin::AddYears => Some(Type::Date),
            Builtin::ToMoney => Some(Type::Money),
            Builtin::ToDecimal => Some(Type::Decimal),
            Builtin::Min2 | Builtin::Max2 | Builtin::AbsDecimal | Builtin::AbsInteger => {
                type_of(policy, arguments.first()?, locals)
            }
            Builtin::Length => Some(Type::Integer),
            _ => None,
        },
        Expr::Aggregate {
            kind,
            var,
            list,
            body,
            ..
        } => {
            let element = match strip_optional(type_of(policy, list, locals)?) {
                Type::List(element) => *element,
                _ => return None,
            };
            let mut inner = locals.clone();
            inner.push((*var, element.clone()));
            let body_type = body.as_ref().and_then(|body| type_of(policy, body, &inner));
            match kind {
                AggregateKind::SumInteger | AggregateKind::Count => Some(Type::Integer),
                AggregateKind::SumDecimal => body_type,
                AggregateKind::Any | AggregateKind::All => Some(Type::Bool),
                AggregateKind::Filter => Some(Type::List(Box::new(element))),
                AggregateKind::Map => Some(Type::List(Box::new(body_type?))),
                AggregateKind::FlatMap => body_type,
                AggregateKind::Min | AggregateKind::Max => {
                    Some(Type::Optional(Box::new(body_type?)))
                }
            }
        }
        _ => None,
    }
}

/// The definition of field `index` of a record type.
pub(crate) fn field_def<'p>(
    policy: &'p Policy,
    record_type: &Type,
    index: u32,
) -> Option<&'p crate::ir::FieldDef> {
    match record_type {
        Type::Record(id) => match policy.types.get(*id as usize)? {
            TypeDef::Record(record) => record.fields.get(index as usize),
            TypeDef::Enum(_) => None,
        },
        _ => None,
    }
}

/// The JSON pointer of a chain of fields read from the case root (`case.a.b` → `/a/b`), or
/// `None` when the expression is not such a chain. The as-of date is the case's as-of field.
pub(crate) fn input_path(policy: &Policy, expr: &Expr) -> Option<String> {
    match expr {
        Expr::Input => Some(String::new()),
        Expr::AsOf => {
            let field = field_def(
                policy,
                &Type::Record(policy.input.record),
                policy.input.as_of_field?,
            )?;
            Some(format!("/{}", escape_pointer(&field.name)))
        }
        Expr::Field(record, index) => {
            let parent = input_path(policy, record)?;
            let record_type = strip_optional(type_of(policy, record, &Vec::new())?);
            let field = field_def(policy, &record_type, *index)?;
            Some(format!("{parent}/{}", escape_pointer(&field.name)))
        }
        _ => None,
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The expression as people read it: names of items and parameters, constants, operators.
pub(crate) fn render(policy: &Policy, expr: &Expr, locals: &LocalTypes) -> String {
    render_named(policy, expr, locals, &[])
}

/// Like [`render`], writing the local slots in `names` as the text they stand for (a match
/// binding as the matched expression).
pub(crate) fn render_named(
    policy: &Policy,
    expr: &Expr,
    locals: &LocalTypes,
    names: &[(u32, String)],
) -> String {
    let render = |policy: &Policy, expr: &Expr, locals: &LocalTypes| {
        render_named(policy, expr, locals, names)
    };
    let render_operand = |policy: &Policy, expr: &Expr, locals: &LocalTypes| {
        render_operand(policy, expr, locals, names)
    };
    match expr {
        Expr::Const(value) => render_const(value),
        Expr::Input => policy.input.name.clone(),
        Expr::AsOf => "as_of".to_string(),
        Expr::Local(slot) => names
            .iter()
            .rev()
            .find(|(bound, _)| bound == slot)
            .map_or_else(|| "x".to_string(), |(_, name)| name.clone()),
        Expr::Item(item) => policy
            .items
            .get(*item as usize)
            .map_or_else(|| "?".to_string(), |item| item.name.clone()),
        Expr::Call(item, arguments) => {
            let name = policy
                .items
                .get(*item as usize)
                .map_or("?", |item| item.name.as_str());
            let arguments: Vec<String> = arguments
                .iter()
                .map(|argument| render(policy, argument, locals))
                .collect();
            format!("{name}({})", arguments.join(", "))
        }
        Expr::Param { param, .. } => policy
            .params
            .get(*param as usize)
            .map_or_else(|| "?".to_string(), |param| param.name.clone()),
        Expr::Field(record, index) => {
            let name = type_of(policy, record, locals)
                .map(strip_optional)
                .and_then(|ty| field_def(policy, &ty, *index))
                .map_or_else(|| index.to_string(), |field| field.name.clone());
            format!("{}.{name}", render(policy, record, locals))
        }
        Expr::Unary(UnaryOp::Not, operand) => format!("not {}", render(policy, operand, locals)),
        Expr::Unary(UnaryOp::NegInteger | UnaryOp::NegDecimal, operand) => {
            format!("-{}", render(policy, operand, locals))
        }
        Expr::Unary(_, operand) => render(policy, operand, locals),
        Expr::Binary(op, left, right) => format!(
            "{} {} {}",
            render_operand(policy, left, locals),
            operator_symbol(*op),
            render_operand(policy, right, locals)
        ),
        Expr::And(left, right) => format!(
            "{} and {}",
            render(policy, left, locals),
            render(policy, right, locals)
        ),
        Expr::Or(left, right) => format!(
            "({} or {})",
            render(policy, left, locals),
            render(policy, right, locals)
        ),
        Expr::Coalesce(value, default) => format!(
            "{} ?? {}",
            render(policy, value, locals),
            render(policy, default, locals)
        ),
        Expr::Round { value, places, .. } => {
            format!("round({}, {places})", render(policy, value, locals))
        }
        Expr::Builtin(builtin, arguments) => {
            let arguments: Vec<String> = arguments
                .iter()
                .map(|argument| render(policy, argument, locals))
                .collect();
            format!("{}({})", builtin_name(*builtin), arguments.join(", "))
        }
        Expr::Aggregate { kind, .. } => format!("{}(…)", aggregate_name(*kind)),
        _ => "…".to_string(),
    }
}

fn render_operand(
    policy: &Policy,
    expr: &Expr,
    locals: &LocalTypes,
    names: &[(u32, String)],
) -> String {
    match expr {
        Expr::Binary(op, ..) if !is_comparison(*op) => {
            let inner = render_named(policy, expr, locals, names);
            if matches!(
                op,
                BinaryOp::AddDecimal
                    | BinaryOp::SubDecimal
                    | BinaryOp::AddInteger
                    | BinaryOp::SubInteger
            ) {
                format!("({inner})")
            } else {
                inner
            }
        }
        _ => render_named(policy, expr, locals, names),
    }
}

fn render_const(value: &Value) -> String {
    match value {
        Value::Integer(number) => number.to_string(),
        Value::Decimal(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Date(date) => date.to_string(),
        Value::Text(text) => format!("\"{text}\""),
        Value::Absent => "none".to_string(),
        _ => "…".to_string(),
    }
}

pub(crate) fn is_comparison(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne
    )
}

pub(crate) fn operator_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::AddInteger | BinaryOp::AddDecimal => "+",
        BinaryOp::SubInteger | BinaryOp::SubDecimal => "-",
        BinaryOp::MulInteger | BinaryOp::MulDecimal => "*",
        BinaryOp::DivInteger | BinaryOp::DivDecimal => "/",
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::Ge => ">=",
        BinaryOp::In => "in",
        BinaryOp::NotIn => "not in",
    }
}

fn builtin_name(builtin: Builtin) -> &'static str {
    match builtin {
        Builtin::AddMonths => "add_months",
        Builtin::AddDays => "add_days",
        Builtin::AddYears => "add_years",
        Builtin::Age => "age",
        Builtin::Length => "length",
        Builtin::ToMoney => "money",
        Builtin::ToDecimal => "decimal",
        Builtin::Min2 => "min",
        Builtin::Max2 => "max",
        Builtin::IsEmpty => "is_empty",
        _ => "f",
    }
}

fn aggregate_name(kind: AggregateKind) -> &'static str {
    match kind {
        AggregateKind::SumInteger | AggregateKind::SumDecimal => "sum",
        AggregateKind::Count => "count",
        AggregateKind::Any => "any",
        AggregateKind::All => "all",
        AggregateKind::Filter => "filter",
        AggregateKind::Map => "map",
        AggregateKind::FlatMap => "flat_map",
        AggregateKind::Min => "min",
        AggregateKind::Max => "max",
    }
}
