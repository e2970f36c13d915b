//! Profiling aid: writes traced decisions of a population, made by each evaluator.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use ereje_runtime::{Engine, EvalOptions, Scratch};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let compilation = ereje_compiler::compile_dir(std::path::Path::new(&args[1])).unwrap();
    let engine = Engine::new((*compilation.policy.clone().unwrap()).clone())
        .unwrap()
        .with_native_code(ereje_kz_native::POLICIES);
    let text = std::fs::read_to_string(&args[2]).unwrap();
    let options = EvalOptions {
        trace: true,
        ..EvalOptions::default()
    };
    let mut scratch = Scratch::default();
    let cases: Vec<_> = text
        .lines()
        .filter_map(|l| engine.read_case(l).ok())
        .collect();
    {
        let (mut nodes, mut edges, mut args) = (0usize, 0usize, 0usize);
        let mut kinds = std::collections::BTreeMap::new();
        for c in &cases {
            let d = engine.evaluate_with(c, &options, &mut scratch).unwrap();
            let t = d.trace.as_ref().unwrap();
            nodes += t.nodes.len();
            for n in &t.nodes {
                edges += t.inputs(n).len();
                args += t.args(n).len();
                *kinds.entry(n.kind.as_str()).or_insert(0usize) += 1;
            }
        }
        let k = cases.len();
        println!(
            "per case: nodes {} edges {} args {} kinds {:?}",
            nodes / k,
            edges / k,
            args / k,
            kinds.iter().map(|(a, b)| (a, b / k)).collect::<Vec<_>>()
        );
    }
    for interpreted in [false, true] {
        let decisions: Vec<_> = cases
            .iter()
            .map(|c| {
                if interpreted {
                    engine
                        .evaluate_interpreted(c, &options, &mut scratch)
                        .unwrap()
                } else {
                    engine.evaluate_with(c, &options, &mut scratch).unwrap()
                }
            })
            .collect();
        let mut buffer = String::new();
        let started = std::time::Instant::now();
        for _ in 0..5 {
            for d in &decisions {
                buffer.clear();
                d.write_json(&mut buffer);
                std::hint::black_box(&buffer);
            }
        }
        println!(
            "interpreted={interpreted}: {:.2} us/decision",
            started.elapsed().as_secs_f64() * 1e6 / (5 * decisions.len()) as f64
        );
    }
}
// (sizes)
