//! The `ereje` binary: everything it does is in the library (`lib.rs`).

fn main() -> std::process::ExitCode {
    ereje_cli::run()
}
