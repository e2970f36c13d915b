//! Development aid: compares native code with the interpreter on a population.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use ereje_runtime::{Engine, EvalOptions, Scratch};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let compilation = ereje_compiler::compile_dir(std::path::Path::new(&args[1])).unwrap();
    let policy = (*compilation.policy.clone().unwrap()).clone();
    let engine = Engine::new(policy)
        .unwrap()
        .with_native_code(ereje_kz_native::POLICIES);
    println!("native: {:?}", engine.native_code().map(|n| n.version));
    let text = std::fs::read_to_string(&args[2]).unwrap();
    let trace = args.len() > 3;
    let options = EvalOptions {
        trace,
        ..EvalOptions::default()
    };
    let (mut same, mut differ, mut native) = (0, 0, 0);
    for line in text.lines() {
        let Ok(case) = engine.read_case(line) else {
            continue;
        };
        let (a, b) = engine.evaluator_outcomes(&case, &options);
        if engine.native_evaluates(&case, &options) {
            native += 1;
        }
        if a == b {
            same += 1
        } else {
            differ += 1;
            if differ <= 2 {
                println!("DIFF {line}\n native: {a}\n interp: {b}");
            }
        }
    }
    let _ = Scratch::default();
    println!("same {same} differ {differ} native-alone {native}");
}
