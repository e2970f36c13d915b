//! Every kind of bad case input, through `ereje eval` and `ereje batch`: each gets exactly one
//! clear error line (code, JSON path, message, and the case id when it can be read), never a
//! panic or a hang, and the good cases around it in a batch are decided exactly as they are
//! alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn policy_dir() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../policies/kz")
        .display()
        .to_string()
}

fn run(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let text = input.to_string();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(text.as_bytes());
    });
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    output
}

const GOOD: &str = r#"{"case_id": "good", "application_date": "2025-03-12", "members": [{"id": "m1", "role": "applicant", "birth_date": "1990-05-01", "sex": "female", "employment": "employed", "incomes": [{"kind": "salary", "month": "2024-11", "amount": "60000"}]}, {"id": "m2", "role": "child", "birth_date": "2021-02-01", "sex": "male"}], "social_contract": {"signed": true}}"#;

/// The good case with one change made to its JSON value.
fn good_with(change: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(GOOD).unwrap();
    change(&mut value);
    value.to_string()
}

/// One bad input: its text (one line), the error code and JSON path it must give, and the
/// case id the error line must carry (`None` when it cannot be read).
struct Bad {
    what: &'static str,
    text: String,
    code: &'static str,
    path: &'static str,
    case_id: Option<&'static str>,
}

/// Where a 5 000-deep array passes the default depth limit of 32: the 32nd nested element.
const DEEP_PATH: &str = "/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0";

fn bad_inputs() -> Vec<Bad> {
    let bad = |what, text: String, code, path, case_id| Bad {
        what,
        text,
        code,
        path,
        case_id,
    };
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    vec![
        bad(
            "malformed JSON",
            r#"{"case_id": "x", "#.to_string(),
            "case.invalid_json",
            "",
            None,
        ),
        bad(
            "a value that is not an object",
            "[1, 2, 3]".to_string(),
            "case.not_object",
            "",
            None,
        ),
        bad(
            "a number, not an object",
            "42".to_string(),
            "case.not_object",
            "",
            None,
        ),
        bad(
            "a missing required field",
            good_with(|v| {
                v.as_object_mut().unwrap().remove("members");
            }),
            "case.missing_field",
            "/members",
            Some("good"),
        ),
        bad(
            "an unknown field",
            good_with(|v| v["colour"] = "blue".into()),
            "case.unknown_field",
            "/colour",
            Some("good"),
        ),
        bad(
            "a wrong type",
            good_with(|v| v["members"][0]["birth_date"] = 19900501.into()),
            "case.invalid_field",
            "/members/0/birth_date",
            Some("good"),
        ),
        bad(
            "an impossible date",
            good_with(|v| v["application_date"] = "2025-02-30".into()),
            "case.invalid_field",
            "/application_date",
            Some("good"),
        ),
        bad(
            "a month out of range",
            good_with(|v| v["members"][0]["incomes"][0]["month"] = "2024-13".into()),
            "case.invalid_field",
            "/members/0/incomes/0/month",
            Some("good"),
        ),
        bad(
            "money with more than two decimals",
            good_with(|v| v["members"][0]["incomes"][0]["amount"] = "60000.123".into()),
            "case.invalid_field",
            "/members/0/incomes/0/amount",
            Some("good"),
        ),
        bad(
            "negative money",
            good_with(|v| v["members"][0]["incomes"][0]["amount"] = "-5".into()),
            "case.invalid_field",
            "/members/0/incomes/0/amount",
            Some("good"),
        ),
        bad(
            "a number beyond the decimal range",
            GOOD.replace(r#""amount": "60000""#, r#""amount": 1e40"#),
            "case.invalid_field",
            "/members/0/incomes/0/amount",
            Some("good"),
        ),
        bad(
            "an unknown enum value",
            good_with(|v| v["members"][0]["sex"] = "other".into()),
            "case.invalid_field",
            "/members/0/sex",
            Some("good"),
        ),
        bad(
            "duplicate member ids",
            good_with(|v| v["members"][1]["id"] = "m1".into()),
            "case.invalid_field",
            "/members/1",
            Some("good"),
        ),
        bad(
            "a birth date after the application date",
            good_with(|v| v["members"][1]["birth_date"] = "2025-06-01".into()),
            "case.invalid_field",
            "/members/1/birth_date",
            Some("good"),
        ),
        bad(
            "an application date before the policy is in force",
            good_with(|v| {
                v["application_date"] = "2024-11-01".into();
                v["members"][0]["incomes"][0]["month"] = "2024-08".into();
            }),
            "case.not_in_force",
            "",
            Some("good"),
        ),
        bad(
            "an application date no parameter covers",
            good_with(|v| v["application_date"] = "2027-02-01".into()),
            "eval.no_parameter_value",
            "",
            Some("good"),
        ),
        bad(
            "a case id that is too long",
            good_with(|v| v["case_id"] = "x".repeat(65).into()),
            "case.invalid_field",
            "/case_id",
            None,
        ),
        bad("deep nesting", deep, "case.too_deep", DEEP_PATH, None),
        bad(
            "a very long string",
            good_with(|v| v["region"] = "x".repeat(100_000).into()),
            "case.invalid_field",
            "/region",
            Some("good"),
        ),
        bad(
            "a case larger than the limit",
            good_with(|v| v["members"][0]["notes"] = "x".repeat(2 << 20).into()),
            "case.too_large",
            "",
            None,
        ),
        bad("an empty line", String::new(), "case.empty_line", "", None),
    ]
}

fn error_of(line: &str) -> Value {
    let value: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    value["error"].clone()
}

fn check_error(what: &str, line: &str, bad: &Bad) {
    let error = error_of(line);
    assert_eq!(error["code"], bad.code, "{what}: {line}");
    assert_eq!(error["path"], bad.path, "{what}: {line}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty(),
        "{what}: an error line says why: {line}"
    );
    let value: Value = serde_json::from_str(line).unwrap();
    // Where the case id can be read, the error line carries it; where it cannot, it is null.
    match bad.case_id {
        Some(id) => assert_eq!(value["case_id"], id, "{what}: {line}"),
        None => assert!(
            value["case_id"].is_null() || bad.what.contains("case id"),
            "{what}: {line}"
        ),
    }
}

#[test]
fn each_bad_input_through_eval_gives_one_error_line() {
    let policy = policy_dir();
    for bad in bad_inputs() {
        if bad.text.is_empty() {
            continue;
        }
        let output = run(&["eval", &policy, "-"], &bad.text);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 1, "{}: exactly one line: {stdout}", bad.what);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{}: exit code 3 for a case error",
            bad.what
        );
        check_error(bad.what, lines[0], &bad);
    }
}

#[test]
fn bad_lines_in_a_batch_leave_their_neighbours_unchanged() {
    let policy = policy_dir();
    let alone = run(&["eval", &policy, "-"], GOOD);
    let good_line = String::from_utf8_lossy(&alone.stdout)
        .trim_end()
        .to_string();
    assert!(
        good_line.contains(r#""outputs""#),
        "the good case is decided: {good_line}"
    );

    // good, bad, good, bad, …, good: every bad line between two good ones.
    let inputs = bad_inputs();
    let mut text = String::new();
    for bad in &inputs {
        text.push_str(GOOD);
        text.push('\n');
        text.push_str(&bad.text);
        text.push('\n');
    }
    text.push_str(GOOD);
    text.push('\n');
    for threads in ["1", "2"] {
        let output = run(&["batch", &policy, "-", "--threads", threads], &text);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            lines.len(),
            2 * inputs.len() + 1,
            "one output line per input line"
        );
        for (index, bad) in inputs.iter().enumerate() {
            assert_eq!(
                lines[2 * index],
                good_line,
                "the good case before `{}`",
                bad.what
            );
            check_error(bad.what, lines[2 * index + 1], bad);
        }
        assert_eq!(lines[2 * inputs.len()], good_line);
        assert_eq!(output.status.code(), Some(3), "some lines were errors");
    }
}
