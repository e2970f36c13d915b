//! `ereje test`: the policy tests that analysts keep next to the policies, and their coverage.
//!
//! Every `*.toml` file under `<policy-dir>/tests/` (sorted by path) holds `[[test]]` tables: a
//! case (`case_file`, relative to the TOML file, or `case_json`), an optional `as_of` date, and
//! what the decision must say (`[test.expect]`: dotted paths into the outputs and their values;
//! `expect_null`: paths whose value must be JSON null; `expect_error`: the error code the case
//! must give instead of a decision).
//!
//! The module is pure functions (reading test files, comparing values, finding trace paths,
//! counting coverage, writing the report) and one command, [`run_command`], that ties them to
//! the file system and the terminal. The same policy and test files always give the same bytes.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ereje_runtime::ir::{Body, Expr, ItemKind, Policy};
use ereje_runtime::value::{Date, Value};
use ereje_runtime::{CaseOutcome, Engine, EvalOptions, Trace, TraceKind, TraceNode};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use ereje_report::explanation::{format_quantity, Lang};

/// Exit code: every test passed.
const EXIT_ALL_PASSED: u8 = 0;
/// Exit code: some test's decision differs from what it expects.
const EXIT_SOME_FAILED: u8 = 1;
/// Exit code: a test file or a case file cannot be read, or a test file is not valid TOML or
/// not in the test format.
const EXIT_BAD_TEST_FILE: u8 = 2;

/// At most this many trace paths are printed for one failing field.
const TRACE_PATH_LIMIT: usize = 8;
/// Values in trace paths are cut to this many characters.
const TRACE_VALUE_LIMIT: usize = 60;

// ---------------------------------------------------------------------------------------------
// The test format.
// ---------------------------------------------------------------------------------------------

/// One `[[test]]` table of a test file.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSpec {
    pub name: String,
    /// The line of the test's `name` key (or of its table when it has no name), 1-based.
    pub line: usize,
    pub as_of: Option<Date>,
    pub case: CaseSource,
    pub expect: Vec<Expectation>,
    pub expect_null: Vec<String>,
    pub expect_error: Option<String>,
}

/// Where a test's case comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseSource {
    /// A case file, already resolved against the test file's directory.
    File(PathBuf),
    /// The case JSON written in the test file.
    Inline(String),
}

/// One expected output field: a dotted path into the decision's outputs and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub path: String,
    pub expected: Expected,
}

/// An expected value, as the analyst wrote it in TOML.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Bool(bool),
    /// An integer or a float of the TOML text, kept as its exact decimal text.
    Number(String),
    /// A string; it compares as an exact decimal when both it and the actual value are decimals.
    Text(String),
    List(Vec<Expected>),
    /// An inline table: the actual object must have exactly these keys with these values.
    Table(Vec<(String, Expected)>),
}

/// A problem in a test file, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// A test of a file as read: the test, or why it cannot run (named when it has a name).
#[derive(Debug, Clone, PartialEq)]
pub enum ReadTest {
    Ready(TestSpec),
    Broken { name: String, problem: Problem },
}

/// The 1-based line of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
        + 1
}

/// Reads the text of one test file. A file that is not valid TOML, or whose top level is not
/// `[[test]]` tables, is one problem; a test with a problem of its own is a broken test, and
/// the file's other tests still run. `directory` is the test file's directory (for
/// `case_file`).
pub fn parse_test_file(text: &str, directory: &Path) -> Result<Vec<ReadTest>, Problem> {
    let document = DeTable::parse(text).map_err(|error| Problem {
        line: error.span().map_or(1, |span| line_of(text, span.start)),
        message: format!("not valid TOML: {}", error.message().trim_end()),
    })?;
    let mut tests = None;
    for (key, value) in document.get_ref().iter() {
        if key.get_ref().as_ref() == "test" {
            tests = Some(value);
        } else {
            return Err(Problem {
                line: line_of(text, key.span().start),
                message: format!(
                    "unknown key `{}` at the top level: a test file holds only `[[test]]` tables",
                    key.get_ref()
                ),
            });
        }
    }
    let Some(tests) = tests else {
        return Err(Problem {
            line: 1,
            message: "the file holds no `[[test]]` table".to_string(),
        });
    };
    let DeValue::Array(array) = tests.get_ref() else {
        return Err(Problem {
            line: line_of(text, tests.span().start),
            message: "`test` must be an array of tables: write each test as `[[test]]`".to_string(),
        });
    };
    Ok(array
        .iter()
        .map(|table| read_test(text, table, directory))
        .collect())
}

fn read_test(text: &str, table: &Spanned<DeValue<'_>>, directory: &Path) -> ReadTest {
    let table_line = line_of(text, table.span().start);
    let DeValue::Table(entries) = table.get_ref() else {
        return ReadTest::Broken {
            name: String::new(),
            problem: Problem {
                line: table_line,
                message: "a test must be a table".to_string(),
            },
        };
    };
    let mut name = None;
    let mut line = table_line;
    for (key, value) in entries.iter() {
        if key.get_ref().as_ref() == "name" {
            line = line_of(text, key.span().start);
            name = value.get_ref().as_str().map(str::to_string);
        }
    }
    let broken = |problem: Problem| ReadTest::Broken {
        name: name.clone().unwrap_or_default(),
        problem,
    };
    match read_test_entries(text, entries, directory, line) {
        Ok(mut spec) => match &name {
            Some(name) => {
                spec.name = name.clone();
                ReadTest::Ready(spec)
            }
            None => broken(Problem {
                line,
                message: "the test has no `name` (a string)".to_string(),
            }),
        },
        Err(problem) => broken(problem),
    }
}

fn read_test_entries(
    text: &str,
    entries: &DeTable<'_>,
    directory: &Path,
    line: usize,
) -> Result<TestSpec, Problem> {
    let mut spec = TestSpec {
        name: String::new(),
        line,
        as_of: None,
        case: CaseSource::Inline(String::new()),
        expect: Vec::new(),
        expect_null: Vec::new(),
        expect_error: None,
    };
    let mut case = None;
    for (key, value) in entries.iter() {
        let key_line = line_of(text, key.span().start);
        let problem = |message: String| Problem {
            line: key_line,
            message,
        };
        match key.get_ref().as_ref() {
            "name" => {}
            "as_of" => {
                let written = match value.get_ref() {
                    DeValue::String(date) => date.to_string(),
                    DeValue::Datetime(date) => date.to_string(),
                    _ => return Err(problem("`as_of` must be a date, YYYY-MM-DD".to_string())),
                };
                let date = Date::parse_from_str(&written, "%Y-%m-%d").map_err(|_| {
                    problem(format!("`as_of` = `{written}` is not a date, YYYY-MM-DD"))
                })?;
                spec.as_of = Some(date);
            }
            "case_file" | "case_json" => {
                let Some(written) = value.get_ref().as_str() else {
                    return Err(problem(format!("`{}` must be a string", key.get_ref())));
                };
                if case.is_some() {
                    return Err(problem(
                        "a test gives its case once: `case_file` or `case_json`, not both"
                            .to_string(),
                    ));
                }
                case = Some(if key.get_ref().as_ref() == "case_file" {
                    CaseSource::File(directory.join(written))
                } else {
                    CaseSource::Inline(written.to_string())
                });
            }
            "expect" => {
                let DeValue::Table(expected) = value.get_ref() else {
                    return Err(problem(
                        "`expect` must be a table of output paths and values".to_string(),
                    ));
                };
                let mut found = Vec::new();
                flatten_expectations(text, "", expected, &mut found)?;
                found.sort_by_key(|(offset, _)| *offset);
                spec.expect = found.into_iter().map(|(_, item)| item).collect();
            }
            "expect_null" => {
                let DeValue::Array(paths) = value.get_ref() else {
                    return Err(problem(
                        "`expect_null` must be a list of output paths".to_string(),
                    ));
                };
                for path in paths.iter() {
                    match path.get_ref().as_str() {
                        Some(path) if !path.is_empty() => spec.expect_null.push(path.to_string()),
                        _ => {
                            return Err(problem(
                                "`expect_null` must hold output paths (strings)".to_string(),
                            ))
                        }
                    }
                }
            }
            "expect_error" => match value.get_ref().as_str() {
                Some(code) => spec.expect_error = Some(code.to_string()),
                None => {
                    return Err(problem(
                        "`expect_error` must be an error code (a string)".to_string(),
                    ))
                }
            },
            other => {
                return Err(problem(format!(
                    "unknown key `{other}`: a test has name, as_of, case_file or case_json, \
                     expect, expect_null and expect_error"
                )))
            }
        }
    }
    spec.case = case.ok_or_else(|| Problem {
        line,
        message: "the test has no case: give `case_file` or `case_json`".to_string(),
    })?;
    if spec.expect_error.is_some() && !(spec.expect.is_empty() && spec.expect_null.is_empty()) {
        return Err(Problem {
            line,
            message: "a test that expects an error expects no output values".to_string(),
        });
    }
    if spec.expect_error.is_none() && spec.expect.is_empty() && spec.expect_null.is_empty() {
        return Err(Problem {
            line,
            message: "the test expects nothing: give `expect`, `expect_null` or `expect_error`"
                .to_string(),
        });
    }
    Ok(spec)
}

/// Collects the expectations of an `expect` table. Quoted dotted keys (`"asp.outcome"`) are
/// paths; bare dotted keys (`asp.outcome`) make nested tables in TOML, which are flattened into
/// the same paths. An inline table (`{ applied = true }`) is one expected object. Each
/// expectation is returned with its byte offset, to keep the file's order.
fn flatten_expectations(
    text: &str,
    prefix: &str,
    table: &DeTable<'_>,
    found: &mut Vec<(usize, Expectation)>,
) -> Result<(), Problem> {
    for (key, value) in table.iter() {
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        let span = value.span();
        let inline = text
            .get(span.start..)
            .is_some_and(|rest| rest.starts_with('{'));
        match value.get_ref() {
            DeValue::Table(nested) if !inline => {
                flatten_expectations(text, &path, nested, found)?;
            }
            _ => {
                let expected = expected_value(value.get_ref()).map_err(|message| Problem {
                    line: line_of(text, key.span().start),
                    message: format!("`{path}`: {message}"),
                })?;
                found.push((key.span().start, Expectation { path, expected }));
            }
        }
    }
    Ok(())
}

fn expected_value(value: &DeValue<'_>) -> Result<Expected, String> {
    Ok(match value {
        DeValue::String(text) => Expected::Text(text.to_string()),
        DeValue::Integer(integer) => {
            if integer.radix() != 10 {
                return Err("write integers in decimal".to_string());
            }
            Expected::Number(integer.as_str().replace('_', ""))
        }
        DeValue::Float(float) => {
            let written = float.as_str().replace('_', "");
            if normalized_decimal(&written).is_none() {
                return Err(format!(
                    "`{written}` is not an exact decimal: write money as a string, e.g. \"32360\""
                ));
            }
            Expected::Number(written)
        }
        DeValue::Boolean(flag) => Expected::Bool(*flag),
        DeValue::Datetime(date) => Expected::Text(date.to_string()),
        DeValue::Array(items) => Expected::List(
            items
                .iter()
                .map(|item| expected_value(item.get_ref()))
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(entries) => {
            let mut fields = Vec::new();
            for (key, item) in entries.iter() {
                fields.push((
                    key.span().start,
                    key.get_ref().to_string(),
                    expected_value(item.get_ref())?,
                ));
            }
            fields.sort_by_key(|(offset, _, _)| *offset);
            Expected::Table(
                fields
                    .into_iter()
                    .map(|(_, key, value)| (key, value))
                    .collect(),
            )
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Comparing values.
// ---------------------------------------------------------------------------------------------

/// The canonical text of an exact decimal (`-?digits(.digits)?`): no leading zeros, no
/// trailing fractional zeros, no minus on zero. `None` for anything else.
pub fn normalized_decimal(text: &str) -> Option<String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (integer, fraction) = match unsigned.split_once('.') {
        Some((integer, fraction)) => (integer, fraction),
        None => (unsigned, ""),
    };
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if integer.is_empty() || !digits(integer) || !digits(fraction) {
        return None;
    }
    if unsigned.contains('.') && fraction.is_empty() {
        return None;
    }
    let integer = integer.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let mut canonical = String::new();
    if negative && !(integer.is_empty() && fraction.is_empty()) {
        canonical.push('-');
    }
    canonical.push_str(if integer.is_empty() { "0" } else { integer });
    if !fraction.is_empty() {
        canonical.push('.');
        canonical.push_str(fraction);
    }
    Some(canonical)
}

/// The decimal an actual JSON value holds: a number, or a string holding a decimal.
fn actual_decimal(actual: &serde_json::Value) -> Option<String> {
    match actual {
        serde_json::Value::Number(number) => normalized_decimal(&number.to_string()),
        serde_json::Value::String(text) => normalized_decimal(text),
        _ => None,
    }
}

/// Whether an actual JSON value is what the test expects. Numbers, and strings holding
/// decimals, compare as exact decimals (`"32360"` equals `"32360.00"`); lists element-wise;
/// inline tables key by key, with no extra keys allowed.
pub fn matches(expected: &Expected, actual: &serde_json::Value) -> bool {
    match (expected, actual) {
        (Expected::Bool(flag), serde_json::Value::Bool(actual)) => flag == actual,
        (Expected::Number(text), actual) => {
            normalized_decimal(text).is_some_and(|want| actual_decimal(actual) == Some(want))
        }
        (Expected::Text(text), serde_json::Value::String(actual)) => {
            text == actual
                || normalized_decimal(text)
                    .is_some_and(|want| normalized_decimal(actual) == Some(want))
        }
        (Expected::Text(text), serde_json::Value::Number(_)) => {
            normalized_decimal(text).is_some_and(|want| actual_decimal(actual) == Some(want))
        }
        (Expected::List(items), serde_json::Value::Array(actual)) => {
            items.len() == actual.len()
                && items
                    .iter()
                    .zip(actual)
                    .all(|(item, actual)| matches(item, actual))
        }
        (Expected::Table(fields), serde_json::Value::Object(actual)) => {
            fields.len() == actual.len()
                && fields.iter().all(|(key, item)| {
                    actual
                        .get(key)
                        .is_some_and(|actual_item| matches(item, actual_item))
                })
        }
        _ => false,
    }
}

/// An expected value written as JSON, as the failure report shows it.
pub fn expected_json(expected: &Expected) -> String {
    match expected {
        Expected::Bool(flag) => flag.to_string(),
        Expected::Number(text) => text.clone(),
        Expected::Text(text) => serde_json::Value::String(text.clone()).to_string(),
        Expected::List(items) => {
            let parts: Vec<String> = items.iter().map(expected_json).collect();
            format!("[{}]", parts.join(","))
        }
        Expected::Table(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(key, value)| {
                    format!(
                        "{}:{}",
                        serde_json::Value::String(key.clone()),
                        expected_json(value)
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

/// The segments of a dotted output path. Rule ids with dashes are one segment.
pub fn path_segments(path: &str) -> Vec<&str> {
    path.split('.').collect()
}

/// The value at a dotted path in a decision's `outputs` object: the first segment names an
/// output, the others object keys, and a numeric segment indexes a list.
pub fn resolve<'v>(outputs: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    let mut current = outputs;
    for segment in path_segments(path) {
        current = match current {
            serde_json::Value::Object(fields) => fields.get(segment)?,
            serde_json::Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

// ---------------------------------------------------------------------------------------------
// Trace paths: from an output to the rules that produced a field.
// ---------------------------------------------------------------------------------------------

/// The names an expression refers to directly (items, group members, parameters, band tables),
/// in the order they appear, without descending into the items themselves.
fn referenced_names(policy: &Policy, expr: &Expr, names: &mut Vec<String>) {
    let mut push = |name: &str| {
        if !names.iter().any(|known| known == name) {
            names.push(name.to_string());
        }
    };
    let item_name = |id: u32| policy.items.get(id as usize).map(|item| item.name.as_str());
    let group_names = |id: u32| -> Vec<String> {
        policy
            .groups
            .get(id as usize)
            .map(|group| {
                group
                    .members
                    .iter()
                    .filter_map(|member| item_name(member.item).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    match expr {
        Expr::Item(id) | Expr::ExceptionApplied(id) | Expr::Call(id, _) => {
            if let Some(name) = item_name(*id) {
                push(name);
            }
        }
        Expr::Holding(group) | Expr::GroupSum(group) | Expr::GroupValues(group) => {
            for name in group_names(*group) {
                push(&name);
            }
        }
        Expr::Param { param, .. } => {
            if let Some(parameter) = policy.params.get(*param as usize) {
                push(&parameter.name);
            }
        }
        Expr::Band(band, _) | Expr::BandLabel(band, _) => {
            if let Some(table) = policy.bands.get(*band as usize) {
                push(&table.name);
            }
        }
        _ => {}
    }
    expr.for_each_child(&mut |child| referenced_names(policy, child, names));
}

/// Whether a trace node stands for a named piece of policy (not an input field or a table row).
fn is_policy_node(node: &TraceNode) -> bool {
    matches!(
        node.kind,
        TraceKind::Rule
            | TraceKind::Definition
            | TraceKind::Function
            | TraceKind::Parameter
            | TraceKind::Band
    )
}

/// Breadth-first search from `start` over the nodes' inputs, in input order: for each node
/// reached, the node it was first reached from.
fn breadth_first(trace: &Trace, start: usize) -> Vec<Option<usize>> {
    let mut parent = vec![None; trace.nodes.len()];
    let mut seen = vec![false; trace.nodes.len()];
    let mut queue = VecDeque::from([start]);
    if let Some(flag) = seen.get_mut(start) {
        *flag = true;
    }
    while let Some(index) = queue.pop_front() {
        let Some(node) = trace.nodes.get(index) else {
            continue;
        };
        for &child in trace.inputs(node) {
            if let Some(flag) = seen.get_mut(child) {
                if !*flag {
                    *flag = true;
                    if let Some(place) = parent.get_mut(child) {
                        *place = Some(index);
                    }
                    queue.push_back(child);
                }
            }
        }
    }
    parent
}

/// The nodes reachable from `start` in breadth-first order (`start` first).
fn reachable_in_order(trace: &Trace, start: usize) -> Vec<usize> {
    let parent = breadth_first(trace, start);
    let mut order = vec![start];
    let mut position = 0;
    while let Some(&index) = order.get(position) {
        position += 1;
        if let Some(node) = trace.nodes.get(index) {
            for &child in trace.inputs(node) {
                if parent.get(child).copied().flatten() == Some(index) && !order.contains(&child) {
                    order.push(child);
                }
            }
        }
    }
    order
}

/// The nearest rule nodes under `start` (not looking below a rule), in breadth-first order.
fn nearest_rules(trace: &Trace, start: usize) -> Vec<usize> {
    let mut found = Vec::new();
    let mut seen = vec![false; trace.nodes.len()];
    let mut queue = VecDeque::from([start]);
    while let Some(index) = queue.pop_front() {
        let Some(node) = trace.nodes.get(index) else {
            continue;
        };
        for &child in trace.inputs(node) {
            if seen.get(child).copied().unwrap_or(true) {
                continue;
            }
            if let Some(flag) = seen.get_mut(child) {
                *flag = true;
            }
            match trace.nodes.get(child) {
                Some(found_node) if found_node.kind == TraceKind::Rule => found.push(child),
                Some(_) => queue.push_back(child),
                None => {}
            }
        }
    }
    found
}

fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut short: String = text.chars().take(limit.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// One node as a step of a trace path: `output asp`, `ASP-INCOME-TEST`, `CATEGORY_BANDS[…]`.
fn step_name(node: &TraceNode) -> String {
    match node.kind {
        TraceKind::Output => format!("output {}", node.id),
        TraceKind::Band => match &node.label {
            Some(label) => format!("{} band {label}", node.id),
            None => node.id.to_string(),
        },
        _ => node.id.to_string(),
    }
}

/// The path from `root` to `target` as text, ending with the target's value.
fn path_text(policy: &Policy, trace: &Trace, parent: &[Option<usize>], target: usize) -> String {
    let mut steps = vec![target];
    let mut current = target;
    while let Some(up) = parent.get(current).copied().flatten() {
        steps.push(up);
        current = up;
    }
    steps.reverse();
    let names: Vec<String> = steps
        .iter()
        .filter_map(|index| trace.nodes.get(*index))
        .map(step_name)
        .collect();
    let value = trace
        .nodes
        .get(target)
        .map(|node| {
            cut(
                &format_quantity(
                    &ereje_runtime::explain::Quantity::of(policy, &node.value, node.ty),
                    Lang::En,
                ),
                TRACE_VALUE_LIMIT,
            )
        })
        .unwrap_or_default();
    format!("{} = {value}", names.join(" → "))
}

/// The trace paths to the rules and definitions that produced the field at `path`: from the
/// output's node down to the items the field's expression names (or, when a later segment of
/// the path is a rule id such as `WELL-05`, that rule), and from a definition on down to the
/// nearest rules under it (for `asp.reasons`: every rule of the group, holding or not).
pub fn trace_paths(policy: &Policy, trace: &Trace, path: &str) -> Vec<String> {
    let segments = path_segments(path);
    let Some((output_name, rest)) = segments.split_first() else {
        return Vec::new();
    };
    let Some(root) = trace.roots.iter().copied().find(|index| {
        trace
            .nodes
            .get(*index)
            .is_some_and(|node| node.kind == TraceKind::Output && *node.id == **output_name)
    }) else {
        return Vec::new();
    };
    let parent = breadth_first(trace, root);
    let order = reachable_in_order(trace, root);
    let find = |name: &str| {
        order.iter().copied().find(|index| {
            trace
                .nodes
                .get(*index)
                .is_some_and(|node| is_policy_node(node) && &*node.id == name)
        })
    };
    // A later segment that names a rule or definition (welfare.points.WELL-05) is the target.
    let mut targets: Vec<usize> = rest
        .iter()
        .rev()
        .filter_map(|segment| find(segment))
        .collect();
    targets.truncate(1);
    if targets.is_empty() {
        let mut expr = policy
            .outputs
            .iter()
            .find(|output| output.name == *output_name)
            .map(|output| &output.expr);
        for segment in rest {
            match expr {
                Some(Expr::Object(fields)) => match fields.iter().find(|(key, _)| key == segment) {
                    Some((_, value)) => expr = Some(value),
                    None => break,
                },
                _ => break,
            }
        }
        let mut names = Vec::new();
        if let Some(expr) = expr {
            referenced_names(policy, expr, &mut names);
        }
        for name in &names {
            if let Some(index) = find(name) {
                targets.push(index);
                let is_rule = trace
                    .nodes
                    .get(index)
                    .is_some_and(|node| node.kind == TraceKind::Rule);
                if !is_rule {
                    targets.extend(nearest_rules(trace, index));
                }
            }
        }
    }
    let mut unique = Vec::new();
    for target in targets {
        if !unique.contains(&target) {
            unique.push(target);
        }
    }
    let mut lines: Vec<String> = unique
        .iter()
        .take(TRACE_PATH_LIMIT)
        .map(|target| path_text(policy, trace, &parent, *target))
        .collect();
    if unique.len() > TRACE_PATH_LIMIT {
        lines.push(format!("… and {} more", unique.len() - TRACE_PATH_LIMIT));
    }
    if lines.is_empty() {
        lines.push(path_text(policy, trace, &parent, root));
    }
    lines
}

// ---------------------------------------------------------------------------------------------
// Running tests.
// ---------------------------------------------------------------------------------------------

/// One field of a decision that is not what the test expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub field: String,
    pub expected: String,
    pub actual: String,
    pub trace: Vec<String>,
}

/// What running one test gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// The decision (or error) differs from what the test expects.
    Failed(Vec<Mismatch>),
    /// The test cannot run: its file or case file cannot be read, or it is not in the format.
    Broken(String),
}

/// One test's result, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// The test file, relative to the policy directory.
    pub file: String,
    pub line: usize,
    pub name: String,
    pub verdict: Verdict,
}

/// What running one test gave, and its trace when it was decided (for coverage).
pub struct RunOutcome {
    pub verdict: Verdict,
    pub trace: Option<Trace>,
}

/// Runs one test against the engine, reading its case with `read_case_file`.
pub fn run_test(
    engine: &Engine,
    spec: &TestSpec,
    read_case_file: &dyn Fn(&Path) -> Result<String, String>,
) -> RunOutcome {
    let json = match &spec.case {
        CaseSource::Inline(json) => json.clone(),
        CaseSource::File(path) => match read_case_file(path) {
            Ok(json) => json,
            Err(message) => {
                return RunOutcome {
                    verdict: Verdict::Broken(message),
                    trace: None,
                }
            }
        },
    };
    let options = EvalOptions {
        as_of: spec.as_of,
        trace: true,
    };
    let outcome = engine.evaluate_json(&json, &options);
    let decision = match (&outcome, &spec.expect_error) {
        (CaseOutcome::Error(failure), Some(code)) => {
            let verdict = if failure.error.code() == code {
                Verdict::Passed
            } else {
                Verdict::Failed(vec![Mismatch {
                    field: "error".to_string(),
                    expected: code.clone(),
                    actual: format!("{} ({})", failure.error.code(), failure.error.message),
                    trace: Vec::new(),
                }])
            };
            return RunOutcome {
                verdict,
                trace: None,
            };
        }
        (CaseOutcome::Error(failure), None) => {
            return RunOutcome {
                verdict: Verdict::Failed(vec![Mismatch {
                    field: "decision".to_string(),
                    expected: "a decision".to_string(),
                    actual: format!(
                        "error {} at `{}`: {}",
                        failure.error.code(),
                        failure.error.path,
                        failure.error.message
                    ),
                    trace: Vec::new(),
                }]),
                trace: None,
            };
        }
        (CaseOutcome::Decision(decision), expected_error) => {
            if let Some(code) = expected_error {
                return RunOutcome {
                    verdict: Verdict::Failed(vec![Mismatch {
                        field: "error".to_string(),
                        expected: code.clone(),
                        actual: "a decision".to_string(),
                        trace: Vec::new(),
                    }]),
                    trace: decision.trace.clone(),
                };
            }
            decision
        }
    };
    let json = decision.to_json();
    let outputs = json.get("outputs").unwrap_or(&serde_json::Value::Null);
    let policy = decision.policy_ir();
    let empty = Trace::default();
    let trace = decision.trace.as_ref().unwrap_or(&empty);
    let mut mismatches = Vec::new();
    let mut compare = |path: &str, expected: &Expected, shown: String| {
        let actual = resolve(outputs, path);
        let equal = match (expected, actual) {
            (_, None) => false,
            (expected, Some(actual)) => matches(expected, actual),
        };
        if !equal {
            mismatches.push(Mismatch {
                field: path.to_string(),
                expected: shown,
                actual: actual.map_or_else(|| "(no such field)".to_string(), |a| a.to_string()),
                trace: trace_paths(policy, trace, path),
            });
        }
    };
    for expectation in &spec.expect {
        compare(
            &expectation.path,
            &expectation.expected,
            expected_json(&expectation.expected),
        );
    }
    for path in &spec.expect_null {
        let actual = resolve(outputs, path);
        if actual != Some(&serde_json::Value::Null) {
            mismatches.push(Mismatch {
                field: path.clone(),
                expected: "null".to_string(),
                actual: actual.map_or_else(|| "(no such field)".to_string(), |a| a.to_string()),
                trace: trace_paths(policy, trace, path),
            });
        }
    }
    RunOutcome {
        verdict: if mismatches.is_empty() {
            Verdict::Passed
        } else {
            Verdict::Failed(mismatches)
        },
        trace: decision.trace.clone(),
    }
}

/// Every `*.toml` file under `directory`, at any depth, sorted by path.
pub fn test_files(directory: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "toml")
            {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The whole run: each test's result, and the traces of the decided tests.
pub struct RunReport {
    pub results: Vec<TestResult>,
    pub traces: Vec<Trace>,
}

/// Runs the tests of the given files (paths shown relative to `policy_dir`), keeping the tests
/// whose name or file contains `filter`.
pub fn run_files(
    engine: &Engine,
    policy_dir: &Path,
    files: &[PathBuf],
    filter: Option<&str>,
) -> RunReport {
    let mut report = RunReport {
        results: Vec::new(),
        traces: Vec::new(),
    };
    let read_case_file = |path: &Path| {
        std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read the case file `{}`: {error}", path.display()))
    };
    for file in files {
        let shown = file
            .strip_prefix(policy_dir)
            .unwrap_or(file)
            .display()
            .to_string();
        let wanted =
            |name: &str| filter.is_none_or(|text| name.contains(text) || shown.contains(text));
        let directory = file.parent().unwrap_or(Path::new("."));
        let read = std::fs::read_to_string(file)
            .map_err(|error| Problem {
                line: 1,
                message: format!("cannot read the test file: {error}"),
            })
            .and_then(|text| parse_test_file(&text, directory));
        let tests = match read {
            Ok(tests) => tests,
            Err(problem) => {
                report.results.push(TestResult {
                    file: shown.clone(),
                    line: problem.line,
                    name: String::new(),
                    verdict: Verdict::Broken(problem.message),
                });
                continue;
            }
        };
        for test in tests {
            match test {
                ReadTest::Broken { name, problem } => {
                    if wanted(&name) {
                        report.results.push(TestResult {
                            file: shown.clone(),
                            line: problem.line,
                            name,
                            verdict: Verdict::Broken(problem.message),
                        });
                    }
                }
                ReadTest::Ready(spec) => {
                    if !wanted(&spec.name) {
                        continue;
                    }
                    let outcome = run_test(engine, &spec, &read_case_file);
                    if let Some(trace) = outcome.trace {
                        report.traces.push(trace);
                    }
                    report.results.push(TestResult {
                        file: shown.clone(),
                        line: spec.line,
                        name: spec.name,
                        verdict: outcome.verdict,
                    });
                }
            }
        }
    }
    report
}

/// The report of a run: a line per test, the failures in detail, and `N passed, M failed`.
pub fn render_results(results: &[TestResult]) -> String {
    let mut out = String::new();
    let title = |result: &TestResult| {
        if result.name.is_empty() {
            format!("{}:{}", result.file, result.line)
        } else {
            format!("{}:{}  {}", result.file, result.line, result.name)
        }
    };
    for result in results {
        let status = if result.verdict == Verdict::Passed {
            "ok    "
        } else {
            "FAILED"
        };
        let _ = writeln!(out, "{status}  {}", title(result));
    }
    let failures: Vec<&TestResult> = results
        .iter()
        .filter(|result| result.verdict != Verdict::Passed)
        .collect();
    if !failures.is_empty() {
        out.push_str("\nfailures:\n");
    }
    for result in &failures {
        let name = if result.name.is_empty() {
            "(the file)"
        } else {
            result.name.as_str()
        };
        let _ = writeln!(
            out,
            "\n---- {name}\n     in {}:{}",
            result.file, result.line
        );
        match &result.verdict {
            Verdict::Passed => {}
            Verdict::Broken(message) => {
                let _ = writeln!(out, "  error     {message}");
            }
            Verdict::Failed(mismatches) => {
                for mismatch in mismatches {
                    let _ = writeln!(out, "  field     {}", mismatch.field);
                    let _ = writeln!(out, "  expected  {}", mismatch.expected);
                    let _ = writeln!(out, "  actual    {}", mismatch.actual);
                    for (position, path) in mismatch.trace.iter().enumerate() {
                        let label = if position == 0 { "trace" } else { "" };
                        let _ = writeln!(out, "  {label:<8}  {path}");
                    }
                }
            }
        }
    }
    let passed = results
        .iter()
        .filter(|result| result.verdict == Verdict::Passed)
        .count();
    let _ = writeln!(out, "\n{passed} passed, {} failed", results.len() - passed);
    out
}

/// The exit code of a run: 2 when a file could not be read or is not in the format, else 1 when
/// a test failed, else 0.
pub fn exit_code(results: &[TestResult]) -> u8 {
    if results
        .iter()
        .any(|result| matches!(result.verdict, Verdict::Broken(_)))
    {
        EXIT_BAD_TEST_FILE
    } else if results
        .iter()
        .any(|result| matches!(result.verdict, Verdict::Failed(_)))
    {
        EXIT_SOME_FAILED
    } else {
        EXIT_ALL_PASSED
    }
}

// ---------------------------------------------------------------------------------------------
// Coverage.
// ---------------------------------------------------------------------------------------------

/// What a coverage line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageKind {
    Rule,
    /// An exception of an item: it fired when it gave the item's value.
    Exception,
    Band,
}

/// How many tests reached a rule, exception or band, and how many times it fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageEntry {
    pub kind: CoverageKind,
    /// The rule id; `LABEL → item` for an exception; `TABLE "label"` for a band.
    pub name: String,
    pub reached: usize,
    pub fired: usize,
}

/// Whether a rule's value counts as firing: a Bool that is true; a number that is not zero; a
/// list or map that is not empty; any other value that is present (a Text or a date rule fires
/// whenever it is computed).
pub fn rule_fired(value: &Value) -> bool {
    match value {
        Value::Absent => false,
        Value::Bool(flag) => *flag,
        Value::Integer(number) => *number != 0,
        Value::Decimal(number) => !number.is_zero(),
        Value::List(items) => !items.is_empty(),
        Value::Map(entries) => !entries.is_empty(),
        _ => true,
    }
}

/// Coverage of the policy by the traces of the tests, in IR order: every rule, every exception
/// of every item, every band of every band table. A rule or exception is reached by a test when
/// its item appears in the trace, a band when its band table was consulted; a rule fires per
/// test where its value fires, an exception when it gave its item's value, a band each time it
/// is selected.
pub fn coverage(policy: &Policy, traces: &[Trace]) -> Vec<CoverageEntry> {
    let mut entries = Vec::new();
    let nodes_named = |trace: &'_ Trace, kind: TraceKind, name: &str| -> Vec<usize> {
        trace
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| node.kind == kind && &*node.id == name)
            .map(|(index, _)| index)
            .collect()
    };
    for item in &policy.items {
        if item.kind != ItemKind::Rule {
            continue;
        }
        let mut entry = CoverageEntry {
            kind: CoverageKind::Rule,
            name: item.name.clone(),
            reached: 0,
            fired: 0,
        };
        for trace in traces {
            let found = nodes_named(trace, TraceKind::Rule, &item.name);
            if !found.is_empty() {
                entry.reached += 1;
            }
            if found.iter().any(|index| {
                trace
                    .nodes
                    .get(*index)
                    .is_some_and(|node| rule_fired(&node.value))
            }) {
                entry.fired += 1;
            }
        }
        entries.push(entry);
    }
    for item in &policy.items {
        let Body::Exceptions { exceptions, .. } = &item.body else {
            continue;
        };
        let kind = match item.kind {
            ItemKind::Rule => TraceKind::Rule,
            ItemKind::Definition => TraceKind::Definition,
            ItemKind::Function => TraceKind::Function,
            ItemKind::DerivedParam => TraceKind::Parameter,
        };
        for exception in exceptions {
            let mut entry = CoverageEntry {
                kind: CoverageKind::Exception,
                name: format!("{} → {}", exception.label, item.name),
                reached: 0,
                fired: 0,
            };
            for trace in traces {
                let found = nodes_named(trace, kind, &item.name);
                if !found.is_empty() {
                    entry.reached += 1;
                }
                entry.fired += found
                    .iter()
                    .filter(|index| {
                        trace.nodes.get(**index).is_some_and(|node| {
                            node.exception.as_deref() == Some(exception.label.as_str())
                        })
                    })
                    .count();
            }
            entries.push(entry);
        }
    }
    for table in &policy.bands {
        for band in &table.bands {
            let mut entry = CoverageEntry {
                kind: CoverageKind::Band,
                name: format!("{} \"{}\"", table.name, band.label),
                reached: 0,
                fired: 0,
            };
            for trace in traces {
                let found = nodes_named(trace, TraceKind::Band, &table.name);
                if !found.is_empty() {
                    entry.reached += 1;
                }
                entry.fired += found
                    .iter()
                    .filter(|index| {
                        trace
                            .nodes
                            .get(**index)
                            .is_some_and(|node| node.label.as_deref() == Some(band.label.as_str()))
                    })
                    .count();
            }
            entries.push(entry);
        }
    }
    entries
}

fn kind_word(kind: CoverageKind) -> &'static str {
    match kind {
        CoverageKind::Rule => "rule",
        CoverageKind::Exception => "exception",
        CoverageKind::Band => "band",
    }
}

/// The coverage report: one line per rule, exception and band, then the ones that never fired.
pub fn render_coverage(entries: &[CoverageEntry], decided_tests: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\ncoverage over {decided_tests} decided tests (reached: tests whose trace holds it; \
         fired: true, non-zero, non-empty, selected or applied):"
    );
    let width = entries
        .iter()
        .map(|entry| entry.name.chars().count())
        .max()
        .unwrap_or(0);
    for entry in entries {
        let padding = width.saturating_sub(entry.name.chars().count());
        let _ = writeln!(
            out,
            "  {:<9}  {}{}  reached {:>4}  fired {:>4}",
            kind_word(entry.kind),
            entry.name,
            " ".repeat(padding),
            entry.reached,
            entry.fired
        );
    }
    let never: Vec<&CoverageEntry> = entries.iter().filter(|entry| entry.fired == 0).collect();
    if never.is_empty() {
        out.push_str("never fired: none\n");
    } else {
        let _ = writeln!(out, "never fired ({}):", never.len());
        for entry in never {
            let _ = writeln!(out, "  {:<9}  {}", kind_word(entry.kind), entry.name);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The command.
// ---------------------------------------------------------------------------------------------

/// `ereje test <policy-dir> [--coverage] [--filter TEXT]`.
pub fn run_command(policy_dir: &Path, with_coverage: bool, filter: Option<&str>) -> u8 {
    let tests_dir = policy_dir.join("tests");
    let files = match test_files(&tests_dir) {
        Ok(files) => files,
        Err(error) => {
            crate::print_stderr(&format!(
                "error: cannot read the test directory `{}`: {error}\n",
                tests_dir.display()
            ));
            return EXIT_BAD_TEST_FILE;
        }
    };
    let engine = match crate::load_engine(policy_dir) {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let report = run_files(&engine, policy_dir, &files, filter);
    let mut text = render_results(&report.results);
    if with_coverage {
        let entries = coverage(engine.policy(), &report.traces);
        text.push_str(&render_coverage(&entries, report.traces.len()));
    }
    crate::print_stdout(&text);
    exit_code(&report.results)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check_decimal(rows: &[(&str, Option<&str>)]) {
        for (text, expected) in rows {
            assert_eq!(
                normalized_decimal(text).as_deref(),
                *expected,
                "normalized_decimal({text:?})"
            );
        }
    }

    #[test]
    fn decimals_normalize_to_one_text() {
        check_decimal(&[
            ("32360", Some("32360")),
            ("32360.00", Some("32360")),
            ("0032360.50", Some("32360.5")),
            ("-0.00", Some("0")),
            ("-1.10", Some("-1.1")),
            ("1.", None),
            (".5", None),
            ("1e5", None),
            ("refused", None),
            ("", None),
        ]);
    }

    fn check_match(rows: &[(Expected, serde_json::Value, bool)]) {
        for (expected, actual, want) in rows {
            assert_eq!(matches(expected, actual), *want, "{expected:?} vs {actual}");
        }
    }

    #[test]
    fn values_compare_as_the_format_says() {
        use serde_json::json;
        let text = |value: &str| Expected::Text(value.to_string());
        let number = |value: &str| Expected::Number(value.to_string());
        check_match(&[
            (text("32360"), json!("32360.00"), true),
            (text("32360"), json!("32360.01"), false),
            (text("refused"), json!("refused"), true),
            (text("refused"), json!("granted"), false),
            (number("0"), json!(0), true),
            (number("8"), json!(0), false),
            (number("5898"), json!("5898"), true),
            (Expected::Bool(true), json!(true), true),
            (Expected::Bool(true), json!("true"), false),
            (
                Expected::List(vec![text("ASP-INCOME-TEST")]),
                json!(["ASP-INCOME-TEST"]),
                true,
            ),
            (
                Expected::List(vec![text("ASP-INCOME-TEST")]),
                json!(["ASP-INCOME-TEST", "PILOT-LOANS"]),
                false,
            ),
            (Expected::Table(vec![]), json!({}), true),
            (Expected::Table(vec![]), json!({"m3": "5898"}), false),
            (text("null"), serde_json::Value::Null, false),
        ]);
    }

    #[test]
    fn paths_resolve_into_objects_and_lists() {
        let outputs = serde_json::json!({
            "asp": {"reasons": ["ASP-INCOME-TEST"], "pilot": null},
            "welfare": {"points": {"WELL-01": 16}}
        });
        let rows = [
            ("asp.reasons.0", Some(serde_json::json!("ASP-INCOME-TEST"))),
            ("asp.reasons.1", None),
            ("asp.pilot", Some(serde_json::Value::Null)),
            ("welfare.points.WELL-01", Some(serde_json::json!(16))),
            ("welfare.points.WELL-02", None),
        ];
        for (path, expected) in rows {
            assert_eq!(resolve(&outputs, path).cloned(), expected, "{path}");
        }
    }

    #[test]
    fn a_test_file_reads_in_file_order_with_lines() {
        let text = "[[test]]\nname = \"a\"\ncase_json = '{}'\n[test.expect]\n\"asp.outcome\" = \"refused\"\n\"asp.pilot\" = { applied = false, missing_consent = [\"m1\"] }\nwelfare.points.WELL-01 = 0\n";
        let tests = parse_test_file(text, Path::new("/t")).unwrap();
        let [ReadTest::Ready(spec)] = tests.as_slice() else {
            panic!("one ready test: {tests:?}");
        };
        assert_eq!(spec.line, 2);
        let paths: Vec<&str> = spec.expect.iter().map(|item| item.path.as_str()).collect();
        assert_eq!(
            paths,
            ["asp.outcome", "asp.pilot", "welfare.points.WELL-01"]
        );
        assert_eq!(
            spec.expect[1].expected,
            Expected::Table(vec![
                ("applied".to_string(), Expected::Bool(false)),
                (
                    "missing_consent".to_string(),
                    Expected::List(vec![Expected::Text("m1".to_string())])
                ),
            ])
        );
    }

    #[test]
    fn problems_name_their_line() {
        let rows = [
            (
                "[[test]]\nname = \"a\"\ncase_json = \n",
                3,
                "not valid TOML",
            ),
            (
                "[[test]]\nname = \"a\"\ncase_json = '{}'\nexpected = 1\n",
                4,
                "unknown key",
            ),
            ("title = 1\n", 1, "unknown key `title`"),
            ("[[test]]\nname = \"a\"\n", 2, "no case"),
        ];
        for (text, line, message) in rows {
            let problem = match parse_test_file(text, Path::new("/t")) {
                Err(problem) => problem,
                Ok(tests) => match tests.as_slice() {
                    [ReadTest::Broken { problem, .. }] => problem.clone(),
                    other => panic!("{text:?} gave {other:?}"),
                },
            };
            assert_eq!(problem.line, line, "{text:?}: {problem:?}");
            assert!(problem.message.contains(message), "{text:?}: {problem:?}");
        }
    }
}
