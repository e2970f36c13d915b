#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The meaning of the language, as policy text: every file of `tests/semantics/` is a small
//! snippet of definitions with a header that says what each must evaluate to (as Nickel's
//! tests do), run here by every evaluator:
//!
//! ```text
//! // Date built-ins: months clip to their end.
//! // case: {"case_id": "c1", "application_date": "2025-03-12", "members": []}
//! // expect: clipped = "2025-02-28"
//! // expect: impossible = error eval.invalid_date
//! def clipped: Date = add_months(2024-08-31, 6)
//! def impossible: Date = date(2025, 2, 30)
//! ```
//!
//! * `expect: NAME = JSON` gives the JSON of the definition's value in a decision (money and
//!   decimals are strings, as the decision contract writes them); `expect: NAME = error CODE`
//!   gives the evaluation error's code;
//! * `case:` (optional) replaces [`DEFAULT_CASE`];
//! * the other comment lines describe the file.
//!
//! The snippet is compiled after [`PRELUDE`] (a module header, the `Case` and `Member` records
//! and the input), once per expectation with one output, `result`, that holds that definition
//! alone (so an error of one definition does not hide the others). Each is evaluated by the
//! engine (native code never applies to these policies: the closure evaluator, which must not
//! give up on a value), by the interpreter alone and with a trace; all three must give the
//! expected text. The runtime's
//! `runtime/tests/expressions.rs` keeps the rows that need an IR no policy text gives.

use std::path::PathBuf;

use ereje_compiler::{Manifest, Severity, Workspace};
use ereje_runtime::{Engine, EvalOptions, Scratch};

/// What every snippet is compiled after.
const PRELUDE: &str = r#"module test.semantics
  version "1"
  in force from 2024-01-01

enum Sex { female, male }
record Income { month: Month, amount: Money }
record Member { id: Text, birth_date: Date?, sex: Sex, disability_group: Integer?, incomes: List<Income> = [] }
record Case { case_id: Text, application_date: Date, region: Text?, members: List<Member>, ratio: Decimal?, count: Integer? }
input case: Case id case_id as_of application_date
"#;

/// The case snippets are evaluated against unless their header gives another.
const DEFAULT_CASE: &str = r#"{"case_id": "c1", "application_date": "2025-03-12", "region": "aktobe",
  "members": [
    {"id": "m1", "birth_date": "1990-05-14", "sex": "female", "incomes": [{"month": "2024-11", "amount": "28238.37"}, {"month": "2024-12", "amount": 100}]},
    {"id": "m2", "birth_date": "2008-02-29", "sex": "male", "disability_group": 2}
  ]}"#;

/// What a snippet's header says.
struct Header {
    case: String,
    /// (definition name, expected JSON text or `error CODE`), in order.
    expectations: Vec<(String, String)>,
}

fn header(text: &str) -> Result<Header, String> {
    let mut case = DEFAULT_CASE.to_string();
    let mut expectations = Vec::new();
    for line in text.lines() {
        let Some(comment) = line.strip_prefix("//") else {
            break;
        };
        let comment = comment.trim();
        if let Some(rest) = comment.strip_prefix("case:") {
            case = rest.trim().to_string();
        } else if let Some(rest) = comment.strip_prefix("expect:") {
            let (name, expected) = rest
                .split_once('=')
                .ok_or(format!("`expect: NAME = VALUE` needs `=`: {comment}"))?;
            expectations.push((name.trim().to_string(), expected.trim().to_string()));
        }
    }
    if expectations.is_empty() {
        return Err("the file expects nothing: add `// expect: NAME = VALUE` lines".to_string());
    }
    Ok(Header { case, expectations })
}

/// The value of definition `name` of `snippet` on `case` by each evaluator, as JSON text or
/// `error CODE`, or why the policy does not compile.
fn evaluate(snippet: &str, name: &str, case: &str) -> Result<String, String> {
    let source = format!("{PRELUDE}\n{snippet}\noutput result = {{ value: {name} }}\n");
    let manifest = Manifest {
        name: "semantics".to_string(),
        version: "1".to_string(),
        publisher: "the Ereje tests".to_string(),
        modules: vec!["snippet.ereje".to_string()],
    };
    let compilation =
        Workspace::from_sources(manifest, vec![("snippet.ereje".to_string(), source)]).compile();
    let policy = match &compilation.policy {
        Some(policy) if compilation.error_count() == 0 => policy,
        _ => {
            let errors: Vec<String> = compilation
                .reports
                .iter()
                .filter(|report| report.diagnostic.severity == Severity::Error)
                .map(|report| format!("{} {}", report.diagnostic.code, report.diagnostic.message))
                .collect();
            return Err(format!("does not compile: {}", errors.join("; ")));
        }
    };
    let engine = Engine::new((**policy).clone()).map_err(|error| error.to_string())?;
    let case = engine
        .read_case(case)
        .map_err(|error| format!("{error:?}"))?;
    let text = |outcome: Result<ereje_runtime::Decision, ereje_runtime::CaseError>| match outcome {
        Ok(decision) => decision
            .output_json("result")
            .and_then(|result| result.get("value").cloned())
            .map(|value| value.to_string())
            .unwrap_or_default(),
        Err(failure) => format!("error {}", failure.code),
    };
    let plain = EvalOptions::default();
    let traced = EvalOptions {
        trace: true,
        ..EvalOptions::default()
    };
    let mut scratch = Scratch::default();
    let engines = text(engine.evaluate_with(&case, &plain, &mut scratch));
    let interpreted = text(engine.evaluate_interpreted(&case, &plain, &mut scratch));
    let with_trace = text(engine.evaluate_with(&case, &traced, &mut scratch));
    if engines != interpreted || engines != with_trace {
        return Err(format!(
            "the evaluators disagree: engine {engines}, interpreter {interpreted}, traced {with_trace}"
        ));
    }
    if !engines.starts_with("error ") && !engine.compiled_evaluates(&case, &plain) {
        return Err(format!(
            "the closure evaluator gave up on a definition that has a value: {engines}"
        ));
    }
    Ok(engines)
}

fn snippets() -> Vec<PathBuf> {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("semantics");
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "ereje")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_snippet_evaluates_as_its_header_says() {
    let files = snippets();
    assert!(!files.is_empty(), "tests/semantics holds no snippet");
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let header = match header(&text) {
            Ok(header) => header,
            Err(problem) => {
                failures.push(format!("{}: {problem}", path.display()));
                continue;
            }
        };
        for (name, expected) in &header.expectations {
            checked += 1;
            match evaluate(&text, name, &header.case) {
                Ok(actual) if &actual == expected => {}
                Ok(actual) => failures.push(format!(
                    "{}: `{name}` is {actual}, expected {expected}",
                    path.display()
                )),
                Err(problem) => failures.push(format!("{}: `{name}`: {problem}", path.display())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} expectations failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_wrong_expectation_fails() {
    // The harness itself: a value, an error and a policy that does not compile each come back
    // as what they are, so that a wrong header line is reported.
    let snippet = "def two: Integer = 1 + 1\ndef broken: Date = date(2025, 2, 30)\n";
    assert_eq!(evaluate(snippet, "two", DEFAULT_CASE).unwrap(), "2");
    assert_eq!(
        evaluate(snippet, "broken", DEFAULT_CASE).unwrap(),
        "error eval.invalid_date"
    );
    assert!(evaluate(snippet, "missing", DEFAULT_CASE).is_err());
    assert!(header("def x: Integer = 1\n").is_err());
}
