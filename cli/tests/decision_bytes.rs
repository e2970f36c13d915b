//! The bytes of `ereje batch`'s output, pinned: the decision lines of the contract examples and
//! of a generated population, without and with their traces, at one and two threads, are
//! digested and the digests kept in a snapshot. A change to the case reader, the evaluators, the
//! decision or trace writer or the batch pipeline that moves a single output byte fails here;
//! a change meant to alter the output updates the snapshot (`cargo insta review`) and says why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::io::Cursor;
use std::path::PathBuf;

use ereje_cli::batch::{run_batch, BatchOptions};
use ereje_cli::generate;
use ereje_runtime::versions::VersionSet;
use ereje_runtime::EvalOptions;
use sha2::{Digest, Sha256};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kz() -> VersionSet {
    let compilation = ereje_compiler::compile_dir(&manifest_dir().join("../policies/kz")).unwrap();
    let policy = (*compilation.policy.unwrap()).clone();
    VersionSet::single(ereje_cli::engine_of(policy).unwrap())
}

/// The batch output of `input`, and its digest line for the snapshot.
fn digest(engine: &VersionSet, input: &str, threads: usize, trace: bool) -> (Vec<u8>, String) {
    let eval = EvalOptions {
        trace,
        ..EvalOptions::default()
    };
    let options = BatchOptions::new(threads, eval);
    let mut output = Vec::new();
    let summary = run_batch(engine, Cursor::new(input.as_bytes()), &mut output, &options).unwrap();
    let hash = Sha256::digest(&output);
    let hex = hash.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    });
    let line = format!(
        "{} lines, {} bytes, sha256 {hex}",
        summary.cases,
        output.len()
    );
    (output, line)
}

/// Digests the output of `input`, plain and traced, checking that two threads write the same
/// bytes as one.
fn check(engine: &VersionSet, name: &str, input: &str, report: &mut String) {
    for trace in [false, true] {
        let (one, line) = digest(engine, input, 1, trace);
        let (two, _) = digest(engine, input, 2, trace);
        assert!(one == two, "{name}: two threads wrote other bytes than one");
        let what = if trace { "traced" } else { "plain" };
        let _ = writeln!(report, "{name}, {what}: {line}");
    }
}

#[test]
fn batch_output_bytes_stay_the_same() {
    let engine = kz();
    let mut report = String::new();
    let examples =
        std::fs::read_to_string(manifest_dir().join("../../shared/contract/examples/cases.jsonl"))
            .unwrap();
    check(&engine, "contract examples", &examples, &mut report);
    let mut population = String::new();
    let bundled = generate::Population::bundled().unwrap();
    generate::write_population_of(bundled, &mut population, 1, 300);
    check(
        &engine,
        "300 generated cases (seed 1)",
        &population,
        &mut report,
    );
    insta::assert_snapshot!(report);
}
