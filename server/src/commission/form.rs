//! The survey form, generated from the policy's input record type in the IR, and the case JSON
//! read back from the posted form.
//!
//! Nothing here knows a policy (as `cli/src/csv_input.rs` derives CSV columns, this derives form
//! fields): every field of the input record, in declaration order, becomes an input named by its
//! JSON pointer in the case (`/members/0/incomes/1/amount`), so an error of the engine, which
//! carries that pointer, is shown next to its field. A record is a fieldset; a list of records
//! is a fieldset of items with a `<template>` for a new item, whose index is the placeholder
//! `~D~` (D the list's depth) that the page's script replaces; a list of plain values is one
//! input of comma-separated values; maps get no field. Labels are the policy's own `label`
//! items (`Member.birth_date`, `IncomeKind.salary`) in the page's language, else the name.

use std::collections::BTreeMap;

use ereje_runtime::ir::{JsonLiteral, Policy, Type, TypeDef};
use serde_json::{Map, Value as Json};

use super::pages::{escape, Lang};

/// Renders the form fields of a case (`value`: the case to show, when correcting one) with the
/// errors by JSON pointer next to their fields; errors that match no field are returned.
pub fn render(
    policy: &Policy,
    lang: Lang,
    value: Option<&Json>,
    errors: &BTreeMap<String, String>,
) -> (String, Vec<(String, String)>) {
    let mut writer = Writer {
        policy,
        lang,
        errors,
        placed: Vec::new(),
        out: String::new(),
    };
    writer.record(policy.input.record, "", value, 0);
    let unplaced = errors
        .iter()
        .filter(|(path, _)| !writer.placed.contains(path))
        .map(|(path, message)| (path.clone(), message.clone()))
        .collect();
    (writer.out, unplaced)
}

struct Writer<'a> {
    policy: &'a Policy,
    lang: Lang,
    errors: &'a BTreeMap<String, String>,
    placed: Vec<String>,
    out: String,
}

fn base(ty: &Type) -> &Type {
    match ty {
        Type::Optional(inner) => base(inner),
        other => other,
    }
}

impl Writer<'_> {
    fn label(&self, target: &str, fallback: &str) -> String {
        self.policy
            .label(target, self.lang.code())
            .map_or_else(|| fallback.replace('_', " "), str::to_string)
    }

    fn error(&mut self, path: &str) {
        if let Some(message) = self.errors.get(path) {
            self.out.push_str(&format!(
                "<p class=\"error\" role=\"alert\">{}</p>",
                escape(message)
            ));
            self.placed.push(path.to_string());
        }
    }

    fn record(&mut self, id: u32, path: &str, value: Option<&Json>, depth: usize) {
        let Some(TypeDef::Record(record)) = self.policy.types.get(id as usize) else {
            return;
        };
        for field in &record.fields {
            let field_path = format!("{path}/{}", field.name);
            let label = self.label(&format!("{}.{}", record.name, field.name), &field.name);
            let field_value = value.and_then(|value| value.get(&field.name));
            self.field(
                &field.ty,
                &field_path,
                &label,
                field.required,
                field_value,
                depth,
            );
        }
    }

    fn field(
        &mut self,
        ty: &Type,
        path: &str,
        label: &str,
        required: bool,
        value: Option<&Json>,
        depth: usize,
    ) {
        let mark = if required { " *" } else { "" };
        match base(ty) {
            Type::Record(id) => {
                self.out.push_str(&format!(
                    "<fieldset><legend>{}{mark}</legend>",
                    escape(label)
                ));
                self.error(path);
                self.record(*id, path, value, depth);
                self.out.push_str("</fieldset>");
            }
            Type::List(item) if matches!(base(item), Type::Record(_)) => {
                let Type::Record(id) = base(item) else {
                    return;
                };
                let items = value
                    .and_then(Json::as_array)
                    .map_or(&[][..], Vec::as_slice);
                self.out.push_str(&format!(
                    "<fieldset class=\"list\" data-list data-depth=\"{depth}\" data-next=\"{}\" \
                     id=\"f{}\"><legend>{}{mark}</legend>",
                    items.len(),
                    escape(path),
                    escape(label)
                ));
                self.error(path);
                self.out.push_str("<div class=\"items\">");
                for (index, item) in items.iter().enumerate() {
                    self.item(*id, &format!("{path}/{index}"), label, Some(item), depth);
                }
                self.out.push_str("</div><template>");
                self.item(*id, &format!("{path}/~{depth}~"), label, None, depth);
                self.out.push_str(&format!(
                    "</template><button type=\"button\" class=\"add\">+ {}</button></fieldset>",
                    escape(self.lang.words().add)
                ));
            }
            Type::Map(_) | Type::Object(_) | Type::Never => {}
            plain => {
                let id = format!("f{path}");
                self.out.push_str(&format!(
                    "<div class=\"field\"><label for=\"{}\">{}{mark}</label>",
                    escape(&id),
                    escape(label)
                ));
                let shown = value.map(shown_value).unwrap_or_default();
                self.input(plain, &id, path, &shown);
                self.error(path);
                self.out.push_str("</div>");
            }
        }
    }

    fn item(&mut self, id: u32, path: &str, label: &str, value: Option<&Json>, depth: usize) {
        self.out.push_str(&format!(
            "<fieldset class=\"item\"><legend>{}</legend>",
            escape(label)
        ));
        self.error(path);
        self.record(id, path, value, depth + 1);
        self.out.push_str(&format!(
            "<button type=\"button\" class=\"remove\">− {}</button></fieldset>",
            escape(self.lang.words().remove)
        ));
    }

    fn input(&mut self, ty: &Type, id: &str, path: &str, shown: &str) {
        let attributes = format!("id=\"{}\" name=\"{}\"", escape(id), escape(path));
        let options = |choices: Vec<(String, String)>| {
            let mut html = format!("<select {attributes}><option value=\"\">—</option>");
            for (value, text) in choices {
                let selected = if value == shown { " selected" } else { "" };
                html.push_str(&format!(
                    "<option value=\"{}\"{selected}>{}</option>",
                    escape(&value),
                    escape(&text)
                ));
            }
            html.push_str("</select>");
            html
        };
        let html = match ty {
            Type::Bool => {
                let words = self.lang.words();
                options(vec![
                    ("true".to_string(), words.yes.to_string()),
                    ("false".to_string(), words.no.to_string()),
                ])
            }
            Type::Enum(enum_id) => match self.policy.types.get(*enum_id as usize) {
                Some(TypeDef::Enum(definition)) => options(
                    definition
                        .variants
                        .iter()
                        .map(|variant| {
                            let json = match &variant.json {
                                JsonLiteral::Text(text) => text.clone(),
                                JsonLiteral::Integer(number) => number.to_string(),
                            };
                            let text =
                                self.label(&format!("{}.{}", definition.name, variant.name), &json);
                            (json, text)
                        })
                        .collect(),
                ),
                _ => String::new(),
            },
            other => {
                let kind = match other {
                    Type::Date => "type=\"date\"",
                    Type::Month => "type=\"month\" placeholder=\"YYYY-MM\"",
                    Type::Integer => "type=\"number\" step=\"1\" inputmode=\"numeric\"",
                    Type::Money | Type::Decimal => "type=\"text\" inputmode=\"decimal\"",
                    Type::Quarter => "type=\"text\" placeholder=\"YYYY-Q1\"",
                    _ => "type=\"text\"",
                };
                format!(
                    "<input {kind} {attributes} value=\"{}\" autocomplete=\"off\">",
                    escape(shown)
                )
            }
        };
        self.out.push_str(&html);
    }
}

/// A value as its input shows it; a list of plain values as comma-separated values.
fn shown_value(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Array(items) => items
            .iter()
            .map(shown_value)
            .collect::<Vec<String>>()
            .join(", "),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// The case JSON of a posted form: every filled field whose name is a JSON pointer of the input
/// record, read by its type (booleans, whole numbers and integer enums as JSON numbers, money
/// and decimals as exact text). A value that is not of its type is kept as text, so the engine
/// reports it at its path. List items keep the order of their indexes.
pub fn case_of_form(policy: &Policy, fields: &[(String, String)]) -> Json {
    let mut root = Json::Object(Map::new());
    for (name, text) in fields {
        let text = text.trim();
        if text.is_empty() || !name.starts_with('/') {
            continue;
        }
        let segments: Vec<&str> = name[1..].split('/').collect();
        let ty = Type::Record(policy.input.record);
        if let Some(leaf) = leaf_value(policy, &ty, &segments, text) {
            insert(&mut root, &segments, leaf);
        }
    }
    finish(policy, &Type::Record(policy.input.record), root)
}

/// The JSON of a field's text, walking the type down the pointer; `None` for no such field.
fn leaf_value(policy: &Policy, ty: &Type, segments: &[&str], text: &str) -> Option<Json> {
    let Some((first, rest)) = segments.split_first() else {
        return Some(plain_json(policy, base(ty), text));
    };
    match base(ty) {
        Type::Record(id) => {
            let Some(TypeDef::Record(record)) = policy.types.get(*id as usize) else {
                return None;
            };
            let field = record.fields.iter().find(|field| field.name == *first)?;
            leaf_value(policy, &field.ty, rest, text)
        }
        Type::List(item) => {
            first.parse::<u32>().ok()?;
            leaf_value(policy, item, rest, text)
        }
        _ => None,
    }
}

fn plain_json(policy: &Policy, ty: &Type, text: &str) -> Json {
    match ty {
        Type::Bool => match text {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            other => Json::String(other.to_string()),
        },
        Type::Integer => integer_or_text(text),
        Type::Enum(id) => match policy.types.get(*id as usize) {
            Some(TypeDef::Enum(definition))
                if definition
                    .variants
                    .iter()
                    .all(|variant| matches!(variant.json, JsonLiteral::Integer(_))) =>
            {
                integer_or_text(text)
            }
            _ => Json::String(text.to_string()),
        },
        Type::List(item) => Json::Array(
            text.split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(|part| plain_json(policy, base(item), part))
                .collect(),
        ),
        _ => Json::String(text.to_string()),
    }
}

fn integer_or_text(text: &str) -> Json {
    text.parse::<i64>()
        .map_or_else(|_| Json::String(text.to_string()), Json::from)
}

/// Puts a leaf at its pointer, lists kept as objects keyed by index until [`finish`].
fn insert(node: &mut Json, segments: &[&str], leaf: Json) {
    let Some((first, rest)) = segments.split_first() else {
        *node = leaf;
        return;
    };
    if !node.is_object() {
        *node = Json::Object(Map::new());
    }
    if let Json::Object(map) = node {
        let child = map
            .entry((*first).to_string())
            .or_insert_with(|| Json::Object(Map::new()));
        insert(child, rest, leaf);
    }
}

/// Orders a record's keys as the record declares its fields and turns lists (objects keyed by
/// index) into arrays in the order of their indexes.
fn finish(policy: &Policy, ty: &Type, node: Json) -> Json {
    match (base(ty), node) {
        (Type::Record(id), Json::Object(mut map)) => {
            let Some(TypeDef::Record(record)) = policy.types.get(*id as usize) else {
                return Json::Object(map);
            };
            let mut ordered = Map::new();
            for field in &record.fields {
                if let Some(value) = map.remove(&field.name) {
                    ordered.insert(field.name.clone(), finish(policy, &field.ty, value));
                }
            }
            Json::Object(ordered)
        }
        (Type::List(item), Json::Object(map)) => {
            let mut items: Vec<(u32, Json)> = map
                .into_iter()
                .filter_map(|(index, value)| Some((index.parse().ok()?, value)))
                .collect();
            items.sort_by_key(|(index, _)| *index);
            Json::Array(
                items
                    .into_iter()
                    .map(|(_, value)| finish(policy, item, value))
                    .collect(),
            )
        }
        (_, other) => other,
    }
}
