//! Readable explanations of a decision, in Russian, Kazakh or English.
//!
//! Everything here is a pure function of the compiled policy ([`Policy`]), the decision's trace
//! ([`Trace`]) and the chosen language: no I/O, no global state, so it can be unit-tested and moved
//! into a library. The rule messages and legal sources come from the policy itself (the IR items'
//! `messages` and `source`); the only words in this file are the generic labels of [`LABELS`].
//!
//! An explanation has three parts:
//! 1. the value of every output (from the trace's output nodes);
//! 2. the reasons: every rule of a group collected by `holding(...)` whose id appears in an output
//!    (for the kz policy, the `reasons` of `asp`), with its message, its source, its value and the
//!    values it was computed from;
//! 3. the trace tree under each output, to a depth of [`DEFAULT_DEPTH`] unless `full` is asked
//!    for; a node already printed is shown again only as a one-line reference.

use std::collections::HashSet;
use std::fmt::Write as _;

use ereje_runtime::ir::{JsonLiteral, Policy, Type, TypeDef};
use ereje_runtime::value::{Date, Value};
use ereje_runtime::{Decision, Trace, TraceKind, TraceNode};

/// How deep the trace tree goes below each output unless the full tree is asked for.
pub const DEFAULT_DEPTH: usize = 4;

/// Longest inline rendering of a value in the trace tree before it is cut.
const INLINE_LIMIT: usize = 120;

/// The language of an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ru,
    Kk,
    En,
}

/// What to explain and how.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExplainOptions {
    pub lang: Lang,
    /// Print the whole trace tree instead of [`DEFAULT_DEPTH`] levels under each output.
    pub full: bool,
}

/// Which case the explanation is about.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    pub case_id: Option<&'a str>,
    pub as_of: Date,
}

/// The generic words of an explanation in one language. Templates hold one `{}`.
pub struct Labels {
    pub title: &'static str,
    pub case: &'static str,
    pub as_of: &'static str,
    pub policy: &'static str,
    pub outcome: &'static str,
    pub reasons: &'static str,
    pub applied: &'static str,
    pub no_reasons: &'static str,
    pub source: &'static str,
    pub value: &'static str,
    pub inputs: &'static str,
    pub trace: &'static str,
    pub see_above: &'static str,
    /// Template: the date from which a parameter's value applies.
    pub effective_from: &'static str,
    /// Template: how many inputs are hidden below the depth limit.
    pub more: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub row_found: &'static str,
    pub row_missing: &'static str,
    pub exception: &'static str,
    pub band: &'static str,
    pub no_message: &'static str,
    pub no_trace: &'static str,
    /// Template: a calendar quarter, `{q}` and `{y}`.
    pub quarter: &'static str,
    pub decimal_separator: char,
    pub kinds: Kinds,
}

/// The names of the trace node kinds in one language.
pub struct Kinds {
    pub rule: &'static str,
    pub definition: &'static str,
    pub function: &'static str,
    pub parameter: &'static str,
    pub table: &'static str,
    pub band: &'static str,
    pub input: &'static str,
    pub output: &'static str,
}

/// The generic labels, one entry per language (in the order of [`Lang`]).
pub const LABELS: [(Lang, Labels); 3] = [
    (
        Lang::Ru,
        Labels {
            title: "Объяснение решения",
            case: "дело",
            as_of: "на дату",
            policy: "политика",
            outcome: "Итог",
            reasons: "Основания",
            applied: "Правила, давшие результат",
            no_reasons: "нет",
            source: "Источник",
            value: "Значение",
            inputs: "Вычислено из",
            trace: "Дерево вычисления",
            see_above: "см. выше",
            effective_from: "действует с {}",
            more: "… ещё {} (всё дерево: --full)",
            yes: "да",
            no: "нет",
            row_found: "строка найдена",
            row_missing: "строки нет",
            exception: "исключение",
            band: "интервал",
            no_message: "(сообщение не задано)",
            no_trace: "(трассировки нет)",
            quarter: "{q} кв. {y}",
            decimal_separator: ',',
            kinds: Kinds {
                rule: "правило",
                definition: "определение",
                function: "функция",
                parameter: "параметр",
                table: "таблица",
                band: "шкала",
                input: "данные дела",
                output: "результат",
            },
        },
    ),
    (
        Lang::Kk,
        Labels {
            title: "Шешімнің түсіндірмесі",
            case: "іс",
            as_of: "күні",
            policy: "саясат",
            outcome: "Нәтиже",
            reasons: "Негіздер",
            applied: "Нәтижені берген ережелер",
            no_reasons: "жоқ",
            source: "Дереккөз",
            value: "Мәні",
            inputs: "Есептелген мәндер",
            trace: "Есептеу ағашы",
            see_above: "жоғарыда қараңыз",
            effective_from: "{} бастап қолданылады",
            more: "… тағы {} (толық ағаш: --full)",
            yes: "иә",
            no: "жоқ",
            row_found: "жол табылды",
            row_missing: "жол жоқ",
            exception: "ерекшелік",
            band: "аралық",
            no_message: "(хабарлама берілмеген)",
            no_trace: "(трассировка жоқ)",
            quarter: "{y}, {q}-тоқсан",
            decimal_separator: ',',
            kinds: Kinds {
                rule: "ереже",
                definition: "анықтама",
                function: "функция",
                parameter: "параметр",
                table: "кесте",
                band: "шкала",
                input: "іс деректері",
                output: "нәтиже",
            },
        },
    ),
    (
        Lang::En,
        Labels {
            title: "Decision explanation",
            case: "case",
            as_of: "as of",
            policy: "policy",
            outcome: "Outcome",
            reasons: "Reasons",
            applied: "Rules behind the outputs",
            no_reasons: "none",
            source: "Source",
            value: "Value",
            inputs: "Computed from",
            trace: "Computation tree",
            see_above: "see above",
            effective_from: "in effect from {}",
            more: "… {} more (whole tree: --full)",
            yes: "yes",
            no: "no",
            row_found: "row found",
            row_missing: "no row",
            exception: "exception",
            band: "band",
            no_message: "(no message given)",
            no_trace: "(no trace)",
            quarter: "Q{q} {y}",
            decimal_separator: '.',
            kinds: Kinds {
                rule: "rule",
                definition: "definition",
                function: "function",
                parameter: "parameter",
                table: "table",
                band: "band",
                input: "case data",
                output: "output",
            },
        },
    ),
];

/// The labels of a language.
pub fn labels(lang: Lang) -> &'static Labels {
    let index = match lang {
        Lang::Ru => 0,
        Lang::Kk => 1,
        Lang::En => 2,
    };
    &LABELS[index].1
}

impl Kinds {
    fn name(&self, kind: TraceKind) -> &'static str {
        match kind {
            TraceKind::Rule => self.rule,
            TraceKind::Definition => self.definition,
            TraceKind::Function => self.function,
            TraceKind::Parameter => self.parameter,
            TraceKind::Table => self.table,
            TraceKind::Band => self.band,
            TraceKind::Input => self.input,
            TraceKind::Output => self.output,
        }
    }
}

/// Explains a decision that was evaluated with a trace; without one, only its header and a note.
pub fn explain_decision(decision: &Decision, options: ExplainOptions) -> String {
    let header = Header {
        case_id: decision.case_id.as_deref(),
        as_of: decision.as_of,
    };
    match &decision.trace {
        Some(trace) => explain(decision.policy_ir(), trace, header, options),
        None => {
            let mut out = header_line(decision.policy_ir(), header, labels(options.lang));
            out.push_str(labels(options.lang).no_trace);
            out.push('\n');
            out
        }
    }
}

/// The whole explanation: outputs, reasons and trace tree.
pub fn explain(
    policy: &Policy,
    trace: &Trace,
    header: Header<'_>,
    options: ExplainOptions,
) -> String {
    let labels = labels(options.lang);
    let mut out = header_line(policy, header, labels);
    out.push('\n');
    out.push_str(&outcome_section(policy, trace, options.lang));
    out.push('\n');
    out.push_str(&reasons_section(policy, trace, options.lang));
    out.push('\n');
    let applied = applied_section(policy, trace, options.lang);
    if !applied.is_empty() {
        out.push_str(&applied);
        out.push('\n');
    }
    out.push_str(&tree_section(policy, trace, options));
    out
}

fn header_line(policy: &Policy, header: Header<'_>, labels: &Labels) -> String {
    format!(
        "{}: {} {}, {} {}, {} {} {}\n",
        labels.title,
        labels.case,
        header.case_id.unwrap_or("—"),
        labels.as_of,
        format_date(header.as_of),
        labels.policy,
        policy.name,
        policy.version,
    )
}

/// Part 1: every output's value; an object output as one line per field.
pub fn outcome_section(policy: &Policy, trace: &Trace, lang: Lang) -> String {
    let labels = labels(lang);
    let mut out = format!("{}\n", labels.outcome);
    for node in trace.roots.iter().filter_map(|root| trace.nodes.get(*root)) {
        write_entry(
            &mut out,
            policy,
            lang,
            1,
            &node.id,
            &node.value,
            node.ty.as_ref(),
        );
    }
    out
}

/// Writes `name: value`, with an object's or map's entries on their own lines below.
fn write_entry(
    out: &mut String,
    policy: &Policy,
    lang: Lang,
    depth: usize,
    name: &str,
    value: &Value,
    ty: Option<&Type>,
) {
    let indent = "  ".repeat(depth);
    let ty = ty.map(unwrap_optional);
    match (value, ty) {
        (Value::Map(entries), Some(Type::Object(fields))) if !entries.is_empty() => {
            let _ = writeln!(out, "{indent}{name}:");
            for (key, item) in entries.iter() {
                let field_ty = fields
                    .iter()
                    .find(|(field, _)| **field == **key)
                    .map(|(_, ty)| ty);
                write_entry(out, policy, lang, depth + 1, key, item, field_ty);
            }
        }
        (Value::Map(entries), Some(Type::Map(element))) if !entries.is_empty() => {
            let _ = writeln!(out, "{indent}{name}:");
            for (key, item) in entries.iter() {
                write_entry(out, policy, lang, depth + 1, key, item, Some(element));
            }
        }
        _ => {
            let _ = writeln!(
                out,
                "{indent}{name}: {}",
                format_value(policy, value, ty, lang)
            );
        }
    }
}

/// The reasons: rule ids that appear as text in the outputs and name a rule of a group (the
/// rules `holding(...)` collects), in order of first appearance.
pub fn reason_ids(policy: &Policy, trace: &Trace) -> Vec<String> {
    let group_rules: HashSet<&str> = policy
        .groups
        .iter()
        .flat_map(|group| group.members.iter())
        .filter_map(|member| policy.items.get(member.item as usize))
        .filter(|item| item.kind == ereje_runtime::ir::ItemKind::Rule)
        .map(|item| item.name.as_str())
        .collect();
    let mut found = Vec::new();
    for node in trace.roots.iter().filter_map(|root| trace.nodes.get(*root)) {
        collect_texts(&node.value, &mut |text| {
            if group_rules.contains(text) && !found.iter().any(|seen: &String| seen == text) {
                found.push(text.to_string());
            }
        });
    }
    found
}

fn collect_texts(value: &Value, visit: &mut dyn FnMut(&str)) {
    match value {
        Value::Text(text) => visit(text),
        Value::List(items) => items.iter().for_each(|item| collect_texts(item, visit)),
        Value::Map(entries) => entries
            .iter()
            .for_each(|(_, item)| collect_texts(item, visit)),
        Value::Record(record) => record
            .fields
            .iter()
            .for_each(|item| collect_texts(item, visit)),
        _ => {}
    }
}

/// A rule's message in `lang`, else in another language (ru, en, kk, in that order).
pub fn message<'p>(policy: &'p Policy, rule: &str, lang: Lang) -> Option<&'p str> {
    let item = policy.items.iter().find(|item| item.name == rule)?;
    let messages = &item.messages;
    let preferred = match lang {
        Lang::Ru => &messages.ru,
        Lang::Kk => &messages.kk,
        Lang::En => &messages.en,
    };
    preferred
        .as_deref()
        .or(messages.ru.as_deref())
        .or(messages.en.as_deref())
        .or(messages.kk.as_deref())
}

/// Part 2: each reason with its message, source, value and direct inputs.
pub fn reasons_section(policy: &Policy, trace: &Trace, lang: Lang) -> String {
    let labels = labels(lang);
    let reasons = reason_ids(policy, trace);
    if reasons.is_empty() {
        return format!("{}: {}\n", labels.reasons, labels.no_reasons);
    }
    let mut out = format!("{}\n", labels.reasons);
    for rule in &reasons {
        let node_index = trace
            .nodes
            .iter()
            .position(|node| node.kind == TraceKind::Rule && node.id == *rule);
        let node = node_index.and_then(|index| trace.nodes.get(index));
        let text = message(policy, rule, lang)
            .map(|text| substitute(text, policy, trace, node, lang))
            .unwrap_or_else(|| labels.no_message.to_string());
        let _ = writeln!(out, "  {rule}: {text}");
        let source = policy
            .items
            .iter()
            .find(|item| item.name == *rule)
            .and_then(|item| item.source.as_deref())
            .or(node.and_then(|node| node.source.as_deref()));
        if let Some(source) = source {
            let _ = writeln!(out, "    {}: {source}", labels.source);
        }
        if let Some(node) = node {
            let _ = writeln!(
                out,
                "    {}: {}",
                labels.value,
                format_value(policy, &node.value, node.ty.as_ref(), lang)
            );
            if !node.inputs.is_empty() {
                let _ = writeln!(out, "    {}:", labels.inputs);
                for input in node
                    .inputs
                    .iter()
                    .filter_map(|input| trace.nodes.get(*input))
                {
                    let _ = writeln!(out, "      {}", node_line(policy, input, lang));
                }
            }
        }
    }
    out
}

/// The rules each output used directly (for the kz policy: the aid kind, income, poverty line
/// and amounts), with value, message and source; the reasons are left to [`reasons_section`].
/// Empty when no output uses a rule directly.
pub fn applied_section(policy: &Policy, trace: &Trace, lang: Lang) -> String {
    let labels = labels(lang);
    let reasons = reason_ids(policy, trace);
    let mut seen: Vec<usize> = Vec::new();
    for root in trace.roots.iter().filter_map(|root| trace.nodes.get(*root)) {
        for input in &root.inputs {
            let is_rule = trace
                .nodes
                .get(*input)
                .is_some_and(|node| node.kind == TraceKind::Rule && !reasons.contains(&node.id));
            if is_rule && !seen.contains(input) {
                seen.push(*input);
            }
        }
    }
    if seen.is_empty() {
        return String::new();
    }
    let mut out = format!("{}\n", labels.applied);
    for node in seen.iter().filter_map(|index| trace.nodes.get(*index)) {
        let _ = writeln!(
            out,
            "  {} = {}",
            node.id,
            format_value(policy, &node.value, node.ty.as_ref(), lang)
        );
        if let Some(text) = message(policy, &node.id, lang) {
            let _ = writeln!(
                out,
                "    {}",
                substitute(text, policy, trace, Some(node), lang)
            );
        }
        let source = policy
            .items
            .iter()
            .find(|item| item.name == node.id)
            .and_then(|item| item.source.as_deref())
            .or(node.source.as_deref());
        if let Some(source) = source {
            let _ = writeln!(out, "    {}: {source}", labels.source);
        }
    }
    out
}

/// Replaces `{name}` in a message by the value of the trace node called `name` (preferring the
/// rule's own inputs); unknown names are left as written.
fn substitute(
    text: &str,
    policy: &Policy,
    trace: &Trace,
    rule: Option<&TraceNode>,
    lang: Lang,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}');
        let name = close.map(|close| &after[..close]);
        let valid = name.is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
        });
        match (name, close) {
            (Some(name), Some(close)) if valid => {
                let from_inputs = rule.and_then(|rule| {
                    rule.inputs
                        .iter()
                        .filter_map(|input| trace.nodes.get(*input))
                        .find(|node| node.id == name)
                });
                let node = from_inputs.or_else(|| trace.nodes.iter().find(|node| node.id == name));
                match node {
                    Some(node) => {
                        out.push_str(&format_value(policy, &node.value, node.ty.as_ref(), lang))
                    }
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Part 3: the trace tree under each output.
pub fn tree_section(policy: &Policy, trace: &Trace, options: ExplainOptions) -> String {
    let labels = labels(options.lang);
    let mut out = format!("{}\n", labels.trace);
    let mut printed = vec![false; trace.nodes.len()];
    let mut expanded = HashSet::new();
    let max_depth = if options.full {
        usize::MAX
    } else {
        DEFAULT_DEPTH
    };
    for root in &trace.roots {
        let mut walk = TreeWalk {
            policy,
            trace,
            lang: options.lang,
            max_depth,
            printed: &mut printed,
            expanded: &mut expanded,
            out: &mut out,
        };
        walk.node(*root, "", None, 0);
    }
    out
}

struct TreeWalk<'a> {
    policy: &'a Policy,
    trace: &'a Trace,
    lang: Lang,
    max_depth: usize,
    printed: &'a mut Vec<bool>,
    /// The lines of the nodes already expanded: two calls of a function with the same
    /// arguments are two nodes with the same line and the same inputs.
    expanded: &'a mut HashSet<String>,
    out: &'a mut String,
}

impl TreeWalk<'_> {
    /// Prints node `index`; `last` is `None` for a root, else whether it is its parent's last
    /// child.
    fn node(&mut self, index: usize, prefix: &str, last: Option<bool>, depth: usize) {
        let Some(node) = self.trace.nodes.get(index) else {
            return;
        };
        let labels = labels(self.lang);
        let (connector, child_prefix) = match last {
            None => ("", String::new()),
            Some(true) => ("└─ ", format!("{prefix}   ")),
            Some(false) => ("├─ ", format!("{prefix}│  ")),
        };
        let line = node_line(self.policy, node, self.lang);
        let already =
            self.printed.get(index).copied().unwrap_or(false) || self.expanded.contains(&line);
        if already && !node.inputs.is_empty() {
            let _ = writeln!(self.out, "{prefix}{connector}{line} ({})", labels.see_above);
            return;
        }
        let _ = writeln!(self.out, "{prefix}{connector}{line}");
        if node.inputs.is_empty() {
            return;
        }
        if depth >= self.max_depth {
            let more = labels.more.replace("{}", &node.inputs.len().to_string());
            let _ = writeln!(self.out, "{child_prefix}└─ {more}");
            return;
        }
        if let Some(flag) = self.printed.get_mut(index) {
            *flag = true;
        }
        self.expanded.insert(line);
        // Identical siblings (the same call made twice) are shown once.
        let mut children: Vec<(usize, String)> = Vec::with_capacity(node.inputs.len());
        for child in &node.inputs {
            if let Some(child_node) = self.trace.nodes.get(*child) {
                let child_line = node_line(self.policy, child_node, self.lang);
                if !children.iter().any(|(_, seen)| *seen == child_line) {
                    children.push((*child, child_line));
                }
            }
        }
        let count = children.len();
        for (position, (child, _)) in children.into_iter().enumerate() {
            self.node(child, &child_prefix, Some(position + 1 == count), depth + 1);
        }
    }
}

/// One node on one line: kind, name (with arguments, table key or path), value and notes.
pub fn node_line(policy: &Policy, node: &TraceNode, lang: Lang) -> String {
    let labels = labels(lang);
    let mut line = String::new();
    line.push_str(labels.kinds.name(node.kind));
    line.push(' ');
    let args = || {
        node.args
            .iter()
            .map(|(value, ty)| format_value(policy, value, ty.as_ref(), lang))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match node.kind {
        TraceKind::Input => match &node.path {
            Some(path) => line.push_str(path),
            None => line.push_str(&node.id),
        },
        TraceKind::Table => {
            let _ = write!(line, "{}[{}]", node.id, args());
        }
        TraceKind::Band => {
            let _ = write!(line, "{}({})", node.id, args());
        }
        _ if !node.args.is_empty() => {
            let _ = write!(line, "{}({})", node.id, args());
        }
        _ => line.push_str(&node.id),
    }
    line.push_str(" = ");
    line.push_str(&truncate(&format_value(
        policy,
        &node.value,
        node.ty.as_ref(),
        lang,
    )));
    let mut notes = Vec::new();
    if let Some(date) = node.effective_from {
        notes.push(labels.effective_from.replace("{}", &format_date(date)));
    }
    if let Some(found) = node.found {
        notes.push(
            if found {
                labels.row_found
            } else {
                labels.row_missing
            }
            .to_string(),
        );
    }
    if let Some(label) = &node.label {
        notes.push(format!("{}: {label}", labels.band));
    }
    if let Some(exception) = &node.exception {
        notes.push(format!("{}: {exception}", labels.exception));
    }
    if !notes.is_empty() {
        let _ = write!(line, " [{}]", notes.join("; "));
    }
    line
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= INLINE_LIMIT {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(INLINE_LIMIT - 1).collect();
    cut.push('…');
    cut
}

fn unwrap_optional(ty: &Type) -> &Type {
    match ty {
        Type::Optional(inner) => inner,
        other => other,
    }
}

/// A value for people: money as `786 400 ₸`, dates as `12.03.2025`, enums by their JSON name,
/// records read from the case by their path, absent values as `—`.
pub fn format_value(policy: &Policy, value: &Value, ty: Option<&Type>, lang: Lang) -> String {
    let labels = labels(lang);
    let ty = ty.map(unwrap_optional);
    match value {
        Value::Absent => "—".to_string(),
        Value::Bool(true) => labels.yes.to_string(),
        Value::Bool(false) => labels.no.to_string(),
        Value::Integer(number) => match ty {
            Some(Type::Money) => format_money(&number.to_string(), labels.decimal_separator),
            _ => number.to_string(),
        },
        Value::Decimal(number) => {
            let mut number = *number;
            if number.is_zero() {
                number.set_sign_positive(true);
            }
            match ty {
                Some(Type::Money) => format_money(&number.to_string(), labels.decimal_separator),
                _ => format_decimal(&number.to_string(), labels.decimal_separator),
            }
        }
        Value::Date(date) => format_date(*date),
        Value::Month(month) => format!("{:02}.{:04}", month.month, month.year),
        Value::Quarter(quarter) => labels
            .quarter
            .replace("{q}", &quarter.quarter.to_string())
            .replace("{y}", &quarter.year.to_string()),
        Value::Text(text) => text.to_string(),
        Value::Enum(index) => enum_name(policy, ty, *index),
        Value::List(items) => {
            let element = match ty {
                Some(Type::List(element)) => Some(&**element),
                _ => None,
            };
            let parts: Vec<String> = items
                .iter()
                .map(|item| format_value(policy, item, element, lang))
                .collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Record(record) => {
            if let Some(path) = &record.path {
                return path.to_string();
            }
            let definition = match ty {
                Some(Type::Record(id)) => match policy.types.get(*id as usize) {
                    Some(TypeDef::Record(definition)) => Some(definition),
                    _ => None,
                },
                _ => None,
            };
            let parts: Vec<String> = record
                .fields
                .iter()
                .enumerate()
                .map(|(position, field)| {
                    let field_def =
                        definition.and_then(|definition| definition.fields.get(position));
                    let name =
                        field_def.map_or_else(|| position.to_string(), |field| field.name.clone());
                    let value = format_value(policy, field, field_def.map(|field| &field.ty), lang);
                    format!("{name}: {value}")
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Map(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(key, item)| {
                    let item_ty = match ty {
                        Some(Type::Map(element)) => Some(&**element),
                        Some(Type::Object(fields)) => fields
                            .iter()
                            .find(|(field, _)| **field == **key)
                            .map(|(_, ty)| ty),
                        _ => None,
                    };
                    format!("{key}: {}", format_value(policy, item, item_ty, lang))
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

fn enum_name(policy: &Policy, ty: Option<&Type>, index: u32) -> String {
    let variant = match ty {
        Some(Type::Enum(id)) => match policy.types.get(*id as usize) {
            Some(TypeDef::Enum(definition)) => definition.variants.get(index as usize),
            _ => None,
        },
        _ => None,
    };
    match variant.map(|variant| &variant.json) {
        Some(JsonLiteral::Text(text)) => text.clone(),
        Some(JsonLiteral::Integer(number)) => number.to_string(),
        None => index.to_string(),
    }
}

/// `12.03.2025`.
pub fn format_date(date: Date) -> String {
    date.format("%d.%m.%Y").to_string()
}

/// Money from its exact decimal text: groups of three digits separated by spaces, the decimal
/// separator of the language, `₸`. More than two decimal places are rounded half-up to two and
/// marked `≈` (the exact value is in the decision's trace).
pub fn format_money(exact: &str, decimal_separator: char) -> String {
    let (negative, digits) = match exact.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, exact),
    };
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let (integer, fraction, approximate) = if fraction.len() > 2 {
        let (integer, fraction) = round_half_up(integer, fraction, 2);
        (integer, fraction, true)
    } else {
        (integer.to_string(), fraction.to_string(), false)
    };
    let mut out = String::new();
    if approximate {
        out.push_str("≈ ");
    }
    if negative && !(integer.chars().all(|c| c == '0') && fraction.chars().all(|c| c == '0')) {
        out.push('−');
    }
    out.push_str(&group_thousands(&integer));
    if !fraction.is_empty() {
        out.push(decimal_separator);
        out.push_str(&fraction);
    }
    out.push_str(" ₸");
    out
}

/// A plain decimal with the language's decimal separator.
fn format_decimal(exact: &str, decimal_separator: char) -> String {
    exact.replace('.', &decimal_separator.to_string())
}

fn group_thousands(integer: &str) -> String {
    let length = integer.chars().count();
    let mut out = String::with_capacity(length + length / 3);
    for (position, digit) in integer.chars().enumerate() {
        if position > 0 && (length - position).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

/// Rounds the digits `integer.fraction` half-up to `places` decimal places.
fn round_half_up(integer: &str, fraction: &str, places: usize) -> (String, String) {
    let mut digits: Vec<u8> = integer
        .bytes()
        .chain(fraction.bytes().take(places))
        .map(|byte| byte.saturating_sub(b'0'))
        .collect();
    let round_up = fraction
        .as_bytes()
        .get(places)
        .is_some_and(|digit| *digit >= b'5');
    if round_up {
        let mut position = digits.len();
        loop {
            if position == 0 {
                digits.insert(0, 1);
                break;
            }
            position -= 1;
            if let Some(digit) = digits.get_mut(position) {
                if *digit == 9 {
                    *digit = 0;
                } else {
                    *digit += 1;
                    break;
                }
            }
        }
    }
    let text: String = digits
        .iter()
        .map(|digit| char::from(b'0' + digit))
        .collect();
    let split = text.len().saturating_sub(places);
    (text[..split].to_string(), text[split..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ereje_runtime::ir::{
        Body, Expr, FieldDef, Group, GroupMember, InputDecl, Item, ItemKind, Messages, Output,
        RecordDef, IR_FORMAT_VERSION,
    };

    fn date(y: i32, m: u32, d: u32) -> Date {
        Date::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn node(
        kind: TraceKind,
        id: &str,
        value: Value,
        ty: Option<Type>,
        inputs: Vec<usize>,
    ) -> TraceNode {
        TraceNode {
            kind,
            id: id.into(),
            value,
            ty,
            inputs,
            effective_from: None,
            source: None,
            path: None,
            args: vec![],
            found: None,
            label: None,
            exception: None,
        }
    }

    fn rule(name: &str, ty: Type, messages: Messages) -> Item {
        Item {
            name: name.into(),
            kind: ItemKind::Rule,
            ty,
            params: vec![],
            locals: 0,
            body: Body::Expr(Expr::Const(Value::Bool(true))),
            source: Some(format!("source of {name}")),
            messages,
            module: 0,
            doc: None,
        }
    }

    fn sample() -> (Policy, Trace) {
        let policy = Policy {
            format_version: IR_FORMAT_VERSION,
            name: "demo".into(),
            version: "1".into(),
            publisher: "example".into(),
            in_force_from: date(2025, 1, 1),
            modules: vec![],
            types: vec![TypeDef::Record(RecordDef {
                name: "Case".into(),
                fields: vec![FieldDef {
                    name: "income".into(),
                    ty: Type::Money,
                    required: true,
                    default: None,
                    constraints: vec![],
                }],
            })],
            input: InputDecl {
                name: "case".into(),
                record: 0,
                id_field: None,
                as_of_field: None,
            },
            params: vec![],
            tables: vec![],
            calendars: vec![],
            bands: vec![],
            items: vec![
                rule(
                    "INCOME-TEST",
                    Type::Bool,
                    Messages {
                        ru: Some("Доход {income_total} не ниже черты.".into()),
                        kk: None,
                        en: Some("Income {income_total} is not below the line.".into()),
                    },
                ),
                rule("AMOUNT", Type::Money, Messages::default()),
            ],
            groups: vec![Group {
                name: "REFUSALS".into(),
                element: Type::Bool,
                members: vec![GroupMember {
                    item: 0,
                    active_from: None,
                }],
            }],
            outputs: vec![Output {
                name: "aid".into(),
                ty: Type::Object(vec![
                    ("outcome".into(), Type::Text),
                    ("reasons".into(), Type::List(Box::new(Type::Text))),
                    ("amount".into(), Type::Money),
                ]),
                expr: Expr::Const(Value::Absent),
                module: 0,
            }],
        };
        let mut line = node(
            TraceKind::Parameter,
            "POVERTY_LINE",
            Value::Integer(32360),
            Some(Type::Money),
            vec![],
        );
        line.effective_from = Some(date(2025, 1, 1));
        let mut income = node(
            TraceKind::Input,
            "income",
            Value::Integer(786400),
            Some(Type::Money),
            vec![],
        );
        income.path = Some("/income".into());
        let nodes = vec![
            income,
            line,
            node(
                TraceKind::Definition,
                "income_total",
                Value::Integer(786400),
                Some(Type::Money),
                vec![0],
            ),
            node(
                TraceKind::Rule,
                "INCOME-TEST",
                Value::Bool(true),
                Some(Type::Bool),
                vec![2, 1],
            ),
            node(
                TraceKind::Output,
                "aid",
                Value::Map(
                    vec![
                        ("outcome".into(), Value::text("refused")),
                        (
                            "reasons".into(),
                            Value::List(vec![Value::text("INCOME-TEST")].into()),
                        ),
                        ("amount".into(), Value::Integer(0)),
                    ]
                    .into(),
                ),
                policy.outputs.first().map(|output| output.ty.clone()),
                vec![3, 2],
            ),
        ];
        (
            policy,
            Trace {
                nodes,
                roots: vec![4],
            },
        )
    }

    #[test]
    fn money_and_dates() {
        assert_eq!(format_money("786400", ','), "786 400 ₸");
        assert_eq!(format_money("12345.67", ','), "12 345,67 ₸");
        assert_eq!(format_money("5898", '.'), "5 898 ₸");
        assert_eq!(format_money("999.999", '.'), "≈ 1 000.00 ₸");
        assert_eq!(format_money("1251.6666666", ','), "≈ 1 251,67 ₸");
        assert_eq!(format_money("-100", ','), "−100 ₸");
        assert_eq!(format_date(date(2025, 3, 12)), "12.03.2025");
    }

    #[test]
    fn reasons_come_from_group_rules_in_outputs() {
        let (policy, trace) = sample();
        assert_eq!(reason_ids(&policy, &trace), vec!["INCOME-TEST".to_string()]);
    }

    #[test]
    fn explains_in_each_language_with_fallback() {
        let (policy, trace) = sample();
        let header = Header {
            case_id: Some("c1"),
            as_of: date(2025, 3, 12),
        };
        let en = explain(
            &policy,
            &trace,
            header,
            ExplainOptions {
                lang: Lang::En,
                full: false,
            },
        );
        assert!(
            en.contains("Decision explanation: case c1, as of 12.03.2025, policy demo 1"),
            "{en}"
        );
        assert!(
            en.contains("INCOME-TEST: Income 786 400 ₸ is not below the line."),
            "{en}"
        );
        assert!(en.contains("Source: source of INCOME-TEST"), "{en}");
        assert!(
            en.contains("parameter POVERTY_LINE = 32 360 ₸ [in effect from 01.01.2025]"),
            "{en}"
        );
        assert!(en.contains("case data /income = 786 400 ₸"), "{en}");
        assert!(en.contains("    amount: 0 ₸"), "{en}");
        // kk has no message: falls back to ru.
        let kk = explain(
            &policy,
            &trace,
            header,
            ExplainOptions {
                lang: Lang::Kk,
                full: false,
            },
        );
        assert!(kk.contains("Доход 786 400 ₸ не ниже черты."), "{kk}");
        assert!(kk.contains("Негіздер"), "{kk}");
    }

    #[test]
    fn tree_collapses_repeated_nodes_and_limits_depth() {
        let (policy, trace) = sample();
        let tree = tree_section(
            &policy,
            &trace,
            ExplainOptions {
                lang: Lang::En,
                full: true,
            },
        );
        assert!(
            tree.contains("└─ definition income_total = 786 400 ₸ (see above)"),
            "{tree}"
        );
        let mut deep = trace.clone();
        // A chain deeper than the default depth.
        let mut previous = 0;
        for level in 0..6 {
            deep.nodes.push(node(
                TraceKind::Definition,
                &format!("d{level}"),
                Value::Integer(level),
                None,
                vec![previous],
            ));
            previous = deep.nodes.len() - 1;
        }
        deep.roots = vec![previous];
        let short = tree_section(
            &policy,
            &deep,
            ExplainOptions {
                lang: Lang::En,
                full: false,
            },
        );
        assert!(short.contains("… 1 more (whole tree: --full)"), "{short}");
        let full = tree_section(
            &policy,
            &deep,
            ExplainOptions {
                lang: Lang::En,
                full: true,
            },
        );
        assert!(full.contains("case data /income"), "{full}");
    }
}
