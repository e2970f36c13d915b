//! `ereje batch`: many cases in, one decision or error line out per input line, in input order.
//!
//! The pipeline has three stages joined by bounded channels:
//!
//! - a reader thread cuts the input into chunks of lines (one byte buffer per chunk, no
//!   allocation per line) and numbers them;
//! - `threads` workers each take a chunk, decide every line with a [`Scratch`] they keep for
//!   the whole run, and append each decision or error line straight into one output buffer
//!   per chunk;
//! - the calling thread writes the chunks in order, holding early ones in a reordering buffer.
//!
//! Memory stays flat however long the input is: the reader must take a token before it sends a
//! chunk, and the writer gives the token back once that chunk is written, so no more than
//! [`BatchOptions::in_flight_chunks`] chunks exist at any time, wherever they are.
//!
//! Line N of the output answers line N of the input: a blank line gets the error line
//! `case.empty_line`, a line that is not UTF-8 gets `case.invalid_json`, and a bad line never
//! changes or stops its neighbours.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ereje_compiler::versions::VersionSet;
use ereje_runtime::ir::{JsonLiteral, Policy, Type, TypeDef};
use ereje_runtime::value::Value;
use ereje_runtime::{CaseError, CaseFailure, CaseOutcome, EvalOptions, Scratch};
use rust_decimal::Decimal;

use crate::csv_input::CsvLayout;

/// The error code of a blank input line.
pub const EMPTY_LINE: &str = "case.empty_line";

/// How to run a batch.
#[derive(Clone)]
pub struct BatchOptions {
    /// The number of worker threads (at least 1).
    pub threads: usize,
    /// Evaluation options (trace, as-of date) for every case.
    pub eval: EvalOptions,
    /// For CSV input: the layout read from the header row; `None` for JSON Lines.
    pub csv: Option<Arc<CsvLayout>>,
    /// Lines per chunk handed to a worker.
    pub chunk_lines: usize,
    /// The most chunks that may exist at once (read, being decided, or waiting to be written).
    pub in_flight_chunks: usize,
    /// A progress bar to advance by the bytes read, when the caller shows one.
    pub progress: Option<indicatif::ProgressBar>,
}

impl BatchOptions {
    pub fn new(threads: usize, eval: EvalOptions) -> BatchOptions {
        let threads = threads.max(1);
        BatchOptions {
            threads,
            eval,
            csv: None,
            chunk_lines: 256,
            in_flight_chunks: threads * 4 + 2,
            progress: None,
        }
    }
}

/// What a batch did: counts, errors by code, output values counted and Money totalled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Input lines answered (decisions plus errors).
    pub cases: u64,
    pub decisions: u64,
    /// Error lines by error code.
    pub errors: BTreeMap<String, u64>,
    /// For each counted field (`asp.outcome`, `welfare.category`, …): how many decisions gave
    /// each value. A field is counted when it is named `outcome` or `category` at the top level
    /// of an output object, or when the output itself is a text, enum or boolean.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// For each Money field at the top level of an output object (or a Money output): the sum
    /// over all decisions, by path (`asp.monthly_total`).
    pub totals: BTreeMap<String, Decimal>,
    pub elapsed: Duration,
    /// The process's peak resident memory (VmHWM) at the end, where the system tells it.
    pub peak_memory_bytes: Option<u64>,
}

impl Summary {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn merge(&mut self, other: Summary) {
        self.cases += other.cases;
        self.decisions += other.decisions;
        for (code, count) in other.errors {
            *self.errors.entry(code).or_default() += count;
        }
        for (path, values) in other.counts {
            let target = self.counts.entry(path).or_default();
            for (value, count) in values {
                *target.entry(value).or_default() += count;
            }
        }
        for (path, total) in other.totals {
            let target = self.totals.entry(path).or_default();
            *target = target.saturating_add(total);
        }
    }

    pub fn cases_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.cases as f64 / seconds
        } else {
            0.0
        }
    }

    /// The summary as one JSON object (keys sorted; Money totals as exact decimal strings).
    pub fn to_json(&self) -> serde_json::Value {
        let totals: serde_json::Map<String, serde_json::Value> = self
            .totals
            .iter()
            .map(|(path, total)| (path.clone(), serde_json::Value::String(total.to_string())))
            .collect();
        serde_json::json!({
            "cases": self.cases,
            "decisions": self.decisions,
            "errors": self.error_count(),
            "errors_by_code": self.errors,
            "counts": self.counts,
            "totals": totals,
            "elapsed_seconds": self.elapsed.as_secs_f64(),
            "cases_per_second": self.cases_per_second().round(),
            "peak_memory_bytes": self.peak_memory_bytes,
        })
    }

    /// The summary as lines for people.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{} cases in {:.2} s ({:.0} cases/s): {} decisions, {} errors\n",
            self.cases,
            self.elapsed.as_secs_f64(),
            self.cases_per_second(),
            self.decisions,
            self.error_count()
        );
        let join =
            |entries: &mut dyn Iterator<Item = String>| entries.collect::<Vec<_>>().join(", ");
        if !self.errors.is_empty() {
            let listed = join(
                &mut self
                    .errors
                    .iter()
                    .map(|(code, count)| format!("{code} {count}")),
            );
            text.push_str(&format!("  errors: {listed}\n"));
        }
        for (path, values) in &self.counts {
            let listed = join(
                &mut values
                    .iter()
                    .map(|(value, count)| format!("{value} {count}")),
            );
            text.push_str(&format!("  {path}: {listed}\n"));
        }
        for (path, total) in &self.totals {
            text.push_str(&format!("  {path}: total {total}\n"));
        }
        if let Some(bytes) = self.peak_memory_bytes {
            text.push_str(&format!(
                "  peak memory: {:.1} MB\n",
                bytes as f64 / 1_048_576.0
            ));
        }
        text
    }

    /// Counts and totals one decision or error line.
    pub fn record(&mut self, policy: &Policy, outcome: &CaseOutcome) {
        self.cases += 1;
        let decision = match outcome {
            CaseOutcome::Decision(decision) => decision,
            CaseOutcome::Error(failure) => {
                *self
                    .errors
                    .entry(failure.error.code().to_string())
                    .or_default() += 1;
                return;
            }
        };
        self.decisions += 1;
        for (name, ty, value) in decision.output_entries() {
            match (unwrap_optional(ty), value) {
                (Type::Object(fields), Value::Map(entries)) => {
                    for (key, field_value) in entries.iter() {
                        let Some(field_type) = fields
                            .iter()
                            .find(|(field_name, _)| field_name.as_str() == &**key)
                            .map(|(_, ty)| unwrap_optional(ty))
                        else {
                            continue;
                        };
                        if *field_type == Type::Money {
                            self.add_money(name, Some(key), field_value);
                        } else if &**key == "outcome" || &**key == "category" {
                            self.count(policy, name, Some(key), field_type, field_value);
                        }
                    }
                }
                (Type::Money, _) => self.add_money(name, None, value),
                (Type::Text | Type::Bool | Type::Enum(_), _) => {
                    self.count(policy, name, None, unwrap_optional(ty), value)
                }
                _ => {}
            }
        }
    }

    fn add_money(&mut self, output: &str, field: Option<&str>, value: &Value) {
        if let Value::Decimal(amount) = value {
            let path = path_of(output, field);
            match self.totals.get_mut(&path) {
                Some(total) => *total = total.saturating_add(*amount),
                None => {
                    self.totals.insert(path, *amount);
                }
            }
        }
    }

    fn count(
        &mut self,
        policy: &Policy,
        output: &str,
        field: Option<&str>,
        ty: &Type,
        value: &Value,
    ) {
        let shown = match value {
            Value::Absent => "null".to_string(),
            Value::Text(text) => text.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Integer(number) => number.to_string(),
            Value::Enum(index) => match (ty, policy.types.get(index_of(ty))) {
                (Type::Enum(_), Some(TypeDef::Enum(definition))) => {
                    match definition
                        .variants
                        .get(*index as usize)
                        .map(|variant| &variant.json)
                    {
                        Some(JsonLiteral::Text(text)) => text.clone(),
                        Some(JsonLiteral::Integer(number)) => number.to_string(),
                        None => index.to_string(),
                    }
                }
                _ => index.to_string(),
            },
            _ => return,
        };
        let values = self.counts.entry(path_of(output, field)).or_default();
        match values.get_mut(&shown) {
            Some(count) => *count += 1,
            None => {
                values.insert(shown, 1);
            }
        }
    }
}

fn index_of(ty: &Type) -> usize {
    match ty {
        Type::Enum(id) => *id as usize,
        _ => usize::MAX,
    }
}

fn unwrap_optional(ty: &Type) -> &Type {
    match ty {
        Type::Optional(inner) => unwrap_optional(inner),
        other => other,
    }
}

fn path_of(output: &str, field: Option<&str>) -> String {
    match field {
        Some(field) => format!("{output}.{field}"),
        None => output.to_string(),
    }
}

/// The process's peak resident set size, from `/proc/self/status` (Linux); `None` elsewhere.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kilobytes * 1024)
}

/// A chunk of input lines: the bytes of whole lines, newlines included.
struct InputChunk {
    number: u64,
    bytes: Vec<u8>,
}

/// A chunk of output lines, each ending with a newline.
struct OutputChunk {
    number: u64,
    text: String,
}

/// Decides every line of `input` and writes one line per input line to `output`, in order.
/// Fails only when the input cannot be read or the output cannot be written.
pub fn run_batch<R, W>(
    engine: &VersionSet,
    input: R,
    output: &mut W,
    options: &BatchOptions,
) -> io::Result<Summary>
where
    R: BufRead + Send,
    W: Write,
{
    let started = Instant::now();
    let threads = options.threads.max(1);
    let in_flight = options.in_flight_chunks.max(threads + 1);
    let (work_sender, work_receiver) = mpsc::sync_channel::<InputChunk>(in_flight);
    let work_receiver = Arc::new(Mutex::new(work_receiver));
    let (done_sender, done_receiver) = mpsc::channel::<OutputChunk>();
    let (token_sender, token_receiver) = mpsc::sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        // The channel has room for every token: this cannot fail.
        let _ = token_sender.send(());
    }

    let mut summary = std::thread::scope(|scope| -> io::Result<Summary> {
        let reader = scope.spawn(move || read_chunks(input, options, work_sender, token_receiver));
        let mut workers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let receiver = Arc::clone(&work_receiver);
            let sender = done_sender.clone();
            workers.push(scope.spawn(move || decide_chunks(engine, options, &receiver, &sender)));
        }
        drop(done_sender);
        let written = write_in_order(output, &done_receiver, &token_sender);
        // Whatever happened to the writer, let the reader and the workers finish: closing the
        // token and result channels makes them stop at their next send.
        drop(token_sender);
        drop(done_receiver);
        let mut summary = Summary::default();
        for worker in workers {
            if let Ok(part) = worker.join() {
                summary.merge(part);
            }
        }
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the reader thread failed")));
        written?;
        read?;
        Ok(summary)
    })?;
    output.flush()?;
    summary.elapsed = started.elapsed();
    summary.peak_memory_bytes = peak_memory_bytes();
    if let Some(progress) = &options.progress {
        progress.finish_and_clear();
    }
    Ok(summary)
}

fn read_chunks<R: BufRead>(
    mut input: R,
    options: &BatchOptions,
    work: SyncSender<InputChunk>,
    tokens: Receiver<()>,
) -> io::Result<()> {
    let chunk_lines = options.chunk_lines.max(1);
    let mut number = 0u64;
    loop {
        if tokens.recv().is_err() {
            // The writer stopped (an output error): nothing more is wanted.
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(chunk_lines * 700);
        let mut lines = 0;
        while lines < chunk_lines {
            let read = input.read_until(b'\n', &mut bytes)?;
            if read == 0 {
                break;
            }
            lines += 1;
        }
        if lines == 0 {
            return Ok(());
        }
        if let Some(progress) = &options.progress {
            progress.inc(bytes.len() as u64);
        }
        if work.send(InputChunk { number, bytes }).is_err() {
            return Ok(());
        }
        number += 1;
    }
}

fn decide_chunks(
    engine: &VersionSet,
    options: &BatchOptions,
    work: &Mutex<Receiver<InputChunk>>,
    done: &mpsc::Sender<OutputChunk>,
) -> Summary {
    let mut scratch = Scratch::default();
    let mut summary = Summary::default();
    let mut converted = String::new();
    loop {
        let chunk = {
            let Ok(receiver) = work.lock() else {
                return summary;
            };
            match receiver.recv() {
                Ok(chunk) => chunk,
                Err(_) => return summary,
            }
        };
        let mut text = String::with_capacity(chunk.bytes.len() + chunk.bytes.len() / 2);
        for raw in chunk.bytes.split_inclusive(|byte| *byte == b'\n') {
            let outcome = decide_line(engine, options, raw, &mut scratch, &mut converted);
            outcome.write_json_line(&mut text);
            text.push('\n');
            if let Some(first) = engine.first() {
                summary.record(first.policy(), &outcome);
            }
        }
        if done
            .send(OutputChunk {
                number: chunk.number,
                text,
            })
            .is_err()
        {
            return summary;
        }
    }
}

/// Decides one raw input line (its newline, if any, included).
pub fn decide_line(
    engine: &VersionSet,
    options: &BatchOptions,
    raw: &[u8],
    scratch: &mut Scratch,
    converted: &mut String,
) -> CaseOutcome {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let line = match std::str::from_utf8(raw) {
        Ok(line) => line,
        Err(error) => {
            return failure(
                None,
                CaseError::new(
                    ereje_runtime::error::codes::INVALID_JSON,
                    "",
                    format!("the line is not valid utf-8 (byte {})", error.valid_up_to()),
                ),
            )
        }
    };
    if line.trim().is_empty() {
        return failure(
            None,
            CaseError::new(
                EMPTY_LINE,
                "",
                "the line is empty: every input line must hold one case",
            ),
        );
    }
    let json = match &options.csv {
        None => line,
        Some(layout) => {
            converted.clear();
            match layout.row_to_json(line, converted) {
                Ok(()) => converted.as_str(),
                Err((case_id, error)) => return failure(case_id, error),
            }
        }
    };
    engine
        .evaluate_json(json, &options.eval, scratch)
        .unwrap_or_else(|| {
            failure(
                None,
                CaseError::new(
                    ereje_runtime::error::codes::NOT_IN_FORCE,
                    "",
                    "no version of the policy is in force for this case",
                ),
            )
        })
}

fn failure(case_id: Option<String>, error: CaseError) -> CaseOutcome {
    CaseOutcome::Error(CaseFailure { case_id, error })
}

fn write_in_order<W: Write>(
    output: &mut W,
    done: &Receiver<OutputChunk>,
    tokens: &SyncSender<()>,
) -> io::Result<()> {
    let mut waiting: BTreeMap<u64, String> = BTreeMap::new();
    let mut next = 0u64;
    for chunk in done.iter() {
        waiting.insert(chunk.number, chunk.text);
        while let Some(text) = waiting.remove(&next) {
            output.write_all(text.as_bytes())?;
            next += 1;
            // The reader may be gone already (end of input): a lost token is of no matter.
            let _ = tokens.send(());
        }
    }
    Ok(())
}

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

CSV columns (one family per row; an empty cell is \"not given\"; `,` or `;` separated):
  case_id, application_date, region
  housing_units, renting, vehicles, land_plots, livestock_heads          -> assets
  contract_signed, contract_terminated_on                                -> social_contract
  pilot_enrolled, pilot_sms_sent_on                                      -> pilot
  deposits, mortgage_deposits (balances)                                 -> bank.deposits
  expenses_<YYYY-MM>                                                     -> bank.expenses
  loan<k>_kind, loan<k>_issued_on, loan<k>_amount, loan<k>_overdue_days  -> bank.loans
  purchase<k>_kind, purchase<k>_date, purchase<k>_amount                 -> purchases
  m<k>_id (default m<k>), m<k>_role, m<k>_birth_date, m<k>_sex, m<k>_disability_group,
  m<k>_child_with_disability, m<k>_full_time_student, m<k>_carer, m<k>_employment,
  m<k>_education, m<k>_chronic_illness, m<k>_registered_business,
  m<k>_consent (yes/no), m<k>_consent_replied_on                         -> members[k]
  m<k>_income_<kind>_<YYYY-MM> (amount)                                  -> members[k].incomes
  Booleans: true/false, yes/no, да/нет, 1/0. An unknown column stops the run (exit 2).

Exit codes:
  0  every line got a decision
  1  the policy has errors (they are printed)
  2  a file cannot be read or written, the CSV header is invalid, or bad arguments
  3  some lines got error lines (all lines were still answered)";

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
    if format == InputFormat::Csv {
        let mut header = String::new();
        if let Err(error) = input.read_line(&mut header) {
            return io_failure("io::cases", format!("cannot read the CSV header: {error}"));
        }
        match CsvLayout::from_header(&header) {
            Ok(layout) => options.csv = Some(Arc::new(layout)),
            Err(message) => {
                return io_failure(
                    "csv::header",
                    format!("the CSV header is invalid: {message}"),
                )
            }
        }
    }
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
    let result = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => {
                let mut writer = io::BufWriter::with_capacity(1 << 20, file);
                run_batch(&engine, input, &mut writer, &options)
            }
            Err(error) => {
                return io_failure(
                    "io::output",
                    format!("cannot write `{}`: {error}", path.display()),
                )
            }
        },
        None => {
            let mut writer = io::BufWriter::with_capacity(1 << 20, io::stdout().lock());
            run_batch(&engine, input, &mut writer, &options)
        }
    };
    let summary = match result {
        Ok(summary) => summary,
        // A closed pipe (`ereje batch … | head`) ends the run quietly.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => return crate::EXIT_OK,
        Err(error) => return io_failure("io::batch", format!("the batch stopped: {error}")),
    };
    match args.summary {
        Some(SummaryFormat::Json) => crate::print_stderr(&format!("{}\n", summary.to_json())),
        None => crate::print_stderr(&summary.to_text()),
    }
    if summary.error_count() > 0 {
        crate::EXIT_CASE_ERROR
    } else {
        crate::EXIT_OK
    }
}
