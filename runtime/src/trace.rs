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

/// A text of a trace node: a name, a legal source, a band or exception label.
///
/// Its text is the policy's, kept for the rest of the process (`intern.rs`), so that a copy is
/// a copy of a pointer, with no reference count to move. It reads as a `str` (`&*text`,
/// [`TraceText::as_str`]), prints as one, and compares with one.
///
/// A text the engine prepares also holds the JSON that a trace writes for it: the key before
/// it and the text as a JSON string, escaped once when it was made, and for a node's name the
/// node's kind and the key of the value after it (`{"kind":"rule","id":"name","value":`), so
/// that writing a trace copies one piece of text where it would otherwise put together five or
/// six. All of it is one kept text: the JSON head first, then the text itself.
///
/// A `TraceText` is one pointer wide, so that a node, which holds four of them, stays small to
/// make and to copy.
#[derive(Clone, Copy)]
pub struct TraceText(&'static TextData);

/// What a [`TraceText`] points to, kept for the rest of the process.
struct TextData {
    /// The JSON head (`all[..text_start]`) followed by the text (`all[text_start..]`).
    all: Box<str>,
    /// Where the text starts in `all`, after the head.
    text_start: u32,
    /// Where the text as a JSON string starts in the head, after its key.
    quoted_start: u32,
    /// What the head is written for: a text made with [`TraceText::new`] has no head.
    head: Head,
}

/// Every kept [`TextData`], by its text, one per head it was made with.
static TEXTS: std::sync::OnceLock<std::sync::Mutex<HashMap<Box<str>, Vec<&'static TextData>>>> =
    std::sync::OnceLock::new();

/// What the JSON head of a [`TraceText`] holds, before its text as a JSON string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    /// No head: the text alone.
    Bare,
    /// `{"kind":"…","id":` before, and `,"value":` after: a node's name.
    Name(TraceKind),
    /// `,"source":` before: a legal source.
    Source,
    /// `,"label":` before: a band's label.
    Label,
    /// `,"exception":` before: an exception's label.
    Exception,
}

impl Head {
    /// The JSON written before the text as a JSON string, and after it.
    fn parts(self) -> (&'static str, &'static str) {
        match self {
            Head::Bare => ("", ""),
            Head::Name(kind) => (kind.name_key(), ",\"value\":"),
            Head::Source => (",\"source\":", ""),
            Head::Label => (",\"label\":", ""),
            Head::Exception => (",\"exception\":", ""),
        }
    }
}

impl TraceText {
    /// A text without a JSON head, kept for the rest of the process like every `TraceText`
    /// (once per distinct text): for a policy's names, sources and labels, never for the
    /// unbounded texts of cases.
    pub fn new(text: &str) -> TraceText {
        TraceText::with_head(text, Head::Bare)
    }

    /// A text with its JSON head prepared for `head`, kept once for the process.
    pub(crate) fn with_head(text: &str, head: Head) -> TraceText {
        let mut texts = TEXTS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(kept) = texts
            .get(text)
            .and_then(|kept| kept.iter().find(|data| data.head == head))
        {
            return TraceText(kept);
        }
        let (before, after) = head.parts();
        let mut all = String::with_capacity(before.len() + after.len() + 2 * text.len() + 2);
        all.push_str(before);
        if head != Head::Bare {
            write_json_string(&mut all, text);
            all.push_str(after);
        }
        // A head longer than the offsets can hold (a text of gigabytes) is left out: the writer
        // then writes the text as it writes a bare one.
        let data = match (u32::try_from(all.len()), u32::try_from(before.len())) {
            (Ok(text_start), Ok(quoted_start)) => {
                all.push_str(text);
                TextData {
                    all: all.into_boxed_str(),
                    text_start,
                    quoted_start,
                    head,
                }
            }
            _ => TextData {
                all: Box::from(text),
                text_start: 0,
                quoted_start: 0,
                head: Head::Bare,
            },
        };
        let kept: &'static TextData = Box::leak(Box::new(data));
        texts.entry(Box::from(text)).or_default().push(kept);
        TraceText(kept)
    }

    pub fn as_str(&self) -> &'static str {
        self.0
            .all
            .get(self.0.text_start as usize..)
            .unwrap_or_default()
    }

    /// The JSON head, when the text has one for `head`.
    fn head_for(&self, head: Head) -> Option<&'static str> {
        if self.0.head == head {
            self.0.all.get(..self.0.text_start as usize)
        } else {
            None
        }
    }

    /// The text as a JSON string, when the text has a head that holds it.
    fn quoted(&self) -> Option<&'static str> {
        if self.0.head == Head::Bare {
            return None;
        }
        let after = self.0.head.parts().1.len();
        let end = (self.0.text_start as usize).checked_sub(after)?;
        self.0.all.get(self.0.quoted_start as usize..end)
    }
}

impl From<Arc<str>> for TraceText {
    fn from(text: Arc<str>) -> TraceText {
        TraceText::new(&text)
    }
}

impl From<String> for TraceText {
    fn from(text: String) -> TraceText {
        TraceText::new(&text)
    }
}

impl From<&str> for TraceText {
    fn from(text: &str) -> TraceText {
        TraceText::new(text)
    }
}

impl std::ops::Deref for TraceText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for TraceText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for TraceText {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for TraceText {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl std::fmt::Debug for TraceText {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), formatter)
    }
}

// Equality and hashing are those of the text, as `Borrow<str>` requires.
impl PartialEq for TraceText {
    fn eq(&self, other: &TraceText) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for TraceText {}

impl std::hash::Hash for TraceText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for TraceText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for TraceText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
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

/// The names, sources, labels and types trace nodes share, prepared once per engine from the IR
/// (see `load.rs`), each vector indexed as the IR's vector of the same name.
#[derive(Debug, Default)]
pub(crate) struct TraceNames {
    pub(crate) items: Vec<ItemNames>,
    pub(crate) params: Vec<ParamNames>,
    pub(crate) tables: Vec<TableNames>,
    pub(crate) bands: Vec<BandNames>,
    pub(crate) outputs: Vec<OutputNames>,
    /// For each type of the IR: the fields of a record type, nothing for an enum type.
    pub(crate) records: Vec<Vec<FieldNames>>,
}

#[derive(Debug)]
pub(crate) struct ItemNames {
    pub(crate) name: TraceText,
    pub(crate) ty: &'static Type,
    pub(crate) source: Option<TraceText>,
    /// The label of each exception, in the item's order.
    pub(crate) exceptions: Vec<TraceText>,
    /// The type of each parameter of a function.
    pub(crate) params: Vec<&'static Type>,
}

#[derive(Debug)]
pub(crate) struct ParamNames {
    pub(crate) name: TraceText,
    pub(crate) ty: &'static Type,
    /// For each dated value: its own source, or else the parameter's.
    pub(crate) sources: Vec<Option<TraceText>>,
}

#[derive(Debug)]
pub(crate) struct TableNames {
    pub(crate) name: TraceText,
    pub(crate) source: Option<TraceText>,
    /// The type of a lookup's result: an optional row.
    pub(crate) result: &'static Type,
    pub(crate) keys: Vec<&'static Type>,
}

#[derive(Debug)]
pub(crate) struct BandNames {
    pub(crate) name: TraceText,
    pub(crate) source: Option<TraceText>,
    pub(crate) domain: &'static Type,
    pub(crate) result: &'static Type,
    /// The label of each band, in the table's order.
    pub(crate) labels: Vec<TraceText>,
}

#[derive(Debug)]
pub(crate) struct OutputNames {
    pub(crate) name: TraceText,
    pub(crate) ty: &'static Type,
}

#[derive(Debug)]
pub(crate) struct FieldNames {
    pub(crate) name: TraceText,
    pub(crate) ty: &'static Type,
    /// The field's JSON pointer segment, `/` and the escaped name, appended to its record's
    /// path to make an input node's path.
    pub(crate) segment: Box<str>,
}

fn shared(text: &str, head: Head) -> TraceText {
    TraceText::with_head(text, head)
}

fn shared_source(text: Option<&String>) -> Option<TraceText> {
    text.map(|text| shared(text, Head::Source))
}

impl TraceKind {
    /// The kind of the node of an item's evaluation.
    pub(crate) fn of_item(kind: crate::ir::ItemKind) -> TraceKind {
        match kind {
            crate::ir::ItemKind::Rule => TraceKind::Rule,
            crate::ir::ItemKind::Definition => TraceKind::Definition,
            crate::ir::ItemKind::Function => TraceKind::Function,
            crate::ir::ItemKind::DerivedParam => TraceKind::Parameter,
        }
    }
}

impl TraceNames {
    /// Prepares the shared text and types of `policy`, each text with the JSON head a trace
    /// writes for it.
    pub(crate) fn new(policy: &Policy) -> TraceNames {
        let items = policy
            .items
            .iter()
            .map(|item| ItemNames {
                name: shared(&item.name, Head::Name(TraceKind::of_item(item.kind))),
                ty: crate::intern::ty(&item.ty),
                source: shared_source(item.source.as_ref()),
                exceptions: match &item.body {
                    crate::ir::Body::Exceptions { exceptions, .. } => exceptions
                        .iter()
                        .map(|exception| shared(&exception.label, Head::Exception))
                        .collect(),
                    crate::ir::Body::Expr(_) => Vec::new(),
                },
                params: item
                    .params
                    .iter()
                    .map(|(_, ty)| crate::intern::ty(ty))
                    .collect(),
            })
            .collect();
        let params = policy
            .params
            .iter()
            .map(|param| ParamNames {
                name: shared(&param.name, Head::Name(TraceKind::Parameter)),
                ty: crate::intern::ty(&param.ty),
                sources: param
                    .values
                    .iter()
                    .map(|value| shared_source(value.source.as_ref().or(param.source.as_ref())))
                    .collect(),
            })
            .collect();
        let tables = policy
            .tables
            .iter()
            .map(|table| TableNames {
                name: shared(&table.name, Head::Name(TraceKind::Table)),
                source: shared_source(table.source.as_ref()),
                result: crate::intern::ty(&Type::Optional(Box::new(Type::Record(table.row_type)))),
                keys: table
                    .key_types
                    .iter()
                    .map(|ty| crate::intern::ty(ty))
                    .collect(),
            })
            .collect();
        let bands = policy
            .bands
            .iter()
            .map(|table| BandNames {
                name: shared(&table.name, Head::Name(TraceKind::Band)),
                source: shared_source(table.source.as_ref()),
                domain: crate::intern::ty(&table.domain),
                result: crate::intern::ty(&table.result),
                labels: table
                    .bands
                    .iter()
                    .map(|band| shared(&band.label, Head::Label))
                    .collect(),
            })
            .collect();
        let outputs = policy
            .outputs
            .iter()
            .map(|output| OutputNames {
                name: shared(&output.name, Head::Name(TraceKind::Output)),
                ty: crate::intern::ty(&output.ty),
            })
            .collect();
        let records = policy
            .types
            .iter()
            .map(|definition| match definition {
                TypeDef::Record(record) => record
                    .fields
                    .iter()
                    .map(|field| {
                        let mut segment = String::with_capacity(field.name.len() + 1);
                        crate::json_text::push_key(&mut segment, &field.name);
                        FieldNames {
                            name: shared(&field.name, Head::Name(TraceKind::Input)),
                            ty: crate::intern::ty(&field.ty),
                            segment: segment.into_boxed_str(),
                        }
                    })
                    .collect(),
                TypeDef::Enum(_) => Vec::new(),
            })
            .collect();
        TraceNames {
            items,
            params,
            tables,
            bands,
            outputs,
            records,
        }
    }
}

/// A hasher for the trace builder's maps, whose keys are addresses and small indices: one
/// multiply and rotate per word (the scheme of rustc's FxHasher) instead of SipHash, which
/// guards against keys chosen by an attacker, and the keys here are not chosen by anyone.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WordHasher {
    hash: u64,
}

impl WordHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.add(u64::from(*byte));
        }
    }

    fn write_u32(&mut self, word: u32) {
        self.add(u64::from(word));
    }

    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    fn write_usize(&mut self, word: usize) {
        self.add(word as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the most entropy in the high bits; the table picks buckets by
        // the low ones, so they are rotated down.
        self.hash.rotate_left(26)
    }
}

pub(crate) type WordMap<K, V> = HashMap<K, V, BuildHasherDefault<WordHasher>>;

/// The trace builder's working buffers, kept in the evaluator's `Scratch` from one case to the
/// next, so that a batch allocates them once per thread rather than once per case. They also
/// remember the sizes of the latest traces (falling slowly after a large one): the next
/// trace's buffers start half as large again, and cases of one policy have traces of similar
/// sizes, so those buffers are seldom moved as they grow.
#[derive(Debug, Default)]
pub(crate) struct TraceScratch {
    pending: Vec<usize>,
    displaced: Vec<u64>,
    frames: Vec<(usize, u64)>,
    marks: Vec<u64>,
    item_nodes: Vec<Option<usize>>,
    param_nodes: Vec<Option<usize>>,
    input_records: WordMap<usize, InputRecord>,
    input_slots: Vec<usize>,
    record_types: WordMap<Arc<str>, Option<u32>>,
    fresh: Vec<bool>,
    copied_inputs: Vec<usize>,
    /// The node, edge, argument and path buffer lengths of the latest trace.
    sizes: [usize; 4],
}

/// Collects trace nodes during an evaluation. Each item evaluation opens a frame that collects
/// the nodes it uses; closing the frame makes the item's node.
#[derive(Debug)]
pub(crate) struct TraceBuilder {
    nodes: Vec<TraceNode>,
    edges: Vec<usize>,
    arguments: Vec<(Value, Option<&'static Type>)>,
    paths: String,
    pub(crate) roots: Vec<usize>,
    /// The inputs collected by every open frame, the innermost frame's last: one buffer for all
    /// frames, so that opening a frame costs a push, and closing one copies its inputs to the
    /// trace's edges.
    pending: Vec<usize>,
    /// For each entry of `pending`: the mark of its node before the entry set it.
    displaced: Vec<u64>,
    /// Each open frame, the innermost last: where its inputs start in `pending`, and its
    /// serial number, unique within the evaluation (the first is 1).
    frames: Vec<(usize, u64)>,
    /// For each node: the serial of the innermost open frame that holds it as an input (0 or a
    /// closed frame's serial when no open frame does). A node is an input of the innermost
    /// frame exactly when its mark is that frame's serial, so that a frame records each node
    /// once without searching its inputs: a frame that takes a node sets its mark and
    /// remembers the mark it displaced, and closing the frame puts the displaced marks back,
    /// last first.
    marks: Vec<u64>,
    /// The serial of the latest frame opened.
    serial: u64,
    /// The node of each memoized item, once evaluated.
    pub(crate) item_nodes: Vec<Option<usize>>,
    /// The node of each parameter's lookup on the as-of date.
    pub(crate) param_nodes: Vec<Option<usize>>,
    /// Each case record read from, by its address: where its fields' slots start in
    /// `input_slots`, and its record type. A record of the case is one shared allocation for
    /// the whole evaluation, with one JSON pointer, so the address stands for the pointer
    /// without building it again at every read, and each record's path is resolved once.
    input_records: WordMap<usize, InputRecord>,
    /// The input node of each field of the records of `input_records`, [`NO_NODE`] before its
    /// first read: a record's fields take consecutive slots, so a field's node is found by
    /// indexing once its record is known.
    input_slots: Vec<usize>,
    /// Records read recently, with their addresses (0 for none yet), each in the slot its
    /// address picks: policies read fields of a few records in turn (a member's, then the
    /// case's application date), and this spares most reads the map.
    recent_records: [(usize, InputRecord); RECENT_RECORDS],
    /// The record type of each record path met, kept from one case to the next (cases of one
    /// policy have the same paths: `/members/0`, `/bank`): resolving a path walks the input
    /// type, which a map lookup spares. Emptied when it grows past [`KEPT_PATHS`].
    record_types: WordMap<Arc<str>, Option<u32>>,
    /// The buffer sizes the scratch remembered (see [`TraceScratch`]).
    prior_sizes: [usize; 4],
    /// For each node: whether every evaluation of its expression makes a new one (a call, a
    /// band or table lookup, a parameter looked up on another date than the as-of date), as
    /// opposed to a node made once and referenced again (an item, an input, a parameter on
    /// the as-of date). See [`TraceBuilder::repeat_call`].
    fresh: Vec<bool>,
    /// A call's inputs while [`TraceBuilder::repeat_call`] copies it.
    copied_inputs: Vec<usize>,
}

/// How many recent records [`TraceBuilder::input`] remembers: a power of two.
const RECENT_RECORDS: usize = 64;

/// The slot of [`TraceBuilder`]'s recent records that a record's address picks (records are
/// separate allocations, at least 16 bytes apart).
fn recent_slot(address: usize) -> usize {
    (address >> 4) & (RECENT_RECORDS - 1)
}

/// How many record paths [`TraceBuilder`] keeps the types of between cases.
const KEPT_PATHS: usize = 4096;

/// A case record the trace has read fields of.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct InputRecord {
    /// Where its fields' slots start in the builder's `input_slots`.
    slots: usize,
    /// Its record type (`None` where its path does not lead to a record type).
    record_type: Option<u32>,
}

/// The mark of an input slot whose field has no node yet.
const NO_NODE: usize = usize::MAX;

impl TraceBuilder {
    /// A builder for a policy of `items` items and `params` parameters, working in the buffers
    /// of `scratch`.
    pub(crate) fn new(items: usize, params: usize, scratch: TraceScratch) -> TraceBuilder {
        let TraceScratch {
            mut pending,
            mut displaced,
            mut frames,
            mut marks,
            mut item_nodes,
            mut param_nodes,
            mut input_records,
            mut input_slots,
            record_types,
            mut fresh,
            copied_inputs,
            sizes: [nodes, edges, arguments, paths],
        } = scratch;
        pending.clear();
        displaced.clear();
        frames.clear();
        marks.clear();
        let headroom = |size: usize| size.saturating_add(size / 2);
        item_nodes.clear();
        item_nodes.resize(items, None);
        param_nodes.clear();
        param_nodes.resize(params, None);
        input_records.clear();
        input_slots.clear();
        TraceBuilder {
            nodes: Vec::with_capacity(headroom(nodes)),
            edges: Vec::with_capacity(headroom(edges)),
            arguments: Vec::with_capacity(headroom(arguments)),
            paths: String::with_capacity(headroom(paths)),
            roots: Vec::new(),
            pending,
            displaced,
            frames,
            marks,
            serial: 0,
            item_nodes,
            param_nodes,
            input_records,
            input_slots,
            recent_records: [(0, InputRecord::default()); RECENT_RECORDS],
            record_types,
            prior_sizes: [nodes, edges, arguments, paths],
            fresh: {
                fresh.clear();
                fresh.reserve(headroom(nodes));
                fresh
            },
            copied_inputs,
        }
    }

    /// Opens a frame for a node whose inputs are about to be evaluated.
    #[inline]
    pub(crate) fn open(&mut self) {
        self.serial += 1;
        self.frames.push((self.pending.len(), self.serial));
    }

    /// Closes the innermost frame into `node`, records the node as an input of the enclosing
    /// frame, and returns its index.
    #[inline]
    pub(crate) fn close(&mut self, mut node: TraceNode) -> usize {
        let start = self
            .frames
            .pop()
            .map_or(self.pending.len(), |(start, _)| start)
            .min(self.pending.len());
        let inputs = self.pending.get(start..).unwrap_or(&[]);
        let displaced = self.displaced.get(start..).unwrap_or(&[]);
        for (input, mark) in inputs.iter().zip(displaced).rev() {
            if let Some(place) = self.marks.get_mut(*input) {
                *place = *mark;
            }
        }
        let first = self.edges.len();
        self.edges.extend_from_slice(inputs);
        self.pending.truncate(start);
        self.displaced.truncate(start);
        node.inputs = Span::of(first, self.edges.len());
        self.leaf(node)
    }

    /// Adds a node without inputs of its own to the enclosing frame.
    #[inline(always)]
    pub(crate) fn leaf(&mut self, node: TraceNode) -> usize {
        let index = self.nodes.len();
        self.nodes.push(node);
        self.marks.push(0);
        self.fresh.push(false);
        self.reference(index);
        index
    }

    /// Records an existing node as an input of the enclosing frame (once per frame).
    #[inline]
    pub(crate) fn reference(&mut self, index: usize) {
        let Some((_, serial)) = self.frames.last().copied() else {
            return;
        };
        let Some(mark) = self.marks.get_mut(index) else {
            return;
        };
        if *mark != serial {
            self.displaced.push(*mark);
            *mark = serial;
            self.pending.push(index);
        }
    }

    /// Keeps the arguments of a node about to be made, and returns where they are, for the
    /// node's `args`.
    pub(crate) fn add_args(
        &mut self,
        args: impl IntoIterator<Item = (Value, Option<&'static Type>)>,
    ) -> Span {
        let start = self.arguments.len();
        self.arguments.extend(args);
        Span::of(start, self.arguments.len())
    }

    /// Records the read of field `index` of the case record `record`, whose value is `value`:
    /// the field's input node is made at its first read and referenced at the next ones.
    pub(crate) fn input(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        record: &Arc<Record>,
        index: u32,
        value: &Value,
    ) {
        let Some(record_path) = record.path.as_deref() else {
            return;
        };
        let address = Arc::as_ptr(record) as usize;
        let recent = self
            .recent_records
            .get(recent_slot(address))
            .filter(|(known, _)| *known == address)
            .map(|(_, found)| *found);
        let found = match recent {
            Some(found) => found,
            None => {
                let slots = &mut self.input_slots;
                let record_types = &mut self.record_types;
                let found = *self.input_records.entry(address).or_insert_with(|| {
                    let start = slots.len();
                    slots.resize(start + record.fields.len(), NO_NODE);
                    let record_type = match record_types.get(record_path) {
                        Some(known) => *known,
                        None => {
                            let resolved = record_type(policy, record_path);
                            if record_types.len() >= KEPT_PATHS {
                                record_types.clear();
                            }
                            if let Some(path) = &record.path {
                                record_types.insert(Arc::clone(path), resolved);
                            }
                            resolved
                        }
                    };
                    InputRecord {
                        slots: start,
                        record_type,
                    }
                });
                if let Some(place) = self.recent_records.get_mut(recent_slot(address)) {
                    *place = (address, found);
                }
                found
            }
        };
        let slot = found.slots.saturating_add(index as usize);
        if let Some(node) = self.input_slots.get(slot).copied() {
            if node != NO_NODE {
                self.reference(node);
                return;
            }
        }
        let record_type = found.record_type;
        let field = record_type
            .and_then(|id| names.records.get(id as usize))
            .and_then(|fields| fields.get(index as usize));
        let start = self.paths.len();
        self.paths.push_str(record_path);
        let (id, ty) = match field {
            Some(field) => {
                self.paths.push_str(&field.segment);
                (field.name, Some(field.ty))
            }
            None => {
                let number = index.to_string();
                self.paths.push('/');
                self.paths.push_str(&number);
                (TraceText::from(number), None)
            }
        };
        let mut node = TraceNode::new(TraceKind::Input, id, value.clone(), ty);
        node.path = Some(Span::of(start, self.paths.len()));
        let node = self.leaf(node);
        if let Some(place) = self.input_slots.get_mut(slot) {
            *place = node;
        }
    }

    /// The trace, and the working buffers to keep for the next case.
    pub(crate) fn finish(self) -> (Trace, TraceScratch) {
        // A size falls slowly, by an eighth a case: a small case after large ones keeps room
        // for the next large one, so that the buffers are seldom moved as they grow.
        let latest = [
            self.nodes.len(),
            self.edges.len(),
            self.arguments.len(),
            self.paths.len(),
        ];
        let mut sizes = latest;
        for (size, prior) in sizes.iter_mut().zip(self.prior_sizes) {
            *size = (*size).max(prior - prior / 8);
        }
        let trace = Trace {
            nodes: self.nodes,
            roots: self.roots,
            edges: self.edges,
            arguments: self.arguments,
            paths: self.paths,
        };
        let scratch = TraceScratch {
            pending: self.pending,
            displaced: self.displaced,
            frames: self.frames,
            marks: self.marks,
            item_nodes: self.item_nodes,
            param_nodes: self.param_nodes,
            input_records: self.input_records,
            input_slots: self.input_slots,
            record_types: self.record_types,
            fresh: self.fresh,
            copied_inputs: self.copied_inputs,
            sizes,
        };
        (trace, scratch)
    }
}

/// The record type of the case record at `record_path` (a JSON pointer into the case), found by
/// following the path through the policy's input type.
fn record_type(policy: &Policy, record_path: &str) -> Option<u32> {
    let mut ty = &Type::Record(policy.input.record);
    let mut rest = record_path;
    while !rest.is_empty() {
        let after_slash = rest.strip_prefix('/')?;
        let (segment, remaining) = match after_slash.find('/') {
            Some(position) => (&after_slash[..position], &after_slash[position..]),
            None => (after_slash, ""),
        };
        rest = remaining;
        ty = if segment.contains('~') {
            step(policy, ty, &segment.replace("~1", "/").replace("~0", "~"))?
        } else {
            step(policy, ty, segment)?
        };
    }
    match unwrap_optional(ty) {
        Type::Record(id) => Some(*id),
        _ => None,
    }
}

fn unwrap_optional(ty: &Type) -> &Type {
    match ty {
        Type::Optional(inner) => inner,
        other => other,
    }
}

/// The type one step below `ty` in a case: a record's field by name, a list's element by index,
/// a map's value by key.
fn step<'p>(policy: &'p Policy, ty: &'p Type, segment: &str) -> Option<&'p Type> {
    match unwrap_optional(ty) {
        Type::Record(id) => match policy.types.get(*id as usize)? {
            TypeDef::Record(record) => record
                .fields
                .iter()
                .find(|field| field.name == segment)
                .map(|field| &field.ty),
            TypeDef::Enum(_) => None,
        },
        Type::List(element) => {
            segment.parse::<usize>().ok()?;
            Some(element)
        }
        Type::Map(element) => Some(element),
        _ => None,
    }
}

/// The nodes an evaluation records, made the same way by both evaluators that trace (the
/// interpreter, `eval.rs`, and native code, `native.rs`), from the names prepared once per
/// engine.
impl TraceBuilder {
    /// Records a memoized item used again: its node, made at its evaluation, becomes an input
    /// of the enclosing frame.
    #[inline]
    pub(crate) fn reuse_item(&mut self, id: u32) {
        if let Some(node) = self.item_nodes.get(id as usize).copied().flatten() {
            self.reference(node);
        }
    }

    /// Closes the frame of item `id`, evaluated to `value` (by exception `exception`, where one
    /// gave the value), into the item's node.
    pub(crate) fn close_item(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        value: Value,
        exception: Option<u32>,
    ) {
        let index = id as usize;
        let Some(item) = policy.items.get(index) else {
            return;
        };
        let names = names.items.get(index);
        let mut node = item_node(item, names, value);
        node.exception = exception.and_then(|won| exception_label(item, names, won));
        let node_index = self.close(node);
        if let Some(place) = self.item_nodes.get_mut(index) {
            *place = Some(node_index);
        }
    }

    /// Opens the frame of a call of function `id` whose arguments are `args`, and keeps the
    /// arguments for the call's node.
    pub(crate) fn open_call(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        args: impl Iterator<Item = Value>,
    ) -> Span {
        self.open();
        let names = names.items.get(id as usize);
        let params = policy
            .items
            .get(id as usize)
            .map_or(&[][..], |item| item.params.as_slice());
        self.add_args(
            args.zip(params)
                .enumerate()
                .map(|(position, (value, (_, ty)))| {
                    let ty = names
                        .and_then(|names| names.params.get(position))
                        .map_or_else(|| crate::intern::ty(ty), |ty| *ty);
                    (value, Some(ty))
                }),
        )
    }

    /// Closes the frame of a call of function `id`, which gave `value`, into the call's node.
    pub(crate) fn close_call(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        value: Value,
        args: Span,
    ) -> Option<usize> {
        let item = policy.items.get(id as usize)?;
        let mut node = item_node(item, names.items.get(id as usize), value);
        node.args = args;
        let index = self.close(node);
        self.mark_fresh(index);
        Some(index)
    }

    /// Records that node `index` is made anew by every evaluation of its expression.
    fn mark_fresh(&mut self, index: usize) {
        if let Some(flag) = self.fresh.get_mut(index) {
            *flag = true;
        }
    }

    /// Records a call made again with the same arguments as the call whose node is `call`, as
    /// if it were evaluated again: the interpreter's evaluation of it would make a new node of
    /// the same kind, name, value and arguments, with the same inputs, except that the nodes
    /// every evaluation makes anew (the calls, band and table lookups within it) are made anew
    /// too, in the order it made them. Native code calls this instead of evaluating a function
    /// of a record of the case a second time; the trace is the interpreter's, node for node.
    pub(crate) fn repeat_call(&mut self, call: usize) {
        let copy = self.copy_fresh(call);
        self.reference(copy);
    }

    /// A copy of node `original` (made anew by every evaluation) and of the nodes under it
    /// made anew, in the order an evaluation makes them: each before the node that uses it.
    fn copy_fresh(&mut self, original: usize) -> usize {
        let Some(mut node) = self.nodes.get(original).cloned() else {
            return original;
        };
        // A call keeps its arguments when it starts, before what it calls keeps theirs.
        if !node.args.is_empty() {
            let start = self.arguments.len();
            for position in node.args.range() {
                if let Some(argument) = self.arguments.get(position).cloned() {
                    self.arguments.push(argument);
                }
            }
            node.args = Span::of(start, self.arguments.len());
        }
        let base = self.copied_inputs.len();
        for position in node.inputs.range() {
            let Some(child) = self.edges.get(position).copied() else {
                continue;
            };
            let copied = if self.fresh.get(child).copied().unwrap_or(false) {
                self.copy_fresh(child)
            } else {
                child
            };
            self.copied_inputs.push(copied);
        }
        let first = self.edges.len();
        self.edges.extend(self.copied_inputs.drain(base..));
        // A call's node closes a frame: its inputs start where the edges end, even when it has
        // none. A band, table or parameter node is a leaf, whose inputs are the empty default.
        if node.kind == TraceKind::Function || !node.inputs.is_empty() {
            node.inputs = Span::of(first, self.edges.len());
        }
        let index = self.nodes.len();
        self.nodes.push(node);
        self.marks.push(0);
        self.fresh.push(true);
        index
    }

    /// Closes the frame of output `index`, which gave `value`, into its node: a root.
    pub(crate) fn close_output(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        index: usize,
        value: Value,
    ) {
        let (name, ty) = match names.outputs.get(index) {
            Some(names) => (names.name, names.ty),
            None => match policy.outputs.get(index) {
                Some(output) => (TraceText::new(&output.name), crate::intern::ty(&output.ty)),
                None => return,
            },
        };
        let node = TraceNode::new(TraceKind::Output, name, value, Some(ty));
        let index = self.close(node);
        self.roots.push(index);
    }

    /// Records the lookup of parameter `id`, which found value `index` of it (`found`): one
    /// node per parameter for lookups on the as-of date (`on_as_of`), one per lookup for the
    /// others.
    pub(crate) fn param_node(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        on_as_of: bool,
        index: usize,
        found: &ParamValue,
    ) {
        let cached = if on_as_of {
            self.param_nodes.get(id as usize).copied().flatten()
        } else {
            None
        };
        if let Some(node) = cached {
            self.reference(node);
            return;
        }
        let Some(param) = policy.params.get(id as usize) else {
            return;
        };
        let names = names.params.get(id as usize);
        let (name, ty) = match names {
            Some(names) => (names.name, names.ty),
            None => (TraceText::new(&param.name), crate::intern::ty(&param.ty)),
        };
        let mut node = TraceNode::new(TraceKind::Parameter, name, found.value.clone(), Some(ty));
        node.effective_from = Some(found.from);
        // The prepared source of the value found is its own or else the parameter's.
        node.source = match names.and_then(|names| names.sources.get(index)) {
            Some(source) => *source,
            None => found
                .source
                .as_ref()
                .or(param.source.as_ref())
                .map(|source| TraceText::new(source)),
        };
        let node = self.leaf(node);
        if on_as_of {
            if let Some(place) = self.param_nodes.get_mut(id as usize) {
                *place = Some(node);
            }
        } else {
            self.mark_fresh(node);
        }
    }

    /// Records the lookup of `value` in band table `id`, which found the band at `position`.
    pub(crate) fn band_node(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        value: Value,
        position: usize,
    ) {
        let Some(table) = policy.bands.get(id as usize) else {
            return;
        };
        let Some(band) = table.bands.get(position) else {
            return;
        };
        // The band's position finds its prepared label.
        let node = match names.bands.get(id as usize) {
            Some(names) => {
                let mut node = TraceNode::new(
                    TraceKind::Band,
                    names.name,
                    band.value.clone(),
                    Some(names.result),
                );
                node.args = self.add_args([(value, Some(names.domain))]);
                node.label = Some(
                    names
                        .labels
                        .get(position)
                        .map_or_else(|| TraceText::new(&band.label), Clone::clone),
                );
                node.source = names.source;
                node
            }
            None => {
                let mut node = TraceNode::new(
                    TraceKind::Band,
                    TraceText::new(&table.name),
                    band.value.clone(),
                    Some(crate::intern::ty(&table.result)),
                );
                node.args = self.add_args([(value, Some(crate::intern::ty(&table.domain)))]);
                node.label = Some(TraceText::new(&band.label));
                node.source = table.source.as_deref().map(TraceText::new);
                node
            }
        };
        let index = self.leaf(node);
        self.mark_fresh(index);
    }

    /// Records the lookup of `key` in table `id`, which gave `result` (a row when `found`).
    pub(crate) fn table_node(
        &mut self,
        policy: &Policy,
        names: &TraceNames,
        id: u32,
        key: Vec<Value>,
        result: Value,
        found: bool,
    ) {
        let Some(table) = policy.tables.get(id as usize) else {
            return;
        };
        let names = names.tables.get(id as usize);
        let (name, ty) = match names {
            Some(names) => (names.name, names.result),
            None => (
                TraceText::new(&table.name),
                crate::intern::ty(&Type::Optional(Box::new(Type::Record(table.row_type)))),
            ),
        };
        let mut node = TraceNode::new(TraceKind::Table, name, result, Some(ty));
        node.args = self.add_args(key.into_iter().enumerate().map(|(index, value)| {
            let ty = match names {
                Some(names) => names.keys.get(index).cloned(),
                None => table.key_types.get(index).map(crate::intern::ty),
            };
            (value, ty)
        }));
        node.found = Some(found);
        node.source = match names {
            Some(names) => names.source,
            None => table.source.as_deref().map(TraceText::new),
        };
        let index = self.leaf(node);
        self.mark_fresh(index);
    }
}

/// The node of an evaluated item, with the text and type prepared for it (`names`), or made
/// from the IR where nothing was prepared.
#[inline(always)]
fn item_node(item: &Item, names: Option<&ItemNames>, value: Value) -> TraceNode {
    let kind = TraceKind::of_item(item.kind);
    match names {
        Some(names) => {
            let mut node = TraceNode::new(kind, names.name, value, Some(names.ty));
            node.source = names.source;
            node
        }
        None => {
            let mut node = TraceNode::new(
                kind,
                TraceText::new(&item.name),
                value,
                Some(crate::intern::ty(&item.ty)),
            );
            node.source = item.source.as_deref().map(TraceText::new);
            node
        }
    }
}

/// The label of exception `won` of `item`, prepared or made from the IR.
fn exception_label(item: &Item, names: Option<&ItemNames>, won: u32) -> Option<TraceText> {
    if let Some(label) = names.and_then(|names| names.exceptions.get(won as usize)) {
        return Some(*label);
    }
    match &item.body {
        crate::ir::Body::Exceptions { exceptions, .. } => exceptions
            .get(won as usize)
            .map(|exception| TraceText::new(&exception.label)),
        crate::ir::Body::Expr(_) => None,
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
