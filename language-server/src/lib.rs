//! The Ereje language server (`ereje lsp`): the compiler's salsa database kept in memory across
//! edits, behind the Language Server Protocol.
//!
//! Each policy directory (found from the `ereje.toml` above an opened file) is one
//! [`ereje_compiler::Workspace`]. An edit sets the file's text in the database and recompiles:
//! salsa re-checks only the items the edit touches, and the server publishes the diagnostics of
//! every module whose diagnostics changed (the edited file always), so a module that uses an
//! edited parameter is re-published too. Requests (hover, definition, references, rename,
//! document symbols, completion) read the same database through `ereje_compiler::navigation`.
//!
//! The transport is `lsp-server` and the message types `lsp-types`, the crates rust-analyzer is
//! built on: a synchronous loop over a channel suits a single-threaded salsa database, and an
//! in-memory connection lets the tests drive the server as an editor would.

mod features;
mod project;
mod server;
pub mod text;

use ereje_runtime::value::Date;
use lsp_server::Connection;

pub use crate::server::Server;

/// The stack of the server's thread: the compiler's queries recurse on syntax trees (see
/// `ereje_compiler::Workspace::compile`).
const SERVER_STACK_BYTES: usize = 256 * 1024 * 1024;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The date hovers show parameter values on (today, unless a test or a user says otherwise).
    pub today: Date,
    /// Runs a policy's tests (`ereje test`); the `ereje` binary gives its own runner, which this
    /// crate cannot depend on. `None`: the `ereje.runTests` command answers with an error.
    pub tests: Option<TestRunner>,
}

impl Options {
    /// Options with today's date (UTC) and no test runner.
    pub fn today() -> Options {
        Options {
            today: today_utc(),
            tests: None,
        }
    }
}

/// Runs the tests of the policy directory against a compiled policy (the editor's text, saved or
/// not), one outcome per test.
pub type TestRunner = fn(&std::path::Path, &ereje_runtime::ir::Policy) -> Vec<TestOutcome>;

/// One test's result, placed in its test file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// The test file, relative to the policy directory (`tests/asp_income.toml`).
    pub file: String,
    /// The 1-based line of the test in its file.
    pub line: usize,
    pub name: String,
    /// `None` when the test passed; otherwise what went wrong.
    pub failure: Option<String>,
}

/// The command that runs the open policy's tests: its argument is the URI of any file of the
/// policy; it publishes a diagnostic on each failing test and answers `{ passed, failed }`.
pub const RUN_TESTS_COMMAND: &str = "ereje.runTests";

/// Today's date in UTC, from the system clock.
pub fn today_utc() -> Date {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() / 86_400)
        .unwrap_or(0);
    Date::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_days(chrono::Days::new(days)))
        .unwrap_or_default()
}

/// Why the server stopped other than by the client's `shutdown` and `exit`.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("language server protocol error: {0}")]
    Protocol(#[from] lsp_server::ProtocolError),
    #[error("cannot encode a message: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the client's connection is closed")]
    Disconnected,
    #[error("input or output failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server's thread stopped unexpectedly")]
    Thread,
}

/// Serves one client over stdin and stdout until it asks the server to exit.
pub fn run_stdio(options: Options) -> Result<(), ServerError> {
    let (connection, io_threads) = Connection::stdio();
    let served = std::thread::Builder::new()
        .name("ereje-lsp".into())
        .stack_size(SERVER_STACK_BYTES)
        .spawn(move || serve(&connection, options))?
        .join()
        .map_err(|_| ServerError::Thread)?;
    served?;
    io_threads.join()?;
    Ok(())
}

/// Serves one client on a connection: the initialize handshake, then messages until `shutdown`.
pub fn serve(connection: &Connection, options: Options) -> Result<(), ServerError> {
    let capabilities = serde_json::to_value(server::capabilities())?;
    connection.initialize(capabilities)?;
    let mut server = Server::new(options);
    for message in &connection.receiver {
        match message {
            lsp_server::Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    return Ok(());
                }
                let response = server.request(request);
                // A request's notifications (test results) go first: the editor has them when
                // the answer arrives.
                for outgoing in server.take_pending() {
                    send(connection, lsp_server::Message::Notification(outgoing))?;
                }
                send(connection, lsp_server::Message::Response(response))?;
            }
            lsp_server::Message::Notification(notification) => {
                for outgoing in server.notification(notification) {
                    send(connection, lsp_server::Message::Notification(outgoing))?;
                }
            }
            lsp_server::Message::Response(_) => {}
        }
    }
    Ok(())
}

fn send(connection: &Connection, message: lsp_server::Message) -> Result<(), ServerError> {
    connection
        .sender
        .send(message)
        .map_err(|_| ServerError::Disconnected)
}
