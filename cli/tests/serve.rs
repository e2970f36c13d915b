//! `ereje serve`, started as a user would on a free loopback port, and asked over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use ereje_server::client::{self, Answer, Client};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn policy_dir() -> PathBuf {
    manifest_dir().join("../policies/kz")
}

fn examples() -> PathBuf {
    manifest_dir().join("../../shared/contract/examples")
}

fn cases() -> Vec<String> {
    std::fs::read_to_string(examples().join("cases.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A fresh directory of its own for each test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ereje-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `ereje serve`; killed when dropped.
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    fn start(policy: &Path, database: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ereje"))
            .arg("serve")
            .arg(policy)
            .args(["--listen", "127.0.0.1:0", "--db"])
            .arg(database)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("ereje serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("not the start line: {line:?}"))
            .parse()
            .unwrap();
        Server { child, address }
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        client::send(self.address, method, path, headers, body).unwrap()
    }

    fn post_json(&self, path: &str, body: &str) -> Answer {
        self.send(
            "POST",
            path,
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
    }

    fn get(&self, path: &str) -> Answer {
        self.send("GET", path, &[], b"")
    }

    /// SIGTERM, and waits for a clean exit.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "ereje serve stopped with {exit}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kz_server(name: &str) -> (Server, PathBuf) {
    let dir = temp_dir(name);
    (Server::start(&policy_dir(), &sqlite(&dir), &[]), dir)
}

fn sqlite(dir: &Path) -> String {
    dir.join("ereje.sqlite").display().to_string()
}

/// The databases a storage test runs on: an SQLite file in `dir`, and a fresh PostgreSQL
/// database when `EREJE_TEST_POSTGRES_URL` names a server (`.ci/setup.d/20-postgres.sh` starts
/// one). Without it the PostgreSQL half is skipped with a message, except in CI (`EREJE_CI=1`),
/// where that is a failure.
fn databases(dir: &Path, name: &str) -> Vec<String> {
    let mut targets = vec![sqlite(dir)];
    match std::env::var("EREJE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let database = format!("ereje_{name}_{}", std::process::id());
            let mut admin = postgres::Client::connect(&url, postgres::NoTls)
                .unwrap_or_else(|error| panic!("cannot reach EREJE_TEST_POSTGRES_URL: {error}"));
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))
                .unwrap();
            admin
                .batch_execute(&format!("CREATE DATABASE {database}"))
                .unwrap();
            let (base, _) = url.rsplit_once('/').unwrap();
            targets.push(format!("{base}/{database}"));
        }
        _ if std::env::var("EREJE_CI").is_ok_and(|value| value == "1") => {
            panic!(
                "EREJE_CI=1 but EREJE_TEST_POSTGRES_URL is unset: the PostgreSQL tests cannot run"
            )
        }
        _ => println!("skipped on PostgreSQL: EREJE_TEST_POSTGRES_URL is unset"),
    }
    targets
}

/// The fields of `expected.jsonl` (it has no `policy`): id, date and outputs.
fn comparable(line: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    serde_json::json!([
        value["case_id"],
        value["as_of"],
        value["outputs"],
        value["error"]
    ])
}

#[test]
fn every_public_example_through_evaluate_equals_expected_and_eval() {
    let (server, dir) = kz_server("examples");
    let expected: Vec<String> = std::fs::read_to_string(examples().join("expected.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(expected.len(), cases().len());
    for (case, expected) in cases().iter().zip(&expected) {
        let answer = server.post_json("/v1/evaluate", case);
        assert_eq!(comparable(&answer.text()), comparable(expected), "{case}");
        let file = dir.join("case.json");
        std::fs::write(&file, case).unwrap();
        let eval = Command::new(env!("CARGO_BIN_EXE_ereje"))
            .arg("eval")
            .arg(policy_dir())
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(
            answer.body, eval.stdout,
            "byte for byte what `ereje eval` prints"
        );
        let status = if eval.status.success() { 200 } else { 422 };
        assert_eq!(answer.status, status);
    }
}

/// Reads one chunk of a chunked body: `None` at the last (empty) chunk.
fn read_chunk(reader: &mut BufReader<std::net::TcpStream>) -> Option<String> {
    use std::io::Read as _;
    let mut size_line = String::new();
    reader.read_line(&mut size_line).unwrap();
    let size = usize::from_str_radix(size_line.trim(), 16)
        .unwrap_or_else(|_| panic!("not a chunk size: {size_line:?}"));
    let mut data = vec![0; size + 2];
    reader.read_exact(&mut data).unwrap();
    assert!(data.ends_with(b"\r\n"));
    data.truncate(size);
    (size > 0).then(|| String::from_utf8(data).unwrap())
}

/// An NDJSON request is answered line by line while the client is still sending it (the
/// request body is read as it comes, not held whole): the first answer arrives before the rest
/// of the body is sent. A line over the case-size limit is answered `case.too_large` on its
/// own line, and a stream over the byte limit is cut short with an incomplete body.
#[test]
fn an_ndjson_stream_is_answered_while_it_is_still_being_sent() {
    use std::io::Write as _;
    let dir = temp_dir("ndjson-live");
    let server = Server::start(
        &policy_dir(),
        &sqlite(&dir),
        &["--max-case-bytes", "5000", "--max-stream-bytes", "60000"],
    );
    let cases = cases();
    let expected: Vec<String> = cases
        .iter()
        .map(|case| server.post_json("/v1/evaluate", case).text())
        .collect();
    let connect = || {
        let stream = std::net::TcpStream::connect(server.address).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        write!(
            writer,
            "POST /v1/evaluate HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\n\
             transfer-encoding: chunked\r\n\r\n"
        )
        .unwrap();
        (writer, BufReader::new(stream))
    };
    let send_chunk = |writer: &mut std::net::TcpStream, data: &str| {
        write!(writer, "{:x}\r\n{data}\r\n", data.len()).unwrap();
        writer.flush().unwrap();
    };
    let read_head = |reader: &mut BufReader<std::net::TcpStream>| {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                return head;
            }
            head.push_str(&line);
        }
    };

    // The first line and half the second: the first answer comes back before any more is sent.
    let (mut writer, mut reader) = connect();
    let (second_start, second_rest) = cases[1].split_at(cases[1].len() / 2);
    send_chunk(&mut writer, &format!("{}\n{second_start}", cases[0]));
    let head = read_head(&mut reader);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert_eq!(read_chunk(&mut reader).unwrap(), expected[0]);
    // The rest of the second line, a line over the case-size limit, the third line.
    let too_large = format!("{{\"case_id\": \"{}\"}}", "x".repeat(6000));
    send_chunk(
        &mut writer,
        &format!("{second_rest}\n{too_large}\n{}", cases[2]),
    );
    send_chunk(&mut writer, "");
    let mut answered = String::new();
    while let Some(chunk) = read_chunk(&mut reader) {
        answered.push_str(&chunk);
    }
    let lines: Vec<&str> = answered.lines().collect();
    assert_eq!(lines.len(), 3, "{answered}");
    assert_eq!(format!("{}\n", lines[0]), expected[1]);
    let error: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(error["error"]["code"], "case.too_large");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("6015 bytes, more than the limit of 5000"));
    assert_eq!(format!("{}\n", lines[2]), expected[2]);

    // Over the byte limit without a content-length: the lines before it are answered, then
    // the body ends without its last chunk (the answer is incomplete, as HTTP says it).
    let (mut writer, mut reader) = connect();
    let line = format!("{}\n", cases[0]);
    let mut sent = 0;
    while sent <= 60_000 {
        send_chunk(&mut writer, &line);
        sent += line.len();
    }
    assert!(read_head(&mut reader).starts_with("HTTP/1.1 200"));
    let mut answered = 0;
    let complete = loop {
        let mut size_line = String::new();
        match reader.read_line(&mut size_line) {
            Ok(0) | Err(_) => break false,
            Ok(_) => {}
        }
        let size = usize::from_str_radix(size_line.trim(), 16).unwrap();
        if size == 0 {
            break true;
        }
        let mut data = vec![0; size + 2];
        if std::io::Read::read_exact(&mut reader, &mut data).is_err() {
            break false;
        }
        answered += std::str::from_utf8(&data[..size]).unwrap().lines().count();
    };
    assert!(
        !complete,
        "a stream over the limit must not end as complete"
    );
    assert!(
        answered > 0 && answered * line.len() <= 60_000,
        "{answered}"
    );
    assert_eq!(server.get("/v1/health").status, 200);

    // A client that sends the whole body before it reads a byte (as Python's `requests` does)
    // gets every answer, however much larger than the sockets' buffers the answers are.
    let server = Server::start(&policy_dir(), &sqlite(&temp_dir("ndjson-deaf")), &[]);
    let lines: String = (0..40_000)
        .map(|index| format!("{}\n", cases[index % cases.len()]))
        .collect();
    let answer = server.send(
        "POST",
        "/v1/evaluate",
        &[("content-type", "application/x-ndjson")],
        lines.as_bytes(),
    );
    assert_eq!(answer.status, 200);
    assert!(
        answer.body.len() > 40_000_000,
        "{} bytes",
        answer.body.len()
    );
    let answered: Vec<&str> = std::str::from_utf8(&answer.body).unwrap().lines().collect();
    assert_eq!(answered.len(), 40_000);
    assert_eq!(
        format!("{}\n", answered[3999]),
        expected[3999 % cases.len()]
    );
}

#[test]
fn the_ndjson_stream_keeps_order_and_answers_every_line_as_batch_does() {
    let (server, dir) = kz_server("ndjson");
    let mut lines = cases();
    lines.insert(3, String::new());
    lines.insert(5, "{not json".to_string());
    lines.reverse();
    let input = lines.join("\n") + "\n";
    let file = dir.join("cases.jsonl");
    std::fs::write(&file, &input).unwrap();
    let answer = server.send(
        "POST",
        "/v1/evaluate",
        &[("content-type", "application/x-ndjson")],
        input.as_bytes(),
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/x-ndjson"));
    let batch = Command::new(env!("CARGO_BIN_EXE_ereje"))
        .arg("batch")
        .arg(policy_dir())
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(answer.text(), String::from_utf8_lossy(&batch.stdout));
    let answered: Vec<&str> = std::str::from_utf8(&answer.body).unwrap().lines().collect();
    assert_eq!(answered.len(), lines.len());
    for (line, answer) in lines.iter().zip(&answered) {
        let id = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .map(|case| case["case_id"].clone());
        let answered_id =
            serde_json::from_str::<serde_json::Value>(answer).unwrap()["case_id"].clone();
        assert_eq!(id.unwrap_or(serde_json::Value::Null), answered_id);
    }
}

fn problem(answer: &Answer, status: u16, kind: &str) {
    assert_eq!(answer.status, status, "{}", answer.text());
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
    let body = answer.json();
    assert_eq!(body["type"], format!("urn:ereje:problem:{kind}"));
    assert_eq!(body["status"], status);
    assert!(body["detail"]
        .as_str()
        .is_some_and(|detail| detail.len() > 10));
}

#[test]
fn every_error_class_gets_its_status_and_body() {
    let dir = temp_dir("errors");
    let server = Server::start(
        &policy_dir(),
        &sqlite(&dir),
        &["--max-stream-bytes", "100000"],
    );
    // A case error: 422 with the error line of decision.md.
    let answer = server.post_json(
        "/v1/evaluate",
        r#"{"case_id": "x", "application_date": "2025-02-30"}"#,
    );
    assert_eq!(answer.status, 422);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert!(answer.json()["error"]["code"]
        .as_str()
        .unwrap()
        .starts_with("case."));
    let check = |answer: Answer, status: u16, kind: &str| problem(&answer, status, kind);
    check(server.get("/v2/nothing"), 404, "not-found");
    check(server.get("/v1/decisions/12345"), 404, "not-found");
    check(
        server.get("/v1/decisions/not-a-number/explanation"),
        404,
        "not-found",
    );
    check(
        server.send("DELETE", "/v1/evaluate", &[], b""),
        405,
        "method-not-allowed",
    );
    check(
        server.send(
            "POST",
            "/v1/evaluate",
            &[("content-type", "text/plain")],
            b"{}",
        ),
        415,
        "unsupported-media-type",
    );
    check(
        server.send("POST", "/v1/evaluate", &[], b"{}"),
        415,
        "unsupported-media-type",
    );
    let big = format!("{{\"case_id\": \"{}\"}}", "x".repeat(2 << 20));
    check(
        server.post_json("/v1/evaluate", &big),
        413,
        "body-too-large",
    );
    check(
        server.post_json("/v1/decisions", &big),
        413,
        "body-too-large",
    );
    let huge = "{}\n".repeat(70_000);
    check(
        server.send(
            "POST",
            "/v1/evaluate",
            &[("content-type", "application/x-ndjson")],
            huge.as_bytes(),
        ),
        413,
        "body-too-large",
    );
    check(
        server.post_json("/v1/evaluate?version=1999", "{}"),
        404,
        "not-found",
    );
    check(
        server.post_json("/v1/evaluate?as_of=yesterday", "{}"),
        400,
        "bad-request",
    );
    check(
        server.post_json("/v1/evaluate?colour=red", "{}"),
        400,
        "bad-request",
    );
    check(server.get("/v1/parameters"), 400, "bad-request");
    check(
        server.get("/v1/decisions/1/explanation?lang=fr"),
        400,
        "bad-request",
    );
    check(
        server.send(
            "POST",
            "/v1/decisions",
            &[
                ("content-type", "application/json"),
                ("idempotency-key", &"k".repeat(300)),
            ],
            cases()[0].as_bytes(),
        ),
        400,
        "bad-request",
    );
    // Malformed HTTP gets a problem document (hyper's own empty answer is replaced), and the
    // server stays up.
    // (Headers over hyper's buffer are answered 431 too, but before the request is read
    // whole, so the client's rest of the request meets a reset that may drop the answer: too
    // many headers are the same answer from a request read to its end.)
    let many_headers = format!(
        "GET /v1/health HTTP/1.1\r\nhost: x\r\n{}\r\n",
        (0..150)
            .map(|n| format!("x-{n}: y\r\n"))
            .collect::<String>()
    );
    let long_target = format!(
        "GET /v1/health?{} HTTP/1.1\r\nhost: x\r\n\r\n",
        "q".repeat(70_000)
    );
    for (request, status, kind) in [
        ("GARBAGE\r\n\r\n".to_string(), 400, "malformed-http"),
        (
            "GET /v1/health HTTP/1.1\r\nho st: x\r\n\r\n".to_string(),
            400,
            "malformed-http",
        ),
        (
            "GET /v1/health HTTP/9.9\r\nhost: x\r\n\r\n".to_string(),
            400,
            "malformed-http",
        ),
        (many_headers, 431, "headers-too-large"),
        (long_target, 414, "uri-too-long"),
    ] {
        let mut raw = Client::connect(server.address).unwrap();
        let answer = raw.send_raw(request.as_bytes()).unwrap();
        problem(&answer, status, kind);
    }
    // After a good request on the same connection, the bad one that follows gets its document.
    let mut raw = Client::connect(server.address).unwrap();
    let first = raw
        .send_raw(b"GET /v1/health HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    assert_eq!(first.status, 200);
    let answer = raw
        .send_raw(b"GET /v1/health HTTP/1.1\r\nho st: x\r\n\r\n")
        .unwrap();
    problem(&answer, 400, "malformed-http");
    assert_eq!(server.get("/v1/health").status, 200);
}

#[test]
fn a_record_is_read_back_explained_and_kept_once_per_idempotency_key() {
    let dir = temp_dir("records");
    for database in databases(&dir, "records") {
        records_on(&database, &dir);
    }
}

fn records_on(database: &str, dir: &Path) {
    let server = Server::start(&policy_dir(), database, &[]);
    let case = &cases()[1];
    let evaluated = server.post_json("/v1/evaluate", case);
    let kept = server.post_json("/v1/decisions", case);
    assert_eq!(kept.status, 201, "{}", kept.text());
    let record = kept.json();
    let id = record["id"].as_str().unwrap().to_string();
    assert_eq!(
        kept.header("location"),
        Some(format!("/v1/decisions/{id}").as_str())
    );
    assert_eq!(record["decision"], evaluated.json());
    assert_eq!(
        record["case"],
        serde_json::from_str::<serde_json::Value>(case).unwrap()
    );
    assert_eq!(record["requested_by"], "anonymous");
    let read = server.get(&format!("/v1/decisions/{id}"));
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), record);
    let file = dir.join("case.json");
    std::fs::write(&file, case).unwrap();
    for (lang, word) in [
        ("ru", "Объяснение"),
        ("kk", "түсіндірмесі"),
        ("en", "explanation"),
    ] {
        let explained = server.get(&format!("/v1/decisions/{id}/explanation?lang={lang}"));
        assert_eq!(explained.status, 200);
        assert!(
            explained.text().contains(word),
            "{lang}: {}",
            explained.text()
        );
        assert!(explained.text().contains("32 360"), "{}", explained.text());
        let explain = Command::new(env!("CARGO_BIN_EXE_ereje"))
            .arg("explain")
            .arg(policy_dir())
            .arg(&file)
            .args(["--lang", lang])
            .output()
            .unwrap();
        assert_eq!(
            explained.body, explain.stdout,
            "what `ereje explain` prints"
        );
    }
    let html = server.get(&format!(
        "/v1/decisions/{id}/explanation?lang=en&format=html"
    ));
    assert!(
        html.text().starts_with("<!DOCTYPE html>") || html.text().starts_with("<!doctype html>")
    );
    let json = server.get(&format!("/v1/decisions/{id}/explanation?format=json"));
    assert!(json.json().is_object());

    let keyed = |key: &str, body: &str| {
        server.send(
            "POST",
            "/v1/decisions",
            &[
                ("content-type", "application/json"),
                ("idempotency-key", key),
            ],
            body.as_bytes(),
        )
    };
    let first = keyed("retry-1", case);
    assert_eq!(first.status, 201);
    let retried = keyed("retry-1", case);
    assert_eq!(retried.status, 200);
    assert_eq!(retried.json(), first.json());
    problem(
        &keyed("retry-1", &cases()[2]),
        409,
        "idempotency-key-reused",
    );
    let case_id = record["case_id"].as_str().unwrap();
    let listed = server.get(&format!("/v1/decisions?case_id={case_id}&limit=1"));
    assert_eq!(listed.status, 200);
    let page = listed.json();
    assert_eq!(page["records"].as_array().unwrap().len(), 1);
    assert_eq!(page["records"][0]["id"], first.json()["id"], "newest first");
    let before = page["next_before"].as_str().unwrap();
    let rest = server
        .get(&format!("/v1/decisions?case_id={case_id}&before={before}"))
        .json();
    let ids: Vec<&str> = rest["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![id.as_str()],
        "two records of the case, one per idempotent retry"
    );
    assert_eq!(rest["next_before"], serde_json::Value::Null);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn after_a_restart_on_an_edited_policy_an_old_record_is_explained_with_its_own_digest() {
    let dir = temp_dir("restart");
    for database in databases(&dir, "restart") {
        restart_on(&database, &dir);
    }
}

fn restart_on(database: &str, dir: &Path) {
    let policy = dir.join("kz");
    let _ = std::fs::remove_dir_all(&policy);
    copy_dir(&policy_dir(), &policy);
    let case = &cases()[1];
    let server = Server::start(&policy, database, &[]);
    let old = server.post_json("/v1/decisions", case).json();
    server.stop();

    let parameters = policy.join("parameters.ereje");
    let text = std::fs::read_to_string(&parameters).unwrap();
    assert!(text.contains("from 2024-01-01 = 0.70"));
    std::fs::write(
        &parameters,
        text.replace("from 2024-01-01 = 0.70", "from 2024-01-01 = 0.75"),
    )
    .unwrap();
    let server = Server::start(&policy, database, &[]);
    let new = server.post_json("/v1/decisions", case).json();
    assert_ne!(old["policy"]["digest"], new["policy"]["digest"]);
    assert_eq!(new["decision"]["outputs"]["asp"]["poverty_line"], "34671");
    let explain = |record: &serde_json::Value| {
        server
            .get(&format!(
                "/v1/decisions/{}/explanation?lang=en",
                record["id"].as_str().unwrap()
            ))
            .text()
    };
    let old_text = explain(&old);
    assert!(
        old_text.contains("32 360") && !old_text.contains("34 671"),
        "{old_text}"
    );
    let new_text = explain(&new);
    assert!(
        new_text.contains("34 671") && !new_text.contains("32 360"),
        "{new_text}"
    );

    // A broken edit is not swapped in: the service keeps the last good policy.
    let served = server.get("/v1/health").json()["digests"].clone();
    std::fs::write(&parameters, "parameter BROKEN: = \n").unwrap();
    problem(
        &server.send("POST", "/v1/admin/reload", &[], b""),
        422,
        "policy-not-reloaded",
    );
    assert_eq!(server.get("/v1/health").json()["digests"], served);
    std::fs::write(&parameters, text).unwrap();
    let reloaded = server.send("POST", "/v1/admin/reload", &[], b"");
    assert_eq!(reloaded.status, 200);
    assert_eq!(reloaded.json()["digests"][0], old["policy"]["digest"]);
    server.stop();
}

#[test]
fn tokens_give_roles_and_nothing_else() {
    let dir = temp_dir("tokens");
    let make = |name: &str, roles: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_ereje"))
            .args(["serve", "--new-token", name, "--roles", roles])
            .output()
            .unwrap();
        assert!(output.status.success());
        let text = String::from_utf8(output.stdout).unwrap();
        let secret = String::from_utf8(output.stderr).unwrap().trim().to_string();
        assert_eq!(secret.len(), 64);
        (secret, text)
    };
    let (reader, reader_table) = make("reader", "read,evaluate");
    let (writer, writer_table) = make("writer", "record");
    let tokens = dir.join("tokens.toml");
    std::fs::write(&tokens, format!("{reader_table}\n{writer_table}")).unwrap();
    assert!(
        !std::fs::read_to_string(&tokens).unwrap().contains(&reader),
        "only hashes are kept"
    );
    let server = Server::start(
        &policy_dir(),
        &sqlite(&dir),
        &["--tokens", tokens.to_str().unwrap()],
    );
    let with = |token: &str, method: &str, path: &str| {
        let bearer = format!("Bearer {token}");
        server.send(
            method,
            path,
            &[
                ("authorization", &bearer),
                ("content-type", "application/json"),
            ],
            cases()[0].as_bytes(),
        )
    };
    assert_eq!(server.get("/v1/health").status, 200);
    problem(
        &server.post_json("/v1/evaluate", &cases()[0]),
        401,
        "unauthorized",
    );
    problem(&with("wrong", "POST", "/v1/evaluate"), 401, "unauthorized");
    assert_eq!(with(&reader, "POST", "/v1/evaluate").status, 200);
    assert_eq!(
        with(&reader, "POST", "/v1/evaluate").status,
        200,
        "the remembered token"
    );
    problem(&with(&reader, "POST", "/v1/decisions"), 403, "forbidden");
    let kept = with(&writer, "POST", "/v1/decisions");
    assert_eq!(kept.status, 201);
    assert_eq!(kept.json()["requested_by"], "writer");
    problem(&with(&writer, "GET", "/v1/decisions/1"), 403, "forbidden");
    assert_eq!(with(&reader, "GET", "/v1/decisions/1").status, 200);
    problem(&with(&reader, "POST", "/v1/admin/reload"), 403, "forbidden");
}

#[test]
fn without_a_token_file_only_loopback_is_served() {
    let output = Command::new(env!("CARGO_BIN_EXE_ereje"))
        .arg("serve")
        .arg(policy_dir())
        .args(["--listen", "0.0.0.0:0", "--db"])
        .arg(temp_dir("open").join("ereje.sqlite"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("without a token file"), "{stderr}");
}

#[test]
fn the_openapi_document_names_every_route_and_the_policy_endpoints_answer() {
    let (server, _dir) = kz_server("openapi");
    let document = server.get("/v1/openapi.json").json();
    assert_eq!(document["openapi"], "3.1.0");
    for (method, path) in ereje_server::openapi::ROUTES {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
    let policies = server.get("/v1/policies").json();
    assert_eq!(policies["versions"][0]["status"], "in-force");
    assert_eq!(policies["versions"][1]["status"], "proposed");
    let parameters = server.get("/v1/parameters?date=2025-03-01").json();
    let share = &parameters["parameters"]["POVERTY_LINE_SHARE"];
    assert_eq!(share["value"], "0.7");
    assert_eq!(share["from"], "2024-01-01");
    assert!(share["source"].as_str().unwrap().contains("70%"));
    let health = server.get("/v1/health").json();
    assert_eq!(health["digests"][0], policies["versions"][0]["digest"]);
}

/// A case of the examples with a case id of its own.
fn case_with_id(template: &serde_json::Value, id: &str) -> String {
    let mut case = template.clone();
    case["case_id"] = serde_json::Value::String(id.to_string());
    case.to_string()
}

#[test]
fn after_sigkill_every_acknowledged_record_is_whole_and_nothing_is_half_written() {
    let dir = temp_dir("sigkill");
    for database in databases(&dir, "sigkill") {
        sigkill_on(&database);
    }
}

fn sigkill_on(database: &str) {
    const WRITERS: usize = 16;
    const ACKNOWLEDGED_BEFORE_KILL: usize = 400;
    const MOST_PER_WRITER: usize = 2_000;
    let mut server = Server::start(&policy_dir(), database, &[]);
    let address = server.address;
    let template: serde_json::Value = serde_json::from_str(&cases()[1]).unwrap();
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let acknowledged = std::sync::Arc::clone(&acknowledged);
            let template = template.clone();
            std::thread::spawn(move || {
                let Ok(mut client) = Client::connect(address) else {
                    return;
                };
                for number in 0..MOST_PER_WRITER {
                    let case = case_with_id(&template, &format!("w{writer}-{number}"));
                    let Ok(answer) = client.send(
                        "POST",
                        "/v1/decisions",
                        &[("content-type", "application/json")],
                        case.as_bytes(),
                    ) else {
                        return;
                    };
                    assert_eq!(answer.status, 201, "{}", answer.text());
                    let id = answer.json()["id"].as_str().unwrap().to_string();
                    acknowledged.lock().unwrap().push((id, case));
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < ACKNOWLEDGED_BEFORE_KILL
        && writers.iter().any(|writer| !writer.is_finished())
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for writer in writers {
        writer.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= ACKNOWLEDGED_BEFORE_KILL);

    let server = Server::start(&policy_dir(), database, &[]);
    let mut client = Client::connect(server.address).unwrap();
    for (id, case) in &acknowledged {
        let read = client
            .send("GET", &format!("/v1/decisions/{id}"), &[], b"")
            .unwrap();
        assert_eq!(read.status, 200, "the acknowledged record {id} is gone");
        let record = read.json();
        assert_eq!(
            record["case"],
            serde_json::from_str::<serde_json::Value>(case).unwrap()
        );
        assert_eq!(record["decision"]["case_id"], record["case_id"]);
    }
    // Every record there (acknowledged or not) is whole: ids are dense up to the last one.
    let highest: u64 = acknowledged
        .iter()
        .map(|(id, _)| id.parse::<u64>().unwrap())
        .max()
        .unwrap();
    let mut kept = 0;
    for id in 1..=highest + WRITERS as u64 * 4 {
        let read = client
            .send("GET", &format!("/v1/decisions/{id}"), &[], b"")
            .unwrap();
        if read.status == 404 {
            assert!(
                id > highest,
                "record {id} is missing below the last acknowledged one"
            );
            continue;
        }
        assert_eq!(read.status, 200);
        let record = read.json();
        assert!(
            record["case"].is_object() && record["decision"]["outputs"].is_object(),
            "{record}"
        );
        kept += 1;
    }
    println!(
        "sigkill on {}: {} records acknowledged with 201, {kept} kept after the restart, all whole",
        database.split(':').next().unwrap_or_default(),
        acknowledged.len()
    );
    server.stop();
}
