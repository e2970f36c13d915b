//! Profiling aid: reads a JSON Lines population many times.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use ereje_runtime::Engine;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let compilation = ereje_compiler::compile_dir(std::path::Path::new(&args[1])).unwrap();
    let engine = Engine::new((*compilation.policy.clone().unwrap()).clone()).unwrap();
    let text = std::fs::read_to_string(&args[2]).unwrap();
    let rounds: usize = args[3].parse().unwrap();
    let started = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..rounds {
        for line in text.lines() {
            std::hint::black_box(engine.read_case(line)).ok();
            n += 1;
        }
    }
    println!(
        "{:.3} us/case",
        started.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
