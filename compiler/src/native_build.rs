//! Native code written at build time: what the build script of a crate that links a policy's
//! native code calls, as build scripts call prost-build and tonic-build for protocol files.
//!
//! ```no_run
//! // The `main` of build.rs of a crate whose policy directory is `policy/`; its lib.rs then
//! // holds `include!(concat!(env!("OUT_DIR"), "/native.rs"));` and uses `generated::POLICIES`.
//! let policy_dir = std::path::Path::new("policy");
//! if let Err(message) = ereje_compiler::native_build::write_native_code(policy_dir) {
//!     eprintln!("{message}");
//!     std::process::exit(1);
//! }
//! ```
//!
//! Cargo runs the script again whenever the manifest or a module file of any version changes,
//! so the linked code is always the policy's as it is: nobody writes it by hand, and nothing
//! written by a build is checked in. A policy that does not compile gets no native code (a
//! build warning says why), so that `ereje check` still builds and reports its diagnostics;
//! engines then evaluate it without native code, as they do any policy of another shape.

use std::path::Path;

use crate::versions::PolicyVersions;

/// The file the build script writes in `OUT_DIR`: one module `generated` whose `POLICIES`
/// lists every version's native code.
pub const OUT_FILE: &str = "native.rs";

/// Writes the native code of every version of `policy_dir` into `$OUT_DIR/native.rs` and tells
/// cargo which files to watch (`cargo:rerun-if-changed`). Fails only when `OUT_DIR` is not set
/// (the function runs outside a build script) or the file cannot be written.
pub fn write_native_code(policy_dir: &Path) -> Result<(), String> {
    let out_dir = std::env::var_os("OUT_DIR")
        .ok_or("OUT_DIR is not set: write_native_code runs in a build script")?;
    for watched in watched_files(policy_dir) {
        println!("cargo:rerun-if-changed={}", watched.display());
    }
    let (module, warning) = native_module(policy_dir);
    if let Some(warning) = warning {
        println!("cargo:warning={warning}");
    }
    let path = Path::new(&out_dir).join(OUT_FILE);
    std::fs::write(&path, module)
        .map_err(|error| format!("cannot write `{}`: {error}", path.display()))
}

/// The text of [`OUT_FILE`] for `policy_dir`, and a warning when the policy does not compile
/// (the module then lists no code).
pub fn native_module(policy_dir: &Path) -> (String, Option<String>) {
    match crate::native::emit_rust_for_dir(
        policy_dir,
        "Written into OUT_DIR by the crate's build script from the policy files, at every build \
         that follows an edit of them.",
    ) {
        Ok(source) => (format!("pub mod generated {{\n{source}}}\n"), None),
        Err(message) => (
            "/// No native code: the policy does not compile.\npub mod generated {\n    \
             /// Every policy version of this module: none.\n    \
             pub static POLICIES: &[&ereje_runtime::native::NativePolicy] = &[];\n}\n"
                .to_string(),
            Some(format!(
                "no native code for `{}`: {message}",
                policy_dir.display()
            )),
        ),
    }
}

/// The manifest and every module file of every version; the directory itself when the
/// manifest cannot be read (cargo then watches every file under it).
fn watched_files(policy_dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(versions) = PolicyVersions::load(policy_dir) else {
        return vec![policy_dir.to_path_buf()];
    };
    let mut files = vec![policy_dir.join("ereje.toml")];
    for version in &versions.versions {
        for module in &version.modules {
            let path = policy_dir.join(module);
            if !files.contains(&path) {
                files.push(path);
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kz() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/kz")
    }

    #[test]
    fn a_policy_that_compiles_gets_every_versions_code_and_watches_every_module() {
        let (module, warning) = native_module(&kz());
        assert_eq!(warning, None);
        assert!(module.starts_with("pub mod generated {\n"));
        assert!(module.contains(
            "pub static POLICIES: &[&NativePolicy] = &[&v2025_1::POLICY, &v2025_2_draft::POLICY];"
        ));
        let watched = watched_files(&kz());
        for file in [
            "ereje.toml",
            "welfare.ereje",
            "pilot.ereje",
            "pilot_draft_2025_09.ereje",
        ] {
            assert!(watched.contains(&kz().join(file)), "{file} is not watched");
        }
    }

    #[test]
    fn a_policy_that_does_not_compile_gets_no_code_and_a_warning() {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/diagnostics");
        let (module, warning) = native_module(&directory);
        assert!(module.contains("= &[];"), "{module}");
        assert!(warning.is_some_and(|warning| warning.contains("no native code")));
        assert_eq!(watched_files(&directory), vec![directory]);
    }
}
