//! `ereje lsp`: the language server of `ereje-language-server`, over stdin and stdout, with the
//! runner of `ereje test` for its `ereje.runTests` command.

use std::path::Path;

use ereje_language_server::TestOutcome;
use ereje_runtime::ir::Policy;
use ereje_runtime::value::Date;

use crate::policy_test::{self, Verdict};

/// The arguments of `ereje lsp`.
#[derive(Debug, clap::Args)]
pub struct LspArgs {
    /// Show parameter values on this date in hovers instead of today's (UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::parse_date)]
    today: Option<Date>,
}

/// Serves one editor until it exits; 0 after a clean shutdown, 1 when the connection failed.
pub fn command(args: &LspArgs) -> u8 {
    let options = ereje_language_server::Options {
        today: args.today.unwrap_or_else(ereje_language_server::today_utc),
        tests: Some(run_tests),
    };
    match ereje_language_server::run_stdio(options) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {error}");
            1
        }
    }
}

/// Runs the tests of `policy_dir/tests` (as `ereje test` does) against a compiled policy.
pub fn run_tests(policy_dir: &Path, policy: &Policy) -> Vec<TestOutcome> {
    let problem = |file: &str, message: String| {
        vec![TestOutcome {
            file: file.to_string(),
            line: 1,
            name: String::new(),
            failure: Some(message),
        }]
    };
    let engine = match ereje_runtime::Engine::new(policy.clone()) {
        Ok(engine) => engine,
        Err(error) => return problem("ereje.toml", format!("the policy does not load: {error}")),
    };
    let files = match policy_test::test_files(&policy_dir.join("tests")) {
        Ok(files) => files,
        Err(error) => return problem("tests", format!("cannot read the tests: {error}")),
    };
    policy_test::run_files(&engine, policy_dir, &files, None)
        .results
        .into_iter()
        .map(|result| TestOutcome {
            failure: match result.verdict {
                Verdict::Passed => None,
                Verdict::Broken(message) => Some(message),
                Verdict::Failed(mismatches) => Some(
                    mismatches
                        .iter()
                        .map(|m| format!("{}: expected {}, got {}", m.field, m.expected, m.actual))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            },
            file: result.file,
            line: result.line,
            name: result.name,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The runner gives one outcome per test of the bundled policies, all passed; with a
    /// parameter changed, the tests that depend on it fail at their lines.
    #[test]
    fn the_runner_reports_each_test_of_the_bundled_policies() {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/kz");
        let mut workspace = ereje_compiler::Workspace::load(&directory).unwrap();
        let policy = workspace.compile().policy.unwrap();
        let outcomes = run_tests(&directory, &policy);
        assert!(outcomes.len() > 20, "{outcomes:#?}");
        assert!(
            outcomes.iter().all(|o| o.failure.is_none()),
            "{outcomes:#?}"
        );
        let text = workspace
            .file_text("parameters.ereje")
            .unwrap()
            .replace("= 0.70", "= 0.90");
        workspace.set_file_text("parameters.ereje", text);
        let policy = workspace.compile().policy.unwrap();
        let failing: Vec<_> = run_tests(&directory, &policy)
            .into_iter()
            .filter(|o| o.failure.is_some())
            .collect();
        assert!(!failing.is_empty());
        assert!(
            failing
                .iter()
                .all(|o| o.file.starts_with("tests/") && o.line > 1),
            "{failing:#?}"
        );
    }
}
