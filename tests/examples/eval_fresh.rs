//! Profiling aid: evaluation of each case right after it is read, four at a time, as
//! `ereje bench` measures it. `eval_fresh <policy-dir> <cases.jsonl> <rounds> [trace]`;
//! `NO_NATIVE=1` for the closure evaluator. Each decision is dropped in `drop_decision`, so
//! that callgrind can count evaluation and drop apart (`--toggle-collect='*Engine*evaluate_with*'`,
//! `--toggle-collect='*drop_decision*'`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use ereje_runtime::{Case, Engine, EvalOptions, Scratch};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let compilation = ereje_compiler::compile_dir(std::path::Path::new(&args[1])).unwrap();
    let engine = Engine::new((*compilation.policy.clone().unwrap()).clone()).unwrap();
    let engine = if std::env::var("NO_NATIVE").is_err() {
        engine.with_native_code(ereje_kz_native::POLICIES)
    } else {
        engine
    };
    let text = std::fs::read_to_string(&args[2]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let rounds: usize = args[3].parse().unwrap();
    let options = EvalOptions {
        trace: args.len() > 4,
        ..EvalOptions::default()
    };
    let mut scratch = Scratch::default();
    let mut total = std::time::Duration::ZERO;
    let mut count = 0;
    let mut block: Vec<Case> = Vec::new();
    for _ in 0..rounds {
        for chunk in lines.chunks(4) {
            block.clear();
            block.extend(chunk.iter().filter_map(|l| engine.read_case(l).ok()));
            count += block.len();
            let started = std::time::Instant::now();
            for case in &block {
                drop_decision(std::hint::black_box(engine.evaluate_with(
                    case,
                    &options,
                    &mut scratch,
                )));
            }
            total += started.elapsed();
        }
    }
    println!("{:.3} us/case", total.as_secs_f64() * 1e6 / count as f64);
}

/// Drops a decision as soon as it is made, as `ereje bench` does, out of line so that a
/// profile counts it apart.
#[inline(never)]
fn drop_decision(decision: Result<ereje_runtime::Decision, ereje_runtime::CaseError>) {
    drop(std::hint::black_box(decision));
}
