//! `ereje diff`: the command. What it reports is computed and written by `ereje_report::diff`
//! (the static difference and the impact over a population) and `ereje_report::impact_html`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ereje_report::diff::{
    impact, impact_json, impact_text, static_diff, static_json, static_text, ImpactSide,
};
use ereje_runtime::whatif::Override;

use crate::versions;
use crate::{fail, print_stdout, EXIT_OK};

pub const LONG_ABOUT: &str = "Compare two policies, or two versions of one policy.\n\n\
Each side is a policy directory, optionally with @VERSION (a name from its manifest's [[version]] \
tables): `ereje diff policies/kz@2025.1 policies/kz@2025.2-draft`. A side without @VERSION is the \
version in force on each case's date (and, for the static difference, the latest in force).\n\n\
Without --cases: the static difference, in the analyst's terms: parameters changed (values by \
date), rules and definitions added, removed or changed (by id), groups extended, outputs changed.\n\n\
With --cases FILE.jsonl: the impact over that population: the cases whose outcome, amount or \
category changes, the change of every money total, the cases grouped by the rule ids that \
appeared or disappeared in their decision, the largest winners and losers by case id; as text, \
JSON or a self-contained HTML report with charts (--format html -o report.html).\n\n\
--set PARAM=VALUE[@DATE] changes a parameter of the NEW side only: \
`ereje diff policies/kz policies/kz --set POVERTY_LINE_SHARE=0.75 --cases cases.jsonl` is a what-if.";

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The old policy: a directory, optionally `@VERSION`.
    pub old: String,
    /// The new policy: a directory, optionally `@VERSION`.
    pub new: String,
    /// A JSON Lines file of cases: report the impact over them instead of the static difference.
    #[arg(long, value_name = "FILE")]
    pub cases: Option<PathBuf>,
    /// The report's format; `html` is a self-contained page with charts.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Write the report to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// What-if on the new side: give a parameter another value (repeatable).
    #[arg(long = "set", value_name = "PARAM=VALUE[@DATE]", value_parser = versions::parse_set)]
    pub sets: Vec<Override>,
    /// The money field whose change ranks winners and losers (e.g. `asp/monthly_total`);
    /// by default the last money field of the first output that has one (a total comes after
    /// the amounts it adds up).
    #[arg(long, value_name = "OUTPUT/FIELD")]
    pub measure: Option<String>,
    /// How many winners and losers to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
    Html,
}

pub fn run(arguments: &DiffArgs) -> u8 {
    let (old_dir, old_version) = versions::parse_side(&arguments.old);
    let (new_dir, new_version) = versions::parse_side(&arguments.new);
    let old = match versions::load_side(&old_dir, old_version.as_deref(), &[]) {
        Ok(side) => side,
        Err(code) => return code,
    };
    let new = match versions::load_side(&new_dir, new_version.as_deref(), &arguments.sets) {
        Ok(side) => side,
        Err(code) => return code,
    };
    let report = match &arguments.cases {
        None => {
            let changes = static_diff(&old.policy, &new.policy);
            match arguments.format {
                DiffFormat::Text => static_text(&old.label, &new.label, &changes),
                DiffFormat::Json => {
                    let mut text = static_json(&old.label, &new.label, &changes).to_string();
                    text.push('\n');
                    text
                }
                DiffFormat::Html => {
                    ereje_report::impact_html::static_page(&old.label, &new.label, &changes)
                }
            }
        }
        Some(path) => {
            if let Some(output) = &arguments.output {
                if let Err(message) = crate::files::refuse_output_over_input(path, output) {
                    return fail(miette::miette!(code = "io::output", "{message}"));
                }
            }
            let text = match std::fs::read_to_string(path) {
                Ok(text) => crate::files::skip_byte_order_mark(text, path),
                Err(error) => {
                    return fail(miette::miette!(
                        code = "io::cases",
                        "cannot read the cases file `{}`: {error}",
                        path.display()
                    ))
                }
            };
            let impact = match impact(
                &ImpactSide {
                    label: &old.label,
                    engines: &old.engines,
                },
                &ImpactSide {
                    label: &new.label,
                    engines: &new.engines,
                },
                &text,
                arguments.measure.as_deref(),
                arguments.top,
            ) {
                Ok(impact) => impact,
                Err(message) => return fail(miette::miette!(code = "diff::measure", "{message}")),
            };
            match arguments.format {
                DiffFormat::Text => impact_text(&impact),
                DiffFormat::Json => {
                    let mut text = impact_json(&impact).to_string();
                    text.push('\n');
                    text
                }
                DiffFormat::Html => ereje_report::impact_html::impact_page(&impact),
            }
        }
    };
    match &arguments.output {
        Some(path) => {
            if let Err(error) = std::fs::write(path, report.as_bytes()) {
                return fail(miette::miette!(
                    code = "io::output",
                    "cannot write the report to `{}`: {error}",
                    path.display()
                ));
            }
        }
        None => print_stdout(&report),
    }
    EXIT_OK
}
