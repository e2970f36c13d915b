//! Writes the native code of the kz policy set (`policies/kz`) into `OUT_DIR` at every build
//! whose policy files changed (see `ereje_compiler::native_build`).

fn main() {
    let policy_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if let Err(message) = ereje_compiler::native_build::write_native_code(&policy_dir) {
        eprintln!("{message}");
        std::process::exit(1);
    }
}
