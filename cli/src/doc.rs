//! `ereje doc`: the command. The site is built by `ereje_policy_doc`.

use std::path::PathBuf;

use clap::Args;
use ereje_policy_doc::{build, DocError, DocOptions};

use crate::{fail, print_stderr, LangArg, EXIT_IO, EXIT_OK, EXIT_POLICY_ERRORS};

pub const LONG_ABOUT: &str = "Write a static, self-contained HTML site of a policy set, for \
people who will never open a policy file.\n\n\
index.html lists everything and searches it (no server needed); each rule has a page with its \
id, messages in Russian, Kazakh and English, legal source, the expression, what it uses and what \
uses it; each parameter its values by date with their sources; tables and band tables are shown \
as tables; versions.html lists the manifest's versions and what changed between them. The site \
documents the version in force last. Pages load nothing from the network, print cleanly and \
read on a phone; the same policy gives byte-identical files.";

#[derive(Args, Debug)]
pub struct DocArgs {
    /// The policy directory (holding `ereje.toml`).
    pub policy_dir: PathBuf,
    /// The directory to write the site into (created if needed).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// The language of the pages (messages are always shown in all three languages).
    #[arg(long, value_enum, default_value_t = LangArg::Ru)]
    pub(crate) lang: LangArg,
}

pub fn run(arguments: &DocArgs) -> u8 {
    let options = DocOptions {
        lang: arguments.lang.into(),
    };
    let site = match build(&arguments.policy_dir, &options) {
        Ok(site) => site,
        Err(DocError::Policy { report, .. }) => {
            print_stderr(&report);
            return EXIT_POLICY_ERRORS;
        }
        Err(DocError::Load(error)) => return fail(miette::Report::new(error)),
        Err(error) => return fail(miette::miette!(code = "doc::build", "{error}")),
    };
    if let Err(error) = site.write(&arguments.output) {
        print_stderr(&format!("error: {error}\n"));
        return EXIT_IO;
    }
    print_stderr(&format!(
        "wrote {} pages to {}\n",
        site.pages.len(),
        arguments.output.display()
    ));
    EXIT_OK
}
