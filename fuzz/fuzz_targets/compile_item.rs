//! Any text as items after the kz policy files: reaches the checker with real types and names
//! in scope. Compiling gives diagnostics or a policy, never a panic; a policy that compiles is
//! evaluated on an example case, which gives a decision or an error line, never a panic, and the
//! compiled evaluator must decide it as the interpreter does (the appended text may declare
//! outputs, so any expression the language allows gets compared).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn kz_sources() -> &'static (ereje_compiler::Manifest, Vec<(String, String)>) {
    static SOURCES: OnceLock<(ereje_compiler::Manifest, Vec<(String, String)>)> = OnceLock::new();
    SOURCES.get_or_init(|| {
        let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies/kz");
        let workspace = ereje_compiler::Workspace::load(&directory).expect("policies/kz loads");
        let manifest = workspace.manifest().clone();
        let sources = manifest
            .modules
            .iter()
            .map(|path| {
                (
                    path.clone(),
                    workspace.file_text(path).unwrap_or_default().to_string(),
                )
            })
            .collect();
        (manifest, sources)
    })
}

const CASE: &str = r#"{"case_id": "f1", "application_date": "2025-03-12", "region": "zhetysu", "members": [{"id": "m1", "role": "applicant", "birth_date": "1990-01-01", "sex": "female", "employment": "employed", "incomes": [{"kind": "salary", "month": "2024-11", "amount": "90000"}]}, {"id": "m2", "role": "child", "birth_date": "2021-05-05", "sex": "male"}], "social_contract": {"signed": true}}"#;

fuzz_target!(|data: &[u8]| {
    let (manifest, sources) = kz_sources();
    let mut sources = sources.clone();
    if let Some((_, last)) = sources.last_mut() {
        last.push('\n');
        last.push_str(&String::from_utf8_lossy(data));
    }
    let workspace = ereje_compiler::Workspace::from_sources(manifest.clone(), sources);
    let compilation = workspace.compile();
    let _ = ereje_compiler::render_human(&compilation.reports);
    if let Some(policy) = compilation.policy {
        if let Ok(engine) = ereje_runtime::Engine::new((*policy).clone()) {
            let options = ereje_runtime::EvalOptions {
                as_of: None,
                trace: true,
            };
            let _ = engine.evaluate_json(CASE, &options).to_json_line();
            if let Ok(case) = engine.read_case(CASE) {
                let (compiled, interpreted) =
                    engine.evaluator_outcomes(&case, &ereje_runtime::EvalOptions::default());
                assert_eq!(
                    compiled, interpreted,
                    "the compiled evaluator and the interpreter disagree"
                );
            }
        }
    }
});
