//! `ereje test`, run as an analyst would: the bundled policy tests, deliberately wrong tests,
//! broken test files and the coverage report, each checked by exit code and output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn policy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies/kz")
}

fn ereje(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args(args)
        .output()
        .expect("the ereje binary runs")
}

/// A copy of the bundled policy (manifest, modules and examples, without its tests) in a fresh
/// directory of its own, with the given test files written into its `tests/`.
fn policy_copy(name: &str, test_files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ereje-policy-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::create_dir_all(dir.join("examples")).unwrap();
    for entry in std::fs::read_dir(policy_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    for entry in std::fs::read_dir(policy_dir().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join("examples").join(path.file_name().unwrap())).unwrap();
    }
    for (file, text) in test_files {
        let path = dir.join("tests").join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// A single member of 35 with a signed contract and the given counted income in 2024-Q4,
/// applying on 2025-03-12: the national poverty line 32 360 applies.
fn single_member_case(income: &str) -> String {
    format!(
        r#"{{"case_id": "t", "application_date": "2025-03-12",
  "members": [{{"id": "m1", "birth_date": "1990-01-01", "sex": "male",
    "incomes": [{{"kind": "salary", "month": "2024-10", "amount": {income}}}]}}],
  "social_contract": {{"signed": true}}}}"#
    )
}

/// One `[[test]]` with an inline case and the given extra lines (expectations and keys).
fn test_table(name: &str, case_json: &str, lines: &str) -> String {
    format!("[[test]]\nname = \"{name}\"\ncase_json = '''{case_json}'''\n{lines}\n")
}

/// What one run must show.
struct Expect<'a> {
    exit_code: i32,
    /// Each must appear in stdout.
    contains: &'a [&'a str],
    /// None may appear in stdout.
    lacks: &'a [&'a str],
    /// The last line of the results, `N passed, M failed`.
    summary: &'a str,
}

fn check(label: &str, args: &[&str], expect: Expect<'_>) -> String {
    let output = ereje(args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let context = format!("{label}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert_eq!(
        output.status.code(),
        Some(expect.exit_code),
        "exit code of {context}"
    );
    for wanted in expect.contains {
        assert!(stdout.contains(wanted), "`{wanted}` missing in {context}");
    }
    for unwanted in expect.lacks {
        assert!(
            !stdout.contains(unwanted),
            "`{unwanted}` present in {context}"
        );
    }
    assert!(
        stdout.lines().any(|line| line == expect.summary),
        "summary line `{}` missing in {context}",
        expect.summary
    );
    stdout
}

fn path_text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn the_bundled_policy_tests_pass() {
    let output = ereje(&["test", path_text(&policy_dir())]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let summary = stdout.lines().last().unwrap();
    let passed: usize = summary
        .strip_suffix(" passed, 0 failed")
        .unwrap_or_else(|| panic!("summary `{summary}`"))
        .parse()
        .unwrap();
    assert!(passed >= 90, "only {passed} bundled tests ran:\n{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
}

#[test]
fn results_are_byte_identical_from_run_to_run() {
    let dir = policy_dir();
    let args = ["test", path_text(&dir), "--coverage"];
    assert_eq!(ereje(&args).stdout, ereje(&args).stdout);
}

#[test]
fn a_wrong_expectation_shows_field_expected_actual_and_trace_path() {
    // Per capita 97 080 ÷ 3 = 32 360 = the line: refused for ASP-INCOME-TEST, ASP 0.
    let at_the_line = single_member_case("97080");
    let text = test_table(
        "deliberately wrong",
        &at_the_line,
        "[test.expect]\n\"asp.reasons\" = [\"ASP-CONTRACT-BAN\"]\n\"asp.monthly_asp\" = \"5\"\n\"asp.poverty_line\" = \"32360.00\"\n",
    );
    let dir = policy_copy("wrong", &[("asp_wrong.toml", &text)]);
    check(
        "a wrong test",
        &["test", path_text(&dir)],
        Expect {
            exit_code: 1,
            contains: &[
                "FAILED  tests/asp_wrong.toml:2  deliberately wrong",
                "---- deliberately wrong\n     in tests/asp_wrong.toml:2",
                "  field     asp.reasons\n  expected  [\"ASP-CONTRACT-BAN\"]\n  actual    [\"ASP-INCOME-TEST\"]",
                "output asp → asp_reasons → ASP-INCOME-TEST = yes",
                "output asp → asp_reasons → ASP-CONTRACT-BAN = no",
                "  field     asp.monthly_asp\n  expected  \"5\"\n  actual    \"0\"",
                "  trace     output asp → ASP-AMOUNT = 0",
            ],
            // Money compares as an exact decimal: "32360.00" is "32360".
            lacks: &["field     asp.poverty_line"],
            summary: "0 passed, 1 failed",
        },
    );
}

#[test]
fn a_broken_toml_file_names_its_line_and_the_other_files_still_run() {
    let good = test_table(
        "at the line is refused",
        &single_member_case("97080"),
        "[test.expect]\n\"asp.outcome\" = \"refused\"\n",
    );
    let broken = "[[test]]\nname = \"half written\"\n\ncase_json = \n";
    let dir = policy_copy(
        "broken",
        &[("a_broken.toml", broken), ("b_good.toml", &good)],
    );
    check(
        "a broken file",
        &["test", path_text(&dir)],
        Expect {
            exit_code: 2,
            contains: &[
                "FAILED  tests/a_broken.toml:4",
                "in tests/a_broken.toml:4\n  error     not valid TOML",
                "ok      tests/b_good.toml:2  at the line is refused",
            ],
            lacks: &[],
            summary: "1 passed, 1 failed",
        },
    );
}

#[test]
fn tests_not_in_the_format_are_broken_with_their_line() {
    let case = single_member_case("0");
    let text = [
        test_table("typo in a key", &case, "expected = 1"),
        test_table("no expectation", &case, ""),
        "[[test]]\nname = \"missing case file\"\ncase_file = \"../examples/nowhere.json\"\n[test.expect]\n\"asp.outcome\" = \"granted\"\n".to_string(),
        test_table("fine", &case, "[test.expect]\n\"asp.outcome\" = \"granted\"\n"),
    ]
    .concat();
    let dir = policy_copy("format", &[("format.toml", &text)]);
    check(
        "tests not in the format",
        &["test", path_text(&dir)],
        Expect {
            exit_code: 2,
            contains: &[
                "unknown key `expected`",
                "the test expects nothing",
                "cannot read the case file",
                "ok      tests/format.toml:",
            ],
            lacks: &[],
            summary: "1 passed, 3 failed",
        },
    );
}

#[test]
fn case_files_nulls_errors_and_filters() {
    // granted-with-child.json: three members, no income in 2025-Q1's period, region almaty
    // (no row: national 32 360): ASP 32 360 × 3 = 97 080; m3 (born 2022-04-11) is 3: 5 898;
    // total 102 978. Not in the pilot: pilot is null.
    let text = [
        "[[test]]\nname = \"example file\"\ncase_file = \"../examples/granted-with-child.json\"\nexpect_null = [\"asp.pilot\"]\n[test.expect]\n\"asp.monthly_asp\" = \"97080\"\n\"asp.child_supplements.m3\" = 5898\n\"asp.monthly_total\" = \"102978\"\n\n".to_string(),
        "[[test]]\nname = \"wrong null\"\ncase_file = \"../examples/granted-with-child.json\"\nexpect_null = [\"asp.poverty_line\"]\n\n".to_string(),
        test_table(
            "error expected, decision given",
            &single_member_case("0"),
            "expect_error = \"case.invalid_field\"",
        ),
        test_table(
            "error as expected",
            &single_member_case("\"1.001\""),
            "expect_error = \"case.invalid_field\"",
        ),
    ]
    .concat();
    let dir = policy_copy("files", &[("files.toml", &text)]);
    check(
        "case files, nulls and errors",
        &["test", path_text(&dir)],
        Expect {
            exit_code: 1,
            contains: &[
                "ok      tests/files.toml:2  example file",
                "  field     asp.poverty_line\n  expected  null\n  actual    \"32360\"",
                "  trace     output asp → ASP-POVERTY-LINE = 32 360 ₸",
                "  field     error\n  expected  case.invalid_field\n  actual    a decision",
                "ok      tests/files.toml:",
            ],
            lacks: &[],
            summary: "2 passed, 2 failed",
        },
    );
    check(
        "a filter",
        &["test", path_text(&dir), "--filter", "example"],
        Expect {
            exit_code: 0,
            contains: &["example file"],
            lacks: &["wrong null", "error as expected"],
            summary: "1 passed, 0 failed",
        },
    );
}

#[test]
fn coverage_lists_every_rule_and_marks_the_ones_never_fired() {
    let text = test_table(
        "at the line is refused",
        &single_member_case("97080"),
        "[test.expect]\n\"asp.reasons\" = [\"ASP-INCOME-TEST\"]\n",
    );
    let dir = policy_copy("coverage", &[("coverage.toml", &text)]);
    let stdout = check(
        "coverage",
        &["test", path_text(&dir), "--coverage"],
        Expect {
            exit_code: 0,
            contains: &[
                "coverage over 1 decided tests",
                "  rule       ASP-INCOME-TEST ",
                "  rule       PILOT-DEPOSITS ",
                "  exception  PILOT-CONSENT → asp_pilot ",
                "never fired (",
                "  rule       PILOT-LOANS\n",
                "  exception  PILOT-CONSENT → asp_pilot\n",
            ],
            lacks: &[],
            summary: "1 passed, 0 failed",
        },
    );
    let (report, never) = stdout.split_once("never fired").unwrap();
    let income_line = report
        .lines()
        .find(|line| line.contains("rule       ASP-INCOME-TEST "))
        .unwrap();
    assert!(
        income_line.ends_with("reached    1  fired    1"),
        "{income_line}"
    );
    assert!(!never.contains("ASP-INCOME-TEST"), "{never}");
    // Rules are listed in the policy's order.
    let period = report.find("ASP-INCOME-PERIOD").unwrap();
    let deposits = report.find("PILOT-DEPOSITS").unwrap();
    assert!(period < deposits, "{report}");
}

#[test]
fn a_policy_without_a_tests_directory_is_an_error() {
    let dir = policy_copy("no-tests", &[]);
    std::fs::remove_dir_all(dir.join("tests")).unwrap();
    let output = ereje(&["test", path_text(&dir)]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read the test directory"),
        "{stderr}"
    );
}
