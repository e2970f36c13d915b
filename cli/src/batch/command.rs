//! The `ereje batch` command: its arguments, files, signals and summary output.

use super::*;

// ---------------------------------------------------------------------------------------------
// The `ereje batch` command.

pub const BATCH_HELP: &str = "\
Input: JSON Lines (one case object per line), or CSV with `--format csv` or a `.csv` file name.
Output: one line per input line, in input order: the decision JSON, or an error line
  {\"case_id\", \"error\": {\"code\", \"path\", \"message\"}}. A blank line gets the error code
  `case.empty_line`; a CSV row that cannot be cut into the header's cells gets `csv.invalid_row`.
  For CSV, the header row is not a case: output line N answers data row N.
Summary: on stderr at the end (cases, errors by code, every `outcome` and `category` field of the
  outputs counted by value, every Money field totalled, elapsed time, cases/s, peak memory);
  `--summary json` prints it as one JSON object instead. A progress bar is shown when stderr is
  a terminal.
Files: `-o FILE` naming the input (the same file, a hard link or a symlink to it) is refused.
  The output is written to `FILE.partial` and renamed to FILE when the run ends normally, so
  FILE is never a half-written output; a `FILE.partial` left by an earlier run is never
  overwritten. SIGINT or SIGTERM (once: a second one ends the process at once) or a write error
  stops the run with whole lines in `FILE.partial`; the summary says how many lines were
  answered and the `--skip N` that resumes the run. A byte-order mark at the start of the
  input is skipped (the summary says so); one elsewhere, or another invisible character outside
  a JSON string, gets an error line naming it. A key given twice in one object of a case gets
  the error line `case.duplicate_key` with the JSON path of the second one.

CSV (one case per row; the header names the columns in any order; an empty cell is \"not
  given\"; `,` or `;` separated; quoted cells may hold separators, line breaks and `\"\"`):
  the columns are derived from the policy's input record, each field in declaration order:
  a plain field is one column named by its part (its name, or the short name the policy's
  csv.toml gives its dotted path) after the parts of the records above it, joined by `_`;
  a list of records with one money field whose other fields are enums, months, quarters or
  booleans is keyed: `<part>_<key value>…` (a true boolean key is written before the part);
  any other list is numbered: `<part><k>_<column>`, k from 1. For policies/kz, see README.md:
  case_id, vehicles, contract_signed, deposits, mortgage_deposits, expenses_<YYYY-MM>,
  loan<k>_amount, m<k>_birth_date, m<k>_consent, m<k>_income_<kind>_<YYYY-MM>, ...
  Booleans: true/false, yes/no, да/нет, иә/жоқ, 1/0. An unknown column stops the run (exit 2).

Exit codes:
  0  every line got a decision
  1  the policy has errors (they are printed)
  2  a file cannot be read or written, the CSV header is invalid, or bad arguments
  3  some lines got error lines (all lines were still answered)
  130, 143  stopped by SIGINT or SIGTERM (the lines read were answered; see the summary)";

#[derive(clap::Args, Debug)]
pub struct BatchArgs {
    /// The policy directory (holding `ereje.toml`).
    pub policy_dir: std::path::PathBuf,
    /// The cases: a JSON Lines or CSV file, or `-` for stdin.
    pub cases: std::path::PathBuf,
    /// Where to write the output lines (stdout without it).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Add each decision's trace.
    #[arg(long)]
    pub trace: bool,
    /// Worker threads (default: every core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print the summary as JSON (on stderr).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub summary: Option<SummaryFormat>,
    /// The input format (default: `csv` for a `.csv` file name, else `jsonl`).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Evaluate every case as of this date (YYYY-MM-DD) instead of its own.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::parse_date)]
    pub as_of: Option<ereje_runtime::value::Date>,
    /// Decide every case with this version of the policy (default: the version in force on
    /// each case's date).
    #[arg(long, value_name = "NAME")]
    pub version: Option<String>,
    /// What-if: give a parameter another value, on every date or from DATE on; repeatable.
    #[arg(long = "set", value_name = "PARAM=VALUE[@DATE]", value_parser = crate::versions::parse_set)]
    pub sets: Vec<ereje_runtime::whatif::Override>,
    /// The largest case accepted, in bytes (default 1048576); a larger line gets the error
    /// line `case.too_large`.
    #[arg(long, value_name = "BYTES")]
    pub max_case_bytes: Option<usize>,
    /// The deepest nesting of objects and arrays accepted (default 32); a deeper case gets the
    /// error line `case.too_deep`.
    #[arg(long, value_name = "LEVELS")]
    pub max_depth: Option<u32>,
    /// Skip the first N cases (lines, or CSV data rows): resumes a run that was stopped after
    /// answering N of them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub skip: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    Jsonl,
    Csv,
}

fn io_failure(code: &'static str, message: String) -> u8 {
    crate::fail(miette::miette!(code = code, "{message}"))
}

/// Runs `ereje batch` and returns its exit code.
pub fn command(args: &BatchArgs) -> u8 {
    // Before anything is opened for writing, and before the policy is loaded (quick to refuse).
    if let Some(output) = &args.output {
        if let Err(message) = crate::files::refuse_output_over_input(&args.cases, output) {
            return io_failure("io::output", message);
        }
    }
    let limits = crate::limits(args.max_case_bytes, args.max_depth);
    let engine = match crate::versions::load_side_with_limits(
        &args.policy_dir,
        args.version.as_deref(),
        &args.sets,
        limits,
    ) {
        Ok(side) => side.engines,
        Err(code) => return code,
    };
    let from_stdin = args.cases.as_os_str() == "-";
    let format = args.format.unwrap_or_else(|| {
        let csv = args
            .cases
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("csv"));
        if csv {
            InputFormat::Csv
        } else {
            InputFormat::Jsonl
        }
    });
    let (mut input, length): (Box<dyn BufRead + Send>, Option<u64>) = if from_stdin {
        (
            Box::new(io::BufReader::with_capacity(256 * 1024, io::stdin())),
            None,
        )
    } else {
        match std::fs::File::open(&args.cases) {
            Ok(file) => {
                let length = file.metadata().ok().map(|metadata| metadata.len());
                (
                    Box::new(io::BufReader::with_capacity(256 * 1024, file)),
                    length,
                )
            }
            Err(error) => {
                return io_failure(
                    "io::cases",
                    format!(
                        "cannot read the cases file `{}`: {error}",
                        args.cases.display()
                    ),
                )
            }
        }
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let eval = EvalOptions {
        as_of: args.as_of,
        trace: args.trace,
    };
    let mut options = BatchOptions::new(threads, eval);
    let byte_order_mark_skipped = match skip_byte_order_mark(&mut input) {
        Ok(skipped) => skipped,
        Err(error) => {
            return io_failure("io::cases", format!("cannot read the cases: {error}"));
        }
    };
    if format == InputFormat::Csv {
        // The header row is one line: column names hold no line breaks.
        let mut header = Vec::new();
        if let Err(error) = input.read_until(b'\n', &mut header) {
            return io_failure("io::cases", format!("cannot read the CSV header: {error}"));
        }
        let names = match CsvNames::load(&args.policy_dir) {
            Ok(names) => names,
            Err(message) => return io_failure("csv::names", message),
        };
        let Some(first) = engine.first() else {
            return io_failure("csv::header", "the policy has no version".to_string());
        };
        match CsvLayout::from_header(first.policy(), &names, &header) {
            Ok(layout) => options.csv = Some(Arc::new(layout)),
            Err(message) => {
                return io_failure(
                    "csv::header",
                    format!("the CSV header is invalid: {message}"),
                )
            }
        }
    }
    options.skip = args.skip;
    if std::io::IsTerminal::is_terminal(&io::stderr()) {
        let progress = match length {
            Some(length) => {
                let bar = indicatif::ProgressBar::new(length);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                ) {
                    bar.set_style(style);
                }
                bar
            }
            None => {
                let spinner = indicatif::ProgressBar::new_spinner();
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{spinner} {bytes} read {bytes_per_sec}",
                ) {
                    spinner.set_style(style);
                }
                spinner
            }
        };
        options.progress = Some(progress);
    }
    // SIGINT and SIGTERM stop the run between lines; a second one ends the process at once
    // (the conditional shutdown is registered first, so the first signal only arms it).
    let stop = Arc::new(AtomicUsize::new(0));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let armed = Arc::new(AtomicBool::new(false));
        let registered = signal_hook::flag::register_conditional_shutdown(
            signal,
            128 + signal,
            Arc::clone(&armed),
        )
        .and_then(|_| signal_hook::flag::register(signal, armed))
        .and_then(|_| {
            signal_hook::flag::register_usize(signal, Arc::clone(&stop), signal as usize)
        });
        if let Err(error) = registered {
            return io_failure(
                "io::signals",
                format!("cannot watch for signal {signal}: {error}"),
            );
        }
    }
    options.stop = Some(Arc::clone(&stop));
    let mut partial = None;
    let result = match &args.output {
        Some(path) => match crate::files::PartialOutput::create(path) {
            // No `BufWriter`: the workers write whole chunks of lines (a few hundred
            // kilobytes), which a buffer would only copy once more (with traces, that copy was
            // 7 % of the instructions of a case).
            Ok(output) => {
                let output = partial.insert(output);
                run_batch_counting(&engine, input, output.file(), &options)
            }
            Err(message) => return io_failure("io::output", message),
        },
        None => {
            // The workers write, so the writer must be `Send`: `Stdout` is, its lock is not.
            // Its line buffer passes a chunk that ends with a newline straight through when
            // empty, and every chunk ends with one, so chunks are not copied there either.
            let mut writer = io::stdout();
            run_batch_counting(&engine, input, &mut writer, &options)
        }
    };
    let partial_file = partial
        .as_ref()
        .and_then(|output| output.partial().map(Path::to_path_buf));
    let mut summary = match result {
        Ok(summary) => summary,
        // A closed pipe (`ereje batch … | head`) ends the run quietly.
        Err(stopped) if stopped.error.kind() == io::ErrorKind::BrokenPipe => return crate::EXIT_OK,
        Err(stopped) => {
            if let Some(output) = &mut partial {
                // A failed write may have left part of a line: the file keeps whole lines.
                let _ = output.file().set_len(stopped.bytes_written);
            }
            let interruption = Interruption {
                reason: format!("a write error: {}", stopped.error),
                lines_answered: stopped.lines_written,
                resume_skip: args.skip + stopped.lines_written,
                partial_file,
            };
            if let Some(progress) = &options.progress {
                progress.finish_and_clear();
            }
            return io_failure(
                "io::batch",
                format!("the batch stopped: {}", interruption.to_text().trim_end()),
            );
        }
    };
    summary.byte_order_mark_skipped = byte_order_mark_skipped;
    // A signal that came after the last line was read stopped nothing: the run is complete.
    let signal = if summary.stopped_early {
        stop.load(AtomicOrdering::SeqCst)
    } else {
        0
    };
    if signal != 0 {
        summary.interruption = Some(Interruption {
            reason: signal_name(signal),
            lines_answered: summary.cases,
            resume_skip: args.skip + summary.cases,
            partial_file,
        });
    } else if let Some(output) = partial {
        let shown = output
            .partial()
            .map(|path| path.display().to_string())
            .unwrap_or_default();
        if let (Err(error), Some(target)) = (output.finish(), &args.output) {
            return io_failure(
                "io::output",
                format!(
                    "cannot rename `{shown}` to `{}`: {error} (the output is complete in `{shown}`)",
                    target.display()
                ),
            );
        }
    }
    match args.summary {
        Some(SummaryFormat::Json) => crate::print_stderr(&format!("{}\n", summary.to_json())),
        None => crate::print_stderr(&summary.to_text()),
    }
    if signal != 0 {
        // The shell's code for a command ended by that signal.
        (128 + signal).min(255) as u8
    } else if summary.error_count() > 0 {
        crate::EXIT_CASE_ERROR
    } else {
        crate::EXIT_OK
    }
}

/// The name of a signal that stops a batch.
fn signal_name(signal: usize) -> String {
    match i32::try_from(signal) {
        Ok(signal_hook::consts::SIGINT) => "SIGINT".to_string(),
        Ok(signal_hook::consts::SIGTERM) => "SIGTERM".to_string(),
        _ => format!("signal {signal}"),
    }
}

/// Skips a UTF-8 byte-order mark at the start of `input`; says whether there was one.
fn skip_byte_order_mark(input: &mut dyn BufRead) -> io::Result<bool> {
    const MARK: &[u8] = "\u{feff}".as_bytes();
    let buffer = input.fill_buf()?;
    let found = buffer.starts_with(MARK);
    if found {
        input.consume(MARK.len());
    }
    Ok(found)
}
