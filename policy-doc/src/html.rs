//! The frame every page shares (style, header, content security policy), the search script,
//! and the writing of expressions with links on their names.

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use ereje_report::html::escape;

use crate::labels::Labels;

/// The pages load nothing: no script, style, image, font or frame from anywhere, and make no
/// request (`connect-src` falls back to `'none'`). Their only style and script are inline.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const STYLE: &str = "\
:root{--ink:#1d2430;--muted:#5b6575;--line:#d5dbe3;--accent:#1f5f8b;--soft:#eef4f9;--warn:#fff6dd}\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;color:var(--ink);background:#fff}\
header{background:var(--accent);color:#fff;padding:.6rem 1rem}\
header a{color:#fff;text-decoration:none;font-weight:600;margin-right:1.2rem}\
header a:hover{text-decoration:underline}\
nav.switch{margin:0 0 .8rem;color:var(--muted)}nav.switch a,nav.switch b{margin-right:.8rem}\
nav.switch b{color:var(--ink)}\
main{max-width:62rem;margin:0 auto;padding:1rem 1rem 3rem}\
h1{font-size:1.7rem;margin:.6rem 0 .2rem;word-break:break-word}\
h2{font-size:1.2rem;margin:1.8rem 0 .5rem;padding-bottom:.2rem;border-bottom:2px solid var(--soft)}\
a{color:var(--accent)}\
.kind{display:inline-block;font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}\
.meta{color:var(--muted);margin:.2rem 0}\
.source{background:var(--soft);border-left:4px solid var(--accent);padding:.5rem .8rem;margin:.5rem 0}\
.messages{margin:.3rem 0;padding:0;list-style:none}\
.messages li{margin:.35rem 0;display:grid;grid-template-columns:2.4rem 1fr}\
.lang{padding-top:.15rem;font-size:.75rem;font-weight:700;color:var(--muted);text-transform:uppercase}\
pre.formula{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f8fa;border:1px solid var(--line);border-radius:6px;padding:.7rem .9rem;font:.9rem/1.5 ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;margin:.4rem 0}\
pre.formula a{text-decoration:none;border-bottom:1px dotted var(--accent)}\
.scroll{overflow-x:auto;margin:.4rem 0}\
table{border-collapse:collapse;font-size:.93rem;min-width:50%}\
th,td{border:1px solid var(--line);padding:.3rem .6rem;text-align:left;vertical-align:top}\
th{background:var(--soft)}\
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
tr.added{background:#e8f5ec}tr.removed{background:#fdeceb}tr.changed{background:var(--warn)}\
ul.links{padding-left:1.2rem;margin:.3rem 0}\
ul.links li{margin:.15rem 0}\
.note{background:var(--warn);padding:.5rem .8rem;border-radius:6px}\
.columns{columns:2 18rem;column-gap:2rem}\
.columns li{break-inside:avoid}\
#search{width:100%;font-size:1.05rem;padding:.55rem .7rem;border:2px solid var(--accent);border-radius:6px}\
#results{list-style:none;padding:0;margin:.5rem 0}\
#results li{padding:.35rem 0;border-bottom:1px solid var(--line)}\
#results small{display:block;color:var(--muted)}\
code{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.92em}\
@media (max-width:40rem){body{font-size:15px}pre.formula{font-size:.74rem;padding:.5rem}main{padding:.6rem .7rem 2rem}h1{font-size:1.4rem}.columns{columns:1}}\
@media print{header,.search-box{display:none}main{max-width:none;padding:0}a{color:inherit;text-decoration:none}\
pre.formula{border-color:#999}h2{break-after:avoid}tr{break-inside:avoid}}";

/// The search over the index embedded in `#search-data`: every word typed must occur in an
/// entry's name, kind, messages or source; case and `ё`/`е` do not matter.
const SEARCH_SCRIPT: &str = "(function(){\
var data=JSON.parse(document.getElementById('search-data').textContent);\
var input=document.getElementById('search'),out=document.getElementById('results');\
function norm(s){return s.toLowerCase().replace(/ё/g,'е');}\
data.forEach(function(e){e.push(norm(e[0]+' '+e[1]+' '+e[3]));});\
function run(){var words=norm(input.value).split(/\\s+/).filter(Boolean);out.textContent='';\
if(!words.length){return;}\
var found=data.filter(function(e){return words.every(function(w){return e[5].indexOf(w)>=0;});});\
if(!found.length){var none=document.createElement('li');none.textContent=out.dataset.none;out.appendChild(none);return;}\
found.slice(0,100).forEach(function(e){var li=document.createElement('li'),a=document.createElement('a');\
a.href=e[2];a.textContent=e[1];li.appendChild(a);li.appendChild(document.createTextNode(' \\u00b7 '+e[0]));\
if(e[4]){var s=document.createElement('small');s.textContent=e[4];li.appendChild(s);}out.appendChild(li);});}\
input.addEventListener('input',run);run();})();";

/// One entry of the search index: the kind, the name, the page, the words searched besides the
/// name and kind, and the line shown under a result.
pub struct SearchEntry {
    pub kind: &'static str,
    pub name: String,
    pub page: String,
    pub words: String,
    pub summary: String,
}

/// The search box, its results, the index as JSON and the script.
pub fn search_box(labels: &Labels, entries: &[SearchEntry]) -> String {
    let data: Vec<serde_json::Value> = entries
        .iter()
        .map(|entry| {
            serde_json::json!([
                entry.kind,
                entry.name,
                entry.page,
                entry.words,
                entry.summary
            ])
        })
        .collect();
    // `<` never appears raw inside the script element, so no text can close it.
    let data = serde_json::Value::Array(data)
        .to_string()
        .replace('<', "\\u003c");
    format!(
        "<section class=\"search-box\" id=\"search-section\"><h2>{search}</h2>\n\
         <input id=\"search\" type=\"search\" placeholder=\"{placeholder}\" aria-label=\"{search}\" autocomplete=\"off\">\n\
         <p class=\"meta\">{help}</p>\n<ul id=\"results\" data-none=\"{none}\"></ul>\n\
         <script type=\"application/json\" id=\"search-data\">{data}</script>\n\
         <script>{SEARCH_SCRIPT}</script></section>\n",
        search = escape(labels.search),
        placeholder = escape(labels.search_placeholder),
        help = escape(labels.search_help),
        none = escape(labels.nothing_found),
    )
}

/// A whole page: the header with the site's links, then `body`. `root` leads from the page's
/// directory to the site's (`""` at the top, `"../"` in a version's directory); `index.html`
/// is the index of the page's own version.
pub fn page(labels: &Labels, site_title: &str, title: &str, body: &str, root: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title} · {site}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><a href=\"index.html\">{site}</a><a href=\"index.html#search-section\">{search}</a>\
         <a href=\"{root}versions.html\">{versions}</a></header>\n<main>\n{body}</main>\n</body>\n</html>\n",
        lang = labels.html_lang,
        title = escape(title),
        site = escape(site_title),
        search = escape(labels.search),
        versions = escape(labels.versions),
    )
}

/// An expression as written by the IR printer, escaped, with every name of an item,
/// parameter, table, band table or group linked to its page (`links`: name → page). Field
/// names (after a `.`) and text in quotes are left alone.
pub fn formula(text: &str, links: &BTreeMap<String, String>) -> String {
    let characters: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut index = 0;
    let mut in_text = false;
    while let Some(&character) = characters.get(index) {
        if in_text {
            out.push_str(&escape(&character.to_string()));
            if character == '\\' {
                if let Some(&next) = characters.get(index + 1) {
                    out.push_str(&escape(&next.to_string()));
                    index += 1;
                }
            } else if character == '"' {
                in_text = false;
            }
            index += 1;
            continue;
        }
        if character == '"' {
            in_text = true;
            out.push_str("&quot;");
            index += 1;
            continue;
        }
        if !(character.is_alphabetic() || character == '_') {
            out.push_str(&escape(&character.to_string()));
            index += 1;
            continue;
        }
        // A name: letters, digits and `_`, and `-` between two of them (rule ids); the IR
        // printer writes a minus with spaces around it.
        let start = index;
        let mut end = index + 1;
        while let Some(&next) = characters.get(end) {
            let joins = next == '-'
                && characters
                    .get(end + 1)
                    .is_some_and(|after| after.is_alphanumeric());
            if next.is_alphanumeric() || next == '_' || joins {
                end += 1;
            } else {
                break;
            }
        }
        let name: String = characters
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .collect();
        let is_field = start > 0 && characters.get(start - 1) == Some(&'.');
        match links.get(&name) {
            Some(page) if !is_field => {
                let _ = write!(out, "<a href=\"{}\">{}</a>", escape(page), escape(&name));
            }
            _ => out.push_str(&escape(&name)),
        }
        index = end;
    }
    out
}

/// An expression's text without the brackets the printer puts around a whole operation.
pub fn without_outer_brackets(text: &str) -> &str {
    let Some(inner) = text
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return text;
    };
    // The brackets are outer only if the first one closes at the end.
    let mut depth = 0usize;
    for (position, character) in text.char_indices() {
        match character {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && position + 1 < text.len() {
                    return text;
                }
            }
            _ => {}
        }
    }
    inner
}

/// The width a line of an expression should not pass.
const WIDTH: usize = 76;

/// The words an operation's parts start with, where a bracketed part without commas is broken
/// across lines: an aggregate's filter and body, `if`'s branches, and `and` and `or`.
const SEPARATORS: [&str; 6] = [" where ", " => ", " then ", " else ", " and ", " or "];

/// Lays out an expression's one-line text (as the IR printer writes it) on lines no wider
/// than [`WIDTH`] where it can: a bracketed part that does not fit goes on lines of its own,
/// indented, one element (object field, list item, argument, match arm) per line, or, without
/// commas, one operand per line before each separator word. Text in quotes is left alone.
pub struct Layout<'t> {
    characters: &'t [char],
    /// The position of the bracket closing each opening bracket.
    closing: Vec<Option<usize>>,
    out: String,
    column: usize,
}

impl<'t> Layout<'t> {
    pub fn of(text: &str) -> String {
        let characters: Vec<char> = text.chars().collect();
        let mut closing = vec![None; characters.len()];
        // The bracket closing each opening one, quotes skipped.
        let mut open = Vec::new();
        let mut in_text = false;
        for (position, character) in characters.iter().enumerate() {
            match character {
                '"' => in_text = !in_text,
                '(' | '[' | '{' if !in_text => open.push(position),
                ')' | ']' | '}' if !in_text => {
                    if let Some(slot) = open.pop().and_then(|start| closing.get_mut(start)) {
                        *slot = Some(position);
                    }
                }
                _ => {}
            }
        }
        let mut layout = Layout {
            characters: &characters,
            closing,
            out: String::with_capacity(text.len() * 2),
            column: 0,
        };
        let end = characters.len();
        let parts = layout.flat_parts(0, end);
        if end <= WIDTH || parts.len() < 2 {
            layout.inline(0, end, 0);
        } else {
            // The first operand starts the text; the others follow, indented, each after its
            // separator word.
            for (index, (start, part_end)) in parts.into_iter().enumerate() {
                let indent = if index == 0 { 0 } else { 2 };
                if index > 0 {
                    layout.newline(indent);
                }
                layout.inline(start, part_end, indent);
            }
        }
        layout.out
    }

    fn push(&mut self, character: char) {
        self.out.push(character);
        self.column += 1;
    }

    fn newline(&mut self, indent: usize) {
        let kept = self.out.trim_end_matches(' ').len();
        self.out.truncate(kept);
        self.out.push('\n');
        self.out.push_str(&" ".repeat(indent));
        self.column = indent;
    }

    /// Writes `start..end` on the current line, breaking the bracketed parts that do not fit.
    fn inline(&mut self, start: usize, end: usize, indent: usize) {
        let mut position = start;
        let mut in_text = false;
        while let Some(&character) = self.characters.get(position).filter(|_| position < end) {
            if character == '"' {
                in_text = !in_text;
            }
            let close = if in_text {
                None
            } else {
                self.closing.get(position).copied().flatten()
            };
            match close {
                Some(close) if close < end && self.column + (close - position + 1) > WIDTH => {
                    self.push(character);
                    for (part_start, part_end) in self.flat_parts(position + 1, close) {
                        self.newline(indent + 2);
                        self.inline(part_start, part_end, indent + 2);
                    }
                    self.newline(indent);
                    if let Some(&closing) = self.characters.get(close) {
                        self.push(closing);
                    }
                    position = close + 1;
                }
                _ => {
                    self.push(character);
                    position += 1;
                }
            }
        }
    }

    /// [`Layout::parts`], with a chain of `and` (or of `or`) on one level: the printer
    /// brackets `a and b and c` as `(a and b) and c`, which reads as `a`, `and b`, `and c`.
    fn flat_parts(&self, start: usize, end: usize) -> Vec<(usize, usize)> {
        let parts = self.parts(start, end);
        let (Some(&(first_start, first_end)), Some(&(second_start, _))) =
            (parts.first(), parts.get(1))
        else {
            return parts;
        };
        let Some(word) = self.chain_word(second_start) else {
            return parts;
        };
        let enclosed = self.characters.get(first_start) == Some(&'(')
            && self.closing.get(first_start).copied().flatten() == Some(first_end - 1);
        if !enclosed
            || parts
                .iter()
                .skip(1)
                .any(|&(at, _)| self.chain_word(at) != Some(word))
        {
            return parts;
        }
        let inner = self.flat_parts(first_start + 1, first_end - 1);
        if inner.len() < 2
            || inner
                .iter()
                .skip(1)
                .any(|&(at, _)| self.chain_word(at) != Some(word))
        {
            return parts;
        }
        inner.into_iter().chain(parts.into_iter().skip(1)).collect()
    }

    /// `and` or `or` when the part at `start` begins with it.
    fn chain_word(&self, start: usize) -> Option<&'static str> {
        ["and ", "or "].into_iter().find(|word| {
            let word: Vec<char> = word.chars().collect();
            self.characters.get(start..start + word.len()) == Some(&word[..])
        })
    }

    /// The parts of `start..end` that go on lines of their own when it is broken: cut after
    /// each comma of its top level, or, without commas, before each separator word; spaces
    /// at the ends of a part left out.
    fn parts(&self, start: usize, end: usize) -> Vec<(usize, usize)> {
        let mut commas = Vec::new();
        let mut words = Vec::new();
        let mut depth = 0usize;
        let mut in_text = false;
        for position in start..end {
            match self.characters.get(position) {
                Some('"') => in_text = !in_text,
                _ if in_text => {}
                Some('(' | '[' | '{') => depth += 1,
                Some(')' | ']' | '}') => depth = depth.saturating_sub(1),
                Some(',') if depth == 0 => commas.push(position + 1),
                Some(' ') if depth == 0 => {
                    let starts_word = SEPARATORS.iter().any(|word| {
                        let word: Vec<char> = word.chars().collect();
                        self.characters.get(position..position + word.len()) == Some(&word[..])
                    });
                    if starts_word {
                        words.push(position + 1);
                    }
                }
                _ => {}
            }
        }
        let cuts = if commas.is_empty() { words } else { commas };
        let mut parts = Vec::with_capacity(cuts.len() + 1);
        let mut from = start;
        for cut in cuts.into_iter().chain([end]) {
            let mut part_start = from;
            let mut part_end = cut.min(end);
            while part_start < part_end && self.characters.get(part_start) == Some(&' ') {
                part_start += 1;
            }
            while part_end > part_start && self.characters.get(part_end - 1) == Some(&' ') {
                part_end -= 1;
            }
            if part_start < part_end {
                parts.push((part_start, part_end));
            }
            from = cut;
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_links_names_but_not_fields_or_quoted_text() {
        let links: BTreeMap<String, String> = [
            (
                "ASP-INCOME-TEST".to_string(),
                "rule-ASP-INCOME-TEST.html".to_string(),
            ),
            ("n".to_string(), "definition-n.html".to_string()),
            ("members".to_string(), "definition-members.html".to_string()),
        ]
        .into_iter()
        .collect();
        let html = formula(
            "(ASP-INCOME-TEST and (case.members - n) < \"n <b>\")",
            &links,
        );
        assert_eq!(
            html,
            "(<a href=\"rule-ASP-INCOME-TEST.html\">ASP-INCOME-TEST</a> and (case.members - \
             <a href=\"definition-n.html\">n</a>) &lt; &quot;n &lt;b&gt;&quot;)"
        );
    }

    #[test]
    fn layout_breaks_what_does_not_fit_and_keeps_chains_on_one_level() {
        // Short text stays on its line.
        assert_eq!(Layout::of("f(a, b)"), "f(a, b)");
        // A chain of `and` the printer bracketed to the left reads as one list.
        let chain = "(((first_condition_of_the_chain and second_condition_of_the_chain) \
                     and third_condition) and not fourth_condition)";
        assert_eq!(
            Layout::of(without_outer_brackets(chain)),
            "first_condition_of_the_chain\n  and second_condition_of_the_chain\n  \
             and third_condition\n  and not fourth_condition"
        );
        // An object too long for a line has a field per line; quoted commas are text.
        assert_eq!(
            Layout::of("{ outcome: (if granted then \"yes, granted\" else \"no\"), amount: the_amount_of_assistance }"),
            "{\n  outcome: (if granted then \"yes, granted\" else \"no\"),\n  amount: the_amount_of_assistance\n}"
        );
    }

    #[test]
    fn outer_brackets_go_only_when_they_enclose_everything() {
        assert_eq!(without_outer_brackets("(a + b)"), "a + b");
        assert_eq!(
            without_outer_brackets("(a + b) * (c + d)"),
            "(a + b) * (c + d)"
        );
        assert_eq!(without_outer_brackets("f(x)"), "f(x)");
    }
}
