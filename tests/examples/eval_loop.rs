//! Profiling aid: evaluates a JSON Lines population many times without a trace.
//! `cargo run --release -p ereje-tests --example eval_loop -- policies/kz cases.jsonl 20 [trace]`
#![allow(clippy::unwrap_used, clippy::expect_used)]
use ereje_runtime::{Engine, EvalOptions, Scratch};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let compilation = ereje_compiler::compile_dir(std::path::Path::new(&args[1])).unwrap();
    let mut policy = (*compilation.policy.clone().unwrap()).clone();
    if let Ok(only) = std::env::var("OUTPUT") {
        policy.outputs.retain(|output| output.name == only);
    }
    let engine = Engine::new(policy).unwrap();
    let engine = if std::env::var("NO_NATIVE").is_err() {
        engine.with_native_code(ereje_kz_native::POLICIES)
    } else {
        engine
    };
    let text = std::fs::read_to_string(&args[2]).unwrap();
    let cases: Vec<_> = text
        .lines()
        .filter_map(|l| engine.read_case(l).ok())
        .collect();
    let rounds: usize = args[3].parse().unwrap();
    let options = EvalOptions {
        trace: args.len() > 4,
        ..EvalOptions::default()
    };
    let mut scratch = Scratch::default();
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        for case in &cases {
            if std::env::var("INTERP").is_ok() {
                std::hint::black_box(engine.evaluate_interpreted(case, &options, &mut scratch))
                    .ok();
            } else {
                std::hint::black_box(engine.evaluate_with(case, &options, &mut scratch)).ok();
            }
        }
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / (rounds * cases.len()) as f64;
    println!("{per:.3} us/case");
}
