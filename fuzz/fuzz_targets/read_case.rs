//! Any bytes as a case for the bundled kz policies: a decision or one error line, never a panic.
//! Differential as well: the fast case reader must read what the checked reader reads (or give
//! up), and native code (with and without a trace) and the closure evaluator must each decide
//! what the interpreter decides.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn engine() -> &'static ereje_runtime::Engine {
    static ENGINE: OnceLock<ereje_runtime::Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies/kz");
        let compilation = ereje_compiler::compile_dir(&directory).expect("policies/kz loads");
        let policy = compilation.policy.expect("policies/kz compiles");
        ereje_runtime::Engine::new((*policy).clone())
            .expect("the IR loads")
            .with_native_code(ereje_kz_native::POLICIES)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let engine = engine();
    let options = ereje_runtime::EvalOptions {
        as_of: None,
        trace: true,
    };
    let line = engine.evaluate_json(&text, &options).to_json_line();
    assert!(!line.contains('\n'), "an output line holds no newline");
    let fast = engine.read_case(&text);
    let checked = engine.read_case_checked(&text);
    assert_eq!(
        format!("{fast:?}"),
        format!("{checked:?}"),
        "the fast and the checked case readers disagree"
    );
    if let Ok(case) = fast {
        let plain = ereje_runtime::EvalOptions::default();
        let (native, interpreted) = engine.evaluator_outcomes(&case, &plain);
        assert_eq!(native, interpreted, "native code and the interpreter disagree");
        let (native, interpreted) = engine.evaluator_outcomes(&case, &options);
        assert_eq!(
            native, interpreted,
            "native code and the interpreter disagree on the trace"
        );
        let (compiled, interpreted) = closures().evaluator_outcomes(&case, &plain);
        assert_eq!(
            compiled, interpreted,
            "the compiled evaluator and the interpreter disagree"
        );
    }
});

/// The same policy without native code: the closure evaluator.
fn closures() -> &'static ereje_runtime::Engine {
    static ENGINE: OnceLock<ereje_runtime::Engine> = OnceLock::new();
    ENGINE.get_or_init(|| engine().clone().without_native())
}
