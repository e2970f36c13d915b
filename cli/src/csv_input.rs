//! CSV input for `ereje batch`: one case per row, as an analyst fills a spreadsheet.
//!
//! Rows are cut by the `csv` crate, as spreadsheet programs write them: cells quoted with `"`
//! may hold the separator, line breaks and doubled quotes (`""`); the separator is `,` or `;`
//! (whichever the header row uses; spreadsheets in Russian locales write `;`). Blank lines are
//! not rows. The first row names the columns, in any order; an empty cell means "not given".
//! Each row becomes the case JSON and then goes through exactly the same reading and evaluation
//! as a JSON line, so a wrong value is reported with the same code and JSON path.
//!
//! # The columns: one flattening rule over the policy's input record
//!
//! Nothing here knows a policy: the columns are derived from the input record type, each
//! field in declaration order, by this rule (the *part* of a field is its name, or the short
//! name the policy's `csv.toml` gives its path, see below):
//!
//! - a field of a plain type (text, number, money, date, month, quarter, enum, boolean, or an
//!   optional one) is one column, named by the parts of the fields above it and its own, joined
//!   with `_` (an empty part is left out): `application_date`, `assets_vehicles`;
//! - a field holding a record adds its part before the names of the record's columns;
//! - a list of records is *keyed* when its record has exactly one money or decimal field (the
//!   value) and every other field is an enum, month, quarter or boolean (the keys): one column
//!   per combination of keys, `<part>_<key>_<key>…` with each enum, month or quarter key written
//!   as its JSON value (`income_salary_2025-01`), and each boolean key that is true written
//!   before the part as its own part (`mortgage_deposits`); the cell is the value, and every
//!   filled cell is one item, in column order;
//! - any other list is *numbered*: `<part><k>_<column of the item>` for a list of records,
//!   `<part><k>` for a list of plain values, `k` from 1; item `k` exists when one of its cells
//!   is filled, and items keep the order of `k` (`m1`, `m3` give two items). When the list has a
//!   `unique <field>` check on a text field that the row leaves empty, item `k` gets
//!   `<part><k>` there (`m3`);
//! - maps and other types get no columns.
//!
//! A header name is matched against the fields in declaration order, the first match winning.
//! A cell is read by its field's type: booleans are `true`/`false`, `yes`/`no`, `да`/`нет`,
//! `иә`/`жоқ` or `1`/`0`; integers and integer-valued enums are whole numbers; money and
//! decimals are kept as the exact text; anything else is text. A cell that is none of these
//! goes to the case reader as text and is reported there.
//!
//! # Short names: `csv.toml`
//!
//! A policy directory may hold `csv.toml`, whose `[parts]` table gives the part of a field by
//! its dotted path in the case (`members = "m"`, `"bank.loans" = "loan"`, `assets = ""`). A
//! path that names no field is an error, so a misspelt entry cannot go unnoticed.
//!
//! # Errors
//!
//! An unknown or repeated column, or a header name holding an invisible character, is an error
//! of the whole file (a misspelt header would otherwise lose data silently). A row with more
//! or fewer cells than the header gets the error line `csv.invalid_row`; a cell holding an
//! invisible character (a byte-order mark, a zero width space, …) gets `csv.invalid_cell`
//! naming it and its column.

use std::collections::BTreeMap;
use std::path::Path;

use ereje_runtime::case::invisible;
use ereje_runtime::ir::{Constraint, JsonLiteral, Policy, RecordDef, Type, TypeDef};
use ereje_runtime::CaseError;
use serde_json::{Map, Value as Json};

/// The error code of a row that does not have one cell per column.
pub const INVALID_ROW: &str = "csv.invalid_row";
/// The error code of a cell that holds an invisible character.
pub const INVALID_CELL: &str = "csv.invalid_cell";

/// The short names a policy gives the parts of its CSV columns (`csv.toml` in the policy
/// directory): by dotted field path, the part written for that field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvNames {
    #[serde(default)]
    parts: BTreeMap<String, String>,
}

impl CsvNames {
    /// The file name, in the policy directory.
    pub const FILE: &'static str = "csv.toml";

    /// Reads `csv.toml` from `policy_dir`; no names when there is no such file.
    pub fn load(policy_dir: &Path) -> Result<CsvNames, String> {
        let path = policy_dir.join(CsvNames::FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|error| format!("`{}` is not valid: {error}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(CsvNames::default()),
            Err(error) => Err(format!("cannot read `{}`: {error}", path.display())),
        }
    }

    /// The part of the field at `path` named `name`.
    fn part<'a>(&'a self, path: &str, name: &'a str) -> &'a str {
        self.parts.get(path).map_or(name, String::as_str)
    }
}

/// How a cell's text becomes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    Integer,
    /// Money and decimals: a JSON string holding the exact text.
    Exact,
}

/// One step from a record down to where a column's cell goes.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// A field of the record, by index (which orders the JSON keys) and name.
    Field { index: usize, name: String },
    /// Item `number` (from 1) of a numbered list. `default_id` is the unique text field (index,
    /// name) to fill with `<part><number>` when the row leaves it empty, with the list's part.
    Item {
        number: u32,
        default_id: Option<(usize, String, String)>,
    },
    /// A new item of a keyed list: the key fields with their values; the cell is `value`.
    Keyed {
        keys: Vec<(usize, String, Json)>,
        value: (usize, String),
    },
}

/// Where one column's cells go.
#[derive(Debug, Clone, PartialEq)]
struct Column {
    name: String,
    steps: Vec<Step>,
    kind: Kind,
}

/// The columns of a CSV file, read from its header row against a policy's input record.
#[derive(Debug, Clone)]
pub struct CsvLayout {
    separator: u8,
    columns: Vec<Column>,
    case_id_column: Option<usize>,
}

/// The base type of a field (optional removed).
fn base(ty: &Type) -> &Type {
    match ty {
        Type::Optional(inner) => base(inner),
        other => other,
    }
}

fn record_of(policy: &Policy, id: u32) -> Option<&RecordDef> {
    match policy.types.get(id as usize) {
        Some(TypeDef::Record(record)) => Some(record),
        _ => None,
    }
}

/// How a plain type's cell is read; `None` for records, lists and maps.
fn kind_of(policy: &Policy, ty: &Type) -> Option<Kind> {
    Some(match base(ty) {
        Type::Bool => Kind::Bool,
        Type::Integer => Kind::Integer,
        Type::Money | Type::Decimal => Kind::Exact,
        Type::Text | Type::Date | Type::Month | Type::Quarter | Type::RuleId => Kind::Text,
        Type::Enum(id) => match policy.types.get(*id as usize) {
            Some(TypeDef::Enum(definition))
                if definition
                    .variants
                    .iter()
                    .all(|variant| matches!(variant.json, JsonLiteral::Integer(_))) =>
            {
                Kind::Integer
            }
            _ => Kind::Text,
        },
        _ => return None,
    })
}

fn join_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The rest of `name` after the part `part` and its `_` (all of `name` for an empty part).
fn after_part<'a>(name: &'a str, part: &str) -> Option<&'a str> {
    if part.is_empty() {
        return Some(name);
    }
    let rest = name.strip_prefix(part)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix('_')
    }
}

/// `<part><k>` then `_` and the rest, or the end: `(k, rest)`.
fn after_numbered<'a>(name: &'a str, part: &str) -> Option<(u32, &'a str)> {
    let rest = name.strip_prefix(part)?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let number: u32 = rest.get(..digits)?.parse().ok()?;
    let rest = rest.get(digits..)?;
    let rest = if rest.is_empty() {
        rest
    } else {
        rest.strip_prefix('_')?
    };
    (number >= 1).then_some((number, rest))
}

/// Whether `text` has the shape `YYYY-MM` (the case reader checks the month itself).
fn is_month(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 7
        && bytes.get(4) == Some(&b'-')
        && bytes
            .iter()
            .enumerate()
            .all(|(index, byte)| index == 4 || byte.is_ascii_digit())
}

/// Whether `text` has the shape `YYYY-Qn`.
fn is_quarter(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 7
        && bytes.get(4..6) == Some(b"-Q")
        && bytes
            .iter()
            .enumerate()
            .all(|(index, byte)| index == 4 || index == 5 || byte.is_ascii_digit())
}

/// A keyed list's record: the key fields and the value field, or `None` when it is not one.
struct KeyedShape<'p> {
    keys: Vec<(usize, &'p str, &'p Type, bool)>,
    value: (usize, &'p str),
}

fn keyed_shape(record: &RecordDef) -> Option<KeyedShape<'_>> {
    let mut value = None;
    let mut keys = Vec::new();
    for (index, field) in record.fields.iter().enumerate() {
        match base(&field.ty) {
            Type::Money | Type::Decimal if value.is_none() => {
                value = Some((index, field.name.as_str()))
            }
            ty @ (Type::Enum(_) | Type::Month | Type::Quarter | Type::Bool) => {
                keys.push((index, field.name.as_str(), ty, field.required))
            }
            _ => return None,
        }
    }
    let value = value?;
    (!keys.is_empty()).then_some(KeyedShape { keys, value })
}

/// Finds where column `name` goes in the record `record` at dotted `path`: the first field, in
/// declaration order, that takes it.
fn match_record(
    policy: &Policy,
    names: &CsvNames,
    record: &RecordDef,
    path: &str,
    name: &str,
) -> Option<(Vec<Step>, Kind)> {
    for (index, field) in record.fields.iter().enumerate() {
        let field_path = join_path(path, &field.name);
        let part = names.part(&field_path, &field.name);
        let step = Step::Field {
            index,
            name: field.name.clone(),
        };
        let found = match base(&field.ty) {
            Type::Record(id) => after_part(name, part).and_then(|rest| {
                let inner = record_of(policy, *id)?;
                match_record(policy, names, inner, &field_path, rest)
            }),
            Type::List(element) => {
                match_list(policy, names, field, element, &field_path, part, name)
            }
            ty => kind_of(policy, ty)
                .filter(|_| after_part(name, part) == Some(""))
                .map(|kind| (Vec::new(), kind)),
        };
        if let Some((mut steps, kind)) = found {
            steps.insert(0, step);
            return Some((steps, kind));
        }
    }
    None
}

/// Finds where column `name` goes in the list field `field` (of `element`s) at `path`.
fn match_list(
    policy: &Policy,
    names: &CsvNames,
    field: &ereje_runtime::ir::FieldDef,
    element: &Type,
    path: &str,
    part: &str,
    name: &str,
) -> Option<(Vec<Step>, Kind)> {
    let Type::Record(id) = base(element) else {
        let kind = kind_of(policy, element)?;
        let (number, rest) = after_numbered(name, part)?;
        let step = Step::Item {
            number,
            default_id: None,
        };
        return rest.is_empty().then(|| (vec![step], kind));
    };
    let record = record_of(policy, *id)?;
    if let Some(shape) = keyed_shape(record) {
        return match_keyed(policy, names, &shape, path, part, name)
            .map(|step| (vec![step], Kind::Exact));
    }
    let (number, rest) = after_numbered(name, part)?;
    let default_id = field
        .constraints
        .iter()
        .find_map(|constraint| match constraint {
            Constraint::UniqueBy(unique) => {
                let unique_field = record.fields.get(*unique as usize)?;
                (*base(&unique_field.ty) == Type::Text).then(|| {
                    (
                        *unique as usize,
                        unique_field.name.clone(),
                        part.to_string(),
                    )
                })
            }
            _ => None,
        });
    let (mut steps, kind) = match_record(policy, names, record, path, rest)?;
    steps.insert(0, Step::Item { number, default_id });
    Some((steps, kind))
}

/// Matches column `name` against a keyed list: `[<true boolean key>_]…<part>[_<key value>]…`.
fn match_keyed(
    policy: &Policy,
    names: &CsvNames,
    shape: &KeyedShape<'_>,
    path: &str,
    part: &str,
    name: &str,
) -> Option<Step> {
    let mut rest = name;
    let mut keys = Vec::new();
    for (index, key_name, ty, required) in &shape.keys {
        if **ty != Type::Bool {
            continue;
        }
        let key_part = names.part(&join_path(path, key_name), key_name);
        let flagged = rest
            .strip_prefix(key_part)
            .and_then(|after| after.strip_prefix('_'))
            .filter(|_| !key_part.is_empty());
        match flagged {
            Some(after) => {
                rest = after;
                keys.push((*index, key_name.to_string(), Json::Bool(true)));
            }
            None if *required => keys.push((*index, key_name.to_string(), Json::Bool(false))),
            None => {}
        }
    }
    let mut rest = after_part(rest, part)?;
    for (index, key_name, ty, _) in &shape.keys {
        let value_text = match rest.find('_') {
            // Enum values may hold `_`: the longest variant that fits is taken below.
            _ if matches!(ty, Type::Enum(_)) => None,
            Some(end) => rest.get(..end),
            None => Some(rest),
        };
        let (json, after) = match ty {
            Type::Bool => continue,
            Type::Month | Type::Quarter => {
                let text = value_text?;
                let fits = if **ty == Type::Month {
                    is_month(text)
                } else {
                    is_quarter(text)
                };
                if !fits {
                    return None;
                }
                (Json::String(text.to_string()), rest.get(text.len()..)?)
            }
            Type::Enum(id) => {
                let Some(TypeDef::Enum(definition)) = policy.types.get(*id as usize) else {
                    return None;
                };
                definition
                    .variants
                    .iter()
                    .filter_map(|variant| {
                        let (text, json) = match &variant.json {
                            JsonLiteral::Text(text) => (text.clone(), Json::String(text.clone())),
                            JsonLiteral::Integer(number) => {
                                (number.to_string(), Json::from(*number))
                            }
                        };
                        let after = rest.strip_prefix(text.as_str())?;
                        (after.is_empty() || after.starts_with('_')).then_some((
                            json,
                            after,
                            text.len(),
                        ))
                    })
                    .max_by_key(|(_, _, length)| *length)
                    .map(|(json, after, _)| (json, after))?
            }
            _ => return None,
        };
        keys.push((*index, key_name.to_string(), json));
        rest = after.strip_prefix('_').unwrap_or(after);
    }
    if !rest.is_empty() {
        return None;
    }
    keys.sort_by_key(|(index, _, _)| *index);
    Some(Step::Keyed {
        keys,
        value: (shape.value.0, shape.value.1.to_string()),
    })
}

/// Checks every `csv.toml` path names a field of the input record.
fn check_names(policy: &Policy, names: &CsvNames) -> Result<(), String> {
    fn collect(policy: &Policy, record: &RecordDef, path: &str, paths: &mut Vec<String>) {
        for field in &record.fields {
            let field_path = join_path(path, &field.name);
            let inner = match base(&field.ty) {
                Type::Record(id) => Some(*id),
                Type::List(element) => match base(element) {
                    Type::Record(id) => Some(*id),
                    _ => None,
                },
                _ => None,
            };
            if let Some(inner) = inner.and_then(|id| record_of(policy, id)) {
                collect(policy, inner, &field_path, paths);
            }
            paths.push(field_path);
        }
    }
    let mut paths = Vec::new();
    if let Some(root) = record_of(policy, policy.input.record) {
        collect(policy, root, "", &mut paths);
    }
    match names.parts.keys().find(|path| !paths.contains(path)) {
        Some(path) => Err(format!(
            "`{}` gives a name to `{path}`, which is not a field of the input record",
            CsvNames::FILE
        )),
        None => Ok(()),
    }
}

/// The column a header name holds an invisible character in, named.
fn invisible_in(text: &str) -> Option<String> {
    text.chars()
        .find(|character| invisible::name_of(*character).is_some())
        .map(invisible::describe)
}

fn cell_json(text: &str, kind: Kind) -> Json {
    match kind {
        Kind::Text | Kind::Exact => Json::String(text.to_string()),
        Kind::Bool => match text.to_lowercase().as_str() {
            "true" | "yes" | "1" | "да" | "иә" => Json::Bool(true),
            "false" | "no" | "0" | "нет" | "жоқ" => Json::Bool(false),
            _ => Json::String(text.to_string()),
        },
        Kind::Integer => match text.parse::<i64>() {
            Ok(number) => Json::from(number),
            Err(_) => Json::String(text.to_string()),
        },
    }
}

/// A case being built from a row: fields by index, so that JSON keys come in declaration order.
#[derive(Default)]
struct Node {
    fields: BTreeMap<usize, (String, Built)>,
}

enum Built {
    Value(Json),
    Record(Node),
    Numbered {
        items: BTreeMap<u32, Built>,
        default_id: Option<(usize, String, String)>,
    },
    Keyed(Vec<Json>),
}

impl Node {
    /// Puts `cell` where `steps` lead (the first step is a field of this record).
    fn insert(&mut self, steps: &[Step], cell: Json) {
        let Some((Step::Field { index, name }, below)) = steps.split_first() else {
            return;
        };
        let (_, built) = self
            .fields
            .entry(*index)
            .or_insert_with(|| (name.clone(), Built::Value(Json::Null)));
        built.insert(below, cell);
    }

    fn into_json(self) -> Json {
        Json::Object(
            self.fields
                .into_values()
                .map(|(name, built)| (name, built.into_json()))
                .collect::<Map<String, Json>>(),
        )
    }
}

impl Built {
    fn insert(&mut self, steps: &[Step], cell: Json) {
        match steps.split_first() {
            None => *self = Built::Value(cell),
            Some((Step::Field { .. }, _)) => {
                if !matches!(self, Built::Record(_)) {
                    *self = Built::Record(Node::default());
                }
                if let Built::Record(node) = self {
                    node.insert(steps, cell);
                }
            }
            Some((Step::Item { number, default_id }, below)) => {
                if !matches!(self, Built::Numbered { .. }) {
                    *self = Built::Numbered {
                        items: BTreeMap::new(),
                        default_id: default_id.clone(),
                    };
                }
                if let Built::Numbered { items, .. } = self {
                    let item = items.entry(*number).or_insert_with(|| {
                        if below.is_empty() {
                            Built::Value(Json::Null)
                        } else {
                            Built::Record(Node::default())
                        }
                    });
                    item.insert(below, cell);
                }
            }
            Some((Step::Keyed { keys, value }, _)) => {
                if !matches!(self, Built::Keyed(_)) {
                    *self = Built::Keyed(Vec::new());
                }
                if let Built::Keyed(items) = self {
                    let mut fields: Vec<(usize, &str, Json)> = keys
                        .iter()
                        .map(|(index, name, json)| (*index, name.as_str(), json.clone()))
                        .collect();
                    fields.push((value.0, value.1.as_str(), cell));
                    fields.sort_by_key(|(index, _, _)| *index);
                    items.push(Json::Object(
                        fields
                            .into_iter()
                            .map(|(_, name, json)| (name.to_string(), json))
                            .collect(),
                    ));
                }
            }
        }
    }

    fn into_json(self) -> Json {
        match self {
            Built::Value(json) => json,
            Built::Record(node) => node.into_json(),
            Built::Keyed(items) => Json::Array(items),
            Built::Numbered { items, default_id } => Json::Array(
                items
                    .into_iter()
                    .map(|(number, item)| match (item, &default_id) {
                        (Built::Record(mut node), Some((index, name, part))) => {
                            node.fields.entry(*index).or_insert_with(|| {
                                (
                                    name.clone(),
                                    Built::Value(Json::String(format!("{part}{number}"))),
                                )
                            });
                            node.into_json()
                        }
                        (item, _) => item.into_json(),
                    })
                    .collect(),
            ),
        }
    }
}

impl CsvLayout {
    /// The separator a header row uses: `;` when it has `;` and no `,`, else `,`.
    pub fn separator_of(header: &[u8]) -> u8 {
        if header.contains(&b';') && !header.contains(&b',') {
            b';'
        } else {
            b','
        }
    }

    /// Reads the header row (one line, its line break and a leading byte-order mark ignored)
    /// against the input record of `policy`. Fails on an unknown or repeated column.
    pub fn from_header(
        policy: &Policy,
        names: &CsvNames,
        header: &[u8],
    ) -> Result<CsvLayout, String> {
        check_names(policy, names)?;
        let header = header.strip_prefix("\u{feff}".as_bytes()).unwrap_or(header);
        let separator = CsvLayout::separator_of(header);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(separator)
            .has_headers(false)
            .flexible(true)
            .from_reader(header);
        let mut record = csv::StringRecord::new();
        match reader.read_record(&mut record) {
            Ok(_) => {}
            Err(error) => return Err(format!("the header row cannot be read: {error}")),
        }
        let root =
            record_of(policy, policy.input.record).ok_or("the policy's input is not a record")?;
        let mut columns: Vec<Column> = Vec::with_capacity(record.len());
        for (position, name) in record.iter().enumerate() {
            let name = name.trim();
            if let Some(character) = invisible_in(name) {
                return Err(format!(
                    "column {} `{name}` holds the invisible character {character}",
                    position + 1
                ));
            }
            let Some((steps, kind)) = match_record(policy, names, root, "", name) else {
                return Err(format!(
                    "column {} `{name}` is not a column of this policy's cases (see the rule \
                     in `ereje batch --help`)",
                    position + 1
                ));
            };
            if let Some(earlier) = columns.iter().position(|column| column.name == name) {
                return Err(format!(
                    "column `{name}` appears twice (columns {} and {})",
                    earlier + 1,
                    position + 1
                ));
            }
            columns.push(Column {
                name: name.to_string(),
                steps,
                kind,
            });
        }
        let case_id_column = policy.input.id_field.and_then(|id_field| {
            columns.iter().position(|column| {
                matches!(column.steps.as_slice(),
                    [Step::Field { index, .. }] if *index == id_field as usize)
            })
        });
        Ok(CsvLayout {
            separator,
            columns,
            case_id_column,
        })
    }

    /// The separator of the file's rows.
    pub fn separator(&self) -> u8 {
        self.separator
    }

    /// Converts one row into the case JSON, appended to `out`. On failure, gives the case id
    /// when the row names one.
    pub fn row_to_json(
        &self,
        cells: &csv::ByteRecord,
        out: &mut String,
    ) -> Result<(), (Option<String>, CaseError)> {
        let mut texts = Vec::with_capacity(cells.len());
        for (position, cell) in cells.iter().enumerate() {
            match std::str::from_utf8(cell) {
                Ok(text) => texts.push(text),
                Err(error) => {
                    let message = format!(
                        "cell {} is not valid utf-8 (byte {})",
                        position + 1,
                        error.valid_up_to()
                    );
                    return Err((
                        None,
                        CaseError::new(ereje_runtime::error::codes::INVALID_JSON, "", message),
                    ));
                }
            }
        }
        let case_id = self
            .case_id_column
            .and_then(|index| texts.get(index))
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty());
        if texts.len() != self.columns.len() {
            let message = format!(
                "the row has {} cells but the header has {} columns",
                texts.len(),
                self.columns.len()
            );
            return Err((case_id, CaseError::new(INVALID_ROW, "", message)));
        }
        let mut case = Node::default();
        for (column, text) in self.columns.iter().zip(&texts) {
            if let Some(character) = invisible_in(text) {
                let message = format!(
                    "the cell of column `{}` holds the invisible character {character}",
                    column.name
                );
                return Err((case_id, CaseError::new(INVALID_CELL, "", message)));
            }
            let text = text.trim();
            if !text.is_empty() {
                case.insert(&column.steps, cell_json(text, column.kind));
            }
        }
        out.push_str(&case.into_json().to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn kz() -> (Policy, CsvNames) {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/kz");
        let side = crate::versions::load_side_with_limits(
            &directory,
            None,
            &[],
            crate::limits(None, None),
        )
        .unwrap_or_else(|code| panic!("policies/kz does not load (exit code {code})"));
        let policy = side.engines.first().unwrap().policy().clone();
        (policy, CsvNames::load(&directory).unwrap())
    }

    fn row(text: &str) -> csv::ByteRecord {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let mut record = csv::ByteRecord::new();
        assert!(reader.read_byte_record(&mut record).unwrap());
        record
    }

    /// Every column README.md documents for the kz policy is what the rule gives.
    #[test]
    fn the_rule_gives_the_documented_kz_columns() {
        let (policy, names) = kz();
        let good = [
            "case_id,application_date,region,housing_units,renting,vehicles,land_plots,livestock_heads",
            "contract_signed,contract_terminated_on,pilot_enrolled,pilot_sms_sent_on",
            "deposits,mortgage_deposits,expenses_2025-03",
            "loan1_kind,loan2_issued_on,loan3_amount,loan12_overdue_days",
            "purchase1_kind,purchase1_date,purchase1_amount",
            "m1_id,m1_role,m1_birth_date,m1_sex,m1_disability_group,m1_child_with_disability",
            "m2_full_time_student,m2_carer,m2_employment,m2_education,m2_chronic_illness",
            "m12_registered_business,m1_consent,m1_consent_replied_on",
            "m1_income_salary_2025-01,m3_income_asp_child_supplement_2024-12,m1_income_self_employment_2025-02",
            "case_id;expenses_2025-03;m12_consent_replied_on;purchase1_kind",
        ];
        for header in good {
            let layout = CsvLayout::from_header(&policy, &names, header.as_bytes());
            assert!(layout.is_ok(), "{header}: {:?}", layout.err());
        }
        let bad = [
            "case_id,birthdate",
            "case_id,m0_sex",
            "case_id,m1_income_salary_2025-1",
            "case_id,m1_income_wages_2025-01",
            "case_id,case_id",
            "loan1_colour",
            "case_id,m1_consent_answer",
            "case_\u{200b}id",
        ];
        for header in bad {
            let layout = CsvLayout::from_header(&policy, &names, header.as_bytes());
            assert!(layout.is_err(), "{header}");
        }
    }

    #[test]
    fn a_row_becomes_the_case_json() {
        let (policy, names) = kz();
        let layout = CsvLayout::from_header(
            &policy,
            &names,
            b"case_id,application_date,m1_birth_date,m1_sex,m1_carer,m1_income_salary_2025-01,m3_sex,vehicles,contract_signed,mortgage_deposits,deposits,m3_consent",
        )
        .unwrap();
        let mut out = String::new();
        layout
            .row_to_json(
                &row("c1,2025-03-12,1990-01-01,female,yes,12345.67,male,2,no,10,20,yes"),
                &mut out,
            )
            .unwrap();
        let json: Json = serde_json::from_str(&out).unwrap();
        let expected = serde_json::json!({
            "case_id": "c1",
            "application_date": "2025-03-12",
            "members": [
                {"id": "m1", "birth_date": "1990-01-01", "sex": "female", "carer": true,
                 "incomes": [{"kind": "salary", "month": "2025-01", "amount": "12345.67"}]},
                {"id": "m3", "sex": "male", "consent": {"answer": "yes"}}
            ],
            "assets": {"vehicles": 2},
            "bank": {"deposits": [{"balance": "10", "mortgage": true}, {"balance": "20"}]},
            "social_contract": {"signed": false}
        });
        assert_eq!(json, expected);
        let error = layout
            .row_to_json(&row("c2,2025-03-12"), &mut out)
            .unwrap_err();
        assert_eq!(error.0.as_deref(), Some("c2"));
        assert_eq!(error.1.code(), INVALID_ROW);
        let error = layout
            .row_to_json(&row("c3,2025-03-12,,,,\u{feff}1,,,,,,"), &mut out)
            .unwrap_err();
        assert_eq!(error.1.code(), INVALID_CELL);
        assert!(error.1.message.contains("U+FEFF"), "{}", error.1.message);
    }

    #[test]
    fn a_names_file_must_name_fields_of_the_input() {
        let (policy, _) = kz();
        let names: CsvNames = toml::from_str("[parts]\nmembres = \"m\"\n").unwrap();
        let error = CsvLayout::from_header(&policy, &names, b"case_id").unwrap_err();
        assert!(error.contains("membres"), "{error}");
    }
}
