//! The trace of a decision: every named value it used, as an arena of nodes.
//!
//! A node is an item evaluation (rule, definition, derived parameter, function call), a parameter
//! lookup, a table lookup, a band lookup, an input field read from the case, or an output. Each
//! node lists the nodes it was computed from in `inputs`. A value computed once and used many
//! times is one node referenced from several parents, so [`Trace::nodes`] is a DAG whose children
//! always have smaller indices than their parents.
//!
//! In JSON, a node is written in full the first time a depth-first walk from the roots meets it,
//! and afterwards as `{"kind", "id", "value", "see"}`: small and deterministic.

use std::collections::HashMap;

use crate::decision::{write_json_string, write_value_in, Records};
use crate::ir::{Policy, Type};
use crate::value::{Date, Value};

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
}

/// One named value the decision used.
#[derive(Debug, Clone)]
pub struct TraceNode {
    pub kind: TraceKind,
    /// The rule id, definition, parameter, table, band table, field or output name.
    pub id: String,
    pub value: Value,
    /// The value's static type, used to write it as decisions do.
    pub ty: Option<Type>,
    /// Indices into [`Trace::nodes`] of the values this one was computed from.
    pub inputs: Vec<usize>,
    /// For a parameter lookup: the date from which the value used applies.
    pub effective_from: Option<Date>,
    /// The legal source text, where the policy gives one.
    pub source: Option<String>,
    /// For an input: the JSON pointer of the field in the case.
    pub path: Option<String>,
    /// For a function call: the argument values; for a table lookup: the key; for a band
    /// lookup: the value looked up.
    pub args: Vec<(Value, Option<Type>)>,
    /// For a table lookup: whether a row was found.
    pub found: Option<bool>,
    /// For a band lookup: the band's label.
    pub label: Option<String>,
    /// For an item with exceptions: the label of the exception that gave its value.
    pub exception: Option<String>,
}

impl TraceNode {
    pub(crate) fn new(
        kind: TraceKind,
        id: impl Into<String>,
        value: Value,
        ty: Option<Type>,
    ) -> TraceNode {
        TraceNode {
            kind,
            id: id.into(),
            value,
            ty,
            inputs: Vec::new(),
            effective_from: None,
            source: None,
            path: None,
            args: Vec::new(),
            found: None,
            label: None,
            exception: None,
        }
    }
}

/// The trace of one decision: the node arena and the output nodes, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub nodes: Vec<TraceNode>,
    pub roots: Vec<usize>,
}

impl Trace {
    /// Writes the trace as a JSON array of the root nodes.
    pub(crate) fn write_json(&self, policy: &Policy, out: &mut String) {
        let mut printed = vec![false; self.nodes.len()];
        out.push('[');
        for (position, root) in self.roots.iter().enumerate() {
            if position > 0 {
                out.push(',');
            }
            self.write_node(policy, *root, &mut printed, out);
        }
        out.push(']');
    }

    fn write_node(&self, policy: &Policy, index: usize, printed: &mut [bool], out: &mut String) {
        let Some(node) = self.nodes.get(index) else {
            out.push_str("null");
            return;
        };
        out.push_str("{\"kind\":");
        write_json_string(out, node.kind.as_str());
        out.push_str(",\"id\":");
        write_json_string(out, &node.id);
        out.push_str(",\"value\":");
        write_value_in(out, policy, &node.value, node.ty.as_ref(), Records::ByPath);
        if printed.get(index).copied().unwrap_or(true) {
            out.push_str(",\"see\":");
            write_json_string(out, &node.id);
            out.push('}');
            return;
        }
        if let Some(flag) = printed.get_mut(index) {
            *flag = true;
        }
        if let Some(path) = &node.path {
            out.push_str(",\"path\":");
            write_json_string(out, path);
        }
        if let Some(date) = node.effective_from {
            out.push_str(",\"effective_from\":");
            write_json_string(out, &date.to_string());
        }
        if let Some(source) = &node.source {
            out.push_str(",\"source\":");
            write_json_string(out, source);
        }
        match node.kind {
            TraceKind::Table => {
                out.push_str(",\"key\":");
                write_value_list(out, policy, &node.args);
            }
            TraceKind::Band => {
                if let Some((value, ty)) = node.args.first() {
                    out.push_str(",\"of\":");
                    write_value_in(out, policy, value, ty.as_ref(), Records::ByPath);
                }
            }
            _ if !node.args.is_empty() => {
                out.push_str(",\"args\":");
                write_value_list(out, policy, &node.args);
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
            out.push_str(",\"label\":");
            write_json_string(out, label);
        }
        if let Some(exception) = &node.exception {
            out.push_str(",\"exception\":");
            write_json_string(out, exception);
        }
        if !node.inputs.is_empty() {
            out.push_str(",\"inputs\":[");
            for (position, child) in node.inputs.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                self.write_node(policy, *child, printed, out);
            }
            out.push(']');
        }
        out.push('}');
    }
}

fn write_value_list(out: &mut String, policy: &Policy, values: &[(Value, Option<Type>)]) {
    out.push('[');
    for (position, (value, ty)) in values.iter().enumerate() {
        if position > 0 {
            out.push(',');
        }
        write_value_in(out, policy, value, ty.as_ref(), Records::ByPath);
    }
    out.push(']');
}

/// Collects trace nodes during an evaluation. Each item evaluation opens a frame that collects
/// the nodes it uses; closing the frame makes the item's node.
#[derive(Debug, Default)]
pub(crate) struct TraceBuilder {
    pub(crate) nodes: Vec<TraceNode>,
    frames: Vec<Vec<usize>>,
    pub(crate) roots: Vec<usize>,
    /// The node of each memoized item, once evaluated.
    pub(crate) item_nodes: Vec<Option<usize>>,
    /// The node of each parameter's lookup on the as-of date.
    pub(crate) param_nodes: Vec<Option<usize>>,
    /// The node of each input field, by the address of the case record it was read from and
    /// the field's index. A record of the case is one shared allocation for the whole
    /// evaluation, with one JSON pointer, so the address stands for the pointer without
    /// building it again at every read.
    pub(crate) input_nodes: HashMap<(usize, u32), usize>,
}

impl TraceBuilder {
    pub(crate) fn new(items: usize, params: usize) -> TraceBuilder {
        TraceBuilder {
            item_nodes: vec![None; items],
            param_nodes: vec![None; params],
            ..TraceBuilder::default()
        }
    }

    /// Opens a frame for a node whose inputs are about to be evaluated.
    pub(crate) fn open(&mut self) {
        self.frames.push(Vec::new());
    }

    /// Closes the innermost frame into `node`, records the node as an input of the enclosing
    /// frame, and returns its index.
    pub(crate) fn close(&mut self, mut node: TraceNode) -> usize {
        node.inputs = self.frames.pop().unwrap_or_default();
        self.leaf(node)
    }

    /// Adds a node without inputs of its own to the enclosing frame.
    pub(crate) fn leaf(&mut self, node: TraceNode) -> usize {
        let index = self.nodes.len();
        self.nodes.push(node);
        self.reference(index);
        index
    }

    /// Records an existing node as an input of the enclosing frame (once per frame).
    pub(crate) fn reference(&mut self, index: usize) {
        if let Some(frame) = self.frames.last_mut() {
            if !frame.contains(&index) {
                frame.push(index);
            }
        }
    }

    pub(crate) fn finish(self) -> Trace {
        Trace {
            nodes: self.nodes,
            roots: self.roots,
        }
    }
}

/// The field definition behind an input read: the record at `record_path` (a JSON pointer into
/// the case) is resolved against the policy's input type, then its field `index` is taken.
pub(crate) fn input_field<'p>(
    policy: &'p Policy,
    record_path: &str,
    index: u32,
) -> Option<&'p crate::ir::FieldDef> {
    let mut ty = Type::Record(policy.input.record);
    let mut rest = record_path;
    while !rest.is_empty() {
        let after_slash = rest.strip_prefix('/')?;
        let (segment, remaining) = match after_slash.find('/') {
            Some(position) => (&after_slash[..position], &after_slash[position..]),
            None => (after_slash, ""),
        };
        rest = remaining;
        let segment = segment.replace("~1", "/").replace("~0", "~");
        ty = step(policy, &ty, &segment)?;
    }
    let record_id = match unwrap_optional(&ty) {
        Type::Record(id) => *id,
        _ => return None,
    };
    match policy.types.get(record_id as usize)? {
        crate::ir::TypeDef::Record(record) => record.fields.get(index as usize),
        crate::ir::TypeDef::Enum(_) => None,
    }
}

fn unwrap_optional(ty: &Type) -> &Type {
    match ty {
        Type::Optional(inner) => inner,
        other => other,
    }
}

fn step(policy: &Policy, ty: &Type, segment: &str) -> Option<Type> {
    match unwrap_optional(ty) {
        Type::Record(id) => match policy.types.get(*id as usize)? {
            crate::ir::TypeDef::Record(record) => record
                .fields
                .iter()
                .find(|field| field.name == segment)
                .map(|field| field.ty.clone()),
            crate::ir::TypeDef::Enum(_) => None,
        },
        Type::List(element) => {
            segment.parse::<usize>().ok()?;
            Some((**element).clone())
        }
        Type::Map(element) => Some((**element).clone()),
        _ => None,
    }
}
