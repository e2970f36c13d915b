//! Writes the native code of a policy directory, as `ereje compile --emit rust` does, without
//! the `ereje` binary: the binary links the bundled policies' native code, so after a change of
//! `ereje_runtime::native` that code may not compile until it is written again.
//!
//! `cargo run -p ereje-compiler --example emit_rust -- policies/kz policies/kz/native/src/generated.rs`
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [directory, output] = args.as_slice() else {
        eprintln!("usage: emit_rust <policy-dir> <output.rs>");
        return ExitCode::from(2);
    };
    match ereje_compiler::native::emit_rust_for_dir(std::path::Path::new(directory)) {
        Ok(source) => match std::fs::write(output, source) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("cannot write `{output}`: {error}");
                ExitCode::FAILURE
            }
        },
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
