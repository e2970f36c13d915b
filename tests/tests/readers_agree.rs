#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The fast case reader (`runtime/src/case/fast.rs`) against the checked reader, on the kz
//! policies: for every case text the tests hold, both readers give the same typed case (record
//! paths included) or the same error (code, JSON path and message).
//!
//! The texts: every line of the shared contract examples, every `case_json` of the kz policy
//! tests (`policies/kz/tests/*.toml`, the bad-input tests of `asp_errors.toml` among them),
//! every input of the fuzz corpus (`fuzz/regressions/read_case/`), and broken copies of the
//! contract examples (cut short, and with a byte taken out or changed), so that errors found at
//! many places of a real case are compared too.

use std::path::{Path, PathBuf};

use ereje_runtime::Engine;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn kz_engine() -> Engine {
    let compilation = ereje_compiler::compile_dir(&repository().join("policies/kz")).unwrap();
    Engine::new((*compilation.policy.unwrap()).clone()).unwrap()
}

/// How many texts were compared, and how many of them each reader accepted.
#[derive(Default)]
struct Counts {
    compared: usize,
    accepted: usize,
}

/// Compares the two readers on `text`; `origin` names the text in a failure.
fn check(engine: &Engine, counts: &mut Counts, origin: &str, text: &str) {
    let fast = engine.read_case(text);
    let checked = engine.read_case_checked(text);
    assert_eq!(
        format!("{fast:?}"),
        format!("{checked:?}"),
        "the readers disagree on {origin}: {text}"
    );
    counts.compared += 1;
    counts.accepted += usize::from(checked.is_ok());
}

fn contract_cases() -> Vec<String> {
    let path = repository().join("../shared/contract/examples/cases.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The `case_json = '''…'''` texts of a policy test file.
fn policy_test_cases(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut cases = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("case_json = '''") {
        let after = &rest[start + "case_json = '''".len()..];
        let end = after.find("'''").unwrap();
        cases.push(after[..end].to_string());
        rest = &after[end..];
    }
    cases
}

#[test]
fn both_readers_agree_on_the_contract_examples() {
    let engine = kz_engine();
    let mut counts = Counts::default();
    for (number, line) in contract_cases().iter().enumerate() {
        check(&engine, &mut counts, &format!("example {number}"), line);
    }
    assert!(
        counts.compared >= 10,
        "too few examples: {}",
        counts.compared
    );
    assert!(counts.accepted > 0, "no example was read");
}

#[test]
fn both_readers_agree_on_every_policy_test_case() {
    let engine = kz_engine();
    let mut counts = Counts::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(repository().join("policies/kz/tests"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    for file in &files {
        for (number, case) in policy_test_cases(file).iter().enumerate() {
            let origin = format!("{} case {number}", file.display());
            check(&engine, &mut counts, &origin, case);
        }
    }
    assert!(counts.compared >= 100, "too few cases: {}", counts.compared);
    assert!(
        counts.accepted < counts.compared,
        "the bad-input tests should give errors"
    );
}

#[test]
fn both_readers_agree_on_the_fuzz_corpus() {
    let engine = kz_engine();
    let mut counts = Counts::default();
    let directory = repository().join("fuzz/regressions/read_case");
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.file_name().is_some_and(|name| name != ".gitkeep"))
        .collect();
    files.sort();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        check(&engine, &mut counts, &file.display().to_string(), &text);
    }
    assert_eq!(counts.compared, files.len());
}

#[test]
fn both_readers_agree_on_broken_copies_of_the_examples() {
    let engine = kz_engine();
    let mut counts = Counts::default();
    for (number, line) in contract_cases().iter().enumerate() {
        let bytes = line.as_bytes();
        // Every seventh position: the text cut there, the byte there taken out, and the byte
        // there changed into each of a few that break a different rule (a quote, a digit, a
        // letter, a control character).
        for position in (0..bytes.len()).step_by(7) {
            let mut variants = vec![bytes[..position].to_vec()];
            let mut removed = bytes.to_vec();
            removed.remove(position);
            variants.push(removed);
            for replacement in [b'"', b'7', b'x', b'\t', 0x01] {
                let mut changed = bytes.to_vec();
                changed[position] = replacement;
                variants.push(changed);
            }
            for variant in variants {
                let text = String::from_utf8_lossy(&variant);
                let origin = format!("example {number}, broken at byte {position}");
                check(&engine, &mut counts, &origin, &text);
            }
        }
    }
    assert!(counts.compared > 1000, "too few texts: {}", counts.compared);
    assert!(counts.accepted < counts.compared);
}
