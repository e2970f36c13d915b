//! The compiler's salsa queries, from parsing a file to assembling the IR.
//!
//! parse_file (per file) → item_ast (per item) → symbols, type_table (per policy set) →
//! signature (per item) → check_item (per item) → compile_policy (per policy set).
//! `check_item` is the expensive step; it reads only its own item's syntax and the signatures of
//! the names it uses, so an edit inside one rule re-checks that rule alone.

use crate::codes::Code;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ereje_runtime::ir::{self, Body, Exception, Item as IrItem, ItemKind, Messages, Type};
use ereje_runtime::value::{Date, Value};
use rust_decimal::Decimal;

use crate::ast::{self, Item, ParameterBody, Span};
use crate::check::{assignable, Checker};
use crate::db::{Db, ItemKey, PolicySet};
use crate::diagnostic::Diagnostic;
use crate::symbols::{symbols, ItemRef, Symbols, ValueKind};
use crate::syntax::{item_ast, parse_file};
use crate::types::{literal_value, record_value, resolve_type, signature, type_table};

/// An item, checked and lowered to its IR form.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Lowered {
    #[default]
    Nothing,
    Item(IrItem),
    Param(ir::Param),
    Table(ir::Table),
    Calendar(ir::Calendar),
    Bands(ir::BandTable),
    Group(ir::Group),
    Extend {
        group: u32,
        members: Vec<u32>,
    },
    Output(ir::Output),
    Input(ir::InputDecl),
    /// An exception added to definition `target` from outside it.
    TargetedException {
        target: u32,
        exception: Exception,
    },
    Check(ir::CaseCheck),
    /// A `label` item: its target as written and its words; the target is resolved once the
    /// whole policy is known.
    Label {
        target: String,
        texts: Messages,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckedItem {
    pub lowered: Lowered,
    /// Item-relative spans.
    pub diagnostics: Vec<Diagnostic>,
    /// The names of the values the item refers to.
    pub uses: BTreeSet<String>,
}

#[salsa::tracked(returns(ref))]
pub fn check_item<'db>(db: &'db dyn Db, set: PolicySet, key: ItemKey<'db>) -> CheckedItem {
    db.record_execution(format!("check_item({})", key.name(db)));
    let Some(item) = item_ast(db, key).as_ref() else {
        return CheckedItem::default();
    };
    let symbols = symbols(db, set);
    let types = type_table(db, set);
    let module = set
        .files(db)
        .iter()
        .position(|f| *f == key.file(db))
        .unwrap_or(0) as u32;
    let mut checker = Checker::new(db, set, symbols, types, module);
    let lowered = match item {
        Item::Record(_) | Item::Enum(_) => Lowered::Nothing,
        Item::Def(def) => check_def(&mut checker, def, module),
        Item::Parameter(parameter) => check_parameter(&mut checker, parameter, module),
        Item::Table(table) => check_table(&mut checker, table),
        Item::Calendar(calendar) => check_calendar(&mut checker, calendar),
        Item::Bands(bands) => check_bands(&mut checker, bands),
        Item::Group(group) => check_group(&mut checker, group),
        Item::Extend(extend) => check_extend(&mut checker, extend),
        Item::Output(output) => {
            let (expr, ty) = checker.expr(&output.expr, None);
            match ty {
                Some(ty) => {
                    let payments = check_payments(&mut checker, output, &ty);
                    Lowered::Output(ir::Output {
                        name: output.name.text.clone(),
                        ty,
                        expr,
                        module,
                        payments,
                    })
                }
                None => Lowered::Nothing,
            }
        }
        Item::Label(label) => Lowered::Label {
            target: label.target.text.clone(),
            texts: collect_messages(
                &mut checker,
                &format!("label `{}`", label.target.text),
                &label.texts,
            ),
        },
        Item::Input(input) => check_input(&mut checker, input),
        Item::Exception(targeted) => check_targeted_exception(&mut checker, targeted, module),
        Item::Check(check) => check_case_check(&mut checker, check),
    };
    CheckedItem {
        lowered,
        diagnostics: checker.diagnostics,
        uses: checker.uses,
    }
}

/// The `message` clauses of a rule or check, one per language; a second one in a language is
/// an error.
fn collect_messages(
    checker: &mut Checker<'_>,
    owner: &str,
    clauses: &[(String, String, Span)],
) -> Messages {
    let mut messages = Messages::default();
    for (lang, text, span) in clauses {
        let slot = match lang.as_str() {
            "ru" => &mut messages.ru,
            "kk" => &mut messages.kk,
            _ => &mut messages.en,
        };
        if slot.is_some() {
            checker.report(Diagnostic::error(
                Code::RuleDuplicateMessage,
                format!("{owner} has two `{lang}` messages"),
                *span,
                "again here",
            ));
        }
        *slot = Some(text.clone());
    }
    messages
}

/// The `payments [...]` of an output: each must be a Money field (or a map of Money) of the
/// output's object.
fn check_payments(checker: &mut Checker<'_>, output: &ast::OutputItem, ty: &Type) -> Vec<String> {
    let mut payments = Vec::new();
    for field in &output.payments {
        let field_ty = match ty {
            Type::Object(fields) => fields
                .iter()
                .find(|(name, _)| **name == field.text)
                .map(|(_, ty)| ty),
            _ => None,
        };
        let is_money = |ty: &Type| matches!(ty, Type::Money);
        match field_ty {
            Some(found)
                if is_money(found) || matches!(found, Type::Map(element) if is_money(element)) =>
            {
                payments.push(field.text.clone());
            }
            Some(_) => checker.report(Diagnostic::error(
                Code::TypeMismatch,
                format!(
                    "payment `{}` of output `{}` is not Money",
                    field.text, output.name.text
                ),
                field.span,
                "a payment must be a Money field or a map of Money",
            )),
            None => checker.report(Diagnostic::error(
                Code::NameUnknownField,
                format!(
                    "output `{}` has no field `{}`",
                    output.name.text, field.text
                ),
                field.span,
                "not a field of the output",
            )),
        }
    }
    payments
}

fn messages_of(checker: &mut Checker<'_>, def: &ast::DefItem) -> Messages {
    let messages = collect_messages(checker, &format!("rule `{}`", def.name.text), &def.messages);
    if def.is_rule {
        let missing: Vec<&str> = [
            ("ru", &messages.ru),
            ("kk", &messages.kk),
            ("en", &messages.en),
        ]
        .iter()
        .filter(|(_, message)| message.is_none())
        .map(|(lang, _)| *lang)
        .collect();
        if !missing.is_empty() {
            checker.report(
                Diagnostic::warning(
                    Code::RuleMissingMessage,
                    format!(
                        "rule `{}` has no message in {}",
                        def.name.text,
                        missing.join(", ")
                    ),
                    def.name.span,
                    "caseworkers will see no explanation in that language",
                )
                .with_help("add `message ru \"…\"`, `message kk \"…\"` and `message en \"…\"`"),
            );
        }
    }
    messages
}

/// The `message not` clauses of a rule; a Bool rule must say both that it holds and that it
/// does not, in every language it has a message in, and only a Bool rule may say it does not.
fn messages_not_of(checker: &mut Checker<'_>, def: &ast::DefItem, messages: &Messages) -> Messages {
    let owner = format!("rule `{}` (`message not`)", def.name.text);
    let messages_not = collect_messages(checker, &owner, &def.messages_not);
    if !def.is_rule {
        return messages_not;
    }
    let is_bool = matches!(def.ty, ast::TypeRef::Named(ref name) if name.text == "Bool");
    if !is_bool {
        if let Some((_, _, span)) = def.messages_not.first() {
            checker.report(Diagnostic::warning(
                Code::RuleMissingMessage,
                format!(
                    "rule `{}` is not Bool: `message not` is never shown",
                    def.name.text
                ),
                *span,
                "only a rule that holds or not has a message for when it does not",
            ));
        }
        return messages_not;
    }
    let missing: Vec<&str> = ["ru", "kk", "en"]
        .into_iter()
        .filter(|lang| messages.get(lang).is_some() && messages_not.get(lang).is_none())
        .collect();
    if !missing.is_empty() {
        checker.report(
            Diagnostic::warning(
                Code::RuleMissingMessage,
                format!(
                    "rule `{}` does not say in {} what it means when it does not hold",
                    def.name.text,
                    missing.join(", ")
                ),
                def.name.span,
                "an explanation would have no words for a rule that does not hold",
            )
            .with_help("add `message not ru \"…\"` (and kk, en) next to the messages"),
        );
    }
    messages_not
}

fn check_def(checker: &mut Checker<'_>, def: &ast::DefItem, module: u32) -> Lowered {
    let declared = match resolve_type(checker.symbols, &def.ty) {
        Ok(ty) => Some(ty),
        Err(diagnostic) => {
            checker.report(diagnostic);
            None
        }
    };
    let mut params = Vec::new();
    for (name, written) in def.params.iter().flatten() {
        match resolve_type(checker.symbols, written) {
            Ok(ty) => {
                if params
                    .iter()
                    .any(|(existing, _): &(String, Type)| existing == &name.text)
                {
                    checker.report(Diagnostic::error(
                        Code::NameDuplicate,
                        format!("parameter `{}` is declared twice", name.text),
                        name.span,
                        "again here",
                    ));
                }
                checker.push_local(&name.text, ty.clone());
                params.push((name.text.clone(), ty));
            }
            Err(diagnostic) => checker.report(diagnostic),
        }
    }
    let messages = messages_of(checker, def);
    let messages_not = messages_not_of(checker, def, &messages);
    let Some(declared) = declared else {
        checker.expr(&def.body, None);
        return Lowered::Nothing;
    };
    let what = format!("the value of `{}`", def.name.text);
    let base = checker.check_against(&def.body, &declared, &what);
    let body = if def.exceptions.is_empty() {
        Body::Expr(base)
    } else {
        match check_exceptions(checker, def, &declared) {
            Some(exceptions) => Body::Exceptions { base, exceptions },
            None => return Lowered::Nothing,
        }
    };
    let kind = if def.is_rule {
        ItemKind::Rule
    } else if def.params.is_some() {
        ItemKind::Function
    } else {
        ItemKind::Definition
    };
    Lowered::Item(IrItem {
        name: def.name.text.clone(),
        kind,
        ty: declared,
        params,
        locals: checker.next_slot,
        body,
        source: def.source.clone(),
        messages,
        module,
        doc: None,
        messages_not,
        note: def.note.clone(),
    })
}

/// Checks the exceptions of a definition and orders them, highest priority first. Every two
/// exceptions must be ordered by `over` (directly or through others): two that could both apply
/// with no priority between them are an error, since the policy would not say which wins.
fn check_exceptions(
    checker: &mut Checker<'_>,
    def: &ast::DefItem,
    declared: &Type,
) -> Option<Vec<Exception>> {
    let labels: Vec<&str> = def
        .exceptions
        .iter()
        .map(|e| e.label.text.as_str())
        .collect();
    let count = def.exceptions.len();
    let mut beats = vec![vec![false; count]; count];
    let mut failed = false;
    for (index, exception) in def.exceptions.iter().enumerate() {
        if labels[..index].contains(&exception.label.text.as_str()) {
            checker.report(Diagnostic::error(
                Code::NameDuplicate,
                format!("exception `{}` is declared twice", exception.label.text),
                exception.label.span,
                "again here",
            ));
            failed = true;
        }
        for over in &exception.over {
            match labels.iter().position(|label| *label == over.text) {
                Some(other) if other != index => beats[index][other] = true,
                Some(_) => {
                    checker.report(Diagnostic::error(
                        Code::ExceptionSelf,
                        format!("exception `{}` cannot be over itself", over.text),
                        over.span,
                        "itself",
                    ));
                    failed = true;
                }
                None => {
                    let mut diagnostic = Diagnostic::error(
                        Code::NameUnknown,
                        format!("`{}` is not an exception of `{}`", over.text, def.name.text),
                        over.span,
                        "no such exception",
                    );
                    if let Some(suggestion) =
                        crate::diagnostic::closest_name(&over.text, labels.iter().copied())
                    {
                        diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
                    }
                    checker.report(diagnostic);
                    failed = true;
                }
            }
        }
    }
    // Transitive closure of priority.
    for middle in 0..count {
        for from in 0..count {
            for to in 0..count {
                if beats[from][middle] && beats[middle][to] {
                    beats[from][to] = true;
                }
            }
        }
    }
    for index in 0..count {
        if beats[index][index] {
            checker.report(Diagnostic::error(
                Code::ExceptionCycle,
                format!(
                    "the priorities of `{}`'s exceptions form a cycle through `{}`",
                    def.name.text, labels[index]
                ),
                def.exceptions[index].label.span,
                "in a cycle",
            ));
            return None;
        }
    }
    for first in 0..count {
        for second in first + 1..count {
            if !beats[first][second] && !beats[second][first] {
                checker.report(
                    Diagnostic::error(
                        Code::ExceptionAmbiguous,
                        format!(
                            "exceptions `{}` and `{}` of `{}` can both apply, and neither has priority",
                            labels[first], labels[second], def.name.text
                        ),
                        def.exceptions[second].label.span,
                        "no priority over the other",
                    )
                    .with_label(def.exceptions[first].label.span, "this one")
                    .with_help(format!(
                        "write `exception {} over {} …` (or the reverse) to say which wins",
                        labels[second], labels[first]
                    )),
                );
                failed = true;
            }
        }
    }
    let mut lowered = Vec::with_capacity(count);
    for exception in &def.exceptions {
        let condition = checker.check_against(
            &exception.condition,
            &Type::Bool,
            "an exception's condition",
        );
        let value = checker.check_against(
            &exception.value,
            declared,
            &format!("the value of exception `{}`", exception.label.text),
        );
        lowered.push((
            exception.label.text.clone(),
            condition,
            value,
            exception.source.clone(),
        ));
    }
    if failed {
        return None;
    }
    // Highest priority first: an exception comes before every exception it is over.
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|index| std::cmp::Reverse(beats[*index].iter().filter(|b| **b).count()));
    let mut by_index: Vec<Option<LoweredException>> = lowered.into_iter().map(Some).collect();
    Some(
        order
            .into_iter()
            .filter_map(|index| by_index[index].take())
            .map(|(label, condition, value, source)| Exception {
                label,
                condition,
                value,
                source,
            })
            .collect(),
    )
}

fn module_start(checker: &Checker<'_>, module: u32) -> Option<(String, Date)> {
    let info = checker.symbols.module_of(module)?;
    Some((info.name.clone(), info.in_force_from?))
}

fn check_parameter(
    checker: &mut Checker<'_>,
    parameter: &ast::ParameterItem,
    module: u32,
) -> Lowered {
    let ty = match resolve_type(checker.symbols, &parameter.ty) {
        Ok(ty) => ty,
        Err(diagnostic) => {
            checker.report(diagnostic);
            return Lowered::Nothing;
        }
    };
    match &parameter.body {
        ParameterBody::Derived(expr) => {
            let what = format!("the value of parameter `{}`", parameter.name.text);
            let body = checker.check_against(expr, &ty, &what);
            Lowered::Item(IrItem {
                name: parameter.name.text.clone(),
                kind: ItemKind::DerivedParam,
                ty,
                params: Vec::new(),
                locals: checker.next_slot,
                body: Body::Expr(body),
                source: parameter.source.clone(),
                messages: Messages::default(),
                module,
                doc: None,
                messages_not: Messages::default(),
                note: parameter.note.clone(),
            })
        }
        ParameterBody::Values(values) => {
            let mut lowered: Vec<ir::ParamValue> = Vec::with_capacity(values.len());
            let mut previous: Option<(Date, Span)> = None;
            for value in values {
                if let Some((previous_date, previous_span)) = previous {
                    if value.from <= previous_date {
                        checker.report(
                            Diagnostic::error(
                                Code::ParameterOrder,
                                format!(
                                    "the values of `{}` must be in date order: {} does not come after {}",
                                    parameter.name.text, value.from, previous_date
                                ),
                                value.span,
                                "out of order",
                            )
                            .with_label(previous_span, "the value before"),
                        );
                    }
                }
                previous = Some((value.from, value.span));
                match literal_value(checker.types, &value.value, &ty) {
                    Ok(converted) => lowered.push(ir::ParamValue {
                        from: value.from,
                        value: converted,
                        source: value.source.clone(),
                    }),
                    Err(diagnostic) => checker.report(diagnostic),
                }
            }
            if let (Some((module_name, in_force)), Some(first)) =
                (module_start(checker, module), values.first())
            {
                if first.from > in_force {
                    checker.report(
                        Diagnostic::error(
                            Code::ParameterNoValue,
                            format!(
                                "parameter `{}` has no value on {in_force}, the date module `{module_name}` is in force from",
                                parameter.name.text
                            ),
                            first.span,
                            format!("the first value applies from {}", first.from),
                        )
                        .with_help(format!("add a value `from {in_force} = …`, or change the module's `in force from`")),
                    );
                }
            }
            if values.is_empty() {
                checker.report(Diagnostic::error(
                    Code::ParameterNoValue,
                    format!("parameter `{}` has no value", parameter.name.text),
                    parameter.name.span,
                    "no values",
                ));
            }
            let last_of_each_year = parameter
                .each_year
                .and_then(|span| check_each_year(checker, parameter, values, span));
            let valid_until = match (&parameter.until, values.last()) {
                (Some((until, span)), Some(last)) if *until < last.from => {
                    checker.report(
                        Diagnostic::error(
                            Code::ParameterOrder,
                            format!(
                                "`{}` ends on {until}, before its last value applies ({})",
                                parameter.name.text, last.from
                            ),
                            *span,
                            "ends too early",
                        )
                        .with_label(last.span, "the last value"),
                    );
                    None
                }
                (Some((until, _)), _) => Some(*until),
                (None, _) => last_of_each_year,
            };
            Lowered::Param(ir::Param {
                name: parameter.name.text.clone(),
                ty,
                source: parameter.source.clone(),
                values: lowered,
                valid_until,
                note: parameter.note.clone(),
            })
        }
    }
}

/// `each year`: every year from the first value's to the last value's must have a value from its
/// 1 January (a missing year is an error, not the previous year's value used silently). Gives
/// the last day a value applies, 31 December of the last year.
fn check_each_year(
    checker: &mut Checker<'_>,
    parameter: &ast::ParameterItem,
    values: &[ast::ParameterValue],
    span: Span,
) -> Option<Date> {
    let first = values.first()?;
    let last = values.last()?;
    use chrono::Datelike as _;
    for year in first.from.year()..=last.from.year() {
        let starts = Date::from_ymd_opt(year, 1, 1);
        if !values.iter().any(|value| Some(value.from) == starts) {
            let near = values
                .iter()
                .find(|value| value.from.year() >= year)
                .map_or(span, |value| value.span);
            checker.report(
                Diagnostic::error(
                    Code::ParameterNoValue,
                    format!(
                        "parameter `{}` must have a value each year and has none from {year}-01-01",
                        parameter.name.text
                    ),
                    near,
                    format!("no value for {year}"),
                )
                .with_label(span, "declared here to have a value each year")
                .with_help(format!("add `from {year}-01-01 = …` with the {year} value")),
            );
        }
    }
    Date::from_ymd_opt(last.from.year(), 12, 31)
}

fn check_table(checker: &mut Checker<'_>, table: &ast::TableItem) -> Lowered {
    let Some(row_type) = checker.symbols.types.get(&table.name.text).map(|s| s.id) else {
        return Lowered::Nothing;
    };
    let mut key_types = Vec::new();
    for (_, written) in &table.keys {
        match resolve_type(checker.symbols, written) {
            Ok(ty) => key_types.push(ty),
            Err(diagnostic) => {
                checker.report(diagnostic);
                return Lowered::Nothing;
            }
        }
    }
    let column_types: Vec<Type> = checker
        .types
        .record(row_type)
        .map(|record| record.fields.iter().map(|f| f.ty.clone()).collect())
        .unwrap_or_default();
    let mut rows: Vec<ir::TableRow> = Vec::new();
    let mut seen: Vec<(Vec<Value>, Span)> = Vec::new();
    for row in &table.rows {
        if row.key.len() != key_types.len() || row.cells.len() != column_types.len() {
            checker.report(Diagnostic::error(
                Code::TableShape,
                format!(
                    "a row of `{}` must have {} key(s) and {} column(s); this one has {} and {}",
                    table.name.text,
                    key_types.len(),
                    column_types.len(),
                    row.key.len(),
                    row.cells.len()
                ),
                row.span,
                "wrong number of values",
            ));
            continue;
        }
        let mut key = Vec::new();
        let mut ok = true;
        for (literal, ty) in row.key.iter().zip(&key_types) {
            match literal_value(checker.types, literal, ty) {
                Ok(value) => key.push(value),
                Err(diagnostic) => {
                    checker.report(diagnostic);
                    ok = false;
                }
            }
        }
        let mut cells = Vec::new();
        for (cell, ty) in row.cells.iter().zip(&column_types) {
            match cell {
                None if matches!(ty, Type::Optional(_)) => cells.push(Value::Absent),
                None => {
                    checker.report(Diagnostic::error(
                        Code::TableBlank,
                        format!("a column of type {} cannot be blank", checker.show(ty)),
                        row.span,
                        "blank cell",
                    ));
                    ok = false;
                }
                Some(literal) => match literal_value(checker.types, literal, ty) {
                    Ok(value) => cells.push(value),
                    Err(diagnostic) => {
                        checker.report(diagnostic);
                        ok = false;
                    }
                },
            }
        }
        if !ok {
            continue;
        }
        if let Some((_, first_span)) = seen.iter().find(|(existing, _)| *existing == key) {
            checker.report(
                Diagnostic::error(
                    Code::TableDuplicateRow,
                    format!("table `{}` has two rows for the same key", table.name.text),
                    row.span,
                    "second row",
                )
                .with_label(*first_span, "first row"),
            );
            continue;
        }
        seen.push((key.clone(), row.span));
        rows.push(ir::TableRow {
            key,
            value: record_value(cells),
        });
    }
    Lowered::Table(ir::Table {
        name: table.name.text.clone(),
        source: table.source.clone(),
        key_types,
        row_type,
        rows,
    })
}

fn check_calendar(checker: &mut Checker<'_>, calendar: &ast::CalendarItem) -> Lowered {
    use chrono::Datelike;
    let mut years: Vec<ir::CalendarYear> = Vec::new();
    for year in &calendar.years {
        if years.iter().any(|y| y.year == year.year) {
            checker.report(Diagnostic::error(
                Code::CalendarDuplicateYear,
                format!(
                    "calendar `{}` lists year {} twice",
                    calendar.name.text, year.year
                ),
                year.span,
                "again here",
            ));
            continue;
        }
        let mut non_working = Vec::new();
        for (date, span) in &year.non_working {
            if date.year() != year.year {
                checker.report(Diagnostic::error(
                    Code::CalendarWrongYear,
                    format!("{date} is listed under year {}", year.year),
                    *span,
                    "another year",
                ));
            } else if date.weekday().number_from_monday() > 5 {
                checker.report(
                    Diagnostic::error(
                        Code::CalendarWeekendHoliday,
                        format!("{date} is a {}: weekends are non-working already", weekday_name(*date)),
                        *span,
                        "a weekend day",
                    )
                    .with_help("list only weekdays under `non_working`; a holiday that falls on a weekend moves to the next working day by decree, list that day"),
                );
            } else {
                non_working.push(*date);
            }
        }
        let mut working = Vec::new();
        for (date, span) in &year.working {
            if date.year() != year.year {
                checker.report(Diagnostic::error(
                    Code::CalendarWrongYear,
                    format!("{date} is listed under year {}", year.year),
                    *span,
                    "another year",
                ));
            } else if date.weekday().number_from_monday() <= 5 {
                checker.report(Diagnostic::error(
                    Code::CalendarWeekdayWorking,
                    format!(
                        "{date} is a {}: weekdays are working days already",
                        weekday_name(*date)
                    ),
                    *span,
                    "a weekday",
                ));
            } else {
                working.push(*date);
            }
        }
        non_working.sort();
        non_working.dedup();
        working.sort();
        working.dedup();
        years.push(ir::CalendarYear {
            year: year.year,
            non_working,
            working,
        });
    }
    years.sort_by_key(|y| y.year);
    Lowered::Calendar(ir::Calendar {
        name: calendar.name.text.clone(),
        source: calendar.source.clone(),
        years,
    })
}

/// A band bound: `None` is infinity; the flag says whether the bound is included.
type BandBound = Option<(Decimal, bool)>;

/// An exception's label, condition, value and source, before ordering.
type LoweredException = (String, ir::Expr, ir::Expr, Option<String>);

fn show_interval(lower: Option<(Decimal, bool)>, upper: Option<(Decimal, bool)>) -> String {
    let left = match lower {
        None => "(-inf".to_string(),
        Some((value, true)) => format!("[{value}"),
        Some((value, false)) => format!("({value}"),
    };
    let right = match upper {
        None => "+inf)".to_string(),
        Some((value, true)) => format!("{value}]"),
        Some((value, false)) => format!("{value})"),
    };
    format!("{left}, {right}")
}

/// Checks that the bands cover every value of the domain exactly once; in an Integer domain,
/// `[0, 4]` and `[5, 9]` leave no gap.
fn check_bands(checker: &mut Checker<'_>, bands: &ast::BandsItem) -> Lowered {
    let (domain, result) = match (
        resolve_type(checker.symbols, &bands.domain),
        resolve_type(checker.symbols, &bands.result),
    ) {
        (Ok(domain), Ok(result)) => (domain, result),
        (Err(diagnostic), _) | (_, Err(diagnostic)) => {
            checker.report(diagnostic);
            return Lowered::Nothing;
        }
    };
    if !matches!(domain, Type::Integer | Type::Decimal | Type::Money) {
        checker.report(Diagnostic::error(
            Code::BandsDomain,
            format!("bands are over numbers, not {}", checker.show(&domain)),
            bands.domain.span(),
            "not a number type",
        ));
        return Lowered::Nothing;
    }
    let integer = domain == Type::Integer;
    // Normalise to inclusive integer bounds in an Integer domain.
    let normal = |bound: Option<(Decimal, bool)>, is_lower: bool| -> Option<(Decimal, bool)> {
        let (value, inclusive) = bound?;
        if !integer {
            return Some((value, inclusive));
        }
        Some(if is_lower {
            let ceiling = value.ceil();
            if inclusive || ceiling != value {
                (ceiling, true)
            } else {
                (value + Decimal::ONE, true)
            }
        } else {
            let floor = value.floor();
            if inclusive || floor != value {
                (floor, true)
            } else {
                (value - Decimal::ONE, true)
            }
        })
    };
    let mut rows: Vec<(usize, BandBound, BandBound)> = Vec::new();
    let mut failed = false;
    for (index, band) in bands.rows.iter().enumerate() {
        let (lower, upper) = (normal(band.lower, true), normal(band.upper, false));
        if let (Some((low, low_inclusive)), Some((high, high_inclusive))) = (lower, upper) {
            if low > high || (low == high && !(low_inclusive && high_inclusive)) {
                checker.report(Diagnostic::error(
                    Code::BandsEmpty,
                    format!(
                        "the band {} holds no value",
                        show_interval(band.lower, band.upper)
                    ),
                    band.interval_span,
                    "empty band",
                ));
                failed = true;
                continue;
            }
        }
        rows.push((index, lower, upper));
    }
    // Sort by lower bound (minus infinity first).
    rows.sort_by(|a, b| match (a.1, b.1) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, _) => std::cmp::Ordering::Less,
        (_, None) => std::cmp::Ordering::Greater,
        (Some((x, xi)), Some((y, yi))) => x.cmp(&y).then(yi.cmp(&xi)),
    });
    let written = |index: usize| {
        let band = &bands.rows[index];
        (show_interval(band.lower, band.upper), band.interval_span)
    };
    if let Some((first, Some((value, inclusive)), _)) = rows.first() {
        {
            let (shown, span) = written(*first);
            let gap = if *inclusive {
                format!("(-inf, {value})")
            } else {
                format!("(-inf, {value}]")
            };
            checker.report(
                Diagnostic::error(
                    Code::BandsGap,
                    format!(
                        "the bands of `{}` leave a gap: values in {gap} fall in no band",
                        bands.name.text
                    ),
                    span,
                    format!("the lowest band is {shown}"),
                )
                .with_help("start the lowest band at `-inf`"),
            );
            failed = true;
        }
    }
    if let Some((last, _, Some((value, inclusive)))) = rows.last() {
        {
            let (shown, span) = written(*last);
            let gap = if *inclusive {
                format!("({value}, +inf)")
            } else {
                format!("[{value}, +inf)")
            };
            checker.report(
                Diagnostic::error(
                    Code::BandsGap,
                    format!(
                        "the bands of `{}` leave a gap: values in {gap} fall in no band",
                        bands.name.text
                    ),
                    span,
                    format!("the highest band is {shown}"),
                )
                .with_help("end the highest band at `+inf`"),
            );
            failed = true;
        }
    }
    for pair in rows.windows(2) {
        let (previous, _, previous_upper) = pair[0];
        let (current, current_lower, _) = pair[1];
        let (previous_shown, previous_span) = written(previous);
        let (current_shown, current_span) = written(current);
        let Some((high, high_inclusive)) = previous_upper else {
            checker.report(
                Diagnostic::error(
                    Code::BandsOverlap,
                    format!(
                        "bands {previous_shown} and {current_shown} of `{}` overlap",
                        bands.name.text
                    ),
                    current_span,
                    "overlaps",
                )
                .with_label(previous_span, "this band reaches +inf"),
            );
            failed = true;
            continue;
        };
        let Some((low, low_inclusive)) = current_lower else {
            continue;
        };
        let touching = if integer {
            low == high + Decimal::ONE
        } else {
            low == high && (high_inclusive != low_inclusive)
        };
        if touching {
            continue;
        }
        let overlaps = low < high
            || (low == high && high_inclusive && low_inclusive)
            || (integer && low <= high);
        if overlaps {
            let common = show_interval(Some((low, low_inclusive)), Some((high, high_inclusive)));
            checker.report(
                Diagnostic::error(
                    Code::BandsOverlap,
                    format!(
                        "bands {previous_shown} and {current_shown} of `{}` overlap: values in {common} fall in both",
                        bands.name.text
                    ),
                    current_span,
                    "overlaps the band before",
                )
                .with_label(previous_span, "this band"),
            );
        } else {
            let gap = if integer {
                show_interval(
                    Some((high + Decimal::ONE, true)),
                    Some((low - Decimal::ONE, true)),
                )
            } else {
                show_interval(Some((high, !high_inclusive)), Some((low, !low_inclusive)))
            };
            checker.report(
                Diagnostic::error(
                    Code::BandsGap,
                    format!(
                        "the bands of `{}` leave a gap: values in {gap} fall in no band",
                        bands.name.text
                    ),
                    current_span,
                    "the band after the gap",
                )
                .with_label(previous_span, "the band before the gap"),
            );
        }
        failed = true;
    }
    let mut lowered = Vec::with_capacity(rows.len());
    let bound_value = |value: Decimal| {
        if integer {
            Value::Integer(i64::try_from(value).unwrap_or(0))
        } else {
            Value::Decimal(value)
        }
    };
    for (index, lower, upper) in &rows {
        let band = &bands.rows[*index];
        match literal_value(checker.types, &band.value, &result) {
            Ok(value) => lowered.push(ir::Band {
                lower: lower.map(|(value, inclusive)| ir::Bound {
                    value: bound_value(value),
                    inclusive,
                }),
                upper: upper.map(|(value, inclusive)| ir::Bound {
                    value: bound_value(value),
                    inclusive,
                }),
                value,
                label: band
                    .label
                    .clone()
                    .unwrap_or_else(|| show_interval(band.lower, band.upper)),
            }),
            Err(diagnostic) => {
                checker.report(diagnostic);
                failed = true;
            }
        }
    }
    if failed {
        return Lowered::Nothing;
    }
    Lowered::Bands(ir::BandTable {
        name: bands.name.text.clone(),
        source: bands.source.clone(),
        domain,
        result,
        bands: lowered,
    })
}

fn group_members(
    checker: &mut Checker<'_>,
    members: &[ast::Name],
    element: &Type,
    group: &str,
) -> Vec<u32> {
    let mut ids = Vec::new();
    for member in members {
        let expr = ast::Expr {
            kind: ast::ExprKind::RuleRef(member.text.clone()),
            span: member.span,
        };
        let (lowered, ty) = checker.expr(&expr, None);
        let ir::Expr::Item(id) = lowered else {
            continue;
        };
        if let Some(ty) = ty {
            if !assignable(&ty, element) {
                let (a, b) = (checker.show(&ty), checker.show(element));
                checker.report(Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "group `{group}` holds {b} rules, but `{}` is {a}",
                        member.text
                    ),
                    member.span,
                    format!("this is {a}"),
                ));
                continue;
            }
        }
        if ids.contains(&id) {
            checker.report(Diagnostic::error(
                Code::NameDuplicate,
                format!("`{}` is in group `{group}` twice", member.text),
                member.span,
                "again here",
            ));
            continue;
        }
        ids.push(id);
    }
    ids
}

fn check_group(checker: &mut Checker<'_>, group: &ast::GroupItem) -> Lowered {
    let element = match resolve_type(checker.symbols, &group.element) {
        Ok(ty) => ty,
        Err(diagnostic) => {
            checker.report(diagnostic);
            return Lowered::Nothing;
        }
    };
    let ids = group_members(checker, &group.members, &element, &group.name.text);
    Lowered::Group(ir::Group {
        name: group.name.text.clone(),
        element,
        members: ids
            .into_iter()
            .map(|item| ir::GroupMember {
                item,
                active_from: None,
            })
            .collect(),
    })
}

fn check_extend(checker: &mut Checker<'_>, extend: &ast::ExtendItem) -> Lowered {
    let Some(symbol) = checker.symbols.values.get(&extend.group.text).cloned() else {
        checker.report(Diagnostic::error(
            Code::NameUnknown,
            format!("unknown group `{}`", extend.group.text),
            extend.group.span,
            "no such group",
        ));
        return Lowered::Nothing;
    };
    let ValueKind::Group(group_id) = symbol.kind else {
        checker.report(Diagnostic::error(
            Code::TypeMismatch,
            format!(
                "`{}` is a {}, not a group",
                extend.group.text,
                symbol.kind.word()
            ),
            extend.group.span,
            "not a group",
        ));
        return Lowered::Nothing;
    };
    checker.uses.insert(extend.group.text.clone());
    let element = symbol
        .item
        .key(checker.db, checker.set)
        .and_then(|key| {
            signature(checker.db, checker.set, key)
                .as_ref()
                .map(|s| s.ty.clone())
        })
        .unwrap_or(Type::Bool);
    let members = group_members(checker, &extend.members, &element, &extend.group.text);
    Lowered::Extend {
        group: group_id,
        members,
    }
}

/// `exception LABEL to name when … = …`: checked against the target's declared type. In an
/// amendment module the exception applies only from the amendment's date.
fn check_targeted_exception(
    checker: &mut Checker<'_>,
    targeted: &ast::TargetedException,
    module: u32,
) -> Lowered {
    let target = &targeted.target;
    let Some(symbol) = checker.symbols.values.get(&target.text).cloned() else {
        let names = checker.symbols.values.keys().map(String::as_str);
        let mut diagnostic = Diagnostic::error(
            Code::NameUnknown,
            format!("unknown definition `{}`", target.text),
            target.span,
            "not declared anywhere",
        );
        if let Some(suggestion) = crate::diagnostic::closest_name(&target.text, names) {
            diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
        }
        checker.report(diagnostic);
        return Lowered::Nothing;
    };
    let target_id = match symbol.kind {
        ValueKind::Definition(id) | ValueKind::Rule(id) => id,
        other => {
            checker.report(Diagnostic::error(
                Code::TypeMismatch,
                format!(
                    "`{}` is a {}; exceptions change definitions and rules",
                    target.text,
                    other.word()
                ),
                target.span,
                "not a definition",
            ));
            return Lowered::Nothing;
        }
    };
    checker.uses.insert(target.text.clone());
    let declared = symbol.item.key(checker.db, checker.set).and_then(|key| {
        signature(checker.db, checker.set, key)
            .as_ref()
            .map(|s| s.ty.clone())
    });
    let Some(declared) = declared else {
        return Lowered::Nothing;
    };
    let exception = &targeted.exception;
    let mut condition = checker.check_against(
        &exception.condition,
        &Type::Bool,
        "an exception's condition",
    );
    let value = checker.check_against(
        &exception.value,
        &declared,
        &format!("the value of exception `{}`", exception.label.text),
    );
    if let Some((_, from)) = checker
        .symbols
        .module_of(module)
        .and_then(|m| m.amends.clone())
    {
        let in_force = ir::Expr::Binary(
            ir::BinaryOp::Ge,
            Box::new(ir::Expr::AsOf),
            Box::new(ir::Expr::Const(Value::Date(from))),
        );
        condition = ir::Expr::And(Box::new(in_force), Box::new(condition));
    }
    Lowered::TargetedException {
        target: target_id,
        exception: Exception {
            label: exception.label.text.clone(),
            condition,
            value,
            source: exception.source.clone(),
        },
    }
}

/// `check ID [for x in list] [at x.field] = condition`.
fn check_case_check(checker: &mut Checker<'_>, check: &ast::CheckItem) -> Lowered {
    let messages = collect_messages(
        checker,
        &format!("check `{}`", check.id.text),
        &check.messages,
    );
    if messages.ru.is_none() && messages.kk.is_none() && messages.en.is_none() {
        checker.report(
            Diagnostic::error(
                Code::CheckNoMessage,
                format!("check `{}` has no message", check.id.text),
                check.id.span,
                "a failed check must say why",
            )
            .with_help("add `message en \"…\"` (and ru, kk)"),
        );
    }
    // The element's type (or the case root's) names the fields `at` may point at.
    let (list, element_type) = match (&check.variable, &check.list) {
        (Some(variable), Some(list)) => {
            let (lowered, ty) = checker.expr(list, None);
            let element = match ty {
                Some(Type::List(element)) => Some(*element),
                Some(other) => {
                    let shown = checker.show(&other);
                    checker.report(Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`for` goes over a list, but this is {shown}"),
                        list.span,
                        "not a list",
                    ));
                    None
                }
                None => None,
            };
            let Some(element) = element else {
                return Lowered::Nothing;
            };
            checker.push_local(&variable.text, element.clone());
            (Some(lowered), Some(element))
        }
        _ => {
            let input = checker
                .symbols
                .inputs
                .first()
                .and_then(|item| item.key(checker.db, checker.set))
                .and_then(|key| {
                    signature(checker.db, checker.set, key)
                        .as_ref()
                        .map(|s| s.ty.clone())
                });
            (None, input)
        }
    };
    let condition = checker.check_against(&check.condition, &Type::Bool, "a check's condition");
    let field = match check.at.as_slice() {
        [] => None,
        [first, rest @ ..] => {
            let (field, variable_named) = match rest {
                [field] => (field, Some(first)),
                _ => (first, None),
            };
            if let (Some(named), Some(variable)) = (variable_named, &check.variable) {
                if named.text != variable.text {
                    checker.report(Diagnostic::error(
                        Code::NameUnknown,
                        format!("`at` must name the checked element `{}`", variable.text),
                        named.span,
                        "not the element",
                    ));
                }
            }
            let fields: Vec<String> = match &element_type {
                Some(Type::Record(id)) => checker
                    .types
                    .record(*id)
                    .map(|record| record.fields.iter().map(|f| f.name.clone()).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            if !fields.contains(&field.text) {
                let mut diagnostic = Diagnostic::error(
                    Code::NameUnknownField,
                    format!("the checked record has no field `{}`", field.text),
                    field.span,
                    "no such field",
                );
                if let Some(suggestion) =
                    crate::diagnostic::closest_name(&field.text, fields.iter().map(String::as_str))
                {
                    diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
                }
                checker.report(diagnostic);
            }
            Some(field.text.clone())
        }
    };
    Lowered::Check(ir::CaseCheck {
        id: check.id.text.clone(),
        code: check
            .code
            .clone()
            .unwrap_or_else(|| "case.invalid_field".to_string()),
        messages,
        list,
        condition,
        field,
        locals: checker.next_slot,
    })
}

fn check_input(checker: &mut Checker<'_>, input: &ast::InputItem) -> Lowered {
    let Some(record) = checker.symbols.types.get(&input.record.text).map(|s| s.id) else {
        checker.report(Diagnostic::error(
            Code::NameUnknownType,
            format!("unknown record `{}`", input.record.text),
            input.record.span,
            "no such record",
        ));
        return Lowered::Nothing;
    };
    let Some(fields) = checker.types.record(record).map(|r| r.fields.clone()) else {
        checker.report(Diagnostic::error(
            Code::TypeMismatch,
            format!("`{}` is not a record", input.record.text),
            input.record.span,
            "not a record",
        ));
        return Lowered::Nothing;
    };
    let mut find = |name: &Option<ast::Name>, ty: Type, what: &str| -> Option<u32> {
        let name = name.as_ref()?;
        match fields.iter().position(|f| f.name == name.text) {
            Some(index) if fields[index].ty == ty && fields[index].required => Some(index as u32),
            Some(_) => {
                checker.report(Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "the {what} field `{}` must be a required {}",
                        name.text,
                        checker.show(&ty)
                    ),
                    name.span,
                    "wrong type",
                ));
                None
            }
            None => {
                checker.report(Diagnostic::error(
                    Code::NameUnknownField,
                    format!(
                        "record `{}` has no field `{}`",
                        input.record.text, name.text
                    ),
                    name.span,
                    "no such field",
                ));
                None
            }
        }
    };
    let id_field = find(&input.id_field, Type::Text, "id");
    let as_of_field = find(&input.as_of_field, Type::Date, "as-of");
    Lowered::Input(ir::InputDecl {
        name: input.name.text.clone(),
        record,
        id_field,
        as_of_field,
    })
}

/// A diagnostic placed in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiagnostic {
    /// The file's index in the manifest.
    pub file: u32,
    /// Absolute byte spans.
    pub diagnostic: Diagnostic,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Compiled {
    /// `None` when there are errors.
    pub policy: Option<Arc<ir::Policy>>,
    pub diagnostics: Vec<FileDiagnostic>,
}

#[salsa::tracked(returns(ref))]
pub fn compile_policy(db: &dyn Db, set: PolicySet) -> Compiled {
    db.record_execution("compile_policy".to_string());
    let files = set.files(db);
    let symbols = symbols(db, set);
    let types = type_table(db, set);
    let mut diagnostics: Vec<FileDiagnostic> = Vec::new();

    // Where each item starts in its file, to place item-relative spans.
    let mut starts: BTreeMap<ItemRef, u32> = BTreeMap::new();
    let mut name_spans: BTreeMap<ItemRef, Span> = BTreeMap::new();
    for (file_index, file) in files.iter().enumerate() {
        let parsed = parse_file(db, *file);
        for diagnostic in &parsed.diagnostics {
            diagnostics.push(FileDiagnostic {
                file: file_index as u32,
                diagnostic: diagnostic.clone(),
            });
        }
        let mut ranks: BTreeMap<&str, u32> = BTreeMap::new();
        for item in &parsed.items {
            let name = item.item.name().text.as_str();
            let rank = ranks.entry(name).or_insert(0);
            let name_span = item.item.name().span.shifted(item.start);
            name_spans.insert(
                ItemRef {
                    file: file_index as u32,
                    name: name.to_string(),
                    rank: *rank,
                },
                name_span,
            );
            starts.insert(
                ItemRef {
                    file: file_index as u32,
                    name: name.to_string(),
                    rank: *rank,
                },
                item.start,
            );
            *rank += 1;
        }
        if parsed.header.is_none()
            && !parsed
                .diagnostics
                .iter()
                .any(|d| d.primary_span().start == 0 || d.code.starts_with("syntax"))
        {
            diagnostics.push(FileDiagnostic {
                file: file_index as u32,
                diagnostic: Diagnostic::error(
                    Code::ModuleHeader,
                    "the file has no module header",
                    Span::default(),
                    "here",
                ),
            });
        }
    }
    let place = |item: &ItemRef, diagnostic: &Diagnostic| FileDiagnostic {
        file: item.file,
        diagnostic: diagnostic
            .clone()
            .shifted(starts.get(item).copied().unwrap_or(0)),
    };
    for (item, diagnostic) in symbols.diagnostics.iter().chain(&types.diagnostics) {
        diagnostics.push(place(item, diagnostic));
    }
    check_modules(symbols, &mut diagnostics);

    let mut checked: BTreeMap<ItemRef, &CheckedItem> = BTreeMap::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for item in &symbols.all_items {
        let Some(key) = item.key(db, set) else {
            continue;
        };
        let result = check_item(db, set, key);
        for diagnostic in &result.diagnostics {
            diagnostics.push(place(item, diagnostic));
        }
        used.extend(result.uses.iter().cloned());
        checked.insert(item.clone(), result);
    }

    // Every value item referenced in IR order; missing ones leave the policy incomplete.
    let lowered = |item: &ItemRef| checked.get(item).map(|c| &c.lowered);
    let mut items = collect_lowered(&symbols.items, &checked, |lowered| match lowered {
        Lowered::Item(value) => Some(value),
        _ => None,
    });
    let params = collect_lowered(&symbols.params, &checked, |lowered| match lowered {
        Lowered::Param(value) => Some(value),
        _ => None,
    });
    let tables = collect_lowered(&symbols.tables, &checked, |lowered| match lowered {
        Lowered::Table(value) => Some(value),
        _ => None,
    });
    let calendars = collect_lowered(&symbols.calendars, &checked, |lowered| match lowered {
        Lowered::Calendar(value) => Some(value),
        _ => None,
    });
    let bands = collect_lowered(&symbols.bands, &checked, |lowered| match lowered {
        Lowered::Bands(value) => Some(value),
        _ => None,
    });
    let mut groups = collect_lowered(&symbols.groups, &checked, |lowered| match lowered {
        Lowered::Group(value) => Some(value),
        _ => None,
    });
    for item in &symbols.extends {
        if let Some(Lowered::Extend { group, members }) = lowered(item) {
            let from = symbols
                .module_of(item.file)
                .and_then(|m| m.amends.as_ref().map(|(_, date)| *date));
            if let Some(target) = groups.get_mut(*group as usize) {
                for member in members {
                    if target.members.iter().any(|m| m.item == *member) {
                        continue;
                    }
                    target.members.push(ir::GroupMember {
                        item: *member,
                        active_from: from,
                    });
                }
            }
        }
    }
    // Exceptions added from outside a definition (amendments) take priority over its own.
    if items.len() == symbols.items.len() {
        for item in &symbols.targeted_exceptions {
            if let Some(Lowered::TargetedException { target, exception }) = lowered(item) {
                if let Some(target_item) = items.get_mut(*target as usize) {
                    let body = std::mem::replace(
                        &mut target_item.body,
                        Body::Expr(ir::Expr::Const(Value::Absent)),
                    );
                    target_item.body = match body {
                        Body::Expr(base) => Body::Exceptions {
                            base,
                            exceptions: vec![exception.clone()],
                        },
                        Body::Exceptions {
                            base,
                            mut exceptions,
                        } => {
                            exceptions.insert(0, exception.clone());
                            Body::Exceptions { base, exceptions }
                        }
                    };
                }
            }
        }
    }
    let checks = collect_lowered(&symbols.checks, &checked, |lowered| match lowered {
        Lowered::Check(value) => Some(value),
        _ => None,
    });
    let outputs = collect_lowered(&symbols.outputs, &checked, |lowered| match lowered {
        Lowered::Output(value) => Some(value),
        _ => None,
    });
    let mut input = None;
    for (index, item) in symbols.inputs.iter().enumerate() {
        if index > 0 {
            diagnostics.push(place(
                item,
                &Diagnostic::error(
                    Code::InputDuplicate,
                    "a policy set has one `input`",
                    Span::default(),
                    "a second input",
                ),
            ));
        } else if let Some(Lowered::Input(lowered)) = lowered(item) {
            input = Some(lowered.clone());
        }
    }
    if symbols.inputs.is_empty() {
        diagnostics.push(FileDiagnostic {
            file: 0,
            diagnostic: Diagnostic::error(
                Code::InputMissing,
                "the policy set declares no `input`",
                Span::default(),
                "here",
            )
            .with_help(
                "declare the case root: `input case: Case id case_id as_of application_date`",
            ),
        });
    }

    let labels = resolve_labels(
        symbols,
        types,
        &checked,
        &items,
        &params,
        &tables,
        &calendars,
        &outputs,
        &bands,
        input.as_ref(),
    );
    for (item, diagnostic) in labels.1 {
        let at = name_spans.get(&item).map_or(0, |span| span.start);
        diagnostics.push(FileDiagnostic {
            file: item.file,
            diagnostic: diagnostic.shifted(at),
        });
    }
    let labels = labels.0;

    // Cycles between definitions.
    report_cycles(symbols, &checked, &name_spans, &mut diagnostics);

    // Unused parameters and definitions.
    for (name, symbol) in &symbols.values {
        let unused_kind = match symbol.kind {
            ValueKind::Param(_) | ValueKind::DerivedParam(_) => "parameter",
            ValueKind::Definition(_) | ValueKind::Function(_) => "definition",
            ValueKind::Table(_) => "table",
            ValueKind::Bands(_) => "band table",
            ValueKind::Calendar(_) => "calendar",
            _ => continue,
        };
        if !used.contains(name) {
            let span = symbol
                .item
                .key(db, set)
                .and_then(|key| item_ast(db, key).as_ref().map(|item| item.name().span))
                .unwrap_or_default();
            diagnostics.push(place(
                &symbol.item,
                &Diagnostic::warning(
                    Code::Unused,
                    format!("{unused_kind} `{name}` is never used"),
                    span,
                    "not used by any rule, definition or output",
                )
                .with_help("remove it, or use it; a policy should hold only what decides cases"),
            ));
        }
    }

    diagnostics.sort_by(|a, b| {
        (
            a.file,
            a.diagnostic.primary_span().start,
            a.diagnostic.severity,
        )
            .cmp(&(
                b.file,
                b.diagnostic.primary_span().start,
                b.diagnostic.severity,
            ))
    });
    diagnostics.dedup();
    let has_errors = diagnostics
        .iter()
        .any(|d| d.diagnostic.severity == crate::diagnostic::Severity::Error);
    let complete = items.len() == symbols.items.len()
        && params.len() == symbols.params.len()
        && tables.len() == symbols.tables.len()
        && calendars.len() == symbols.calendars.len()
        && bands.len() == symbols.bands.len()
        && groups.len() == symbols.groups.len()
        && outputs.len() == symbols.outputs.len()
        && checks.len() == symbols.checks.len();
    let policy = match (has_errors, complete, input) {
        (false, true, Some(input)) => {
            let manifest = set.manifest(db);
            let modules: Vec<ir::ModuleInfo> = symbols
                .modules
                .iter()
                .map(|module| match module {
                    Some(module) => ir::ModuleInfo {
                        name: module.name.clone(),
                        version: module.version.clone(),
                        in_force_from: module.in_force_from.unwrap_or_default(),
                        amends: module.amends.as_ref().map(|(name, from)| ir::Amendment {
                            module: name.clone(),
                            from: *from,
                        }),
                        file: module.file.clone(),
                    },
                    None => ir::ModuleInfo {
                        name: String::new(),
                        version: String::new(),
                        in_force_from: Date::default(),
                        amends: None,
                        file: String::new(),
                    },
                })
                .collect();
            let in_force_from = modules
                .iter()
                .filter(|m| m.amends.is_none())
                .map(|m| m.in_force_from)
                .max()
                .unwrap_or_default();
            Some(Arc::new(ir::Policy {
                format_version: ir::IR_FORMAT_VERSION,
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                publisher: manifest.publisher.clone(),
                in_force_from,
                modules,
                types: types.defs.clone(),
                input,
                params,
                tables,
                calendars,
                bands,
                items,
                groups,
                outputs,
                checks,
                labels,
            }))
        }
        _ => None,
    };
    Compiled {
        policy,
        diagnostics,
    }
}

/// The `label` items resolved against the policy, with their diagnostics and those of shown
/// names without words in a language some module declares (`languages ru kk en`).
#[allow(clippy::too_many_arguments)]
fn resolve_labels(
    symbols: &Symbols,
    types: &crate::types::TypeTable,
    checked: &BTreeMap<ItemRef, &CheckedItem>,
    items: &[IrItem],
    params: &[ir::Param],
    tables: &[ir::Table],
    calendars: &[ir::Calendar],
    outputs: &[ir::Output],
    bands: &[ir::BandTable],
    input: Option<&ir::InputDecl>,
) -> (BTreeMap<String, Messages>, Vec<(ItemRef, Diagnostic)>) {
    let decls: Vec<crate::labels::LabelDecl<'_, ItemRef>> = symbols
        .labels
        .iter()
        .filter_map(|item| match checked.get(item).map(|c| &c.lowered) {
            Some(Lowered::Label { target, texts }) => Some(crate::labels::LabelDecl {
                item,
                target,
                texts,
            }),
            _ => None,
        })
        .collect();
    let mut type_items: Vec<Option<&ItemRef>> = vec![None; types.defs.len()];
    for symbol in symbols.types.values() {
        if let Some(slot) = type_items.get_mut(symbol.id as usize) {
            *slot = Some(&symbol.item);
        }
    }
    let complete = outputs.len() == symbols.outputs.len()
        && bands.len() == symbols.bands.len()
        && type_items.iter().all(Option::is_some);
    let (Some(input), true) = (input, complete) else {
        return (BTreeMap::new(), Vec::new());
    };
    let named = crate::labels::Named {
        items,
        params,
        tables,
        calendars,
        outputs: outputs.iter().zip(&symbols.outputs).collect(),
        bands: bands.iter().zip(&symbols.bands).collect(),
        types: types
            .defs
            .iter()
            .zip(type_items.iter().flatten().copied())
            .collect(),
        input_record: input.record,
    };
    let mut languages: Vec<String> = Vec::new();
    for lang in ["ru", "kk", "en"] {
        let declared = symbols
            .modules
            .iter()
            .flatten()
            .any(|module| module.languages.iter().any(|declared| declared == lang));
        if declared {
            languages.push(lang.to_string());
        }
    }
    crate::labels::resolve(&named, &decls, &languages)
}

/// The lowered IR of the listed items that lowered to the kind `pick` selects, in list order.
fn collect_lowered<T: Clone>(
    list: &[ItemRef],
    checked: &BTreeMap<ItemRef, &CheckedItem>,
    pick: impl Fn(&Lowered) -> Option<&T>,
) -> Vec<T> {
    list.iter()
        .filter_map(|item| checked.get(item).and_then(|c| pick(&c.lowered)))
        .cloned()
        .collect()
}

fn check_modules(symbols: &Symbols, diagnostics: &mut Vec<FileDiagnostic>) {
    let names: Vec<Option<&str>> = symbols
        .modules
        .iter()
        .map(|m| m.as_ref().map(|m| m.name.as_str()))
        .collect();
    for (index, module) in symbols.modules.iter().enumerate() {
        let Some(module) = module else { continue };
        let file = index as u32;
        if names[..index].contains(&Some(module.name.as_str())) {
            diagnostics.push(FileDiagnostic {
                file,
                diagnostic: Diagnostic::error(
                    Code::ModuleDuplicate,
                    format!("module `{}` is declared by two files", module.name),
                    module.name_span,
                    "second declaration",
                ),
            });
        }
        if module.in_force_from.is_none() {
            diagnostics.push(FileDiagnostic {
                file,
                diagnostic: Diagnostic::error(
                    Code::ModuleNoDate,
                    format!(
                        "module `{}` does not say from when it is in force",
                        module.name
                    ),
                    module.name_span,
                    "no `in force from`",
                )
                .with_help("add `in force from YYYY-MM-DD` to the header"),
            });
        }
        for import in module
            .imports
            .iter()
            .chain(module.amends.as_ref().map(|(name, _)| name))
        {
            if !names.contains(&Some(import.as_str())) {
                let mut diagnostic = Diagnostic::error(
                    Code::ModuleUnknown,
                    format!(
                        "module `{}` names module `{import}`, which the manifest does not list",
                        module.name
                    ),
                    module.name_span,
                    "unknown module",
                );
                if let Some(suggestion) =
                    crate::diagnostic::closest_name(import, names.iter().flatten().copied())
                {
                    diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
                }
                diagnostics.push(FileDiagnostic { file, diagnostic });
            }
        }
    }
}

/// Reports each cycle among definitions once, with its path.
fn report_cycles(
    symbols: &Symbols,
    checked: &BTreeMap<ItemRef, &CheckedItem>,
    name_spans: &BTreeMap<ItemRef, Span>,
    diagnostics: &mut Vec<FileDiagnostic>,
) {
    // Graph over item ids: definitions, rules, functions, derived parameters.
    let count = symbols.items.len();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (index, item) in symbols.items.iter().enumerate() {
        if let Some(result) = checked.get(item) {
            for name in &result.uses {
                if let Some(target) = symbols.values.get(name).and_then(|s| s.kind.item_id()) {
                    edges[index].push(target as usize);
                }
            }
        }
    }
    // Iterative depth-first search with colours.
    let mut colour = vec![0u8; count];
    let mut reported: BTreeSet<Vec<usize>> = BTreeSet::new();
    for root in 0..count {
        if colour[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        colour[root] = 1;
        while let Some((node, next)) = stack.last().copied() {
            if next < edges[node].len() {
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                let target = edges[node][next];
                match colour[target] {
                    0 => {
                        colour[target] = 1;
                        stack.push((target, 0));
                    }
                    1 => {
                        let position = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                        let mut cycle: Vec<usize> =
                            stack[position..].iter().map(|(n, _)| *n).collect();
                        let mut canonical = cycle.clone();
                        canonical.sort_unstable();
                        if reported.insert(canonical) {
                            cycle.push(target);
                            let names: Vec<String> = cycle
                                .iter()
                                .map(|i| format!("`{}`", symbols.items[*i].name))
                                .collect();
                            let first = &symbols.items[target];
                            let span = name_spans.get(first).copied().unwrap_or_default();
                            diagnostics.push(FileDiagnostic {
                                file: first.file,
                                diagnostic: Diagnostic::error(
                                    Code::Cycle,
                                    format!(
                                        "`{}` depends on itself: {}",
                                        first.name,
                                        names.join(" → ")
                                    ),
                                    span,
                                    "in a cycle",
                                )
                                .with_help(
                                    "a value cannot be computed from itself; break the cycle",
                                ),
                            });
                        }
                    }
                    _ => {}
                }
            } else {
                colour[node] = 2;
                stack.pop();
            }
        }
    }
}

fn weekday_name(date: Date) -> &'static str {
    use chrono::Datelike;
    match date.weekday() {
        chrono::Weekday::Mon => "Monday",
        chrono::Weekday::Tue => "Tuesday",
        chrono::Weekday::Wed => "Wednesday",
        chrono::Weekday::Thu => "Thursday",
        chrono::Weekday::Fri => "Friday",
        chrono::Weekday::Sat => "Saturday",
        chrono::Weekday::Sun => "Sunday",
    }
}
