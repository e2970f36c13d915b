//! The explanation in the order a caseworker reads it to the family: the headline of each
//! payment the family asked about (granted or refused, the amount, the number of reasons), the
//! derivation of the amount with its numbers, the other parts of the payment (the pilot), the
//! banded summaries (the welfare category with its score and the way to the next band), and the
//! other outputs as one short list (the local measures).
//!
//! A [`Reading`] is built once, in one language, from the runtime's [`Explanation`]; the text,
//! the HTML page and the JSON all show the same sections in the same order. Which output is a
//! payment, which is banded and which is a list is read from the policy (its `payments`
//! markers, its bands), never from names in Rust.

use ereje_runtime::explain::{AppliedRule, BandPosition, BasisEntry, Override, Quantity};
use ereje_runtime::value::Date;
use ereje_runtime::Explanation;
use serde::Serialize;

use super::{format_quantity, labels, message, policy_label, Lang};

/// The sections of an explanation in reading order, with their words in one language.
#[derive(Debug, Clone, Serialize)]
pub struct Reading {
    pub sections: Vec<Section>,
}

/// One section: what it is (`headline`, `derivation`, `part`, `summary`, `list`), its title and
/// its lines.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub kind: &'static str,
    pub title: String,
    pub lines: Vec<Line>,
}

/// One line of a section, indented by `depth` under the line above.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub depth: usize,
    pub text: String,
}

impl Section {
    fn push(&mut self, depth: usize, text: String) {
        self.lines.push(Line { depth, text });
    }
}

/// A title: the name with its first letter capitalised (labels are written as they read inside
/// a sentence).
fn capitalized(name: &str) -> String {
    let mut characters = name.chars();
    characters.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(characters).collect()
    })
}

/// The name a caseworker reads for `target`: the policy's label, else the last part of it.
pub fn name_of<'a>(explanation: &'a Explanation, target: &'a str, lang: Lang) -> &'a str {
    policy_label(explanation, target, lang)
        .unwrap_or_else(|| target.rsplit('.').next().unwrap_or(target))
}

/// A value as a caseworker reads it: a text value by its label (`asp.outcome.granted`), a list
/// of texts joined by commas, anything else formatted for people.
pub fn value_of(explanation: &Explanation, target: &str, value: &Quantity, lang: Lang) -> String {
    match value {
        Quantity::Text(text) => {
            let key = format!("{target}.{text}");
            policy_label(explanation, &key, lang)
                .unwrap_or(text)
                .to_string()
        }
        Quantity::List(items) if items.is_empty() => labels(lang).absent.to_string(),
        Quantity::List(items) => items
            .iter()
            .map(|item| value_of(explanation, target, item, lang))
            .collect::<Vec<_>>()
            .join(", "),
        other => format_quantity(other, lang),
    }
}

/// Whether a value mentions `text` (a rule id among an output's reasons).
pub fn mentions(value: &Quantity, text: &str) -> bool {
    match value {
        Quantity::Text(own) => own == text,
        Quantity::List(items) => items.iter().any(|item| mentions(item, text)),
        Quantity::Entries(entries) => entries.iter().any(|(_, item)| mentions(item, text)),
        _ => false,
    }
}

/// Builds the reading of an explanation in a language.
pub fn reading(explanation: &Explanation, lang: Lang) -> Reading {
    let mut sections = Vec::new();
    for (name, payment_fields) in &explanation.payments {
        let Some((_, value)) = explanation
            .outputs
            .iter()
            .find(|(output, _)| output == name)
        else {
            continue;
        };
        sections.push(headline(explanation, name, payment_fields, value, lang));
        let derivation = derivation(explanation, name, lang);
        if !derivation.lines.is_empty() {
            sections.push(derivation);
        }
        sections.extend(parts(explanation, name, payment_fields, value, lang));
    }
    for (name, value) in &explanation.outputs {
        if explanation
            .payments
            .iter()
            .any(|(payment, _)| payment == name)
        {
            continue;
        }
        let banded: Vec<&BandPosition> = explanation
            .bands
            .iter()
            .filter(|band| has_field(value, &band.item))
            .collect();
        if banded.is_empty() {
            sections.push(list(explanation, name, value, lang));
        } else {
            sections.push(summary(explanation, name, value, &banded, lang));
        }
    }
    Reading { sections }
}

fn has_field(value: &Quantity, field: &str) -> bool {
    matches!(value, Quantity::Entries(entries) if entries.iter().any(|(key, _)| key == field))
}

fn entries(value: &Quantity) -> &[(String, Quantity)] {
    match value {
        Quantity::Entries(entries) => entries,
        _ => &[],
    }
}

/// "ASP: granted, total per month 146 737 ₸" or "ASP: refused (reasons: 2)".
fn headline(
    explanation: &Explanation,
    name: &str,
    payment_fields: &[String],
    value: &Quantity,
    lang: Lang,
) -> Section {
    let words = labels(lang);
    let mut parts = Vec::new();
    // The output's verdict: its first text field (`outcome: granted`).
    if let Some((field, verdict)) = entries(value)
        .iter()
        .find(|(_, item)| matches!(item, Quantity::Text(_)))
    {
        parts.push(value_of(
            explanation,
            &format!("{name}.{field}"),
            verdict,
            lang,
        ));
    }
    let reasons = explanation
        .reasons
        .iter()
        .filter(|reason| mentions(value, &reason.rule))
        .count();
    if reasons > 0 {
        parts.push(words.reason_count.replace("{}", &reasons.to_string()));
    } else {
        for field in payment_fields {
            if let Some((_, amount)) = entries(value).iter().find(|(key, _)| key == field) {
                let target = format!("{name}.{field}");
                parts.push(format!(
                    "{}: {}",
                    name_of(explanation, &target, lang),
                    format_quantity(amount, lang)
                ));
            }
        }
        if let Quantity::Money(_) = value {
            parts.push(format_quantity(value, lang));
        }
    }
    let mut section = Section {
        kind: "headline",
        title: capitalized(name_of(explanation, name, lang)),
        lines: Vec::new(),
    };
    section.push(0, parts.join(", "));
    section
}

/// The rules the payment output used, each with its value, what it says and the numbers it was
/// computed from.
fn derivation(explanation: &Explanation, name: &str, lang: Lang) -> Section {
    let words = labels(lang);
    let mut section = Section {
        kind: "derivation",
        title: words.derivation.to_string(),
        lines: Vec::new(),
    };
    for rule in explanation.rules.iter().filter(|rule| rule.output == name) {
        derivation_step(explanation, &mut section, rule, lang);
    }
    section
}

fn derivation_step(
    explanation: &Explanation,
    section: &mut Section,
    rule: &AppliedRule,
    lang: Lang,
) {
    let said = message(&rule.messages, lang).unwrap_or("");
    let (step, how) = step_and_how(explanation, &rule.rule, said, lang);
    section.push(
        0,
        format!(
            "{step}: {} ({})",
            step_value(explanation, &rule.rule, &rule.value, lang),
            rule.rule
        ),
    );
    if !how.is_empty() {
        section.push(1, how.to_string());
    }
    // The numbers the step was computed from; the yes/no gates on the way are the reasons'
    // business, not the calculation's, and the facts of the case and the calls of a function
    // (one per member) are already in the step's value and in the facts of the case.
    for number in rule.numbers.iter().filter(|number| {
        !matches!(number.value, Quantity::Bool(_)) && !matches!(number.kind, "input" | "function")
    }) {
        section.push(
            1,
            format!(
                "{}: {}",
                number_name(explanation, &number.id, lang),
                step_value(explanation, &number.id, &number.value, lang)
            ),
        );
        record_lines(explanation, section, &number.facts, lang);
    }
    if let Some(source) = &rule.source {
        let source = super::source_words(explanation, source, lang);
        section.push(1, format!("{}: {source}", labels(lang).source));
    }
}

/// A step's name and how it is computed: the policy's label of the rule when it has one (the
/// whole message is then the how), else the message's head before its colon ("Per-capita
/// monthly income: counted income ÷ 3 ÷ members"), else the rule id.
fn step_and_how<'a>(
    explanation: &'a Explanation,
    rule: &'a str,
    said: &'a str,
    lang: Lang,
) -> (&'a str, &'a str) {
    if let Some(label) = policy_label(explanation, rule, lang) {
        return (label, said);
    }
    match said.split_once(": ") {
        Some((head, rest)) => (head, rest),
        None if said.is_empty() => (rule, ""),
        None => (rule, said),
    }
}

/// The name of a number in a derivation: its label, else the step name of the rule it is.
pub fn number_name<'a>(explanation: &'a Explanation, id: &'a str, lang: Lang) -> &'a str {
    if let Some(label) = policy_label(explanation, id, lang) {
        return label;
    }
    explanation
        .rules
        .iter()
        .find(|rule| rule.rule == id)
        .map_or(id, |rule| {
            let said = message(&rule.messages, lang).unwrap_or("");
            step_and_how(explanation, &rule.rule, said, lang).0
        })
}

/// A derivation value: a text value by the label the outputs give it (a rule's value that an
/// output field shows, `asp.aid_kind.conditional`), an empty map as absent.
pub fn step_value(explanation: &Explanation, id: &str, value: &Quantity, lang: Lang) -> String {
    match value {
        Quantity::Text(text) => {
            let suffix = format!(".{text}");
            explanation
                .labels
                .keys()
                .find(|key| key.ends_with(&suffix) && key.matches('.').count() == 2)
                .and_then(|key| policy_label(explanation, key, lang))
                .map_or_else(|| value_of(explanation, id, value, lang), String::from)
        }
        Quantity::Entries(entries) if entries.is_empty() => labels(lang).absent.to_string(),
        Quantity::Entries(entries) => {
            // Entries keyed by members' ids name each member by its role too (`m3, ребёнок`),
            // and are then set apart by semicolons, which the commas inside them need.
            let mut any_role = false;
            let shown: Vec<String> = entries
                .iter()
                .map(|(key, item)| {
                    let name = match member_words(explanation, key, lang) {
                        Some(words) => {
                            any_role = true;
                            words
                        }
                        None => key.clone(),
                    };
                    format!("{name}: {}", format_quantity(item, lang))
                })
                .collect();
            shown.join(if any_role { "; " } else { ", " })
        }
        other => value_of(explanation, id, other, lang),
    }
}

/// The record fields of a payment output other than its verdict and amounts (the pilot), each
/// as a section of its own.
fn parts(
    explanation: &Explanation,
    name: &str,
    payment_fields: &[String],
    value: &Quantity,
    lang: Lang,
) -> Vec<Section> {
    let mut out = Vec::new();
    for (field, item) in entries(value) {
        if payment_fields.contains(field) {
            continue;
        }
        let target = format!("{name}.{field}");
        let title = capitalized(name_of(explanation, &target, lang));
        let mut section = Section {
            kind: "part",
            title,
            lines: Vec::new(),
        };
        match item {
            Quantity::Entries(inner) if !inner.is_empty() => {
                for (key, inner_value) in inner {
                    let inner_target = format!("{target}.{key}");
                    section.push(
                        0,
                        format!(
                            "{}: {}",
                            key_name(explanation, &inner_target, key, lang),
                            value_of(explanation, &inner_target, inner_value, lang)
                        ),
                    );
                }
            }
            Quantity::Absent => {
                section.push(0, labels(lang).not_applicable.to_string());
            }
            _ => continue,
        }
        if let Some(found) = explanation
            .overrides
            .iter()
            .find(|found| found.value == *item)
        {
            override_lines(explanation, &mut section, found, item, lang);
        }
        out.push(section);
    }
    out
}

/// A banded output: each band's value by its label, the score, the points to the neighbouring
/// bands, an exception, and the criteria that gave points.
fn summary(
    explanation: &Explanation,
    name: &str,
    value: &Quantity,
    banded: &[&BandPosition],
    lang: Lang,
) -> Section {
    let words = labels(lang);
    let mut section = Section {
        kind: "summary",
        title: capitalized(name_of(explanation, name, lang)),
        lines: Vec::new(),
    };
    for band in banded {
        let target = format!("{name}.{}", band.item);
        let score_target = format!("{name}.{}", band.score);
        let score_name = if has_field(value, &band.score) {
            name_of(explanation, &score_target, lang)
        } else {
            band.score.as_str()
        };
        section.push(
            0,
            format!(
                "{}: {} {} ({score_name}: {})",
                name_of(explanation, &target, lang),
                format_quantity(&band.value, lang),
                words
                    .quoted
                    .replace("{}", band_name(explanation, band, lang)),
                format_quantity(&band.score_value, lang)
            ),
        );
        if let Some(exception) = &band.exception {
            // An override: the rule that gave the value, by what it says, and its source.
            let found = explanation
                .overrides
                .iter()
                .find(|found| found.exception == *exception);
            match found.and_then(|found| message(&found.messages, lang)) {
                Some(said) => section.push(1, format!("{}: {said} ({exception})", words.exception)),
                None => section.push(1, format!("{}: {exception}", words.exception)),
            }
            if let Some(source) = found.and_then(|found| found.source.as_deref()) {
                let source = super::source_words(explanation, source, lang);
                section.push(2, format!("{}: {source}", words.source));
            }
        }
        for (template, neighbour) in [
            (words.to_next, &band.to_next),
            (words.to_previous, &band.to_previous),
        ] {
            if let Some(neighbour) = neighbour {
                let key = format!("{}.{}", band.bands, band_key(&neighbour.band_value));
                let label = policy_label(explanation, &key, lang).unwrap_or(&neighbour.band_label);
                section.push(
                    1,
                    template
                        .replace("{label}", label)
                        .replace("{points}", &format_quantity(&neighbour.points, lang)),
                );
            }
        }
        if !band.criteria.is_empty() {
            section.push(1, format!("{}:", words.criteria));
            for (rule, points) in &band.criteria {
                let said = explanation
                    .rules
                    .iter()
                    .find(|applied| applied.rule == *rule)
                    .and_then(|applied| message(&applied.messages, lang))
                    .unwrap_or("");
                let said = said.split_once(':').map_or(said, |(head, _)| head);
                let points = format_quantity(points, lang);
                let signed = if points.starts_with('-') {
                    points.replacen('-', "−", 1)
                } else {
                    format!("+{points}")
                };
                section.push(2, format!("{said}: {signed} ({rule})"));
            }
        }
    }
    section
}

fn band_key(value: &Quantity) -> String {
    match value {
        Quantity::Integer(number) => number.to_string(),
        Quantity::Text(text) => text.clone(),
        other => format_quantity(other, Lang::En),
    }
}

/// The band's name in the language: the policy's label of `BANDS.value`, else its own label.
pub fn band_name<'a>(explanation: &'a Explanation, band: &'a BandPosition, lang: Lang) -> &'a str {
    let key = format!("{}.{}", band.bands, band_key(&band.band_value));
    policy_label(explanation, &key, lang).unwrap_or(&band.band_label)
}

/// An output of records (the local measures) as one line each: its name, its first plain
/// value, and its reasons when it has any.
fn list(explanation: &Explanation, name: &str, value: &Quantity, lang: Lang) -> Section {
    let mut section = Section {
        kind: "list",
        title: capitalized(name_of(explanation, name, lang)),
        lines: Vec::new(),
    };
    for (field, item) in entries(value) {
        let target = format!("{name}.{field}");
        let mut shown = Vec::new();
        for (key, inner) in entries(item) {
            let inner_target = format!("{target}.{key}");
            match inner {
                Quantity::List(items) if items.is_empty() => {}
                Quantity::List(_) => shown.push(format!(
                    "{}: {}",
                    name_of(explanation, &inner_target, lang),
                    value_of(explanation, &inner_target, inner, lang)
                )),
                other => shown.push(value_of(explanation, &inner_target, other, lang)),
            }
        }
        if shown.is_empty() {
            shown.push(value_of(explanation, &target, item, lang));
        }
        let title = key_name(explanation, &target, field, lang);
        section.push(0, format!("{title}: {}", shown.join("; ")));
    }
    section
}

/// The name of an output's entry: the policy's label of it, else, for a member's id, the id with
/// the member's role (`m3, ребёнок`), else the key itself.
fn key_name(explanation: &Explanation, target: &str, key: &str, lang: Lang) -> String {
    policy_label(explanation, target, lang)
        .map(str::to_string)
        .or_else(|| member_words(explanation, key, lang))
        .unwrap_or_else(|| name_of(explanation, target, lang).to_string())
}

/// A member's id with its role's label (`m3, ребёнок`), when `key` is the id of a member whose
/// case gives a role the policy labels.
fn member_words(explanation: &Explanation, key: &str, lang: Lang) -> Option<String> {
    let role = explanation
        .members
        .iter()
        .find(|member| member.id == key)?
        .role
        .as_deref()?;
    policy_label(explanation, role, lang).map(|role| format!("{key}, {role}"))
}

/// What an exception that gave a part its value says (the rule's message for its value), and
/// for each member the part names whose call did not hold (the adult who did not consent in
/// time): the facts and computed dates that call read, a computed date with the days it skipped
/// as not worked by the policy's calendar.
fn override_lines(
    explanation: &Explanation,
    section: &mut Section,
    found: &Override,
    part: &Quantity,
    lang: Lang,
) {
    if let Some(said) = message(&found.messages, lang) {
        section.push(0, said.to_string());
    }
    let basis = &found.basis;
    // The dates the policy computed on the way (a deadline), once, each with the days it
    // skipped as not worked and the dates of the case it was computed from.
    let mut shown: Vec<&str> = Vec::new();
    for (position, entry) in basis.iter().enumerate() {
        let Quantity::Date(until) = entry.number.value else {
            continue;
        };
        if entry.number.kind != "definition" || shown.contains(&entry.number.id.as_str()) {
            continue;
        }
        shown.push(&entry.number.id);
        let from: Vec<&BasisEntry> = basis[position + 1..]
            .iter()
            .take_while(|inner| inner.depth > entry.depth)
            .filter(|inner| {
                inner.number.kind == "input" && matches!(inner.number.value, Quantity::Date(_))
            })
            .collect();
        let mut line = format!(
            "{}: {}",
            name_of(explanation, &entry.number.id, lang),
            format_quantity(&entry.number.value, lang)
        );
        if let Some(Quantity::Date(start)) = from.first().map(|inner| &inner.number.value) {
            let skipped = skipped_days(explanation, *start, until, lang);
            if !skipped.is_empty() {
                line.push_str(&format!(
                    " ({})",
                    labels(lang).skipped.replace("{}", &skipped.join(", "))
                ));
            }
        }
        section.push(0, line);
        for inner in from {
            section.push(1, fact_line(explanation, inner, None, lang));
        }
    }
    // Each member the part names whose call did not hold: the facts of the case it read.
    for (position, call) in basis.iter().enumerate() {
        let number = &call.number;
        let owner = number
            .named
            .as_ref()
            .and_then(|named| named.owner.as_deref());
        let Some(owner) = owner else {
            continue;
        };
        let failed = number.kind == "function" && number.value == Quantity::Bool(false);
        if !failed || !mentions(part, owner) {
            continue;
        }
        let owner = number
            .named
            .as_ref()
            .and_then(|named| super::owner_words(explanation, named, lang))
            .unwrap_or_else(|| owner.to_string());
        let owner = owner.as_str();
        section.push(0, format!("{owner}:"));
        let mut inside_definition: Option<usize> = None;
        for entry in basis[position + 1..]
            .iter()
            .take_while(|entry| entry.depth > call.depth)
        {
            if inside_definition.is_some_and(|depth| entry.depth > depth) {
                continue;
            }
            inside_definition = None;
            if entry.number.kind == "definition" {
                inside_definition = Some(entry.depth);
                continue;
            }
            if entry.number.kind == "input" {
                section.push(1, fact_line(explanation, entry, Some(owner), lang));
            }
        }
    }
}

/// A fact of the case as `label: value`, without its owner's id when the line is under it.
fn fact_line(
    explanation: &Explanation,
    entry: &BasisEntry,
    owner: Option<&str>,
    lang: Lang,
) -> String {
    let label = super::fact_label(explanation, entry.number.named.as_ref(), lang)
        .unwrap_or_else(|| entry.number.id.clone());
    let name = match owner {
        Some(owner) => label
            .strip_prefix(&format!("{owner}: "))
            .map_or(label.clone(), str::to_string),
        None => label,
    };
    let value = super::fact_value(
        explanation,
        entry.number.named.as_ref(),
        &entry.number.value,
        lang,
    );
    format!("{name}: {value}")
}

/// The days strictly between `from` and `until`, when the calendar works none of them, each as a
/// weekend day or a holiday.
fn skipped_days(explanation: &Explanation, from: Date, until: Date, lang: Lang) -> Vec<String> {
    let words = labels(lang);
    let mut out = Vec::new();
    let mut day = from.succ_opt();
    while let Some(current) = day.filter(|current| *current < until) {
        if !explanation.non_working_days.contains(&current) {
            return Vec::new();
        }
        // ISO weekday: 6 and 7 are Saturday and Sunday.
        let weekend = matches!(current.format("%u").to_string().as_str(), "6" | "7");
        let kind = if weekend {
            words.weekend
        } else {
            words.holiday
        };
        out.push(format!("{} — {kind}", super::format_date(current)));
        day = current.succ_opt();
    }
    out
}

/// The records of the case a step read (the incomes a sum went through), one line each by its
/// owner: its values, and for a record whose amount was not read, the field that left it out.
fn record_lines(
    explanation: &Explanation,
    section: &mut Section,
    facts: &[ereje_runtime::explain::Fact],
    lang: Lang,
) {
    let mut records: Vec<(&str, Vec<&ereje_runtime::explain::Fact>)> = Vec::new();
    for fact in facts {
        let parent = fact.path.rsplit_once('/').map_or("", |(parent, _)| parent);
        match records.iter_mut().find(|(path, _)| *path == parent) {
            Some((_, fields)) => fields.push(fact),
            None => records.push((parent, vec![fact])),
        }
    }
    for (_, fields) in records {
        let owner = fields.iter().find_map(|fact| {
            fact.named
                .as_ref()
                .and_then(|named| super::owner_words(explanation, named, lang))
        });
        let amount = fields
            .iter()
            .find(|fact| matches!(fact.value, Quantity::Money(_)));
        let shown: Vec<String> = fields
            .iter()
            .filter(|fact| !matches!(fact.value, Quantity::Money(_)))
            .map(|fact| super::fact_value(explanation, fact.named.as_ref(), &fact.value, lang))
            .collect();
        let mut line = owner.map_or_else(String::new, |owner| format!("{owner}: "));
        line.push_str(&shown.join(", "));
        match (amount, fields.last()) {
            (Some(amount), _) => {
                line.push_str(&format!(": {}", format_quantity(&amount.value, lang)));
            }
            (None, Some(last)) => {
                let field = last.named.as_ref().map_or(last.path.as_str(), |named| {
                    name_of(explanation, &named.target, lang)
                });
                line.push_str(&format!(
                    " — {}",
                    labels(lang).left_out.replace("{}", field)
                ));
            }
            (None, None) => {}
        }
        section.push(2, line);
    }
}
