//! Problem documents for requests that are not HTTP: hyper answers a request it cannot parse
//! itself (`400`, `414` or `431`, an empty body, `connection: close`) before any handler runs,
//! and offers no hook to change that answer. The service promises `application/problem+json`
//! with a `detail` for every error, malformed HTTP included, so each connection is wrapped in
//! [`ProblemOnParseError`], which recognises hyper's automatic answer in the bytes written and
//! writes a problem document in its place.
//!
//! What is recognised is hyper's exact automatic answer, at the end of a write:
//!
//! ```text
//! HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: …\r\n\r\n
//! ```
//!
//! No answer of the service's own handlers has that shape (every one of them has a
//! `content-type`, and a JSON or HTML body never holds a raw carriage return), and a test sends
//! each kind of malformed request, so a change in hyper's answer fails a test instead of passing
//! silently.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::problem::Problem;

/// A listener whose connections answer malformed HTTP with a problem document.
pub struct ProblemListener {
    listener: TcpListener,
}

impl ProblemListener {
    /// Wraps a bound listener.
    pub fn new(listener: TcpListener) -> ProblemListener {
        ProblemListener { listener }
    }
}

impl axum::serve::Listener for ProblemListener {
    type Io = ProblemOnParseError<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, address) = axum::serve::Listener::accept(&mut self.listener).await;
        (ProblemOnParseError::new(stream), address)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// A connection that writes a problem document where hyper writes its automatic answer to a
/// request it could not parse. Reading passes through untouched.
pub struct ProblemOnParseError<S> {
    inner: S,
    /// The problem answer being written in place of hyper's, and how much of it is written;
    /// with the length of hyper's answer, which is reported written once ours is.
    replacement: Option<Replacement>,
}

struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    replaced_length: usize,
}

impl<S> ProblemOnParseError<S> {
    /// Wraps a connection.
    pub fn new(inner: S) -> ProblemOnParseError<S> {
        ProblemOnParseError {
            inner,
            replacement: None,
        }
    }
}

/// The start of hyper's automatic answer: the status line's protocol.
const STATUS_LINE_START: &[u8] = b"HTTP/1.1 ";

/// Where hyper's automatic answer starts in `written` when `written` ends with one, and the
/// answer's status.
fn automatic_answer(written: &[u8]) -> Option<(usize, u16)> {
    let start = written
        .windows(STATUS_LINE_START.len())
        .rposition(|window| window == STATUS_LINE_START)?;
    let head = std::str::from_utf8(&written[start..]).ok()?;
    let rest = head.strip_prefix("HTTP/1.1 ")?;
    let (status_line, headers) = rest.split_once("\r\n")?;
    let status: u16 = status_line.get(..3)?.parse().ok()?;
    if !matches!(status, 400 | 414 | 431) {
        return None;
    }
    let headers = headers.strip_suffix("\r\n\r\n")?;
    let mut lines = headers.split("\r\n");
    let shape = [
        lines.next() == Some("connection: close"),
        lines.next() == Some("content-length: 0"),
        lines.next().is_some_and(|line| line.starts_with("date: ")),
        lines.next().is_none(),
    ];
    shape.iter().all(|held| *held).then_some((start, status))
}

/// The problem document that replaces hyper's automatic answer with `status`.
fn problem_answer(status: u16) -> Vec<u8> {
    use axum::http::StatusCode;
    let problem = match status {
        431 => Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "the request's headers are too large or too many (at most 100 headers, and about \
             400 KB with the request line); send a shorter request",
        ),
        414 => Problem::new(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            "the request's target (the path and query) is too long; send the case in the body",
        ),
        _ => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-http",
            "the request is not valid HTTP/1.1: its request line (method, target, version) or \
             one of its headers could not be read (RFC 9112)",
        ),
    };
    let body = problem.to_json();
    let reason = problem.status.canonical_reason().unwrap_or("Error");
    format!(
        "HTTP/1.1 {status} {reason}\r\nconnection: close\r\ncontent-type: {}\r\ncontent-length: {}\r\n\r\n{body}",
        crate::problem::PROBLEM_JSON,
        body.len()
    )
    .into_bytes()
}

impl<S: AsyncRead + Unpin> AsyncRead for ProblemOnParseError<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(context, buffer)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ProblemOnParseError<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacement.is_none() {
            match automatic_answer(buffer) {
                // What comes before the automatic answer goes out as it is, first.
                Some((start, _)) if start > 0 => {
                    return Pin::new(&mut this.inner).poll_write(context, &buffer[..start]);
                }
                Some((_, status)) => {
                    this.replacement = Some(Replacement {
                        bytes: problem_answer(status),
                        written: 0,
                        replaced_length: buffer.len(),
                    });
                }
                None => return Pin::new(&mut this.inner).poll_write(context, buffer),
            }
        }
        let Some(replacement) = this.replacement.as_mut() else {
            return Pin::new(&mut this.inner).poll_write(context, buffer);
        };
        while replacement.written < replacement.bytes.len() {
            let rest = &replacement.bytes[replacement.written..];
            match Pin::new(&mut this.inner).poll_write(context, rest) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(count)) => replacement.written += count,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
        // The whole automatic answer counts as written: hyper has nothing more to send on a
        // connection it is closing.
        let replaced_length = replacement.replaced_length;
        this.replacement = None;
        Poll::Ready(Ok(replaced_length))
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(context)
    }

    // Vectored writes are not offered, so that hyper hands over each answer in one buffer and
    // its automatic answer is seen whole.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(written: &str, expected: Option<(usize, u16)>) {
        assert_eq!(
            automatic_answer(written.as_bytes()),
            expected,
            "{written:?}"
        );
    }

    #[test]
    fn only_hypers_exact_automatic_answer_at_the_end_is_recognised() {
        let date = "date: Sat, 05 Dec 2026 19:49:32 GMT";
        let answer = format!(
            "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n{date}\r\n\r\n"
        );
        check(&answer, Some((0, 400)));
        let before = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        check(&format!("{before}{answer}"), Some((before.len(), 400)));
        check(
            &answer.replace("400 Bad Request", "431 Request Header Fields Too Large"),
            Some((0, 431)),
        );
        // The service's own answers: a content type, a body, another status.
        check(
            &answer.replace(
                "content-length: 0",
                "content-type: application/problem+json\r\ncontent-length: 0",
            ),
            None,
        );
        check(&format!("{answer}{{}}"), None);
        check(&answer.replace("400 Bad Request", "404 Not Found"), None);
        check(before, None);
    }

    #[test]
    fn the_replacement_is_a_problem_document_that_says_why() {
        let answer = String::from_utf8(problem_answer(431)).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("content-type: application/problem+json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["status"], 431);
        assert!(json["detail"].as_str().unwrap().contains("headers"));
    }
}
