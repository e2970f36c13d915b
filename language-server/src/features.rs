//! The answers built from the syntax of items: hover text, the outline, completion items.

use std::fmt::Write as _;

use ereje_compiler::ast::{self, Item, Span};
use ereje_compiler::navigation::{self, Target};
use ereje_compiler::parser::ParsedItem;
use ereje_compiler::symbols::{symbols, ItemRef};
use ereje_compiler::syntax::parse_file;
use ereje_runtime::value::Date;
use lsp_types::{
    CompletionItem, CompletionItemKind, DocumentSymbol, Hover, HoverContents, MarkupContent,
    MarkupKind, SymbolKind,
};

use crate::project::Place;
use crate::text;

/// An item's syntax and where it starts, with the text of its file.
struct Found<'a> {
    parsed: &'a ParsedItem,
    text: &'a str,
}

impl Found<'_> {
    /// The source text of an item-relative span.
    fn slice(&self, span: Span) -> &str {
        let start = (self.parsed.start + span.start) as usize;
        let end = (self.parsed.start + span.end) as usize;
        self.text.get(start..end).unwrap_or("")
    }

    /// The declaration from its name to its type: `age_of(m: Member): Integer`.
    fn heading(&self, ty: &ast::TypeRef) -> String {
        let start = (self.parsed.start + self.parsed.item.name().span.start) as usize;
        let end = (self.parsed.start + ty.span().end) as usize;
        collapse(self.text.get(start..end).unwrap_or(""))
    }
}

/// Spaces for the line breaks and runs of spaces of a multi-line declaration.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn find<'a>(place: &'a Place<'_>, item: &ItemRef) -> Option<Found<'a>> {
    let workspace = &place.project.workspace;
    let file = *workspace.source_files().get(item.file as usize)?;
    let parsed = parse_file(workspace.database(), file)
        .items
        .iter()
        .filter(|parsed| parsed.item.name().text == item.name)
        .nth(item.rank as usize)?;
    Some(Found {
        parsed,
        text: place.project.text_of(item.file),
    })
}

/// The hover of the name under the cursor: what it is, its type, and for a parameter its value on
/// `today` and every dated value with its source; for a rule its id, source and messages; for a
/// band table its bands.
pub fn hover(place: &Place<'_>, today: Date) -> Option<Hover> {
    let workspace = &place.project.workspace;
    let file = *workspace.source_files().get(place.file as usize)?;
    let occurrence = navigation::occurrence_at(
        workspace.database(),
        workspace.policy_set(),
        file,
        place.offset,
    )?;
    let markdown = match occurrence.target.as_ref()? {
        Target::Module(index) => {
            let module = symbols(workspace.database(), workspace.policy_set()).module_of(*index)?;
            format!(
                "**module** `{}` (`{}`), version {}",
                module.name, module.file, module.version
            )
        }
        Target::Value(item) | Target::Type(item) => describe(&find(place, item)?, today),
    };
    let text = place.project.text_of(place.file);
    let span = occurrence.span;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: markdown,
        }),
        range: Some(text::range(text, span.start as usize, span.end as usize)),
    })
}

fn describe(found: &Found<'_>, today: Date) -> String {
    let item = &found.parsed.item;
    let mut out = String::new();
    let word = item.kind_word();
    match item {
        Item::Parameter(parameter) => {
            let _ = writeln!(out, "**{word}** `{}`\n", found.heading(&parameter.ty));
            source_line(&mut out, parameter.source.as_deref());
            match &parameter.body {
                ast::ParameterBody::Values(values) => {
                    let expired = parameter.until.is_some_and(|(until, _)| today > until);
                    let current = values.iter().rev().find(|value| value.from <= today);
                    match current.filter(|_| !expired) {
                        Some(value) => {
                            let _ = writeln!(
                                out,
                                "Value on {today}: **{}**\n",
                                found.slice(value.value.span)
                            );
                        }
                        None => {
                            let _ = writeln!(out, "No value on {today}.\n");
                        }
                    }
                    for value in values {
                        let _ = write!(
                            out,
                            "- from {}: {}",
                            value.from,
                            found.slice(value.value.span)
                        );
                        if let Some(source) =
                            value.source.as_deref().or(parameter.source.as_deref())
                        {
                            let _ = write!(out, " — {source}");
                        }
                        out.push('\n');
                    }
                    if let Some((until, _)) = parameter.until {
                        let _ = writeln!(out, "- until {until}");
                    }
                }
                ast::ParameterBody::Derived(expr) => {
                    let _ = writeln!(out, "= `{}`", collapse(found.slice(expr.span)));
                }
            }
        }
        Item::Def(def) => {
            let _ = writeln!(out, "**{word}** `{}`\n", found.heading(&def.ty));
            source_line(&mut out, def.source.as_deref());
            for (language, message, _) in &def.messages {
                let _ = writeln!(out, "- {language}: {message}");
            }
        }
        Item::Bands(bands) => {
            let _ = writeln!(out, "**{word}** `{}`\n", found.heading(&bands.result));
            source_line(&mut out, bands.source.as_deref());
            for band in &bands.rows {
                let _ = writeln!(out, "- `{}`", collapse(found.slice(band.span)));
            }
        }
        Item::Table(table) => {
            let _ = writeln!(out, "**{word}** `{}`\n", table.name.text);
            source_line(&mut out, table.source.as_deref());
            let columns = |list: &[(ast::Name, ast::TypeRef)]| {
                list.iter()
                    .map(|(name, ty)| format!("{}: {}", name.text, found.slice(ty.span())))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                out,
                "key ({}), columns ({}), {} rows",
                columns(&table.keys),
                columns(&table.columns),
                table.rows.len()
            );
        }
        Item::Group(group) => {
            let _ = writeln!(out, "**{word}** `{}`\n", found.heading(&group.element));
            let members: Vec<&str> = group.members.iter().map(|m| m.text.as_str()).collect();
            let _ = writeln!(out, "members: {}", members.join(", "));
        }
        _ => {
            let first_line = found.text[found.parsed.start as usize..]
                .lines()
                .next()
                .unwrap_or("");
            let _ = writeln!(out, "**{word}** `{}`", first_line.trim());
        }
    }
    out.trim_end().to_string()
}

fn source_line(out: &mut String, source: Option<&str>) {
    if let Some(source) = source {
        let _ = writeln!(out, "Source: {source}\n");
    }
}

/// The outline of a module: one symbol per item.
pub fn document_symbols(place: &Place<'_>) -> Vec<DocumentSymbol> {
    let workspace = &place.project.workspace;
    let Some(file) = workspace.source_files().get(place.file as usize).copied() else {
        return Vec::new();
    };
    let text = place.project.text_of(place.file);
    let items = &parse_file(workspace.database(), file).items;
    let mut outline = Vec::new();
    for (index, parsed) in items.iter().enumerate() {
        let end = items
            .get(index + 1)
            .map(|next| next.start as usize)
            .unwrap_or(text.len());
        let item_text = text.get(parsed.start as usize..end).unwrap_or("");
        let end = parsed.start as usize + item_text.trim_end().len();
        let name = parsed.item.name();
        let selection = name.span.shifted(parsed.start);
        #[allow(deprecated)]
        outline.push(DocumentSymbol {
            name: name.text.clone(),
            detail: Some(parsed.item.kind_word().to_string()),
            kind: symbol_kind(&parsed.item),
            tags: None,
            deprecated: None,
            range: text::range(text, parsed.start as usize, end),
            selection_range: text::range(text, selection.start as usize, selection.end as usize),
            children: None,
        });
    }
    outline
}

fn symbol_kind(item: &Item) -> SymbolKind {
    match item {
        Item::Record(_) => SymbolKind::STRUCT,
        Item::Enum(_) => SymbolKind::ENUM,
        Item::Input(_) => SymbolKind::VARIABLE,
        Item::Parameter(_) => SymbolKind::CONSTANT,
        Item::Calendar(_) | Item::Table(_) | Item::Bands(_) => SymbolKind::OBJECT,
        Item::Def(def) if def.is_rule => SymbolKind::EVENT,
        Item::Def(def) if def.params.is_some() => SymbolKind::FUNCTION,
        Item::Def(_) => SymbolKind::VARIABLE,
        Item::Group(_) | Item::Extend(_) => SymbolKind::ARRAY,
        Item::Output(_) => SymbolKind::FIELD,
        Item::Exception(_) | Item::Check(_) => SymbolKind::OPERATOR,
        Item::Label(_) => SymbolKind::STRING,
    }
}

/// The names visible in the module, each with its kind and written type.
pub fn completion(place: &Place<'_>) -> Vec<CompletionItem> {
    let workspace = &place.project.workspace;
    let symbols = symbols(workspace.database(), workspace.policy_set());
    let mut items = Vec::new();
    for (name, symbol) in &symbols.values {
        if !symbols.visible(place.file, symbol.module) {
            continue;
        }
        let detail = find(place, &symbol.item).map(|found| {
            let item = &found.parsed.item;
            let word = item.kind_word();
            match item {
                Item::Parameter(parameter) => format!("{word} {}", found.heading(&parameter.ty)),
                Item::Def(def) => format!("{word} {}", found.heading(&def.ty)),
                Item::Bands(bands) => format!("{word} {}", found.heading(&bands.result)),
                _ => word.to_string(),
            }
        });
        items.push(CompletionItem {
            label: name.clone(),
            kind: Some(match symbol.kind {
                ereje_compiler::symbols::ValueKind::Function(_) => CompletionItemKind::FUNCTION,
                ereje_compiler::symbols::ValueKind::Rule(_) => CompletionItemKind::EVENT,
                ereje_compiler::symbols::ValueKind::Param(_)
                | ereje_compiler::symbols::ValueKind::DerivedParam(_) => {
                    CompletionItemKind::CONSTANT
                }
                _ => CompletionItemKind::VARIABLE,
            }),
            detail,
            ..CompletionItem::default()
        });
    }
    for (name, symbol) in &symbols.types {
        if symbols.visible(place.file, symbol.module) {
            items.push(CompletionItem {
                label: name.clone(),
                kind: Some(CompletionItemKind::STRUCT),
                detail: Some("type".to_string()),
                ..CompletionItem::default()
            });
        }
    }
    items
}
