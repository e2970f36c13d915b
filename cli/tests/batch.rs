//! `ereje batch` end to end: order, error lines, thread counts, CSV input and the summary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn policy_dir() -> PathBuf {
    manifest_dir().join("../policies/kz")
}

fn cases_file() -> PathBuf {
    manifest_dir().join("../../shared/contract/examples/cases.jsonl")
}

fn ereje(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args(args)
        .output()
        .expect("the ereje binary runs")
}

/// Runs `ereje` with `input` on stdin.
fn ereje_with_input(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ereje binary runs");
    let mut stdin = child.stdin.take().unwrap();
    let text = input.to_string();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(text.as_bytes());
    });
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    output
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ereje-batch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The single-case `ereje eval` line of `case`.
fn eval_line(dir: &Path, case: &str) -> String {
    let path = dir.join("one.json");
    std::fs::write(&path, case).unwrap();
    let output = ereje(&[
        "eval",
        policy_dir().to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    String::from_utf8(output.stdout)
        .unwrap()
        .trim_end()
        .to_string()
}

fn example_cases() -> Vec<String> {
    std::fs::read_to_string(cases_file())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Bad lines, each with the error code its line must get.
const BAD_LINES: [(&str, &str); 6] = [
    ("{\"case_id\": \"x1\", \"application_date\": ", "case.invalid_json"),
    ("", "case.empty_line"),
    ("[1, 2]", "case.not_object"),
    (
        "{\"case_id\": \"x2\", \"application_date\": \"2025-03-12\", \"members\": [{\"id\": \"m1\", \"birth_date\": 19900101, \"sex\": \"male\"}]}",
        "case.invalid_field",
    ),
    (
        "{\"case_id\": \"x3\", \"application_date\": \"2025-03-12\", \"members\": [{\"id\": \"m1\", \"birth_date\": \"1990-01-01\", \"sex\": \"male\"}], \"colour\": 1}",
        "case.unknown_field",
    ),
    ("   ", "case.empty_line"),
];

/// The example cases with a bad line after every fifth good one.
fn mixed_input() -> (String, Vec<Result<String, &'static str>>) {
    let mut text = String::new();
    let mut expected = Vec::new();
    let mut bad = BAD_LINES.iter().cycle();
    for (index, case) in example_cases().into_iter().enumerate() {
        text.push_str(&case);
        text.push('\n');
        expected.push(Ok(case));
        if index % 5 == 4 {
            let (line, code) = bad.next().unwrap();
            text.push_str(line);
            text.push('\n');
            expected.push(Err(*code));
        }
    }
    (text, expected)
}

#[test]
fn every_line_is_answered_in_input_order_whatever_its_neighbours() {
    let dir = temp_dir("order");
    let (input, expected) = mixed_input();
    let input_path = dir.join("mixed.jsonl");
    std::fs::write(&input_path, &input).unwrap();
    let output = ereje(&[
        "batch",
        policy_dir().to_str().unwrap(),
        input_path.to_str().unwrap(),
        "--threads",
        "3",
    ]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "error lines give exit code 3"
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), expected.len());
    for (line, expected) in lines.iter().zip(&expected) {
        match expected {
            Ok(case) => assert_eq!(*line, eval_line(&dir, case)),
            Err(code) => {
                let json: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(json["error"]["code"], *code, "{line}");
            }
        }
    }
}

#[test]
fn one_thread_and_two_threads_give_the_same_bytes() {
    let dir = temp_dir("threads");
    let population = dir.join("population.jsonl");
    let generated = ereje(&[
        "generate",
        "--cases",
        "3000",
        "--seed",
        "11",
        "-o",
        population.to_str().unwrap(),
    ]);
    assert!(generated.status.success());
    let (mixed, _) = mixed_input();
    let mut input = std::fs::read_to_string(&population).unwrap();
    input.push_str(&mixed);
    std::fs::write(&population, &input).unwrap();
    let run = |threads: &str, trace: bool| {
        let mut args = vec![
            "batch",
            policy_dir().to_str().unwrap().to_string().leak() as &str,
            population.to_str().unwrap().to_string().leak() as &str,
            "--threads",
            threads,
        ];
        if trace {
            args.push("--trace");
        }
        ereje(&args).stdout
    };
    for trace in [false, true] {
        let one = run("1", trace);
        let two = run("2", trace);
        assert_eq!(one, two, "trace {trace}");
        assert_eq!(
            one.iter().filter(|byte| **byte == b'\n').count(),
            input.lines().count()
        );
    }
}

#[test]
fn stdin_and_the_output_file_work_like_files_and_stdout() {
    let dir = temp_dir("stdin");
    let (input, _) = mixed_input();
    let file = dir.join("cases.jsonl");
    std::fs::write(&file, &input).unwrap();
    let out = dir.join("out.jsonl");
    let from_file = ereje(&[
        "batch",
        policy_dir().to_str().unwrap(),
        file.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(from_file.stdout.is_empty());
    let from_stdin = ereje_with_input(&["batch", policy_dir().to_str().unwrap(), "-"], &input);
    assert_eq!(std::fs::read(&out).unwrap(), from_stdin.stdout);
}

/// A CSV file and the JSON each of its rows stands for.
const CSV_ROWS: [(&str, &str); 3] = [
    (
        "c-csv-1,2025-03-12,shymkent,m1,applicant,1990-05-01,female,employed,secondary,60000,60000,60000,child,2021-02-01,male,,,true,0",
        r#"{"case_id":"c-csv-1","application_date":"2025-03-12","region":"shymkent","members":[{"id":"m1","role":"applicant","birth_date":"1990-05-01","sex":"female","employment":"employed","education":"secondary","incomes":[{"kind":"salary","month":"2024-10","amount":"60000"},{"kind":"salary","month":"2024-11","amount":"60000"},{"kind":"salary","month":"2024-12","amount":"60000"}]},{"id":"m2","role":"child","birth_date":"2021-02-01","sex":"male"}],"social_contract":{"signed":true},"assets":{"vehicles":0}}"#,
    ),
    (
        "c-csv-2,2025-07-01,,m1,applicant,1960-01-01,male,not_working,higher,,,250000.50,,,,,2024-12-31,false,1",
        r#"{"case_id":"c-csv-2","application_date":"2025-07-01","members":[{"id":"m1","role":"applicant","birth_date":"1960-01-01","sex":"male","employment":"not_working","education":"higher","incomes":[{"kind":"salary","month":"2024-12","amount":"250000.50"}]}],"social_contract":{"signed":false,"terminated_on":"2024-12-31"},"assets":{"vehicles":1}}"#,
    ),
    (
        "c-csv-3,2025-02-30,,m1,applicant,1990-01-01,female,,,,,,,,,,,,",
        r#"{"case_id":"c-csv-3","application_date":"2025-02-30","members":[{"id":"m1","role":"applicant","birth_date":"1990-01-01","sex":"female"}]}"#,
    ),
];

const CSV_HEADER: &str = "case_id,application_date,region,m1_id,m1_role,m1_birth_date,m1_sex,m1_employment,m1_education,m1_income_salary_2024-10,m1_income_salary_2024-11,m1_income_salary_2024-12,m2_role,m2_birth_date,m2_sex,m2_carer,contract_terminated_on,contract_signed,vehicles";

#[test]
fn csv_rows_give_the_decisions_of_their_json() {
    let dir = temp_dir("csv");
    let mut csv = format!("{CSV_HEADER}\n");
    let mut jsonl = String::new();
    for (row, json) in CSV_ROWS {
        csv.push_str(row);
        csv.push('\n');
        jsonl.push_str(json);
        jsonl.push('\n');
    }
    // A row with a cell too many gets its own error line and leaves the others alone.
    csv.push_str("c-csv-4,2025-03-12,,,,,,,,,,,,,,,,,,extra\n");
    let csv_path = dir.join("families.csv");
    let json_path = dir.join("families.jsonl");
    std::fs::write(&csv_path, &csv).unwrap();
    std::fs::write(&json_path, &jsonl).unwrap();
    let policy = policy_dir();
    let from_csv = ereje(&[
        "batch",
        policy.to_str().unwrap(),
        csv_path.to_str().unwrap(),
    ]);
    let from_json = ereje(&[
        "batch",
        policy.to_str().unwrap(),
        json_path.to_str().unwrap(),
    ]);
    let csv_lines: Vec<String> = String::from_utf8(from_csv.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let json_lines: Vec<String> = String::from_utf8(from_json.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(csv_lines.len(), CSV_ROWS.len() + 1);
    assert_eq!(&csv_lines[..CSV_ROWS.len()], &json_lines[..]);
    assert!(csv_lines[0].contains("\"outputs\""), "{}", csv_lines[0]);
    assert!(
        csv_lines[2].contains("case.invalid_field"),
        "{}",
        csv_lines[2]
    );
    assert!(csv_lines[3].contains("csv.invalid_row"), "{}", csv_lines[3]);
    assert!(csv_lines[3].contains("c-csv-4"), "{}", csv_lines[3]);

    // `--format csv` reads stdin as CSV; an unknown column stops the run with exit code 2.
    let from_stdin = ereje_with_input(
        &["batch", policy.to_str().unwrap(), "-", "--format", "csv"],
        &csv,
    );
    assert_eq!(
        String::from_utf8(from_stdin.stdout)
            .unwrap()
            .lines()
            .count(),
        CSV_ROWS.len() + 1
    );
    let bad_header = ereje_with_input(
        &["batch", policy.to_str().unwrap(), "-", "--format", "csv"],
        "case_id,birthdate\nc1,1990-01-01\n",
    );
    assert_eq!(bad_header.status.code(), Some(2));
}

#[test]
fn the_summary_counts_lines_errors_outcomes_and_money() {
    let dir = temp_dir("summary");
    let (input, expected) = mixed_input();
    let path = dir.join("mixed.jsonl");
    std::fs::write(&path, &input).unwrap();
    let output = ereje(&[
        "batch",
        policy_dir().to_str().unwrap(),
        path.to_str().unwrap(),
        "--summary",
        "json",
        "--threads",
        "2",
    ]);
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8(output.stderr).unwrap().trim()).unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();

    // The expected figures, counted from the output lines themselves.
    let mut errors = std::collections::BTreeMap::<String, u64>::new();
    let mut outcomes = std::collections::BTreeMap::<String, u64>::new();
    let mut total = rust_decimal::Decimal::ZERO;
    for line in stdout.lines() {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(code) = json["error"]["code"].as_str() {
            *errors.entry(code.to_string()).or_default() += 1;
        } else {
            let asp = &json["outputs"]["asp"];
            *outcomes
                .entry(asp["outcome"].as_str().unwrap().to_string())
                .or_default() += 1;
            total += asp["monthly_total"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap();
        }
    }
    let error_count: u64 = errors.values().sum();
    assert_eq!(summary["cases"], expected.len() as u64);
    assert_eq!(summary["errors"], error_count);
    assert_eq!(
        summary["decisions"],
        expected.iter().filter(|line| line.is_ok()).count() as u64
    );
    assert_eq!(summary["errors_by_code"], serde_json::json!(errors));
    assert_eq!(
        summary["counts"]["asp.outcome"],
        serde_json::json!(outcomes)
    );
    assert_eq!(summary["totals"]["asp.monthly_total"], total.to_string());
    // Only the payment the policy marks is totalled: the amount and the supplements it adds up
    // are not totalled again.
    let totalled: Vec<&String> = summary["totals"].as_object().unwrap().keys().collect();
    assert_eq!(totalled, ["asp.monthly_total"], "{summary}");
    assert!(error_count >= 4 && outcomes.len() == 2, "{summary}");
}
