#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `ereje doc`, run as a user would run it: the site is written, a policy with errors or a
//! missing directory is refused with the usual exit codes. What the pages hold is tested in
//! `policy-doc/tests/site.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ereje(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args(args)
        .current_dir(repository())
        .output()
        .expect("the ereje binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ereje-cli-doc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn doc_writes_the_site_of_the_bundled_policies() {
    let out = temp_dir("kz");
    let output = ereje(&[
        "doc",
        "policies/kz",
        "-o",
        out.to_str().unwrap(),
        "--lang",
        "kk",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("wrote ") && stderr.contains(" pages to "),
        "{stderr}"
    );
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        index.contains("<html lang=\"kk\">"),
        "the page language is kk"
    );
    assert!(out.join("rule-ASP-INCOME-TEST.html").exists());
    assert!(out.join("parameter-MRP.html").exists());
    assert!(out.join("versions.html").exists());
    let _ = std::fs::remove_dir_all(&out);
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

#[test]
fn doc_refuses_a_policy_with_errors_and_a_missing_directory() {
    let policy = temp_dir("broken");
    std::fs::create_dir_all(&policy).unwrap();
    write(
        &policy,
        "ereje.toml",
        "[policy]\nname = \"t\"\nversion = \"1\"\npublisher = \"test\"\nmodules = [\"a.ereje\"]\n",
    );
    write(
        &policy,
        "a.ereje",
        "module t.a\n  version \"1\"\n  in force from 2025-01-01\n\ndef total: Integer = totl + 1\n",
    );
    let out = temp_dir("broken-out");
    let output = ereje(&["doc", policy.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("totl"),
        "the diagnostics are printed: {stderr}"
    );
    assert!(!out.exists(), "nothing is written for a policy with errors");

    let output = ereje(&["doc", "no/such/policy", "-o", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&policy);
}
