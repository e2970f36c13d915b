#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Replays every input saved under `fuzz/regressions/<target>/` through the code its fuzz target
//! runs, so that a crash found by fuzzing stays fixed. The inputs are bytes as libFuzzer saved
//! them; the property is the target's: no panic, and a well-formed result.

use std::path::PathBuf;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let directory = repository().join("fuzz/regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|path| path.is_file() && path.file_name().is_some_and(|n| n != ".gitkeep"));
    files.sort();
    files
        .into_iter()
        .map(|path| (path.clone(), std::fs::read(&path).unwrap()))
        .collect()
}

fn compile(manifest_modules: Vec<(String, String)>) -> ereje_compiler::Compilation {
    let manifest = ereje_compiler::Manifest {
        name: "fuzz".into(),
        version: "1".into(),
        publisher: "fuzz".into(),
        modules: manifest_modules
            .iter()
            .map(|(path, _)| path.clone())
            .collect(),
    };
    ereje_compiler::Workspace::from_sources(manifest, manifest_modules).compile()
}

fn kz_engine() -> ereje_runtime::Engine {
    let compilation = ereje_compiler::compile_dir(&repository().join("policies/kz")).unwrap();
    ereje_runtime::Engine::new((*compilation.policy.unwrap()).clone()).unwrap()
}

#[test]
fn saved_policy_texts_compile_without_panicking() {
    for (path, bytes) in inputs("compile_text") {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let compilation = compile(vec![("fuzz.ereje".into(), text)]);
        let _ = ereje_compiler::render_human(&compilation.reports);
        assert!(
            compilation.policy.is_some() || compilation.error_count() > 0,
            "{}: no policy and no error",
            path.display()
        );
    }
}

#[test]
fn saved_items_compile_with_the_kz_policies_without_panicking() {
    let workspace = ereje_compiler::Workspace::load(&repository().join("policies/kz")).unwrap();
    let manifest = workspace.manifest().clone();
    for (path, bytes) in inputs("compile_item") {
        let mut sources: Vec<(String, String)> = manifest
            .modules
            .iter()
            .map(|module| {
                (
                    module.clone(),
                    workspace.file_text(module).unwrap().to_string(),
                )
            })
            .collect();
        if let Some((_, last)) = sources.last_mut() {
            last.push('\n');
            last.push_str(&String::from_utf8_lossy(&bytes));
        }
        let compilation = compile(sources);
        assert!(
            compilation.policy.is_some() || compilation.error_count() > 0,
            "{}",
            path.display()
        );
    }
}

#[test]
fn saved_cases_give_one_line_each() {
    let engine = kz_engine();
    let options = ereje_runtime::EvalOptions {
        as_of: None,
        trace: true,
    };
    // The same policy with native code, as the target compares it.
    let native = ereje_runtime::Engine::new(engine.policy().clone())
        .unwrap()
        .with_native_code(ereje_kz_native::POLICIES);
    assert!(native.native_code().is_some());
    for (path, bytes) in inputs("read_case") {
        let line = engine
            .evaluate_json(&String::from_utf8_lossy(&bytes), &options)
            .to_json_line();
        assert!(!line.contains('\n'), "{}", path.display());
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(
            value.get("outputs").is_some() || value.get("error").is_some(),
            "{}",
            path.display()
        );
        // The target's differential properties: both case readers, both evaluators.
        let text = String::from_utf8_lossy(&bytes);
        let fast = engine.read_case(&text);
        let checked = engine.read_case_checked(&text);
        assert_eq!(
            format!("{fast:?}"),
            format!("{checked:?}"),
            "{}",
            path.display()
        );
        if let Ok(case) = fast {
            let plain = ereje_runtime::EvalOptions::default();
            let (compiled, interpreted) = engine.evaluator_outcomes(&case, &plain);
            assert_eq!(compiled, interpreted, "{}", path.display());
            // And native code, with and without a trace.
            for options in [&plain, &options] {
                let (natively, interpreted) = native.evaluator_outcomes(&case, options);
                assert_eq!(natively, interpreted, "{}", path.display());
            }
        }
    }
}
