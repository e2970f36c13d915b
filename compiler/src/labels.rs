//! `label` items: the words explanations show for names, resolved once the whole policy is
//! known, and the warnings for a shown name without words in a language the policy declares.
//!
//! A shown name is an output and each field of an output object, each band of a band table
//! whose bands the analyst named, each field of a record and each value of an enum the case
//! is read into, and anything that has a label in some language.

use std::collections::{BTreeMap, BTreeSet};

use ereje_runtime::ir::{self, Messages, Type, TypeDef};
use ereje_runtime::value::Value;

use crate::ast::Span;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

/// A `label` item as checked: where it is, what it names and its words.
pub struct LabelDecl<'a, R> {
    pub item: &'a R,
    pub target: &'a str,
    pub texts: &'a Messages,
}

/// The parts of the policy labels can name, each with the item that declares it (`R` places a
/// diagnostic).
pub struct Named<'a, R> {
    pub items: &'a [ir::Item],
    pub params: &'a [ir::Param],
    pub tables: &'a [ir::Table],
    pub calendars: &'a [ir::Calendar],
    pub outputs: Vec<(&'a ir::Output, &'a R)>,
    pub bands: Vec<(&'a ir::BandTable, &'a R)>,
    /// Every type, by id, with the item that declares it.
    pub types: Vec<(&'a TypeDef, &'a R)>,
    pub input_record: u32,
}

/// The labels by target, and the diagnostics (with the item each belongs to, its span taken at
/// the item's name).
pub fn resolve<'a, R: Clone>(
    named: &Named<'a, R>,
    decls: &[LabelDecl<'a, R>],
    languages: &[String],
) -> (BTreeMap<String, Messages>, Vec<(R, Diagnostic)>) {
    let mut labels = BTreeMap::new();
    let mut diagnostics = Vec::new();
    let known = known_targets(named);
    for decl in decls {
        if !known.contains_key(decl.target) && !is_text_value(named, decl.target) {
            diagnostics.push((
                decl.item.clone(),
                Diagnostic::error(
                    Code::NameUnknown,
                    format!("`{}` names nothing a label can be given to", decl.target),
                    Span::default(),
                    "unknown name",
                )
                .with_help(
                    "label a definition, rule, parameter, output or band table (`n`), a record \
                     field or enum value (`Member.birth_date`), an output's field \
                     (`asp.monthly_total`), a band by its value (`WELL_CATEGORY_BANDS.3`) or a \
                     legal source by its text (`label source \"…\"`)",
                ),
            ));
            continue;
        }
        if labels
            .insert(decl.target.to_string(), decl.texts.clone())
            .is_some()
        {
            diagnostics.push((
                decl.item.clone(),
                Diagnostic::error(
                    Code::NameDuplicate,
                    format!("`{}` is labelled twice", decl.target),
                    Span::default(),
                    "labelled again here",
                ),
            ));
        }
    }
    if languages.is_empty() {
        return (labels, diagnostics);
    }
    for (target, (item, shown)) in &known {
        let texts = labels.get(target);
        if !shown && texts.is_none() {
            continue;
        }
        // A legal source's own text is its words in the first declared language.
        let own_language = target
            .starts_with("source \"")
            .then(|| languages.first())
            .flatten();
        let missing: Vec<&str> = languages
            .iter()
            .filter(|lang| Some(*lang) != own_language)
            .map(String::as_str)
            .filter(|lang| texts.and_then(|texts| texts.get(lang)).is_none())
            .collect();
        if missing.is_empty() {
            continue;
        }
        let owner = decls
            .iter()
            .find(|decl| decl.target == target)
            .map_or(*item, |decl| decl.item);
        diagnostics.push((
            owner.clone(),
            Diagnostic::warning(
                Code::LabelMissing,
                format!("`{target}` has no label in {}", missing.join(", ")),
                Span::default(),
                "explanations show this name",
            )
            .with_help(format!(
                "add `label {target} {}`",
                missing
                    .iter()
                    .map(|lang| format!("{lang} \"…\""))
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        ));
    }
    (labels, diagnostics)
}

/// Whether `target` is a value of a Text field of an output (`asp.outcome.granted`): the words
/// for a value the policy computes as text.
fn is_text_value<R>(named: &Named<'_, R>, target: &str) -> bool {
    let mut parts = target.splitn(3, '.');
    let (Some(output), Some(field), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    named.outputs.iter().any(|(declared, _)| {
        declared.name == output
            && matches!(&declared.ty, Type::Object(fields)
                if fields.iter().any(|(name, ty)| **name == *field && matches!(ty, Type::Text)))
    })
}

/// Every name a label may target, with the item declaring it and whether explanations show it
/// (so that it needs a label in every declared language).
fn known_targets<'a, R>(named: &Named<'a, R>) -> BTreeMap<String, (&'a R, bool)> {
    let mut targets: BTreeMap<String, (&'a R, bool)> = BTreeMap::new();
    let mut owned: Vec<(String, &'a R, bool)> = Vec::new();
    let anchor = named
        .outputs
        .first()
        .map(|(_, item)| *item)
        .or_else(|| named.types.first().map(|(_, item)| *item));
    if let Some(anchor) = anchor {
        for item in named.items {
            owned.push((item.name.clone(), anchor, false));
        }
        for param in named.params {
            owned.push((param.name.clone(), anchor, false));
        }
        // Every legal source explanations may show (`label source "…"`), needing its words in
        // each declared language.
        for source in sources(named) {
            owned.push((ir::source_label_key(source), anchor, true));
        }
    }
    for (output, item) in &named.outputs {
        owned.push((output.name.clone(), item, true));
        object_fields(&output.name, &output.ty, &mut |path| {
            owned.push((path, item, true))
        });
    }
    for (table, item) in &named.bands {
        owned.push((table.name.clone(), item, false));
        for band in &table.bands {
            if let Some(value) = value_text(&band.value) {
                // A band without an analyst's label is labelled by its interval (`[1, 2)`).
                let named_by_analyst = !band.label.starts_with(['(', '[']);
                owned.push((format!("{}.{value}", table.name), item, named_by_analyst));
            }
        }
    }
    let reachable = reachable_types(named);
    for (id, (definition, item)) in named.types.iter().enumerate() {
        let shown = reachable.contains(&(id as u32));
        match definition {
            TypeDef::Record(record) => {
                owned.push((record.name.clone(), item, false));
                for field in &record.fields {
                    owned.push((format!("{}.{}", record.name, field.name), item, shown));
                }
            }
            TypeDef::Enum(enumeration) => {
                owned.push((enumeration.name.clone(), item, false));
                for variant in &enumeration.variants {
                    owned.push((
                        format!("{}.{}", enumeration.name, variant.name),
                        item,
                        shown,
                    ));
                }
            }
        }
    }
    for (name, item, shown) in owned {
        let entry = targets.entry(name).or_insert((item, shown));
        entry.1 |= shown;
    }
    targets
}

/// The legal sources of the policy: of its rules, definitions and their exceptions, parameters
/// and their values, tables, calendars and band tables.
fn sources<'a, R>(named: &Named<'a, R>) -> Vec<&'a str> {
    let mut found: Vec<&'a str> = Vec::new();
    for item in named.items {
        found.extend(item.source.as_deref());
        if let ir::Body::Exceptions { exceptions, .. } = &item.body {
            found.extend(exceptions.iter().filter_map(|e| e.source.as_deref()));
        }
    }
    for param in named.params {
        found.extend(param.source.as_deref());
        found.extend(param.values.iter().filter_map(|v| v.source.as_deref()));
    }
    found.extend(named.tables.iter().filter_map(|t| t.source.as_deref()));
    found.extend(named.calendars.iter().filter_map(|c| c.source.as_deref()));
    found.extend(named.bands.iter().filter_map(|(b, _)| b.source.as_deref()));
    found
}

/// The fields of an object type under `path`, and the fields of the objects among them.
fn object_fields(path: &str, ty: &Type, visit: &mut dyn FnMut(String)) {
    match ty {
        Type::Object(fields) => {
            for (field, field_ty) in fields {
                let field_path = format!("{path}.{field}");
                visit(field_path.clone());
                object_fields(&field_path, field_ty, visit);
            }
        }
        Type::Optional(inner) => object_fields(path, inner, visit),
        _ => {}
    }
}

/// The types the case is read into: the input record and every type its fields reach.
fn reachable_types<R>(named: &Named<'_, R>) -> BTreeSet<u32> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![named.input_record];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some((TypeDef::Record(record), _)) = named.types.get(id as usize) {
            for field in &record.fields {
                collect_type_ids(&field.ty, &mut stack);
            }
        }
    }
    seen
}

fn collect_type_ids(ty: &Type, out: &mut Vec<u32>) {
    match ty {
        Type::Record(id) | Type::Enum(id) => out.push(*id),
        Type::Optional(inner) | Type::List(inner) | Type::Map(inner) => {
            collect_type_ids(inner, out)
        }
        Type::Object(fields) => fields.iter().for_each(|(_, ty)| collect_type_ids(ty, out)),
        _ => {}
    }
}

/// A band's value as a label target writes it (`3`, `0.5`, `high`).
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Integer(number) => Some(number.to_string()),
        Value::Decimal(number) => Some(number.normalize().to_string()),
        Value::Text(text) => Some(text.to_string()),
        _ => None,
    }
}
