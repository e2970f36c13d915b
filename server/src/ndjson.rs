//! NDJSON streams: `POST /v1/evaluate` with `application/x-ndjson` answers each line of the
//! request as it arrives, in input order, without waiting for the end of the body.
//!
//! Three parts work at once, joined by channels:
//! - a task reads the request body chunk by chunk and hands the chunks on, within the stream's
//!   byte limit and the request's time limit;
//! - a blocking worker splits the chunks into lines ([`LineSplitter`]), decides each line, and
//!   hands on the answers in chunks of about 16 KB, or at once when no more of the body waits;
//! - the response body sends those chunks to the client as they come.
//!
//! Reading the body never waits for the client to read answers: many clients (Python's
//! `requests`, `urllib`) send the whole body before they read a byte of the answer, and a
//! reader held back by unread answers would wait for them for ever. So the channels are not
//! bounded by count; what bounds them is the stream's limits (`max_stream_bytes` of input,
//! `max_stream_lines` answers). A client that reads while it sends (curl, an async client)
//! keeps them nearly empty.
//!
//! A stream that goes over a limit once its answer has started (the status is sent with the
//! first line) ends with the lines answered so far and an aborted body (no final chunk), which
//! an HTTP client reports as an incomplete answer; the log says why. A `content-length` over the
//! byte limit is refused with `413` before anything is read.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use ereje_runtime::error::codes;
use ereje_runtime::versions::VersionSet;
use ereje_runtime::{CaseError, CaseFailure, CaseOutcome, EvalOptions};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use crate::policies::PolicySet;
use crate::RequestLimits;

/// The size of the answer chunks handed to the response body.
const ANSWER_CHUNK_BYTES: usize = 16 * 1024;

/// What the reader hands to the worker.
enum Input {
    /// The next bytes of the body.
    Chunk(Bytes),
    /// The body cannot be read on: why (over a limit, the client's connection failed).
    Stopped(String),
}

/// How one line is decided: the bytes `ereje batch` writes for it.
pub type DecideLine = fn(&VersionSet, &[u8], &EvalOptions) -> CaseOutcome;

/// The answer to an NDJSON request: a streamed `200` whose body is one line per input line,
/// each decided by `decide_line`.
pub fn answer(
    set: Arc<PolicySet>,
    version: Option<String>,
    options: EvalOptions,
    body: Body,
    limits: RequestLimits,
    decide_line: DecideLine,
) -> Response {
    let (input_sender, input_receiver) = mpsc::unbounded_channel::<Input>();
    let (answer_sender, answer_receiver) =
        mpsc::unbounded_channel::<Result<Bytes, std::io::Error>>();
    tokio::spawn(read_body(body, input_sender, limits));
    tokio::task::spawn_blocking(move || {
        let Some(engines) = set.engines_for(version.as_deref()) else {
            return;
        };
        let decide = |line: &[u8]| decide_line(engines, line, &options);
        decide_lines(input_receiver, &answer_sender, limits, decide);
    });
    let stream = futures_util::stream::unfold(answer_receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

/// Reads the body and hands its chunks on, until its end, the byte limit or the time limit.
async fn read_body(body: Body, inputs: mpsc::UnboundedSender<Input>, limits: RequestLimits) {
    let mut data = body.into_data_stream();
    let deadline = tokio::time::Instant::now() + limits.request_time;
    let mut received = 0usize;
    loop {
        let stop = match tokio::time::timeout_at(deadline, data.next()).await {
            Ok(None) => return,
            Ok(Some(Ok(chunk))) => {
                received += chunk.len();
                if received > limits.max_stream_bytes {
                    format!(
                        "the stream is over the limit of {} bytes",
                        limits.max_stream_bytes
                    )
                } else if inputs.send(Input::Chunk(chunk)).is_err() {
                    // The worker has stopped: the client is gone.
                    return;
                } else {
                    continue;
                }
            }
            Ok(Some(Err(error))) => format!("the request body could not be read: {error}"),
            Err(_) => format!(
                "the stream took longer than the limit of {} ms",
                limits.request_time.as_millis()
            ),
        };
        tracing::warn!(reason = %stop, "an NDJSON stream was cut short");
        let _ = inputs.send(Input::Stopped(stop));
        return;
    }
}

/// Decides every line the inputs hold, in order, and sends the answers on; ends when the inputs
/// end, when they stop with a reason (sent on as an error, which aborts the body), or when the
/// client is gone.
fn decide_lines(
    mut inputs: mpsc::UnboundedReceiver<Input>,
    answers: &mpsc::UnboundedSender<Result<Bytes, std::io::Error>>,
    limits: RequestLimits,
    decide: impl Fn(&[u8]) -> CaseOutcome,
) {
    let mut splitter = LineSplitter::new(limits.max_case_bytes);
    let mut out = String::new();
    let mut lines = 0usize;
    let mut answer_line = |line: Line<'_>, out: &mut String| -> Result<(), String> {
        lines += 1;
        if lines > limits.max_stream_lines {
            return Err(format!(
                "the stream has more than {} lines, the limit",
                limits.max_stream_lines
            ));
        }
        let outcome = match line {
            Line::Whole(bytes) => decide(bytes),
            Line::TooLarge(length) => CaseOutcome::Error(CaseFailure {
                case_id: None,
                error: CaseError::new(
                    codes::TOO_LARGE,
                    "",
                    format!(
                        "the case is {length} bytes, more than the limit of {} bytes",
                        limits.max_case_bytes
                    ),
                ),
            }),
        };
        out.push_str(&outcome.to_json_line());
        out.push('\n');
        Ok(())
    };
    let send = |out: &mut String| -> bool {
        let chunk = Bytes::from(std::mem::take(out));
        answers.send(Ok(chunk)).is_ok()
    };
    // Sends the answers made so far, then the reason, which aborts the body.
    let stop = |out: &mut String, reason: String| {
        if !out.is_empty() {
            send(out);
        }
        let _ = answers.send(Err(std::io::Error::other(reason)));
    };
    while let Some(input) = inputs.blocking_recv() {
        let chunk = match input {
            Input::Chunk(chunk) => chunk,
            Input::Stopped(reason) => return stop(&mut out, reason),
        };
        let mut failed = None;
        splitter.push(&chunk, |line| {
            if failed.is_none() {
                failed = answer_line(line, &mut out).err();
            }
        });
        if let Some(reason) = failed {
            tracing::warn!(%reason, "an NDJSON stream was cut short");
            return stop(&mut out, reason);
        }
        // The answers go out in chunks of about 16 KB while more of the body waits, and at once
        // when none does: a client that sends a line and waits for its answer gets it.
        let idle = inputs.is_empty();
        if !out.is_empty() && (out.len() >= ANSWER_CHUNK_BYTES || idle) && !send(&mut out) {
            return;
        }
    }
    let mut failed = None;
    splitter.finish(|line| failed = answer_line(line, &mut out).err());
    match failed {
        Some(reason) => stop(&mut out, reason),
        None if !out.is_empty() => {
            send(&mut out);
        }
        None => {}
    }
}

/// One line of the stream, without its newline.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line within the case-size limit.
    Whole(&'a [u8]),
    /// A line longer than the limit, with its length in bytes; its bytes were not kept.
    TooLarge(usize),
}

/// Splits chunks of bytes into lines, keeping at most the case-size limit of a line that spans
/// chunks: a longer line is counted, not kept.
pub struct LineSplitter {
    max_line_bytes: usize,
    /// The start of a line that the last chunk did not end.
    pending: Vec<u8>,
    /// The length of the pending line, kept or not.
    pending_length: usize,
    /// Whether any byte of the pending line was received (an empty last line is no line).
    pending_started: bool,
}

impl LineSplitter {
    /// A splitter for lines of at most `max_line_bytes` bytes.
    pub fn new(max_line_bytes: usize) -> LineSplitter {
        LineSplitter {
            max_line_bytes,
            pending: Vec::new(),
            pending_length: 0,
            pending_started: false,
        }
    }

    /// Hands every line that `chunk` ends to `line`, in order.
    pub fn push(&mut self, chunk: &[u8], mut line: impl FnMut(Line<'_>)) {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|byte| *byte == b'\n') {
            let (piece, after) = (&rest[..end], &rest[end + 1..]);
            if !self.pending_started {
                if piece.len() > self.max_line_bytes {
                    line(Line::TooLarge(piece.len()));
                } else {
                    line(Line::Whole(piece));
                }
            } else {
                self.keep(piece);
                self.emit_pending(&mut line);
            }
            rest = after;
        }
        if !rest.is_empty() {
            self.keep(rest);
        }
    }

    /// Hands on the last line when the stream did not end it with a newline.
    pub fn finish(&mut self, mut line: impl FnMut(Line<'_>)) {
        if self.pending_started {
            self.emit_pending(&mut line);
        }
    }

    fn keep(&mut self, piece: &[u8]) {
        self.pending_started = true;
        self.pending_length += piece.len();
        if self.pending_length <= self.max_line_bytes {
            self.pending.extend_from_slice(piece);
        } else {
            self.pending.clear();
        }
    }

    fn emit_pending(&mut self, line: &mut impl FnMut(Line<'_>)) {
        if self.pending_length > self.max_line_bytes {
            line(Line::TooLarge(self.pending_length));
        } else {
            line(Line::Whole(&self.pending));
        }
        self.pending.clear();
        self.pending_length = 0;
        self.pending_started = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `chunks` with a line limit of `limit` and compares the lines with `expected`
    /// (`Err(n)` for a line of n bytes over the limit).
    fn check(limit: usize, chunks: &[&str], expected: &[Result<&str, usize>]) {
        let mut splitter = LineSplitter::new(limit);
        let mut lines = Vec::new();
        let mut collect = |line: Line<'_>| {
            lines.push(match line {
                Line::Whole(bytes) => Ok(String::from_utf8(bytes.to_vec()).unwrap()),
                Line::TooLarge(length) => Err(length),
            })
        };
        for chunk in chunks {
            splitter.push(chunk.as_bytes(), &mut collect);
        }
        splitter.finish(&mut collect);
        let expected: Vec<Result<String, usize>> = expected
            .iter()
            .map(|line| line.map(str::to_string))
            .collect();
        assert_eq!(lines, expected, "{chunks:?}");
    }

    #[test]
    fn lines_are_the_same_however_the_body_is_cut() {
        check(100, &["a\nbb\n"], &[Ok("a"), Ok("bb")]);
        check(100, &["a\nb", "b\n"], &[Ok("a"), Ok("bb")]);
        check(100, &["a", "\n", "b", "b"], &[Ok("a"), Ok("bb")]);
        check(100, &["a\r\n\n"], &[Ok("a\r"), Ok("")]);
        check(100, &[], &[]);
        check(100, &["", ""], &[]);
        check(100, &["\n"], &[Ok("")]);
    }

    #[test]
    fn a_line_over_the_limit_is_counted_not_kept() {
        check(3, &["abcd\nabc\n"], &[Err(4), Ok("abc")]);
        check(3, &["ab", "cd", "ef\nx"], &[Err(6), Ok("x")]);
        check(3, &["ab", "cdef"], &[Err(6)]);
    }
}
