//! `ereje explain` end to end on the bundled kz policy: for every refusal reason of the brief, the
//! "what would change it" value, and that the edited case, evaluated again by `ereje eval`, no
//! longer has the reason; text snapshots in ru, kk and en; snapshots of the example cases; the
//! HTML page in a real headless Chromium (skipped, with a note, when Chromium is not installed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn policy_dir() -> PathBuf {
    manifest_dir().join("../policies/kz")
}

fn example_cases() -> Vec<String> {
    let path = manifest_dir().join("../../shared/contract/examples/cases.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn example(case_id: &str) -> String {
    example_cases()
        .into_iter()
        .find(|line| line.contains(&format!("\"case_id\": \"{case_id}\"")))
        .unwrap_or_else(|| panic!("no example case {case_id}"))
}

/// The small case files of `cli/tests/cases` (families the examples do not show: a contract
/// ban in force, each consent failure of the pilot), each as one JSON line.
fn case_files() -> Vec<String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(manifest_dir().join("tests/cases"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            json.to_string()
        })
        .collect()
}

/// Every family an explanation is checked on: the contract examples and the case files.
fn family_cases() -> Vec<String> {
    let mut cases = example_cases();
    cases.extend(case_files());
    cases
}

/// A case refused only by ASP-CONTRACT-BAN: the example whose ban has just ended, applying a
/// day earlier (the social contract was terminated on 2024-08-31; the ban ends on 2025-02-28).
fn ban_case() -> String {
    example("edge-ban-over")
        .replace("edge-ban-over", "ban-in-force")
        .replace(
            "\"application_date\": \"2025-02-28\"",
            "\"application_date\": \"2025-02-27\"",
        )
}

/// A fresh directory for each call (tests run in parallel).
fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let number = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "ereje-explain-{}-{number}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args(args)
        .output()
        .expect("the ereje binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// `ereje <command> kz <case> <extra…>` on a case given as text.
fn ereje_on(command: &str, case: &str, extra: &[&str]) -> String {
    let dir = temp_dir(&format!("{command}-{}", extra.join("-")));
    let path = dir.join("case.json");
    std::fs::write(&path, case).unwrap();
    let policy = policy_dir();
    let mut args = vec![command, policy.to_str().unwrap(), path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, out) = run(&args);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, Some(0), "{command} {extra:?} failed: {out}");
    out
}

fn explanation(case: &str) -> serde_json::Value {
    serde_json::from_str(&ereje_on("explain", case, &["--format", "json"])).unwrap()
}

fn asp_reasons(case: &str) -> Vec<String> {
    let decision: serde_json::Value = serde_json::from_str(&ereje_on("eval", case, &[])).unwrap();
    decision["outputs"]["asp"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reason| reason.as_str().unwrap().to_string())
        .collect()
}

/// Applies a change's edits to the case JSON, as a caseworker would correct the facts.
fn apply_edits(case: &str, edits: &[serde_json::Value]) -> String {
    let mut json: serde_json::Value = serde_json::from_str(case).unwrap();
    // Removals from the end, so that earlier indices stay valid.
    for edit in edits {
        let path = edit["path"].as_str().unwrap();
        let (parent, last) = path.rsplit_once('/').unwrap();
        if parent.is_empty() {
            json[last] = edit["to"].clone();
            continue;
        }
        if json.pointer(parent).is_none() {
            let (grand, key) = parent.rsplit_once('/').unwrap();
            let holder = if grand.is_empty() {
                &mut json
            } else {
                json.pointer_mut(grand).unwrap()
            };
            holder[key] = serde_json::json!({});
        }
        let holder = json.pointer_mut(parent).unwrap();
        match (&edit["to"], holder) {
            (serde_json::Value::Null, serde_json::Value::Array(items)) => {
                items.remove(last.parse::<usize>().unwrap());
            }
            (value, serde_json::Value::Array(items)) => {
                items[last.parse::<usize>().unwrap()] = value.clone();
            }
            (value, holder) => holder[last] = value.clone(),
        }
    }
    json.to_string()
}

/// The one check of a refusal reason: the explanation names the reason, its first confirmed
/// change has the expected kind and value, the edits evaluated again by `ereje eval` remove the
/// reason, and the text in each language says what would change it (a snapshot).
fn check(name: &str, case: &str, rule: &str, kind: &str, value: &str) {
    assert!(
        asp_reasons(case).contains(&rule.to_string()),
        "{name}: {rule} does not hold in the case"
    );
    let explanation = explanation(case);
    let reason = explanation["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|reason| reason["rule"] == rule)
        .unwrap_or_else(|| panic!("{name}: no reason {rule} in {explanation:#}"));
    let change = &reason["changes"][0];
    assert_eq!(change["kind"], kind, "{name}: {change:#}");
    assert_eq!(
        change["value"]["value"].to_string(),
        value,
        "{name}: {change:#}"
    );
    assert_eq!(change["confirmed"], true, "{name}");
    let edited = apply_edits(case, change["edits"].as_array().unwrap());
    let after = asp_reasons(&edited);
    assert!(
        !after.contains(&rule.to_string()),
        "{name}: {rule} still holds after {edited}"
    );
    let mut texts = String::new();
    for lang in ["ru", "kk", "en"] {
        let text = ereje_on("explain", case, &["--lang", lang]);
        // The reason's block: its numbered line and the indented lines below it.
        let block: Vec<&str> = text
            .lines()
            .skip_while(|line| !line.contains(&format!(". {rule}:")))
            .enumerate()
            .take_while(|(position, line)| *position == 0 || line.starts_with("     "))
            .map(|(_, line)| line)
            .collect();
        assert!(!block.is_empty(), "{name} {lang}: {text}");
        texts.push_str(&format!("--- {lang}\n{}\n", block.join("\n")));
    }
    insta::assert_snapshot!(format!("change_{name}"), texts);
}

#[test]
fn every_refusal_reason_has_a_confirmed_change() {
    let cases: [(&str, String, &str, &str, &str); 9] = [
        // Per-capita income 114 536,89 ₸ against the line 32 360 ₸, 4 members: the counted
        // income must fall below 32 360 × 3 × 4 = 388 320 ₸, i.e. at most 388 319,99 ₸.
        (
            "income_test",
            example("c000002"),
            "ASP-INCOME-TEST",
            "at_most",
            "\"388319.99\"",
        ),
        // Equal is not below: 97 080 ₸ over the quarter for one member is exactly the line.
        (
            "income_equal",
            example("edge-income-equal"),
            "ASP-INCOME-TEST",
            "at_most",
            "\"97079.99\"",
        ),
        (
            "contract_ban",
            ban_case(),
            "ASP-CONTRACT-BAN",
            "at_least",
            "\"2025-02-28\"",
        ),
        (
            "contract_signed",
            example("c000005"),
            "ASP-CONTRACT-SIGNED",
            "set",
            "true",
        ),
        (
            "purchase",
            example("c000005"),
            "PILOT-PURCHASE",
            "at_most",
            "\"2024-05-07\"",
        ),
        // One member, 2026: PM 50 851 ₸ × 3 months = 152 553 ₸ of loans at most.
        (
            "loans",
            example("c000012"),
            "PILOT-LOANS",
            "at_most",
            "\"152553\"",
        ),
        // Four members, line 32 360 ₸: expenses at most 32 360 × 3 × 4 = 388 320 ₸.
        (
            "expenses",
            example("c000002"),
            "PILOT-EXPENSES",
            "at_most",
            "\"388320\"",
        ),
        (
            "deposits",
            example("c000002"),
            "PILOT-DEPOSITS",
            "at_most",
            "\"786400\"",
        ),
        (
            "deposits_edge",
            example("edge-deposit-over-cap"),
            "PILOT-DEPOSITS",
            "at_most",
            "\"786400\"",
        ),
    ];
    for (name, case, rule, kind, value) in cases {
        check(name, &case, rule, kind, value);
    }
}

/// A case's id and its explanation in ru, kk and en, each after a `=== lang` line.
fn explained_in_three_languages(case: &str) -> (String, String) {
    let json: serde_json::Value = serde_json::from_str(case).unwrap();
    let case_id = json["case_id"].as_str().unwrap().to_string();
    let mut texts = String::new();
    for lang in ["ru", "kk", "en"] {
        texts.push_str(&format!("=== {lang}\n"));
        texts.push_str(&ereje_on("explain", case, &["--lang", lang]));
    }
    (case_id, texts)
}

#[test]
fn example_explanations_in_three_languages() {
    for case in example_cases() {
        let (case_id, texts) = explained_in_three_languages(&case);
        insta::assert_snapshot!(format!("example_{case_id}"), texts);
    }
}

#[test]
fn explanations_are_byte_identical_across_runs() {
    let case = example("c000002");
    for format in ["text", "json", "html"] {
        let first = ereje_on("explain", &case, &["--format", format, "--full"]);
        let second = ereje_on("explain", &case, &["--format", format, "--full"]);
        assert_eq!(first, second, "{format}");
    }
}

#[test]
fn full_adds_the_whole_tree() {
    let case = example("c000000");
    let short = ereje_on("explain", &case, &["--lang", "en"]);
    let full = ereje_on("explain", &case, &["--lang", "en", "--full"]);
    assert!(short.contains("(whole tree: --full)"), "{short}");
    assert!(!short.contains("Whole computation tree"), "{short}");
    assert!(full.contains("Whole computation tree"), "{full}");
    assert!(full.len() > short.len());
}

#[test]
fn output_writes_the_explanation_to_a_file() {
    let case = example("c000000");
    let dir = temp_dir("output");
    let file = dir.join("explanation.html");
    let printed = ereje_on("explain", &case, &["--lang", "kk", "--format", "html"]);
    let quiet = ereje_on(
        "explain",
        &case,
        &[
            "--lang",
            "kk",
            "--format",
            "html",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(quiet, "", "nothing on stdout with -o");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), printed);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The explanation opens with the headline of the payment (its verdict and amount), then the
/// calculation, before any reason or list, in every language and format.
#[test]
fn the_explanation_opens_with_the_headline_and_the_calculation() {
    let case = example("c000000");
    for (lang, headline, calculation, reasons) in [
        (
            "ru",
            "назначена, итого в месяц: 146 737 ₸",
            "Расчёт",
            "Основания",
        ),
        (
            "kk",
            "тағайындалды, айына барлығы: 146 737 ₸",
            "Есептеу",
            "Негіздер",
        ),
        (
            "en",
            "granted, monthly total: 146 737 ₸",
            "Calculation",
            "Reasons",
        ),
    ] {
        for format in ["text", "html"] {
            let text = ereje_on("explain", &case, &["--lang", lang, "--format", format]);
            let at = |word: &str| {
                text.find(word)
                    .unwrap_or_else(|| panic!("{lang} {format}: no {word}"))
            };
            assert!(at(headline) < at(calculation), "{lang} {format}");
            assert!(at(calculation) < at(reasons), "{lang} {format}");
        }
        let json = explanation_in(&case, lang);
        let kinds: Vec<&str> = json["reading"]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|section| section["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["headline", "derivation", "part", "summary", "list"],
            "{lang}"
        );
    }
}

/// Whether a word may be written in Latin letters in a Kazakh or Russian explanation: a rule id
/// (`ASP-INCOME-TEST`), a member id (`m1`, `k3`), a case id or the policy's name.
fn latin_allowed(word: &str, case_id: &str) -> bool {
    let rule_id = word.contains('-')
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    let member_id = word.len() <= 3
        && word.starts_with(|c: char| c.is_ascii_lowercase())
        && word[1..].chars().all(|c| c.is_ascii_digit())
        && word.len() > 1;
    rule_id || member_id || word == case_id || word == "kz"
}

/// The Latin-script words of a text other than those allowed.
fn latin_words(text: &str, case_id: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|word| word.chars().any(|c| c.is_ascii_alphabetic()))
        .filter(|word| !latin_allowed(word, case_id))
        .map(String::from)
        .collect()
}

#[test]
fn latin_words_are_found() {
    assert_eq!(
        latin_words("АӘК: m1, ASP-AMOUNT, k3 (c1)", "c1"),
        Vec::<String>::new()
    );
    assert_eq!(
        latin_words("child_supplement_of: 5 898 ₸, /members/1/id", "c1"),
        ["child_supplement_of", "members", "id"]
    );
}

/// The part of an explanation a caseworker reads to the family (its sections before the
/// detailed reasons) holds no identifier: in Kazakh and Russian, no Latin-script word other
/// than rule ids, member ids, the case id and the policy's name, for every example.
#[test]
fn the_reading_in_kazakh_and_russian_names_everything_in_words() {
    for case in family_cases() {
        let parsed: serde_json::Value = serde_json::from_str(&case).unwrap();
        let case_id = parsed["case_id"].as_str().unwrap().to_string();
        for (lang, reasons) in [("kk", "\nНегіздер"), ("ru", "\nОснования")] {
            let text = ereje_on("explain", &case, &["--lang", lang]);
            let reading = text.split(reasons).next().unwrap();
            let words = latin_words(reading, &case_id);
            assert!(
                words.is_empty(),
                "{case_id} {lang}: {words:?} in\n{reading}"
            );
        }
    }
}

fn explanation_in(case: &str, lang: &str) -> serde_json::Value {
    serde_json::from_str(&ereje_on(
        "explain",
        case,
        &["--lang", lang, "--format", "json"],
    ))
    .unwrap()
}

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

/// The HTML page in a real browser: it renders to a non-blank screenshot, the tree's
/// `<details>` close and open (a script run in the page reports their states), and it prints
/// to a PDF.
#[test]
fn html_renders_opens_closes_and_prints_in_chromium() {
    let html = ereje_on(
        "explain",
        &example("c000002"),
        &["--format", "html", "--lang", "ru", "--full"],
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page loads nothing"
    );
    assert!(html.contains("<details"), "the tree is collapsible");
    if !Path::new(CHROMIUM).exists() {
        eprintln!("skipped: {CHROMIUM} is not installed (apt-get install -y chromium)");
        return;
    }
    let dir = temp_dir("chromium");
    let page = dir.join("explanation.html");
    std::fs::write(&page, &html).unwrap();
    let url = format!("file://{}", page.display());

    let pdf = dir.join("out.pdf");
    let output = chromium(
        &dir.join("profile-pdf"),
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
            &url,
        ],
    );
    let bytes = std::fs::read(&pdf)
        .unwrap_or_else(|_| panic!("no PDF: {}", String::from_utf8_lossy(&output.stderr)));
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    assert!(bytes.len() > 20_000, "PDF too small: {} bytes", bytes.len());

    let shot = dir.join("shot.png");
    let output = chromium(
        &dir.join("profile-shot"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600",
            &url,
        ],
    );
    let png = std::fs::read(&shot)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&output.stderr)));
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    // A blank 1200×1600 page compresses to a few kilobytes; text and tables do not.
    assert!(
        png.len() > 30_000,
        "screenshot looks blank: {} bytes",
        png.len()
    );

    // The tree closes and opens: a script in the page toggles every <details> with the page's
    // own controls and writes what it saw into the DOM, which Chromium dumps.
    let probe = html.replace(
        "</body>",
        "<script>(function(){var all=document.querySelectorAll('details');\
         document.getElementById('close-all').click();\
         var closed=Array.prototype.every.call(all,function(d){return !d.open;});\
         document.getElementById('open-all').click();\
         var opened=Array.prototype.every.call(all,function(d){return d.open;});\
         var first=all[0];first.open=false;var summary=first.querySelector('summary');summary.click();\
         var toggled=first.open;\
         document.body.setAttribute('data-probe','details='+all.length+' closed='+closed+' opened='+opened+' toggled='+toggled);\
         })();</script></body>",
    );
    let probe_page = dir.join("probe.html");
    std::fs::write(&probe_page, probe).unwrap();
    let output = chromium(
        &dir.join("profile-dom"),
        &[
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=2000",
            "--dump-dom",
            &format!("file://{}", probe_page.display()),
        ],
    );
    let dom = String::from_utf8_lossy(&output.stdout);
    let probe = dom
        .split("data-probe=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| {
            panic!(
                "no probe in the DOM: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert!(
        probe.contains("closed=true opened=true toggled=true"),
        "{probe}"
    );
    assert!(!probe.starts_with("details=0 "), "{probe}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A rule that does not hold is never shown with the message that says it holds: in every
/// example, each Bool rule the explanation lists with the value `false` carries its
/// `message not`, and no language's text holds its holding message.
#[test]
fn a_rule_that_does_not_hold_is_not_shown_with_its_holding_message() {
    let policy = ereje_compiler::Workspace::load(&policy_dir())
        .unwrap()
        .compile()
        .policy
        .unwrap();
    let mut checked = 0;
    for case in family_cases() {
        let json = explanation(&case);
        let texts: Vec<String> = ["ru", "kk", "en"]
            .iter()
            .map(|lang| ereje_on("explain", &case, &["--lang", lang]))
            .collect();
        for rule in json["rules"].as_array().unwrap() {
            if rule["value"] != serde_json::json!({"unit": "bool", "value": false}) {
                continue;
            }
            let id = rule["rule"].as_str().unwrap();
            let item = policy.items.iter().find(|item| item.name == id).unwrap();
            for (lang, text) in ["ru", "kk", "en"].iter().zip(&texts) {
                let holding = item.messages.get(lang).unwrap();
                let not_holding = item.messages_not.get(lang).unwrap();
                assert_eq!(rule["messages"][lang], not_holding, "{id} in {lang}");
                assert!(
                    !text.contains(holding),
                    "{id} shown as holding in {lang}:\n{text}"
                );
                assert!(
                    text.contains(not_holding),
                    "{id} without its words in {lang}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no example shows a rule that does not hold");
}

/// Runs `ereje eval` on `case` with `extra` and gives its stdout and stderr.
fn eval_with_stderr(case: &str, extra: &[&str]) -> (String, String) {
    let dir = temp_dir("eval-error");
    let path = dir.join("case.json");
    std::fs::write(&path, case).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ereje"))
        .arg("eval")
        .arg(policy_dir())
        .arg(&path)
        .args(extra)
        .output()
        .expect("the ereje binary runs");
    let _ = std::fs::remove_dir_all(&dir);
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A case error is told in the requested language, the field named by its label, ending with
/// the error's code and JSON path; the error line on stdout (the contract's object) is the same
/// with and without `--lang`; and the Russian and Kazakh sentences hold no Latin-script word but
/// the code, the path and the value the case gave.
#[test]
fn case_errors_are_told_in_the_requested_language() {
    let base: serde_json::Value = serde_json::from_str(&example_cases()[0]).unwrap();
    let edit = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut case = base.clone();
        change(&mut case);
        case.to_string()
    };
    let broken = [
        (
            "case.invalid_field",
            "/members/0/birth_date",
            edit(&|case| case["members"][0]["birth_date"] = "1990-13-01".into()),
        ),
        (
            "case.missing_field",
            "/application_date",
            edit(&|case| {
                case.as_object_mut().unwrap().remove("application_date");
            }),
        ),
        (
            "case.unknown_field",
            "/colour",
            edit(&|case| case["colour"] = "red".into()),
        ),
    ];
    for (code, path, case) in &broken {
        let (plain, _) = eval_with_stderr(case, &[]);
        let line: serde_json::Value = serde_json::from_str(plain.trim()).unwrap();
        assert_eq!(line["error"]["code"], *code, "{plain}");
        assert_eq!(line["error"]["path"], *path, "{plain}");
        for lang in ["ru", "kk", "en"] {
            let (out, err) = eval_with_stderr(case, &["--lang", lang]);
            assert_eq!(out, plain, "{code} {lang}: stdout changed with --lang");
            let sentence = err.trim();
            assert!(
                sentence.contains(code) && sentence.contains(path),
                "{code} {lang}: {sentence}"
            );
            if lang != "en" {
                // The case's own key is named as given when the policy has no label for it.
                let key = path.rsplit('/').next().unwrap_or_default();
                let mut words = sentence
                    .replace(code, "")
                    .replace(path, "")
                    .replace(&format!("«{key}»"), "");
                while let (Some(start), Some(end)) = (words.find('`'), words.rfind('`')) {
                    if end <= start {
                        break;
                    }
                    words.replace_range(start..=end, "");
                }
                assert!(
                    !words
                        .chars()
                        .any(|character| character.is_ascii_alphabetic()),
                    "{code} {lang}: a Latin-script word in {sentence:?}"
                );
            }
        }
    }
}

/// A legal source is shown in the page's language: in the English text, page and JSON no source
/// holds a Cyrillic letter; in Kazakh no source is the Russian one; the JSON keeps the policy's
/// own text under `source` (as decisions carry it) and its words under `source_words`.
#[test]
fn legal_sources_are_shown_in_the_language_of_the_page() {
    let cyrillic = |text: &str| text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
    for case_id in ["c000002", "c000005", "edge-consent-late"] {
        let case = example(case_id);
        let sources_in = |lang: &str, word: &str| -> Vec<String> {
            ereje_on("explain", &case, &["--lang", lang])
                .lines()
                .filter_map(|line| line.trim().strip_prefix(word).map(str::to_string))
                .collect()
        };
        let russian = sources_in("ru", "Источник: ");
        let kazakh = sources_in("kk", "Дереккөз: ");
        let english = sources_in("en", "Source: ");
        assert!(!russian.is_empty(), "{case_id}: no source shown");
        assert_eq!(russian.len(), kazakh.len(), "{case_id}");
        assert_eq!(russian.len(), english.len(), "{case_id}");
        for source in &english {
            assert!(!cyrillic(source), "{case_id} en: {source}");
        }
        for source in &kazakh {
            assert!(!russian.contains(source), "{case_id} kk: Russian {source}");
        }
        let html = ereje_on("explain", &case, &["--lang", "en", "--format", "html"]);
        for part in html.split("class=\"source\">").skip(1) {
            let shown = part.split('<').next().unwrap_or_default();
            assert!(!cyrillic(shown), "{case_id} html: {shown}");
        }
        let json = explanation_in(&case, "en");
        let mut shown = 0;
        for list in ["reasons", "rules"] {
            for entry in json[list].as_array().unwrap() {
                let Some(source) = entry["source"].as_str() else {
                    continue;
                };
                let words = entry["source_words"].as_str().unwrap();
                assert!(cyrillic(source), "{case_id}: the policy's own text changed");
                assert!(!cyrillic(words), "{case_id} json: {words}");
                shown += 1;
            }
        }
        assert!(shown > 0, "{case_id}: no source in the JSON");
    }
}

/// A case file of `cli/tests/cases`.
fn test_case(name: &str) -> String {
    std::fs::read_to_string(manifest_dir().join(format!("tests/cases/{name}.json"))).unwrap()
}

/// The section of a text explanation that starts with the line `title`, up to the blank line.
fn section_of(text: &str, title: &str) -> String {
    text.lines()
        .skip_while(|line| *line != title)
        .take_while(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The pilot not applied, for each consent failure (late, refused, no reply): the section names
/// the adult, the SMS date, the deadline with the days it skipped as weekend or holiday (from
/// the policy's calendar: 8 and 9 March 2025 are a weekend, 10 March the day off moved from
/// 8 March), and the answer or its absence; in ru, kk and en (a snapshot each), the Russian and
/// Kazakh without a Latin-script word.
#[test]
fn the_pilot_not_applied_says_who_when_and_by_what_deadline() {
    for (name, member_line) in [
        ("pilot-consent-late", "дата ответа: 12.03.2025"),
        ("pilot-consent-refused", "ответ на СМС: нет"),
        ("pilot-consent-no-reply", "согласие на пилот: —"),
    ] {
        let case = test_case(name);
        let mut texts = String::new();
        for (lang, title) in [
            ("ru", "Пилот по учёту расходов"),
            ("kk", "Шығыстарды есепке алу пилоты"),
            ("en", "Expense-accounting pilot"),
        ] {
            let section = section_of(&ereje_on("explain", &case, &["--lang", lang]), title);
            if lang != "en" {
                let words = latin_words(&section, name);
                assert!(words.is_empty(), "{name} {lang}: {words:?} in\n{section}");
            }
            texts.push_str(&format!("=== {lang}\n{section}\n"));
        }
        for expected in [
            "не дали согласия вовремя: m1",
            "11.03.2025 (пропущены нерабочие дни: 08.03.2025 — выходной, 09.03.2025 — выходной, 10.03.2025 — праздник)",
            "дата СМС: 07.03.2025",
            // The member by its id and its role's label from the policy (`Role.applicant`).
            "  m1, заявитель:",
            "  m1, өтініш беруші:",
            "  m1, applicant:",
            member_line,
        ] {
            assert!(texts.contains(expected), "{name}: no {expected:?} in\n{texts}");
        }
        insta::assert_snapshot!(format!("pilot_{name}"), texts);
    }
}

/// The per-capita income's calculation lists the incomes by member and month: those counted
/// with their amounts (which add up to the counted income), those left out with the field that
/// left them out (a month outside the period, an excluded kind).
#[test]
fn the_counted_income_is_listed_by_member_and_month() {
    let text = ereje_on("explain", &example("c000002"), &["--lang", "ru"]);
    let calculation = section_of(&text, "Расчёт");
    for line in [
        "      m1, заявитель: 04.2025, заработная плата: 274 729 ₸",
        "      m1, заявитель: 05.2025, заработная плата: 427 210,66 ₸",
        "      m1, заявитель: 06.2025, заработная плата: 327 317 ₸",
        "      m2, супруг(а): 05.2025, доход от самозанятости: 345 186 ₸",
        "      m1, заявитель: 05.2024 — не учтено по признаку «месяц»",
        "      m2, супруг(а): 04.2025, АСП — не учтено по признаку «вид дохода»",
    ] {
        assert!(
            calculation.lines().any(|shown| shown == line),
            "no {line:?} in\n{calculation}"
        );
    }
    // 274 729 + 427 210,66 + 327 317 + 345 186 = 1 374 442,66: the counted income above them.
    assert!(calculation.contains("учтённый доход за период: 1 374 442,66 ₸"));
    let incomes = calculation.find("m1, заявитель: 04.2025").unwrap();
    let size = calculation.find("число членов семьи: 4").unwrap();
    assert!(incomes < size, "the incomes belong to the per-capita step");
}

/// Both welfare overrides are shown with their reason: the overriding rule's message in the
/// page's language next to its id, and its source in that language, in ru, kk and en.
#[test]
fn a_welfare_override_is_shown_with_its_reason() {
    let policy = ereje_compiler::Workspace::load(&policy_dir())
        .unwrap()
        .compile()
        .policy
        .unwrap();
    let late = std::fs::read_to_string(policy_dir().join("examples/consent-late.json")).unwrap();
    for (case, rule) in [
        (example("edge-welfare-high"), "WELL-HIGH"),
        (late, "WELL-FOOD"),
    ] {
        let item = policy.items.iter().find(|item| item.name == rule).unwrap();
        for (lang, word) in [
            ("ru", "исключение"),
            ("kk", "ерекшелік"),
            ("en", "exception"),
        ] {
            let text = ereje_on("explain", &case, &["--lang", lang]);
            let said = item.messages.get(lang).unwrap();
            let line = format!("    {word}: {said} ({rule})");
            assert!(
                text.lines().any(|shown| shown == line),
                "{rule} {lang}: no {line:?} in\n{text}"
            );
            let source = policy
                .source_label(item.source.as_deref().unwrap(), lang)
                .or(item.source.as_deref())
                .unwrap();
            assert!(text.contains(source), "{rule} {lang}: no source {source}");
        }
    }
}

/// The reasons, the rules behind the outputs and the categories name everything in words too:
/// in Kazakh and Russian, from the reasons to the facts of the case (the dispute part, which
/// keeps the JSON paths), no Latin-script word other than rule ids and member ids, for every
/// example; no raw condition (`not any(…)`) and no JSON path.
#[test]
fn the_reasons_and_categories_in_kazakh_and_russian_name_everything_in_words() {
    for case in family_cases() {
        let parsed: serde_json::Value = serde_json::from_str(&case).unwrap();
        let case_id = parsed["case_id"].as_str().unwrap().to_string();
        for (lang, reasons, facts) in [
            ("kk", "\nНегіздер", "\nІс деректері"),
            ("ru", "\nОснования", "\nДанные дела"),
        ] {
            let text = ereje_on("explain", &case, &["--lang", lang]);
            let part = text
                .split(reasons)
                .nth(1)
                .and_then(|rest| rest.split(facts).next())
                .unwrap();
            let words = latin_words(part, &case_id);
            assert!(words.is_empty(), "{case_id} {lang}: {words:?} in\n{part}");
            assert!(
                !part.contains("/members/"),
                "{case_id} {lang}: a path in\n{part}"
            );
            assert!(
                !part.contains('…'),
                "{case_id} {lang}: a cut expression in\n{part}"
            );
            // A comparison names its right side after a word that governs it, so the side is
            // a label in quotes (which stays in the nominative) or the word for the limit,
            // never a bare label the grammar would have to decline (`выше черта бедности`).
            for why in part
                .lines()
                .filter(|line| line.contains("Почему:") || line.contains("Неліктен:"))
            {
                let governed = ["чем «", "и «", "бұл «"]
                    .iter()
                    .chain(
                        [
                            "чем предельное значение",
                            "и предельное значение",
                            "бұл шек ",
                        ]
                        .iter(),
                    )
                    .any(|form| why.contains(form));
                assert!(governed, "{case_id} {lang}: {why}");
                assert!(!why.contains("= ≈"), "{case_id} {lang}: {why}");
            }
        }
    }
}

/// The case files explained in ru, kk and en, a snapshot each (the examples have theirs).
#[test]
fn case_file_explanations_in_three_languages() {
    for case in case_files() {
        let (case_id, texts) = explained_in_three_languages(&case);
        insta::assert_snapshot!(format!("family_{case_id}"), texts);
    }
}

/// The snapshotted families cover every kind the brief describes: every refusal reason of ASP,
/// every welfare band, both overrides, the category-6 gate, the pilot applied, and the pilot
/// not applied for a late, a refused and a missing consent.
#[test]
fn the_snapshotted_families_cover_every_kind_of_family() {
    let policy = ereje_compiler::Workspace::load(&policy_dir())
        .unwrap()
        .compile()
        .policy
        .unwrap();
    let refusals: Vec<String> = policy
        .groups
        .iter()
        .find(|group| group.name == "ASP_REFUSALS")
        .unwrap()
        .members
        .iter()
        .map(|member| policy.items[member.item as usize].name.clone())
        .collect();
    let mut seen: Vec<String> = Vec::new();
    for case in family_cases() {
        let decision: serde_json::Value =
            serde_json::from_str(&ereje_on("eval", &case, &[])).unwrap();
        let outputs = &decision["outputs"];
        for reason in outputs["asp"]["reasons"].as_array().unwrap() {
            seen.push(reason.as_str().unwrap().to_string());
        }
        seen.push(format!("category {}", outputs["welfare"]["category"]));
        if let Some(rule) = outputs["welfare"]["override"].as_str() {
            seen.push(rule.to_string());
        }
        if outputs["local_support"]["housing_aid"]["available"] == false {
            seen.push("gate".to_string());
        }
        let pilot = &outputs["asp"]["pilot"];
        if pilot["applied"] == true {
            seen.push("pilot applied".to_string());
        }
        if pilot["applied"] == false {
            let case: serde_json::Value = serde_json::from_str(&case).unwrap();
            let sms = case["pilot"]["sms_sent_on"].as_str().unwrap_or_default();
            for member in case["members"].as_array().unwrap() {
                let consent = &member["consent"];
                let failure = match (consent["answer"].as_str(), consent["replied_on"].as_str()) {
                    (None, _) => "no reply",
                    (Some("no"), _) => "refused",
                    (Some(_), Some(replied)) if replied > sms => "late",
                    _ => continue,
                };
                seen.push(format!("consent {failure}"));
            }
        }
    }
    let mut wanted = refusals;
    wanted.extend((1..=6).map(|band| format!("category {band}")));
    wanted.extend(
        ["WELL-FOOD", "WELL-HIGH", "gate", "pilot applied"]
            .iter()
            .map(|kind| kind.to_string()),
    );
    wanted.extend(["late", "refused", "no reply"].map(|failure| format!("consent {failure}")));
    for kind in &wanted {
        assert!(seen.contains(kind), "no snapshotted family for {kind}");
    }
}

/// A member is named by its id and the label of its role as the case gives it (the first enum
/// field of the member's record, labelled by the policy); a member whose case gives no role is
/// named by its id alone, and another role gives another label.
#[test]
fn a_member_is_named_by_id_and_the_role_the_case_gives() {
    let case = test_case("pilot-consent-late");
    let mut parsed: serde_json::Value = serde_json::from_str(&case).unwrap();
    let member = &mut parsed["members"][0];
    member.as_object_mut().unwrap().remove("role");
    let text = ereje_on("explain", &parsed.to_string(), &["--lang", "ru"]);
    let section = section_of(&text, "Пилот по учёту расходов");
    assert!(section.lines().any(|line| line == "  m1:"), "{section}");
    parsed["members"][0]["role"] = serde_json::json!("parent");
    let text = ereje_on("explain", &parsed.to_string(), &["--lang", "kk"]);
    let section = section_of(&text, "Шығыстарды есепке алу пилоты");
    assert!(
        section.lines().any(|line| line == "  m1, ата-анасы:"),
        "{section}"
    );
    // An output keyed by members' ids (the child supplements) names them the same way, in its
    // own section and in the calculation's line, set apart by semicolons.
    let text = ereje_on("explain", &example("c000001"), &["--lang", "ru"]);
    let section = section_of(&text, "Надбавки на детей от 1 до 6 лет");
    assert!(
        section.lines().any(|line| line == "  m3, ребёнок: 5 898 ₸"),
        "{section}"
    );
    let text = ereje_on("explain", &example("c000014"), &["--lang", "ru"]);
    assert!(text.contains(
        "Надбавки на детей от 1 до 6 лет: m2, ребёнок: 5 898 ₸; m3, ребёнок: 5 898 ₸ (ASP-CHILD-SUPPLEMENT)"
    ));
}
