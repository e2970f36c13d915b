//! The batch runner: the workers, their shared input and output sides, and the deciding of
//! one line or one CSV row.

use super::*;

/// The input side of a batch, shared by the workers: whoever holds its lock reads the next
/// chunk of lines and gives it the next number.
struct InputSide<R> {
    input: Source<R>,
    next_number: u64,
    /// Set at the end of the input (or on a read error), so that no worker reads again.
    finished: bool,
    /// Set when the stop flag ended the reading before the end of the input.
    stopped: bool,
}

/// Where the cases come from: lines of JSON, or the rows of a CSV file (its header row read).
enum Source<R> {
    Lines(R),
    Csv(csv::Reader<R>),
}

impl<R: BufRead> Source<R> {
    /// The source `options` asks for, its first `options.skip` cases skipped.
    fn new(input: R, options: &BatchOptions) -> io::Result<Source<R>> {
        let mut source = match &options.csv {
            None => Source::Lines(input),
            Some(layout) => Source::Csv(
                csv::ReaderBuilder::new()
                    .delimiter(layout.separator())
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(input),
            ),
        };
        let mut line = Vec::new();
        let mut record = csv::ByteRecord::new();
        for _ in 0..options.skip {
            let more = match &mut source {
                Source::Lines(input) => {
                    line.clear();
                    input.read_until(b'\n', &mut line)? > 0
                }
                Source::Csv(reader) => reader.read_byte_record(&mut record)?,
            };
            if !more {
                break;
            }
        }
        Ok(source)
    }
}

/// The output side of a batch, shared by the workers: whoever holds its lock writes every
/// chunk whose turn has come, and parks a chunk that finished early.
struct OutputSide<'output, W> {
    output: &'output mut W,
    /// The number of the next chunk to write.
    next_to_write: u64,
    /// Chunks decided before their turn, by number, with their line counts.
    waiting: BTreeMap<u64, (String, u64)>,
    /// The lines written so far, and their bytes: whole chunks only.
    lines_written: u64,
    bytes_written: u64,
    /// Emptied output buffers, handed back to workers that park a chunk, so that a run
    /// allocates a bounded number of buffers rather than one per chunk.
    spare: Vec<String>,
}

/// What every worker shares: the two sides, the condition a reader waits on when the
/// reordering window is full, and the first error.
struct Shared<'output, R, W> {
    input: Mutex<InputSide<R>>,
    output: Mutex<OutputSide<'output, W>>,
    /// Signalled each time chunks are written (the window moves) or the run fails.
    written: Condvar,
    /// Set when the run must stop: an input or output error, or a worker that panicked.
    failed: AtomicBool,
    error: Mutex<Option<io::Error>>,
}

impl<R, W> Shared<'_, R, W> {
    /// Records the first error and wakes every waiting worker so that they stop.
    fn fail(&self, error: io::Error) {
        if let Ok(mut slot) = self.error.lock() {
            if slot.is_none() {
                *slot = Some(error);
            }
        }
        self.stop();
    }

    fn stop(&self) {
        self.failed.store(true, AtomicOrdering::SeqCst);
        // Taking the lock orders the flag with a worker that is about to wait, so that it
        // cannot miss the wake-up.
        let _held = self.output.lock();
        self.written.notify_all();
    }

    fn has_failed(&self) -> bool {
        self.failed.load(AtomicOrdering::SeqCst)
    }
}

/// Stops the run if its worker unwinds from a panic, so that the other workers do not wait
/// forever for a chunk that will never be written.
struct StopOnPanic<'shared, 'output, R, W>(&'shared Shared<'output, R, W>);

impl<R, W> Drop for StopOnPanic<'_, '_, R, W> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0
                .fail(io::Error::other("a batch worker thread failed"));
        }
    }
}

/// Decides every line of `input` and writes one line per input line to `output`, in order.
/// Fails only when the input cannot be read or the output cannot be written.
///
/// There is no reader or writer thread: each of the `threads` workers (the calling thread is
/// one of them) takes the input lock to cut the next chunk of lines into a buffer of its own,
/// decides the chunk without any lock, then takes the output lock to write it if its turn has
/// come (with every parked chunk that follows) or to park it. On 2 cores, 2 workers then keep
/// both cores busy with evaluation, instead of sharing them with a reader and a writer thread
/// woken for every chunk. A worker may take chunk `k` only once chunk `k - in_flight_chunks`
/// is written, so memory stays flat however long the input and however slow one chunk.
pub fn run_batch<R, W>(
    engine: &VersionSet,
    input: R,
    output: &mut W,
    options: &BatchOptions,
) -> io::Result<Summary>
where
    R: BufRead + Send,
    W: Write + Send,
{
    run_batch_counting(engine, input, output, options).map_err(|stopped| stopped.error)
}

/// A batch that failed: the error, and the whole output lines written before it (a failed
/// write may have left part of a line after them).
#[derive(Debug)]
pub struct Stopped {
    pub error: io::Error,
    pub lines_written: u64,
    /// The bytes of those whole lines: where to cut a partly written output.
    pub bytes_written: u64,
}

/// [`run_batch`], telling on failure how many output lines were written (each a whole answer,
/// in input order), so that the run can be resumed after them.
pub fn run_batch_counting<R, W>(
    engine: &VersionSet,
    input: R,
    output: &mut W,
    options: &BatchOptions,
) -> Result<Summary, Stopped>
where
    R: BufRead + Send,
    W: Write + Send,
{
    let started = Instant::now();
    let threads = options.threads.max(1);
    let input = Source::new(input, options).map_err(|error| Stopped {
        error,
        lines_written: 0,
        bytes_written: 0,
    })?;
    let shared = Shared {
        input: Mutex::new(InputSide {
            input,
            next_number: 0,
            finished: false,
            stopped: false,
        }),
        output: Mutex::new(OutputSide {
            output,
            next_to_write: 0,
            waiting: BTreeMap::new(),
            lines_written: 0,
            bytes_written: 0,
            spare: Vec::new(),
        }),
        written: Condvar::new(),
        failed: AtomicBool::new(false),
        error: Mutex::new(None),
    };
    let mut summary = std::thread::scope(|scope| {
        let shared = &shared;
        let helpers: Vec<_> = (1..threads)
            .map(|_| scope.spawn(move || work(engine, options, shared)))
            .collect();
        let mut summary = work(engine, options, shared);
        for helper in helpers {
            match helper.join() {
                Ok(part) => summary.merge(part),
                Err(_) => shared.fail(io::Error::other("a batch worker thread failed")),
            }
        }
        summary
    });
    let error = match shared.error.into_inner() {
        Ok(error) => error,
        Err(_) => Some(io::Error::other("a batch worker thread failed")),
    };
    let (output, lines_written, bytes_written) = match shared.output.into_inner() {
        Ok(side) => (side.output, side.lines_written, side.bytes_written),
        Err(_) => {
            return Err(Stopped {
                error: io::Error::other("a batch worker thread failed"),
                lines_written: 0,
                bytes_written: 0,
            })
        }
    };
    let flushed = match error {
        Some(error) => Err(error),
        None => output.flush(),
    };
    if let Err(error) = flushed {
        return Err(Stopped {
            error,
            lines_written,
            bytes_written,
        });
    }
    summary.stopped_early = match shared.input.into_inner() {
        Ok(side) => side.stopped,
        Err(_) => true,
    };
    summary.elapsed = started.elapsed();
    summary.peak_memory_bytes = peak_memory_bytes();
    if let Some(progress) = &options.progress {
        progress.finish_and_clear();
    }
    Ok(summary)
}

/// A worker's buffers, kept for the whole run.
struct WorkerBuffers {
    /// The bytes of the chunk's lines, newlines included.
    bytes: Vec<u8>,
    /// Where each line of `bytes` ends (after its newline, if any).
    line_ends: Vec<usize>,
    /// The chunk's output lines.
    text: String,
    /// The chunk's CSV rows, when the input is CSV: the first `row_count` (the others are
    /// kept for their memory).
    rows: Vec<csv::ByteRecord>,
    row_count: usize,
    /// A CSV row converted to JSON.
    converted: String,
}

/// The input buffer of a worker is given back to the allocator after a chunk larger than
/// this, so that one huge line does not keep its memory for the rest of the run.
const LARGEST_KEPT_INPUT_BUFFER: usize = 16 << 20;

/// One worker: reads, decides and writes chunks until the input ends or the run fails, and
/// returns what it counted.
fn work<R, W>(engine: &VersionSet, options: &BatchOptions, shared: &Shared<'_, R, W>) -> Summary
where
    R: BufRead,
    W: Write,
{
    let _stop_on_panic = StopOnPanic(shared);
    // Each worker decides with its own replica of the engines, so that the workers share no
    // reference counts (see `Engine::replica`); the shared set stays the fallback.
    let replica = engine.replica().ok();
    let engine = replica.as_ref().unwrap_or(engine);
    let chunk_lines = options.chunk_lines.max(1);
    let window = options.in_flight_chunks.max(options.threads.max(1)) as u64;
    let mut scratch = Scratch::default();
    let mut tally = Tally::default();
    let mut buffers = WorkerBuffers {
        bytes: Vec::with_capacity(chunk_lines * 1024),
        line_ends: Vec::with_capacity(chunk_lines),
        text: String::with_capacity(chunk_lines * 1024),
        rows: Vec::new(),
        row_count: 0,
        converted: String::new(),
    };
    while let Some(number) = read_chunk(shared, options, chunk_lines, window, &mut buffers) {
        buffers.text.clear();
        let mut start = 0;
        for &end in &buffers.line_ends {
            let raw = buffers.bytes.get(start..end).unwrap_or_default();
            start = end;
            let outcome = decide_line(engine, options, raw, &mut scratch);
            outcome.write_json_line(&mut buffers.text);
            buffers.text.push('\n');
            tally.record(engine, &outcome);
        }
        for row in buffers.rows.iter().take(buffers.row_count) {
            let outcome = decide_row(engine, options, row, &mut scratch, &mut buffers.converted);
            outcome.write_json_line(&mut buffers.text);
            buffers.text.push('\n');
            tally.record(engine, &outcome);
        }
        let lines = (buffers.line_ends.len() + buffers.row_count) as u64;
        if !write_chunk(shared, number, lines, &mut buffers.text) {
            break;
        }
    }
    tally.into_summary()
}

/// Cuts the next chunk of lines into `buffers` and returns its number; `None` at the end of
/// the input or when the run has failed. Waits, holding the input lock, while the chunk would
/// be more than `window` chunks ahead of the next one to write.
fn read_chunk<R, W>(
    shared: &Shared<'_, R, W>,
    options: &BatchOptions,
    chunk_lines: usize,
    window: u64,
    buffers: &mut WorkerBuffers,
) -> Option<u64>
where
    R: BufRead,
{
    let mut input = shared.input.lock().ok()?;
    if input.finished || shared.has_failed() {
        return None;
    }
    {
        // The output lock is only ever taken after the input lock, never before it, and a
        // worker writing its chunk needs the output lock alone: the wait cannot deadlock.
        let mut output = shared.output.lock().ok()?;
        while input.next_number >= output.next_to_write + window {
            if shared.has_failed() {
                return None;
            }
            output = shared.written.wait(output).ok()?;
        }
    }
    if shared.has_failed() {
        return None;
    }
    if buffers.bytes.capacity() > LARGEST_KEPT_INPUT_BUFFER {
        buffers.bytes = Vec::with_capacity(chunk_lines * 1024);
    }
    buffers.bytes.clear();
    buffers.line_ends.clear();
    buffers.row_count = 0;
    let side = &mut *input;
    let read_before = match &side.input {
        Source::Lines(_) => 0,
        Source::Csv(reader) => reader.position().byte(),
    };
    while buffers.line_ends.len() + buffers.row_count < chunk_lines {
        if options
            .stop
            .as_ref()
            .is_some_and(|stop| stop.load(AtomicOrdering::SeqCst) != 0)
        {
            side.finished = true;
            side.stopped = true;
            break;
        }
        let read = match &mut side.input {
            Source::Lines(lines) => {
                lines
                    .read_until(b'\n', &mut buffers.bytes)
                    .map(|length| match length {
                        0 => false,
                        _ => {
                            buffers.line_ends.push(buffers.bytes.len());
                            true
                        }
                    })
            }
            Source::Csv(reader) => {
                if buffers.rows.len() <= buffers.row_count {
                    buffers.rows.push(csv::ByteRecord::new());
                }
                match buffers.rows.get_mut(buffers.row_count) {
                    Some(row) => reader.read_byte_record(row).map_err(io::Error::from),
                    None => Ok(false),
                }
                .inspect(|more| buffers.row_count += usize::from(*more))
            }
        };
        match read {
            Ok(true) => {}
            Ok(false) => {
                side.finished = true;
                break;
            }
            Err(error) => {
                side.finished = true;
                drop(input);
                shared.fail(error);
                return None;
            }
        }
    }
    if buffers.line_ends.is_empty() && buffers.row_count == 0 {
        return None;
    }
    if let Some(progress) = &options.progress {
        let read = match &side.input {
            Source::Lines(_) => buffers.bytes.len() as u64,
            Source::Csv(reader) => reader.position().byte().saturating_sub(read_before),
        };
        progress.inc(read);
    }
    let number = input.next_number;
    input.next_number += 1;
    Some(number)
}

/// Writes chunk `number` if its turn has come, then every parked chunk that follows it; parks
/// it otherwise (taking a spare buffer in exchange for `text`). Returns `false` when the run has
/// failed.
fn write_chunk<R, W: Write>(
    shared: &Shared<'_, R, W>,
    number: u64,
    lines: u64,
    text: &mut String,
) -> bool {
    let Ok(mut guard) = shared.output.lock() else {
        return false;
    };
    if shared.has_failed() {
        return false;
    }
    let side = &mut *guard;
    if number != side.next_to_write {
        // A new buffer starts at the size of this one, so that it does not grow by doubling.
        let capacity = text.capacity();
        let spare = side
            .spare
            .pop()
            .unwrap_or_else(|| String::with_capacity(capacity));
        let parked = std::mem::replace(text, spare);
        side.waiting.insert(number, (parked, lines));
        return true;
    }
    let mut result = side.output.write_all(text.as_bytes());
    side.next_to_write += 1;
    if result.is_ok() {
        side.lines_written += lines;
        side.bytes_written += text.len() as u64;
    }
    while result.is_ok() {
        let Some((mut parked, parked_lines)) = side.waiting.remove(&side.next_to_write) else {
            break;
        };
        result = side.output.write_all(parked.as_bytes());
        side.next_to_write += 1;
        if result.is_ok() {
            side.lines_written += parked_lines;
            side.bytes_written += parked.len() as u64;
        }
        parked.clear();
        side.spare.push(parked);
    }
    drop(guard);
    match result {
        Ok(()) => {
            shared.written.notify_all();
            true
        }
        Err(error) => {
            shared.fail(error);
            false
        }
    }
}

/// Decides one raw input line of JSON (its newline, if any, included): see
/// [`VersionSet::decide_line`], which the service and the Python package call as well.
pub fn decide_line(
    engine: &VersionSet,
    options: &BatchOptions,
    raw: &[u8],
    scratch: &mut Scratch,
) -> CaseOutcome {
    engine.decide_line(raw, &options.eval, scratch)
}

/// Decides one CSV row through the case JSON it gives (`converted` is the buffer for it). A
/// row of one blank cell is a blank line, as in JSON Lines.
pub fn decide_row(
    engine: &VersionSet,
    options: &BatchOptions,
    row: &csv::ByteRecord,
    scratch: &mut Scratch,
    converted: &mut String,
) -> CaseOutcome {
    let Some(layout) = &options.csv else {
        return failure(
            None,
            CaseError::new(INVALID_ROW, "", "a csv row without a csv header"),
        );
    };
    if row.len() == 1 && row.iter().all(|cell| cell.trim_ascii().is_empty()) {
        return failure(
            None,
            CaseError::new(
                EMPTY_LINE,
                "",
                "the line is empty: every input line must hold one case",
            ),
        );
    }
    converted.clear();
    match layout.row_to_json(row, converted) {
        Ok(()) => engine.decide_json(converted, &options.eval, scratch),
        Err((case_id, error)) => failure(case_id, error),
    }
}

/// Decides the case `json`.
fn failure(case_id: Option<String>, error: CaseError) -> CaseOutcome {
    CaseOutcome::Error(CaseFailure { case_id, error })
}
