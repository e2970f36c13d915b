//! The language server's re-check after a one-character edit: `didChange` inserting (then
//! removing) one character in a rule's English message of `asp.ereje`, through the server's
//! handling of the notification: the salsa database re-checks what the edit touches, the policy is
//! compiled and the diagnostics to publish are built. Prints the best and the median of the rounds.
//!
//! `cargo bench -p ereje-language-server --bench recheck` (figures in BENCHMARKS.md).

use std::time::{Duration, Instant};

use ereje_language_server::{Options, Server};
use lsp_server::Notification;
use serde_json::json;

const ROUNDS: usize = 200;

fn main() {
    let directory = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies/kz");
    let Ok(directory) = directory.canonicalize() else {
        eprintln!("policies/kz not found");
        return;
    };
    let path = directory.join("asp.ereje");
    let (Ok(text), Ok(uri)) = (
        std::fs::read_to_string(&path),
        lsp_types::Url::from_file_path(&path),
    ) else {
        eprintln!("cannot read {}", path.display());
        return;
    };
    let Some(offset) = text.find("Income is counted") else {
        eprintln!("the edited message is not in asp.ereje");
        return;
    };
    let position = ereje_language_server::text::position(&text, offset);
    let mut server = Server::new(Options::today());
    let opened = json!({ "textDocument": {
        "uri": uri, "languageId": "ereje", "version": 1, "text": text } });
    server.notification(Notification::new("textDocument/didOpen".into(), opened));
    let mut timings: Vec<Duration> = Vec::with_capacity(ROUNDS * 2);
    for round in 0..ROUNDS {
        for (version, inserted) in [(2 * round + 2, true), (2 * round + 3, false)] {
            let end = if inserted {
                position
            } else {
                lsp_types::Position::new(position.line, position.character + 1)
            };
            let change = json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [ {
                    "range": { "start": position, "end": end },
                    "text": if inserted { "x" } else { "" }
                } ]
            });
            let started = Instant::now();
            let published =
                server.notification(Notification::new("textDocument/didChange".into(), change));
            timings.push(started.elapsed());
            assert_eq!(published.len(), 1, "only asp.ereje is re-published");
        }
    }
    report(
        "re-check after a one-character edit (didChange → diagnostics to publish)",
        timings,
    );

    // The same edits on a workspace alone (`set_file_text` + `compile`), for comparison: the
    // server's own share is the difference.
    let Ok(mut workspace) = ereje_compiler::Workspace::load(&directory) else {
        eprintln!("cannot load {}", directory.display());
        return;
    };
    let mut timings: Vec<Duration> = Vec::with_capacity(ROUNDS * 2);
    let edited = format!("{}x{}", &text[..offset], &text[offset..]);
    for _ in 0..ROUNDS {
        for version in [&edited, &text] {
            let started = Instant::now();
            workspace.set_file_text("asp.ereje", version.clone());
            let compilation = workspace.compile();
            timings.push(started.elapsed());
            assert_eq!(compilation.error_count(), 0);
        }
    }
    report("the compiler alone (set_file_text + compile)", timings);
}

fn report(what: &str, mut timings: Vec<Duration>) {
    timings.sort();
    let show = |duration: Duration| format!("{:.3} ms", duration.as_secs_f64() * 1000.0);
    println!(
        "{what}, {} edits: best {}, median {}",
        timings.len(),
        show(timings[0]),
        show(timings[timings.len() / 2])
    );
}
