//! Reading a case: JSON checked against the policy's input record type, giving a
//! [`Value::Record`] tree. The first problem found is reported with its JSON pointer.
//!
//! Numbers are read exactly from their JSON text (the workspace's `serde_json` keeps it), never
//! through binary floating point.

mod fast;
pub mod invisible;

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::Value as Json;

use crate::error::{codes, CaseError};
use crate::ir::{Constraint, FieldDef, JsonLiteral, Policy, RecordDef, Type, TypeDef, TypeId};
use crate::json_text::{push_key, show};
use crate::limits::{self, Limits};
use crate::value::{Date, Key, Month, Quarter, Record, Value};

/// A case read against a policy's input record: ready to evaluate.
#[derive(Debug, Clone)]
pub struct Case {
    pub(crate) root: Value,
    pub(crate) case_id: Option<String>,
    pub(crate) as_of: Option<Date>,
}

impl Case {
    /// The case id, when the policy names an id field and the case gives it.
    pub fn case_id(&self) -> Option<&str> {
        self.case_id.as_deref()
    }

    /// The case root: a [`Value::Record`] of the policy's input record type.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// The date read from the policy's as-of field, if any.
    pub fn as_of(&self) -> Option<Date> {
        self.as_of
    }
}

/// Reads a case; on failure, returns the case id when it could be read from the raw JSON.
///
/// The size limit comes first. Then the fast reader (`case/fast.rs`) reads the text straight
/// into values; when it gives up, the checked reader below finds the first problem and reports
/// it.
pub(crate) fn read_case(
    policy: &Policy,
    limits: &Limits,
    text: &str,
) -> Result<Case, (Option<String>, CaseError)> {
    if let Some(error) = limits::check_size(text, limits) {
        return Err((None, error));
    }
    if let Ok(case) = fast::read(policy, limits, text) {
        return Ok(Case {
            root: case.root,
            case_id: case.case_id,
            as_of: case.as_of,
        });
    }
    read_case_checked(policy, limits, text)
}

/// Whether the fast reader alone reads `text`.
pub(crate) fn fast_reader_reads(policy: &Policy, limits: &Limits, text: &str) -> bool {
    limits::check_size(text, limits).is_none() && fast::read(policy, limits, text).is_ok()
}

/// Reads a case through the checked reader only: the limits of the text first (depth, long
/// strings, long lists, in text order), then the JSON syntax, then the case against the input
/// record.
pub(crate) fn read_case_checked(
    policy: &Policy,
    limits: &Limits,
    text: &str,
) -> Result<Case, (Option<String>, CaseError)> {
    if let Some(error) = limits::check_size(text, limits) {
        return Err((None, error));
    }
    let id_name = policy.input.id_field.and_then(|index| {
        record_def(policy, policy.input.record)
            .ok()?
            .fields
            .get(index as usize)
            .map(|field| field.name.as_str())
    });
    let scan = limits::scan(text, limits, id_name);
    if let Some(violation) = scan.violation {
        return Err((scan.case_id, violation));
    }
    let json: Json = serde_json::from_str(text).map_err(|error| {
        // An invisible character outside the strings is what a parser cannot name: it is
        // named here instead, when the parse stopped at it or after it (none of them is JSON
        // whitespace, so the parse always fails there at the latest). serde_json counts
        // columns in bytes, which are at least as many as the characters counted here.
        let invisible = invisible::first_outside_strings(text).filter(|(_, line, column)| {
            (*line, *column) <= (error.line(), error.column())
        });
        let message = match invisible {
            Some((character, line, column)) => format!(
                "the case is not valid json: it holds the invisible character {} at line {line} column {column}",
                invisible::describe(character)
            ),
            None => format!(
                "the case is not valid json: {} at line {} column {}",
                describe_json_error(&error),
                error.line(),
                error.column()
            ),
        };
        (None, CaseError::new(codes::INVALID_JSON, "", message))
    })?;
    let Json::Object(object) = &json else {
        let message = format!("the case must be a json object, not {}", json_kind(&json));
        return Err((None, CaseError::new(codes::NOT_OBJECT, "", message)));
    };
    let root_record = record_def(policy, policy.input.record).map_err(|error| (None, error))?;
    let case_id = policy
        .input
        .id_field
        .and_then(|index| root_record.fields.get(index as usize))
        .and_then(|field| match object.get(&field.name) {
            Some(Json::String(text)) => Some(text.clone()),
            Some(Json::Number(number)) => Some(number.to_string()),
            _ => None,
        });
    let reader = Reader { policy };
    let mut path = String::new();
    let root = match reader.read(&json, &Type::Record(policy.input.record), &mut path) {
        Ok(root) => root,
        Err(error) => return Err((case_id, error)),
    };
    let as_of = match (&root, policy.input.as_of_field) {
        (Value::Record(record), Some(index)) => match record.fields.get(index as usize) {
            Some(Value::Date(date)) => Some(*date),
            _ => None,
        },
        _ => None,
    };
    Ok(Case {
        root,
        case_id,
        as_of,
    })
}

fn describe_json_error(error: &serde_json::Error) -> String {
    // serde_json's message ends with " at line L column C"; the caller adds its own.
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(position) => text[..position].to_string(),
        None => text,
    }
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

pub(crate) fn record_def(policy: &Policy, id: TypeId) -> Result<&RecordDef, CaseError> {
    match policy.types.get(id as usize) {
        Some(TypeDef::Record(record)) => Ok(record),
        _ => Err(CaseError::new(
            codes::TYPE_ERROR,
            "",
            format!("type {id} is not a record type"),
        )),
    }
}

fn push_index(path: &mut String, index: usize) {
    path.push('/');
    path.push_str(&index.to_string());
}

struct Reader<'p> {
    policy: &'p Policy,
}

fn invalid(path: &str, message: String) -> CaseError {
    CaseError::new(codes::INVALID_FIELD, path, message)
}

impl Reader<'_> {
    fn read(&self, json: &Json, ty: &Type, path: &mut String) -> Result<Value, CaseError> {
        match ty {
            Type::Optional(inner) => {
                if json.is_null() {
                    Ok(Value::Absent)
                } else {
                    self.read(json, inner, path)
                }
            }
            _ if json.is_null() => Err(invalid(path, "must not be null".to_string())),
            Type::Bool => match json {
                Json::Bool(value) => Ok(Value::Bool(*value)),
                other => Err(self.wrong_type(path, other, "a boolean")),
            },
            Type::Integer => match json {
                Json::Number(number) => match number.as_i64() {
                    Some(value) => Ok(Value::Integer(value)),
                    None => Err(invalid(
                        path,
                        format!("`{number}` is not an integer in the range of 64-bit integers"),
                    )),
                },
                other => Err(self.wrong_type(path, other, "an integer")),
            },
            Type::Decimal => self.read_decimal(json, path, None),
            Type::Money => self.read_decimal(json, path, Some(2)),
            Type::Date => match json {
                Json::String(text) => parse_date(text)
                    .map(Value::Date)
                    .map_err(|message| invalid(path, message)),
                other => Err(self.wrong_type(path, other, "a date string (YYYY-MM-DD)")),
            },
            Type::Month => match json {
                Json::String(text) => parse_month(text)
                    .map(Value::Month)
                    .map_err(|message| invalid(path, message)),
                other => Err(self.wrong_type(path, other, "a month string (YYYY-MM)")),
            },
            Type::Quarter => match json {
                Json::String(text) => Quarter::parse(text).map(Value::Quarter).ok_or_else(|| {
                    invalid(
                        path,
                        format!("`{}` is not a quarter (expected YYYY-Qn)", show(json)),
                    )
                }),
                other => Err(self.wrong_type(path, other, "a quarter string (YYYY-Qn)")),
            },
            Type::Text | Type::RuleId => match json {
                Json::String(text) => Ok(Value::text(text)),
                other => Err(self.wrong_type(path, other, "a string")),
            },
            Type::Never => Err(invalid(
                path,
                format!("no value is allowed here, found `{}`", show(json)),
            )),
            Type::Enum(id) => self.read_enum(json, *id, path),
            Type::Record(id) => self.read_record(json, *id, path),
            Type::List(element) => match json {
                Json::Array(items) => {
                    let mut values = Vec::with_capacity(items.len());
                    for (index, item) in items.iter().enumerate() {
                        let length = path.len();
                        push_index(path, index);
                        values.push(self.read(item, element, path)?);
                        path.truncate(length);
                    }
                    Ok(Value::List(Arc::from(values)))
                }
                other => Err(self.wrong_type(path, other, "an array")),
            },
            Type::Map(element) => match json {
                Json::Object(object) => {
                    let mut entries = Vec::with_capacity(object.len());
                    for (key, item) in object {
                        let length = path.len();
                        push_key(path, key);
                        entries.push((Key::from(key.as_str()), self.read(item, element, path)?));
                        path.truncate(length);
                    }
                    Ok(Value::Map(Arc::from(entries)))
                }
                other => Err(self.wrong_type(path, other, "an object")),
            },
            Type::Object(fields) => match json {
                Json::Object(object) => {
                    if let Some(key) = object
                        .keys()
                        .find(|key| !fields.iter().any(|(name, _)| name == *key))
                    {
                        push_key(path, key);
                        return Err(CaseError::new(
                            codes::UNKNOWN_FIELD,
                            path.clone(),
                            format!("unknown field `{}`", show(&Json::String(key.clone()))),
                        ));
                    }
                    let mut entries = Vec::with_capacity(fields.len());
                    for (name, field_type) in fields {
                        let length = path.len();
                        push_key(path, name);
                        let value = match object.get(name) {
                            Some(item) => self.read(item, field_type, path)?,
                            None if matches!(field_type, Type::Optional(_)) => Value::Absent,
                            None => {
                                return Err(CaseError::new(
                                    codes::MISSING_FIELD,
                                    path.clone(),
                                    format!("missing required field `{name}`"),
                                ))
                            }
                        };
                        path.truncate(length);
                        entries.push((Key::from(name.as_str()), value));
                    }
                    Ok(Value::Map(Arc::from(entries)))
                }
                other => Err(self.wrong_type(path, other, "an object")),
            },
        }
    }

    fn wrong_type(&self, path: &str, json: &Json, expected: &str) -> CaseError {
        invalid(
            path,
            format!(
                "expected {expected}, found {} `{}`",
                json_kind(json),
                show(json)
            ),
        )
    }

    fn read_decimal(
        &self,
        json: &Json,
        path: &str,
        max_places: Option<u32>,
    ) -> Result<Value, CaseError> {
        let what = if max_places.is_some() {
            "an amount of money"
        } else {
            "a decimal number"
        };
        let value = match json {
            Json::Number(number) => {
                let text = number.to_string();
                let parsed = if text.contains(['e', 'E']) {
                    Decimal::from_scientific(&text)
                } else {
                    Decimal::from_str_exact(&text)
                };
                parsed.map_err(|_| {
                    invalid(
                        path,
                        format!("`{text}` is not {what} that can be represented exactly"),
                    )
                })?
            }
            Json::String(text) => {
                if !is_plain_decimal(text) {
                    return Err(invalid(
                        path,
                        format!(
                            "`{}` is not {what} (expected digits with an optional decimal point)",
                            show(json)
                        ),
                    ));
                }
                Decimal::from_str_exact(text).map_err(|_| {
                    invalid(
                        path,
                        format!("`{text}` is not {what} that can be represented exactly"),
                    )
                })?
            }
            other => return Err(self.wrong_type(path, other, what)),
        };
        if let Some(places) = max_places {
            if value.scale() > places {
                return Err(invalid(
                    path,
                    format!("`{}` has more than {places} decimal places", show(json)),
                ));
            }
        }
        Ok(Value::Decimal(value))
    }

    fn read_enum(&self, json: &Json, id: TypeId, path: &str) -> Result<Value, CaseError> {
        let Some(TypeDef::Enum(definition)) = self.policy.types.get(id as usize) else {
            return Err(CaseError::new(
                codes::TYPE_ERROR,
                path,
                format!("type {id} is not an enum type"),
            ));
        };
        let found = definition
            .variants
            .iter()
            .position(|variant| match (&variant.json, json) {
                (JsonLiteral::Text(expected), Json::String(text)) => expected == text,
                (JsonLiteral::Integer(expected), Json::Number(number)) => {
                    number.as_i64() == Some(*expected)
                }
                _ => false,
            });
        match found.and_then(|index| u32::try_from(index).ok()) {
            Some(index) => Ok(Value::Enum(index)),
            None => {
                let allowed: Vec<String> = definition
                    .variants
                    .iter()
                    .map(|variant| match &variant.json {
                        JsonLiteral::Text(text) => format!("`{text}`"),
                        JsonLiteral::Integer(number) => format!("`{number}`"),
                    })
                    .collect();
                Err(invalid(
                    path,
                    format!(
                        "`{}` is not one of the allowed values: {}",
                        show(json),
                        allowed.join(", ")
                    ),
                ))
            }
        }
    }

    fn read_record(&self, json: &Json, id: TypeId, path: &mut String) -> Result<Value, CaseError> {
        let definition = record_def(self.policy, id)?;
        let Json::Object(object) = json else {
            if path.is_empty() {
                return Err(CaseError::new(
                    codes::NOT_OBJECT,
                    "",
                    format!("the case must be a json object, not {}", json_kind(json)),
                ));
            }
            return Err(self.wrong_type(path, json, "an object"));
        };
        // Unknown keys first: a misspelt key usually explains a missing field.
        if let Some(key) = object
            .keys()
            .find(|key| !definition.fields.iter().any(|field| field.name == **key))
        {
            push_key(path, key);
            return Err(CaseError::new(
                codes::UNKNOWN_FIELD,
                path.clone(),
                format!("unknown field `{}`", show(&Json::String(key.clone()))),
            ));
        }
        let mut fields = Vec::with_capacity(definition.fields.len());
        for field in &definition.fields {
            let length = path.len();
            push_key(path, &field.name);
            let value = self.read_field(object.get(&field.name), field, path)?;
            path.truncate(length);
            fields.push(value);
        }
        Ok(Value::Record(Arc::new(Record {
            path: Some(Arc::from(path.as_str())),
            fields: fields.into_boxed_slice(),
        })))
    }

    fn read_field(
        &self,
        json: Option<&Json>,
        field: &FieldDef,
        path: &mut String,
    ) -> Result<Value, CaseError> {
        let json = match json {
            None if field.required => {
                return Err(CaseError::new(
                    codes::MISSING_FIELD,
                    path.clone(),
                    format!("missing required field `{}`", field.name),
                ))
            }
            Some(Json::Null) if field.required => {
                return Err(invalid(
                    path,
                    format!("required field `{}` must not be null", field.name),
                ))
            }
            None | Some(Json::Null) => {
                return Ok(field.default.clone().unwrap_or(Value::Absent));
            }
            Some(json) => json,
        };
        let value = self.read(json, &field.ty, path)?;
        check_constraints(&value, &field.constraints, path)?;
        Ok(value)
    }
}

/// Whether `text` matches `^-?[0-9]+(\.[0-9]+)?$`.
fn is_plain_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// Parses exactly `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Result<Date, String> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(index, byte)| index == 4 || index == 7 || byte.is_ascii_digit());
    let shape_error = || {
        format!(
            "`{}` is not a date (expected YYYY-MM-DD)",
            show(&Json::String(text.to_string()))
        )
    };
    if !shape_ok {
        return Err(shape_error());
    }
    // The shape holds digits where the numbers are: they are taken from the digits directly.
    let number = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .and_then(crate::value::digits_value)
            .ok_or_else(shape_error)
    };
    let year = i32::try_from(number(0..4)?).map_err(|_| shape_error())?;
    let month = number(5..7)?;
    let day = number(8..10)?;
    if !(1..=12).contains(&month) {
        return Err(format!(
            "`{text}` is not a date: month `{month:02}` is out of range (expected YYYY-MM-DD)"
        ));
    }
    Date::from_ymd_opt(year, month, day)
        .ok_or_else(|| format!("`{text}` is not a date that exists (expected YYYY-MM-DD)"))
}

/// Parses exactly `YYYY-MM`.
pub(crate) fn parse_month(text: &str) -> Result<Month, String> {
    if let Some(month) = Month::parse(text) {
        return Ok(month);
    }
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 7
        && bytes[4] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(index, byte)| index == 4 || byte.is_ascii_digit());
    if shape_ok {
        Err(format!(
            "`{text}` is not a month: month `{}` is out of range (expected YYYY-MM)",
            &text[5..7]
        ))
    } else {
        Err(format!(
            "`{}` is not a month (expected YYYY-MM)",
            show(&Json::String(text.to_string()))
        ))
    }
}

fn check_constraints(
    value: &Value,
    constraints: &[Constraint],
    path: &mut String,
) -> Result<(), CaseError> {
    if value.is_absent() {
        return Ok(());
    }
    for constraint in constraints {
        let problem = match (constraint, value) {
            (Constraint::Min(minimum), Value::Integer(_) | Value::Decimal(_)) => value
                .as_decimal()
                .is_some_and(|number| number < *minimum)
                .then(|| format!("`{}` is less than the minimum {minimum}", show_value(value))),
            (Constraint::Max(maximum), Value::Integer(_) | Value::Decimal(_)) => value
                .as_decimal()
                .is_some_and(|number| number > *maximum)
                .then(|| format!("`{}` is more than the maximum {maximum}", show_value(value))),
            (Constraint::MinLength(minimum), Value::Text(text)) => (text.chars().count()
                < *minimum as usize)
                .then(|| format!("`{text}` is shorter than {minimum} characters")),
            (Constraint::MaxLength(maximum), Value::Text(text)) => {
                (text.chars().count() > *maximum as usize).then(|| {
                    let shown = show(&Json::String(text.to_string()));
                    format!("`{shown}` is longer than {maximum} characters")
                })
            }
            (Constraint::MinItems(minimum), Value::List(items)) => {
                (items.len() < *minimum as usize).then(|| {
                    format!(
                        "has {} items, fewer than the minimum {minimum}",
                        items.len()
                    )
                })
            }
            (
                Constraint::MaxItems(maximum) | Constraint::MaxLength(maximum),
                Value::List(items),
            ) => (items.len() > *maximum as usize)
                .then(|| format!("has {} items, more than the maximum {maximum}", items.len())),
            (Constraint::UniqueBy(field), Value::List(items)) => {
                check_unique(items, *field, path)?;
                None
            }
            _ => None,
        };
        if let Some(message) = problem {
            return Err(invalid(path, message));
        }
    }
    Ok(())
}

fn check_unique(items: &[Value], field: u32, path: &mut String) -> Result<(), CaseError> {
    // Keys are compared where they are, not cloned: a clone of a text key counts its `Arc`
    // up and down.
    fn key_of(item: &Value, field: u32) -> Option<&Value> {
        match item {
            Value::Record(record) => record.fields.get(field as usize),
            _ => None,
        }
    }
    for (index, item) in items.iter().enumerate() {
        let Some(key) = key_of(item, field) else {
            continue;
        };
        if key.is_absent() {
            continue;
        }
        if items[..index]
            .iter()
            .any(|earlier| key_of(earlier, field) == Some(key))
        {
            push_index(path, index);
            return Err(invalid(
                path,
                format!(
                    "`{}` appears more than once (it must be unique in the list)",
                    show_value(key)
                ),
            ));
        }
    }
    Ok(())
}

/// A short rendering of a value for messages.
fn show_value(value: &Value) -> String {
    match value {
        Value::Absent => "null".to_string(),
        Value::Bool(value) => value.to_string(),
        Value::Integer(value) => value.to_string(),
        Value::Decimal(value) => value.to_string(),
        Value::Ratio(value) => value.to_string(),
        Value::Date(value) => value.to_string(),
        Value::Month(value) => value.to_string(),
        Value::Quarter(value) => value.to_string(),
        Value::Text(value) => value.to_string(),
        Value::Enum(index) => format!("variant {index}"),
        Value::List(_) => "a list".to_string(),
        Value::Record(_) => "a record".to_string(),
        Value::Map(_) => "a map".to_string(),
    }
}
