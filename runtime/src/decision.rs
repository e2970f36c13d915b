//! Decisions and error lines, and their JSON.
//!
//! JSON is written by hand into a `String`, keys in declaration order, so that the same input
//! always gives the same bytes (the workspace's `serde_json::Map` sorts its keys). Values are
//! written by their static type: Money and Decimal as strings holding the exact decimal (its
//! scale kept), enums as their JSON literal, absent optionals as `null`.

use std::sync::Arc;

use crate::error::CaseError;
use crate::ir::{Policy, Type};
use crate::json_text::{write_date, write_json_string, write_value};
use crate::trace::Trace;
use crate::value::{Date, Value};

/// Which policy made a decision. Its texts are kept for the rest of the process (as a
/// policy's names are, see `intern.rs`), so that every decision copies three pointers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyRef {
    pub name: &'static str,
    pub version: &'static str,
    /// `sha256:<hex>` of the compiled IR.
    pub digest: &'static str,
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

    /// The policy this decision was made with (its outputs' names and types, its enums).
    /// Callers that digest many decisions key what they prepare per policy on this `Arc`.
    pub fn ir(&self) -> &Arc<Policy> {
        &self.ir
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
        write_json_string(out, self.policy.name);
        out.push_str(",\"version\":");
        write_json_string(out, self.policy.version);
        out.push_str(",\"digest\":");
        write_json_string(out, self.policy.digest);
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
