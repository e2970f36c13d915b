//! The HTML reports of `ereje diff --format html`: one self-contained page (inline CSS and SVG,
//! no script, no external resource), so that it can be mailed or archived as one file.

use std::fmt::Write as _;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::diff::{money_text, Change, Impact};

use crate::html::escape;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#1b1b1b;max-width:1100px}\
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:2px solid #2a6f97}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#e8f1f7}.num{text-align:right;font-variant-numeric:tabular-nums}\
.gain{color:#1a7f37}.loss{color:#b42318}.added{background:#e6f4ea}.removed{background:#fdecea}.changed{background:#fff7e0}\
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccc;border-radius:6px;padding:.8em 1.2em;min-width:10em}\
.card b{display:block;font-size:1.8em}code{font-size:.9em}svg{display:block;margin:.5em 0}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n",
        escape(title)
    )
}

/// The static difference as a page.
pub fn static_page(old_label: &str, new_label: &str, changes: &[Change]) -> String {
    let mut body = format!(
        "<h1>Static difference</h1><p>old: <b>{}</b><br>new: <b>{}</b></p>\n",
        escape(old_label),
        escape(new_label)
    );
    if changes.is_empty() {
        body.push_str("<p>No difference.</p>\n");
    } else {
        body.push_str(&changes_table(changes));
    }
    page("ereje diff", &body)
}

/// The static difference as an HTML table (kind, name, change, details), one row per change,
/// each row of the class `added`, `removed` or `changed`.
pub fn changes_table(changes: &[Change]) -> String {
    let mut table =
        String::from("<table><tr><th>kind</th><th>name</th><th>change</th><th>details</th></tr>\n");
    for change in changes {
        let details: Vec<String> = change.details.iter().map(|d| escape(d)).collect();
        let _ = writeln!(
            table,
            "<tr class=\"{}\"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            change.change,
            change.kind,
            escape(&change.name),
            change.change,
            details.join("<br>")
        );
    }
    table.push_str("</table>\n");
    table
}

fn to_float(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

/// A histogram of the measure's change over the cases whose measure changed.
fn histogram(changes: &[Decimal]) -> String {
    let (width, height, margin) = (900.0_f64, 260.0_f64, 40.0_f64);
    if changes.is_empty() {
        return "<p>No case's amount changed.</p>\n".to_string();
    }
    let least = changes.iter().copied().min().unwrap_or_default();
    let most = changes.iter().copied().max().unwrap_or_default();
    let bins = 12usize;
    let span = if most == least {
        Decimal::ONE
    } else {
        most - least
    };
    let mut counts = vec![0usize; bins];
    for change in changes {
        let position = to_float((*change - least) / span) * bins as f64;
        let index = (position.floor() as usize).min(bins - 1);
        counts[index] += 1;
    }
    let highest = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let bar_width = (width - 2.0 * margin) / bins as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"distribution of the change\">\n\
         <rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#f7fafc\"/>\n"
    );
    for (index, count) in counts.iter().enumerate() {
        let bar = (height - 2.0 * margin) * (*count as f64) / highest;
        let x = margin + bar_width * index as f64;
        let y = height - margin - bar;
        let low = least + span * Decimal::from(index) / Decimal::from(bins);
        let colour = if low + span / Decimal::from(bins) <= Decimal::ZERO {
            "#b42318"
        } else if low >= Decimal::ZERO {
            "#1a7f37"
        } else {
            "#7a7a7a"
        };
        let _ = writeln!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" fill=\"{colour}\"><title>{count} cases from {}</title></rect>",
            bar_width - 2.0,
            money_text(low.round_dp(0), true)
        );
        if *count > 0 {
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\">{count}</text>",
                x + bar_width / 2.0,
                y - 4.0
            );
        }
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{margin}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#333\"/>\n\
         <text x=\"{margin}\" y=\"{2}\" font-size=\"13\">{3}</text>\n\
         <text x=\"{1}\" y=\"{2}\" font-size=\"13\" text-anchor=\"end\">{4}</text>\n</svg>",
        height - margin,
        width - margin,
        height - margin + 20.0,
        escape(&money_text(least, true)),
        escape(&money_text(most, true)),
    );
    svg
}

/// Grouped bars: each value's count before (grey) and after (blue).
fn before_after(field: &str, counts: &[(&String, &(usize, usize))]) -> String {
    let (width, row, margin) = (900.0_f64, 26.0_f64, 220.0_f64);
    let height = row * counts.len() as f64 + 40.0;
    let highest = counts
        .iter()
        .map(|(_, (a, b))| (*a).max(*b))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let scale = (width - margin - 60.0) / highest;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{} before and after\">\n",
        escape(field)
    );
    for (index, (value, (before, after))) in counts.iter().enumerate() {
        let y = 10.0 + row * index as f64;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"end\">{}</text>\n\
             <rect x=\"{margin}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"10\" fill=\"#9aa5b1\"><title>before: {before}</title></rect>\n\
             <rect x=\"{margin}\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\" fill=\"#2a6f97\"><title>after: {after}</title></rect>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{before} → {after}</text>",
            margin - 8.0,
            y + 15.0,
            escape(value),
            *before as f64 * scale,
            y + 11.0,
            *after as f64 * scale,
            margin + (*before).max(*after) as f64 * scale + 6.0,
            y + 15.0
        );
    }
    let legend = height - 12.0;
    let _ = writeln!(
        svg,
        "<rect x=\"{margin}\" y=\"{:.1}\" width=\"12\" height=\"10\" fill=\"#9aa5b1\"/><text x=\"{:.1}\" y=\"{legend:.1}\" font-size=\"12\">old</text>\n\
         <rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"10\" fill=\"#2a6f97\"/><text x=\"{:.1}\" y=\"{legend:.1}\" font-size=\"12\">new</text>\n</svg>",
        legend - 9.0,
        margin + 16.0,
        margin + 60.0,
        legend - 9.0,
        margin + 76.0
    );
    svg
}

/// A chart's rows: each value with its count before and after.
type BeforeAfterRows<'a> = Vec<(&'a String, &'a (usize, usize))>;

fn case_list(ids: &[String]) -> String {
    escape(&ids.join(", "))
}

/// The impact over a population as a page with charts.
pub fn impact_page(impact: &Impact) -> String {
    let mut body = format!(
        "<h1>Impact of a policy change</h1><p>old: <b>{}</b><br>new: <b>{}</b></p>\n",
        escape(&impact.old_label),
        escape(&impact.new_label)
    );
    let _ = writeln!(
        body,
        "<div class=\"cards\"><div class=\"card\">cases<b>{}</b></div><div class=\"card\">decision changed<b>{}</b></div>\
         <div class=\"card\">not decided<b>{}</b></div>",
        impact.cases,
        impact.changed,
        impact.errors.len()
    );
    if let Some(measure) = &impact.measure {
        if let Some((_, _, old_total, new_total)) = impact.money.iter().find(|m| &m.0 == measure) {
            let change = *new_total - *old_total;
            let class = change_class(change);
            let _ = writeln!(
                body,
                "<div class=\"card\">change of {}<b class=\"{class}\">{}</b>{} → {}</div>",
                escape(measure),
                money_text(change, true),
                money_text(*old_total, false),
                money_text(*new_total, false)
            );
        }
    }
    body.push_str("</div>\n");
    if let Some(measure) = &impact.measure {
        let _ = writeln!(
            body,
            "<h2>Distribution of the change of {}</h2><p>Cases whose amount changed, by the size of the change.</p>",
            escape(measure)
        );
        let changes: Vec<Decimal> = impact.measure_changes.iter().map(|c| c.3).collect();
        body.push_str(&histogram(&changes));
    }
    if !impact.transitions.is_empty() {
        body.push_str("<h2>Changed values</h2><table><tr><th>field</th><th>old → new</th><th class=\"num\">cases</th><th>case ids</th></tr>\n");
        for (path, changes) in &impact.transitions {
            for ((a, b), ids) in changes {
                let _ = writeln!(
                    body,
                    "<tr><td><code>{}</code></td><td>{} → {}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                    escape(path),
                    escape(a),
                    escape(b),
                    ids.len(),
                    case_list(ids)
                );
            }
        }
        body.push_str("</table>\n");
    }
    let charts: Vec<(&String, BeforeAfterRows)> = impact
        .distributions
        .iter()
        .filter(|(_, counts)| (2..=12).contains(&counts.len()))
        .map(|(path, counts)| (path, counts.iter().collect()))
        .collect();
    if !charts.is_empty() {
        body.push_str("<h2>Before and after</h2>\n");
        for (path, counts) in charts {
            let _ = writeln!(body, "<h3><code>{}</code></h3>", escape(path));
            body.push_str(&before_after(path, &counts));
        }
    }
    if !impact.money.is_empty() {
        body.push_str("<h2>Money</h2><table><tr><th>field</th><th class=\"num\">cases changed</th><th class=\"num\">old total</th><th class=\"num\">new total</th><th class=\"num\">change</th></tr>\n");
        for (path, n, a, b) in &impact.money {
            let change = *b - *a;
            let class = change_class(change);
            let _ = writeln!(
                body,
                "<tr><td><code>{}</code></td><td class=\"num\">{n}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num {class}\">{}</td></tr>",
                escape(path),
                money_text(*a, false),
                money_text(*b, false),
                money_text(change, true)
            );
        }
        body.push_str("</table>\n");
    }
    if !impact.reasons.is_empty() {
        body.push_str("<h2>Cases by the rule that made the difference</h2><table><tr><th>field</th><th>rule</th><th class=\"num\">cases</th><th>case ids</th></tr>\n");
        for (path, groups) in &impact.reasons {
            for (id, cases) in groups {
                let (sign, rule) = id.split_at(1);
                let (class, word) = if sign == "+" {
                    ("removed", "now holds")
                } else {
                    ("added", "no longer holds")
                };
                let _ = writeln!(
                    body,
                    "<tr class=\"{class}\"><td><code>{}</code></td><td><code>{}</code> {word}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                    escape(path),
                    escape(rule),
                    cases.len(),
                    case_list(cases)
                );
            }
        }
        body.push_str("</table>\n");
    }
    if let Some(measure) = &impact.measure {
        for (title, rows, class) in [
            (
                "Largest winners",
                impact.winners().collect::<Vec<_>>(),
                "gain",
            ),
            (
                "Largest losers",
                impact.losers().collect::<Vec<_>>(),
                "loss",
            ),
        ] {
            let _ = writeln!(body, "<h2>{title} by <code>{}</code></h2>", escape(measure));
            if rows.is_empty() {
                body.push_str("<p>None.</p>\n");
                continue;
            }
            body.push_str("<table><tr><th>case</th><th class=\"num\">old</th><th class=\"num\">new</th><th class=\"num\">change</th></tr>\n");
            for (id, a, b, change) in rows {
                let _ = writeln!(
                    body,
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num {class}\">{}</td></tr>",
                    escape(id),
                    money_text(*a, false),
                    money_text(*b, false),
                    money_text(*change, true)
                );
            }
            body.push_str("</table>\n");
        }
    }
    if !impact.errors.is_empty() {
        body.push_str(
            "<h2>Cases not decided</h2><table><tr><th>case</th><th>old</th><th>new</th></tr>\n",
        );
        for (id, a, b) in &impact.errors {
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(id),
                escape(a),
                escape(b)
            );
        }
        body.push_str("</table>\n");
    }
    page("ereje diff: impact", &body)
}

/// The CSS class of a money change: `loss` below zero, else `gain`.
fn change_class(change: Decimal) -> &'static str {
    if change < Decimal::ZERO {
        "loss"
    } else {
        "gain"
    }
}
