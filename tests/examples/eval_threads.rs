//! Profiling aid: evaluates a population on two threads, sharing one engine or each with its own.
//! `cargo run --release -p ereje-tests --example eval_threads -- policies/kz cases.jsonl 10 shared|own`
#![allow(clippy::unwrap_used, clippy::expect_used)]
use ereje_runtime::{Engine, EvalOptions, Scratch};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let compilation = ereje_compiler::compile_dir(std::path::Path::new(&args[1])).unwrap();
    let policy = (*compilation.policy.clone().unwrap()).clone();
    let shared = Engine::new(policy.clone()).unwrap();
    let text = std::fs::read_to_string(&args[2]).unwrap();
    let rounds: usize = args[3].parse().unwrap();
    let own = args.get(4).map(String::as_str) == Some("own");
    let lines: Vec<&str> = text.lines().collect();
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for half in lines.chunks(lines.len().div_ceil(2)) {
            let engine = if own {
                Engine::new(policy.clone()).unwrap()
            } else {
                shared.clone()
            };
            scope.spawn(move || {
                let cases: Vec<_> = half
                    .iter()
                    .filter_map(|l| engine.read_case(l).ok())
                    .collect();
                let mut scratch = Scratch::default();
                for _ in 0..rounds {
                    for case in &cases {
                        std::hint::black_box(engine.evaluate_with(
                            case,
                            &EvalOptions::default(),
                            &mut scratch,
                        ))
                        .ok();
                    }
                }
            });
        }
    });
    let per = started.elapsed().as_secs_f64() * 1e6 / (rounds * lines.len()) as f64;
    println!(
        "{per:.3} us/case wall (2 threads, {})",
        if own { "own engines" } else { "shared engine" }
    );
}
