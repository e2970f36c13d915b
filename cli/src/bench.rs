//! `ereje bench`: the benchmark suite, printed as a table of figures.
//!
//! Every figure is measured over several rounds on a generated population
//! ([`crate::generate`]); the best and the median round are printed. Timings on a machine that
//! other work shares are noisy: compare medians, and run the command more than once.
//!
//! Evaluation is measured as a batch evaluates: each case right after it is read (four at a
//! time, see [`BLOCK`]), by native code where the policy has some (the `ereje` binary gives
//! every engine the bundled policies'), and for comparison by the closure evaluator and the interpreter of
//! the same policy; the evaluation of a population read into memory first is printed too. The
//! hand-written ASP is timed block by block in turn with the engine, so that their ratio is
//! steady even when the machine is not.
//!
//! The module also holds a hand-written Rust implementation of the ASP baseline rules of
//! `policy-brief.md` (income period, counted income, per-capita income, poverty line, income
//! test, contract ban, able-bodied members, aid kind, contract signed, amount, child supplements,
//! total). It exists only here, as the limit the engine is compared with: the product never uses
//! it, and nothing else in the engine knows any kz rule.

use std::hint::black_box;
use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{Datelike, Months, NaiveDate};
use ereje_runtime::{Case, Decision, Engine, EvalOptions, Scratch};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::batch::{self, BatchOptions};
use crate::generate;

/// What to measure.
pub struct BenchOptions {
    pub cases: u64,
    pub seed: u64,
    pub rounds: usize,
    /// Cases of the peak-memory batch run (0 skips it).
    pub memory_cases: u64,
}

/// Best and median of a set of per-round measurements, in microseconds per unit.
struct Figure {
    best: f64,
    median: f64,
}

impl Figure {
    fn of(mut samples: Vec<f64>) -> Figure {
        samples.sort_by(f64::total_cmp);
        let best = samples.first().copied().unwrap_or(f64::NAN);
        let median = samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN);
        Figure { best, median }
    }
}

/// Cases read and then evaluated together: few enough that a block stays in the core's
/// first-level cache, as a batch's case does between its reading and its evaluation, and
/// enough that reading the clock twice a block costs nothing measurable.
const BLOCK: usize = 4;

/// Evaluation of every case of `texts` right after it is read, as a batch evaluates: the
/// cases are read a block at a time (not timed), then the block is evaluated (timed).
///
/// Rationale: a batch reads a line and decides it at once, so the case's records are still in
/// the core's caches. Cases read all at once before the timed loop (the earlier method, still
/// printed as "population read first") come from main memory instead, which adds about
/// 1.5 µs a case whatever the evaluator.
fn evaluate_fresh(engine: &Engine, texts: &[&str], options: &EvalOptions, rounds: usize) -> Figure {
    let mut count = 0u64;
    let samples = (0..rounds.max(1))
        .map(|_| {
            let mut scratch = Scratch::default();
            let mut total = Duration::ZERO;
            let mut block: Vec<Case> = Vec::with_capacity(BLOCK);
            count = 0;
            for chunk in texts.chunks(BLOCK) {
                block.clear();
                block.extend(chunk.iter().filter_map(|text| engine.read_case(text).ok()));
                count += block.len() as u64;
                let started = Instant::now();
                for case in &block {
                    let _ = black_box(engine.evaluate_with(case, options, &mut scratch));
                }
                total += started.elapsed();
            }
            total.as_secs_f64() * 1e6 / count.max(1) as f64
        })
        .collect();
    Figure::of(samples)
}

/// The engine and the hand-written ASP measured side by side.
struct SideBySide {
    engine: Figure,
    hand: Figure,
    /// The ratio of each round's two times.
    ratio: Figure,
}

/// The engine's evaluation (no trace) and the hand-written ASP on every case of `texts`, each
/// block of cases read for both (not timed), then evaluated by one and by the other in turn.
fn side_by_side(
    engine: &Engine,
    texts: &[&str],
    rounds: usize,
    hand: &HandParameters,
) -> SideBySide {
    let options = EvalOptions::default();
    let mut engine_samples = Vec::new();
    let mut hand_samples = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..rounds.max(1) {
        let mut scratch = Scratch::default();
        let (mut engine_time, mut hand_time) = (Duration::ZERO, Duration::ZERO);
        let (mut engine_count, mut hand_count) = (0u64, 0u64);
        let mut cases: Vec<Case> = Vec::with_capacity(BLOCK);
        let mut hand_cases: Vec<HandCase> = Vec::with_capacity(BLOCK);
        for chunk in texts.chunks(BLOCK) {
            cases.clear();
            cases.extend(chunk.iter().filter_map(|text| engine.read_case(text).ok()));
            hand_cases.clear();
            hand_cases.extend(chunk.iter().filter_map(|text| HandCase::from_json(text)));
            engine_count += cases.len() as u64;
            hand_count += hand_cases.len() as u64;
            let started = Instant::now();
            for case in &cases {
                let _ = black_box(engine.evaluate_with(case, &options, &mut scratch));
            }
            engine_time += started.elapsed();
            let started = Instant::now();
            for case in &hand_cases {
                black_box(hand_written_asp(black_box(case), hand));
            }
            hand_time += started.elapsed();
        }
        let engine_per = engine_time.as_secs_f64() * 1e6 / engine_count.max(1) as f64;
        let hand_per = hand_time.as_secs_f64() * 1e6 / hand_count.max(1) as f64;
        engine_samples.push(engine_per);
        hand_samples.push(hand_per);
        ratios.push(engine_per / hand_per);
    }
    SideBySide {
        engine: Figure::of(engine_samples),
        hand: Figure::of(hand_samples),
        ratio: Figure::of(ratios),
    }
}

/// The targets of a batch figure: issue 4's for a batch in memory, issue 18's for a batch
/// from a file to a file.
struct BatchTargets {
    in_memory: &'static str,
    file_to_file: &'static str,
}

/// The batch figures printed: threads, traces written, and their targets.
const BATCH_FIGURES: [(usize, bool, BatchTargets); 4] = [
    (
        1,
        false,
        BatchTargets {
            in_memory: "",
            file_to_file: ">= 200000",
        },
    ),
    (
        2,
        false,
        BatchTargets {
            in_memory: ">= 150000",
            file_to_file: ">= 350000",
        },
    ),
    (
        1,
        true,
        BatchTargets {
            in_memory: "",
            file_to_file: "",
        },
    ),
    (
        2,
        true,
        BatchTargets {
            in_memory: ">= 30000",
            file_to_file: ">= 60000",
        },
    ),
];

fn batch_label(threads: usize, trace: bool) -> String {
    format!(
        "{threads} thread{}, {}",
        if threads == 1 { "" } else { "s" },
        if trace { "traces written" } else { "no trace" }
    )
}

fn batch_options(threads: usize, trace: bool) -> BatchOptions {
    BatchOptions::new(
        threads,
        EvalOptions {
            trace,
            ..EvalOptions::default()
        },
    )
}

/// Runs a batch `rounds` times (each returning its summary, or `None` when it failed, and the
/// time taken) and gives the rates in cases per second, the highest as the best.
fn rate(rounds: usize, mut round: impl FnMut() -> (Option<batch::Summary>, Duration)) -> Figure {
    let samples = (0..rounds.max(1))
        .map(|_| match round() {
            (Some(summary), elapsed) if elapsed > Duration::ZERO => {
                summary.cases as f64 / elapsed.as_secs_f64()
            }
            _ => 0.0,
        })
        .collect::<Vec<f64>>();
    // For a rate, the best is the highest: flip the order so `best` reads right.
    let mut figure = Figure::of(samples.iter().map(|rate| -rate).collect());
    figure.best = -figure.best;
    figure.median = -figure.median;
    figure
}

/// A folder of the system's temporary directory for the file-to-file batch, removed when
/// dropped.
struct BenchFolder {
    path: std::path::PathBuf,
}

impl BenchFolder {
    fn create() -> Result<BenchFolder, String> {
        let path = std::env::temp_dir().join(format!("ereje-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
        Ok(BenchFolder { path })
    }
}

impl Drop for BenchFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs `round` `rounds` times; each returns the time taken, divided by `units`.
fn measure(rounds: usize, units: u64, mut round: impl FnMut() -> Duration) -> Figure {
    let samples = (0..rounds.max(1))
        .map(|_| round().as_secs_f64() * 1e6 / units.max(1) as f64)
        .collect();
    Figure::of(samples)
}

fn line(out: &mut String, what: &str, figure: &Figure, unit: &str, target: &str) {
    out.push_str(&format!(
        "{what:<58} {:>12.3} {:>12.3}  {unit:<10} {target}\n",
        figure.best, figure.median
    ));
}

/// Runs the whole suite and returns the report, or why it could not run.
pub fn run(policy_dir: &Path, options: &BenchOptions) -> Result<String, String> {
    let mut out = String::new();
    let rounds = options.rounds.max(1);
    // The generated cases draw from the policy's own `population.toml`, else the bundled set's.
    let generated = if policy_dir.join(generate::POPULATION_FILE).exists() {
        generate::Population::load(policy_dir)?
    } else {
        generate::Population::bundled()?.clone()
    };

    // Peak memory first, so that the process's high-water mark is the batch run's own.
    let memory = if options.memory_cases > 0 {
        let engine = load_engine(policy_dir)?;
        let reader = std::io::BufReader::with_capacity(
            256 * 1024,
            generate::PopulationReader::of(generated.clone(), options.seed, options.memory_cases),
        );
        let batch_options = BatchOptions::new(2, EvalOptions::default());
        let versions = ereje_compiler::versions::VersionSet::single(engine.clone());
        let summary = batch::run_batch(&versions, reader, &mut std::io::sink(), &batch_options)
            .map_err(|error| format!("the peak-memory batch failed: {error}"))?;
        Some(summary)
    } else {
        None
    };

    let engine = load_engine(policy_dir)?;
    let mut population = String::new();
    generate::write_population_of(&generated, &mut population, options.seed, options.cases);
    let cases: Vec<Case> = population
        .lines()
        .filter_map(|line| engine.read_case(line).ok())
        .collect();
    let count = cases.len() as u64;
    // The fast case reader must give what the checked reader gives, record paths included.
    let readers_agree = population
        .lines()
        .filter(|line| {
            format!("{:?}", engine.read_case(line))
                == format!("{:?}", engine.read_case_checked(line))
        })
        .count();
    let fast_reads = population
        .lines()
        .filter(|line| engine.fast_reader_reads(line))
        .count();
    out.push_str(&format!(
        "ereje bench: policy {} {} ({}), {} generated cases (seed {}), {} read without error, {} rounds\n",
        engine.policy().name,
        engine.policy().version,
        policy_dir.display(),
        options.cases,
        options.seed,
        count,
        rounds
    ));
    out.push_str(&format!(
        "fast case reader agrees with the checked reader on {readers_agree} of {} cases, reads {fast_reads} alone\n",
        options.cases
    ));
    // Native code and the closure evaluator must each give what the interpreter gives, byte
    // for byte, and finish the cases alone (or the figures would be the interpreter's).
    let plain_options = EvalOptions::default();
    let traced_options = EvalOptions {
        trace: true,
        ..EvalOptions::default()
    };
    let closures = engine.clone().without_native();
    match engine.native_code() {
        Some(native) => {
            let agree = |options: &EvalOptions, sample: usize| {
                cases
                    .iter()
                    .take(sample)
                    .filter(|case| {
                        let (native, interpreted) = engine.evaluator_outcomes(case, options);
                        native == interpreted
                    })
                    .count()
            };
            let alone = cases
                .iter()
                .filter(|case| engine.native_evaluates(case, &plain_options))
                .count();
            let traced_sample = cases.len().min(2_000);
            out.push_str(&format!(
                "native code ({} {}, shape {}) agrees with the interpreter on {} of {count} cases, evaluates {alone} alone; with traces, {} of {traced_sample}\n",
                native.name,
                native.version,
                native.shape.get(..15).unwrap_or(native.shape),
                agree(&plain_options, cases.len()),
                agree(&traced_options, traced_sample),
            ));
        }
        None => out.push_str(
            "native code: none for this policy's shape (the figures below marked native are the closure evaluator's)\n",
        ),
    }
    let compiled_agrees = cases
        .iter()
        .filter(|case| {
            let (compiled, interpreted) = closures.evaluator_outcomes(case, &plain_options);
            compiled == interpreted
        })
        .count();
    let compiled_alone = cases
        .iter()
        .filter(|case| closures.compiled_evaluates(case, &plain_options))
        .count();
    out.push_str(&format!(
        "closure evaluator agrees with the interpreter on {compiled_agrees} of {count} cases, evaluates {compiled_alone} alone\n",
    ));
    out.push_str(&format!(
        "machine: {} cores, {}\n\n",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model()
    ));
    out.push_str(&format!(
        "{:<58} {:>12} {:>12}  {:<10} target\n",
        "figure", "best", "median", "unit"
    ));

    let parse = measure(rounds, options.cases, || {
        let started = Instant::now();
        for text in population.lines() {
            let _ = black_box(engine.read_case(black_box(text)));
        }
        started.elapsed()
    });
    line(
        &mut out,
        "case reading (JSON text -> typed case)",
        &parse,
        "us/case",
        "<= 1.5",
    );

    let plain = EvalOptions::default();
    let traced = EvalOptions {
        trace: true,
        ..EvalOptions::default()
    };
    let texts: Vec<&str> = population.lines().collect();
    let without_trace = evaluate_fresh(&engine, &texts, &plain, rounds);
    line(
        &mut out,
        "evaluation, no trace: native code",
        &without_trace,
        "us/case",
        "<= 2",
    );
    let with_trace = evaluate_fresh(&engine, &texts, &traced, rounds);
    line(
        &mut out,
        "evaluation, full trace kept in memory: native code",
        &with_trace,
        "us/case",
        "<= 10",
    );
    line(
        &mut out,
        "evaluation, no trace: closure evaluator (edited policy)",
        &evaluate_fresh(&closures, &texts, &plain, rounds),
        "us/case",
        "<= 3",
    );
    line(
        &mut out,
        "evaluation, full trace kept in memory: interpreter",
        &evaluate_fresh(&closures, &texts, &traced, rounds),
        "us/case",
        "",
    );
    // The same over the population read into memory first: every case comes from main
    // memory, as no batch reads them (see BENCHMARKS.md).
    let evaluate_read_first = |options: &EvalOptions| {
        measure(rounds, count, || {
            let mut scratch = Scratch::default();
            let started = Instant::now();
            for case in &cases {
                let _ = black_box(engine.evaluate_with(case, options, &mut scratch));
            }
            started.elapsed()
        })
    };
    line(
        &mut out,
        "evaluation, no trace: native, population read first",
        &evaluate_read_first(&plain),
        "us/case",
        "",
    );
    line(
        &mut out,
        "evaluation, full trace: native, population read first",
        &evaluate_read_first(&traced),
        "us/case",
        "",
    );

    // Serialization: the decisions of the first few thousand cases, written into one buffer.
    let sample: Vec<&Case> = cases.iter().take(5_000).collect();
    let mut scratch = Scratch::default();
    let decisions: Vec<Decision> = sample
        .iter()
        .filter_map(|case| engine.evaluate_with(case, &plain, &mut scratch).ok())
        .collect();
    let traced_decisions: Vec<Decision> = sample
        .iter()
        .filter_map(|case| engine.evaluate_with(case, &traced, &mut scratch).ok())
        .collect();
    let serialize = |decisions: &[Decision]| {
        measure(rounds, decisions.len() as u64, || {
            let mut buffer = String::with_capacity(1 << 20);
            let started = Instant::now();
            for decision in decisions {
                buffer.clear();
                decision.write_json(&mut buffer);
                black_box(&buffer);
            }
            started.elapsed()
        })
    };
    line(
        &mut out,
        "decision JSON writing, no trace",
        &serialize(&decisions),
        "us/case",
        "<= 0.7",
    );
    line(
        &mut out,
        "decision JSON writing, with its trace",
        &serialize(&traced_decisions),
        "us/case",
        "<= 10",
    );
    let average_trace_bytes = traced_decisions
        .iter()
        .map(|decision| decision.to_json_string().len())
        .sum::<usize>()
        / traced_decisions.len().max(1);

    // End to end: JSON Lines text in memory in, JSON Lines out (counted, then dropped).
    let versions = ereje_compiler::versions::VersionSet::single(engine.clone());
    let in_memory = |threads: usize, trace: bool| {
        rate(rounds, || {
            let mut sink = CountingSink::default();
            let started = Instant::now();
            let result = batch::run_batch(
                &versions,
                Cursor::new(population.as_bytes()),
                &mut sink,
                &batch_options(threads, trace),
            );
            (result.ok(), started.elapsed())
        })
    };
    for (threads, trace, target) in BATCH_FIGURES {
        line(
            &mut out,
            &format!(
                "batch JSONL->JSONL in memory, {}",
                batch_label(threads, trace)
            ),
            &in_memory(threads, trace),
            "cases/s",
            target.in_memory,
        );
    }
    // End to end as a user runs it: the population in a file, the decisions to a file, as
    // `ereje batch CASES -o OUT` opens them (a 256 KiB reader, the file written unbuffered).
    let folder = BenchFolder::create()?;
    let cases_path = folder.path.join("cases.jsonl");
    let decisions_path = folder.path.join("decisions.jsonl");
    std::fs::write(&cases_path, population.as_bytes())
        .map_err(|error| format!("cannot write {}: {error}", cases_path.display()))?;
    let file_to_file = |threads: usize, trace: bool| {
        rate(rounds, || {
            let started = Instant::now();
            let result = std::fs::File::open(&cases_path)
                .and_then(|input| {
                    let output = std::fs::File::create(&decisions_path)?;
                    Ok((input, output))
                })
                .and_then(|(input, mut output)| {
                    let input = std::io::BufReader::with_capacity(256 * 1024, input);
                    batch::run_batch(
                        &versions,
                        input,
                        &mut output,
                        &batch_options(threads, trace),
                    )
                });
            (result.ok(), started.elapsed())
        })
    };
    for (threads, trace, target) in BATCH_FIGURES {
        line(
            &mut out,
            &format!("batch file->file, {}", batch_label(threads, trace)),
            &file_to_file(threads, trace),
            "cases/s",
            target.file_to_file,
        );
    }
    drop(folder);

    let (cold, recheck) = compile_times(policy_dir, rounds.max(5))?;
    line(
        &mut out,
        "cold compile (fresh Workspace: read, parse, check)",
        &cold,
        "ms",
        "< 50",
    );
    match recheck {
        Some(recheck) => line(
            &mut out,
            "re-check after a one-rule edit",
            &recheck,
            "ms",
            "< 5",
        ),
        None => out
            .push_str("re-check after a one-rule edit: no rule with an English message to edit\n"),
    }

    // The hand-written ASP baseline, on the same cases, each read into its own types just
    // before, as the engine's are; timed block by block in turn with the engine's evaluation,
    // so that both share the same minutes of a shared machine and their ratio is steady.
    // Like for like: the engine deciding the `asp` output alone (and the case checks), against
    // the same hand-written rules. The whole set also scores welfare and local support.
    let mut asp_policy = engine.policy().clone();
    asp_policy.outputs.retain(|output| output.name == "asp");
    let asp_engine = if asp_policy.outputs.is_empty() {
        None
    } else {
        crate::engine_of(asp_policy).ok()
    };
    // The hand-written rules read their values (MRP, ПМ, shares, the regional table) from the
    // policy itself, outside the timed loop; a policy without them has no baseline.
    let hand = match HandParameters::of(engine.policy()) {
        Ok(hand) => hand,
        Err(missing) => {
            out.push_str(&format!(
                "hand-written ASP baseline: skipped, the policy has no {missing}\n"
            ));
            return Ok(out);
        }
    };
    let whole = side_by_side(&engine, &texts, rounds, &hand);
    line(
        &mut out,
        "hand-written ASP baseline (limit)",
        &whole.hand,
        "us/case",
        "",
    );
    line(
        &mut out,
        "ratio engine (whole set) / hand-written ASP",
        &whole.ratio,
        "x",
        "",
    );
    if let Some(asp_engine) = asp_engine {
        let asp = side_by_side(&asp_engine, &texts, rounds, &hand);
        let native_asp = if asp_engine.native_code().is_some() {
            "native code"
        } else {
            "closure evaluator"
        };
        line(
            &mut out,
            &format!("evaluation of the `asp` output alone: {native_asp}"),
            &asp.engine,
            "us/case",
            "",
        );
        line(
            &mut out,
            "ratio engine (`asp` alone) / hand-written ASP",
            &asp.ratio,
            "x",
            "<= 5",
        );
    }
    let hand_cases: Vec<HandCase> = population.lines().filter_map(HandCase::from_json).collect();
    let (agreeing, compared) = agreement(&engine, &cases, &hand_cases, &hand);
    out.push_str(&format!(
        "\nhand-written ASP agrees with the engine's `asp` outcome and total on {agreeing} of {compared} cases outside the pilot\n"
    ));
    out.push_str(&format!(
        "average decision line with its trace: {average_trace_bytes} bytes\n"
    ));
    match memory {
        Some(summary) => out.push_str(&format!(
            "peak memory (VmHWM) of a {}-case batch, 2 threads, generated input streamed, output discarded: {} ({:.0} cases/s); target < 200 MB\n",
            summary.cases,
            summary
                .peak_memory_bytes
                .map_or("unknown".to_string(), |bytes| format!("{:.1} MB", bytes as f64 / 1_048_576.0)),
            summary.cases_per_second()
        )),
        None => out.push_str("peak memory: skipped (--memory-cases 0)\n"),
    }
    Ok(out)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".to_string())
}

fn load_engine(policy_dir: &Path) -> Result<Engine, String> {
    let compilation = ereje_compiler::compile_dir(policy_dir)
        .map_err(|error| format!("cannot load `{}`: {error}", policy_dir.display()))?;
    let policy = match &compilation.policy {
        Some(policy) if compilation.error_count() == 0 => policy.clone(),
        _ => {
            return Err(format!(
                "`{}` has errors: run `ereje check`",
                policy_dir.display()
            ))
        }
    };
    crate::engine_of((*policy).clone())
        .map_err(|error| format!("the policy cannot be loaded: {error}"))
}

/// Cold compile (a fresh workspace each round) and re-check after one edit, in milliseconds.
fn compile_times(policy_dir: &Path, rounds: usize) -> Result<(Figure, Option<Figure>), String> {
    let cold = Figure::of(
        (0..rounds)
            .map(|_| {
                let started = Instant::now();
                let compiled = ereje_compiler::Workspace::load(policy_dir).map(|workspace| {
                    black_box(workspace.compile().policy.is_some());
                });
                let elapsed = started.elapsed().as_secs_f64() * 1e3;
                compiled.map(|()| elapsed)
            })
            .collect::<Result<Vec<f64>, _>>()
            .map_err(|error| format!("cannot load `{}`: {error}", policy_dir.display()))?,
    );
    let mut workspace = ereje_compiler::Workspace::load(policy_dir)
        .map_err(|error| format!("cannot load `{}`: {error}", policy_dir.display()))?;
    workspace.compile();
    // The edit: a character added to (then removed from) the English message of the first rule
    // that has one. It changes that rule's syntax, so that rule is parsed and checked again and
    // the policy reassembled.
    let marker = "message en \"";
    let mut target = None;
    for module in workspace.manifest().modules.clone() {
        if let Some(text) = workspace.file_text(&module) {
            if let Some(position) = text.find(marker) {
                target = Some((module, text.to_string(), position + marker.len()));
                break;
            }
        }
    }
    let Some((module, original, position)) = target else {
        return Ok((cold, None));
    };
    let mut edited = original.clone();
    edited.insert(position, '*');
    let samples = (0..rounds * 2)
        .map(|round| {
            let text = if round % 2 == 0 { &edited } else { &original };
            let started = Instant::now();
            workspace.set_file_text(&module, text.clone());
            black_box(workspace.compile().policy.is_some());
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    Ok((cold, Some(Figure::of(samples))))
}

/// A writer that counts bytes and keeps none.
#[derive(Default)]
struct CountingSink {
    bytes: u64,
}

impl std::io::Write for CountingSink {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        self.bytes += buffer.len() as u64;
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The hand-written ASP baseline.

/// One member as the hand-written rules need it.
pub struct HandMember {
    birth: NaiveDate,
    male: bool,
    /// Disability group 1 or 2.
    severe_disability: bool,
    student: bool,
    carer: bool,
    /// (year, month, amount) of every income of a kind that counts.
    incomes: Vec<(i32, u32, Decimal)>,
}

/// One case as the hand-written rules need it.
pub struct HandCase {
    case_id: String,
    application: NaiveDate,
    region: Option<String>,
    members: Vec<HandMember>,
    terminated_on: Option<NaiveDate>,
    signed: bool,
    pilot: bool,
}

fn date_of(value: &serde_json::Value) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value.as_str()?, "%Y-%m-%d").ok()
}

fn money_of(value: &serde_json::Value) -> Option<Decimal> {
    match value {
        serde_json::Value::String(text) => text.parse().ok(),
        serde_json::Value::Number(number) => number.to_string().parse().ok(),
        _ => None,
    }
}

impl HandCase {
    /// Reads a case from its JSON (outside the timed loop); `None` when it lacks a field.
    pub fn from_json(text: &str) -> Option<HandCase> {
        let json: serde_json::Value = serde_json::from_str(text).ok()?;
        let excluded = ["asp", "asp_child_supplement", "one_time_aid", "housing_aid"];
        let mut members = Vec::new();
        for member in json.get("members")?.as_array()? {
            let mut incomes = Vec::new();
            for income in member
                .get("incomes")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let kind = income.get("kind")?.as_str()?;
                if excluded.contains(&kind) {
                    continue;
                }
                let month = income.get("month")?.as_str()?;
                let year: i32 = month.get(0..4)?.parse().ok()?;
                let number: u32 = month.get(5..7)?.parse().ok()?;
                incomes.push((year, number, money_of(income.get("amount")?)?));
            }
            let flag = |name: &str| member.get(name).and_then(|v| v.as_bool()).unwrap_or(false);
            let group = member.get("disability_group").and_then(|v| v.as_i64());
            members.push(HandMember {
                birth: date_of(member.get("birth_date")?)?,
                male: member.get("sex")?.as_str()? == "male",
                severe_disability: matches!(group, Some(1 | 2)),
                student: flag("full_time_student"),
                carer: flag("carer"),
                incomes,
            });
        }
        let contract = json.get("social_contract");
        Some(HandCase {
            case_id: json.get("case_id")?.as_str()?.to_string(),
            application: date_of(json.get("application_date")?)?,
            region: json
                .get("region")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            members,
            terminated_on: contract
                .and_then(|c| c.get("terminated_on"))
                .and_then(date_of),
            signed: contract
                .and_then(|c| c.get("signed"))
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            pilot: json
                .get("pilot")
                .and_then(|p| p.get("enrolled"))
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        })
    }
}

/// What the hand-written rules decide.
#[derive(Debug, Clone, PartialEq)]
pub struct HandDecision {
    pub granted: bool,
    pub monthly_total: Decimal,
}

fn age(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut years = on.year() - birth.year();
    let mut birthday = (birth.month(), birth.day());
    if birthday == (2, 29) && NaiveDate::from_ymd_opt(on.year(), 2, 29).is_none() {
        birthday = (2, 28);
    }
    if (on.month(), on.day()) < birthday {
        years -= 1;
    }
    years
}

/// The values the hand-written ASP reads, taken from the policy's parameters and its regional
/// table once, before anything is timed: the rules are written in Rust, their figures are the
/// policy's, so that a new year's parameters or a corrected table row need no Rust edit.
pub struct HandParameters {
    /// `MRP` (the monthly calculation index) from each date.
    mrp: Vec<(NaiveDate, Decimal)>,
    /// `PM` (the subsistence minimum) from each date.
    pm: Vec<(NaiveDate, Decimal)>,
    /// `POVERTY_LINE_SHARE` of `PM`: the national poverty line.
    national_share: Decimal,
    /// `RETIREMENT_AGE_MEN` and `RETIREMENT_AGE_WOMEN`.
    retirement_men: i64,
    retirement_women: i64,
    /// `REGIONAL_POVERTY`: region, year and quarter, and the regional poverty line (its
    /// published line, else the larger of `MEDIAN_INCOME_SHARE` of the median income and
    /// `REGIONAL_PM_SHARE` of the subsistence minimum).
    regional: Vec<(String, i32, u32, Decimal)>,
}

impl HandParameters {
    /// The values of `policy`, or the name of the first one it lacks.
    pub fn of(policy: &ereje_runtime::ir::Policy) -> Result<HandParameters, String> {
        use ereje_runtime::value::Value;
        let param = |name: &str| {
            policy
                .params
                .iter()
                .find(|param| param.name == name)
                .ok_or(format!("parameter `{name}`"))
        };
        let decimals = |name: &str| -> Result<Vec<(NaiveDate, Decimal)>, String> {
            param(name)?
                .values
                .iter()
                .map(|value| match &value.value {
                    Value::Decimal(decimal) => Ok((value.from, *decimal)),
                    Value::Integer(integer) => Ok((value.from, Decimal::from(*integer))),
                    _ => Err(format!("number as parameter `{name}`")),
                })
                .collect()
        };
        let first = |name: &str| -> Result<Decimal, String> {
            decimals(name)?
                .first()
                .map(|(_, value)| *value)
                .ok_or(format!("value of parameter `{name}`"))
        };
        let whole = |name: &str| -> Result<i64, String> {
            match param(name)?.values.first().map(|value| &value.value) {
                Some(Value::Integer(integer)) => Ok(*integer),
                _ => Err(format!("whole number as parameter `{name}`")),
            }
        };
        let table = policy
            .tables
            .iter()
            .find(|table| table.name == "REGIONAL_POVERTY")
            .ok_or("table `REGIONAL_POVERTY`")?;
        let median_share = first("MEDIAN_INCOME_SHARE")?;
        let regional_pm_share = first("REGIONAL_PM_SHARE")?;
        let mut regional = Vec::new();
        for row in &table.rows {
            let (Some(Value::Text(region)), Some(Value::Quarter(quarter)), Value::Record(record)) =
                (row.key.first(), row.key.get(1), &row.value)
            else {
                return Err("row of region, quarter and figures in `REGIONAL_POVERTY`".into());
            };
            let money = |position: usize| match record.fields.get(position) {
                Some(Value::Decimal(decimal)) => Some(*decimal),
                _ => None,
            };
            // The published line where there is one, else the larger of the two shares.
            let line = match (money(2), money(0), money(1)) {
                (Some(published), _, _) => published,
                (None, Some(pm), Some(median)) => (median * median_share)
                    .max(pm * regional_pm_share)
                    .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero),
                _ => continue,
            };
            regional.push((region.to_string(), quarter.year, quarter.quarter, line));
        }
        Ok(HandParameters {
            mrp: decimals("MRP")?,
            pm: decimals("PM")?,
            national_share: first("POVERTY_LINE_SHARE")?,
            retirement_men: whole("RETIREMENT_AGE_MEN")?,
            retirement_women: whole("RETIREMENT_AGE_WOMEN")?,
            regional,
        })
    }

    /// The value of `values` in force on `date` (the earliest before the first).
    fn on(values: &[(NaiveDate, Decimal)], date: NaiveDate) -> Decimal {
        let position = values.partition_point(|(from, _)| *from <= date);
        values
            .get(position.saturating_sub(1))
            .map_or(Decimal::ZERO, |(_, value)| *value)
    }

    /// The regional poverty line of `region` for the data quarter, where the table gives one.
    fn regional_line(&self, region: &str, year: i32, quarter: u32) -> Option<Decimal> {
        self.regional
            .iter()
            .find(|(name, row_year, row_quarter, _)| {
                name == region && *row_year == year && *row_quarter == quarter
            })
            .map(|(_, _, _, line)| *line)
    }
}

/// The ASP baseline of `policy-brief.md`, written directly in Rust.
pub fn hand_written_asp(case: &HandCase, parameters: &HandParameters) -> HandDecision {
    let application = case.application;
    let year = application.year();
    let mrp = HandParameters::on(&parameters.mrp, application);
    let pm = HandParameters::on(&parameters.pm, application);
    let quarter = (application.month() - 1) / 3 + 1;
    let (period_year, period_quarter) = if quarter == 1 {
        (year - 1, 4)
    } else {
        (year, quarter - 1)
    };
    let n = Decimal::from(case.members.len() as u64);
    let mut counted = Decimal::ZERO;
    for member in &case.members {
        for (income_year, month, amount) in &member.incomes {
            if *income_year == period_year && (month - 1) / 3 + 1 == period_quarter {
                counted += amount;
            }
        }
    }
    let per_capita = (counted / Decimal::from(3)).normalize() / n;
    let per_capita = per_capita.normalize();
    let line = case
        .region
        .as_deref()
        .and_then(|region| parameters.regional_line(region, period_year, period_quarter))
        .unwrap_or_else(|| {
            (pm * parameters.national_share)
                .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        });
    let income_test = per_capita >= line;
    let contract_ban = case
        .terminated_on
        .and_then(|terminated| terminated.checked_add_months(Months::new(6)))
        .is_some_and(|until| application < until);
    let able_bodied = case.members.iter().any(|member| {
        let years = age(member.birth, application);
        let retirement = if member.male {
            parameters.retirement_men
        } else {
            parameters.retirement_women
        };
        years >= 18
            && i64::from(years) < retirement
            && !member.severe_disability
            && !member.student
            && !member.carer
    });
    let contract_unsigned = able_bodied && !case.signed;
    let granted = !income_test && !contract_ban && !contract_unsigned;
    if !granted {
        return HandDecision {
            granted,
            monthly_total: Decimal::ZERO,
        };
    }
    let amount =
        ((line - per_capita) * n).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let supplement = (mrp * Decimal::new(15, 1))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let children = case
        .members
        .iter()
        .filter(|member| (1..=6).contains(&age(member.birth, application)))
        .count();
    HandDecision {
        granted,
        monthly_total: amount + supplement * Decimal::from(children as u64),
    }
}

/// How many cases outside the pilot the hand-written rules decide as the engine does (outcome
/// and monthly total of the `asp` output), of how many were compared.
fn agreement(
    engine: &Engine,
    cases: &[Case],
    hand_cases: &[HandCase],
    hand: &HandParameters,
) -> (usize, usize) {
    let mut scratch = Scratch::default();
    let mut agreeing = 0;
    let mut compared = 0;
    for (case, hand_case) in cases.iter().zip(hand_cases) {
        if hand_case.pilot || case.case_id() != Some(hand_case.case_id.as_str()) {
            continue;
        }
        let Ok(decision) = engine.evaluate_with(case, &EvalOptions::default(), &mut scratch) else {
            continue;
        };
        let Some(asp) = decision.output_json("asp") else {
            continue;
        };
        compared += 1;
        let expected = hand_written_asp(hand_case, hand);
        let outcome = asp.get("outcome").and_then(|v| v.as_str());
        let total = asp.get("monthly_total").and_then(money_of);
        if outcome
            == Some(if expected.granted {
                "granted"
            } else {
                "refused"
            })
            && total == Some(expected.monthly_total)
        {
            agreeing += 1;
        }
    }
    (agreeing, compared)
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Cases in the generated population.
    #[arg(long, default_value_t = 20_000)]
    pub cases: u64,
    /// The generator's seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The policy directory to measure.
    #[arg(long, default_value = "policies/kz")]
    pub policy_dir: std::path::PathBuf,
    /// Rounds per figure (the best and the median are printed).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Cases of the peak-memory batch run, streamed from the generator (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    pub memory_cases: u64,
}

/// Runs `ereje bench` and returns its exit code.
pub fn command(args: &BenchArgs) -> u8 {
    let options = BenchOptions {
        cases: args.cases,
        seed: args.seed,
        rounds: args.rounds,
        memory_cases: args.memory_cases,
    };
    match run(&args.policy_dir, &options) {
        Ok(report) => {
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), report.as_bytes());
            crate::EXIT_OK
        }
        Err(message) => crate::fail(miette::miette!(code = "bench", "{message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kz() -> ereje_runtime::ir::Policy {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/kz");
        let compilation = ereje_compiler::compile_dir(&directory).unwrap();
        (*compilation.policy.unwrap()).clone()
    }

    #[test]
    fn the_hand_written_rules_read_their_figures_from_the_policy() {
        let mut policy = kz();
        let hand = HandParameters::of(&policy).unwrap();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            HandParameters::on(&hand.mrp, day(2025, 3, 1)),
            Decimal::from(3932)
        );
        assert_eq!(
            HandParameters::on(&hand.pm, day(2026, 3, 1)),
            Decimal::from(50851)
        );
        // The larger share: 70 % of 51 870 over 35 % of 99 800; a published line as it is.
        assert_eq!(
            hand.regional_line("zhetysu", 2025, 1),
            Some(Decimal::from(36309))
        );
        assert_eq!(
            hand.regional_line("aktobe", 2025, 4),
            Some(Decimal::from(37060))
        );
        assert_eq!(hand.regional_line("astana", 2025, 1), None);
        // A what-if of the policy is the hand-written rules' too.
        let change = ereje_runtime::whatif::Override::parse("MRP=4000").unwrap();
        ereje_runtime::whatif::apply(&mut policy, &[change]).unwrap();
        let changed = HandParameters::of(&policy).unwrap();
        assert_eq!(
            HandParameters::on(&changed.mrp, day(2025, 3, 1)),
            Decimal::from(4000)
        );
        policy.tables.clear();
        assert_eq!(
            HandParameters::of(&policy).err().as_deref(),
            Some("table `REGIONAL_POVERTY`")
        );
    }
}
