//! Renders the runtime's [`Explanation`] for people: text, JSON or one self-contained HTML page.
//!
//! The explanation itself (reasons, comparisons, confirmed changes, facts, trace branches) is
//! data computed by `ereje_runtime::explain`; this file only chooses words and formats numbers.
//! Rule messages, sources and band labels come from the policy inside the explanation; the only
//! words here are the generic labels of [`LABELS`]. Money is written with a space between
//! groups of three digits and `₸` (`786 400 ₸`), dates as `12.03.2025`.

use std::fmt::Write as _;

pub mod reading;

use crate::html::escape;
use ereje_runtime::explain::{
    AppliedRule, BandPosition, Change, ChangeKind, Comparison, Fact, FactName, Quantity, Reason,
    Relation, TraceBranch,
};
use ereje_runtime::ir::Messages;
use ereje_runtime::value::Date;
use ereje_runtime::Explanation;
use reading::reading;
use rust_decimal::Decimal;

/// The language of an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ru,
    Kk,
    En,
}

/// How to write an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    Html,
}

/// The generic words of an explanation in one language. `{…}` are placeholders.
pub struct Labels {
    pub title: &'static str,
    pub case: &'static str,
    pub as_of: &'static str,
    pub policy: &'static str,
    pub outcome: &'static str,
    pub reasons: &'static str,
    pub no_reasons: &'static str,
    pub source: &'static str,
    pub why: &'static str,
    /// `{left} = {lv} is {d} above {right} ({rv})`: the left side is the subject, in the
    /// nominative; the right side is the policy's label in quotes (or the word for the limit)
    /// after a word that governs it without declension (`больше, чем «черта бедности»`,
    /// `«кедейлік шегі» мәнінен`), so no label has to be declined.
    pub above: &'static str,
    pub below: &'static str,
    pub equal: &'static str,
    pub days: &'static str,
    /// For dates: `{left} {lv} is {d} earlier than {right} {rv}`.
    pub earlier: &'static str,
    pub later: &'static str,
    pub conditions: &'static str,
    pub change: &'static str,
    pub no_change: &'static str,
    pub at_most: &'static str,
    pub at_least: &'static str,
    pub on_or_before: &'static str,
    pub on_or_after: &'static str,
    pub must_be: &'static str,
    pub must_be_absent: &'static str,
    pub sum_of: &'static str,
    pub confirmed: &'static str,
    pub edits: &'static str,
    pub numbers: &'static str,
    pub applied: &'static str,
    pub bands: &'static str,
    /// `{points} to {label}`.
    pub to_next: &'static str,
    pub to_previous: &'static str,
    pub criteria: &'static str,
    pub exception: &'static str,
    pub facts: &'static str,
    pub decisive: &'static str,
    pub trace: &'static str,
    pub full_hint: &'static str,
    pub see_above: &'static str,
    pub effective_from: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub absent: &'static str,
    pub row_found: &'static str,
    pub row_missing: &'static str,
    pub band: &'static str,
    pub no_message: &'static str,
    /// The title of the derivation of an amount.
    pub derivation: &'static str,
    /// `reasons: {}` in a headline.
    pub reason_count: &'static str,
    /// A part of the decision that does not apply to the case (no pilot).
    pub not_applicable: &'static str,
    /// A name in quotes: `«{}»`.
    pub quoted: &'static str,
    /// The days a working-day deadline skipped: `skipped: {}`.
    pub skipped: &'static str,
    /// A side of a comparison the policy computes without words for it.
    pub limit: &'static str,
    /// A record of the case a sum did not count, by the field that left it out: `{}`.
    pub left_out: &'static str,
    pub weekend: &'static str,
    pub holiday: &'static str,
    pub decimal_separator: char,
    pub kinds: [(&'static str, &'static str); 8],
}

/// The generic labels, one entry per language.
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
            no_reasons: "оснований для отказа нет",
            source: "Источник",
            why: "Почему",
            above: "{left} = {lv} больше, чем {right} ({rv}), на {d}",
            below: "{left} = {lv} меньше, чем {right} ({rv}), на {d}",
            equal: "{left} = {lv} и {right} ({rv}) равны",
            days: "{} дн.",
            earlier: "{left} = {lv} раньше, чем {right} ({rv}), на {d}",
            later: "{left} = {lv} позже, чем {right} ({rv}), на {d}",
            conditions: "Выполненные условия",
            change: "Что изменило бы решение",
            no_change: "изменение, проверенное повторным расчётом, не найдено",
            at_most: "не более",
            at_least: "не менее",
            on_or_before: "не позднее",
            on_or_after: "не ранее",
            must_be: "должно быть",
            must_be_absent: "должны отсутствовать",
            sum_of: "сумма полей «{field}»",
            confirmed: "подтверждено повторным расчётом",
            edits: "изменения дела",
            numbers: "Значения",
            applied: "Правила, давшие результат",
            bands: "Категории",
            to_next: "до «{label}»: +{points}",
            to_previous: "до «{label}»: −{points}",
            criteria: "Критерии",
            exception: "исключение",
            facts: "Данные дела",
            decisive: "Решающая ветвь вычисления",
            trace: "Полное дерево вычисления",
            full_hint: "(полное дерево: --full)",
            see_above: "см. выше",
            effective_from: "действует с {}",
            yes: "да",
            no: "нет",
            absent: "—",
            row_found: "строка найдена",
            row_missing: "строки нет",
            band: "интервал",
            no_message: "(сообщение не задано)",
            derivation: "Расчёт",
            reason_count: "оснований для отказа: {}",
            not_applicable: "не применяется",
            quoted: "«{}»",
            skipped: "пропущены нерабочие дни: {}",
            limit: "предельное значение",
            left_out: "не учтено по признаку «{}»",
            weekend: "выходной",
            holiday: "праздник",
            decimal_separator: ',',
            kinds: [
                ("rule", "правило"),
                ("definition", "определение"),
                ("function", "функция"),
                ("parameter", "параметр"),
                ("table", "таблица"),
                ("band", "шкала"),
                ("input", "данные дела"),
                ("output", "результат"),
            ],
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
            no_reasons: "бас тарту негіздері жоқ",
            source: "Дереккөз",
            why: "Неліктен",
            above: "{left} = {lv}, бұл {right} мәнінен ({rv}) {d} жоғары",
            below: "{left} = {lv}, бұл {right} мәнінен ({rv}) {d} төмен",
            equal: "{left} = {lv}, бұл {right} мәніне ({rv}) тең",
            days: "{} күн",
            earlier: "{left} = {lv}, бұл {right} күнінен ({rv}) {d} ерте",
            later: "{left} = {lv}, бұл {right} күнінен ({rv}) {d} кеш",
            conditions: "Орындалған шарттар",
            change: "Шешімді не өзгертер еді",
            no_change: "қайта есептеумен расталған өзгеріс табылмады",
            at_most: "ең көбі",
            at_least: "кемінде",
            on_or_before: "кешіктірмей",
            on_or_after: "ерте емес",
            must_be: "болуы керек",
            must_be_absent: "болмауы керек",
            sum_of: "«{field}» жиынтығы",
            confirmed: "қайта есептеумен расталды",
            edits: "іске өзгерістер",
            numbers: "Мәндер",
            applied: "Нәтижені берген ережелер",
            bands: "Санаттар",
            to_next: "«{label}» дейін: +{points}",
            to_previous: "«{label}» дейін: −{points}",
            criteria: "Критерийлер",
            exception: "ерекшелік",
            facts: "Іс деректері",
            decisive: "Шешуші есептеу тармағы",
            trace: "Толық есептеу ағашы",
            full_hint: "(толық ағаш: --full)",
            see_above: "жоғарыда қараңыз",
            effective_from: "{} бастап қолданылады",
            yes: "иә",
            no: "жоқ",
            absent: "—",
            row_found: "жол табылды",
            row_missing: "жол жоқ",
            band: "аралық",
            no_message: "(хабарлама берілмеген)",
            derivation: "Есептеу",
            reason_count: "бас тарту негіздері: {}",
            not_applicable: "қолданылмайды",
            quoted: "«{}»",
            skipped: "өткізілген жұмыс емес күндер: {}",
            limit: "шек",
            left_out: "«{}» бойынша есепке алынбады",
            weekend: "демалыс күні",
            holiday: "мереке",
            decimal_separator: ',',
            kinds: [
                ("rule", "ереже"),
                ("definition", "анықтама"),
                ("function", "функция"),
                ("parameter", "параметр"),
                ("table", "кесте"),
                ("band", "шкала"),
                ("input", "іс деректері"),
                ("output", "нәтиже"),
            ],
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
            no_reasons: "no refusal reason holds",
            source: "Source",
            why: "Why",
            above: "{left} = {lv} is {d} above {right} ({rv})",
            below: "{left} = {lv} is {d} below {right} ({rv})",
            equal: "{left} = {lv} equals {right} ({rv})",
            days: "{} day(s)",
            earlier: "{left} = {lv} is {d} earlier than {right} ({rv})",
            later: "{left} = {lv} is {d} later than {right} ({rv})",
            conditions: "Conditions that hold",
            change: "What would change it",
            no_change: "no change confirmed by re-evaluation was found",
            at_most: "at most",
            at_least: "at least",
            on_or_before: "on or before",
            on_or_after: "on or after",
            must_be: "would have to be",
            must_be_absent: "would have to be absent",
            sum_of: "sum of “{field}”",
            confirmed: "confirmed by re-evaluation",
            edits: "edits of the case",
            numbers: "Values",
            applied: "Rules behind the outputs",
            bands: "Categories",
            to_next: "to “{label}”: +{points}",
            to_previous: "to “{label}”: −{points}",
            criteria: "Criteria",
            exception: "exception",
            facts: "Facts from the case",
            decisive: "Decisive branch of the computation",
            trace: "Whole computation tree",
            full_hint: "(whole tree: --full)",
            see_above: "see above",
            effective_from: "in effect from {}",
            yes: "yes",
            no: "no",
            absent: "—",
            row_found: "row found",
            row_missing: "no row",
            band: "band",
            no_message: "(no message given)",
            derivation: "Calculation",
            reason_count: "reasons for refusal: {}",
            not_applicable: "does not apply",
            quoted: "“{}”",
            skipped: "days skipped as not worked: {}",
            limit: "the limit",
            left_out: "left out by its “{}”",
            weekend: "weekend",
            holiday: "holiday",
            decimal_separator: '.',
            kinds: [
                ("rule", "rule"),
                ("definition", "definition"),
                ("function", "function"),
                ("parameter", "parameter"),
                ("table", "table"),
                ("band", "band"),
                ("input", "case data"),
                ("output", "output"),
            ],
        },
    ),
];

/// A fact of the case as a caseworker names it: the member by its id and role and the field's
/// label (`m1, заявитель: ребёнок с инвалидностью`).
pub fn fact_label(
    explanation: &Explanation,
    named: Option<&FactName>,
    lang: Lang,
) -> Option<String> {
    let named = named?;
    let field = reading::name_of(explanation, &named.target, lang);
    Some(match owner_words(explanation, named, lang) {
        Some(owner) => format!("{owner}: {field}"),
        None => field.to_string(),
    })
}

/// The member (or other listed record) a fact belongs to, as a caseworker knows it: its id and,
/// when the case gives the record's role and the policy labels it, the role's label
/// (`m3, ребёнок`).
pub fn owner_words(explanation: &Explanation, named: &FactName, lang: Lang) -> Option<String> {
    let owner = named.owner.as_deref()?;
    let role = named
        .owner_role
        .as_deref()
        .and_then(|role| policy_label(explanation, role, lang));
    Some(match role {
        Some(role) => format!("{owner}, {role}"),
        None => owner.to_string(),
    })
}

/// A fact's value as a caseworker reads it: an enum value by its label.
pub(crate) fn fact_value(
    explanation: &Explanation,
    named: Option<&FactName>,
    value: &Quantity,
    lang: Lang,
) -> String {
    match (named.and_then(|named| named.values.as_deref()), value) {
        (Some(values), Quantity::Text(text)) => {
            policy_label(explanation, &format!("{values}.{text}"), lang)
                .unwrap_or(text)
                .to_string()
        }
        _ => format_quantity(value, lang),
    }
}

/// The labels of a language.
pub fn labels(lang: Lang) -> &'static Labels {
    let index = match lang {
        Lang::Ru => 0,
        Lang::Kk => 1,
        Lang::En => 2,
    };
    &LABELS[index].1
}

fn kind_name(labels: &Labels, kind: &str) -> &'static str {
    labels
        .kinds
        .iter()
        .find(|(name, _)| *name == kind)
        .map_or("", |(_, word)| *word)
}

/// Renders an explanation in a format and language; `full` adds the whole computation tree.
pub fn render(explanation: &Explanation, format: Format, lang: Lang, full: bool) -> String {
    match format {
        Format::Text => render_text(explanation, lang, full),
        Format::Json => {
            // The explanation as data, with the caseworker's reading of it (its sections in
            // reading order, in the language asked for) under `reading`.
            let mut value = serde_json::to_value(explanation).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                let reading = serde_json::to_value(reading(explanation, lang)).unwrap_or_default();
                object.insert("reading".to_string(), reading);
                // Each reason's and rule's source keeps the policy's text (as decisions carry
                // it); `source_words` is the same source in the language asked for.
                for list in ["reasons", "rules"] {
                    let Some(entries) = object.get_mut(list).and_then(|v| v.as_array_mut()) else {
                        continue;
                    };
                    for entry in entries.iter_mut().filter_map(|v| v.as_object_mut()) {
                        let Some(source) = entry.get("source").and_then(|v| v.as_str()) else {
                            continue;
                        };
                        let words = source_words(explanation, source, lang).to_string();
                        entry.insert("source_words".to_string(), words.into());
                    }
                }
            }
            let mut json = serde_json::to_string_pretty(&value).unwrap_or_default();
            json.push('\n');
            json
        }
        Format::Html => render_html(explanation, lang, full),
    }
}

/// Decides a case (JSON text) with an engine and explains the decision in a language and
/// format: exactly what `ereje explain` prints (and the service returns), for a program that
/// embeds the engine.
///
/// ```no_run
/// # fn show(engine: &ereje_runtime::Engine, case_json: &str) {
/// use ereje_report::explanation::{explain, Format, Lang};
/// let options = ereje_runtime::ExplainOptions::default();
/// match explain(engine, case_json, &options, Format::Html, Lang::Kk) {
///     Ok(page) => println!("{page}"),
///     Err(failure) => eprintln!("{}", failure.to_json_line()),
/// }
/// # }
/// ```
///
/// # Errors
///
/// A case that cannot be decided gives its failure (the error line's code, JSON path and
/// message) instead of an explanation.
pub fn explain(
    engine: &ereje_runtime::Engine,
    case_json: &str,
    options: &ereje_runtime::ExplainOptions,
    format: Format,
    lang: Lang,
) -> Result<String, ereje_runtime::decision::CaseFailure> {
    let explanation = ereje_runtime::explain_case(engine, case_json, options)?;
    Ok(render(&explanation, format, lang, options.full_trace))
}

/// A message in `lang`, else in another language (ru, en, kk, in that order).
pub fn message(messages: &Messages, lang: Lang) -> Option<&str> {
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

fn header(explanation: &Explanation, labels: &Labels) -> String {
    format!(
        "{}: {} {}, {} {}, {} {} {}",
        labels.title,
        labels.case,
        explanation.case_id.as_deref().unwrap_or("—"),
        labels.as_of,
        format_date(explanation.as_of),
        labels.policy,
        explanation.policy.name,
        explanation.policy.version,
    )
}

/// The "why" sentence of a comparison.
pub fn comparison_sentence(comparison: &Comparison, lang: Lang) -> String {
    let labels = labels(lang);
    let is_date = matches!(comparison.left_value, Quantity::Date(_));
    let template = match comparison.relation {
        Relation::Above if is_date => labels.later,
        Relation::Below if is_date => labels.earlier,
        Relation::Above => labels.above,
        Relation::Below => labels.below,
        Relation::Equal => labels.equal,
    };
    let distance = match (&comparison.distance, &comparison.left_value) {
        (Quantity::Integer(days), Quantity::Date(_)) => {
            labels.days.replace("{}", &days.to_string())
        }
        (distance, _) => format_quantity(distance, lang),
    };
    format!(
        "{} ({} {} {})",
        template
            .replace("{left}", &comparison.left)
            .replace("{lv}", &format_quantity(&comparison.left_value, lang))
            .replace("{right}", &comparison.right)
            .replace("{rv}", &format_quantity(&comparison.right_value, lang))
            .replace("{d}", &distance),
        comparison.left,
        comparison.operator,
        comparison.right
    )
}

/// An expression of the policy in words: each name with a label (a definition, a parameter, a
/// rule) replaced by its label, a rule without one by its step name (`Poverty line`), a field
/// of the case (`case.application_date`) by its field's label.
pub fn words_of(explanation: &Explanation, expression: &str, lang: Lang) -> String {
    worded(explanation, expression, lang).0
}

/// [`words_of`], and whether every name in the expression had words (no function call, no
/// unlabelled name).
fn worded(explanation: &Explanation, expression: &str, lang: Lang) -> (String, bool) {
    let mut out = String::new();
    let mut token = String::new();
    let mut all_named = true;
    let mut flush = |token: &mut String, out: &mut String, next: char| {
        if token.is_empty() {
            return;
        }
        let field = token.rsplit_once('.').map(|(_, field)| field);
        let named = policy_label(explanation, token, lang)
            .map(str::to_string)
            .or_else(|| {
                explanation
                    .rules
                    .iter()
                    .find(|rule| rule.rule == *token)
                    .map(|_| lowercase_first(reading::number_name(explanation, token, lang)))
            })
            .or_else(|| {
                let suffix = format!(".{}", field?);
                explanation
                    .labels
                    .keys()
                    .find(|key| key.ends_with(&suffix) && key.matches('.').count() == 1)
                    .and_then(|key| policy_label(explanation, key, lang))
                    .map(str::to_string)
            });
        if named.is_none() || next == '(' {
            all_named = false;
        }
        out.push_str(named.as_deref().unwrap_or(token));
        token.clear();
    };
    let expression = expression.replace(" * ", " × ").replace(" / ", " ÷ ");
    for character in expression.chars() {
        let continues = character.is_alphanumeric()
            || character == '_'
            || ((character == '-' || character == '.') && !token.is_empty());
        if continues && !(token.is_empty() && character.is_ascii_digit()) {
            token.push(character);
        } else {
            flush(&mut token, &mut out, character);
            out.push(character);
        }
    }
    flush(&mut token, &mut out, ' ');
    (out, all_named)
}

/// A step name inside a sentence: its first letter in lower case, unless the first word is an
/// abbreviation (`АСП`).
fn lowercase_first(name: &str) -> String {
    let mut characters = name.chars();
    match (characters.next(), characters.next()) {
        (Some(first), Some(second)) if !second.is_uppercase() => {
            first.to_lowercase().chain(name.chars().skip(1)).collect()
        }
        _ => name.to_string(),
    }
}

/// The "why" sentence of a comparison in words: both sides named by their labels, without the
/// policy's expression.
pub fn comparison_in_words(
    explanation: &Explanation,
    comparison: &Comparison,
    lang: Lang,
) -> String {
    let mut worded_comparison = comparison.clone();
    // A side the policy computes with a function or names without words is "the limit".
    worded_comparison.left = match worded(explanation, &comparison.left, lang) {
        (words, true) => words,
        (_, false) => labels(lang).limit.to_string(),
    };
    // The right side follows a word that governs it (`больше, чем`, `мәнінен`): a label is
    // quoted there so that it stays in the nominative; the word for the limit is not a name.
    worded_comparison.right = match worded(explanation, &comparison.right, lang) {
        (words, true) => labels(lang).quoted.replace("{}", &words),
        (_, false) => labels(lang).limit.to_string(),
    };
    let worded = worded_comparison;
    let sentence = comparison_sentence(&worded, lang);
    // The sentence ends with the comparison as written, `(left op right)`: left out here.
    let tail = format!(" ({} {} {})", worded.left, worded.operator, worded.right);
    let sentence = sentence
        .strip_suffix(&tail)
        .map_or(sentence.clone(), str::to_string);
    // An inexact value already says how it relates to its name: `доход ≈ 105 915,19 ₸`, not
    // `доход = ≈ 105 915,19 ₸`.
    sentence.replace("= ≈", "≈")
}

/// The fact of the case at a JSON path, among the explanation's facts and its reasons' facts.
fn fact_at<'e>(explanation: &'e Explanation, path: &str) -> Option<&'e Fact> {
    explanation
        .facts
        .iter()
        .chain(
            explanation
                .reasons
                .iter()
                .flat_map(|reason| reason.facts.iter()),
        )
        .find(|fact| fact.path == path)
}

/// The "what would change it" sentence of a change, its subject named as the caseworker knows
/// it: a fact by its label and owner, a definition or sum by its label.
pub fn change_in_words(explanation: &Explanation, change: &Change, lang: Lang) -> String {
    let mut worded = change.clone();
    if change.subject.starts_with('/') {
        let named = fact_at(explanation, &change.subject)
            .and_then(|fact| fact_label(explanation, fact.named.as_ref(), lang));
        // A fact the explanation did not read (a field of an absent record) by its field's label.
        let by_field = || {
            let field = change.subject.rsplit('/').next().unwrap_or_default();
            let suffix = format!(".{field}");
            explanation
                .labels
                .keys()
                .find(|key| key.ends_with(&suffix) && key.matches('.').count() == 1)
                .and_then(|key| policy_label(explanation, key, lang))
                .map(str::to_string)
        };
        if let Some(named) = named.or_else(by_field) {
            worded.subject = named;
        }
        // A fact of the case is no sum: the field a sum goes through does not apply.
        worded.field = None;
    } else {
        worded.subject = words_of(explanation, &change.subject, lang);
    }
    if let (Some(field), false) = (&change.field, change.subject.starts_with('/')) {
        // The field by its label, found through a fact the change edits (`Income.amount`).
        let label = change
            .edits
            .iter()
            .find_map(|edit| fact_at(explanation, &edit.path))
            .and_then(|fact| fact.named.as_ref())
            .map(|named| reading::name_of(explanation, &named.target, lang));
        worded.field = Some(label.unwrap_or(field).to_string());
    }
    change_sentence(&worded, lang)
}

/// The "what would change it" sentence of a change.
pub fn change_sentence(change: &Change, lang: Lang) -> String {
    let labels = labels(lang);
    let is_date = matches!(change.value, Quantity::Date(_));
    let subject = match &change.field {
        Some(field) if !change.subject.starts_with('/') => format!(
            "{} ({})",
            change.subject,
            labels.sum_of.replace("{field}", field)
        ),
        _ => change.subject.clone(),
    };
    let value = format_quantity(&change.value, lang);
    let current = format_quantity(&change.current, lang);
    let wanted = match change.kind {
        ChangeKind::AtMost if is_date => format!("{} {value}", labels.on_or_before),
        ChangeKind::AtLeast if is_date => format!("{} {value}", labels.on_or_after),
        ChangeKind::AtMost => format!("{} {value}", labels.at_most),
        ChangeKind::AtLeast => format!("{} {value}", labels.at_least),
        ChangeKind::Set => format!("{} {value}", labels.must_be),
        ChangeKind::Remove => labels.must_be_absent.to_string(),
    };
    let limit = match (&change.limit_operator, &change.limit) {
        (Some(operator), Some(limit)) if operator == "<" || operator == ">" => {
            format!(" ({operator} {})", format_quantity(limit, lang))
        }
        _ => String::new(),
    };
    let confirmed = if change.confirmed {
        format!("; {}", labels.confirmed)
    } else {
        String::new()
    };
    if change.kind == ChangeKind::Remove {
        format!("{subject}: {wanted}{confirmed}")
    } else {
        format!("{subject}: {current} → {wanted}{limit}{confirmed}")
    }
}

fn render_text(explanation: &Explanation, lang: Lang, full: bool) -> String {
    let labels = labels(lang);
    let mut out = header(explanation, labels);
    out.push('\n');
    for section in reading(explanation, lang).sections {
        out.push('\n');
        let _ = writeln!(out, "{}", section.title);
        for line in &section.lines {
            let _ = writeln!(out, "{}{}", "  ".repeat(line.depth + 1), line.text);
        }
    }
    out.push('\n');
    if explanation.reasons.is_empty() {
        let _ = writeln!(out, "{}: {}", labels.reasons, labels.no_reasons);
    } else {
        let _ = writeln!(out, "{}", labels.reasons);
    }
    for (position, reason) in reasons_in_order(explanation).into_iter().enumerate() {
        write_reason(&mut out, explanation, reason, position + 1, lang);
    }
    let other_rules = other_rules(explanation);
    if !other_rules.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "{}", labels.applied);
        for rule in other_rules {
            let _ = writeln!(
                out,
                "  {} = {}",
                rule.rule,
                format_quantity(&rule.value, lang)
            );
            if let Some(text) = message(&rule.messages, lang) {
                let _ = writeln!(out, "    {text}");
            }
            if let Some(source) = &rule.source {
                let source = source_words(explanation, source, lang);
                let _ = writeln!(out, "    {}: {source}", labels.source);
            }
        }
    }
    let other_bands = other_bands(explanation);
    if !other_bands.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "{}", labels.bands);
        for band in other_bands {
            write_band(&mut out, explanation, band, lang);
        }
    }
    out.push('\n');
    let _ = writeln!(out, "{}", labels.facts);
    for fact in &explanation.facts {
        let _ = match fact_label(explanation, fact.named.as_ref(), lang) {
            Some(name) => writeln!(
                out,
                "  {name} = {} ({})",
                fact_value(explanation, fact.named.as_ref(), &fact.value, lang),
                fact.path
            ),
            None => writeln!(
                out,
                "  {} = {}",
                fact.path,
                format_quantity(&fact.value, lang)
            ),
        };
    }
    out.push('\n');
    let _ = writeln!(out, "{}", labels.decisive);
    for branch in &explanation.decisive {
        write_tree(&mut out, branch, "", None, lang);
    }
    match (&explanation.full_trace, full) {
        (Some(trace), true) => {
            out.push('\n');
            let _ = writeln!(out, "{}", labels.trace);
            for branch in trace {
                write_tree(&mut out, branch, "", None, lang);
            }
        }
        _ => {
            out.push('\n');
            let _ = writeln!(out, "{}", labels.full_hint);
        }
    }
    out
}

/// The reasons in reading order: those of the payments first (the decision the family asked
/// about), then those of the other outputs, each group in the runtime's order.
pub fn reasons_in_order(explanation: &Explanation) -> Vec<&Reason> {
    let mut reasons: Vec<&Reason> = explanation.reasons.iter().collect();
    reasons.sort_by_key(|reason| {
        !explanation
            .payments
            .iter()
            .filter_map(|(name, _)| {
                explanation
                    .outputs
                    .iter()
                    .find(|(output, _)| output == name)
            })
            .any(|(_, value)| reading::mentions(value, &reason.rule))
    });
    reasons
}

/// The rules the reading does not show already (in a derivation), other than the criteria of
/// a score that gave no points.
fn other_rules(explanation: &Explanation) -> Vec<&AppliedRule> {
    explanation
        .rules
        .iter()
        .filter(|rule| {
            !explanation
                .payments
                .iter()
                .any(|(name, _)| *name == rule.output)
        })
        .filter(|rule| !rule.value.number().is_some_and(|number| number.is_zero()))
        .filter(|rule| {
            !explanation.bands.iter().any(|band| {
                band.criteria.iter().any(|(id, _)| *id == rule.rule)
                    && is_summarised(explanation, band)
            })
        })
        .collect()
}

/// The banded values the reading does not summarise (those that are not an output's field).
fn other_bands(explanation: &Explanation) -> Vec<&BandPosition> {
    explanation
        .bands
        .iter()
        .filter(|band| !is_summarised(explanation, band))
        .collect()
}

/// Whether the reading summarises a banded value: it is an output's field.
fn is_summarised(explanation: &Explanation, band: &BandPosition) -> bool {
    explanation.outputs.iter().any(|(_, value)| {
        matches!(value, Quantity::Entries(entries) if entries.iter().any(|(key, _)| *key == band.item))
    })
}

fn write_reason(
    out: &mut String,
    explanation: &Explanation,
    reason: &Reason,
    number: usize,
    lang: Lang,
) {
    let labels = labels(lang);
    let text = message(&reason.messages, lang).unwrap_or(labels.no_message);
    let _ = writeln!(out, "  {number}. {}: {text}", reason.rule);
    if let Some(source) = &reason.source {
        let source = source_words(explanation, source, lang);
        let _ = writeln!(out, "     {}: {source}", labels.source);
    }
    if let Some(comparison) = &reason.comparison {
        let _ = writeln!(
            out,
            "     {}: {}",
            labels.why,
            comparison_in_words(explanation, comparison, lang)
        );
    }
    if reason.changes.is_empty() {
        let _ = writeln!(out, "     {}: {}", labels.change, labels.no_change);
    } else {
        let _ = writeln!(out, "     {}:", labels.change);
        for change in &reason.changes {
            let _ = writeln!(out, "       {}", change_in_words(explanation, change, lang));
        }
    }
    if !reason.numbers.is_empty() {
        let _ = writeln!(out, "     {}:", labels.numbers);
        for number in &reason.numbers {
            let mut line = match fact_label(explanation, number.named.as_ref(), lang) {
                Some(name) => format!(
                    "{name} = {}",
                    fact_value(explanation, number.named.as_ref(), &number.value, lang)
                ),
                None => match policy_label(explanation, &number.id, lang).or_else(|| {
                    explanation
                        .rules
                        .iter()
                        .any(|rule| rule.rule == number.id)
                        .then(|| reading::number_name(explanation, &number.id, lang))
                }) {
                    // A rule keeps its id (the reasons are listed by id); other names are
                    // shown by their words alone.
                    Some(label) if number.kind == "rule" => format!(
                        "{label} = {} ({})",
                        reading::step_value(explanation, &number.id, &number.value, lang),
                        number.id
                    ),
                    Some(label) => format!(
                        "{label} = {}",
                        reading::value_of(explanation, &number.id, &number.value, lang)
                    ),
                    None => format!(
                        "{} {} = {}",
                        kind_name(labels, number.kind),
                        number.id,
                        format_quantity(&number.value, lang)
                    ),
                },
            };
            if let Some(date) = number.effective_from {
                let _ = write!(
                    line,
                    " [{}]",
                    labels.effective_from.replace("{}", &format_date(date))
                );
            }
            let _ = writeln!(out, "       {line}");
        }
    }
}

fn write_band(out: &mut String, explanation: &Explanation, band: &BandPosition, lang: Lang) {
    let labels = labels(lang);
    // The score is named once, with its value and the band it falls in; the item's value
    // follows as points, and the item's id when it is a rule (the ids other lines show).
    let score_value = format_quantity(&band.score_value, lang);
    let score_value = if score_value.starts_with('≈') {
        score_value
    } else {
        format!("= {score_value}")
    };
    let item_id = if explanation.rules.iter().any(|rule| rule.rule == band.item) {
        format!(" ({})", band.item)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  {} {score_value}, {} {}: {}{item_id}",
        words_of(explanation, &band.score, lang),
        labels.band,
        band_in_words(explanation, band, lang),
        points_in_words(&band.value, lang)
    );
    if let Some(exception) = &band.exception {
        let _ = writeln!(out, "    {}: {exception}", labels.exception);
    }
    for (template, neighbour) in [
        (labels.to_next, &band.to_next),
        (labels.to_previous, &band.to_previous),
    ] {
        if let Some(neighbour) = neighbour {
            let _ = writeln!(
                out,
                "    {}",
                template
                    .replace("{label}", &interval_in_words(&neighbour.band_label, lang))
                    .replace("{points}", &format_quantity(&neighbour.points, lang))
            );
        }
    }
    if !band.criteria.is_empty() {
        let criteria: Vec<String> = band
            .criteria
            .iter()
            .map(|(id, value)| format!("{id} {}", format_quantity(value, lang)))
            .collect();
        let _ = writeln!(out, "    {}: {}", labels.criteria, criteria.join(", "));
    }
}

/// A band's value as points with the word for them, declined by the number in Russian
/// (`1 балл`, `2 балла`, `5 баллов`, `0,5 балла`) and English (`1 point`, `8 points`); Kazakh
/// keeps the noun singular after a numeral (`8 балл`). A value that is not a number stays as it is.
fn points_in_words(value: &Quantity, lang: Lang) -> String {
    let number = format_quantity(value, lang);
    let whole = match value {
        Quantity::Integer(whole) => Some(whole.unsigned_abs()),
        Quantity::Decimal(_) | Quantity::Money(_) => None,
        _ => return number,
    };
    let word = match (lang, whole) {
        (Lang::Ru, Some(whole)) if whole % 10 == 1 && whole % 100 != 11 => "балл",
        (Lang::Ru, Some(whole))
            if (2..=4).contains(&(whole % 10)) && !(12..=14).contains(&(whole % 100)) =>
        {
            "балла"
        }
        (Lang::Ru, Some(_)) => "баллов",
        (Lang::Ru, None) => "балла",
        (Lang::Kk, _) => "балл",
        (Lang::En, Some(1)) => "point",
        (Lang::En, _) => "points",
    };
    format!("{number} {word}")
}

/// A band's name: the policy's label of it, else its interval in the language's numbers.
fn band_in_words(explanation: &Explanation, band: &BandPosition, lang: Lang) -> String {
    let named = reading::band_name(explanation, band, lang);
    interval_in_words(named, lang)
}

/// An interval label as the analyst wrote it (`(-inf, 0.55)`, `[0.55, 0.70)`) in the language's
/// numbers, `(−∞; 0,55)`; any other label as it is.
fn interval_in_words(label: &str, lang: Lang) -> String {
    if !label.starts_with(['(', '[']) {
        return label.to_string();
    }
    let separator = labels(lang).decimal_separator;
    let list_separator = if separator == ',' { "; " } else { ", " };
    label
        .replace("-inf", "−∞")
        .replace("+inf", "+∞")
        .replace("inf", "∞")
        .replace(", ", "\u{0}")
        .replace('.', &separator.to_string())
        .replace('\u{0}', list_separator)
}

/// A legal source in `lang`: the policy's words for it (`label source "…"`), else its text as
/// the policy writes it (which the explanation's data keeps, as decisions do).
pub fn source_words<'a>(explanation: &'a Explanation, source: &'a str, lang: Lang) -> &'a str {
    policy_label(
        explanation,
        &ereje_runtime::ir::source_label_key(source),
        lang,
    )
    .unwrap_or(source)
}

/// The policy's label of `target` in `lang`, if it gives one.
pub fn policy_label<'a>(explanation: &'a Explanation, target: &str, lang: Lang) -> Option<&'a str> {
    let code = match lang {
        Lang::Ru => "ru",
        Lang::Kk => "kk",
        Lang::En => "en",
    };
    explanation
        .labels
        .get(target)
        .and_then(|messages| messages.get(code))
}

/// One trace node on one line: kind, name (with arguments or path), value and notes.
pub fn node_line(branch: &TraceBranch, lang: Lang) -> String {
    let labels = labels(lang);
    let mut line = String::new();
    line.push_str(kind_name(labels, branch.kind));
    line.push(' ');
    let args = || {
        branch
            .args
            .iter()
            .map(|value| format_quantity(value, lang))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (&branch.path, branch.kind) {
        (Some(path), _) => line.push_str(path),
        (None, "table") => {
            let _ = write!(line, "{}[{}]", branch.id, args());
        }
        (None, _) if !branch.args.is_empty() => {
            let _ = write!(line, "{}({})", branch.id, args());
        }
        (None, _) => line.push_str(&branch.id),
    }
    line.push_str(" = ");
    line.push_str(&truncate(&format_quantity(&branch.value, lang)));
    let mut notes = Vec::new();
    if let Some(date) = branch.effective_from {
        notes.push(labels.effective_from.replace("{}", &format_date(date)));
    }
    if let Some(found) = branch.found {
        notes.push(
            if found {
                labels.row_found
            } else {
                labels.row_missing
            }
            .to_string(),
        );
    }
    if let Some(label) = &branch.label {
        notes.push(format!("{}: {label}", labels.band));
    }
    if let Some(exception) = &branch.exception {
        notes.push(format!("{}: {exception}", labels.exception));
    }
    if !notes.is_empty() {
        let _ = write!(line, " [{}]", notes.join("; "));
    }
    if branch.repeated {
        let _ = write!(line, " ({})", labels.see_above);
    }
    line
}

fn write_tree(
    out: &mut String,
    branch: &TraceBranch,
    prefix: &str,
    last: Option<bool>,
    lang: Lang,
) {
    let (connector, child_prefix) = match last {
        None => ("", String::new()),
        Some(true) => ("└─ ", format!("{prefix}   ")),
        Some(false) => ("├─ ", format!("{prefix}│  ")),
    };
    let _ = writeln!(out, "{prefix}{connector}{}", node_line(branch, lang));
    let count = branch.inputs.len();
    for (position, child) in branch.inputs.iter().enumerate() {
        write_tree(out, child, &child_prefix, Some(position + 1 == count), lang);
    }
}

/// Longest inline rendering of a value in the tree before it is cut.
const INLINE_LIMIT: usize = 120;

fn truncate(text: &str) -> String {
    if text.chars().count() <= INLINE_LIMIT {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(INLINE_LIMIT - 1).collect();
    cut.push('…');
    cut
}

/// A quantity for people: money as `786 400 ₸`, dates as `12.03.2025`, absent values as `—`.
pub fn format_quantity(quantity: &Quantity, lang: Lang) -> String {
    let labels = labels(lang);
    match quantity {
        Quantity::Money(number) => format_money(&number.to_string(), labels.decimal_separator),
        Quantity::Decimal(number) => format_decimal(*number, labels.decimal_separator),
        Quantity::Integer(number) => number.to_string(),
        Quantity::Date(date) => format_date(*date),
        Quantity::Month(month) => match month.split_once('-') {
            Some((year, month)) => format!("{month}.{year}"),
            None => month.clone(),
        },
        Quantity::Quarter(quarter) => quarter.clone(),
        Quantity::Bool(true) => labels.yes.to_string(),
        Quantity::Bool(false) => labels.no.to_string(),
        Quantity::Text(text) | Quantity::Record(text) => text.clone(),
        Quantity::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|item| format_quantity(item, lang))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Quantity::Entries(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(key, item)| format!("{key}: {}", format_quantity(item, lang)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Quantity::Absent => labels.absent.to_string(),
    }
}

/// `12.03.2025`.
pub fn format_date(date: Date) -> String {
    date.format("%d.%m.%Y").to_string()
}

/// A decimal, at most 2 decimal places shown (rounded half-up, marked `≈` when rounded).
fn format_decimal(number: Decimal, decimal_separator: char) -> String {
    let text = number.normalize().to_string();
    match text.split_once('.') {
        Some((_, fraction)) if fraction.len() > 2 => {
            let rounded = number
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            format!(
                "≈ {}",
                rounded
                    .to_string()
                    .replace('.', &decimal_separator.to_string())
            )
        }
        _ => text.replace('.', &decimal_separator.to_string()),
    }
}

/// Money from its exact decimal text: groups of three digits separated by spaces, the decimal
/// separator of the language, `₸`. More than two decimal places are rounded half-up to two and
/// marked `≈` (the exact value is in the JSON explanation).
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

const STYLE: &str = "body{font-family:system-ui,'DejaVu Sans',sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45}\
h1{font-size:1.4rem;margin-bottom:.2rem}h2{font-size:1.15rem;border-bottom:2px solid #2b5d8a;padding-bottom:.2rem;margin-top:1.6rem}\
.meta{color:#555}.headline li{font-size:1.25rem;font-weight:bold;list-style:none}.headline ul{padding-left:.5rem}.outcome{font-size:1.1rem;padding:.6rem 1rem;border-radius:6px;background:#eef3f8;border-left:6px solid #2b5d8a}\
.reason{border:1px solid #ccd;border-radius:6px;padding:.6rem 1rem;margin:.8rem 0;break-inside:avoid}\
.rule{font-family:monospace;font-weight:bold;color:#8a2b2b}.source{color:#555;font-size:.9rem}\
.why{margin:.3rem 0}.change{background:#f3f8ee;padding:.3rem .6rem;border-radius:4px;margin:.3rem 0}\
table{border-collapse:collapse;width:100%;font-size:.92rem}td,th{border:1px solid #ccd;padding:.2rem .5rem;text-align:left;vertical-align:top}\
code{font-family:monospace}details{margin-left:1.1rem}summary{cursor:pointer}.tree>details{margin-left:0}\
.controls button{margin-right:.5rem}\
@media print{.controls{display:none}body{margin:0;max-width:none}details{margin-left:.8rem}}";

const SCRIPT: &str = "function setAll(open){document.querySelectorAll('details').forEach(function(d){d.open=open;});}\
window.addEventListener('beforeprint',function(){setAll(true);});";

fn render_html(explanation: &Explanation, lang: Lang, full: bool) -> String {
    let labels = labels(lang);
    let html_lang = match lang {
        Lang::Ru => "ru",
        Lang::Kk => "kk",
        Lang::En => "en",
    };
    let mut out = String::new();
    let title = header(explanation, labels);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{html_lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", escape(labels.title));
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} <b>{}</b> · {} {} · {} {} {} · <code>{}</code></p>",
        escape(labels.case),
        escape(explanation.case_id.as_deref().unwrap_or("—")),
        escape(labels.as_of),
        format_date(explanation.as_of),
        escape(labels.policy),
        escape(&explanation.policy.name),
        escape(&explanation.policy.version),
        escape(&explanation.policy.digest)
    );
    for section in reading(explanation, lang).sections {
        let _ = writeln!(
            out,
            "<section class=\"{}\">\n<h2>{}</h2>",
            section.kind,
            escape(&section.title)
        );
        html_lines(&mut out, &section.lines);
        out.push_str("</section>\n");
    }
    let _ = writeln!(out, "<h2>{}</h2>", escape(labels.reasons));
    if explanation.reasons.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape(labels.no_reasons));
    }
    for reason in reasons_in_order(explanation) {
        let _ = writeln!(
            out,
            "<section class=\"reason\" id=\"{}\">",
            escape(&reason.rule)
        );
        let _ = writeln!(
            out,
            "<p><span class=\"rule\">{}</span> — {}</p>",
            escape(&reason.rule),
            escape(message(&reason.messages, lang).unwrap_or(labels.no_message))
        );
        if let Some(source) = &reason.source {
            let _ = writeln!(
                out,
                "<p class=\"source\">{}: {}</p>",
                escape(labels.source),
                escape(source_words(explanation, source, lang))
            );
        }
        if let Some(comparison) = &reason.comparison {
            let _ = writeln!(
                out,
                "<p class=\"why\"><b>{}:</b> {}</p>",
                escape(labels.why),
                escape(&comparison_in_words(explanation, comparison, lang))
            );
        }
        let _ = writeln!(out, "<p><b>{}:</b></p>", escape(labels.change));
        if reason.changes.is_empty() {
            let _ = writeln!(out, "<p class=\"change\">{}</p>", escape(labels.no_change));
        }
        for change in &reason.changes {
            let _ = writeln!(
                out,
                "<div class=\"change\">{}</div>",
                escape(&change_in_words(explanation, change, lang))
            );
        }
        if !reason.numbers.is_empty() {
            let _ = writeln!(
                out,
                "<table><tr><th colspan=\"2\">{}</th></tr>",
                escape(labels.numbers)
            );
            for number in &reason.numbers {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td></tr>",
                    escape(
                        &fact_label(explanation, number.named.as_ref(), lang).unwrap_or_else(
                            || match policy_label(explanation, &number.id, lang) {
                                Some(label) => format!("{label} ({})", number.id),
                                None => format!("{} {}", kind_name(labels, number.kind), number.id),
                            }
                        )
                    ),
                    escape(&format_quantity(&number.value, lang))
                );
            }
            out.push_str("</table>\n");
        }
        out.push_str("</section>\n");
    }
    let other_rules = other_rules(explanation);
    if !other_rules.is_empty() {
        let _ = writeln!(out, "<h2>{}</h2>\n<table>", escape(labels.applied));
        for rule in other_rules {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}<br><small class=\"source\">{}</small></td></tr>",
                escape(&rule.rule),
                escape(&format_quantity(&rule.value, lang)),
                escape(message(&rule.messages, lang).unwrap_or("")),
                escape(
                    rule.source
                        .as_deref()
                        .map_or("", |source| source_words(explanation, source, lang))
                )
            );
        }
        out.push_str("</table>\n");
    }
    let other_bands = other_bands(explanation);
    if !other_bands.is_empty() {
        let _ = writeln!(out, "<h2>{}</h2>", escape(labels.bands));
        let mut text = String::new();
        for band in other_bands {
            write_band(&mut text, explanation, band, lang);
        }
        let _ = writeln!(out, "<pre>{}</pre>", escape(&text));
    }
    let _ = writeln!(
        out,
        "<h2>{}</h2>\n<table id=\"facts\">",
        escape(labels.facts)
    );
    for fact in &explanation.facts {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            escape(&fact_label(explanation, fact.named.as_ref(), lang).unwrap_or_default()),
            escape(&fact_value(
                explanation,
                fact.named.as_ref(),
                &fact.value,
                lang
            )),
            escape(&fact.path)
        );
    }
    out.push_str("</table>\n");
    let _ = writeln!(
        out,
        "<h2>{}</h2>\n<p class=\"controls\"><button type=\"button\" id=\"open-all\" onclick=\"setAll(true)\">+</button>\
         <button type=\"button\" id=\"close-all\" onclick=\"setAll(false)\">−</button></p>\n<div class=\"tree\" id=\"decisive\">",
        escape(labels.decisive)
    );
    for branch in &explanation.decisive {
        html_tree(&mut out, branch, lang, 0);
    }
    out.push_str("</div>\n");
    if let (Some(trace), true) = (&explanation.full_trace, full) {
        let _ = writeln!(
            out,
            "<h2>{}</h2>\n<div class=\"tree\" id=\"full\">",
            escape(labels.trace)
        );
        for branch in trace {
            html_tree(&mut out, branch, lang, 2);
        }
        out.push_str("</div>\n");
    }
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}

/// The lines of a reading section as nested lists, by depth.
fn html_lines(out: &mut String, lines: &[reading::Line]) {
    let mut open = 0;
    for line in lines {
        let depth = line.depth + 1;
        while open < depth {
            out.push_str("<ul>");
            open += 1;
        }
        while open > depth {
            out.push_str("</ul>");
            open -= 1;
        }
        let _ = writeln!(out, "<li>{}</li>", escape(&line.text));
    }
    while open > 0 {
        out.push_str("</ul>");
        open -= 1;
    }
    out.push('\n');
}

/// A trace node as nested `<details>`: open to `open_depth` levels.
fn html_tree(out: &mut String, branch: &TraceBranch, lang: Lang, open_depth: usize) {
    let line = escape(&node_line(branch, lang));
    if branch.inputs.is_empty() {
        let _ = writeln!(out, "<div class=\"leaf\">{line}</div>");
        return;
    }
    let open = if open_depth > 0 { " open" } else { "" };
    let _ = writeln!(out, "<details{open}><summary>{line}</summary>");
    for child in &branch.inputs {
        html_tree(out, child, lang, open_depth.saturating_sub(1));
    }
    out.push_str("</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_declined_by_their_number() {
        for (value, lang, expected) in [
            (0, Lang::Ru, "0 баллов"),
            (1, Lang::Ru, "1 балл"),
            (3, Lang::Ru, "3 балла"),
            (11, Lang::Ru, "11 баллов"),
            (12, Lang::Ru, "12 баллов"),
            (21, Lang::Ru, "21 балл"),
            (52, Lang::Ru, "52 балла"),
            (-6, Lang::Ru, "-6 баллов"),
            (8, Lang::Kk, "8 балл"),
            (1, Lang::En, "1 point"),
            (0, Lang::En, "0 points"),
        ] {
            assert_eq!(
                points_in_words(&Quantity::Integer(value), lang),
                expected,
                "{value}"
            );
        }
    }

    fn check(exact: &str, separator: char, expected: &str) {
        assert_eq!(format_money(exact, separator), expected, "{exact}");
    }

    #[test]
    fn money_is_written_as_people_write_it() {
        for (exact, separator, expected) in [
            ("786400", ',', "786 400 ₸"),
            ("12345.67", ',', "12 345,67 ₸"),
            ("5898", '.', "5 898 ₸"),
            ("999.999", '.', "≈ 1 000.00 ₸"),
            ("1251.6666666", ',', "≈ 1 251,67 ₸"),
            ("-100", ',', "−100 ₸"),
        ] {
            check(exact, separator, expected);
        }
        let date = Date::from_ymd_opt(2025, 3, 12).unwrap_or_default();
        assert_eq!(format_date(date), "12.03.2025");
    }

    #[test]
    fn html_escapes_text() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
