//! Development aid: where native code's trace first differs from the interpreter's.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use ereje_runtime::{Engine, EvalOptions, Scratch};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let compilation = ereje_compiler::compile_dir(std::path::Path::new(&args[1])).unwrap();
    let code: Vec<_> = ereje_kz_native::POLICIES
        .iter()
        .chain(ereje_native_fixture::POLICIES)
        .copied()
        .collect();
    let engine = Engine::new((*compilation.policy.clone().unwrap()).clone())
        .unwrap()
        .with_native_code(&code);
    let text = std::fs::read_to_string(&args[2]).unwrap();
    let case = engine.read_case(text.trim()).unwrap();
    let options = EvalOptions {
        trace: true,
        ..EvalOptions::default()
    };
    let native = engine.evaluate(&case, &options).unwrap();
    let interpreted = engine
        .evaluate_interpreted(&case, &options, &mut Scratch::default())
        .unwrap();
    let (a, b) = (native.trace.unwrap(), interpreted.trace.unwrap());
    println!("nodes {} vs {}", a.nodes.len(), b.nodes.len());
    for (i, (x, y)) in a.nodes.iter().zip(&b.nodes).enumerate() {
        let (dx, dy) = (
            format!("{x:?} {:?} {:?}", a.inputs(x), a.args(x)),
            format!("{y:?} {:?} {:?}", b.inputs(y), b.args(y)),
        );
        if dx != dy {
            println!("node {i}\n native {dx}\n interp {dy}");
            break;
        }
    }
}
