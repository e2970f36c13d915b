//! Files that cannot be lost: the rules every command that reads cases and writes a file
//! follows (`ereje batch`, `ereje diff --cases`, `ereje eval`, `ereje explain`).
//!
//! - An output that names an input (the same path, a hard link or a symlink to it, or the file
//!   that stdin reads) is refused before anything is opened for writing: a typo in a command
//!   line must not empty a population file.
//! - A batch writes to `<target>.partial` beside the target and renames it over the target only
//!   when the run ends normally; an interrupted run leaves the target as it was and the partial
//!   file under its telling name (see [`PartialOutput`]).
//! - A byte-order mark at the very start of an input is skipped, and a note says so; one
//!   anywhere else is an error that names it (`ereje_runtime::case::invisible`).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use ereje_runtime::case::invisible;

/// Refuses `output` when it is the file `input` names (`-` for stdin): the same path, a hard
/// link or a symlink to it. Returns the message that says why.
pub fn refuse_output_over_input(input: &Path, output: &Path) -> Result<(), String> {
    let output_handle = match same_file::Handle::from_path(output) {
        Ok(handle) => handle,
        // An output that does not exist yet cannot be the input.
        Err(_) => return Ok(()),
    };
    let input_handle = if input.as_os_str() == "-" {
        same_file::Handle::stdin()
    } else {
        same_file::Handle::from_path(input)
    };
    match input_handle {
        Ok(input_handle) if input_handle == output_handle => Err(format!(
            "the output `{}` is the input `{}` (the same file, a hard link or a symlink to it): \
             writing it would destroy the cases before they are read; choose another output file",
            output.display(),
            input.display()
        )),
        _ => Ok(()),
    }
}

/// The name of the file a batch writes before it is complete: `<target>.partial`.
pub fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_os_string();
    name.push(".partial");
    PathBuf::from(name)
}

/// An output written under `<target>.partial` and renamed over the target by
/// [`PartialOutput::finish`] only. Dropped without `finish` (an interrupted or failed run),
/// the partial file stays, so that the lines already answered are kept and cannot be taken for
/// a finished run; a process killed outright leaves it the same way.
pub struct PartialOutput {
    file: File,
    partial: PathBuf,
    target: PathBuf,
}

impl PartialOutput {
    /// Creates `<target>.partial`. Fails when it exists already: it may hold the answers of an
    /// earlier interrupted run, which a new run must not overwrite.
    pub fn create(target: &Path) -> Result<PartialOutput, String> {
        let partial = partial_path(target);
        match File::options().write(true).create_new(true).open(&partial) {
            Ok(file) => Ok(PartialOutput {
                file,
                partial,
                target: target.to_path_buf(),
            }),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Err(format!(
                "`{}` exists: it holds the output of an interrupted run (resume with `--skip N`, \
                 N its line count, and another output file); move or remove it first",
                partial.display()
            )),
            Err(error) => Err(format!("cannot write `{}`: {error}", partial.display())),
        }
    }

    /// The file to write to.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// The partial file's path.
    pub fn partial(&self) -> &Path {
        &self.partial
    }

    /// Flushes the partial file to disk and renames it over the target.
    pub fn finish(self) -> io::Result<()> {
        self.file.sync_all()?;
        std::fs::rename(&self.partial, &self.target)
    }
}

/// `text` without a byte-order mark at its start; a note on stderr says when one was skipped.
pub fn skip_byte_order_mark(text: String, source: &Path) -> String {
    match invisible::strip_byte_order_mark(&text) {
        (rest, true) => {
            crate::print_stderr(&byte_order_mark_note(source));
            rest.to_string()
        }
        _ => text,
    }
}

/// The note said when a byte-order mark was skipped at the start of `source`.
pub fn byte_order_mark_note(source: &Path) -> String {
    format!(
        "note: skipped the byte order mark (U+FEFF) at the start of `{}`\n",
        source.display()
    )
}
