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
///
/// The files are compared by device and inode from their metadata, never by opening the output:
/// opening a named pipe blocks until the other end is opened, and the output may be one.
pub fn refuse_output_over_input(input: &Path, output: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    let output_identity = match std::fs::metadata(output) {
        Ok(metadata) => (metadata.dev(), metadata.ino()),
        // An output that does not exist yet cannot be the input.
        Err(_) => return Ok(()),
    };
    let input_identity = if input.as_os_str() == "-" {
        same_file::Handle::stdin().map(|handle| (handle.dev(), handle.ino()))
    } else {
        std::fs::metadata(input).map(|metadata| (metadata.dev(), metadata.ino()))
    };
    match input_identity {
        Ok(input_identity) if input_identity == output_identity => Err(format!(
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
///
/// A target that exists and is not a regular file (a device such as `/dev/null`, a named pipe,
/// a socket) is written directly: it holds no earlier output to protect, and renaming a file
/// over it would replace the device with a file (on a machine where that happened to
/// `/dev/null`, every later program reading it got the batch's lines).
pub struct PartialOutput {
    file: File,
    staging: Option<Staging>,
}

/// Where a staged output is written and where it goes when complete.
struct Staging {
    partial: PathBuf,
    target: PathBuf,
}

impl PartialOutput {
    /// Creates `<target>.partial`, or opens the target itself when it is not a regular file.
    /// Fails when `<target>.partial` exists already: it may hold the answers of an earlier
    /// interrupted run, which a new run must not overwrite.
    pub fn create(target: &Path) -> Result<PartialOutput, String> {
        if let Ok(metadata) = std::fs::metadata(target) {
            if !metadata.is_file() && !metadata.is_dir() {
                return match File::options().write(true).open(target) {
                    Ok(file) => Ok(PartialOutput {
                        file,
                        staging: None,
                    }),
                    Err(error) => Err(format!("cannot write `{}`: {error}", target.display())),
                };
            }
        }
        let partial = partial_path(target);
        match File::options().write(true).create_new(true).open(&partial) {
            Ok(file) => Ok(PartialOutput {
                file,
                staging: Some(Staging {
                    partial,
                    target: target.to_path_buf(),
                }),
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

    /// The file the lines are in until the run ends: the partial file, or the target itself
    /// when it is written directly.
    pub fn partial(&self) -> Option<&Path> {
        self.staging
            .as_ref()
            .map(|staging| staging.partial.as_path())
    }

    /// Flushes the partial file to disk and renames it over the target; a target written
    /// directly has nothing to rename.
    pub fn finish(self) -> io::Result<()> {
        match self.staging {
            Some(staging) => {
                self.file.sync_all()?;
                std::fs::rename(&staging.partial, &staging.target)
            }
            None => Ok(()),
        }
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
