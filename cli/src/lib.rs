//! `ereje`: check, compile, evaluate and explain social-support policies.
//!
//! The command's modules are a library as well, so that the service, the Python package and the
//! language server reuse what the command does (explanations, impact reports, policy tests, CSV
//! input, version loading) instead of writing it again; `main.rs` only calls [`run`].

pub mod batch;
pub mod bench;
pub mod commission;
pub mod csv_input;
pub mod diff;
pub mod doc;
pub mod files;
pub mod generate;
pub mod lsp;
pub mod policy_test;
pub mod pretty;
pub mod serve;
pub mod versions;

use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use ereje_compiler::{render_human, render_json, Compilation};
use ereje_report::explanation as explain;
use ereje_runtime::ir::Policy;
use ereje_runtime::value::Date;
use ereje_runtime::{CaseOutcome, Engine, EvalOptions};

/// Exit code: success (a clean check, a decision, a written IR).
pub const EXIT_OK: u8 = 0;
/// Exit code: the policy has errors.
pub const EXIT_POLICY_ERRORS: u8 = 1;
/// Exit code: a file or directory cannot be read or written, the manifest is invalid, or the
/// command line is wrong.
pub const EXIT_IO: u8 = 2;
/// Exit code: the case could not be decided (an error line was printed).
pub const EXIT_CASE_ERROR: u8 = 3;

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success: the policy checks (warnings allowed), a decision was printed, the IR was written
  1  the policy has errors (they are printed)
  2  a file or directory cannot be read or written, the manifest is invalid, or bad arguments
  3  the case cannot be decided: an error line {\"case_id\", \"error\": {\"code\", \"path\", \"message\"}} was printed";

#[derive(Parser, Debug)]
#[command(
    name = "ereje",
    version,
    about = "Ereje: a rules engine for social-support policies",
    long_about = "Ereje: a rules engine for social-support policies.\n\n\
                  A policy directory holds an `ereje.toml` manifest and the `.ereje` modules it \
                  names. `ereje check` compiles it and reports problems; `ereje eval` decides one \
                  case (a JSON object) and prints the decision as one line of JSON; `ereje explain` \
                  prints the same decision as a readable explanation with the rules' messages and \
                  legal sources; `ereje compile` writes the compiled IR for embedding programs.",
    after_help = EXIT_CODES_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compile a policy directory and report errors and warnings.
    #[command(after_help = EXIT_CODES_HELP)]
    Check {
        /// The policy directory (holding `ereje.toml`).
        policy_dir: PathBuf,
        /// How to print diagnostics: `human` (source excerpts on stderr, then a summary line) or
        /// `json` (a JSON array on stdout, one object per diagnostic with severity, code,
        /// message, file, line, column, labels and help).
        #[arg(long, value_enum, default_value_t = ErrorFormat::Human)]
        error_format: ErrorFormat,
    },
    /// Decide one case and print the decision as JSON on stdout.
    #[command(after_help = EXIT_CODES_HELP)]
    Eval {
        /// The policy directory (holding `ereje.toml`).
        policy_dir: PathBuf,
        /// The case: a file holding one JSON object, or `-` for stdin.
        case: PathBuf,
        /// Evaluate as of this date (YYYY-MM-DD) instead of the case's own date.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        as_of: Option<Date>,
        /// Add the trace: every value the decision used, with rule ids, parameter dates and
        /// legal sources.
        #[arg(long)]
        trace: bool,
        /// Indent the JSON (keys keep their order).
        #[arg(long)]
        pretty: bool,
        /// Decide with this version of the policy (see the manifest's [[version]] tables)
        /// instead of the one in force on the case's date.
        #[arg(long, value_name = "NAME")]
        version: Option<String>,
        /// What-if: give a parameter another value, from DATE on or on every date
        /// (repeatable), e.g. --set POVERTY_LINE_SHARE=0.75.
        #[arg(long = "set", value_name = "PARAM=VALUE[@DATE]", value_parser = versions::parse_set)]
        sets: Vec<ereje_runtime::whatif::Override>,
        /// The largest case accepted, in bytes (default 1048576); a larger one is the error
        /// `case.too_large`.
        #[arg(long, value_name = "BYTES")]
        max_case_bytes: Option<usize>,
        /// Also say why a case cannot be decided, on stderr, in this language (the error line
        /// on stdout stays as the contract has it).
        #[arg(long, value_enum)]
        lang: Option<LangArg>,
        /// The deepest nesting of objects and arrays accepted (default 32); a deeper case is
        /// the error `case.too_deep`.
        #[arg(long, value_name = "LEVELS")]
        max_depth: Option<u32>,
    },
    /// Compare two policies or versions: what changed, and what it does to a population.
    #[command(after_help = EXIT_CODES_HELP, long_about = diff::LONG_ABOUT)]
    Diff(diff::DiffArgs),
    /// Write a static HTML site of a policy set: every rule, parameter, table and version.
    #[command(after_help = EXIT_CODES_HELP, long_about = doc::LONG_ABOUT)]
    Doc(doc::DocArgs),
    /// Decide one case and explain the decision in Russian, Kazakh or English.
    #[command(
        after_help = EXIT_CODES_HELP,
        long_about = "Decide one case and explain the decision: the value of every output, then \
                      each reason (a rule that holds in a group collected by `holding`, e.g. the \
                      refusal reasons of ASP) with its message in the chosen language, its legal \
                      source, the values it was computed from, why it holds (a comparison's \
                      value, threshold and distance) and the nearest change of the case at which \
                      it would no longer hold, confirmed by evaluating the changed case again; \
                      then the facts of the case used and the decisive branch of the computation. \
                      --full adds the whole computation tree."
    )]
    Explain {
        /// The policy directory (holding `ereje.toml`).
        policy_dir: PathBuf,
        /// The case: a file holding one JSON object, or `-` for stdin.
        case: PathBuf,
        /// The language of the explanation.
        #[arg(long, value_enum, default_value_t = LangArg::Ru)]
        lang: LangArg,
        /// Evaluate as of this date (YYYY-MM-DD) instead of the case's own date.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        as_of: Option<Date>,
        /// Add the whole computation tree, not only the decisive branch.
        #[arg(long)]
        full: bool,
        /// `text` (the default), `json` (the explanation as data) or `html` (one self-contained
        /// page to print or attach).
        #[arg(long, value_enum, default_value_t = FormatArg::Text)]
        format: FormatArg,
        /// Explain with this version of the policy instead of the one in force on the case's date.
        #[arg(long, value_name = "NAME")]
        version: Option<String>,
        /// What-if: give a parameter another value, from DATE on or on every date (repeatable).
        #[arg(long = "set", value_name = "PARAM=VALUE[@DATE]", value_parser = versions::parse_set)]
        sets: Vec<ereje_runtime::whatif::Override>,
        /// Write the explanation to this file instead of stdout (an HTML page to attach).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Compile a policy directory to its IR JSON (for embedding programs) and print its digest.
    #[command(after_help = EXIT_CODES_HELP)]
    Compile {
        /// The policy directory (holding `ereje.toml`).
        policy_dir: PathBuf,
        /// Where to write the IR JSON; without it, the IR goes to stdout and the digest to stderr.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// What to write: the IR as JSON, or every version of the policy as Rust source for
        /// `ereje_runtime::native` (native code, registered by the embedding program).
        #[arg(long, value_enum, default_value = "ir")]
        emit: Emit,
    },
    /// Run the policy tests kept in `<policy-dir>/tests/*.toml` and report each failure with
    /// the field, the expected and actual values and the trace path to the rule behind it.
    #[command(
        after_help = "Exit codes:\n  0  every test passed\n  1  a test failed (or the policy has errors)\n  2  a test file or case file cannot be read, or is not valid TOML or not in the test format"
    )]
    Test {
        /// The policy directory (holding `ereje.toml` and `tests/`).
        policy_dir: PathBuf,
        /// After the run, list every rule, exception and band with how many tests reached it
        /// and how many times it fired, then the ones that never fired.
        #[arg(long)]
        coverage: bool,
        /// Run only the tests whose name or file path contains this text.
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
    },
    /// Decide many cases: one decision or error line out per input line, in input order.
    #[command(after_help = batch::BATCH_HELP)]
    Batch(batch::BatchArgs),
    /// Measure the engine on a generated population and print the figures.
    Bench(bench::BenchArgs),
    /// Write a seeded, generated population of family cases as JSON Lines.
    Generate(generate::GenerateArgs),
    /// Serve the policy over HTTP and keep every decision as a record with its exact policy.
    #[command(after_help = serve::SERVE_HELP)]
    Serve(serve::ServeArgs),
    /// Set up the district commissions of the commission's app (`ereje serve`'s /app pages).
    #[command(subcommand)]
    Commission(commission::CommissionCommand),
    /// Add the people of the commission's app.
    #[command(subcommand)]
    User(commission::UserCommand),
    /// Check the commission app's audit log (exit 0 intact, 1 broken).
    #[command(subcommand)]
    Audit(commission::AuditCommand),
    /// Run the language server (LSP over stdin and stdout) for editors.
    Lsp(lsp::LspArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ErrorFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Text,
    Json,
    Html,
}

impl From<FormatArg> for explain::Format {
    fn from(format: FormatArg) -> explain::Format {
        match format {
            FormatArg::Text => explain::Format::Text,
            FormatArg::Json => explain::Format::Json,
            FormatArg::Html => explain::Format::Html,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LangArg {
    /// Русский
    Ru,
    /// Қазақша
    Kk,
    /// English
    En,
}

impl From<LangArg> for explain::Lang {
    fn from(lang: LangArg) -> explain::Lang {
        match lang {
            LangArg::Ru => explain::Lang::Ru,
            LangArg::Kk => explain::Lang::Kk,
            LangArg::En => explain::Lang::En,
        }
    }
}

pub fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse_from_str(text, "%Y-%m-%d")
        .map_err(|error| format!("`{text}` is not a date in the form YYYY-MM-DD: {error}"))
}

/// An engine for `policy` as every command builds it: with the bundled policies' native code,
/// which it uses when the policy has its shape (see `ereje_runtime::native`); any other policy
/// is evaluated without it.
pub fn engine_of(policy: ereje_runtime::ir::Policy) -> Result<Engine, ereje_runtime::LoadError> {
    Ok(Engine::new(policy)?.with_native_code(ereje_kz_native::POLICIES))
}

/// Runs the `ereje` command with the process's arguments.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check {
            policy_dir,
            error_format,
        } => check(&policy_dir, error_format),
        Command::Eval {
            policy_dir,
            case,
            as_of,
            trace,
            pretty,
            version,
            sets,
            max_case_bytes,
            max_depth,
            lang,
        } => eval(
            &policy_dir,
            &case,
            EvalChoices {
                options: EvalOptions { as_of, trace },
                pretty,
                version: version.as_deref(),
                sets: &sets,
                limits: limits(max_case_bytes, max_depth),
                lang: lang.map(explain::Lang::from),
            },
        ),
        Command::Diff(arguments) => diff::run(&arguments),
        Command::Doc(arguments) => doc::run(&arguments),
        Command::Explain {
            policy_dir,
            case,
            lang,
            as_of,
            full,
            format,
            version,
            sets,
            output,
        } => explain_case(
            &policy_dir,
            &case,
            ExplainChoices {
                lang: lang.into(),
                as_of,
                full,
                format: format.into(),
                version: version.as_deref(),
                sets: &sets,
                output: output.as_deref(),
            },
        ),
        Command::Compile {
            policy_dir,
            output,
            emit: Emit::Ir,
        } => compile(&policy_dir, output.as_deref()),
        Command::Compile {
            policy_dir,
            output,
            emit: Emit::Rust,
        } => compile_rust(&policy_dir, output.as_deref()),
        Command::Test {
            policy_dir,
            coverage,
            filter,
        } => policy_test::run_command(&policy_dir, coverage, filter.as_deref()),
        Command::Batch(args) => batch::command(&args),
        Command::Bench(args) => bench::command(&args),
        Command::Generate(args) => generate::command(&args),
        Command::Serve(args) => serve::command(&args),
        Command::Commission(command) => commission::commission_command(&command),
        Command::User(command) => commission::user_command(&command),
        Command::Audit(command) => commission::audit_command(&command),
        Command::Lsp(args) => lsp::command(&args),
    };
    ExitCode::from(code)
}

/// Writes to stdout; a closed pipe (`ereje … | head`) is not an error worth reporting.
pub fn print_stdout(text: &str) {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

pub fn print_stderr(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// Prints a diagnostic with miette's graphical handler and returns [`EXIT_IO`].
pub fn fail(report: miette::Report) -> u8 {
    print_stderr(&format!("{report:?}\n"));
    EXIT_IO
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

pub fn summary(policy_dir: &Path, compilation: &Compilation) -> String {
    format!(
        "{}: {}, {}\n",
        policy_dir.display(),
        plural(compilation.error_count(), "error", "errors"),
        plural(compilation.warning_count(), "warning", "warnings"),
    )
}

fn check(policy_dir: &Path, format: ErrorFormat) -> u8 {
    let compilation = match ereje_compiler::compile_dir(policy_dir) {
        Ok(compilation) => compilation,
        Err(error) => {
            return match format {
                ErrorFormat::Human => fail(miette::Report::new(error)),
                ErrorFormat::Json => {
                    let code = miette::Diagnostic::code(&error)
                        .map(|code| code.to_string())
                        .unwrap_or_else(|| "load".to_string());
                    let value = serde_json::json!({ "code": code, "message": error.to_string() });
                    print_stdout(&format!("{value}\n"));
                    EXIT_IO
                }
            };
        }
    };
    let errors = compilation.error_count();
    match format {
        ErrorFormat::Human => {
            print_stderr(&render_human(&compilation.reports));
            print_stderr(&summary(policy_dir, &compilation));
        }
        ErrorFormat::Json => {
            let mut json = render_json(&compilation.reports);
            json.push('\n');
            print_stdout(&json);
        }
    }
    if errors > 0 || compilation.policy.is_none() {
        EXIT_POLICY_ERRORS
    } else {
        EXIT_OK
    }
}

/// Compiles a policy directory for `eval`, `explain` and `compile`: the IR, or the exit code
/// after printing why there is none.
fn load_policy(policy_dir: &Path) -> Result<Arc<Policy>, u8> {
    let compilation = ereje_compiler::compile_dir(policy_dir)
        .map_err(|error| fail(miette::Report::new(error)))?;
    match &compilation.policy {
        Some(policy) if compilation.error_count() == 0 => Ok(Arc::clone(policy)),
        _ => {
            print_stderr(&render_human(&compilation.reports));
            print_stderr(&summary(policy_dir, &compilation));
            Err(EXIT_POLICY_ERRORS)
        }
    }
}

fn load_engine(policy_dir: &Path) -> Result<Engine, u8> {
    let policy = load_policy(policy_dir)?;
    engine_of((*policy).clone()).map_err(|error| {
        fail(miette::miette!(
            code = "load::ir",
            "the policy `{}` compiled but cannot be loaded: {error}",
            policy_dir.display()
        ))
    })
}

/// Reads a case file, or stdin for `-`. A byte-order mark at its start is skipped, with a note.
pub fn read_case(path: &Path) -> Result<String, u8> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        return io::stdin()
            .read_to_string(&mut text)
            .map(|_| files::skip_byte_order_mark(text, path))
            .map_err(|error| {
                fail(miette::miette!(
                    code = "io::stdin",
                    "cannot read the case from stdin: {error}"
                ))
            });
    }
    std::fs::read_to_string(path)
        .map(|text| files::skip_byte_order_mark(text, path))
        .map_err(|error| {
            fail(miette::miette!(
                code = "io::case",
                "cannot read the case file `{}`: {error}",
                path.display()
            ))
        })
}

/// The case limits, with the ones given on the command line in place of the defaults.
pub fn limits(max_case_bytes: Option<usize>, max_depth: Option<u32>) -> ereje_runtime::Limits {
    let defaults = ereje_runtime::Limits::default();
    ereje_runtime::Limits {
        max_case_bytes: max_case_bytes.unwrap_or(defaults.max_case_bytes),
        max_depth: max_depth.unwrap_or(defaults.max_depth),
        ..defaults
    }
}

/// What `ereje eval` was asked for.
struct EvalChoices<'a> {
    options: EvalOptions,
    pretty: bool,
    version: Option<&'a str>,
    sets: &'a [ereje_runtime::whatif::Override],
    limits: ereje_runtime::Limits,
    /// The language of the error text on stderr; `None` prints only the error line.
    lang: Option<explain::Lang>,
}

fn eval(policy_dir: &Path, case: &Path, choices: EvalChoices<'_>) -> u8 {
    let EvalChoices {
        options,
        pretty,
        version,
        sets,
        limits,
        lang,
    } = choices;
    let side = match versions::load_side_with_limits(policy_dir, version, sets, limits) {
        Ok(side) => side,
        Err(code) => return code,
    };
    let text = match read_case(case) {
        Ok(text) => text,
        Err(code) => return code,
    };
    let scratch = &mut ereje_runtime::Scratch::default();
    let Some(outcome) = side.engines.evaluate_json(&text, &options, scratch) else {
        return EXIT_POLICY_ERRORS;
    };
    let line = outcome.to_json_line();
    let mut text = if pretty {
        pretty::pretty_json(&line)
    } else {
        line
    };
    text.push('\n');
    print_stdout(&text);
    if let (CaseOutcome::Error(failure), Some(lang), Some(engine)) =
        (&outcome, lang, side.engines.first())
    {
        let text = ereje_report::case_error_text(&failure.error, engine.policy(), lang);
        print_stderr(&format!("{text}\n"));
    }
    match outcome {
        CaseOutcome::Decision(_) => EXIT_OK,
        CaseOutcome::Error(_) => EXIT_CASE_ERROR,
    }
}

/// What `ereje explain` was asked for.
struct ExplainChoices<'a> {
    lang: explain::Lang,
    as_of: Option<Date>,
    full: bool,
    format: explain::Format,
    version: Option<&'a str>,
    sets: &'a [ereje_runtime::whatif::Override],
    /// The file to write the explanation to, instead of stdout.
    output: Option<&'a Path>,
}

fn explain_case(policy_dir: &Path, case: &Path, choices: ExplainChoices<'_>) -> u8 {
    let ExplainChoices {
        lang,
        as_of,
        full,
        format,
        version,
        sets,
        output,
    } = choices;
    let side = match versions::load_side(policy_dir, version, sets) {
        Ok(side) => side,
        Err(code) => return code,
    };
    let text = match read_case(case) {
        Ok(text) => text,
        Err(code) => return code,
    };
    // The version in force on the case's date (or the one asked for).
    let date = as_of.or_else(|| {
        side.engines
            .first()
            .and_then(|engine| engine.read_case(&text).ok())
            .and_then(|case| case.as_of())
    });
    let Some(engine) = side.engines.pick(date) else {
        return EXIT_POLICY_ERRORS;
    };
    let options = ereje_runtime::ExplainOptions {
        as_of,
        full_trace: full,
    };
    match explain::explain(engine, &text, &options, format, lang) {
        Ok(rendered) => match output {
            Some(path) => match std::fs::write(path, rendered.as_bytes()) {
                Ok(()) => EXIT_OK,
                Err(error) => fail(miette::miette!(
                    code = "io::output",
                    "cannot write the explanation to `{}`: {error}",
                    path.display()
                )),
            },
            None => {
                print_stdout(&rendered);
                EXIT_OK
            }
        },
        Err(failure) => {
            let mut line = failure.to_json_line();
            line.push('\n');
            print_stdout(&line);
            let text = ereje_report::case_error_text(&failure.error, engine.policy(), lang);
            print_stderr(&format!("{text}\n"));
            EXIT_CASE_ERROR
        }
    }
}

/// What `ereje compile` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Emit {
    /// The IR as JSON.
    Ir,
    /// Rust source: every version of the policy compiled for `ereje_runtime::native`.
    Rust,
}

fn compile_rust(policy_dir: &Path, output: Option<&Path>) -> u8 {
    let source = match ereje_compiler::native::emit_rust_for_dir(
        policy_dir,
        "Written by `ereje compile <policy-dir> --emit rust`; run it again after an edit.",
    ) {
        Ok(source) => source,
        Err(message) => return fail(miette::miette!(code = "compile::rust", "{message}")),
    };
    match output {
        Some(path) => {
            if let Err(error) = std::fs::write(path, source.as_bytes()) {
                return fail(miette::miette!(
                    code = "io::output",
                    "cannot write the Rust source to `{}`: {error}",
                    path.display()
                ));
            }
        }
        None => print_stdout(&source),
    }
    EXIT_OK
}

fn compile(policy_dir: &Path, output: Option<&Path>) -> u8 {
    let engine = match load_engine(policy_dir) {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let json = match serde_json::to_string(engine.policy()) {
        Ok(json) => json,
        Err(error) => {
            return fail(miette::miette!(
                code = "compile::serialize",
                "the IR cannot be serialized: {error}"
            ))
        }
    };
    match output {
        Some(path) => {
            if let Err(error) = std::fs::write(path, json.as_bytes()) {
                return fail(miette::miette!(
                    code = "io::output",
                    "cannot write the IR to `{}`: {error}",
                    path.display()
                ));
            }
            print_stdout(&format!("{}\n", engine.digest()));
        }
        None => {
            print_stdout(&format!("{json}\n"));
            print_stderr(&format!("{}\n", engine.digest()));
        }
    }
    EXIT_OK
}
