//! A policy directory open in the editor (`Project`) and a position in one of its modules
//! (`Place`): what the server keeps and what the features read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ereje_compiler::Workspace;
use lsp_types::{Location, Url};

use crate::text;

/// One policy directory, compiled in memory.
pub(crate) struct Project {
    pub directory: PathBuf,
    /// The manifest's version the workspace holds; `None` for the latest in-force version
    /// (the files `Workspace::load` reads).
    pub version: Option<String>,
    pub workspace: Workspace,
    /// The diagnostics last published, by module path, to publish only what changed.
    pub published: BTreeMap<String, Vec<lsp_types::Diagnostic>>,
}

impl Project {
    pub fn file_index(&self, path: &str) -> Option<usize> {
        let database = self.workspace.database();
        self.workspace
            .source_files()
            .iter()
            .position(|file| file.path(database) == path)
    }

    /// The module paths of the project, in manifest order.
    pub fn module_paths(&self) -> Vec<String> {
        let database = self.workspace.database();
        self.workspace
            .source_files()
            .iter()
            .map(|file| file.path(database).clone())
            .collect()
    }

    pub fn uri_of(&self, file: u32) -> Option<Url> {
        let source = self.workspace.source_files().get(file as usize)?;
        Url::from_file_path(self.directory.join(source.path(self.workspace.database()))).ok()
    }

    pub fn text_of(&self, file: u32) -> &str {
        self.workspace
            .source_files()
            .get(file as usize)
            .map(|source| source.text(self.workspace.database()).as_str())
            .unwrap_or("")
    }

    pub fn location(&self, file: u32, span: ereje_compiler::ast::Span) -> Option<Location> {
        let range = text::range(self.text_of(file), span.start as usize, span.end as usize);
        Some(Location::new(self.uri_of(file)?, range))
    }
}

/// A document position resolved to its project, module and byte offset.
pub(crate) struct Place<'a> {
    pub project: &'a Project,
    pub file: u32,
    pub offset: u32,
}
