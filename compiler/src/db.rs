//! The salsa database and the inputs of a compilation.
//!
//! Inputs are the manifest and the text of each policy file. Every derived fact is a tracked
//! query (see `queries.rs`): an edit re-runs only the queries whose inputs changed, and a query
//! whose result is equal to the previous one stops the change from spreading further.

use std::sync::{Arc, Mutex};

/// The manifest (`ereje.toml`) of a policy set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub publisher: String,
    /// Policy files relative to the manifest, in the order their items are numbered.
    pub modules: Vec<String>,
}

#[salsa::input(debug)]
pub struct SourceFile {
    /// The path relative to the policy directory, as the manifest names it.
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub text: String,
}

#[salsa::input(debug)]
pub struct PolicySet {
    #[returns(ref)]
    pub manifest: Manifest,
    #[returns(ref)]
    pub files: Vec<SourceFile>,
}

/// An item of a file, named by its file, its name and its rank among the file's items of that
/// name (normally 0). Interned, so that the same item gets the same key after an edit.
#[salsa::interned(debug)]
pub struct ItemKey<'db> {
    #[returns(copy)]
    pub file: SourceFile,
    #[returns(ref)]
    pub name: String,
    #[returns(copy)]
    pub rank: u32,
}

#[salsa::db]
pub trait Db: salsa::Database {
    /// Records that a query ran, for the tests that assert what an edit re-ran.
    fn record_execution(&self, what: String);
}

#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
    executions: Option<Arc<Mutex<Vec<String>>>>,
}

impl Database {
    /// A database that records the queries it runs (see [`Database::take_executions`]).
    pub fn with_execution_log() -> Database {
        Database {
            storage: salsa::Storage::default(),
            executions: Some(Arc::default()),
        }
    }

    /// The queries run since the last call, in order.
    pub fn take_executions(&self) -> Vec<String> {
        match &self.executions {
            Some(log) => match log.lock() {
                Ok(mut entries) => std::mem::take(&mut *entries),
                Err(_) => Vec::new(),
            },
            None => Vec::new(),
        }
    }
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {
    fn record_execution(&self, what: String) {
        if let Some(log) = &self.executions {
            if let Ok(mut entries) = log.lock() {
                entries.push(what);
            }
        }
    }
}
