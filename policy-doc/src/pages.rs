//! The pages: the index, the versions, and one page per documented thing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use ereje_compiler::ast::Item as AstItem;
use ereje_compiler::{parser, render_human, PolicyVersions, VersionSpec};
use ereje_report::diff::{static_diff, Change, Printer};
use ereje_report::explanation::{format_date, format_money, message, Lang};
use ereje_runtime::ir::{Body, Bound, JsonLiteral, Messages, Policy, Type, TypeDef};
use ereje_runtime::value::Value;

use crate::html::{escape, formula, page, search_box, without_outer_brackets, Layout, SearchEntry};
use crate::labels::{labels, Labels};
use crate::model::{named_type, page_file, Graph, Target};
use crate::{DocError, Page, Site};

/// The order of the kinds on the index.
const INDEX_ORDER: [&str; 13] = [
    "rule",
    "output",
    "group",
    "parameter",
    "derived",
    "table",
    "bands",
    "calendar",
    "definition",
    "function",
    "check",
    "record",
    "enum",
];

/// The difference between one version and the next in the manifest.
struct VersionStep {
    old: String,
    new: String,
    changes: Vec<Change>,
}

/// Where a version's pages are and which pages it has, for the version switcher of every page.
struct Shelf {
    name: String,
    /// The directory of the version's pages, relative to the site's: empty for the documented
    /// version, `v-<name>/` for the others.
    directory: String,
    files: BTreeSet<String>,
}

/// The directory of a version's pages: `v-`, then its name with every character that is not an
/// ASCII letter, digit, `.`, `-` or `_` written as `~` and its hexadecimal code point.
fn version_directory(name: &str) -> String {
    let mut directory = String::from("v-");
    for character in name.chars() {
        if character.is_ascii_alphanumeric() || matches!(character, '.' | '-' | '_') {
            directory.push(character);
        } else {
            directory.push_str(&format!("~{:x}", u32::from(character)));
        }
    }
    directory.push('/');
    directory
}

/// Everything a page is written from.
struct Context<'a> {
    policy: &'a Policy,
    lang: Lang,
    labels: &'static Labels,
    graph: Graph,
    /// Each name's page, for links in expressions (items first, then parameters, tables, band
    /// tables, groups and calendars, when two kinds share a name).
    links: BTreeMap<String, String>,
    site_title: String,
    /// The key column names of each table, from the policy text (the IR keeps only their types).
    table_keys: BTreeMap<String, Vec<String>>,
    /// The version the pages describe.
    version: &'a VersionSpec,
    /// The version documented at the top of the site.
    documented: &'a VersionSpec,
    versions: &'a [VersionSpec],
    steps: &'a [VersionStep],
    shelves: &'a [Shelf],
    /// From the directory of the version's pages to the site's: `""` or `"../"`.
    root: &'static str,
}

/// The site of the policy set in `directory`, its words in `lang` (see [`crate::build`]): the
/// documented version (the last in force, else the first) at the top, every other version in a
/// directory of its own ([`version_directory`]), the versions page once at the top.
pub fn build(directory: &Path, lang: Lang) -> Result<Site, DocError> {
    let versions = PolicyVersions::load(directory)?;
    let documented = versions
        .latest_in_force()
        .or_else(|| versions.versions.first())
        .ok_or(DocError::NoVersion)?;
    let mut compiled: Vec<Arc<Policy>> = Vec::new();
    for version in &versions.versions {
        let compilation = versions.compile(version)?;
        let policy = match &compilation.policy {
            Some(policy) if compilation.error_count() == 0 => Arc::clone(policy),
            _ => {
                return Err(DocError::Policy {
                    version: version.name.clone(),
                    errors: compilation.error_count(),
                    report: render_human(&compilation.reports),
                })
            }
        };
        compiled.push(policy);
    }
    let steps: Vec<VersionStep> = versions
        .versions
        .iter()
        .zip(&compiled)
        .zip(versions.versions.iter().zip(&compiled).skip(1))
        .map(|((old, old_policy), (new, new_policy))| VersionStep {
            old: old.name.clone(),
            new: new.name.clone(),
            changes: static_diff(old_policy, new_policy),
        })
        .collect();
    let shelves: Vec<Shelf> = versions
        .versions
        .iter()
        .zip(&compiled)
        .map(|(version, policy)| Shelf {
            name: version.name.clone(),
            directory: if version.name == documented.name {
                String::new()
            } else {
                version_directory(&version.name)
            },
            files: Target::all(policy)
                .into_iter()
                .map(|target| target.file_name(policy))
                .collect(),
        })
        .collect();
    // The documented version first, so that the site's index is the first page.
    let mut order: Vec<usize> = (0..versions.versions.len()).collect();
    order.sort_by_key(|&position| {
        versions
            .versions
            .get(position)
            .is_none_or(|version| version.name != documented.name)
    });
    let labels = labels(lang);
    let mut pages = Vec::new();
    for position in order {
        let (Some(version), Some(policy), Some(shelf)) = (
            versions.versions.get(position),
            compiled.get(position),
            shelves.get(position),
        ) else {
            continue;
        };
        let workspace = versions.workspace(version)?;
        let mut table_keys = BTreeMap::new();
        for module in &versions.manifest_of(version).modules {
            let text = workspace.file_text(module).unwrap_or_default();
            for parsed in parser::parse_file(text).items {
                if let AstItem::Table(table) = parsed.item {
                    let keys = table.keys.iter().map(|(name, _)| name.text.clone());
                    table_keys.insert(table.name.text.clone(), keys.collect());
                }
            }
        }
        let mut links = BTreeMap::new();
        for target in Target::all(policy) {
            if matches!(target, Target::Output(_) | Target::Check(_)) {
                continue;
            }
            links
                .entry(target.name(policy).to_string())
                .or_insert_with(|| target.file_name(policy));
        }
        let context = Context {
            policy,
            lang,
            labels,
            graph: Graph::of(policy),
            links,
            site_title: format!("{} · {}", labels.site, policy.name),
            table_keys,
            version,
            documented,
            versions: &versions.versions,
            steps: &steps,
            shelves: &shelves,
            root: if shelf.directory.is_empty() {
                ""
            } else {
                "../"
            },
        };
        let mut index = index_page(&context);
        index.file = format!("{}{}", shelf.directory, index.file);
        pages.push(index);
        if shelf.directory.is_empty() {
            pages.push(versions_page(&context));
        }
        for target in Target::all(policy) {
            pages.push(Page {
                file: format!("{}{}", shelf.directory, target.file_name(policy)),
                html: target_page(&context, target),
            });
        }
    }
    Ok(Site { pages })
}

/// The version switcher of a page: every version, each a link to the page of the same name in
/// that version (or to its index when it has none), the page's own version in bold.
fn version_switch(context: &Context<'_>, file: &str) -> String {
    let mut out = format!("<nav class=\"switch\">{}: ", escape(context.labels.version));
    for shelf in context.shelves {
        if shelf.name == context.version.name {
            let _ = write!(out, "<b>{}</b>", escape(&shelf.name));
            continue;
        }
        let page = if shelf.files.contains(file) {
            file
        } else {
            "index.html"
        };
        let _ = write!(
            out,
            "<a href=\"{}{}{}\">{}</a>",
            context.root,
            escape(&shelf.directory),
            escape(page),
            escape(&shelf.name)
        );
    }
    out.push_str("</nav>\n");
    out
}

// ------------------------------------------------------------------ pieces

/// A value as people read it: money with grouped digits and `₸`, dates as `12.03.2025`, text
/// without quotes, the rest as the policy writes it.
fn value_text(context: &Context<'_>, value: &Value, ty: &Type) -> String {
    let plain = match ty {
        Type::Optional(inner) => inner.as_ref(),
        other => other,
    };
    match (value, plain) {
        (Value::Absent, _) => context.labels.nothing.to_string(),
        (Value::Decimal(number), Type::Money) => {
            format_money(&number.to_string(), context.labels.decimal_separator)
        }
        (Value::Date(date), _) => format_date(*date),
        (Value::Text(text), _) => text.to_string(),
        _ => Printer::new(context.policy).value(value, Some(ty)),
    }
}

fn type_text(context: &Context<'_>, ty: &Type) -> String {
    Printer::new(context.policy).type_name(ty)
}

/// The messages in every language given, the page's language first.
fn messages_html(context: &Context<'_>, messages: &Messages) -> String {
    let all = [
        (Lang::Ru, "ru", &messages.ru),
        (Lang::Kk, "kk", &messages.kk),
        (Lang::En, "en", &messages.en),
    ];
    let ordered = all
        .iter()
        .filter(|(lang, ..)| *lang == context.lang)
        .chain(all.iter().filter(|(lang, ..)| *lang != context.lang));
    let mut out = String::new();
    for (_, code, text) in ordered {
        if let Some(text) = text {
            let _ = write!(
                out,
                "<li lang=\"{code}\"><span class=\"lang\">{code}</span>{}</li>",
                escape(text)
            );
        }
    }
    if out.is_empty() {
        return String::new();
    }
    format!(
        "<h2>{}</h2>\n<ul class=\"messages\">{out}</ul>\n",
        escape(context.labels.messages)
    )
}

fn source_html(context: &Context<'_>, source: Option<&String>) -> String {
    let text = source.map_or_else(
        || format!("<i>{}</i>", escape(context.labels.no_source)),
        |source| escape(source),
    );
    format!(
        "<h2>{}</h2>\n<p class=\"source\">{text}</p>\n",
        escape(context.labels.source)
    )
}

/// The start of a table that scrolls sideways on a narrow screen, with its header row.
fn table_start(headers: &[&str]) -> String {
    let mut out = String::from("<div class=\"scroll\"><table><tr>");
    for header in headers {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    out.push_str("</tr>\n");
    out
}

fn link(context: &Context<'_>, target: Target) -> String {
    format!(
        "<a href=\"{}\">{}</a>",
        escape(&target.file_name(context.policy)),
        escape(target.name(context.policy))
    )
}

/// A list of links to targets, each with its kind and, for rules, its message.
fn links_html(context: &Context<'_>, targets: &[Target]) -> String {
    if targets.is_empty() {
        return format!("<p>{}</p>\n", escape(context.labels.nothing));
    }
    let mut out = String::from("<ul class=\"links\">");
    for target in targets {
        let _ = write!(
            out,
            "<li>{} <span class=\"kind\">{}</span>",
            link(context, *target),
            escape(context.labels.kind(target.kind(context.policy)))
        );
        if let Some(text) = summary(context, *target) {
            let _ = write!(out, " — {}", escape(&text));
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>\n");
    out
}

/// A rule's (or check's) message in the page's language, to say in a list what it is about.
fn summary(context: &Context<'_>, target: Target) -> Option<String> {
    let messages = match target {
        Target::Item(index) => &context.policy.items.get(index)?.messages,
        Target::Check(index) => &context.policy.checks.get(index)?.messages,
        _ => return None,
    };
    message(messages, context.lang).map(str::to_string)
}

/// The expression's text as the IR printer writes it, laid out and with links. `arguments`
/// are the function's parameters, which the text names and which are not the items or
/// parameters of the same name.
fn formula_html(context: &Context<'_>, text: &str, arguments: &[(String, Type)]) -> String {
    let laid_out = Layout::of(without_outer_brackets(text));
    let html = if arguments.is_empty() {
        formula(&laid_out, &context.links)
    } else {
        let mut links = context.links.clone();
        for (name, _) in arguments {
            links.remove(name);
        }
        formula(&laid_out, &links)
    };
    format!("<pre class=\"formula\">{html}</pre>\n")
}

/// What other versions of the manifest change about a target (from the static differences).
fn version_changes_html(context: &Context<'_>, target: Target) -> String {
    let kind = target.diff_kind(context.policy);
    let name = target.name(context.policy);
    let mut rows = String::new();
    for step in context.steps {
        for change in step
            .changes
            .iter()
            .filter(|change| change.kind == kind && change.name == name)
        {
            let details: Vec<String> = change.details.iter().map(|d| escape(d)).collect();
            let _ = write!(
                rows,
                "<tr class=\"{}\"><td>{} → {}</td><td>{}</td><td>{}</td></tr>",
                change.change,
                escape(&step.old),
                escape(&step.new),
                escape(change_word(context.labels, change)),
                details.join("<br>")
            );
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<h2>{}</h2>\n<div class=\"note scroll\"><table><tr><th>{}</th><th></th><th></th></tr>{rows}</table>\n<p><a href=\"{}versions.html\">{}</a></p></div>\n",
        escape(context.labels.changed_in_versions),
        escape(context.labels.versions),
        context.root,
        escape(context.labels.what_changed)
    )
}

fn uses_html(context: &Context<'_>, target: Target) -> String {
    let listed = |map: &BTreeMap<Target, std::collections::BTreeSet<Target>>| -> Vec<Target> {
        map.get(&target)
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default()
    };
    let mut out = String::new();
    let plain = matches!(
        target,
        Target::Param(_) | Target::Table(_) | Target::Bands(_) | Target::Calendar(_)
    );
    if !plain && target.kind(context.policy) != "enum" {
        let _ = write!(
            out,
            "<h2>{}</h2>\n{}",
            escape(context.labels.uses),
            links_html(context, &listed(&context.graph.uses))
        );
    }
    if !matches!(target, Target::Output(_) | Target::Check(_)) {
        let _ = write!(
            out,
            "<h2>{}</h2>\n{}",
            escape(context.labels.used_by),
            links_html(context, &listed(&context.graph.used_by))
        );
    }
    out
}

/// The heading of a target's page: its kind and its name.
fn heading(context: &Context<'_>, target: Target) -> String {
    format!(
        "<span class=\"kind\">{}</span>\n<h1 id=\"name\">{}</h1>\n",
        escape(context.labels.kind(target.kind(context.policy))),
        escape(target.name(context.policy))
    )
}

// ------------------------------------------------------------------ the pages

fn target_page(context: &Context<'_>, target: Target) -> String {
    let mut body = version_switch(context, &target.file_name(context.policy));
    body.push_str(&heading(context, target));
    body.push_str(&match target {
        Target::Item(index) => item_body(context, index),
        Target::Param(index) => param_body(context, index),
        Target::Table(index) => table_body(context, index),
        Target::Bands(index) => bands_body(context, index),
        Target::Calendar(index) => calendar_body(context, index),
        Target::Group(index) => group_body(context, index),
        Target::Output(index) => output_body(context, index),
        Target::Check(index) => check_body(context, index),
        Target::Type(index) => type_body(context, index),
    });
    body.push_str(&uses_html(context, target));
    body.push_str(&version_changes_html(context, target));
    page(
        context.labels,
        &context.site_title,
        target.name(context.policy),
        &body,
        context.root,
    )
}

fn item_body(context: &Context<'_>, index: usize) -> String {
    let policy = context.policy;
    let Some(item) = policy.items.get(index) else {
        return String::new();
    };
    let labels = context.labels;
    let mut out = String::new();
    let _ = write!(
        out,
        "<p class=\"meta\">{}: <code>{}</code>",
        escape(labels.type_),
        escape(&type_text(context, &item.ty))
    );
    if let Some(module) = policy.modules.get(item.module as usize) {
        let _ = write!(
            out,
            " · {}: <code>{}</code> ({}) · {} {}",
            escape(labels.module),
            escape(&module.name),
            escape(&module.file),
            escape(labels.in_force_from),
            format_date(module.in_force_from)
        );
        if let Some(amends) = &module.amends {
            let _ = write!(
                out,
                " · {} <code>{}</code> {} {}",
                escape(labels.amends),
                escape(&amends.module),
                escape(labels.member_from),
                format_date(amends.from)
            );
        }
    }
    out.push_str("</p>\n");
    out.push_str(&messages_html(context, &item.messages));
    if item.source.is_some() || item.kind == ereje_runtime::ir::ItemKind::Rule {
        out.push_str(&source_html(context, item.source.as_ref()));
    }
    let mut printer = Printer::for_item(policy, item);
    let arguments = item.params.as_slice();
    if !item.params.is_empty() {
        let arguments: Vec<String> = item
            .params
            .iter()
            .map(|(name, ty)| {
                format!(
                    "<code>{}: {}</code>",
                    escape(name),
                    escape(&type_text(context, ty))
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<p>{}: {}</p>",
            escape(labels.arguments),
            arguments.join(", ")
        );
    }
    let _ = writeln!(out, "<h2>{}</h2>", escape(labels.formula));
    match &item.body {
        Body::Expr(expr) => out.push_str(&formula_html(context, &printer.expr(expr), arguments)),
        Body::Exceptions { base, exceptions } => {
            let _ = write!(
                out,
                "<h3>{}</h3>\n{}",
                escape(labels.exceptions),
                table_start(&[labels.exception, labels.when, labels.then, labels.source])
            );
            for exception in exceptions {
                let condition = printer.expr(&exception.condition);
                let value = printer.expr(&exception.value);
                let label = match context.links.get(&exception.label) {
                    Some(page) => format!(
                        "<a href=\"{}\">{}</a>",
                        escape(page),
                        escape(&exception.label)
                    ),
                    None => format!("<b>{}</b>", escape(&exception.label)),
                };
                let _ = writeln!(
                    out,
                    "<tr><td>{label}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    formula_html(context, &condition, arguments),
                    formula_html(context, &value, arguments),
                    exception.source.as_deref().map(escape).unwrap_or_default()
                );
            }
            let _ = write!(
                out,
                "</table></div>\n<h3>{}</h3>\n{}",
                escape(labels.otherwise),
                formula_html(context, &printer.expr(base), arguments)
            );
        }
    }
    let groups: Vec<String> = policy
        .groups
        .iter()
        .enumerate()
        .flat_map(|(group_index, group)| {
            group
                .members
                .iter()
                .filter(|member| member.item as usize == index)
                .map(move |member| (group_index, member.active_from))
        })
        .map(|(group_index, from)| {
            let from = from.map_or_else(String::new, |date| {
                format!(" ({} {})", escape(labels.member_from), format_date(date))
            });
            format!(
                "<li>{}{from}</li>",
                link(context, Target::Group(group_index))
            )
        })
        .collect();
    // The items this one is an exception of (a rule that overrides a value under its id).
    let overridden: Vec<Target> = policy
        .items
        .iter()
        .enumerate()
        .filter(|(_, other)| match &other.body {
            Body::Exceptions { exceptions, .. } => exceptions
                .iter()
                .any(|exception| exception.label == item.name),
            Body::Expr(_) => false,
        })
        .map(|(other, _)| Target::Item(other))
        .collect();
    if !overridden.is_empty() {
        let _ = write!(
            out,
            "<h2>{}</h2>\n{}",
            escape(labels.exception_to),
            links_html(context, &overridden)
        );
    }
    if !groups.is_empty() {
        let _ = write!(
            out,
            "<h2>{}</h2>\n<ul class=\"links\">{}</ul>\n",
            escape(labels.groups),
            groups.concat()
        );
    }
    out
}

fn param_body(context: &Context<'_>, index: usize) -> String {
    let Some(param) = context.policy.params.get(index) else {
        return String::new();
    };
    let labels = context.labels;
    let mut out = format!(
        "<p class=\"meta\">{}: <code>{}</code></p>\n",
        escape(labels.type_),
        escape(&type_text(context, &param.ty))
    );
    out.push_str(&source_html(context, param.source.as_ref()));
    let _ = write!(
        out,
        "<h2>{}</h2>\n{}",
        escape(labels.values_by_date),
        table_start(&[labels.from, labels.until, labels.value, labels.source])
    );
    for (position, value) in param.values.iter().enumerate() {
        let until = match param.values.get(position + 1) {
            Some(next) => next.from.pred_opt().map(format_date),
            None => param.valid_until.map(format_date),
        }
        .unwrap_or_else(|| labels.open_ended.to_string());
        let source = value.source.as_ref().or(param.source.as_ref());
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            format_date(value.from),
            escape(&until),
            escape(&value_text(context, &value.value, &param.ty)),
            source.map(|source| escape(source)).unwrap_or_default()
        );
    }
    out.push_str("</table></div>\n");
    out
}

fn table_body(context: &Context<'_>, index: usize) -> String {
    let policy = context.policy;
    let Some(table) = policy.tables.get(index) else {
        return String::new();
    };
    let labels = context.labels;
    let mut out = source_html(context, table.source.as_ref());
    let key_names = context.table_keys.get(&table.name);
    let columns = match policy.types.get(table.row_type as usize) {
        Some(TypeDef::Record(record)) => record.fields.as_slice(),
        _ => &[],
    };
    let _ = write!(
        out,
        "<h2>{}</h2>\n<div class=\"scroll\"><table><tr>",
        escape(labels.rows)
    );
    for (position, key_type) in table.key_types.iter().enumerate() {
        let name = key_names
            .and_then(|names| names.get(position))
            .cloned()
            .unwrap_or_else(|| type_text(context, key_type));
        let _ = write!(out, "<th>{}</th>", escape(&name));
    }
    for column in columns {
        let _ = write!(out, "<th>{}</th>", escape(&column.name));
    }
    out.push_str("</tr>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for (value, ty) in row.key.iter().zip(&table.key_types) {
            let _ = write!(out, "<td>{}</td>", escape(&value_text(context, value, ty)));
        }
        if let Value::Record(record) = &row.value {
            for (value, column) in record.fields.iter().zip(columns) {
                let _ = write!(
                    out,
                    "<td class=\"num\">{}</td>",
                    escape(&value_text(context, value, &column.ty))
                );
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n");
    out
}

fn bound_text(context: &Context<'_>, bound: Option<&Bound>, lower: bool, ty: &Type) -> String {
    match (bound, lower) {
        (None, true) => "(−∞".to_string(),
        (None, false) => "+∞)".to_string(),
        (Some(bound), true) => format!(
            "{}{}",
            if bound.inclusive { '[' } else { '(' },
            value_text(context, &bound.value, ty)
        ),
        (Some(bound), false) => format!(
            "{}{}",
            value_text(context, &bound.value, ty),
            if bound.inclusive { ']' } else { ')' }
        ),
    }
}

fn bands_body(context: &Context<'_>, index: usize) -> String {
    let Some(bands) = context.policy.bands.get(index) else {
        return String::new();
    };
    let labels = context.labels;
    let mut out = format!(
        "<p class=\"meta\">{}: <code>{} → {}</code></p>\n",
        escape(labels.type_),
        escape(&type_text(context, &bands.domain)),
        escape(&type_text(context, &bands.result))
    );
    out.push_str(&source_html(context, bands.source.as_ref()));
    let _ = write!(
        out,
        "<h2>{}</h2>\n{}",
        escape(labels.rows),
        table_start(&[labels.interval, labels.value, labels.label])
    );
    for band in &bands.bands {
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}, {}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&bound_text(
                context,
                band.lower.as_ref(),
                true,
                &bands.domain
            )),
            escape(&bound_text(
                context,
                band.upper.as_ref(),
                false,
                &bands.domain
            )),
            escape(&value_text(context, &band.value, &bands.result)),
            escape(&band.label)
        );
    }
    out.push_str("</table></div>\n");
    out
}

fn calendar_body(context: &Context<'_>, index: usize) -> String {
    let Some(calendar) = context.policy.calendars.get(index) else {
        return String::new();
    };
    let labels = context.labels;
    let mut out = source_html(context, calendar.source.as_ref());
    let _ = write!(
        out,
        "<h2>{}</h2>\n{}",
        escape(labels.rows),
        table_start(&[labels.year, labels.non_working, labels.working])
    );
    let dates = |dates: &[ereje_runtime::value::Date]| -> String {
        if dates.is_empty() {
            return labels.nothing.to_string();
        }
        dates
            .iter()
            .map(|date| format_date(*date))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for year in &calendar.years {
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            year.year,
            dates(&year.non_working),
            dates(&year.working)
        );
    }
    out.push_str("</table></div>\n");
    out
}

fn group_body(context: &Context<'_>, index: usize) -> String {
    let Some(group) = context.policy.groups.get(index) else {
        return String::new();
    };
    let labels = context.labels;
    let mut out = format!(
        "<p class=\"meta\">{}: <code>{}</code></p>\n<h2>{}</h2>\n<ol class=\"links\">",
        escape(labels.type_),
        escape(&type_text(context, &group.element)),
        escape(labels.members)
    );
    for member in &group.members {
        let target = Target::Item(member.item as usize);
        let _ = write!(out, "<li>{}", link(context, target));
        if let Some(from) = member.active_from {
            let _ = write!(
                out,
                " ({} {})",
                escape(labels.member_from),
                format_date(from)
            );
        }
        if let Some(text) = summary(context, target) {
            let _ = write!(out, " — {}", escape(&text));
        }
        out.push_str("</li>");
    }
    out.push_str("</ol>\n");
    out
}

fn output_body(context: &Context<'_>, index: usize) -> String {
    let Some(output) = context.policy.outputs.get(index) else {
        return String::new();
    };
    let mut out = format!(
        "<p class=\"meta\">{}: <code>{}</code></p>\n",
        escape(context.labels.type_),
        escape(&type_text(context, &output.ty))
    );
    let _ = write!(
        out,
        "<h2>{}</h2>\n{}",
        escape(context.labels.formula),
        formula_html(
            context,
            &Printer::new(context.policy).expr(&output.expr),
            &[]
        )
    );
    out
}

fn check_body(context: &Context<'_>, index: usize) -> String {
    let Some(check) = context.policy.checks.get(index) else {
        return String::new();
    };
    let labels = context.labels;
    let mut out = format!(
        "<p class=\"meta\">{}: <code>{}</code></p>\n",
        escape(labels.error_code),
        escape(&check.code)
    );
    out.push_str(&messages_html(context, &check.messages));
    let mut printer = Printer::new(context.policy);
    if let Some(list) = &check.list {
        let _ = write!(
            out,
            "<h2>{}</h2>\n{}",
            escape(labels.checked_list),
            formula_html(context, &printer.expr(list), &[])
        );
    }
    if let Some(field) = &check.field {
        let _ = writeln!(
            out,
            "<p>{}: <code>{}</code></p>",
            escape(labels.field),
            escape(field)
        );
    }
    let _ = write!(
        out,
        "<h2>{}</h2>\n{}",
        escape(labels.condition),
        formula_html(context, &printer.expr(&check.condition), &[])
    );
    out
}

fn version_status(context: &Context<'_>, version: &VersionSpec) -> String {
    match version.in_force_from() {
        Some(from) => format!("{} {}", context.labels.in_force, format_date(from)),
        None => context.labels.proposed.to_string(),
    }
}

fn index_page(context: &Context<'_>) -> Page {
    let policy = context.policy;
    let labels = context.labels;
    let mut body = version_switch(context, "index.html");
    let _ = write!(
        body,
        "<h1>{}</h1>\n<p class=\"meta\">{}: {}</p>\n<p class=\"meta\">{}: <a href=\"{}versions.html#v-{}\"><b>{}</b></a> ({})</p>\n",
        escape(&context.site_title),
        escape(labels.publisher),
        escape(&policy.publisher),
        escape(if context.version.name == context.documented.name {
            labels.documented_version
        } else {
            labels.version
        }),
        context.root,
        escape(&context.version.name),
        escape(&context.version.name),
        escape(&version_status(context, context.version))
    );
    let targets = Target::all(policy);
    let entries: Vec<SearchEntry> = targets
        .iter()
        .map(|target| search_entry(context, *target))
        .collect();
    body.push_str(&search_box(labels, &entries));
    let _ = write!(
        body,
        "<h2>{}</h2>\n{}",
        escape(labels.modules),
        table_start(&[
            labels.module,
            labels.file,
            labels.in_force_from,
            labels.amends
        ])
    );
    for module in &policy.modules {
        let amends = module.amends.as_ref().map_or_else(String::new, |amends| {
            format!(
                "<code>{}</code> {} {}",
                escape(&amends.module),
                escape(labels.member_from),
                format_date(amends.from)
            )
        });
        let _ = writeln!(
            body,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>{amends}</td></tr>",
            escape(&module.name),
            escape(&module.file),
            format_date(module.in_force_from)
        );
    }
    body.push_str("</table></div>\n");
    for kind in INDEX_ORDER {
        let of_kind: Vec<Target> = targets
            .iter()
            .copied()
            .filter(|target| target.kind(policy) == kind)
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let _ = writeln!(
            body,
            "<h2 id=\"{kind}\">{} ({})</h2>",
            escape(labels.kinds_heading(kind)),
            of_kind.len()
        );
        if kind == "rule" || kind == "check" {
            body.push_str(&links_html(context, &of_kind));
        } else {
            body.push_str("<ul class=\"links columns\">");
            for target in of_kind {
                let _ = write!(body, "<li>{}</li>", link(context, target));
            }
            body.push_str("</ul>\n");
        }
    }
    Page {
        file: "index.html".to_string(),
        html: page(
            labels,
            &context.site_title,
            labels.contents,
            &body,
            context.root,
        ),
    }
}

fn search_entry(context: &Context<'_>, target: Target) -> SearchEntry {
    let policy = context.policy;
    let mut words = Vec::new();
    let mut push_messages = |messages: &Messages| {
        words.extend(
            [&messages.ru, &messages.kk, &messages.en]
                .into_iter()
                .flatten()
                .cloned(),
        );
    };
    let source = match target {
        Target::Item(index) => policy.items.get(index).and_then(|item| {
            push_messages(&item.messages);
            item.source.clone()
        }),
        Target::Check(index) => policy.checks.get(index).and_then(|check| {
            push_messages(&check.messages);
            None
        }),
        Target::Param(index) => policy.params.get(index).and_then(|p| p.source.clone()),
        Target::Table(index) => policy.tables.get(index).and_then(|t| t.source.clone()),
        Target::Bands(index) => policy.bands.get(index).and_then(|bands| {
            words.extend(bands.bands.iter().map(|band| band.label.clone()));
            bands.source.clone()
        }),
        Target::Calendar(index) => policy.calendars.get(index).and_then(|c| c.source.clone()),
        Target::Type(index) => {
            let lang = context.labels.html_lang;
            let type_name = target.name(policy);
            let names: Vec<&str> = match policy.types.get(index) {
                Some(TypeDef::Record(record)) => record
                    .fields
                    .iter()
                    .map(|field| field.name.as_str())
                    .collect(),
                Some(TypeDef::Enum(enumeration)) => enumeration
                    .variants
                    .iter()
                    .map(|variant| variant.name.as_str())
                    .collect(),
                None => Vec::new(),
            };
            for name in names {
                words.push(name.to_string());
                let key = format!("{type_name}.{name}");
                words.extend(policy.label(&key, lang).map(str::to_string));
            }
            None
        }
        Target::Group(_) | Target::Output(_) => None,
    };
    words.extend(source.clone());
    SearchEntry {
        kind: context.labels.kind(target.kind(policy)),
        name: target.name(policy).to_string(),
        page: target.file_name(policy),
        words: words.join(" "),
        summary: summary(context, target).or(source).unwrap_or_default(),
    }
}

fn versions_page(context: &Context<'_>) -> Page {
    let labels = context.labels;
    let mut body = format!(
        "<h1>{}</h1>\n{}",
        escape(labels.versions),
        table_start(&[labels.version, labels.status, labels.source, labels.modules])
    );
    for (version, shelf) in context.versions.iter().zip(context.shelves) {
        let marker = if version.name == context.documented.name {
            format!(
                " <a href=\"index.html\">({})</a>",
                escape(labels.documented_version)
            )
        } else {
            format!(
                " <a href=\"{}index.html\">({})</a>",
                escape(&shelf.directory),
                escape(labels.contents)
            )
        };
        let modules: Vec<String> = version
            .modules
            .iter()
            .map(|module| format!("<code>{}</code>", escape(module)))
            .collect();
        let _ = writeln!(
            body,
            "<tr><td id=\"v-{}\"><b>{}</b>{marker}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&version.name),
            escape(&version.name),
            escape(&version_status(context, version)),
            version.source.as_deref().map(escape).unwrap_or_default(),
            modules.join(", ")
        );
    }
    body.push_str("</table></div>\n");
    for step in context.steps {
        let _ = writeln!(
            body,
            "<h2>{}: {} → {}</h2>",
            escape(labels.what_changed),
            escape(&step.old),
            escape(&step.new)
        );
        if step.changes.is_empty() {
            let _ = writeln!(body, "<p>{}</p>", escape(labels.no_difference));
        } else {
            body.push_str(&changes_html(context, step));
        }
    }
    Page {
        file: "versions.html".to_string(),
        html: page(
            labels,
            &context.site_title,
            labels.versions,
            &body,
            context.root,
        ),
    }
}

/// The changes from one version to the next as a table in the page's language: each changed
/// thing with links to its page in the old version and in the new one (where it has one).
fn changes_html(context: &Context<'_>, step: &VersionStep) -> String {
    let labels = context.labels;
    let shelf = |name: &str| context.shelves.iter().find(|shelf| shelf.name == name);
    let (old, new) = (shelf(&step.old), shelf(&step.new));
    let mut out = table_start(&[
        labels.kind_column,
        labels.name,
        labels.change,
        labels.details,
    ]);
    for change in &step.changes {
        // The kind key of the thing's pages (`derived parameter` is `derived`).
        let kind = match change.kind {
            "derived parameter" => "derived",
            other => other,
        };
        let file = page_file(kind, &change.name);
        let mut pages = Vec::new();
        for (shelf, version) in [(old, &step.old), (new, &step.new)] {
            if let Some(shelf) = shelf.filter(|shelf| shelf.files.contains(&file)) {
                pages.push(format!(
                    "<a href=\"{}{}\">{}</a>",
                    escape(&shelf.directory),
                    escape(&file),
                    escape(version)
                ));
            }
        }
        let kind_text = match (labels.kind(kind), kind) {
            (_, "module") => labels.module,
            ("", _) => change.kind,
            (text, _) => text,
        };
        let details: Vec<String> = change.details.iter().map(|d| escape(d)).collect();
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td>{}</td><td><code>{}</code> {}</td><td>{}</td><td>{}</td></tr>",
            change.change,
            escape(kind_text),
            escape(&change.name),
            pages.join(" · "),
            escape(change_word(labels, change)),
            details.join("<br>")
        );
    }
    out.push_str("</table></div>\n");
    out
}

/// Whether a thing was added, removed or changed, in the page's language.
fn change_word(labels: &Labels, change: &Change) -> &'static str {
    match change.change {
        "added" => labels.added,
        "removed" => labels.removed,
        _ => labels.changed,
    }
}

/// A record's fields (type, whether a case must give it, its default, its label) or an
/// enumeration's values (as written in JSON, their labels), labels in the page's language.
fn type_body(context: &Context<'_>, index: usize) -> String {
    let policy = context.policy;
    let labels = context.labels;
    let lang = labels.html_lang;
    let label_of = |type_name: &str, name: &str| {
        policy
            .label(&format!("{type_name}.{name}"), lang)
            .map(escape)
            .unwrap_or_default()
    };
    let mut out = String::new();
    match policy.types.get(index) {
        Some(TypeDef::Record(record)) => {
            let _ = write!(
                out,
                "<h2>{}</h2>\n{}",
                escape(labels.field),
                table_start(&[
                    labels.name,
                    labels.type_,
                    labels.required,
                    labels.default_value,
                    labels.label
                ])
            );
            for field in &record.fields {
                let ty = match named_type(&field.ty) {
                    Some(target) => format!(
                        "<a href=\"{}\"><code>{}</code></a>",
                        escape(&target.file_name(policy)),
                        escape(&type_text(context, &field.ty))
                    ),
                    None => format!("<code>{}</code>", escape(&type_text(context, &field.ty))),
                };
                let default = field
                    .default
                    .as_ref()
                    .map(|value| escape(&value_text(context, value, &field.ty)))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "<tr><td><code>{}</code></td><td>{ty}</td><td>{}</td><td>{default}</td><td>{}</td></tr>",
                    escape(&field.name),
                    if field.required { "✓" } else { "" },
                    label_of(&record.name, &field.name)
                );
            }
        }
        Some(TypeDef::Enum(enumeration)) => {
            let _ = write!(
                out,
                "<h2>{}</h2>\n{}",
                escape(labels.value),
                table_start(&[labels.value, labels.json_value, labels.label])
            );
            for variant in &enumeration.variants {
                let json = match &variant.json {
                    JsonLiteral::Text(text) => format!("\"{text}\""),
                    JsonLiteral::Integer(number) => number.to_string(),
                };
                let _ = writeln!(
                    out,
                    "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                    escape(&variant.name),
                    escape(&json),
                    label_of(&enumeration.name, &variant.name)
                );
            }
        }
        None => return out,
    }
    out.push_str("</table></div>\n");
    out
}
