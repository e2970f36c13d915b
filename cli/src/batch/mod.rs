//! `ereje batch`: many cases in, one decision or error line out per input line, in input order.
//!
//! There is no reader or writer thread: `threads` workers (the calling thread is one of them)
//! each repeat three steps, keeping their buffers and their [`Scratch`] for the whole run:
//!
//! - under the input lock, cut the next chunk of lines into the worker's own byte buffer
//!   (noting where each line ends) and take the chunk's number;
//! - without any lock, decide every line, appending each decision or error line to the
//!   worker's output buffer, and count it in the worker's own summary tally;
//! - under the output lock, write the chunk if its turn has come (then every parked chunk that
//!   follows it), or park it in the reordering buffer.
//!
//! Memory stays flat however long the input is: a worker may take chunk `k` only once chunk
//! `k - in_flight_chunks` is written, so no more than [`BatchOptions::in_flight_chunks`] chunks
//! wait at any time, each a few hundred kilobytes of output.
//!
//! Line N of the output answers line N of the input: a blank line gets the error line
//! `case.empty_line`, a line that is not UTF-8 gets `case.invalid_json`, and a bad line never
//! changes or stops its neighbours.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ereje_compiler::versions::VersionSet;
use ereje_runtime::exact::Number;
use ereje_runtime::ir::{JsonLiteral, Policy, Type, TypeDef};
use ereje_runtime::value::Value;
use ereje_runtime::{CaseError, CaseFailure, CaseOutcome, EvalOptions, Scratch};

use crate::csv_input::{CsvLayout, CsvNames, INVALID_ROW};

mod command;
mod runner;
mod summary;

pub use command::*;
pub use runner::*;
pub use summary::*;

/// The error code of a blank input line.
pub use ereje_runtime::error::codes::EMPTY_LINE;

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
    /// The cases to skip at the start of the input (lines, or CSV data rows).
    pub skip: u64,
    /// A progress bar to advance by the bytes read, when the caller shows one.
    pub progress: Option<indicatif::ProgressBar>,
    /// When this holds a number other than 0 (the signal that asked the run to stop), no more
    /// lines are read: the lines read so far are decided and written, and the run ends.
    pub stop: Option<Arc<AtomicUsize>>,
}

impl BatchOptions {
    pub fn new(threads: usize, eval: EvalOptions) -> BatchOptions {
        let threads = threads.max(1);
        // A decision line with its trace is about 35 KB, thirty times one without: fewer lines
        // a chunk keep a chunk at a few hundred kilobytes either way (0.3 MB without traces,
        // 0.55 MB with them), which bounds the reordering buffer's memory and evens out the
        // workers' last chunks. A chunk's cost of locking is a few hundred nanoseconds against
        // 1 ms of evaluation at least.
        let chunk_lines = if eval.trace { 16 } else { 256 };
        BatchOptions {
            threads,
            eval,
            csv: None,
            chunk_lines,
            in_flight_chunks: threads * 4 + 2,
            skip: 0,
            progress: None,
            stop: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_totals_are_exact_sums_of_fractions_and_never_saturate() {
        let third = Value::number(Number::fraction(1, 3).unwrap());
        let mut total = Total::default();
        for _ in 0..3 {
            total = total.plus(Total::of(&third).unwrap());
        }
        assert_eq!(total.to_string(), "1");
        total = total.plus(Total::of(&third).unwrap());
        assert_eq!(total.to_string(), "4/3");
        let largest = Value::Decimal(rust_decimal::Decimal::MAX);
        let past = Total::of(&largest)
            .unwrap()
            .plus(Total::of(&largest).unwrap());
        assert_eq!(past, Total::Overflowed);
        assert_eq!(past.plus(total).to_string(), "overflow");
        assert_eq!(Total::of(&Value::Absent), None);
    }

    /// Generated cases, the same cases broken in several ways, and blank lines.
    fn mixed_lines() -> Vec<String> {
        let mut population = String::new();
        crate::generate::write_population(&mut population, 7, 300);
        let mut lines = Vec::new();
        for (index, line) in population.lines().enumerate() {
            match index % 7 {
                0 => lines.push(String::new()),
                1 => lines.push(line.replacen('"', "", 1)),
                2 => lines.push(line.replacen("\"members\"", "\"member\"", 1)),
                3 => lines.push(line.get(..line.len() / 2).unwrap_or_default().to_string()),
                _ => lines.push(line.to_string()),
            }
        }
        lines
    }

    fn kz() -> VersionSet {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/kz");
        match crate::versions::load_side_with_limits(
            &directory,
            None,
            &[],
            crate::limits(None, None),
        ) {
            Ok(side) => side.engines,
            Err(code) => panic!("policies/kz does not load (exit code {code})"),
        }
    }

    #[test]
    fn the_tally_counts_what_summary_record_counts() {
        let engine = kz();
        let options = BatchOptions::new(1, EvalOptions::default());
        let mut scratch = Scratch::default();
        let mut reference = Summary::default();
        let mut tally = Tally::default();
        let policy = engine.first().map(|first| first.policy().clone());
        for line in mixed_lines() {
            let outcome = decide_line(&engine, &options, line.as_bytes(), &mut scratch);
            if let Some(policy) = &policy {
                reference.record(policy, &outcome);
            }
            tally.record(&engine, &outcome);
        }
        let counted = tally.into_summary();
        assert!(reference.decisions > 0 && reference.error_count() > 0);
        assert!(!reference.counts.is_empty() && !reference.totals.is_empty());
        assert_eq!(counted, reference);
    }

    #[test]
    fn every_thread_count_and_chunk_size_gives_the_same_lines_and_summary() {
        let engine = kz();
        let input = mixed_lines().join("\n") + "\n";
        let run = |threads: usize, chunk_lines: usize, in_flight_chunks: usize| {
            let mut options = BatchOptions::new(threads, EvalOptions::default());
            options.chunk_lines = chunk_lines;
            options.in_flight_chunks = in_flight_chunks;
            let mut output = Vec::new();
            match run_batch(&engine, input.as_bytes(), &mut output, &options) {
                Ok(mut summary) => {
                    summary.elapsed = Duration::ZERO;
                    summary.peak_memory_bytes = None;
                    (output, summary)
                }
                Err(error) => panic!("the batch failed: {error}"),
            }
        };
        let (expected, expected_summary) = run(1, 256, 6);
        assert_eq!(expected.iter().filter(|byte| **byte == b'\n').count(), 300);
        for (threads, chunk_lines, in_flight_chunks) in
            [(2, 1, 1), (2, 7, 2), (3, 5, 3), (4, 64, 9)]
        {
            let (output, summary) = run(threads, chunk_lines, in_flight_chunks);
            assert!(
                output == expected,
                "{threads} threads, {chunk_lines} lines a chunk"
            );
            assert_eq!(summary, expected_summary);
        }
    }

    /// A writer that fails after a few bytes: the batch stops with the error, and no worker
    /// waits forever for a chunk that is never written.
    struct FailingWriter {
        room: usize,
    }

    impl Write for FailingWriter {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.room < bytes.len() {
                return Err(io::Error::other("disk full"));
            }
            self.room -= bytes.len();
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_output_error_stops_every_worker() {
        let engine = kz();
        let input = mixed_lines().join("\n") + "\n";
        let mut options = BatchOptions::new(2, EvalOptions::default());
        options.chunk_lines = 3;
        let mut output = FailingWriter { room: 5000 };
        let result = run_batch(&engine, input.as_bytes(), &mut output, &options);
        assert!(result.is_err());
    }
}
