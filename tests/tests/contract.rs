#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The bundled kz policies against the shared contract examples: every decision for
//! `shared/contract/examples/cases.jsonl` must equal the line of `expected.jsonl` with the same
//! case id, output by output. Money is compared as exact decimals.

use std::path::PathBuf;

use ereje_runtime::{Engine, EvalOptions};
use serde_json::Value;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn engine() -> Engine {
    let compilation = ereje_compiler::compile_dir(&repository().join("policies/kz"))
        .expect("the kz manifest loads");
    assert_eq!(
        compilation.error_count(),
        0,
        "policies/kz has errors:\n{}",
        ereje_compiler::render_human(&compilation.reports)
    );
    let policy = compilation
        .policy
        .expect("a policy without errors compiles");
    Engine::new((*policy).clone()).expect("the IR loads")
}

fn examples() -> Vec<(Value, Value)> {
    let shared = repository().join("../shared/contract/examples");
    let cases = std::fs::read_to_string(shared.join("cases.jsonl")).expect("cases.jsonl");
    let expected = std::fs::read_to_string(shared.join("expected.jsonl")).expect("expected.jsonl");
    let expected: Vec<Value> = expected
        .lines()
        .map(|line| serde_json::from_str(line).expect("expected line"))
        .collect();
    cases
        .lines()
        .map(|line| {
            let case: Value = serde_json::from_str(line).expect("case line");
            let want = expected
                .iter()
                .find(|e| e["case_id"] == case["case_id"])
                .unwrap_or_else(|| panic!("no expected decision for {}", case["case_id"]))
                .clone();
            (case, want)
        })
        .collect()
}

/// Compares two JSON values, money strings as exact decimals; returns the paths that differ.
fn differences(path: &str, actual: &Value, expected: &Value, out: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for key in a
                .keys()
                .chain(e.keys())
                .collect::<std::collections::BTreeSet<_>>()
            {
                let child = format!("{path}/{key}");
                match (a.get(key), e.get(key)) {
                    (Some(x), Some(y)) => differences(&child, x, y, out),
                    (x, y) => out.push(format!("{child}: actual {x:?}, expected {y:?}")),
                }
            }
        }
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => {
            for (index, (x, y)) in a.iter().zip(e).enumerate() {
                differences(&format!("{path}/{index}"), x, y, out);
            }
        }
        (Value::String(a), Value::String(e)) => {
            let same_number = match (
                a.parse::<rust_decimal_free::Number>(),
                e.parse::<rust_decimal_free::Number>(),
            ) {
                (Ok(x), Ok(y)) => x == y,
                _ => false,
            };
            if a != e && !same_number {
                out.push(format!("{path}: actual {a:?}, expected {e:?}"));
            }
        }
        (Value::Number(a), Value::Number(e)) => {
            if a.to_string() != e.to_string() {
                out.push(format!("{path}: actual {a}, expected {e}"));
            }
        }
        (a, e) => {
            if a != e {
                out.push(format!("{path}: actual {a}, expected {e}"));
            }
        }
    }
}

/// Exact decimal comparison of two numeric strings without a decimal crate: strips trailing
/// fractional zeros.
mod rust_decimal_free {
    #[derive(PartialEq, Debug)]
    pub struct Number(String);

    impl std::str::FromStr for Number {
        type Err = ();
        fn from_str(text: &str) -> Result<Self, ()> {
            if text.is_empty()
                || !text
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
            {
                return Err(());
            }
            let normal = if text.contains('.') {
                text.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                text.to_string()
            };
            Ok(Number(normal))
        }
    }
}

fn check_part(part: &str) {
    let engine = engine();
    let mut failures = Vec::new();
    for (case, expected) in examples() {
        let line = engine
            .evaluate_json(&case.to_string(), &EvalOptions::default())
            .to_json_line();
        let actual: Value = serde_json::from_str(&line).expect("decision line is JSON");
        let mut out = Vec::new();
        differences(
            &format!("{}/outputs/{part}", case["case_id"]),
            &actual["outputs"][part],
            &expected["outputs"][part],
            &mut out,
        );
        if actual.get("error").is_some() {
            out.push(format!("{}: error {}", case["case_id"], actual["error"]));
        }
        failures.extend(out);
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn asp_part_of_every_example_decision_matches_expected() {
    check_part("asp");
}

#[test]
fn welfare_part_of_every_example_decision_matches_expected() {
    check_part("welfare");
}

#[test]
fn local_support_part_of_every_example_decision_matches_expected() {
    check_part("local_support");
}

#[test]
fn same_policy_and_case_give_byte_identical_output() {
    let first = engine();
    let second = engine();
    assert_eq!(
        first.digest(),
        second.digest(),
        "two compilations of the same text give the same IR"
    );
    assert!(first.digest().starts_with("sha256:") && first.digest().len() == "sha256:".len() + 64);
    for (case, _) in examples() {
        let text = case.to_string();
        let options = EvalOptions {
            as_of: None,
            trace: true,
        };
        let a = first.evaluate_json(&text, &options).to_json_line();
        let b = second.evaluate_json(&text, &options).to_json_line();
        assert_eq!(a, b, "case {}", case["case_id"]);
        assert!(
            a.contains(first.digest()),
            "every decision names the policy digest"
        );
    }
}
