//! What-if: change a compiled policy's parameters without editing its files.
//!
//! `PARAM=VALUE` gives the parameter VALUE on every date; `PARAM=VALUE@DATE` adds the value
//! from DATE on, as the line `from DATE = VALUE` would in the parameter's declaration (a value
//! already dated DATE is replaced, later dated values still apply from their own dates). VALUE
//! is read by the parameter's type: `0.75`, `12`, `3932` (money), `true`, `2025-03-01`,
//! `2025-03`, `2025-Q1`, a text, or an enum variant's name. A derived parameter (one computed
//! from others) is set the same way: its formula gives way to the value (from DATE on).
//!
//! The changed policy's version gets the suffix `+what-if`, so that no decision made with it
//! passes for one made with the policy as adopted (its digest differs too).

use std::fmt;

use rust_decimal::Decimal;

use crate::ir::{BinaryOp, Body, Expr, ItemKind, Policy, Type, TypeDef};
use crate::value::{Date, Month, Quarter, Value};

/// One `PARAM=VALUE[@DATE]`, as written (the value is read against the policy's type later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub parameter: String,
    pub value: String,
    pub from: Option<Date>,
}

/// Why a what-if cannot be applied; the message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatIfError {
    pub message: String,
}

impl fmt::Display for WhatIfError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for WhatIfError {}

fn error(message: String) -> WhatIfError {
    WhatIfError { message }
}

/// The suffix added to the version of a policy changed by a what-if.
pub const WHAT_IF_SUFFIX: &str = "+what-if";

impl Override {
    /// Reads `PARAM=VALUE` or `PARAM=VALUE@DATE`.
    pub fn parse(text: &str) -> Result<Override, WhatIfError> {
        let Some((parameter, rest)) = text.split_once('=') else {
            return Err(error(format!(
                "`{text}` is not PARAM=VALUE[@DATE] (e.g. POVERTY_LINE_SHARE=0.75@2025-01-01)"
            )));
        };
        let parameter = parameter.trim();
        if parameter.is_empty() {
            return Err(error(format!("`{text}` names no parameter before `=`")));
        }
        let (value, from) = match rest.rsplit_once('@') {
            Some((value, date)) => {
                let date = Date::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| {
                    error(format!(
                        "`{text}`: `{date}` after `@` is not a date in the form YYYY-MM-DD"
                    ))
                })?;
                (value, Some(date))
            }
            None => (rest, None),
        };
        Ok(Override {
            parameter: parameter.to_string(),
            value: value.trim().to_string(),
            from,
        })
    }
}

impl fmt::Display for Override {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}={}", self.parameter, self.value)?;
        if let Some(from) = self.from {
            write!(formatter, "@{from}")?;
        }
        Ok(())
    }
}

/// Levenshtein distance in characters, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

fn type_name(policy: &Policy, ty: &Type) -> String {
    match ty {
        Type::Enum(id) | Type::Record(id) => match policy.types.get(*id as usize) {
            Some(TypeDef::Enum(def)) => def.name.clone(),
            Some(TypeDef::Record(def)) => def.name.clone(),
            None => format!("type #{id}"),
        },
        Type::List(inner) => format!("List<{}>", type_name(policy, inner)),
        Type::Optional(inner) => format!("{}?", type_name(policy, inner)),
        Type::Map(inner) => format!("Map<{}>", type_name(policy, inner)),
        other => format!("{other:?}"),
    }
}

/// Reads a value written on the command line as a value of `ty`.
pub fn parse_value(policy: &Policy, ty: &Type, text: &str) -> Result<Value, String> {
    let expected = |what: &str| format!("`{text}` is not {what}");
    match ty {
        Type::Bool => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(expected("true or false")),
        },
        Type::Integer => text
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| expected("a whole number")),
        Type::Decimal => text
            .parse::<Decimal>()
            .map(Value::Decimal)
            .map_err(|_| expected("a decimal number (e.g. 0.75)")),
        Type::Money => {
            let amount = text
                .trim_end_matches('₸')
                .trim_end_matches("KZT")
                .trim()
                .parse::<Decimal>()
                .map_err(|_| expected("an amount of money (e.g. 3932 or 3932.50)"))?;
            if amount.normalize().scale() > 2 {
                return Err(expected("an amount with at most two decimals"));
            }
            Ok(Value::Decimal(amount))
        }
        Type::Date => Date::parse_from_str(text, "%Y-%m-%d")
            .map(Value::Date)
            .map_err(|_| expected("a date in the form YYYY-MM-DD")),
        Type::Month => Month::parse(text)
            .map(Value::Month)
            .ok_or_else(|| expected("a month in the form YYYY-MM")),
        Type::Quarter => Quarter::parse(text)
            .map(Value::Quarter)
            .ok_or_else(|| expected("a quarter in the form YYYY-Q1")),
        Type::Text | Type::RuleId => Ok(Value::text(text)),
        Type::Enum(id) => match policy.types.get(*id as usize) {
            Some(TypeDef::Enum(def)) => def
                .variants
                .iter()
                .position(|variant| variant.name == text)
                .and_then(|index| u32::try_from(index).ok())
                .map(Value::Enum)
                .ok_or_else(|| {
                    let names: Vec<&str> = def.variants.iter().map(|v| v.name.as_str()).collect();
                    format!(
                        "`{text}` is not a {}: one of {}",
                        def.name,
                        names.join(", ")
                    )
                }),
            _ => Err(format!("type #{id} is not an enum")),
        },
        Type::Optional(inner) => {
            if text == "none" {
                Ok(Value::Absent)
            } else {
                parse_value(policy, inner, text)
            }
        }
        other => Err(format!(
            "a parameter of type {} cannot be set from the command line",
            type_name(policy, other)
        )),
    }
}

/// Applies what-ifs to a policy, in order. The first that cannot be applied stops it.
pub fn apply(policy: &mut Policy, overrides: &[Override]) -> Result<(), WhatIfError> {
    for change in overrides {
        apply_one(policy, change)?;
    }
    if !overrides.is_empty() && !policy.version.ends_with(WHAT_IF_SUFFIX) {
        policy.version.push_str(WHAT_IF_SUFFIX);
    }
    Ok(())
}

fn apply_one(policy: &mut Policy, change: &Override) -> Result<(), WhatIfError> {
    let bad_value = |ty: &Type, message: String, policy: &Policy| {
        error(format!(
            "--set {change}: {message} (the parameter `{}` is a {})",
            change.parameter,
            type_name(policy, ty)
        ))
    };
    if let Some(index) = policy
        .params
        .iter()
        .position(|param| param.name == change.parameter)
    {
        let ty = policy.params[index].ty.clone();
        let value = parse_value(policy, &ty, &change.value)
            .map_err(|message| bad_value(&ty, message, policy))?;
        let param = &mut policy.params[index];
        match change.from {
            None => {
                let from = param.values.first().map(|v| v.from).unwrap_or(Date::MIN);
                param.values = vec![crate::ir::ParamValue {
                    from,
                    value,
                    source: Some(format!("what-if: --set {change}")),
                }];
            }
            Some(from) => {
                param.values.retain(|existing| existing.from != from);
                let at = param
                    .values
                    .partition_point(|existing| existing.from < from);
                param.values.insert(
                    at,
                    crate::ir::ParamValue {
                        from,
                        value,
                        source: Some(format!("what-if: --set {change}")),
                    },
                );
            }
        }
        return Ok(());
    }
    if let Some(index) = policy
        .items
        .iter()
        .position(|item| item.kind == ItemKind::DerivedParam && item.name == change.parameter)
    {
        let ty = policy.items[index].ty.clone();
        let value = parse_value(policy, &ty, &change.value)
            .map_err(|message| bad_value(&ty, message, policy))?;
        let item = &mut policy.items[index];
        let constant = Expr::Const(value);
        item.body = match change.from {
            None => Body::Expr(constant),
            Some(from) => {
                let formula = match std::mem::replace(&mut item.body, Body::Expr(Expr::AsOf)) {
                    Body::Expr(expr) => expr,
                    Body::Exceptions { .. } => {
                        return Err(error(format!(
                            "--set {change}: `{}` has exceptions; set it without @DATE",
                            change.parameter
                        )))
                    }
                };
                Body::Expr(Expr::If {
                    condition: Box::new(Expr::Binary(
                        BinaryOp::Ge,
                        Box::new(Expr::AsOf),
                        Box::new(Expr::Const(Value::Date(from))),
                    )),
                    then: Box::new(constant),
                    otherwise: Box::new(formula),
                })
            }
        };
        item.source = Some(format!("what-if: --set {change}"));
        return Ok(());
    }
    let names = policy.params.iter().map(|param| param.name.as_str()).chain(
        policy
            .items
            .iter()
            .filter(|item| item.kind == ItemKind::DerivedParam)
            .map(|item| item.name.as_str()),
    );
    let wanted = change.parameter.to_lowercase();
    let closest = names
        .map(|name| (edit_distance(&name.to_lowercase(), &wanted), name))
        .min()
        .filter(|(distance, name)| *distance <= (name.chars().count() / 3).max(2))
        .map(|(_, name)| format!("; did you mean `{name}`?"))
        .unwrap_or_default();
    Err(error(format!(
        "--set {change}: the policy has no parameter `{}`{closest}",
        change.parameter
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::ir::{Item, Messages, Param, ParamValue, IR_FORMAT_VERSION};

    fn date(text: &str) -> Date {
        Date::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn policy() -> Policy {
        let value = |from: &str, number: i64| ParamValue {
            from: date(from),
            value: Value::Decimal(Decimal::from(number)),
            source: None,
        };
        Policy {
            format_version: IR_FORMAT_VERSION,
            name: "demo".into(),
            version: "1".into(),
            publisher: "p".into(),
            in_force_from: date("2025-01-01"),
            modules: vec![],
            types: vec![],
            input: crate::ir::InputDecl {
                name: "case".into(),
                record: 0,
                id_field: None,
                as_of_field: None,
            },
            params: vec![
                Param {
                    name: "MRP".into(),
                    ty: Type::Money,
                    source: None,
                    values: vec![value("2024-01-01", 3692), value("2025-01-01", 3932)],
                    valid_until: None,
                    note: None,
                },
                Param {
                    name: "SHARE".into(),
                    ty: Type::Decimal,
                    source: None,
                    values: vec![value("2024-01-01", 1)],
                    valid_until: None,
                    note: None,
                },
                Param {
                    name: "AGE".into(),
                    ty: Type::Integer,
                    source: None,
                    values: vec![],
                    valid_until: None,
                    note: None,
                },
            ],
            tables: vec![],
            calendars: vec![],
            bands: vec![],
            items: vec![Item {
                name: "LINE".into(),
                kind: ItemKind::DerivedParam,
                ty: Type::Money,
                params: vec![],
                locals: 0,
                body: Body::Expr(Expr::Param { param: 0, at: None }),
                source: None,
                messages: Messages::default(),
                module: 0,
                doc: None,
                messages_not: Messages::default(),
                note: None,
            }],
            groups: vec![],
            outputs: vec![],
            checks: vec![],
            labels: Default::default(),
        }
    }

    /// Applies `set` and returns the changed parameter's values as `from=value` (or the
    /// derived parameter's body in debug form), or the error message.
    fn check(set: &str, expected: &str) {
        let mut policy = policy();
        let result = Override::parse(set).and_then(|change| {
            apply(&mut policy, std::slice::from_ref(&change))?;
            Ok(change)
        });
        let actual = match result {
            Err(failure) => failure.message,
            Ok(change) => {
                assert_eq!(policy.version, "1+what-if");
                match policy.params.iter().find(|p| p.name == change.parameter) {
                    Some(param) => param
                        .values
                        .iter()
                        .map(|v| format!("{}={:?}", v.from, v.value))
                        .collect::<Vec<_>>()
                        .join(" "),
                    None => format!("{:?}", policy.items[0].body),
                }
            }
        };
        assert!(
            actual.contains(expected),
            "--set {set}: got `{actual}`, expected it to contain `{expected}`"
        );
    }

    #[test]
    fn what_ifs_change_values_or_say_why_not() {
        check("SHARE=0.75", "2024-01-01=Decimal(0.75)");
        check("MRP=4000", "2024-01-01=Decimal(4000)");
        check(
            "MRP=4000@2025-07-01",
            "2024-01-01=Decimal(3692) 2025-01-01=Decimal(3932) 2025-07-01=Decimal(4000)",
        );
        check(
            "MRP=4000@2025-01-01",
            "2024-01-01=Decimal(3692) 2025-01-01=Decimal(4000)",
        );
        check("AGE=63", "-262143-01-01=Integer(63)");
        check("LINE=30000", "Const(Decimal(30000))");
        check("LINE=30000@2026-01-01", "If");
        check("SHAER=0.75", "no parameter `SHAER`; did you mean `SHARE`?");
        check("POVERTY=0.75", "no parameter `POVERTY`");
        check("SHARE=high", "`high` is not a decimal number");
        check("AGE=6.5", "`6.5` is not a whole number");
        check("MRP=1.005", "at most two decimals");
        check(
            "SHARE=0.75@2025-13-01",
            "`2025-13-01` after `@` is not a date",
        );
        check("SHARE", "is not PARAM=VALUE[@DATE]");
        check("=1", "names no parameter");
    }
}
