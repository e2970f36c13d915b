//! Any bytes as a case for the bundled kz policies: a decision or one error line, never a panic.
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
        ereje_runtime::Engine::new((*policy).clone()).expect("the IR loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let options = ereje_runtime::EvalOptions { as_of: None, trace: true };
    let line = engine().evaluate_json(&text, &options).to_json_line();
    assert!(!line.contains('\n'), "an output line holds no newline");
});
