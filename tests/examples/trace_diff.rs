//! Development aid: where native code's trace first differs from the interpreter's.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use ereje_runtime::{Engine, EvalOptions, Scratch};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    ereje_kz_native::register();
    for policy in ereje_native_fixture::POLICIES {
        ereje_runtime::native::register(policy);
    }
    let compilation = ereje_compiler::compile_dir(std::path::Path::new(&args[1])).unwrap();
    let engine = Engine::new((*compilation.policy.clone().unwrap()).clone()).unwrap();
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
