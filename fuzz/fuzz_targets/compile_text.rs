//! Any text as a whole policy file: compiling gives diagnostics or a policy, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let manifest = ereje_compiler::Manifest {
        name: "fuzz".into(),
        version: "1".into(),
        publisher: "fuzz".into(),
        modules: vec!["fuzz.ereje".into()],
    };
    let workspace =
        ereje_compiler::Workspace::from_sources(manifest, vec![("fuzz.ereje".into(), text)]);
    let compilation = workspace.compile();
    let _ = ereje_compiler::render_human(&compilation.reports);
    let _ = ereje_compiler::render_json(&compilation.reports);
});
