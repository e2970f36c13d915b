//! `ereje doc`: a static, self-contained HTML site of a policy set, for people who will never
//! open a policy file.
//!
//! The site documents every version of the manifest: the one in force last (else the first) at
//! the top, every other in a directory `v-<name>/` of its own, each page with a switcher to the
//! same page in the other versions. Each version has an index with a search box, a page per
//! rule (id, messages in ru/kk/en, legal source, the expression, what it uses and what uses
//! it), per parameter (its dated values in that version and their sources), per table and band
//! table (as tables), calendar, definition, function, group, output, case check, record (its
//! fields with types and labels) and enumeration (its values with labels); the site
//! has one page of the manifest's versions with what changed between each and the next
//! (the static difference of `ereje diff`). Expressions are written by the IR printer of the
//! static difference (`ereje_report::diff::Printer`), with links on the names.
//!
//! Every page is one file with its style and script inline and a content security policy that
//! forbids loading anything, so the site opens from a disk, a USB stick or a mail attachment.
//! The search index is embedded in the index page. The same policy gives byte-identical pages:
//! everything is written in the IR's order, nothing depends on a hash order, a clock or a path.

mod html;
mod labels;
mod model;
mod pages;

use std::path::Path;

pub use ereje_report::explanation::Lang;
pub use html::CONTENT_SECURITY_POLICY;

/// How to build the site.
#[derive(Debug, Clone, Copy, Default)]
pub struct DocOptions {
    /// The language of the pages' words (messages are shown in all three languages, this one
    /// first).
    pub lang: Lang,
}

/// One page of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The file's path, relative to the site's directory: a file name for the documented
    /// version, `v-<version>/` and a file name for the others (pages link to each other by it).
    pub file: String,
    pub html: String,
}

/// The pages of a site, the index first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub pages: Vec<Page>,
}

impl Site {
    /// The page written to `file`, if the site has one.
    pub fn page(&self, file: &str) -> Option<&Page> {
        self.pages.iter().find(|page| page.file == file)
    }

    /// Writes every page into `directory`, creating it if needed. Files of the directory that
    /// are not pages of the site are left alone.
    pub fn write(&self, directory: &Path) -> Result<(), DocError> {
        let failure = |path: &Path, error: std::io::Error| DocError::Write {
            path: path.display().to_string(),
            message: error.to_string(),
        };
        std::fs::create_dir_all(directory).map_err(|error| failure(directory, error))?;
        for page in &self.pages {
            let path = directory.join(&page.file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|error| failure(parent, error))?;
            }
            std::fs::write(&path, &page.html).map_err(|error| failure(&path, error))?;
        }
        Ok(())
    }
}

/// Why a site cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error(transparent)]
    Load(#[from] ereje_compiler::LoadError),
    #[error("version `{version}` of the policy does not compile ({errors} errors); `ereje check` lists them")]
    Policy {
        version: String,
        errors: usize,
        /// The diagnostics, rendered for a terminal.
        report: String,
    },
    #[error("the manifest declares no version of the policy")]
    NoVersion,
    #[error("cannot write `{path}`: {message}")]
    Write { path: String, message: String },
}

/// Builds the site of the policy set in `directory` (holding `ereje.toml`). Every version of
/// the manifest is compiled, for the differences between them; one that does not compile is
/// an error.
pub fn build(directory: &Path, options: &DocOptions) -> Result<Site, DocError> {
    pages::build(directory, options.lang)
}
