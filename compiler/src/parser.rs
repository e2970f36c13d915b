//! From text to syntax tree: pest for the grammar, then a walk that builds [`crate::ast`] values.
//!
//! A file is cut into items at lines that start (in column 0) with an item keyword, and each piece
//! is parsed alone. Two things follow: a syntax error in one item does not hide the errors of the
//! others, and an item whose text did not change parses to an equal tree.

use crate::codes::Code;
use ereje_runtime::value::{Date, Month, Quarter};
use pest::iterators::Pair;
use pest::Parser as _;
use rust_decimal::Decimal;

use crate::ast::*;
use crate::diagnostic::Diagnostic;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct PolicyGrammar;

/// The keywords that start an item, in column 0.
const ITEM_KEYWORDS: &[&str] = &[
    "record",
    "enum",
    "input",
    "parameter",
    "calendar",
    "table",
    "bands",
    "def",
    "rule",
    "group",
    "extend",
    "output",
    "exception",
    "check",
    "label",
];

/// Deeper nesting than this is refused before pest sees the text: pest's parser is recursive and
/// a hostile file must not overflow the stack.
const MAX_NESTING: usize = 64;

/// An item longer than this is refused before parsing: the parser and checker recurse on the
/// syntax tree, and no real policy item comes near this size.
const MAX_ITEM_BYTES: usize = 64 * 1024;

/// More operators than this in one item are refused while building the tree, so that a hostile
/// chain (`a + a + …`, `not not …`) cannot build a tree deep enough to overflow a stack.
const MAX_OPERATIONS: usize = 20_000;

/// An item as parsed, with its absolute start offset in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedItem {
    pub start: u32,
    pub item: Item,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParseOutput {
    /// `None` when the header could not be parsed (a diagnostic says why).
    pub header: Option<Header>,
    pub items: Vec<ParsedItem>,
    /// Absolute spans.
    pub diagnostics: Vec<Diagnostic>,
}

/// Byte ranges of the pieces of a file: the header first, then one per item.
fn split_items(text: &str) -> Vec<(usize, usize)> {
    let mut starts = vec![0usize];
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        if offset > 0 && starts_item(line) {
            starts.push(offset);
        }
        offset += line.len();
    }
    let mut pieces = Vec::with_capacity(starts.len());
    for (index, &start) in starts.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(text.len());
        pieces.push((start, end));
    }
    pieces
}

fn starts_item(line: &str) -> bool {
    ITEM_KEYWORDS.iter().any(|keyword| {
        line.strip_prefix(keyword)
            .is_some_and(|rest| rest.starts_with([' ', '\t']))
    })
}

pub fn parse_file(text: &str) -> ParseOutput {
    let mut output = ParseOutput::default();
    for (index, (start, end)) in split_items(text).into_iter().enumerate() {
        let piece = &text[start..end];
        let start32 = start as u32;
        if piece.len() > MAX_ITEM_BYTES {
            let diagnostic = Diagnostic::error(
                Code::SyntaxTooLarge,
                format!(
                    "this item is {} bytes long; an item may hold at most {MAX_ITEM_BYTES}",
                    piece.len()
                ),
                Span {
                    start: 0,
                    end: piece.find('\n').unwrap_or(piece.len()).min(80) as u32,
                },
                "too large",
            )
            .with_help("split it into several definitions");
            output.diagnostics.push(diagnostic.shifted(start32));
            continue;
        }
        if let Some(diagnostic) = check_nesting(piece) {
            output.diagnostics.push(diagnostic.shifted(start32));
            continue;
        }
        if index == 0 {
            match parse_header(piece) {
                Ok(header) => output.header = Some(header),
                Err(diagnostic) => output.diagnostics.push(diagnostic),
            }
            continue;
        }
        match parse_item(piece) {
            Ok((item, mut diagnostics)) => {
                output.items.push(ParsedItem {
                    start: start32,
                    item,
                });
                output
                    .diagnostics
                    .extend(diagnostics.drain(..).map(|d| d.shifted(start32)));
            }
            Err(diagnostic) => match unclosed_string(piece) {
                // A string left open is the error to show, at the line where it starts; the item
                // is read again with the string closed at that line's end, so that its name stays
                // known and nothing else is reported because of it.
                Some(opening) => {
                    output
                        .diagnostics
                        .push(unclosed_string_error(opening).shifted(start32));
                    let line_end = piece[opening..]
                        .find('\n')
                        .map_or(piece.trim_end().len(), |end| opening + end);
                    let repaired = format!("{}\"{}", &piece[..line_end], &piece[line_end..]);
                    if let Ok((item, _)) = parse_item(&repaired) {
                        output.items.push(ParsedItem {
                            start: start32,
                            item,
                        });
                    }
                }
                None => output.diagnostics.push(diagnostic.shifted(start32)),
            },
        }
    }
    output
}

/// The offset of the opening quote of the first string of a piece that its line does not close
/// (strings end on their line), comments skipped.
fn unclosed_string(piece: &str) -> Option<usize> {
    let mut opening: Option<usize> = None;
    let mut escaped = false;
    let mut in_comment = false;
    let mut previous = '\0';
    for (offset, character) in piece.char_indices() {
        if in_comment {
            in_comment = character != '\n';
        } else if let Some(start) = opening {
            match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => opening = None,
                '\n' => return Some(start),
                _ => {}
            }
        } else {
            match character {
                '/' if previous == '/' => in_comment = true,
                '"' => opening = Some(offset),
                _ => {}
            }
        }
        previous = character;
    }
    opening
}

fn unclosed_string_error(opening: usize) -> Diagnostic {
    Diagnostic::error(
        Code::SyntaxError,
        "syntax error: unclosed string",
        Span {
            start: opening as u32,
            end: opening as u32 + 1,
        },
        "this string is never closed",
    )
    .with_help("end the string with `\"` on the same line")
}

/// Whether a `message` clause is `message not LANG "…"`.
fn is_negative_message(pair: &Pair<Rule>) -> bool {
    pair.clone()
        .into_inner()
        .any(|part| part.as_rule() == Rule::message_not)
}

fn check_nesting(piece: &str) -> Option<Diagnostic> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, character) in piece.char_indices() {
        if in_string {
            match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match character {
            '"' => in_string = true,
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    let span = Span {
                        start: offset as u32,
                        end: offset as u32 + 1,
                    };
                    return Some(
                        Diagnostic::error(
                            Code::SyntaxTooDeep,
                            format!("brackets are nested more than {MAX_NESTING} deep"),
                            span,
                            "too deep here",
                        )
                        .with_help("split the expression into named definitions"),
                    );
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The first opening bracket of a piece that is never closed, if any (strings skipped).
fn unclosed_bracket(piece: &str) -> Option<(usize, char)> {
    let mut open: Vec<(usize, char)> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut in_comment = false;
    let mut previous = '\0';
    for (offset, character) in piece.char_indices() {
        if in_comment {
            if character == '\n' {
                in_comment = false;
            }
            previous = character;
            continue;
        }
        if in_string {
            match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            previous = character;
            continue;
        }
        match character {
            '/' if previous == '/' => in_comment = true,
            '"' => in_string = true,
            '(' | '[' | '{' => open.push((offset, character)),
            ')' | ']' | '}' => {
                open.pop();
            }
            _ => {}
        }
        previous = character;
    }
    open.first().copied()
}

fn syntax_error(error: pest::error::Error<Rule>, piece: &str) -> Diagnostic {
    let (start, end) = match error.location {
        pest::error::InputLocation::Pos(position) => (position, position),
        pest::error::InputLocation::Span((start, end)) => (start, end),
    };
    // An error after the item's last character belongs to the item, not to the next one.
    let content_end = piece.trim_end().len();
    let at_end = start >= content_end;
    let (start, end) = if at_end && content_end > 0 {
        let last_start = piece[..content_end]
            .char_indices()
            .last()
            .map(|(i, _)| i)
            .unwrap_or(0);
        (last_start, content_end)
    } else {
        (start, end)
    };
    let message = match &error.variant {
        pest::error::ErrorVariant::ParsingError {
            positives,
            negatives: _,
        } => {
            let mut expected: Vec<&str> = positives
                .iter()
                .filter_map(|rule| friendly_rule(*rule))
                .collect();
            expected.sort_unstable();
            expected.dedup();
            let found: String = if at_end {
                String::new()
            } else {
                piece
                    .get(start..)
                    .unwrap_or("")
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .take(24)
                    .collect()
            };
            match (expected.is_empty(), found.is_empty()) {
                (true, true) => "unexpected end of the item".to_string(),
                (true, false) => format!("unexpected `{found}`"),
                (false, true) => format!(
                    "expected {}, found the end of the item",
                    join_alternatives(&expected)
                ),
                (false, false) => {
                    format!("expected {}, found `{found}`", join_alternatives(&expected))
                }
            }
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    let error_span = Span {
        start: start as u32,
        end: end.max(start + 1) as u32,
    };
    match (unclosed_bracket(piece), at_end) {
        // The item ended inside brackets: the bracket left open is the problem to show.
        (Some((offset, bracket)), true) => Diagnostic::error(
            Code::SyntaxError,
            format!("syntax error: `{bracket}` is never closed"),
            Span {
                start: offset as u32,
                end: offset as u32 + 1,
            },
            format!("this `{bracket}` is never closed"),
        )
        .with_label(error_span, message)
        .with_help(format!("close the `{bracket}` before the item ends")),
        (Some((offset, bracket)), false) => Diagnostic::error(
            Code::SyntaxError,
            format!("syntax error: {message}"),
            error_span,
            message,
        )
        .with_label(
            Span {
                start: offset as u32,
                end: offset as u32 + 1,
            },
            format!("this `{bracket}` is never closed"),
        )
        .with_help(format!("close the `{bracket}` before the item ends")),
        (None, _) => Diagnostic::error(
            Code::SyntaxError,
            format!("syntax error: {message}"),
            error_span,
            message,
        ),
    }
}

fn join_alternatives(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {}", rest.join(", "), last),
    }
}

fn friendly_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the item",
        Rule::header => "a module header (`module name version \"…\" in force from YYYY-MM-DD`)",
        Rule::module_name => "a module name",
        Rule::record_item
        | Rule::enum_item
        | Rule::input_item
        | Rule::parameter_item
        | Rule::calendar_item
        | Rule::table_item
        | Rule::bands_item
        | Rule::def_item
        | Rule::rule_item
        | Rule::group_item
        | Rule::extend_item
        | Rule::output_item => "an item (`def`, `rule`, `parameter`, `record`, …)",
        Rule::field_decl => "a field (`name: Type`)",
        Rule::variant_decl => "an enum variant",
        Rule::param_value => "a value (`from YYYY-MM-DD = …`)",
        Rule::param_derived => "`=` and an expression",
        Rule::source_clause => "`source \"…\"`",
        Rule::message_clause => "`message ru|kk|en \"…\"`",
        Rule::calendar_year => "a calendar year (`year 2025 non_working […] working […]`)",
        Rule::table_row => "a table row",
        Rule::band_row => "a band (`[a, b) => value`)",
        Rule::exception => "`exception`",
        Rule::type_ref | Rule::type_name => "a type",
        Rule::ident | Rule::name_ref => "a name",
        Rule::rule_id => "a rule id (`ASP-INCOME-TEST`)",
        Rule::expr => "an expression",
        Rule::literal | Rule::scalar_lit | Rule::literal_expr => "a value",
        Rule::string => "a string",
        Rule::date_lit => "a date (YYYY-MM-DD)",
        Rule::number | Rule::signed_number | Rule::integer => "a number",
        Rule::cmp_op => "a comparison",
        Rule::add_op | Rule::mul_op => "an operator",
        Rule::kw_and | Rule::kw_or => "`and` or `or`",
        Rule::field_access => "`.field`",
        Rule::match_arm | Rule::pattern => "a match arm (`pattern => value`)",
        Rule::interval => "an interval (`[a, b)`)",
        Rule::field_checks => "`check`",
        Rule::optional_mark => "`?`",
        Rule::field_default => "`= default`",
        _ => return None,
    })
}

fn parse_header(piece: &str) -> Result<Header, Diagnostic> {
    let mut pairs =
        PolicyGrammar::parse(Rule::header_entry, piece).map_err(|e| syntax_error(e, piece))?;
    let entry = pairs.next().ok_or_else(|| internal("empty header"))?;
    let header = entry
        .into_inner()
        .next()
        .ok_or_else(|| internal("empty header"))?;
    let mut builder = Builder {
        diagnostics: Vec::new(),
        base: 0,
        operations: 0,
    };
    let mut inner = header.into_inner();
    let name_pair = inner
        .next()
        .ok_or_else(|| internal("header without name"))?;
    let mut result = Header {
        name: builder.name(&name_pair),
        version: None,
        in_force_from: None,
        amends: None,
        imports: Vec::new(),
        languages: Vec::new(),
    };
    for clause in inner {
        match clause.as_rule() {
            Rule::version_clause => {
                result.version = clause.into_inner().next().map(|p| builder.string(&p))
            }
            Rule::in_force_clause => {
                result.in_force_from = clause.into_inner().next().and_then(|p| builder.date(&p));
            }
            Rule::amends_clause => {
                let mut parts = clause.into_inner();
                if let (Some(module), Some(date)) = (parts.next(), parts.next()) {
                    let module = builder.name(&module);
                    if let Some(date) = builder.date(&date) {
                        result.amends = Some((module, date));
                    }
                }
            }
            Rule::import_clause => {
                if let Some(module) = clause.into_inner().next() {
                    result.imports.push(builder.name(&module));
                }
            }
            Rule::languages_clause => {
                result
                    .languages
                    .extend(clause.into_inner().map(|lang| lang.as_str().to_string()));
            }
            _ => {}
        }
    }
    if let Some(diagnostic) = builder.diagnostics.into_iter().next() {
        return Err(diagnostic);
    }
    Ok(result)
}

fn parse_item(piece: &str) -> Result<(Item, Vec<Diagnostic>), Diagnostic> {
    let mut pairs =
        PolicyGrammar::parse(Rule::item_entry, piece).map_err(|e| syntax_error(e, piece))?;
    let entry = pairs.next().ok_or_else(|| internal("empty item"))?;
    let pair = entry
        .into_inner()
        .next()
        .ok_or_else(|| internal("empty item"))?;
    let mut builder = Builder {
        diagnostics: Vec::new(),
        base: 0,
        operations: 0,
    };
    let item = builder.item(pair)?;
    Ok((item, builder.diagnostics))
}

fn internal(what: &str) -> Diagnostic {
    Diagnostic::error(
        Code::SyntaxInternal,
        format!("internal parser error: {what}"),
        Span::default(),
        "here",
    )
}

/// Builds syntax trees from pest pairs, collecting the errors that the grammar cannot express
/// (impossible dates, numbers out of range).
struct Builder {
    diagnostics: Vec<Diagnostic>,
    /// The absolute offset of the piece: pest spans are relative to the piece already.
    base: usize,
    /// Expression nodes built so far in this item (see [`MAX_OPERATIONS`]).
    operations: usize,
}

type Built<T> = Result<T, Diagnostic>;

impl Builder {
    /// The pair's span without the whitespace pest consumed at its end (before an optional part
    /// that was not there), so that labels end on the text they describe.
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let span = pair.as_span();
        let trimmed = pair.as_str().trim_end().len();
        Span {
            start: (span.start() - self.base) as u32,
            end: (span.start() + trimmed - self.base) as u32,
        }
    }

    fn name(&self, pair: &Pair<Rule>) -> Name {
        Name {
            text: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    fn string(&self, pair: &Pair<Rule>) -> String {
        let raw = pair.as_str();
        let inner = raw
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(raw);
        let mut text = String::with_capacity(inner.len());
        let mut characters = inner.chars();
        while let Some(character) = characters.next() {
            if character == '\\' {
                match characters.next() {
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    Some(other) => text.push(other),
                    None => {}
                }
            } else {
                text.push(character);
            }
        }
        text
    }

    fn date(&mut self, pair: &Pair<Rule>) -> Option<Date> {
        match Date::parse_from_str(pair.as_str(), "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                self.diagnostics.push(Diagnostic::error(
                    Code::SyntaxBadDate,
                    format!("`{}` is not a date that exists", pair.as_str()),
                    self.span(pair),
                    "no such day",
                ));
                None
            }
        }
    }

    fn decimal(&mut self, pair: &Pair<Rule>) -> Option<Decimal> {
        let text: String = pair.as_str().chars().filter(|c| *c != '_').collect();
        match Decimal::from_str_exact(&text) {
            Ok(value) => Some(value),
            Err(_) => {
                self.diagnostics.push(Diagnostic::error(
                    Code::SyntaxBadNumber,
                    format!("`{}` is not a number Ereje can hold exactly", pair.as_str()),
                    self.span(pair),
                    "out of range",
                ));
                None
            }
        }
    }

    fn integer(&mut self, pair: &Pair<Rule>) -> Option<i64> {
        let text: String = pair.as_str().chars().filter(|c| *c != '_').collect();
        match text.parse::<i64>() {
            Ok(value) => Some(value),
            Err(_) => {
                self.diagnostics.push(Diagnostic::error(
                    Code::SyntaxBadNumber,
                    format!("`{}` is not an integer in range", pair.as_str()),
                    self.span(pair),
                    "out of range",
                ));
                None
            }
        }
    }

    fn u32_value(&mut self, pair: &Pair<Rule>) -> u32 {
        self.integer(pair)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0)
    }

    fn item(&mut self, pair: Pair<Rule>) -> Built<Item> {
        let rule = pair.as_rule();
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        macro_rules! next {
            ($what:expr) => {
                inner.next().ok_or_else(|| internal($what))
            };
        }
        Ok(match rule {
            Rule::record_item => {
                let name = self.name(&next!("record name")?);
                let mut fields = Vec::new();
                for field in inner {
                    fields.push(self.field(field)?);
                }
                Item::Record(RecordItem { name, fields })
            }
            Rule::enum_item => {
                let name = self.name(&next!("enum name")?);
                let mut variants = Vec::new();
                for variant in inner {
                    let mut parts = variant.into_inner();
                    let variant_name = self.name(&parts.next().ok_or_else(|| internal("variant"))?);
                    let json = match parts.next() {
                        Some(value) if value.as_rule() == Rule::string => {
                            Some(VariantJson::Text(self.string(&value)))
                        }
                        Some(value) => self.integer(&value).map(VariantJson::Integer),
                        None => None,
                    };
                    variants.push(VariantDecl {
                        name: variant_name,
                        json,
                    });
                }
                Item::Enum(EnumItem { name, variants })
            }
            Rule::input_item => {
                let name = self.name(&next!("input name")?);
                let record = self.name(&next!("input record")?);
                let mut id_field = None;
                let mut as_of_field = None;
                for clause in inner {
                    let target = clause.as_rule();
                    let field = clause.into_inner().next().map(|p| self.name(&p));
                    if target == Rule::input_id {
                        id_field = field;
                    } else {
                        as_of_field = field;
                    }
                }
                Item::Input(InputItem {
                    name,
                    record,
                    id_field,
                    as_of_field,
                })
            }
            Rule::parameter_item => {
                let name = self.name(&next!("parameter name")?);
                let ty = self.type_ref(next!("parameter type")?)?;
                let mut source = None;
                let mut note = None;
                let mut each_year = None;
                let mut values = Vec::new();
                let mut derived = None;
                let mut until = None;
                for part in inner {
                    match part.as_rule() {
                        Rule::source_clause => source = self.source(part),
                        Rule::note_clause => note = self.source(part),
                        Rule::each_year => each_year = Some(self.span(&part)),
                        Rule::param_value => {
                            let value_span = self.span(&part);
                            let mut parts = part.into_inner();
                            let date = parts.next().ok_or_else(|| internal("value date"))?;
                            let literal = parts.next().ok_or_else(|| internal("value"))?;
                            let value_source = parts.next().and_then(|p| self.source(p));
                            if let Some(from) = self.date(&date) {
                                let value = self.literal(literal)?;
                                values.push(ParameterValue {
                                    from,
                                    value,
                                    source: value_source,
                                    span: value_span,
                                });
                            }
                        }
                        Rule::param_until => {
                            let until_span = self.span(&part);
                            if let Some(date) = part.into_inner().next() {
                                if let Some(date) = self.date(&date) {
                                    until = Some((date, until_span));
                                }
                            }
                        }
                        Rule::param_derived => {
                            let expression = part
                                .into_inner()
                                .next()
                                .ok_or_else(|| internal("derived"))?;
                            derived = Some(self.expr(expression)?);
                        }
                        _ => {}
                    }
                }
                let body = match derived {
                    Some(expression) => ParameterBody::Derived(expression),
                    None => ParameterBody::Values(values),
                };
                Item::Parameter(ParameterItem {
                    name,
                    ty,
                    source,
                    note,
                    each_year,
                    body,
                    until,
                })
            }
            Rule::calendar_item => {
                let name = self.name(&next!("calendar name")?);
                let mut source = None;
                let mut years = Vec::new();
                for part in inner {
                    match part.as_rule() {
                        Rule::source_clause => source = self.source(part),
                        Rule::calendar_year => {
                            let year_span = self.span(&part);
                            let mut parts = part.into_inner();
                            let year_pair = parts.next().ok_or_else(|| internal("year"))?;
                            let year = self
                                .integer(&year_pair)
                                .and_then(|y| i32::try_from(y).ok())
                                .unwrap_or(0);
                            let non_working = self.date_list(parts.next())?;
                            let working = self.date_list(parts.next())?;
                            years.push(CalendarYearDecl {
                                year,
                                span: year_span,
                                non_working,
                                working,
                            });
                        }
                        _ => {}
                    }
                }
                Item::Calendar(CalendarItem {
                    name,
                    source,
                    years,
                })
            }
            Rule::table_item => {
                let name = self.name(&next!("table name")?);
                let mut keys = Vec::new();
                for typed in next!("table keys")?.into_inner() {
                    let mut parts = typed.into_inner();
                    let key_name = self.name(&parts.next().ok_or_else(|| internal("key"))?);
                    let key_type =
                        self.type_ref(parts.next().ok_or_else(|| internal("key type"))?)?;
                    keys.push((key_name, key_type));
                }
                let mut columns = Vec::new();
                for column in next!("table columns")?.into_inner() {
                    let mut parts = column.into_inner();
                    let column_name = self.name(&parts.next().ok_or_else(|| internal("column"))?);
                    let column_type =
                        self.type_ref(parts.next().ok_or_else(|| internal("column type"))?)?;
                    columns.push((column_name, column_type));
                }
                let mut source = None;
                let mut rows = Vec::new();
                for part in inner {
                    match part.as_rule() {
                        Rule::source_clause => source = self.source(part),
                        Rule::table_row => {
                            let row_span = self.span(&part);
                            let mut key = Vec::new();
                            let mut cells = Vec::new();
                            for value in part.into_inner() {
                                match value.as_rule() {
                                    Rule::literal => key.push(self.literal(value)?),
                                    Rule::cell => {
                                        let cell = value
                                            .into_inner()
                                            .next()
                                            .ok_or_else(|| internal("cell"))?;
                                        if cell.as_rule() == Rule::blank {
                                            cells.push(None);
                                        } else {
                                            cells.push(Some(self.literal(cell)?));
                                        }
                                    }
                                    _ => {}
                                }
                            }
                            rows.push(TableRowDecl {
                                key,
                                cells,
                                span: row_span,
                            });
                        }
                        _ => {}
                    }
                }
                Item::Table(TableItem {
                    name,
                    keys,
                    columns,
                    source,
                    rows,
                })
            }
            Rule::bands_item => {
                let name = self.name(&next!("bands name")?);
                let domain = self.type_ref(next!("bands domain")?)?;
                let result = self.type_ref(next!("bands result")?)?;
                let mut source = None;
                let mut rows = Vec::new();
                for part in inner {
                    match part.as_rule() {
                        Rule::source_clause => source = self.source(part),
                        Rule::band_row => rows.push(self.band(part)?),
                        _ => {}
                    }
                }
                Item::Bands(BandsItem {
                    name,
                    domain,
                    result,
                    source,
                    rows,
                })
            }
            Rule::def_item | Rule::rule_item => {
                let is_rule = rule == Rule::rule_item;
                let name = self.name(&next!("definition name")?);
                let mut params = None;
                let mut ty = None;
                let mut source = None;
                let mut messages = Vec::new();
                let mut messages_not = Vec::new();
                let mut note = None;
                let mut body = None;
                let mut exceptions = Vec::new();
                for part in inner {
                    match part.as_rule() {
                        Rule::def_params => {
                            let mut list = Vec::new();
                            for typed in part.into_inner() {
                                let mut parts = typed.into_inner();
                                let param_name =
                                    self.name(&parts.next().ok_or_else(|| internal("param"))?);
                                let param_type = self.type_ref(
                                    parts.next().ok_or_else(|| internal("param type"))?,
                                )?;
                                list.push((param_name, param_type));
                            }
                            params = Some(list);
                        }
                        Rule::type_ref => ty = Some(self.type_ref(part)?),
                        Rule::source_clause => source = self.source(part),
                        Rule::note_clause => note = self.source(part),
                        Rule::message_clause if is_negative_message(&part) => {
                            messages_not.push(self.message(part))
                        }
                        Rule::message_clause => messages.push(self.message(part)),
                        Rule::expr => body = Some(self.expr(part)?),
                        Rule::exception => exceptions.push(self.exception(part)?),
                        _ => {}
                    }
                }
                Item::Def(DefItem {
                    name,
                    is_rule,
                    params,
                    ty: ty.ok_or_else(|| internal("definition type"))?,
                    source,
                    messages,
                    messages_not,
                    note,
                    body: body.ok_or_else(|| internal("definition body"))?,
                    exceptions,
                })
            }
            Rule::group_item => {
                let name = self.name(&next!("group name")?);
                let element = self.type_ref(next!("group type")?)?;
                let members = self.rule_list(next!("group members")?);
                Item::Group(GroupItem {
                    name,
                    element,
                    members,
                })
            }
            Rule::extend_item => {
                let group = self.name(&next!("group name")?);
                let members = self.rule_list(next!("members")?);
                Item::Extend(ExtendItem { group, members })
            }
            Rule::exception_item => {
                let label = self.name(&next!("exception label")?);
                let target = self.name(&next!("exception target")?);
                let exception = self.exception_parts(label, inner)?;
                Item::Exception(TargetedException { target, exception })
            }
            Rule::check_item => {
                let id = self.name(&next!("check id")?);
                let mut variable = None;
                let mut list = None;
                let mut at = Vec::new();
                let mut code = None;
                let mut messages = Vec::new();
                let mut condition = None;
                for part in inner {
                    match part.as_rule() {
                        Rule::check_for => {
                            let mut parts = part.into_inner();
                            variable = parts.next().map(|p| self.name(&p));
                            let _in = parts.next();
                            if let Some(expression) = parts.next() {
                                list = Some(self.expr(expression)?);
                            }
                        }
                        Rule::check_at => at = part.into_inner().map(|p| self.name(&p)).collect(),
                        Rule::check_code => {
                            code = part.into_inner().next().map(|p| self.string(&p))
                        }
                        Rule::message_clause => messages.push(self.message(part)),
                        Rule::expr => condition = Some(self.expr(part)?),
                        _ => {}
                    }
                }
                Item::Check(CheckItem {
                    id,
                    variable,
                    list,
                    at,
                    code,
                    messages,
                    condition: condition.ok_or_else(|| internal("check condition"))?,
                })
            }
            Rule::output_item => {
                let name = self.name(&next!("output name")?);
                let mut payments = Vec::new();
                let mut expr = None;
                for part in inner {
                    match part.as_rule() {
                        Rule::output_payments => {
                            payments = part.into_inner().map(|p| self.name(&p)).collect()
                        }
                        Rule::expr => expr = Some(self.expr(part)?),
                        _ => {}
                    }
                }
                let expr = expr.ok_or_else(|| internal("output expression"))?;
                Item::Output(OutputItem {
                    name,
                    payments,
                    expr,
                })
            }
            Rule::label_item => {
                let first = next!("label target")?;
                // A legal source is labelled by its text; its target is the source's key
                // (`source "…"`), which no name can be.
                let target = if first.as_rule() == Rule::label_source {
                    let span = self.span(&first);
                    let text = self.source(first).unwrap_or_default();
                    Name {
                        text: ereje_runtime::ir::source_label_key(&text),
                        span,
                    }
                } else {
                    self.name(&first)
                };
                let key = Name {
                    text: format!("label {}", target.text),
                    span: target.span,
                };
                let texts = inner.map(|part| self.message(part)).collect();
                Item::Label(LabelItem { key, target, texts })
            }
            _ => {
                return Err(Diagnostic::error(
                    Code::SyntaxError,
                    "syntax error: expected an item",
                    span,
                    "here",
                ));
            }
        })
    }

    /// `message [not] LANG "text"` (or a label's `LANG "text"`): the language, the text and the
    /// clause's span.
    fn message(&self, pair: Pair<Rule>) -> (String, String, Span) {
        let span = self.span(&pair);
        let mut parts = pair
            .into_inner()
            .filter(|part| part.as_rule() != Rule::message_not);
        let lang = parts
            .next()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let text = parts.next().map(|p| self.string(&p)).unwrap_or_default();
        (lang, text, span)
    }

    fn source(&self, pair: Pair<Rule>) -> Option<String> {
        pair.into_inner().next().map(|p| self.string(&p))
    }

    fn rule_list(&self, pair: Pair<Rule>) -> Vec<Name> {
        pair.into_inner().map(|p| self.name(&p)).collect()
    }

    fn date_list(&mut self, pair: Option<Pair<Rule>>) -> Built<Vec<(Date, Span)>> {
        let mut dates = Vec::new();
        if let Some(pair) = pair {
            for date in pair.into_inner() {
                let span = self.span(&date);
                if let Some(value) = self.date(&date) {
                    dates.push((value, span));
                }
            }
        }
        Ok(dates)
    }

    fn field(&mut self, pair: Pair<Rule>) -> Built<FieldDecl> {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let name = self.name(&parts.next().ok_or_else(|| internal("field name"))?);
        let ty = self.type_ref(parts.next().ok_or_else(|| internal("field type"))?)?;
        let mut field = FieldDecl {
            name,
            ty,
            default: None,
            checks: Vec::new(),
            span,
        };
        for part in parts {
            match part.as_rule() {
                Rule::field_default => {
                    let literal = part
                        .into_inner()
                        .next()
                        .ok_or_else(|| internal("default"))?;
                    field.default = Some(self.literal(literal)?);
                }
                Rule::field_checks => {
                    for check in part.into_inner() {
                        let check = check.into_inner().next().ok_or_else(|| internal("check"))?;
                        let check_span = self.span(&check);
                        let rule = check.as_rule();
                        let values: Vec<Pair<Rule>> = check.into_inner().collect();
                        let first = values.first().ok_or_else(|| internal("check value"))?;
                        match rule {
                            Rule::check_min => {
                                if let Some(value) = self.decimal(first) {
                                    field.checks.push(FieldCheck::Min(value, check_span));
                                }
                            }
                            Rule::check_max => {
                                if let Some(value) = self.decimal(first) {
                                    field.checks.push(FieldCheck::Max(value, check_span));
                                }
                            }
                            Rule::check_length | Rule::check_items => {
                                let low = self.u32_value(first);
                                let high = values.get(1).map(|p| self.u32_value(p)).unwrap_or(low);
                                field.checks.push(if rule == Rule::check_length {
                                    FieldCheck::Length(low, high, check_span)
                                } else {
                                    FieldCheck::Items(low, high, check_span)
                                });
                            }
                            _ => field.checks.push(FieldCheck::Unique(self.name(first))),
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(field)
    }

    fn type_ref(&mut self, pair: Pair<Rule>) -> Built<TypeRef> {
        let whole_span = self.span(&pair);
        let pair = if pair.as_rule() == Rule::type_ref {
            let mut parts = pair.into_inner();
            let base = parts.next().ok_or_else(|| internal("type"))?;
            if parts.next().is_some() {
                let base = self.type_ref(base)?;
                return Ok(TypeRef::Optional(Box::new(base), whole_span));
            }
            base
        } else {
            pair
        };
        let span = self.span(&pair);
        Ok(match pair.as_rule() {
            Rule::list_type => {
                let element = pair
                    .into_inner()
                    .next()
                    .ok_or_else(|| internal("list element"))?;
                TypeRef::List(Box::new(self.type_ref(element)?), span)
            }
            Rule::map_type => {
                let element = pair
                    .into_inner()
                    .next()
                    .ok_or_else(|| internal("map element"))?;
                TypeRef::Map(Box::new(self.type_ref(element)?), span)
            }
            Rule::object_type => {
                let mut fields = Vec::new();
                for typed in pair.into_inner() {
                    let mut parts = typed.into_inner();
                    let field_name =
                        self.name(&parts.next().ok_or_else(|| internal("object field"))?);
                    let field_type =
                        self.type_ref(parts.next().ok_or_else(|| internal("object field type"))?)?;
                    fields.push((field_name, field_type));
                }
                TypeRef::Object(fields, span)
            }
            _ => TypeRef::Named(self.name(&pair)),
        })
    }

    fn band(&mut self, pair: Pair<Rule>) -> Built<BandDecl> {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let interval = parts.next().ok_or_else(|| internal("interval"))?;
        let interval_span = self.span(&interval);
        let mut bounds = interval.into_inner();
        let open = bounds.next().ok_or_else(|| internal("open"))?.as_str() == "[";
        let low = bounds.next().ok_or_else(|| internal("low"))?;
        let high = bounds.next().ok_or_else(|| internal("high"))?;
        let close = bounds.next().ok_or_else(|| internal("close"))?.as_str() == "]";
        let lower = self.bound(low)?.map(|value| (value, open));
        let upper = self.bound(high)?.map(|value| (value, close));
        let value = self.literal(parts.next().ok_or_else(|| internal("band value"))?)?;
        let label = parts.next().map(|p| self.string(&p));
        Ok(BandDecl {
            lower,
            upper,
            interval_span,
            value,
            label,
            span,
        })
    }

    fn bound(&mut self, pair: Pair<Rule>) -> Built<Option<Decimal>> {
        let inner = pair.into_inner().next().ok_or_else(|| internal("bound"))?;
        Ok(match inner.as_rule() {
            Rule::neg_infinity | Rule::pos_infinity => None,
            _ => self.decimal(&inner),
        })
    }

    fn exception(&mut self, pair: Pair<Rule>) -> Built<ExceptionDecl> {
        let mut parts = pair.into_inner();
        let label = self.name(&parts.next().ok_or_else(|| internal("exception label"))?);
        self.exception_parts(label, parts)
    }

    /// The parts of an exception after its label (and target): `over …`, `source …`, the
    /// condition and the value.
    fn exception_parts<'i>(
        &mut self,
        label: Name,
        parts: impl Iterator<Item = Pair<'i, Rule>>,
    ) -> Built<ExceptionDecl> {
        let mut over = Vec::new();
        let mut source = None;
        let mut expressions = Vec::new();
        for part in parts {
            match part.as_rule() {
                Rule::exception_over => over.extend(part.into_inner().map(|p| self.name(&p))),
                Rule::source_clause => source = self.source(part),
                _ => expressions.push(self.expr(part)?),
            }
        }
        let mut expressions = expressions.into_iter();
        let condition = expressions
            .next()
            .ok_or_else(|| internal("exception condition"))?;
        let value = expressions
            .next()
            .ok_or_else(|| internal("exception value"))?;
        Ok(ExceptionDecl {
            label,
            over,
            source,
            condition,
            value,
        })
    }

    fn literal(&mut self, pair: Pair<Rule>) -> Built<Literal> {
        let pair = if pair.as_rule() == Rule::literal || pair.as_rule() == Rule::scalar_lit {
            let span = self.span(&pair);
            let inner = pair
                .into_inner()
                .next()
                .ok_or_else(|| internal("literal"))?;
            if inner.as_rule() == Rule::scalar_lit {
                return self.literal(inner);
            }
            let _ = span;
            inner
        } else {
            pair
        };
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::date_lit => match self.date(&pair) {
                Some(date) => LiteralKind::Date(date),
                None => LiteralKind::Invalid,
            },
            Rule::month_lit => match Month::parse(pair.as_str()) {
                Some(month) => LiteralKind::Month(month),
                None => {
                    self.diagnostics.push(Diagnostic::error(
                        Code::SyntaxBadMonth,
                        format!(
                            "`{}` is not a month (the month must be 01 to 12)",
                            pair.as_str()
                        ),
                        span,
                        "no such month",
                    ));
                    LiteralKind::Invalid
                }
            },
            Rule::quarter_lit => match Quarter::parse(pair.as_str()) {
                Some(quarter) => LiteralKind::Quarter(quarter),
                None => {
                    self.diagnostics.push(Diagnostic::error(
                        Code::SyntaxBadQuarter,
                        format!("`{}` is not a quarter (Q1 to Q4)", pair.as_str()),
                        span,
                        "no such quarter",
                    ));
                    LiteralKind::Invalid
                }
            },
            Rule::money_lit => {
                let number = pair
                    .clone()
                    .into_inner()
                    .next()
                    .ok_or_else(|| internal("money"))?;
                LiteralKind::Money(self.decimal(&number).unwrap_or_default())
            }
            Rule::number => {
                if pair.as_str().contains('.') {
                    LiteralKind::Decimal(self.decimal(&pair).unwrap_or_default())
                } else {
                    LiteralKind::Integer(self.integer(&pair).unwrap_or_default())
                }
            }
            Rule::neg_number => {
                if pair.as_str().contains('.') {
                    LiteralKind::Decimal(self.decimal(&pair).unwrap_or_default())
                } else {
                    LiteralKind::Integer(self.integer(&pair).unwrap_or_default())
                }
            }
            Rule::string => LiteralKind::Text(self.string(&pair)),
            Rule::bool_lit => LiteralKind::Bool(pair.as_str() == "true"),
            Rule::none_kw => LiteralKind::None,
            Rule::literal_list => {
                let mut items = Vec::new();
                for item in pair.into_inner() {
                    items.push(self.literal(item)?);
                }
                LiteralKind::List(items)
            }
            Rule::enum_lit => LiteralKind::Name(pair.as_str().to_string()),
            _ => return Err(internal("unknown literal")),
        };
        Ok(Literal { kind, span })
    }

    fn count_operations(&mut self, count: usize, span: Span) -> Built<()> {
        self.operations += count;
        if self.operations > MAX_OPERATIONS {
            return Err(Diagnostic::error(
                Code::SyntaxTooLarge,
                format!("this item has more than {MAX_OPERATIONS} operations"),
                span,
                "too large",
            )
            .with_help("split it into several definitions"));
        }
        Ok(())
    }

    fn expr(&mut self, pair: Pair<Rule>) -> Built<Expr> {
        let span = self.span(&pair);
        self.count_operations(1, span)?;
        let rule = pair.as_rule();
        let kind = match rule {
            Rule::expr | Rule::paren_expr => {
                let inner = pair
                    .into_inner()
                    .next()
                    .ok_or_else(|| internal("expression"))?;
                return self.expr(inner);
            }
            Rule::if_expr => {
                let mut parts = pair.into_inner();
                let condition = self.expr(parts.next().ok_or_else(|| internal("if"))?)?;
                let then = self.expr(parts.next().ok_or_else(|| internal("then"))?)?;
                let otherwise = self.expr(parts.next().ok_or_else(|| internal("else"))?)?;
                ExprKind::If(Box::new(condition), Box::new(then), Box::new(otherwise))
            }
            Rule::match_expr => {
                let mut parts = pair.into_inner();
                let scrutinee = self.expr(parts.next().ok_or_else(|| internal("match"))?)?;
                let mut arms = Vec::new();
                for arm in parts {
                    let mut arm_parts = arm.into_inner();
                    let pattern =
                        self.pattern(arm_parts.next().ok_or_else(|| internal("pattern"))?)?;
                    let body = self.expr(arm_parts.next().ok_or_else(|| internal("arm"))?)?;
                    arms.push(MatchArmDecl { pattern, body });
                }
                ExprKind::Match(Box::new(scrutinee), arms)
            }
            Rule::coalesce_expr | Rule::or_expr | Rule::and_expr => {
                let mut operands = Vec::new();
                for part in pair.into_inner() {
                    if part.as_rule() != Rule::kw_or && part.as_rule() != Rule::kw_and {
                        operands.push(self.expr(part)?);
                    }
                }
                return Ok(fold_left(operands, |left, right| match rule {
                    Rule::coalesce_expr => ExprKind::Coalesce(left, right),
                    Rule::or_expr => ExprKind::Or(left, right),
                    _ => ExprKind::And(left, right),
                })
                .unwrap_or(Expr {
                    kind: ExprKind::Literal(LiteralKind::None),
                    span,
                }));
            }
            Rule::not_expr => {
                let parts: Vec<Pair<Rule>> = pair.into_inner().collect();
                let negations = parts.iter().filter(|p| p.as_rule() == Rule::kw_not).count();
                self.count_operations(negations, span)?;
                let last = parts.into_iter().last().ok_or_else(|| internal("not"))?;
                let mut result = self.expr(last)?;
                for _ in 0..negations {
                    result = Expr {
                        kind: ExprKind::Not(Box::new(result)),
                        span,
                    };
                }
                return Ok(result);
            }
            Rule::cmp_expr => {
                let mut parts = pair.into_inner();
                let left = self.expr(parts.next().ok_or_else(|| internal("comparison"))?)?;
                let Some(operator) = parts.next() else {
                    return Ok(left);
                };
                let right = self.expr(parts.next().ok_or_else(|| internal("comparison right"))?)?;
                let operator = match operator
                    .as_str()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .as_str()
                {
                    "==" => BinaryOperator::Eq,
                    "!=" => BinaryOperator::Ne,
                    "<" => BinaryOperator::Lt,
                    "<=" => BinaryOperator::Le,
                    ">" => BinaryOperator::Gt,
                    ">=" => BinaryOperator::Ge,
                    "in" => BinaryOperator::In,
                    _ => BinaryOperator::NotIn,
                };
                ExprKind::Binary(operator, Box::new(left), Box::new(right))
            }
            Rule::add_expr | Rule::mul_expr => {
                let mut parts = pair.into_inner();
                let mut result = self.expr(parts.next().ok_or_else(|| internal("arithmetic"))?)?;
                while let Some(operator) = parts.next() {
                    let right = self.expr(parts.next().ok_or_else(|| internal("operand"))?)?;
                    let operator = match operator.as_str() {
                        "+" => BinaryOperator::Add,
                        "-" => BinaryOperator::Sub,
                        "*" => BinaryOperator::Mul,
                        _ => BinaryOperator::Div,
                    };
                    let span = Span {
                        start: result.span.start,
                        end: right.span.end,
                    };
                    result = Expr {
                        kind: ExprKind::Binary(operator, Box::new(result), Box::new(right)),
                        span,
                    };
                }
                return Ok(result);
            }
            Rule::unary_expr => {
                let parts: Vec<Pair<Rule>> = pair.into_inner().collect();
                let negations = parts.iter().filter(|p| p.as_rule() == Rule::neg).count();
                self.count_operations(negations, span)?;
                let last = parts.into_iter().last().ok_or_else(|| internal("unary"))?;
                let mut result = self.expr(last)?;
                for _ in 0..negations {
                    result = Expr {
                        kind: ExprKind::Negate(Box::new(result)),
                        span,
                    };
                }
                return Ok(result);
            }
            Rule::postfix_expr => {
                self.count_operations(pair.clone().into_inner().count(), span)?;
                let mut parts = pair.into_inner();
                let mut result = self.expr(parts.next().ok_or_else(|| internal("postfix"))?)?;
                for access in parts {
                    let field = access
                        .into_inner()
                        .next()
                        .ok_or_else(|| internal("field"))?;
                    let field = self.name(&field);
                    let span = Span {
                        start: result.span.start,
                        end: field.span.end,
                    };
                    result = Expr {
                        kind: ExprKind::Field(Box::new(result), field),
                        span,
                    };
                }
                return Ok(result);
            }
            Rule::list_lit => {
                let mut items = Vec::new();
                for item in pair.into_inner() {
                    items.push(self.expr(item)?);
                }
                ExprKind::List(items)
            }
            Rule::object_lit => {
                let mut entries = Vec::new();
                for entry in pair.into_inner() {
                    let mut parts = entry.into_inner();
                    let key_pair = parts.next().ok_or_else(|| internal("key"))?;
                    let key = if key_pair.as_rule() == Rule::string {
                        Name {
                            text: self.string(&key_pair),
                            span: self.span(&key_pair),
                        }
                    } else {
                        self.name(&key_pair)
                    };
                    let value = self.expr(parts.next().ok_or_else(|| internal("value"))?)?;
                    entries.push((key, value));
                }
                ExprKind::Object(entries)
            }
            Rule::map_comp => {
                let mut var = None;
                let mut expressions = Vec::new();
                let mut filter = None;
                for part in pair.into_inner() {
                    match part.as_rule() {
                        Rule::ident => var = Some(self.name(&part)),
                        Rule::kw_in => {}
                        Rule::where_clause => {
                            let condition =
                                part.into_inner().next().ok_or_else(|| internal("where"))?;
                            filter = Some(Box::new(self.expr(condition)?));
                        }
                        _ => expressions.push(self.expr(part)?),
                    }
                }
                let mut expressions = expressions.into_iter();
                ExprKind::MapComprehension {
                    var: var.ok_or_else(|| internal("map variable"))?,
                    list: Box::new(expressions.next().ok_or_else(|| internal("map list"))?),
                    filter,
                    key: Box::new(expressions.next().ok_or_else(|| internal("map key"))?),
                    value: Box::new(expressions.next().ok_or_else(|| internal("map value"))?),
                }
            }
            Rule::aggregate => {
                let mut function = None;
                let mut var = None;
                let mut expressions = Vec::new();
                let mut filter = None;
                for part in pair.into_inner() {
                    match part.as_rule() {
                        Rule::agg_name => function = Some(self.name(&part)),
                        Rule::ident => var = Some(self.name(&part)),
                        Rule::kw_in => {}
                        Rule::where_clause => {
                            let condition =
                                part.into_inner().next().ok_or_else(|| internal("where"))?;
                            filter = Some(Box::new(self.expr(condition)?));
                        }
                        _ => expressions.push(self.expr(part)?),
                    }
                }
                let mut expressions = expressions.into_iter();
                ExprKind::Aggregate {
                    function: function.ok_or_else(|| internal("aggregate"))?,
                    var: var.ok_or_else(|| internal("aggregate variable"))?,
                    list: Box::new(
                        expressions
                            .next()
                            .ok_or_else(|| internal("aggregate list"))?,
                    ),
                    filter,
                    body: expressions.next().map(Box::new),
                }
            }
            Rule::call => {
                let mut parts = pair.into_inner();
                let name = self.name(&parts.next().ok_or_else(|| internal("call"))?);
                let mut arguments = Vec::new();
                for argument in parts {
                    arguments.push(self.expr(argument)?);
                }
                ExprKind::Call(name, arguments)
            }
            Rule::literal_expr => {
                let literal = self.literal(
                    pair.into_inner()
                        .next()
                        .ok_or_else(|| internal("literal"))?,
                )?;
                ExprKind::Literal(literal.kind)
            }
            Rule::rule_id => ExprKind::RuleRef(pair.as_str().to_string()),
            Rule::name_ref => ExprKind::Name(pair.as_str().to_string()),
            _ => return Err(internal("unknown expression")),
        };
        Ok(Expr { kind, span })
    }

    fn pattern(&mut self, pair: Pair<Rule>) -> Built<PatternDecl> {
        let inner = pair
            .into_inner()
            .next()
            .ok_or_else(|| internal("pattern"))?;
        let span = self.span(&inner);
        Ok(match inner.as_rule() {
            Rule::some_pattern => {
                let name = inner.into_inner().next().ok_or_else(|| internal("some"))?;
                PatternDecl::Some(self.name(&name), span)
            }
            Rule::none_kw => PatternDecl::None(span),
            Rule::wildcard => PatternDecl::Wildcard(span),
            Rule::literal_pattern => {
                let value = inner
                    .into_inner()
                    .next()
                    .ok_or_else(|| internal("literal pattern"))?;
                let kind = match value.as_rule() {
                    Rule::string => LiteralKind::Text(self.string(&value)),
                    Rule::bool_lit => LiteralKind::Bool(value.as_str() == "true"),
                    _ => {
                        if value.as_str().contains('.') {
                            LiteralKind::Decimal(self.decimal(&value).unwrap_or_default())
                        } else {
                            LiteralKind::Integer(self.integer(&value).unwrap_or_default())
                        }
                    }
                };
                PatternDecl::Literal(Literal { kind, span })
            }
            _ => {
                let names: Vec<Name> = inner.into_inner().map(|p| self.name(&p)).collect();
                match names.as_slice() {
                    [variant] => PatternDecl::Variant(None, variant.clone()),
                    [enum_name, variant] => {
                        PatternDecl::Variant(Some(enum_name.clone()), variant.clone())
                    }
                    _ => return Err(internal("pattern name")),
                }
            }
        })
    }
}

fn fold_left(
    operands: Vec<Expr>,
    combine: impl Fn(Box<Expr>, Box<Expr>) -> ExprKind,
) -> Option<Expr> {
    let mut operands = operands.into_iter();
    let mut result = operands.next()?;
    for right in operands {
        let span = Span {
            start: result.span.start,
            end: right.span.end,
        };
        result = Expr {
            kind: combine(Box::new(result), Box::new(right)),
            span,
        };
    }
    Some(result)
}
