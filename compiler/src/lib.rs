//! Ereje compiler: policy text to checked IR.
//!
//! ```no_run
//! let workspace = ereje_compiler::Workspace::load(std::path::Path::new("policies/kz"))?;
//! let compilation = workspace.compile();
//! eprint!("{}", ereje_compiler::render_human(&compilation.reports));
//! if let Some(policy) = compilation.policy {
//!     let engine = ereje_runtime::Engine::new((*policy).clone())?;
//!     # let _ = engine;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The pipeline is a set of salsa queries (see `queries.rs`): an edited file re-checks only the
//! items it changes. Diagnostics are returned as data and rendered with miette.

pub mod ast;
mod check;
pub mod codes;
pub mod db;
pub mod diagnostic;
mod labels;
pub mod native;
pub mod native_build;
pub mod navigation;
pub mod parser;
pub mod queries;
mod render;
pub mod symbols;
pub mod syntax;
pub mod types;
pub mod versions;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use salsa::Setter;

pub use crate::codes::Code;
pub use crate::db::{Database, Manifest};
pub use crate::diagnostic::{Diagnostic, Severity};
pub use crate::render::{render_human, render_json, Report};
pub use crate::versions::{PolicyVersions, VersionSet, VersionSpec, VersionStatus};

/// The stack of the compiling thread: enough for the deepest nesting the parser accepts.
const COMPILER_STACK_BYTES: usize = 256 * 1024 * 1024;

/// A problem with the policy directory itself (before any policy text is read).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LoadError {
    #[error("cannot read `{path}`: {message}")]
    #[diagnostic(code(load::io))]
    Io { path: String, message: String },
    #[error("the manifest `{path}` is not valid: {message}")]
    #[diagnostic(
        code(load::manifest),
        help("a manifest has a [policy] table with name, version, publisher and modules")
    )]
    Manifest { path: String, message: String },
}

/// The result of compiling a policy set: the IR when there are no errors, and every diagnostic.
#[derive(Debug, Clone)]
pub struct Compilation {
    pub policy: Option<Arc<ereje_runtime::ir::Policy>>,
    pub reports: Vec<Report>,
}

impl Compilation {
    pub fn error_count(&self) -> usize {
        self.reports
            .iter()
            .filter(|r| r.diagnostic.severity == Severity::Error)
            .count()
    }

    pub fn warning_count(&self) -> usize {
        self.reports
            .iter()
            .filter(|r| r.diagnostic.severity == Severity::Warning)
            .count()
    }
}

/// A policy set loaded into a salsa database, ready to compile and to edit.
pub struct Workspace {
    db: Database,
    set: db::PolicySet,
    files: Vec<db::SourceFile>,
    directory: Option<PathBuf>,
}

impl Workspace {
    /// Reads `ereje.toml` and the module files it names from a policy directory. When the
    /// manifest declares versions, the files are those of the in-force version with the latest
    /// date (see [`versions`]); [`PolicyVersions`] reads any other.
    pub fn load(directory: &Path) -> Result<Workspace, LoadError> {
        let versions = PolicyVersions::load(directory)?;
        let version = versions
            .latest_in_force()
            .ok_or_else(|| LoadError::Manifest {
                path: directory.join("ereje.toml").display().to_string(),
                message: "no version is in force".to_string(),
            })?;
        versions.workspace(version)
    }

    /// A workspace from texts in memory (tests, tools).
    pub fn from_sources(manifest: Manifest, sources: Vec<(String, String)>) -> Workspace {
        Workspace::with_database(Database::default(), manifest, sources)
    }

    /// Like [`Workspace::from_sources`], with a database that records which queries run.
    pub fn with_execution_log(manifest: Manifest, sources: Vec<(String, String)>) -> Workspace {
        Workspace::with_database(Database::with_execution_log(), manifest, sources)
    }

    fn with_database(
        db: Database,
        manifest: Manifest,
        sources: Vec<(String, String)>,
    ) -> Workspace {
        let files: Vec<db::SourceFile> = sources
            .into_iter()
            .map(|(path, text)| db::SourceFile::new(&db, path, text))
            .collect();
        let set = db::PolicySet::new(&db, manifest, files.clone());
        Workspace {
            db,
            set,
            files,
            directory: None,
        }
    }

    /// The salsa database, for the queries of editors and tools (see [`navigation`]).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The policy set's salsa input.
    pub fn policy_set(&self) -> db::PolicySet {
        self.set
    }

    /// The module files' salsa inputs, in manifest order.
    pub fn source_files(&self) -> &[db::SourceFile] {
        &self.files
    }

    pub fn directory(&self) -> Option<&Path> {
        self.directory.as_deref()
    }

    pub fn manifest(&self) -> &Manifest {
        self.set.manifest(&self.db)
    }

    /// The text of a module file, by its manifest path.
    pub fn file_text(&self, path: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.path(&self.db) == path)
            .map(|f| f.text(&self.db).as_str())
    }

    /// Replaces a file's text; the next [`Workspace::compile`] re-checks what the edit touches.
    /// Returns false when no file has that path.
    pub fn set_file_text(&mut self, path: &str, text: String) -> bool {
        let Some(file) = self
            .files
            .iter()
            .find(|f| f.path(&self.db) == path)
            .copied()
        else {
            return false;
        };
        file.set_text(&mut self.db).to(text);
        true
    }

    pub fn compile(&self) -> Compilation {
        // The parser and checker recurse on the syntax tree: run them on a thread with a stack
        // large enough for the deepest text the parser accepts, whatever thread calls us.
        // A clone of the database is a handle on the same storage, dropped before we return.
        let database = self.db.clone();
        let set = self.set;
        let compiled = std::thread::Builder::new()
            .name("ereje-compile".into())
            .stack_size(COMPILER_STACK_BYTES)
            .spawn(move || queries::compile_policy(&database, set).clone())
            .ok()
            .and_then(|handle| handle.join().ok());
        let compiled =
            compiled.unwrap_or_else(|| queries::compile_policy(&self.db, self.set).clone());
        let reports = compiled
            .diagnostics
            .iter()
            .map(|placed| {
                let file = self.files.get(placed.file as usize).copied();
                let (path, text) = match file {
                    Some(file) => (file.path(&self.db).clone(), file.text(&self.db).clone()),
                    None => ("ereje.toml".to_string(), String::new()),
                };
                Report::new(path, Arc::new(text), placed.diagnostic.clone())
            })
            .collect();
        Compilation {
            policy: compiled.policy.clone(),
            reports,
        }
    }

    /// The queries run since the last call (only for workspaces made with an execution log).
    pub fn take_executions(&self) -> Vec<String> {
        self.db.take_executions()
    }
}

/// Compiles the policy set in a directory.
pub fn compile_dir(directory: &Path) -> Result<Compilation, LoadError> {
    Ok(Workspace::load(directory)?.compile())
}
