#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Versions, what-ifs and `ereje diff`, run as a user would run them.

use std::path::PathBuf;
use std::process::{Command, Output};

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn policy_dir() -> String {
    repository().join("policies/kz").display().to_string()
}

fn cases_file() -> String {
    repository()
        .join("../shared/contract/examples/cases.jsonl")
        .display()
        .to_string()
}

fn ereje(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args(args)
        .current_dir(repository())
        .output()
        .expect("the ereje binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `ereje` with `args` (`{policy}` and `{cases}` replaced by their paths) and checks its
/// exit code and that stdout (or stderr, for a failure) contains every expected text.
fn check(args: &[&str], code: i32, expected: &[&str]) {
    let (policy, cases) = (policy_dir(), cases_file());
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("{policy}", &policy).replace("{cases}", &cases))
        .collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = ereje(&refs);
    let (out, err) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(code),
        "ereje {args:?}\nstdout: {out}\nstderr: {err}"
    );
    // miette wraps long messages (also after a hyphen): compare without whitespace and margins.
    let flat = |t: &str| -> String {
        t.chars()
            .filter(|c| !c.is_whitespace() && *c != '│')
            .collect()
    };
    let shown = flat(if code == 0 { &out } else { &err });
    for want in expected {
        let want = flat(want);
        assert!(
            shown.contains(&want),
            "ereje {args:?}: `{want}` missing from:\n{shown}"
        );
    }
}

#[test]
fn eval_names_the_version_it_decided_with_and_takes_what_ifs() {
    let case = "policies/kz/examples/refused-pilot.json";
    check(&["eval", "{policy}", case], 0, &[r#""version":"2025.1""#]);
    check(
        &["eval", "{policy}", case, "--version", "2025.2-draft"],
        0,
        &[r#""version":"2025.2-draft""#],
    );
    check(
        &["eval", "{policy}", case, "--set", "POVERTY_LINE_SHARE=0.75"],
        0,
        &[r#""version":"2025.1+what-if""#, r#""poverty_line":"34671""#],
    );
    check(
        &[
            "eval",
            "{policy}",
            case,
            "--set",
            "POVERTY_LINE_SHARE=0.75@2026-01-01",
        ],
        0,
        &[r#""poverty_line":"32360""#],
    );
    check(
        &["eval", "{policy}", case, "--version", "2025.2-draf"],
        2,
        &["no version `2025.2-draf`; did you mean `2025.2-draft`?"],
    );
    check(
        &["eval", "{policy}", case, "--set", "POVERTY_SHARE=0.75"],
        2,
        &["no parameter `POVERTY_SHARE`; did you mean `POVERTY_LINE_SHARE`?"],
    );
    check(
        &["eval", "{policy}", case, "--set", "MRP=many"],
        2,
        &["`many` is not an amount of money"],
    );
    check(
        &["eval", "{policy}", case, "--set", "MRP=4000@2025-02-30"],
        2,
        &["`2025-02-30` after `@` is not a date"],
    );
    check(
        &[
            "diff",
            "{policy}@2025.1",
            "{policy}@2025.2-draft",
            "--cases",
            "{cases}",
            "--measure",
            "asp/nothing",
        ],
        2,
        &["not a money field", "asp/monthly_total"],
    );
}

// ------------------------------------------------------------------ the what-if, by hand

fn dec(value: &Value) -> Decimal {
    match value {
        Value::String(s) => s.parse().unwrap(),
        other => other.to_string().parse().unwrap(),
    }
}

/// (year, quarter) of `YYYY-MM…`.
fn quarter_of(text: &str) -> (i32, u32) {
    let year: i32 = text[..4].parse().unwrap();
    let month: u32 = text[5..7].parse().unwrap();
    (year, (month - 1) / 3 + 1)
}

fn previous((year, quarter): (i32, u32)) -> (i32, u32) {
    if quarter == 1 {
        (year - 1, 4)
    } else {
        (year, quarter - 1)
    }
}

/// The brief's regional table: which (region, quarter) rows exist.
fn has_regional_row(region: &str, (year, quarter): (i32, u32)) -> bool {
    match region {
        "zhetysu" | "karaganda" | "shymkent" => {
            (year, quarter) == (2024, 4) || (year == 2025 && quarter <= 3)
        }
        "aktobe" => (year, quarter) == (2025, 4),
        _ => false,
    }
}

/// National ПМ of the application year (policy brief, parameters).
fn national_pm(year: i32) -> Decimal {
    match year {
        2024 => Decimal::from(43407),
        2025 => Decimal::from(46228),
        _ => Decimal::from(50851),
    }
}

/// The refusal reasons of a case when the national poverty line is `share` × ПМ, from the
/// case's data and the brief's formulas: ASP-INCOME-TEST and PILOT-EXPENSES move with the line;
/// every other reason does not depend on it and is taken from the contract's expected decision.
fn reasons_with_share(case: &Value, expected: &Value, share: Decimal) -> Vec<String> {
    let asp = &expected["outputs"]["asp"];
    let date = case["application_date"].as_str().unwrap();
    let period = previous(quarter_of(date));
    let members = case["members"].as_array().unwrap();
    let n = Decimal::from(members.len());
    let excluded = ["asp", "asp_child_supplement", "one_time_aid", "housing_aid"];
    let counted: Decimal = members
        .iter()
        .flat_map(|m| m["incomes"].as_array().cloned().unwrap_or_default())
        .filter(|i| quarter_of(i["month"].as_str().unwrap()) == period)
        .filter(|i| !excluded.contains(&i["kind"].as_str().unwrap()))
        .map(|i| dec(&i["amount"]))
        .sum();
    let per_capita = counted / Decimal::from(3) / n;
    let regional = case["region"]
        .as_str()
        .is_some_and(|region| has_regional_row(region, period));
    let line = if regional {
        dec(&asp["poverty_line"])
    } else {
        (national_pm(quarter_of(date).0) * share)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
    };
    let expenses: Decimal = case["bank"]["expenses"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|e| quarter_of(e["month"].as_str().unwrap()) == period)
        .map(|e| dec(&e["amount"]))
        .sum();
    let pilot_applied = asp["pilot"]["applied"].as_bool() == Some(true);
    let mut reasons = Vec::new();
    for reason in asp["reasons"].as_array().unwrap() {
        let reason = reason.as_str().unwrap();
        if reason != "ASP-INCOME-TEST" && reason != "PILOT-EXPENSES" {
            reasons.push(reason.to_string());
        }
    }
    if per_capita >= line {
        reasons.push("ASP-INCOME-TEST".to_string());
    }
    if pilot_applied && expenses / Decimal::from(3) / n > line {
        reasons.push("PILOT-EXPENSES".to_string());
    }
    reasons.sort();
    reasons
}

#[test]
fn raising_the_poverty_share_grants_the_cases_the_brief_says() {
    let cases = std::fs::read_to_string(cases_file()).unwrap();
    let expected =
        std::fs::read_to_string(cases_file().replace("cases.jsonl", "expected.jsonl")).unwrap();
    let expected: Vec<Value> = expected
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut newly_granted = Vec::new();
    for line in cases.lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        let want = expected
            .iter()
            .find(|e| e["case_id"] == case["case_id"])
            .unwrap();
        // The hand computation reproduces the contract at the share in force, 0.70.
        let mut at_070: Vec<String> = want["outputs"]["asp"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        at_070.sort();
        assert_eq!(
            reasons_with_share(&case, want, Decimal::new(70, 2)),
            at_070,
            "{}",
            case["case_id"]
        );
        if !at_070.is_empty() && reasons_with_share(&case, want, Decimal::new(75, 2)).is_empty() {
            newly_granted.push(case["case_id"].as_str().unwrap().to_string());
        }
    }
    assert!(
        !newly_granted.is_empty(),
        "the example population has a case at the line"
    );
    let output = ereje(&[
        "diff",
        &policy_dir(),
        &policy_dir(),
        "--set",
        "POVERTY_LINE_SHARE=0.75",
        "--cases",
        &cases_file(),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let granted: Vec<&Value> = report["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["field"] == "asp/outcome" && t["old"] == "refused" && t["new"] == "granted")
        .collect();
    let engine_granted: Vec<String> = granted
        .iter()
        .flat_map(|t| {
            t["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(engine_granted, newly_granted);
    let refused_now = report["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["field"] == "asp/outcome" && t["new"] == "refused");
    assert!(!refused_now, "a higher line refuses no one");
}

// ------------------------------------------------------------------ snapshots

fn run_ok(args: &[&str]) -> String {
    let output = ereje(args);
    assert!(
        output.status.success(),
        "ereje {args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

#[test]
fn static_difference_between_the_law_and_the_draft() {
    let report = run_ok(&["diff", "policies/kz@2025.1", "policies/kz@2025.2-draft"]);
    insta::assert_snapshot!("static_2025_1_vs_draft", report);
    let same = run_ok(&["diff", "policies/kz", "policies/kz@2025.1"]);
    assert!(same.contains("No difference"), "{same}");
}

#[test]
fn impact_of_the_draft_over_the_example_population() {
    let cases = "../shared/contract/examples/cases.jsonl";
    let report = run_ok(&[
        "diff",
        "policies/kz@2025.1",
        "policies/kz@2025.2-draft",
        "--cases",
        cases,
    ]);
    insta::assert_snapshot!("impact_draft_text", report);
    let json = run_ok(&[
        "diff",
        "policies/kz@2025.1",
        "policies/kz@2025.2-draft",
        "--cases",
        cases,
        "--format",
        "json",
    ]);
    let json: Value = serde_json::from_str(&json).unwrap();
    insta::assert_snapshot!(
        "impact_draft_json",
        serde_json::to_string_pretty(&json).unwrap()
    );
    let again = run_ok(&[
        "diff",
        "policies/kz@2025.1",
        "policies/kz@2025.2-draft",
        "--cases",
        cases,
    ]);
    assert_eq!(report, again, "the same inputs give the same report");
}

// ------------------------------------------------------------------ the HTML report

const CHROMIUM: &str = "/usr/bin/chromium";

/// Screenshots a page with headless Chromium; the PNG's bytes.
fn screenshot(page: &std::path::Path, dir: &std::path::Path, name: &str) -> Vec<u8> {
    let png = dir.join(format!("{name}.png"));
    let profile = dir.join(format!("profile-{name}"));
    let output = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,1600")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    std::fs::read(&png)
        .unwrap_or_else(|_| panic!("chromium wrote no screenshot: {}", text(&output.stderr)))
}

fn distinct_bytes(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let dir = std::env::temp_dir().join(format!("ereje-diff-html-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("report.html");
    run_ok(&[
        "diff",
        "policies/kz",
        "policies/kz",
        "--set",
        "POVERTY_LINE_SHARE=0.75",
        "--cases",
        "../shared/contract/examples/cases.jsonl",
        "--format",
        "html",
        "-o",
        report.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&report).unwrap();
    for part in [
        "<svg",
        "distribution of the change",
        "asp/outcome",
        "edge-income-equal",
        "<h2>Largest winners",
    ] {
        assert!(html.contains(part), "the report lacks {part}");
    }
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "the report loads nothing from elsewhere"
    );
    assert!(
        !html.contains("src="),
        "the report loads nothing from elsewhere"
    );
    if !std::path::Path::new(CHROMIUM).exists() {
        println!(
            "skipped the screenshot: {CHROMIUM} is not installed (apt-get install -y chromium)"
        );
        return;
    }
    let blank = dir.join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank_png = screenshot(&blank, &dir, "blank");
    let report_png = screenshot(&report, &dir, "report");
    assert!(report_png.starts_with(b"\x89PNG"), "a PNG");
    assert!(
        report_png.len() > 4 * blank_png.len(),
        "the report's screenshot ({} bytes) is not much larger than a blank page's ({} bytes)",
        report_png.len(),
        blank_png.len()
    );
    assert!(
        distinct_bytes(&report_png) > 200,
        "the screenshot has {} distinct byte values",
        distinct_bytes(&report_png)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
