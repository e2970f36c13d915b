//! The `ereje` binary, run as a user would: exit codes, stdout and stderr.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh directory of its own for each test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ereje-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn first_case() -> String {
    let text = std::fs::read_to_string(cases_file()).unwrap();
    text.lines().next().unwrap().to_string()
}

fn write_case(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The first example case with a social contract terminated a month before the application:
/// refused with reason ASP-CONTRACT-BAN.
fn refused_case() -> String {
    let mut case: serde_json::Value = serde_json::from_str(&first_case()).unwrap();
    let applied = case["application_date"].as_str().unwrap().to_string();
    let month: u32 = applied[5..7].parse().unwrap();
    let year: i32 = applied[..4].parse().unwrap();
    let (year, month) = if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    };
    case["social_contract"] = serde_json::json!({
        "signed": true,
        "terminated_on": format!("{year:04}-{month:02}-01"),
    });
    case.to_string()
}

/// The text of `message <lang> "…"` of a rule in policies/kz/asp.ereje.
fn policy_message(rule: &str, lang: &str) -> String {
    let text = std::fs::read_to_string(policy_dir().join("asp.ereje")).unwrap();
    let start = text
        .find(&format!("rule {rule}:"))
        .unwrap_or_else(|| panic!("asp.ereje declares {rule}"));
    let prefix = format!("message {lang} \"");
    let rest = &text[start..];
    let at = rest.find(&prefix).unwrap() + prefix.len();
    let end = rest[at..].find('"').unwrap();
    rest[at..at + end].to_string()
}

#[test]
fn check_accepts_the_bundled_policy() {
    let policy = policy_dir();
    let output = ereje(&["check", policy.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(" 0 errors, "),
        "{}",
        stderr(&output)
    );

    let json = ereje(&["check", policy.to_str().unwrap(), "--error-format", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let reports: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert!(reports.is_array());
}

#[test]
fn check_reports_a_broken_policy() {
    let dir = temp_dir("broken");
    std::fs::write(
        dir.join("ereje.toml"),
        "[policy]\nname = \"broken\"\nversion = \"1\"\npublisher = \"test\"\nmodules = [\"main.ereje\"]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.ereje"),
        "module broken\n  version \"1\"\n  in force from 2025-01-01\n\nrule A: Bool = NO-SUCH-RULE\n",
    )
    .unwrap();

    let human = ereje(&["check", dir.to_str().unwrap()]);
    assert_eq!(human.status.code(), Some(1), "{}", stderr(&human));
    assert!(stderr(&human).contains("error"), "{}", stderr(&human));

    let json = ereje(&["check", dir.to_str().unwrap(), "--error-format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let reports: serde_json::Value = serde_json::from_str(&stdout(&json))
        .unwrap_or_else(|error| panic!("{error}: {}", stdout(&json)));
    let first = &reports.as_array().unwrap()[0];
    assert!(first["code"].is_string(), "{reports}");
    assert_eq!(first["severity"], "error");
}

#[test]
fn check_on_a_missing_directory_is_a_load_error() {
    let missing = manifest_dir().join("no-such-policy-dir");
    let human = ereje(&["check", missing.to_str().unwrap()]);
    assert_eq!(human.status.code(), Some(2));
    assert!(
        stderr(&human).contains("no-such-policy-dir"),
        "{}",
        stderr(&human)
    );

    let json = ereje(&["check", missing.to_str().unwrap(), "--error-format", "json"]);
    assert_eq!(json.status.code(), Some(2));
    let error: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(error["code"], "load::io");
    assert!(error["message"].as_str().unwrap().contains("ereje.toml"));
}

#[test]
fn eval_prints_a_decision() {
    let dir = temp_dir("eval");
    let case = write_case(&dir, "case.json", &first_case());
    let policy = policy_dir();
    let output = ereje(&["eval", policy.to_str().unwrap(), case.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("{\"case_id\":\"c000000\",\"as_of\":"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1);
    let decision: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(decision["outputs"]["asp"]["outcome"].is_string());
    assert!(decision.get("trace").is_none());

    let traced = ereje(&[
        "eval",
        policy.to_str().unwrap(),
        case.to_str().unwrap(),
        "--trace",
    ]);
    assert_eq!(traced.status.code(), Some(0));
    let decision: serde_json::Value = serde_json::from_str(&stdout(&traced)).unwrap();
    assert!(decision["trace"].is_array());
}

#[test]
fn eval_reads_stdin_and_honours_as_of() {
    use std::io::Write as _;
    use std::process::Stdio;
    let policy = policy_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args([
            "eval",
            policy.to_str().unwrap(),
            "-",
            "--as-of",
            "2025-06-30",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(first_case().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("\"as_of\":\"2025-06-30\""),
        "{}",
        stdout(&output)
    );
}

#[test]
fn eval_of_a_malformed_case_prints_an_error_line() {
    let dir = temp_dir("malformed");
    let case = write_case(&dir, "bad.json", "{\"case_id\": \"x1\", ");
    let policy = policy_dir();
    let output = ereje(&["eval", policy.to_str().unwrap(), case.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let line: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(line["error"]["code"], "case.invalid_json");
}

#[test]
fn eval_of_a_missing_case_file_names_the_path() {
    let policy = policy_dir();
    let output = ereje(&["eval", policy.to_str().unwrap(), "/no/such/case-file.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("/no/such/case-file.json"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn pretty_keeps_key_order() {
    let dir = temp_dir("pretty");
    let case = write_case(&dir, "case.json", &first_case());
    let policy = policy_dir();
    let output = ereje(&[
        "eval",
        policy.to_str().unwrap(),
        case.to_str().unwrap(),
        "--pretty",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.lines().count() > 5, "{text}");
    let position = |key: &str| {
        text.find(&format!("\"{key}\": "))
            .unwrap_or_else(|| panic!("no {key} in {text}"))
    };
    assert!(position("case_id") < position("as_of"));
    assert!(position("as_of") < position("policy"));
    assert!(position("policy") < position("outputs"));
    assert!(position("outcome") < position("aid_kind"));
    // The same decision as the compact line.
    let compact = ereje(&["eval", policy.to_str().unwrap(), case.to_str().unwrap()]);
    let a: serde_json::Value = serde_json::from_str(&text).unwrap();
    let b: serde_json::Value = serde_json::from_str(&stdout(&compact)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn explain_prints_the_policy_messages_in_each_language() {
    let dir = temp_dir("explain");
    let case = write_case(&dir, "refused.json", &refused_case());
    let policy = policy_dir();
    for (lang, heading) in [("en", "Reasons"), ("ru", "Основания"), ("kk", "Негіздер")]
    {
        let output = ereje(&[
            "explain",
            policy.to_str().unwrap(),
            case.to_str().unwrap(),
            "--lang",
            lang,
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let text = stdout(&output);
        assert!(text.contains(heading), "{lang}: {text}");
        assert!(text.contains("ASP-CONTRACT-BAN"), "{lang}: {text}");
        let ban = policy_message("ASP-CONTRACT-BAN", lang);
        assert!(text.contains(&ban), "{lang}: no `{ban}` in {text}");
        // A step of the calculation shows its message's head as its name, with the value,
        // and the rest of the message (how it is computed) under it.
        let amount = policy_message("ASP-AMOUNT", lang);
        let (step, how) = amount.split_once(": ").unwrap();
        assert!(
            text.contains(&format!("{step}: ")),
            "{lang}: no `{step}` in {text}"
        );
        assert!(text.contains(how), "{lang}: no `{how}` in {text}");
        assert!(text.contains(" ₸"), "{lang}: {text}");
    }
}

#[test]
fn explain_defaults_to_russian_and_full_prints_more() {
    let dir = temp_dir("explain-full");
    let case = write_case(&dir, "case.json", &first_case());
    let policy = policy_dir();
    let short = ereje(&["explain", policy.to_str().unwrap(), case.to_str().unwrap()]);
    assert_eq!(short.status.code(), Some(0), "{}", stderr(&short));
    assert!(stdout(&short).contains("Итог"), "{}", stdout(&short));
    let full = ereje(&[
        "explain",
        policy.to_str().unwrap(),
        case.to_str().unwrap(),
        "--full",
    ]);
    assert_eq!(full.status.code(), Some(0));
    // The default tree stops 4 levels down and says how to see the rest; --full does not stop.
    assert!(stdout(&short).contains("--full"), "{}", stdout(&short));
    assert!(!stdout(&full).contains("--full"), "{}", stdout(&full));
}

#[test]
fn explain_of_a_malformed_case_exits_3() {
    let dir = temp_dir("explain-bad");
    let case = write_case(&dir, "bad.json", "[1, 2]");
    let policy = policy_dir();
    let output = ereje(&["explain", policy.to_str().unwrap(), case.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).contains("case."), "{}", stderr(&output));
}

#[test]
fn compile_writes_the_ir_and_prints_the_digest() {
    let dir = temp_dir("compile");
    let target = dir.join("ir.json");
    let policy = policy_dir();
    let output = ereje(&[
        "compile",
        policy.to_str().unwrap(),
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let digest = stdout(&output).trim().to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");
    let ir: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(ir["name"], "kz");

    // The digest is the one decisions carry.
    let case = write_case(&dir, "case.json", &first_case());
    let decision = ereje(&["eval", policy.to_str().unwrap(), case.to_str().unwrap()]);
    assert!(stdout(&decision).contains(&digest));
}

#[test]
fn help_documents_the_exit_codes() {
    let output = ereje(&["eval", "--help"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.contains("Exit codes"), "{text}");
    assert!(text.contains("--pretty"), "{text}");
}

#[test]
fn case_limits_can_be_set_for_eval_and_batch() {
    let dir = temp_dir("limits");
    let case = first_case();
    let path = write_case(&dir, "case.json", &case);
    let path_text = path.to_str().unwrap();
    let policy = policy_dir();
    let policy_text = policy.to_str().unwrap();
    // Under the defaults the case is decided; a smaller size limit makes it an error line.
    let decided = ereje(&["eval", policy_text, path_text]);
    assert!(
        stdout(&decided).contains("\"outputs\""),
        "{}",
        stdout(&decided)
    );
    let too_large = ereje(&["eval", policy_text, path_text, "--max-case-bytes", "64"]);
    assert_eq!(too_large.status.code(), Some(3));
    assert!(
        stdout(&too_large).contains(&format!(
            "\"code\":\"case.too_large\",\"path\":\"\",\"message\":\"the case is {} bytes, more than the limit of 64 bytes\"",
            case.len()
        )),
        "{}",
        stdout(&too_large)
    );
    // In a batch, a depth limit of 1 stops every case at its first nested value, and each line
    // still gets its answer.
    let lines = write_case(&dir, "cases.jsonl", &format!("{case}\n{case}\n"));
    let batch = ereje(&[
        "batch",
        policy_text,
        lines.to_str().unwrap(),
        "--max-depth",
        "1",
        "--threads",
        "1",
    ]);
    let output = stdout(&batch);
    assert_eq!(output.lines().count(), 2, "{output}");
    assert!(
        output
            .lines()
            .all(|line| line.contains("\"code\":\"case.too_deep\"")),
        "{output}"
    );
}
