//! The trace of a decision: every named value it used, as an arena of nodes.
//!
//! A node is an item evaluation (rule, definition, derived parameter, function call), a parameter
//! lookup, a table lookup, a band lookup, an input field read from the case, or an output. Each
//! node lists the nodes it was computed from in `inputs`. A value computed once and used many
//! times is one node referenced from several parents, so [`Trace::nodes`] is a DAG whose children
//! always have smaller indices than their parents.
//!
//! A case's trace has hundreds of nodes, so a node is cheap to make: its name, legal source,
//! band label, exception label and static type are shared (`Arc`) with the engine, which prepares
//! them once from the IR when it loads the policy (`TraceNames`). Making a node copies
//! pointers; it neither copies text nor clones types. A node's inputs, arguments and input path
//! live in buffers of the whole trace ([`Trace::inputs`], [`Trace::args`], [`Trace::path`]), so
//! a trace is a handful of allocations rather than a few per node.
//!
//! In JSON, a node is written in full the first time a depth-first walk from the roots meets it,
//! and afterwards as `{"kind", "id", "value", "see"}`: small and deterministic.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::ir::{Item, ParamValue, Policy, Type, TypeDef};
use crate::json_text::{write_date, write_json_string, write_value_in, Records};
use crate::value::{Date, Record, Value};

mod builder;
mod hasher;
mod names;
mod text;

pub(crate) use builder::*;
pub(crate) use hasher::*;
pub(crate) use names::*;
pub use text::TraceText;
pub(crate) use text::*;

/// What a trace node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceKind {
    Rule,
    Definition,
    Function,
    /// A parameter lookup, or a derived parameter's evaluation.
    Parameter,
    Table,
    Band,
    Input,
    Output,
}

impl TraceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceKind::Rule => "rule",
            TraceKind::Definition => "definition",
            TraceKind::Function => "function",
            TraceKind::Parameter => "parameter",
            TraceKind::Table => "table",
            TraceKind::Band => "band",
            TraceKind::Input => "input",
            TraceKind::Output => "output",
        }
    }

    /// The start of a node of this kind in a trace's JSON, up to its name.
    fn name_key(self) -> &'static str {
        match self {
            TraceKind::Rule => "{\"kind\":\"rule\",\"id\":",
            TraceKind::Definition => "{\"kind\":\"definition\",\"id\":",
            TraceKind::Function => "{\"kind\":\"function\",\"id\":",
            TraceKind::Parameter => "{\"kind\":\"parameter\",\"id\":",
            TraceKind::Table => "{\"kind\":\"table\",\"id\":",
            TraceKind::Band => "{\"kind\":\"band\",\"id\":",
            TraceKind::Input => "{\"kind\":\"input\",\"id\":",
            TraceKind::Output => "{\"kind\":\"output\",\"id\":",
        }
    }
}

/// One named value the decision used.
///
/// The text and type fields are shared with the engine that made the trace (and with the other
/// nodes of the same name): `&*node.id` or `node.id.as_str()` borrow the text, and cloning a
/// field is cheap. A node's inputs, arguments and path are kept by its trace: see
/// [`Trace::inputs`], [`Trace::args`] and [`Trace::path`].
#[derive(Debug, Clone)]
pub struct TraceNode {
    pub kind: TraceKind,
    /// The rule id, definition, parameter, table, band table, field or output name.
    pub id: TraceText,
    pub value: Value,
    /// The value's static type, used to write it as decisions do.
    pub ty: Option<&'static Type>,
    /// For a parameter lookup: the date from which the value used applies.
    pub effective_from: Option<Date>,
    /// The legal source text, where the policy gives one.
    pub source: Option<TraceText>,
    /// For a table lookup: whether a row was found.
    pub found: Option<bool>,
    /// For a band lookup: the band's label.
    pub label: Option<TraceText>,
    /// For an item with exceptions: the label of the exception that gave its value.
    pub exception: Option<TraceText>,
    /// Where the node's inputs are in [`Trace`]'s `edges`.
    pub(crate) inputs: Span,
    /// Where the node's arguments are in [`Trace`]'s `arguments`.
    pub(crate) args: Span,
    /// For an input: where its JSON pointer is in [`Trace`]'s `paths`.
    pub(crate) path: Option<Span>,
}

/// A run of one of a trace's buffers that belongs to one node: `start..end`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// The run from `start` to `end` of a buffer (lengths beyond `u32` saturate: no trace
    /// holds four billion of anything).
    fn of(start: usize, end: usize) -> Span {
        let narrow = |at: usize| u32::try_from(at).unwrap_or(u32::MAX);
        Span {
            start: narrow(start),
            end: narrow(end),
        }
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    fn is_empty(self) -> bool {
        self.start >= self.end
    }
}

impl TraceNode {
    pub(crate) fn new(
        kind: TraceKind,
        id: TraceText,
        value: Value,
        ty: Option<&'static Type>,
    ) -> TraceNode {
        TraceNode {
            kind,
            id,
            value,
            ty,
            effective_from: None,
            source: None,
            found: None,
            label: None,
            exception: None,
            inputs: Span::default(),
            args: Span::default(),
            path: None,
        }
    }
}

/// The trace of one decision: the node arena and the output nodes, in declaration order.
///
/// Each node's inputs, arguments and input path are kept in three buffers of the trace, node
/// after node, and read with [`Trace::inputs`], [`Trace::args`] and [`Trace::path`].
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub nodes: Vec<TraceNode>,
    pub roots: Vec<usize>,
    /// Every node's inputs (indices into `nodes`), one node's after another's.
    edges: Vec<usize>,
    /// Every node's arguments, each value with its static type, one node's after another's.
    arguments: Vec<(Value, Option<&'static Type>)>,
    /// Every input node's JSON pointer, one after another.
    paths: String,
}

impl Trace {
    /// Indices into [`Trace::nodes`] of the values `node` (a node of this trace) was computed
    /// from; children always have smaller indices than their parents.
    pub fn inputs(&self, node: &TraceNode) -> &[usize] {
        self.edges.get(node.inputs.range()).unwrap_or(&[])
    }

    /// For a function call: the argument values; for a table lookup: the key; for a band
    /// lookup: the value looked up; for other nodes, nothing. Each value comes with its static
    /// type. `node` is a node of this trace.
    pub fn args(&self, node: &TraceNode) -> &[(Value, Option<&'static Type>)] {
        self.arguments.get(node.args.range()).unwrap_or(&[])
    }

    /// For an input node (of this trace): the JSON pointer of the field in the case.
    pub fn path(&self, node: &TraceNode) -> Option<&str> {
        self.paths.get(node.path?.range())
    }

    /// Writes the trace as a JSON array of the root nodes.
    pub(crate) fn write_json(&self, policy: &Policy, out: &mut String) {
        let mut printed = vec![false; self.nodes.len()];
        let mut dates = LatestDates::default();
        out.push('[');
        for (position, root) in self.roots.iter().enumerate() {
            if position > 0 {
                out.push(',');
            }
            self.write_node(policy, *root, &mut printed, &mut dates, out);
        }
        out.push(']');
    }

    fn write_node(
        &self,
        policy: &Policy,
        index: usize,
        printed: &mut [bool],
        dates: &mut LatestDates,
        out: &mut String,
    ) {
        let Some(node) = self.nodes.get(index) else {
            out.push_str("null");
            return;
        };
        // A name the engine prepared holds the node's JSON up to its value; any other is
        // written in pieces, to the same text.
        match node.id.head_for(Head::Name(node.kind)) {
            Some(head) => out.push_str(head),
            None => {
                out.push_str(node.kind.name_key());
                write_name(out, &node.id);
                out.push_str(",\"value\":");
            }
        }
        write_trace_value(out, policy, &node.value, node.ty, dates);
        match printed.get_mut(index) {
            Some(flag) if !*flag => *flag = true,
            _ => {
                out.push_str(",\"see\":");
                write_name(out, &node.id);
                out.push('}');
                return;
            }
        }
        if let Some(path) = self.path(node) {
            out.push_str(",\"path\":");
            write_json_string(out, path);
        }
        if let Some(date) = node.effective_from {
            out.push_str(",\"effective_from\":");
            dates.write(out, date);
        }
        if let Some(source) = &node.source {
            write_keyed(out, ",\"source\":", source, Head::Source);
        }
        let args = self.args(node);
        match node.kind {
            TraceKind::Table => {
                out.push_str(",\"key\":");
                write_value_list(out, policy, args, dates);
            }
            TraceKind::Band => {
                if let Some((value, ty)) = args.first() {
                    out.push_str(",\"of\":");
                    write_trace_value(out, policy, value, ty.as_deref(), dates);
                }
            }
            _ if !args.is_empty() => {
                out.push_str(",\"args\":");
                write_value_list(out, policy, args, dates);
            }
            _ => {}
        }
        if let Some(found) = node.found {
            out.push_str(if found {
                ",\"found\":true"
            } else {
                ",\"found\":false"
            });
        }
        if let Some(label) = &node.label {
            write_keyed(out, ",\"label\":", label, Head::Label);
        }
        if let Some(exception) = &node.exception {
            write_keyed(out, ",\"exception\":", exception, Head::Exception);
        }
        if !node.inputs.is_empty() {
            out.push_str(",\"inputs\":[");
            for (position, child) in self.inputs(node).iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                self.write_node(policy, *child, printed, dates, out);
            }
            out.push(']');
        }
        out.push('}');
    }
}

fn write_value_list(
    out: &mut String,
    policy: &Policy,
    values: &[(Value, Option<&'static Type>)],
    dates: &mut LatestDates,
) {
    out.push('[');
    for (position, (value, ty)) in values.iter().enumerate() {
        if position > 0 {
            out.push(',');
        }
        write_trace_value(out, policy, value, ty.as_deref(), dates);
    }
    out.push(']');
}

/// Writes a node's value exactly as `json_text::write_value_in` does with [`Records::ByPath`],
/// which it calls for everything but a date: a trace writes few distinct dates many times, and
/// [`LatestDates`] copies their text instead of writing it again.
fn write_trace_value(
    out: &mut String,
    policy: &Policy,
    value: &Value,
    ty: Option<&Type>,
    dates: &mut LatestDates,
) {
    // An optional type writes its value as the inner type would.
    let mut inner = ty;
    while let Some(Type::Optional(unwrapped)) = inner {
        inner = Some(unwrapped);
    }
    match value {
        Value::Date(date) if !matches!(inner, Some(Type::Never)) => dates.write(out, *date),
        _ => write_value_in(out, policy, value, ty, Records::ByPath),
    }
}

/// The latest dates a trace writer wrote, as it wrote them.
///
/// A trace holds few distinct dates and writes them many times (the as-of date about twenty
/// times a case, between parameters' `effective_from` dates): writing a date again copies its
/// text, where formatting it costs about 240 instructions (chrono's month and day, the digits,
/// and the UTF-8 check of the result). It keeps the latest [`LatestDates::KEPT`] distinct dates
/// and replaces the oldest.
#[derive(Debug, Default)]
struct LatestDates {
    written: Vec<(Date, String)>,
    /// The entry of `written` to replace next once it is full.
    next: usize,
}

impl LatestDates {
    const KEPT: usize = 8;

    /// Writes `date` in quotes, as [`write_quoted_date`] does.
    fn write(&mut self, out: &mut String, date: Date) {
        if let Some((_, text)) = self.written.iter().find(|(kept, _)| *kept == date) {
            out.push_str(text);
            return;
        }
        let mut text = String::with_capacity(12);
        write_quoted_date(&mut text, date);
        out.push_str(&text);
        if self.written.len() < Self::KEPT {
            self.written.push((date, text));
        } else if let Some(entry) = self.written.get_mut(self.next) {
            *entry = (date, text);
            self.next = (self.next + 1) % Self::KEPT;
        }
    }
}

/// Writes a date in quotes, as `json_text::write_value_in` writes a date.
fn write_quoted_date(out: &mut String, date: Date) {
    out.push('"');
    write_date(out, date);
    out.push('"');
}

/// Writes a name, source or label as a JSON string, exactly as `json_text::write_json_string`
/// does: a text whose head holds it escaped already is copied whole, without looking at it again.
fn write_name(out: &mut String, text: &TraceText) {
    match text.quoted() {
        Some(quoted) => out.push_str(quoted),
        None => write_json_string(out, text),
    }
}

/// Writes `key` and `text` as a JSON string: in one copy when the text's head holds both.
fn write_keyed(out: &mut String, key: &str, text: &TraceText, head: Head) {
    match text.head_for(head) {
        Some(keyed) => out.push_str(keyed),
        None => {
            out.push_str(key);
            write_name(out, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{EnumDef, JsonLiteral, VariantDef};
    use crate::value::{Key, Month, Quarter};
    use rust_decimal::Decimal;

    fn policy_with_enum() -> Policy {
        let mut policy: Policy = serde_json::from_value(serde_json::json!({
            "format_version": crate::ir::IR_FORMAT_VERSION,
            "name": "t", "version": "1", "publisher": "p", "in_force_from": "2025-01-01",
            "modules": [], "types": [], "input": {"name": "case", "record": 0, "id_field": null, "as_of_field": null},
            "params": [], "tables": [], "calendars": [], "bands": [], "items": [], "groups": [],
            "outputs": [], "checks": []
        }))
        .unwrap_or_else(|failure| panic!("test policy: {failure}"));
        policy.types.push(TypeDef::Enum(EnumDef {
            name: "Kind".into(),
            variants: vec![
                VariantDef {
                    name: "a".into(),
                    json: JsonLiteral::Text("a\"b".into()),
                },
                VariantDef {
                    name: "b".into(),
                    json: JsonLiteral::Integer(7),
                },
            ],
        }));
        policy
    }

    #[test]
    fn the_trace_value_writer_writes_as_the_decision_writer_does() {
        let policy = policy_with_enum();
        let record = |path: Option<&str>| {
            Value::Record(Arc::new(Record {
                path: path.map(Arc::from),
                fields: vec![Value::Integer(1), Value::text("x")].into_boxed_slice(),
            }))
        };
        let date = |y, m, d| Date::from_ymd_opt(y, m, d).unwrap_or_default();
        let values = [
            Value::Absent,
            Value::Bool(true),
            Value::Bool(false),
            Value::Integer(0),
            Value::Integer(7),
            Value::Integer(-7),
            Value::Integer(1_234_567_890),
            Value::Integer(i64::MAX),
            Value::Integer(i64::MIN),
            Value::Decimal(Decimal::new(-1234, 2)),
            Value::Decimal(Decimal::ZERO),
            Value::Decimal(-Decimal::ZERO),
            Value::Decimal(Decimal::new(0, 2)),
            Value::Decimal(-Decimal::new(0, 2)),
            Value::Decimal(Decimal::new(5, 3)),
            Value::Decimal(Decimal::new(-5, 3)),
            Value::Decimal(Decimal::new(32360, 0)),
            Value::Decimal(Decimal::new(2133333, 2)),
            Value::Decimal(Decimal::new(1, 28)),
            Value::Decimal(Decimal::MAX),
            Value::Decimal(Decimal::MIN),
            Value::Decimal(Decimal::from_i128_with_scale(i128::from(u64::MAX) + 1, 0)),
            Value::Decimal(Decimal::from_i128_with_scale(
                i128::from(u64::MAX) * 1000,
                5,
            )),
            Value::Decimal(Decimal::new(1_000_000, 6)),
            Value::Month(Month {
                year: 2025,
                month: 3,
            }),
            Value::Month(Month { year: 7, month: 12 }),
            Value::Month(Month { year: -7, month: 1 }),
            Value::Month(Month {
                year: 12345,
                month: 1,
            }),
            Value::Quarter(Quarter {
                year: 2025,
                quarter: 3,
            }),
            Value::Quarter(Quarter {
                year: 0,
                quarter: 1,
            }),
            Value::Quarter(Quarter {
                year: -1,
                quarter: 4,
            }),
            Value::Date(date(2025, 3, 1)),
            Value::Date(date(12, 1, 31)),
            Value::Date(date(-5, 1, 1)),
            Value::Date(date(12345, 6, 7)),
            Value::Date(date(0, 1, 1)),
            Value::Date(date(9999, 12, 31)),
            Value::Date(date(10000, 1, 1)),
            Value::Date(date(2024, 2, 29)),
            Value::text(""),
            Value::text("plain"),
            Value::text("Приказ МТСЗН № 160 от 19.05.2023, a text longer than sixteen bytes"),
            Value::text("quote \" backslash \\ tab \t newline \n bell \u{7}"),
            Value::text("a text of more than sixteen bytes with a \"quote\" near the end"),
            Value::Enum(0),
            Value::Enum(1),
            Value::Enum(5),
            record(Some("/members/0")),
            record(Some("/a~1b/\"q\"")),
            record(None),
            Value::List(Arc::from(vec![Value::Integer(1), Value::Absent])),
            Value::List(Arc::from(vec![
                record(Some("/members/0")),
                record(None),
                Value::Date(date(2025, 3, 1)),
                Value::List(Arc::from(vec![Value::Bool(true), Value::Enum(1)])),
            ])),
            Value::List(Arc::from(Vec::new())),
            Value::Map(Arc::from(vec![(Key::from("k"), Value::Bool(true))])),
            Value::Map(Arc::from(vec![
                (Key::from("k"), Value::Integer(3)),
                (Key::from("q\"uote"), Value::Enum(0)),
                (Key::from("m"), record(Some("/members/1"))),
                (Key::from("l"), Value::List(Arc::from(vec![Value::Enum(1)]))),
                (
                    Key::from("o"),
                    Value::Map(Arc::from(vec![(Key::from("k"), Value::Absent)])),
                ),
            ])),
            Value::Map(Arc::from(Vec::new())),
        ];
        let types = [
            None,
            Some(Type::Bool),
            Some(Type::Integer),
            Some(Type::Text),
            Some(Type::Date),
            Some(Type::Never),
            Some(Type::Enum(0)),
            Some(Type::Record(0)),
            Some(Type::List(Box::new(Type::Integer))),
            Some(Type::List(Box::new(Type::Record(0)))),
            Some(Type::List(Box::new(Type::Enum(0)))),
            Some(Type::List(Box::new(Type::Never))),
            Some(Type::List(Box::new(Type::List(Box::new(Type::Enum(0)))))),
            Some(Type::Optional(Box::new(Type::List(Box::new(Type::Enum(
                0,
            )))))),
            Some(Type::Map(Box::new(Type::Bool))),
            Some(Type::Map(Box::new(Type::Enum(0)))),
            Some(Type::Map(Box::new(Type::Never))),
            Some(Type::Object(vec![
                ("k".into(), Type::Enum(0)),
                ("q\"uote".into(), Type::Enum(0)),
                ("l".into(), Type::List(Box::new(Type::Enum(0)))),
                ("o".into(), Type::Object(vec![("k".into(), Type::Integer)])),
            ])),
            Some(Type::Object(Vec::new())),
            Some(Type::Optional(Box::new(Type::Map(Box::new(Type::Enum(0)))))),
            Some(Type::Optional(Box::new(Type::Integer))),
            Some(Type::Optional(Box::new(Type::Never))),
            Some(Type::Optional(Box::new(Type::Enum(0)))),
            Some(Type::Optional(Box::new(Type::Optional(Box::new(
                Type::Text,
            ))))),
        ];
        for value in &values {
            for ty in &types {
                let mut expected = String::new();
                write_value_in(&mut expected, &policy, value, ty.as_ref(), Records::ByPath);
                let mut written = String::new();
                let mut dates = LatestDates::default();
                write_trace_value(&mut written, &policy, value, ty.as_ref(), &mut dates);
                // The second time, the date comes from the writer's copy.
                let mut again = String::new();
                write_trace_value(&mut again, &policy, value, ty.as_ref(), &mut dates);
                assert_eq!(again, expected, "{value:?} of type {ty:?}, written again");
                assert_eq!(written, expected, "{value:?} of type {ty:?}");
            }
        }
    }

    #[test]
    fn names_are_escaped_as_the_decision_writer_escapes_text() {
        let mut texts = vec![String::new()];
        for special in [
            '"', '\\', '\n', '\r', '\t', '\u{1}', '\u{1f}', 'é', ' ', '~',
        ] {
            for length in [0, 1, 15, 16, 17, 31, 32, 33] {
                for position in [0, length / 2, length] {
                    let mut text: String = "a".repeat(length);
                    text.insert(position, special);
                    texts.push(text);
                }
            }
        }
        for text in &texts {
            let mut expected = String::new();
            write_json_string(&mut expected, text);
            let mut named = String::new();
            write_name(&mut named, &TraceText::new(text));
            assert_eq!(named, expected, "{text:?} as a name");
        }
    }
}
