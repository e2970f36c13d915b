//! Decisions and error lines, and their JSON.
//!
//! JSON is written by hand into a `String`, keys in declaration order, so that the same input
//! always gives the same bytes (the workspace's `serde_json::Map` sorts its keys). Values are
//! written by their static type: Money and Decimal as strings holding the exact decimal (its
//! scale kept), enums as their JSON literal, absent optionals as `null`.

use std::fmt::Write as _;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::error::CaseError;
use crate::ir::{JsonLiteral, Policy, Type, TypeDef};
use crate::trace::Trace;
use crate::value::{Date, Value};

/// Which policy made a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef {
    pub name: Arc<str>,
    pub version: Arc<str>,
    /// `sha256:<hex>` of the compiled IR.
    pub digest: Arc<str>,
}

/// The decision for one case: the value of every declared output.
#[derive(Debug, Clone)]
pub struct Decision {
    pub case_id: Option<String>,
    pub as_of: Date,
    pub policy: PolicyRef,
    /// The outputs' values, in the order of [`Policy::outputs`] (which gives names and types).
    pub outputs: Vec<Value>,
    pub trace: Option<Trace>,
    pub(crate) ir: Arc<Policy>,
}

impl Decision {
    /// The outputs as (name, type, value), in declaration order.
    pub fn output_entries(&self) -> impl Iterator<Item = (&str, &Type, &Value)> {
        self.ir
            .outputs
            .iter()
            .zip(&self.outputs)
            .map(|(output, value)| (output.name.as_str(), &output.ty, value))
    }

    /// The value of the output called `name`.
    pub fn output(&self, name: &str) -> Option<&Value> {
        let index = self
            .ir
            .outputs
            .iter()
            .position(|output| output.name == name)?;
        self.outputs.get(index)
    }

    /// The JSON of the output called `name`, written as in the decision.
    pub fn output_json(&self, name: &str) -> Option<serde_json::Value> {
        let index = self
            .ir
            .outputs
            .iter()
            .position(|output| output.name == name)?;
        let mut text = String::new();
        write_value(
            &mut text,
            &self.ir,
            self.outputs.get(index)?,
            Some(&self.ir.outputs[index].ty),
        );
        serde_json::from_str(&text).ok()
    }

    /// The policy the decision was made with.
    pub fn policy_ir(&self) -> &Policy {
        &self.ir
    }

    /// The decision as one line of JSON, keys in declaration order.
    pub fn to_json_string(&self) -> String {
        let mut out = String::with_capacity(512);
        self.write_json(&mut out);
        out
    }

    /// Appends the decision's JSON line (without a newline) to `out`: batches reuse one buffer.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"case_id\":");
        match &self.case_id {
            Some(id) => write_json_string(out, id),
            None => out.push_str("null"),
        }
        out.push_str(",\"as_of\":\"");
        write_date(out, self.as_of);
        out.push_str("\",\"policy\":{\"name\":");
        write_json_string(out, &self.policy.name);
        out.push_str(",\"version\":");
        write_json_string(out, &self.policy.version);
        out.push_str(",\"digest\":");
        write_json_string(out, &self.policy.digest);
        out.push_str("},\"outputs\":{");
        for (position, (name, ty, value)) in self.output_entries().enumerate() {
            if position > 0 {
                out.push(',');
            }
            write_json_string(out, name);
            out.push(':');
            write_value(out, &self.ir, value, Some(ty));
        }
        out.push('}');
        if let Some(trace) = &self.trace {
            out.push_str(",\"trace\":");
            trace.write_json(&self.ir, out);
        }
        out.push('}');
    }

    /// The decision as a `serde_json::Value` (for tests: its objects sort their keys).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.to_json_string()).unwrap_or(serde_json::Value::Null)
    }
}

/// A case that could not be decided, with its id when it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    pub case_id: Option<String>,
    pub error: CaseError,
}

impl CaseFailure {
    /// The error line: `{"case_id": …, "error": {"code", "path", "message", "rule"?}}`.
    pub fn to_json_line(&self) -> String {
        let mut out = String::with_capacity(160);
        self.write_json_line(&mut out);
        out
    }

    /// Appends the error line (without a newline) to `out`.
    pub fn write_json_line(&self, out: &mut String) {
        out.push_str("{\"case_id\":");
        match &self.case_id {
            Some(id) => write_json_string(out, id),
            None => out.push_str("null"),
        }
        out.push_str(",\"error\":{\"code\":");
        write_json_string(out, &self.error.code);
        out.push_str(",\"path\":");
        write_json_string(out, &self.error.path);
        out.push_str(",\"message\":");
        write_json_string(out, &self.error.message);
        if let Some(rule) = &self.error.rule {
            out.push_str(",\"rule\":");
            write_json_string(out, rule);
        }
        out.push_str("}}");
    }
}

/// What evaluating one line of input gives: a decision or an error line.
#[derive(Debug, Clone)]
pub enum CaseOutcome {
    Decision(Decision),
    Error(CaseFailure),
}

impl CaseOutcome {
    /// One line of JSON, without a trailing newline.
    pub fn to_json_line(&self) -> String {
        match self {
            CaseOutcome::Decision(decision) => decision.to_json_string(),
            CaseOutcome::Error(failure) => failure.to_json_line(),
        }
    }

    /// Appends the JSON line (without a newline) to `out`.
    pub fn write_json_line(&self, out: &mut String) {
        match self {
            CaseOutcome::Decision(decision) => decision.write_json(out),
            CaseOutcome::Error(failure) => failure.write_json_line(out),
        }
    }

    pub fn case_id(&self) -> Option<&str> {
        match self {
            CaseOutcome::Decision(decision) => decision.case_id.as_deref(),
            CaseOutcome::Error(failure) => failure.case_id.as_deref(),
        }
    }

    pub fn decision(&self) -> Option<&Decision> {
        match self {
            CaseOutcome::Decision(decision) => Some(decision),
            CaseOutcome::Error(_) => None,
        }
    }

    pub fn error(&self) -> Option<&CaseError> {
        match self {
            CaseOutcome::Decision(_) => None,
            CaseOutcome::Error(failure) => Some(&failure.error),
        }
    }
}

/// Writes `text` as a JSON string.
pub(crate) fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    // Most text needs no escaping: copy it whole.
    if !text
        .bytes()
        .any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\')
    {
        out.push_str(text);
        out.push('"');
        return;
    }
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if (control as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", control as u32);
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

/// Writes a date as `YYYY-MM-DD` without allocating (years 0 to 9999; others by chrono).
pub(crate) fn write_date(out: &mut String, date: Date) {
    use chrono::Datelike as _;
    let year = date.year();
    if (0..=9999).contains(&year) {
        let _ = write!(out, "{year:04}-{:02}-{:02}", date.month(), date.day());
    } else {
        let _ = write!(out, "{date}");
    }
}

fn write_decimal(out: &mut String, value: Decimal) {
    let mut value = value;
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    out.push('"');
    let _ = write!(out, "{value}");
    out.push('"');
}

/// Writes a value by its static type; with no type (or a value that does not fit it), by its
/// own shape. Never fails.
pub(crate) fn write_value(out: &mut String, policy: &Policy, value: &Value, ty: Option<&Type>) {
    write_value_in(out, policy, value, ty, Records::InFull);
}

/// How records read from the case are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Records {
    /// Every field, as in decisions.
    InFull,
    /// As `{"path": "/members/0"}` (in traces, where the fields have their own input nodes).
    ByPath,
}

pub(crate) fn write_value_in(
    out: &mut String,
    policy: &Policy,
    value: &Value,
    ty: Option<&Type>,
    records: Records,
) {
    if records == Records::ByPath {
        if let Value::Record(record) = value {
            if let Some(path) = &record.path {
                out.push_str("{\"path\":");
                write_json_string(out, path);
                out.push('}');
                return;
            }
        }
    }
    match (ty, value) {
        (_, Value::Absent) | (Some(Type::Never), _) => out.push_str("null"),
        (Some(Type::Optional(inner)), value) => {
            write_value_in(out, policy, value, Some(inner), records)
        }
        (Some(Type::Enum(id)), Value::Enum(index)) => {
            let literal = match policy.types.get(*id as usize) {
                Some(TypeDef::Enum(definition)) => definition
                    .variants
                    .get(*index as usize)
                    .map(|variant| &variant.json),
                _ => None,
            };
            match literal {
                Some(JsonLiteral::Text(text)) => write_json_string(out, text),
                Some(JsonLiteral::Integer(number)) => {
                    let _ = write!(out, "{number}");
                }
                None => {
                    let _ = write!(out, "{index}");
                }
            }
        }
        (Some(Type::Record(id)), Value::Record(record)) => {
            let definition = match policy.types.get(*id as usize) {
                Some(TypeDef::Record(definition)) => Some(definition),
                _ => None,
            };
            out.push('{');
            for (position, field) in record.fields.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                let field_def = definition.and_then(|definition| definition.fields.get(position));
                match field_def {
                    Some(field_def) => write_json_string(out, &field_def.name),
                    None => write_json_string(out, &position.to_string()),
                }
                out.push(':');
                write_value_in(
                    out,
                    policy,
                    field,
                    field_def.map(|field_def| &field_def.ty),
                    records,
                );
            }
            out.push('}');
        }
        (Some(Type::List(element)), Value::List(items)) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_value_in(out, policy, item, Some(element), records);
            }
            out.push(']');
        }
        (Some(Type::Map(element)), Value::Map(entries)) => {
            out.push('{');
            for (position, (key, item)) in entries.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_value_in(out, policy, item, Some(element), records);
            }
            out.push('}');
        }
        (Some(Type::Object(fields)), Value::Map(entries)) => {
            out.push('{');
            for (position, (key, item)) in entries.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                let field_type = fields
                    .iter()
                    .find(|(name, _)| **name == **key)
                    .map(|(_, ty)| ty);
                write_value_in(out, policy, item, field_type, records);
            }
            out.push('}');
        }
        (_, value) => write_untyped(out, policy, value, records),
    }
}

fn write_untyped(out: &mut String, policy: &Policy, value: &Value, records: Records) {
    match value {
        Value::Absent => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Integer(number) => {
            let _ = write!(out, "{number}");
        }
        Value::Decimal(number) => write_decimal(out, *number),
        Value::Date(date) => {
            out.push('"');
            write_date(out, *date);
            out.push('"');
        }
        Value::Month(month) => write_json_string(out, &month.to_string()),
        Value::Quarter(quarter) => write_json_string(out, &quarter.to_string()),
        Value::Text(text) => write_json_string(out, text),
        Value::Enum(index) => {
            let _ = write!(out, "{index}");
        }
        Value::List(items) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_value_in(out, policy, item, None, records);
            }
            out.push(']');
        }
        Value::Record(record) => {
            out.push('[');
            for (position, item) in record.fields.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_value_in(out, policy, item, None, records);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (position, (key, item)) in entries.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_value_in(out, policy, item, None, records);
            }
            out.push('}');
        }
    }
}
