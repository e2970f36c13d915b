//! The built-in functions: their names, argument types and lowering.

use crate::codes::Code;
use ereje_runtime::ir::{Builtin, Expr, Type};
use ereje_runtime::value::Value;

use super::{to_decimal, unify, Checker, NamedKind, Typed};
use crate::ast::{self, ExprKind, LiteralKind, Name, Span};
use crate::diagnostic::{closest_name, Diagnostic};

/// Every built-in function, for "did you mean" and the language reference.
pub const BUILTIN_NAMES: &[&str] = &[
    "add_days",
    "add_months",
    "add_years",
    "age",
    "days_between",
    "quarter",
    "month",
    "previous",
    "next",
    "first_day",
    "last_day",
    "contains",
    "year",
    "date",
    "add_working_days",
    "is_working_day",
    "length",
    "is_empty",
    "abs",
    "min",
    "max",
    "money",
    "decimal",
    "text",
    "is_present",
    "first",
    "round",
    "lookup",
    "band",
    "band_label",
    "holding",
    "total",
    "values",
    "exception_applied",
    "at",
];

fn nothing() -> Typed {
    (Expr::Const(Value::Absent), None)
}

pub fn call_builtin(
    checker: &mut Checker<'_>,
    name: &Name,
    arguments: &[ast::Expr],
    span: Span,
) -> Typed {
    let function = name.text.as_str();
    let arity = |count: usize| count;
    let expected_arity = match function {
        "add_days" | "add_months" | "add_years" | "age" | "days_between" | "contains" | "min"
        | "max" | "band" | "band_label" | "is_working_day" | "at" => arity(2),
        "quarter" | "month" | "previous" | "next" | "first_day" | "last_day" | "year"
        | "length" | "is_empty" | "abs" | "money" | "decimal" | "text" | "is_present" | "first"
        | "holding" | "total" | "values" | "exception_applied" => arity(1),
        "date" | "add_working_days" | "round" => arity(3),
        "lookup" => arguments.len().max(2),
        _ => {
            for argument in arguments {
                checker.expr(argument, None);
            }
            let mut diagnostic = Diagnostic::error(
                Code::NameUnknownFunction,
                format!("unknown function `{function}`"),
                name.span,
                "no such function",
            );
            if let Some(suggestion) = closest_name(function, BUILTIN_NAMES.iter().copied()) {
                diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
            }
            checker.report(diagnostic);
            return nothing();
        }
    };
    if function == "round" && arguments.len() == 2 {
        checker.report(
            Diagnostic::error(
                Code::RoundingUnnamed,
                "`round` needs a rounding strategy",
                span,
                "no strategy named",
            )
            .with_help("write `round(x, places, half_up)` (or `half_even`, `down`, `up`): the law's rounding must be stated"),
        );
        return nothing();
    }
    if arguments.len() != expected_arity {
        checker.report(Diagnostic::error(
            Code::TypeArity,
            format!(
                "`{function}` takes {}, but {}",
                super::count_of(expected_arity, "argument"),
                super::given(arguments.len())
            ),
            span,
            "wrong number of arguments",
        ));
        return nothing();
    }
    match function {
        "lookup" => {
            let table = checker.named_arg(arguments.first(), NamedKind::Table);
            let mut keys = Vec::new();
            let key_types = table
                .as_ref()
                .and_then(|(_, name)| checker.signature_of(name))
                .map(|(_, params)| params);
            for (index, argument) in arguments.iter().enumerate().skip(1) {
                let expected = key_types
                    .as_ref()
                    .and_then(|types| types.get(index - 1))
                    .cloned();
                let (lowered, ty) = checker.expr(argument, expected.as_ref());
                if let (Some(ty), Some(expected)) = (&ty, &expected) {
                    if unify(ty, expected).as_ref() != Some(expected) {
                        let (a, b) = (checker.show(ty), checker.show(expected));
                        checker.report(Diagnostic::error(
                            Code::TypeMismatch,
                            format!("key {index} of the table must be {b}, but this is {a}"),
                            argument.span,
                            format!("this is {a}"),
                        ));
                    }
                }
                keys.push(lowered);
            }
            let Some((table_id, table_name)) = table else {
                return nothing();
            };
            if let Some(types) = &key_types {
                if types.len() != keys.len() {
                    checker.report(Diagnostic::error(
                        Code::TypeArity,
                        format!(
                            "table `{table_name}` has {}, but {}",
                            super::count_of(types.len(), "key"),
                            super::given(keys.len())
                        ),
                        span,
                        "wrong number of keys",
                    ));
                    return nothing();
                }
            }
            let row_type = checker
                .symbols
                .types
                .get(&table_name)
                .map(|symbol| symbol.id);
            let Some(row_type) = row_type else {
                return nothing();
            };
            (
                Expr::Lookup(table_id, keys),
                Some(Type::Optional(Box::new(Type::Record(row_type)))),
            )
        }
        "band" | "band_label" => {
            let bands = checker.named_arg(arguments.first(), NamedKind::Bands);
            let (lowered, ty) = checker.arg(arguments, 1, None);
            let Some((bands_id, bands_name)) = bands else {
                return nothing();
            };
            let Some((result, params)) = checker.signature_of(&bands_name) else {
                return nothing();
            };
            let Some(ty) = ty else {
                return nothing();
            };
            let domain = params.first().cloned().unwrap_or(Type::Integer);
            let lowered = match (&ty, &domain) {
                (a, b) if a == b => lowered,
                (Type::Integer, Type::Decimal) => to_decimal(lowered),
                _ => {
                    let (a, b) = (checker.show(&ty), checker.show(&domain));
                    checker.report(Diagnostic::error(
                        Code::TypeMismatch,
                        format!("the bands of `{bands_name}` are over {b}, but this value is {a}"),
                        arguments[1].span,
                        format!("this is {a}"),
                    ));
                    return nothing();
                }
            };
            if function == "band" {
                (Expr::Band(bands_id, Box::new(lowered)), Some(result))
            } else {
                (
                    Expr::BandLabel(bands_id, Box::new(lowered)),
                    Some(Type::Text),
                )
            }
        }
        "holding" | "total" | "values" => {
            let Some((group_id, group_name)) =
                checker.named_arg(arguments.first(), NamedKind::Group)
            else {
                return nothing();
            };
            let Some((element, _)) = checker.signature_of(&group_name) else {
                return nothing();
            };
            match function {
                "holding" => {
                    if element != Type::Bool {
                        let shown = checker.show(&element);
                        checker.report(Diagnostic::error(
                            Code::TypeMismatch,
                            format!("`holding` lists the rules that hold, but `{group_name}` is a group of {shown} rules"),
                            arguments[0].span,
                            "not a group of Bool rules",
                        ));
                        return nothing();
                    }
                    (
                        Expr::Holding(group_id),
                        Some(Type::List(Box::new(Type::Text))),
                    )
                }
                "total" => {
                    if !matches!(element, Type::Integer | Type::Decimal | Type::Money) {
                        let shown = checker.show(&element);
                        checker.report(Diagnostic::error(
                            Code::TypeMismatch,
                            format!("`total` adds numbers, but `{group_name}` is a group of {shown} rules"),
                            arguments[0].span,
                            "not numbers",
                        ));
                        return nothing();
                    }
                    (Expr::GroupSum(group_id), Some(element))
                }
                _ => (
                    Expr::GroupValues(group_id),
                    Some(Type::Map(Box::new(element))),
                ),
            }
        }
        "exception_applied" => {
            let Some((item_id, _)) = checker.item_arg(arguments.first()) else {
                return nothing();
            };
            (
                Expr::ExceptionApplied(item_id),
                Some(Type::Optional(Box::new(Type::Text))),
            )
        }
        "add_working_days" | "is_working_day" => {
            let calendar = checker.named_arg(arguments.first(), NamedKind::Calendar);
            let date = expect(checker, arguments, 1, &Type::Date, function);
            let extra = if function == "add_working_days" {
                Some(expect(checker, arguments, 2, &Type::Integer, function))
            } else {
                None
            };
            let Some((calendar_id, _)) = calendar else {
                return nothing();
            };
            let mut lowered = vec![Expr::Const(Value::Integer(i64::from(calendar_id))), date];
            if let Some(extra) = extra {
                lowered.push(extra);
                (
                    Expr::Builtin(Builtin::AddWorkingDays, lowered),
                    Some(Type::Date),
                )
            } else {
                (
                    Expr::Builtin(Builtin::IsWorkingDay, lowered),
                    Some(Type::Bool),
                )
            }
        }
        "at" => {
            let param = checker.named_arg(arguments.first(), NamedKind::Param);
            let date = expect(checker, arguments, 1, &Type::Date, function);
            let Some((param_id, param_name)) = param else {
                return nothing();
            };
            let ty = checker.signature_of(&param_name).map(|(ty, _)| ty);
            (
                Expr::Param {
                    param: param_id,
                    at: Some(Box::new(date)),
                },
                ty,
            )
        }
        "round" => {
            let (value, ty) = checker.arg(arguments, 0, None);
            let places = match &arguments[1].kind {
                ExprKind::Literal(LiteralKind::Integer(places)) if (0..=20).contains(places) => {
                    Some(*places as u32)
                }
                _ => {
                    checker.report(Diagnostic::error(
                        Code::RoundingPlaces,
                        "the number of decimal places must be a whole number from 0 to 20",
                        arguments[1].span,
                        "not a number of places",
                    ));
                    None
                }
            };
            let mode = checker.rounding_mode(arguments.get(2), span);
            let ty = match ty {
                Some(Type::Integer) => Some(Type::Decimal),
                Some(ty @ (Type::Decimal | Type::Money)) => Some(ty),
                Some(other) => {
                    let shown = checker.show(&other);
                    checker.report(Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`round` rounds numbers, but this is {shown}"),
                        arguments[0].span,
                        "not a number",
                    ));
                    None
                }
                None => None,
            };
            let value = if matches!(value, Expr::Const(Value::Integer(_))) {
                to_decimal(value)
            } else {
                value
            };
            match (places, mode, ty) {
                (Some(places), Some(mode), Some(ty)) => (
                    Expr::Round {
                        value: Box::new(value),
                        places,
                        mode,
                    },
                    Some(ty),
                ),
                _ => nothing(),
            }
        }
        _ => simple_builtin(checker, name, arguments, span),
    }
}

fn expect(
    checker: &mut Checker<'_>,
    arguments: &[ast::Expr],
    index: usize,
    ty: &Type,
    function: &str,
) -> Expr {
    match arguments.get(index) {
        Some(argument) => checker.check_against(
            argument,
            ty,
            &format!("argument {} of `{function}`", index + 1),
        ),
        None => Expr::Const(Value::Absent),
    }
}

/// Functions whose arguments are ordinary values: typed by a table of overloads.
fn simple_builtin(
    checker: &mut Checker<'_>,
    name: &Name,
    arguments: &[ast::Expr],
    span: Span,
) -> Typed {
    let function = name.text.as_str();
    let mut lowered = Vec::with_capacity(arguments.len());
    let mut types = Vec::with_capacity(arguments.len());
    for (index, argument) in arguments.iter().enumerate() {
        let hint = if index == 1 {
            types
                .first()
                .cloned()
                .flatten()
                .map(|t: Type| element_hint(&t))
        } else {
            None
        };
        let (expr, ty) = checker.expr(argument, hint.as_ref());
        lowered.push(expr);
        types.push(ty);
    }
    if types.iter().any(Option::is_none) {
        return nothing();
    }
    let types: Vec<Type> = types.into_iter().flatten().collect();
    use Type::*;
    let resolved: Option<(Builtin, Type)> = match (function, types.as_slice()) {
        ("add_days", [Date, Integer]) => Some((Builtin::AddDays, Date)),
        ("add_months", [Date, Integer]) => Some((Builtin::AddMonths, Date)),
        ("add_years", [Date, Integer]) => Some((Builtin::AddYears, Date)),
        ("age", [Date, Date]) => Some((Builtin::Age, Integer)),
        ("days_between", [Date, Date]) => Some((Builtin::DaysBetween, Integer)),
        ("quarter", [Date]) => Some((Builtin::QuarterOf, Quarter)),
        ("quarter", [Month]) => Some((Builtin::QuarterOfMonth, Quarter)),
        ("month", [Date]) => Some((Builtin::MonthOf, Month)),
        ("previous", [Quarter]) => Some((Builtin::PreviousQuarter, Quarter)),
        ("next", [Quarter]) => Some((Builtin::NextQuarter, Quarter)),
        ("previous", [Month]) => Some((Builtin::PreviousMonth, Month)),
        ("next", [Month]) => Some((Builtin::NextMonth, Month)),
        ("first_day", [Quarter]) => Some((Builtin::QuarterFirstDay, Date)),
        ("last_day", [Quarter]) => Some((Builtin::QuarterLastDay, Date)),
        ("first_day", [Month]) => Some((Builtin::MonthFirstDay, Date)),
        ("last_day", [Month]) => Some((Builtin::MonthLastDay, Date)),
        ("contains", [Quarter, Month]) => Some((Builtin::QuarterContainsMonth, Bool)),
        ("contains", [List(element), value]) if unify(element, value).is_some() => {
            Some((Builtin::ListContains, Bool))
        }
        ("year", [Date]) => Some((Builtin::YearOf, Integer)),
        ("date", [Integer, Integer, Integer]) => Some((Builtin::MakeDate, Date)),
        ("length", [List(_)]) => Some((Builtin::Length, Integer)),
        ("is_empty", [List(_)]) => Some((Builtin::IsEmpty, Bool)),
        ("abs", [Integer]) => Some((Builtin::AbsInteger, Integer)),
        ("abs", [ty @ (Decimal | Money)]) => Some((Builtin::AbsDecimal, ty.clone())),
        ("min" | "max", [Integer, Decimal]) => {
            lowered[0] = to_decimal(lowered[0].clone());
            Some((
                if function == "min" {
                    Builtin::Min2
                } else {
                    Builtin::Max2
                },
                Decimal,
            ))
        }
        ("min" | "max", [Decimal, Integer]) => {
            lowered[1] = to_decimal(lowered[1].clone());
            Some((
                if function == "min" {
                    Builtin::Min2
                } else {
                    Builtin::Max2
                },
                Decimal,
            ))
        }
        ("min" | "max", [a, b])
            if a == b && matches!(a, Integer | Decimal | Money | Date | Month | Quarter | Text) =>
        {
            Some((
                if function == "min" {
                    Builtin::Min2
                } else {
                    Builtin::Max2
                },
                a.clone(),
            ))
        }
        ("money", [Integer]) => {
            lowered[0] = to_decimal(lowered[0].clone());
            Some((Builtin::ToMoney, Money))
        }
        ("money", [Decimal]) => Some((Builtin::ToMoney, Money)),
        ("decimal", [Integer]) => {
            lowered[0] = to_decimal(lowered[0].clone());
            Some((Builtin::ToDecimal, Decimal))
        }
        ("decimal", [Money]) => Some((Builtin::ToDecimal, Decimal)),
        ("text", [Enum(id)]) => {
            let Some(enumeration) = checker.types.enumeration(*id) else {
                return nothing();
            };
            let arms = enumeration
                .variants
                .iter()
                .enumerate()
                .map(|(index, variant)| ereje_runtime::ir::MatchArm {
                    pattern: ereje_runtime::ir::Pattern::Variant(index as u32),
                    bind: None,
                    body: Expr::Const(Value::text(&variant.name)),
                })
                .collect();
            return (
                Expr::Match {
                    scrutinee: Box::new(lowered.remove(0)),
                    arms,
                },
                Some(Text),
            );
        }
        ("text", [_]) => Some((Builtin::ToText, Text)),
        ("is_present", [Optional(_)]) => {
            return (Expr::IsPresent(Box::new(lowered.remove(0))), Some(Bool))
        }
        ("first", [List(element)]) => {
            let element = (**element).clone();
            return (
                Expr::First(Box::new(lowered.remove(0))),
                Some(Optional(Box::new(element))),
            );
        }
        _ => None,
    };
    match resolved {
        Some((builtin, ty)) => (Expr::Builtin(builtin, lowered), Some(ty)),
        None => {
            let shown: Vec<String> = types.iter().map(|t| checker.show(t)).collect();
            let hint = match function {
                "is_present" => "`is_present` takes an optional value (`T?`)".to_string(),
                "min" | "max" => "`min(a, b)` and `max(a, b)` take two values of one type; for a list write `max(x in list => …)`".to_string(),
                "contains" => "`contains(quarter, month)` or `contains(list, value)`".to_string(),
                _ => format!("see LANGUAGE.md for the arguments of `{function}`"),
            };
            checker.report(
                Diagnostic::error(
                    Code::TypeArguments,
                    format!(
                        "`{function}` cannot take arguments of types ({})",
                        shown.join(", ")
                    ),
                    span,
                    "wrong argument types",
                )
                .with_help(hint),
            );
            nothing()
        }
    }
}

fn element_hint(first: &Type) -> Type {
    match first {
        Type::List(element) => (**element).clone(),
        other => other.clone(),
    }
}
