//! The operations every evaluator shares, written once: arithmetic, comparison, rounding, text,
//! the built-in functions, and what an engine prepares at load time for its evaluators. The
//! interpreter (`eval.rs`), the compiled evaluator (`compiled.rs`) and native code
//! (`native.rs`) call these; none of them is called from here.

use std::sync::Arc;

use chrono::Datelike;

use crate::dates;
use crate::error::{codes, CaseError};
use crate::exact::Number;
use crate::ir::{BinaryOp, Builtin, Policy, RoundingMode, UnaryOp};
use crate::trace::TraceNames;
use crate::value::{Date, Key, Value};

pub(crate) type EvalResult<T> = Result<T, Box<CaseError>>;

/// How deeply item evaluations and function calls may nest before evaluation gives up.
pub(crate) const MAX_DEPTH: u32 = 96;

pub(crate) fn error(code: &'static str, message: String) -> Box<CaseError> {
    Box::new(CaseError::new(code, "", message))
}

pub(crate) fn type_error(message: &str) -> Box<CaseError> {
    error(codes::TYPE_ERROR, message.to_string())
}

pub(crate) fn overflow(what: &str) -> Box<CaseError> {
    error(codes::OVERFLOW, format!("arithmetic overflow in {what}"))
}

/// What the evaluator needs from an engine, prepared at load time.
pub(crate) struct Prepared {
    /// Item names as shared text (group results use them without allocating).
    pub(crate) item_names: Vec<Arc<str>>,
    /// Item names as map keys kept for the process (group values use them without copying
    /// text or counting references).
    pub(crate) item_keys: Vec<Key>,
    /// The frame size of each item: at least its declared locals and every slot its body uses.
    pub(crate) item_frames: Vec<u32>,
    /// The frame size of each output expression.
    pub(crate) output_frames: Vec<u32>,
    /// The names, sources, labels and types that trace nodes share.
    pub(crate) trace_names: TraceNames,
}

fn date_arg<F>(arg: &mut F, index: usize) -> EvalResult<Option<Date>>
where
    F: FnMut(usize) -> EvalResult<Value>,
{
    match arg(index)? {
        Value::Date(date) => Ok(Some(date)),
        Value::Absent => Ok(None),
        _ => Err(type_error("expected a date")),
    }
}

/// A builtin's result. `arg(i)` gives the value of argument `i` and is asked for each argument
/// when, and only when, the builtin needs it, in the order the builtin needs them: an absent
/// first argument leaves the others unevaluated, as it always has. The interpreter passes its own
/// evaluation of the argument expressions; the compiled evaluator (`compiled.rs`) its closures.
pub(crate) fn apply_builtin<F>(policy: &Policy, builtin: Builtin, mut arg: F) -> EvalResult<Value>
where
    F: FnMut(usize) -> EvalResult<Value>,
{
    match builtin {
        Builtin::AddMonths | Builtin::AddDays | Builtin::AddYears => {
            let Some(date) = date_arg(&mut arg, 0)? else {
                return Ok(Value::Absent);
            };
            let amount = integer(&arg(1)?)?;
            let result = match builtin {
                Builtin::AddMonths => dates::add_months(date, amount),
                Builtin::AddYears => dates::add_years(date, amount),
                _ => dates::add_days(date, amount),
            };
            result.map(Value::Date).ok_or_else(|| {
                error(
                    codes::INVALID_DATE,
                    format!("{date} moved by {amount} is out of the calendar's range"),
                )
            })
        }
        Builtin::Age => {
            let (Some(birth), Some(on)) = (date_arg(&mut arg, 0)?, date_arg(&mut arg, 1)?) else {
                return Ok(Value::Absent);
            };
            dates::age(birth, on)
                .map(Value::Integer)
                .ok_or_else(|| error(codes::INVALID_DATE, format!("no age from {birth} on {on}")))
        }
        Builtin::DaysBetween => {
            let (Some(from), Some(to)) = (date_arg(&mut arg, 0)?, date_arg(&mut arg, 1)?) else {
                return Ok(Value::Absent);
            };
            Ok(Value::Integer(dates::days_between(from, to)))
        }
        Builtin::QuarterOf | Builtin::QuarterOfMonth => match arg(0)? {
            Value::Date(date) => Ok(Value::Quarter(dates::quarter_of(date))),
            Value::Month(month) => Ok(Value::Quarter(month.quarter())),
            Value::Absent => Ok(Value::Absent),
            _ => Err(type_error("`quarter` expects a date or a month")),
        },
        Builtin::MonthOf => match arg(0)? {
            Value::Date(date) => Ok(Value::Month(dates::month_of(date))),
            Value::Absent => Ok(Value::Absent),
            _ => Err(type_error("`month` expects a date")),
        },
        Builtin::PreviousQuarter
        | Builtin::NextQuarter
        | Builtin::PreviousMonth
        | Builtin::NextMonth => {
            let result = match arg(0)? {
                Value::Quarter(quarter) if builtin == Builtin::PreviousQuarter => {
                    dates::previous_quarter(quarter).map(Value::Quarter)
                }
                Value::Quarter(quarter) if builtin == Builtin::NextQuarter => {
                    dates::next_quarter(quarter).map(Value::Quarter)
                }
                Value::Month(month) if builtin == Builtin::PreviousMonth => {
                    dates::previous_month(month).map(Value::Month)
                }
                Value::Month(month) if builtin == Builtin::NextMonth => {
                    dates::next_month(month).map(Value::Month)
                }
                Value::Absent => return Ok(Value::Absent),
                _ => return Err(type_error("`previous`/`next` expects a quarter or a month")),
            };
            result.ok_or_else(|| {
                error(
                    codes::INVALID_DATE,
                    "a month or quarter out of range".to_string(),
                )
            })
        }
        Builtin::QuarterFirstDay
        | Builtin::QuarterLastDay
        | Builtin::MonthFirstDay
        | Builtin::MonthLastDay => {
            let first = matches!(builtin, Builtin::QuarterFirstDay | Builtin::MonthFirstDay);
            let result = match arg(0)? {
                Value::Quarter(quarter) if first => dates::quarter_first_day(quarter),
                Value::Quarter(quarter) => dates::quarter_last_day(quarter),
                Value::Month(month) if first => dates::month_first_day(month),
                Value::Month(month) => dates::month_last_day(month),
                Value::Absent => return Ok(Value::Absent),
                _ => {
                    return Err(type_error(
                        "`first_day`/`last_day` expects a quarter or a month",
                    ))
                }
            };
            result.map(Value::Date).ok_or_else(|| {
                error(
                    codes::INVALID_DATE,
                    "a month or quarter out of range".to_string(),
                )
            })
        }
        Builtin::QuarterContainsMonth => match (arg(0)?, arg(1)?) {
            (Value::Quarter(quarter), Value::Month(month)) => {
                Ok(Value::Bool(dates::quarter_contains(quarter, month)))
            }
            (Value::Absent, _) | (_, Value::Absent) => Ok(Value::Absent),
            _ => Err(type_error("`contains` expects a quarter and a month")),
        },
        Builtin::YearOf => match arg(0)? {
            Value::Date(date) => Ok(Value::Integer(i64::from(date.year()))),
            Value::Month(month) => Ok(Value::Integer(i64::from(month.year))),
            Value::Quarter(quarter) => Ok(Value::Integer(i64::from(quarter.year))),
            Value::Absent => Ok(Value::Absent),
            _ => Err(type_error("`year` expects a date")),
        },
        Builtin::MakeDate => {
            let year = integer(&arg(0)?)?;
            let month = integer(&arg(1)?)?;
            let day = integer(&arg(2)?)?;
            let date = match (
                i32::try_from(year),
                u32::try_from(month),
                u32::try_from(day),
            ) {
                (Ok(year), Ok(month), Ok(day)) => Date::from_ymd_opt(year, month, day),
                _ => None,
            };
            date.map(Value::Date).ok_or_else(|| {
                error(
                    codes::INVALID_DATE,
                    format!("`{year:04}-{month:02}-{day:02}` is not a date that exists"),
                )
            })
        }
        Builtin::AddWorkingDays | Builtin::IsWorkingDay => working_days(policy, builtin, arg),
        Builtin::Length => match arg(0)? {
            Value::List(items) => Ok(Value::Integer(
                i64::try_from(items.len()).map_err(|_| overflow("a length"))?,
            )),
            Value::Map(entries) => Ok(Value::Integer(
                i64::try_from(entries.len()).map_err(|_| overflow("a length"))?,
            )),
            Value::Text(text) => Ok(Value::Integer(
                i64::try_from(text.chars().count()).map_err(|_| overflow("a length"))?,
            )),
            Value::Absent => Ok(Value::Integer(0)),
            _ => Err(type_error("`length` expects a list")),
        },
        Builtin::IsEmpty => match arg(0)? {
            Value::List(items) => Ok(Value::Bool(items.is_empty())),
            Value::Map(entries) => Ok(Value::Bool(entries.is_empty())),
            Value::Text(text) => Ok(Value::Bool(text.is_empty())),
            Value::Absent => Ok(Value::Bool(true)),
            _ => Err(type_error("`is_empty` expects a list")),
        },
        Builtin::ListContains => {
            let list = arg(0)?;
            let needle = arg(1)?;
            match list {
                Value::List(items) => Ok(Value::Bool(
                    items.iter().any(|item| values_equal(item, &needle)),
                )),
                Value::Absent => Ok(Value::Bool(false)),
                _ => Err(type_error("`contains` expects a list")),
            }
        }
        Builtin::AbsInteger => match arg(0)? {
            Value::Integer(number) => number
                .checked_abs()
                .map(Value::Integer)
                .ok_or_else(|| overflow("`abs`")),
            Value::Absent => Ok(Value::Absent),
            _ => Err(type_error("`abs` expects an integer")),
        },
        Builtin::AbsDecimal => match arg(0)? {
            Value::Absent => Ok(Value::Absent),
            value => Ok(Value::number(number(&value)?.abs())),
        },
        Builtin::Min2 | Builtin::Max2 => {
            let left = arg(0)?;
            let right = arg(1)?;
            let ordering = left
                .compare(&right)
                .ok_or_else(|| type_error("`min`/`max` of values that have no order"))?;
            let take_right = if builtin == Builtin::Min2 {
                ordering == std::cmp::Ordering::Greater
            } else {
                ordering == std::cmp::Ordering::Less
            };
            Ok(if take_right { right } else { left })
        }
        Builtin::ToMoney | Builtin::ToDecimal => match arg(0)? {
            Value::Absent => Ok(Value::Absent),
            value => Ok(Value::number(number(&value)?)),
        },
        Builtin::ToText => {
            let value = arg(0)?;
            Ok(Value::text(&to_text(&value)?))
        }
    }
}

fn working_days<F>(policy: &Policy, builtin: Builtin, mut arg: F) -> EvalResult<Value>
where
    F: FnMut(usize) -> EvalResult<Value>,
{
    let calendar_id = integer(&arg(0)?)?;
    let calendar = usize::try_from(calendar_id)
        .ok()
        .and_then(|index| policy.calendars.get(index))
        .ok_or_else(|| type_error("a calendar that does not exist"))?;
    let Some(date) = date_arg(&mut arg, 1)? else {
        return Ok(Value::Absent);
    };
    let not_covered = |missing: dates::NotCovered| {
        error(
            codes::CALENDAR_NOT_COVERED,
            format!("calendar `{}` does not cover {}", calendar.name, missing.0),
        )
    };
    if builtin == Builtin::IsWorkingDay {
        return dates::is_working_day(calendar, date)
            .map(Value::Bool)
            .map_err(not_covered);
    }
    let days = integer(&arg(2)?)?;
    match dates::add_working_days(calendar, date, days).map_err(not_covered)? {
        Some(result) => Ok(Value::Date(result)),
        None => Err(error(
            codes::INVALID_DATE,
            format!("{date} moved by {days} working days is out of range"),
        )),
    }
}

pub(crate) fn integer(value: &Value) -> EvalResult<i64> {
    match value {
        Value::Integer(number) => Ok(*number),
        _ => Err(type_error("expected an integer")),
    }
}

/// The exact number of an Integer, Decimal or Money value.
pub(crate) fn number(value: &Value) -> EvalResult<Number> {
    value
        .as_number()
        .ok_or_else(|| type_error("expected a number"))
}

/// Equality that treats an integer and a decimal of the same number as equal.
pub(crate) fn values_equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Integer(_), Value::Decimal(_))
        | (Value::Decimal(_), Value::Integer(_))
        | (Value::Ratio(_), Value::Integer(_) | Value::Decimal(_))
        | (Value::Integer(_) | Value::Decimal(_), Value::Ratio(_)) => {
            left.compare(right) == Some(std::cmp::Ordering::Equal)
        }
        _ => left == right,
    }
}

pub(crate) fn unary(op: UnaryOp, value: Value) -> EvalResult<Value> {
    if value.is_absent() {
        return Ok(Value::Absent);
    }
    match op {
        UnaryOp::Not => match value {
            Value::Bool(value) => Ok(Value::Bool(!value)),
            _ => Err(type_error("`not` expects a boolean")),
        },
        UnaryOp::NegInteger => integer(&value)?
            .checked_neg()
            .map(Value::Integer)
            .ok_or_else(|| overflow("a negation")),
        UnaryOp::NegDecimal => Ok(Value::number(number(&value)?.negated())),
        UnaryOp::IntegerToDecimal | UnaryOp::Retype => Ok(Value::number(number(&value)?)),
    }
}

pub(crate) fn binary(op: BinaryOp, left: &Value, right: &Value) -> EvalResult<Value> {
    use std::cmp::Ordering;
    let ordering = |left: &Value, right: &Value| {
        left.compare(right)
            .ok_or_else(|| type_error("a comparison of values that have no order between them"))
    };
    match op {
        BinaryOp::AddInteger => integer(left)?
            .checked_add(integer(right)?)
            .map(Value::Integer)
            .ok_or_else(|| overflow("an addition")),
        BinaryOp::SubInteger => integer(left)?
            .checked_sub(integer(right)?)
            .map(Value::Integer)
            .ok_or_else(|| overflow("a subtraction")),
        BinaryOp::MulInteger => integer(left)?
            .checked_mul(integer(right)?)
            .map(Value::Integer)
            .ok_or_else(|| overflow("a multiplication")),
        BinaryOp::DivInteger | BinaryOp::DivDecimal => {
            // The exact quotient: a terminating one in its shortest decimal form, any other as
            // a ratio (exact.rs).
            match number(left)?.checked_div(number(right)?) {
                Ok(Some(quotient)) => Ok(Value::number(quotient)),
                Ok(None) => Err(error(
                    codes::DIVISION_BY_ZERO,
                    "division by zero".to_string(),
                )),
                Err(_) => Err(overflow("a division")),
            }
        }
        BinaryOp::AddDecimal => number(left)?
            .checked_add(number(right)?)
            .map(Value::number)
            .map_err(|_| overflow("an addition")),
        BinaryOp::SubDecimal => number(left)?
            .checked_sub(number(right)?)
            .map(Value::number)
            .map_err(|_| overflow("a subtraction")),
        BinaryOp::MulDecimal => number(left)?
            .checked_mul(number(right)?)
            .map(Value::number)
            .map_err(|_| overflow("a multiplication")),
        BinaryOp::Eq => Ok(Value::Bool(values_equal(left, right))),
        BinaryOp::Ne => Ok(Value::Bool(!values_equal(left, right))),
        BinaryOp::Lt => Ok(Value::Bool(ordering(left, right)? == Ordering::Less)),
        BinaryOp::Le => Ok(Value::Bool(ordering(left, right)? != Ordering::Greater)),
        BinaryOp::Gt => Ok(Value::Bool(ordering(left, right)? == Ordering::Greater)),
        BinaryOp::Ge => Ok(Value::Bool(ordering(left, right)? != Ordering::Less)),
        BinaryOp::In | BinaryOp::NotIn => {
            let contained = match right {
                Value::List(items) => items.iter().any(|item| values_equal(left, item)),
                Value::Absent => false,
                _ => return Err(type_error("`in` expects a list on its right")),
            };
            Ok(Value::Bool(contained == (op == BinaryOp::In)))
        }
    }
}

/// Rounds to `places` decimal places with `mode`, then rescales so that the result has exactly
/// that many decimal places (0 rounded to 2 places is `0.00`).
pub(crate) fn round(value: &Value, places: u32, mode: RoundingMode) -> EvalResult<Value> {
    if value.is_absent() {
        return Ok(Value::Absent);
    }
    number(value)?
        .round(places, mode)
        .map(Value::Decimal)
        .map_err(|_| overflow("a rounding"))
}

/// `text(x)`: a value as text.
pub(crate) fn to_text(value: &Value) -> EvalResult<String> {
    match value {
        Value::Text(text) => Ok(text.to_string()),
        Value::Integer(number) => Ok(number.to_string()),
        Value::Decimal(number) => Ok(number.to_string()),
        // A value that does not terminate: its nearest decimal of 28 digits or so.
        Value::Ratio(ratio) => Ok(ratio.approximate().to_string()),
        Value::Date(date) => Ok(date.to_string()),
        Value::Month(month) => Ok(month.to_string()),
        Value::Quarter(quarter) => Ok(quarter.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Enum(_) => Err(error(
            codes::NO_MATCH,
            "`text` of an enum value is not supported by the runtime".to_string(),
        )),
        _ => Err(type_error("`text` of a value that has no text form")),
    }
}

/// A short rendering of a value for messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Absent => "absent".to_string(),
        Value::Enum(index) => format!("variant {index}"),
        Value::List(_) => "a list".to_string(),
        Value::Record(_) => "a record".to_string(),
        Value::Map(_) => "a map".to_string(),
        other => to_text(other).unwrap_or_default(),
    }
}
