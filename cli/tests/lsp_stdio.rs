//! `ereje lsp` as an editor starts it: a child process speaking LSP over stdin and stdout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};

fn frame(message: serde_json::Value) -> Vec<u8> {
    let body = message.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

#[test]
fn the_binary_serves_over_stdio_and_exits_on_request() {
    let policy = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policies/kz/asp.ereje")
        .canonicalize()
        .unwrap();
    let uri = format!("file://{}", policy.display());
    let text = std::fs::read_to_string(&policy).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args(["lsp", "--today", "2025-06-01"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for message in [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": "ereje", "version": 1, "text": text}}}),
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
        serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
    ] {
        stdin.write_all(&frame(message)).unwrap();
    }
    drop(stdin);
    let mut output = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(output.contains("\"hoverProvider\":true"), "{output}");
    assert!(
        output.contains("textDocument/publishDiagnostics"),
        "{output}"
    );
    assert!(
        output.contains("\"id\":2,\"result\":null") || output.contains("\"result\":null,\"id\":2"),
        "{output}"
    );
}
