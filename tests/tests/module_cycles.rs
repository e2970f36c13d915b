#![allow(clippy::unwrap_used)]
//! No import cycles between the modules of a crate.
//!
//! A module is a file `src/NAME.rs` or a folder `src/NAME/` (its files are one module: a child
//! module may use its parent with `super::`). Module A uses module B when A's code (comments
//! aside) names `crate::B…`, or names `crate::X` where the crate root re-exports `X` from B
//! (`pub use B::X`). A cycle between modules is a strongly connected component of more than one
//! module in that graph; every crate of the workspace is walked.
//!
//! There is none today. A cycle that must stay for a while is written down in [`KNOWN_CYCLES`],
//! so that the test fails when it grows, when another appears, and when it is gone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose modules are walked, by their folder in the workspace.
const CRATES: &[&str] = &[
    "runtime",
    "compiler",
    "report",
    "cli",
    "server",
    "language-server",
    "policy-doc",
];

/// Cycles that exist and are known, by crate: each the sorted list of its modules.
const KNOWN_CYCLES: &[(&str, &[&str])] = &[];

#[test]
fn no_crate_has_an_import_cycle_beyond_the_known_ones() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for name in CRATES {
        let graph = module_graph(&root.join(name).join("src"));
        assert!(!graph.is_empty(), "{name}: no module found");
        for cycle in cycles(&graph) {
            found.push((name.to_string(), cycle));
        }
    }
    let known: Vec<(String, Vec<String>)> = KNOWN_CYCLES
        .iter()
        .map(|(name, modules)| {
            (
                name.to_string(),
                modules.iter().map(|module| module.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        found, known,
        "the import cycles between modules are not the known ones (left: found, right: known)"
    );
}

#[test]
fn the_cycle_finder_finds_a_cycle_and_nothing_else() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a", "d"]),
        ("d", vec![]),
        ("e", vec!["d"]),
    ]
    .into_iter()
    .map(|(from, to)| {
        (
            from.to_string(),
            to.into_iter().map(str::to_string).collect(),
        )
    })
    .collect();
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
}

/// The modules of a crate's `src` folder and, for each, the modules it uses.
fn module_graph(source: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files_of: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            files_of.entry(name).or_default().extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs")
            && name != "lib"
            && name != "main"
        {
            files_of.entry(name).or_default().push(path);
        }
    }
    let re_exported = re_exports(&source.join("lib.rs"));
    let mut graph = BTreeMap::new();
    for (module, files) in &files_of {
        let mut used = BTreeSet::new();
        for file in files {
            for name in crate_paths(&std::fs::read_to_string(file).unwrap()) {
                let target = if files_of.contains_key(&name) {
                    Some(name)
                } else {
                    re_exported.get(&name).cloned()
                };
                if let Some(target) = target.filter(|target| target != module) {
                    used.insert(target);
                }
            }
        }
        graph.insert(module.clone(), used);
    }
    graph
}

fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

/// The first name after each `crate::` of the code (`crate::eval::Prepared` gives `eval`;
/// `crate::{case, trace::Trace}` gives `case` and `trace`), comment lines skipped.
fn crate_paths(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                for part in group.split(',') {
                    names.extend(first_name(part.trim()));
                }
            } else {
                names.extend(first_name(rest));
            }
        }
    }
    names
}

fn first_name(text: &str) -> Option<String> {
    let name: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The names the crate root re-exports, each with the module it comes from
/// (`pub use eval::Scratch;`, `pub use decision::{Decision, PolicyRef};`).
fn re_exports(root: &Path) -> BTreeMap<String, String> {
    let mut re_exported = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(root) else {
        return re_exported;
    };
    for statement in text.split(';') {
        let Some(at) = statement.find("pub use ") else {
            continue;
        };
        let path = statement[at + "pub use ".len()..]
            .trim()
            .trim_start_matches("crate::");
        let Some((module, names)) = path.split_once("::") else {
            continue;
        };
        let names = names.trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.trim().rsplit("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                re_exported.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    re_exported
}

/// The strongly connected components of more than one module (Tarjan's algorithm), each sorted,
/// in the order of their first module.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, module: &'a str) {
            let number = self.index.len();
            self.index.insert(module, number);
            self.low.insert(module, number);
            self.stack.push(module);
            self.on_stack.insert(module);
            for used in self.graph.get(module).into_iter().flatten() {
                let used = used.as_str();
                if !self.graph.contains_key(used) {
                    continue;
                }
                if !self.index.contains_key(used) {
                    self.visit(used);
                    let low = self.low[module].min(self.low[used]);
                    self.low.insert(module, low);
                } else if self.on_stack.contains(used) {
                    let low = self.low[module].min(self.index[used]);
                    self.low.insert(module, low);
                }
            }
            if self.low[module] == self.index[module] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.push(member.to_string());
                    if member == module {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for module in graph.keys() {
        if !walk.index.contains_key(module.as_str()) {
            walk.visit(module);
        }
    }
    walk.found.sort();
    walk.found
}
