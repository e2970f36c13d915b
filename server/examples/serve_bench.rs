//! The service's figures: throughput and p50/p99 latency of `POST /v1/evaluate` and of durable
//! `POST /v1/decisions` (SQLite) at 1, 16 and 64 connections, from a bounded load client of the
//! project's own on loopback. A benchmark that prints figures, never a test that times.
//!
//! Also one NDJSON stream of REQUESTS_PER_RUN cases through `POST /v1/evaluate` (cases/s).
//!
//! `cargo run --release -p ereje-server --example serve_bench [-- REQUESTS_PER_RUN]`; with
//! `EREJE_BENCH_DATABASE=postgres://…` the records go to that PostgreSQL database instead of a
//! temporary SQLite file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ereje_server::client::Client;
use ereje_server::{RequestLimits, ServeConfig};

const CONNECTIONS: [usize; 3] = [1, 16, 64];

/// Sends `total` requests over `connections` connections; returns (requests/s, p50, p99).
fn load(
    address: SocketAddr,
    path: &str,
    bodies: &[String],
    connections: usize,
    total: usize,
    expected_status: u16,
) -> Result<(f64, Duration, Duration), String> {
    let per_connection = total.div_ceil(connections);
    let started = Instant::now();
    let threads: Vec<_> = (0..connections)
        .map(|connection| {
            let bodies = bodies.to_vec();
            let path = path.to_string();
            std::thread::spawn(move || -> Result<Vec<Duration>, String> {
                let mut client = Client::connect(address).map_err(|error| error.to_string())?;
                let mut latencies = Vec::with_capacity(per_connection);
                for number in 0..per_connection {
                    let body = &bodies[(connection * per_connection + number) % bodies.len()];
                    let sent = Instant::now();
                    let answer = client
                        .send(
                            "POST",
                            &path,
                            &[("content-type", "application/json")],
                            body.as_bytes(),
                        )
                        .map_err(|error| error.to_string())?;
                    latencies.push(sent.elapsed());
                    if answer.status != expected_status {
                        return Err(format!("{path}: {} {}", answer.status, answer.text()));
                    }
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for thread in threads {
        latencies.extend(
            thread
                .join()
                .map_err(|_| "a load thread failed".to_string())??,
        );
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |share: f64| {
        latencies[((latencies.len() as f64 * share) as usize).min(latencies.len() - 1)]
    };
    Ok((
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
    ))
}

fn main() -> Result<(), String> {
    let total: usize = std::env::args()
        .nth(1)
        .map(|text| {
            text.parse()
                .map_err(|_| format!("`{text}` is not a number of requests"))
        })
        .transpose()?
        .unwrap_or(20_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cases: Vec<String> =
        std::fs::read_to_string(root.join("../shared/contract/examples/cases.jsonl"))
            .map_err(|error| error.to_string())?
            .lines()
            .map(str::to_string)
            .collect();
    let runtime = tokio::runtime::Runtime::new().map_err(|error| error.to_string())?;
    let sqlite_file =
        std::env::temp_dir().join(format!("ereje-serve-bench-{}.sqlite", std::process::id()));
    let database =
        std::env::var("EREJE_BENCH_DATABASE").unwrap_or_else(|_| sqlite_file.display().to_string());
    let started = Instant::now();
    let running = runtime
        .block_on(ereje_server::start(ServeConfig {
            policy_dir: root.join("policies/kz"),
            listen: "127.0.0.1:0".parse().map_err(|_| "address".to_string())?,
            database: database.clone(),
            token_file: None,
            limits: RequestLimits::default(),
            native_code: ereje_kz_native::POLICIES,
        }))
        .map_err(|error| error.to_string())?;
    println!(
        "start (compile every version, open the database, listen): {} ms; database: {}",
        started.elapsed().as_millis(),
        if database.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let decidable: Vec<String> = cases
        .iter()
        .filter(|case| {
            Client::connect(running.address)
                .and_then(|mut client| {
                    client.send(
                        "POST",
                        "/v1/evaluate",
                        &[("content-type", "application/json")],
                        case.as_bytes(),
                    )
                })
                .is_ok_and(|answer| answer.status == 200)
        })
        .cloned()
        .collect();
    println!(
        "{} requests per run, {} example cases in turn, {} cores",
        total,
        decidable.len(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "{:<22} {:>11} {:>12} {:>10} {:>10}",
        "route", "connections", "requests/s", "p50", "p99"
    );
    for (path, status, share) in [("/v1/evaluate", 200, 1), ("/v1/decisions", 201, 4)] {
        for connections in CONNECTIONS {
            let (rate, p50, p99) = load(
                running.address,
                path,
                &decidable,
                connections,
                total / share,
                status,
            )?;
            println!(
                "{path:<22} {connections:>11} {rate:>12.0} {:>8.3}ms {:>8.3}ms",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            );
        }
    }
    let stream: String = decidable
        .iter()
        .cycle()
        .take(total)
        .map(|case| format!("{case}\n"))
        .collect();
    let mut client = Client::connect(running.address).map_err(|error| error.to_string())?;
    let sent = Instant::now();
    let answer = client
        .send(
            "POST",
            "/v1/evaluate",
            &[("content-type", "application/x-ndjson")],
            stream.as_bytes(),
        )
        .map_err(|error| error.to_string())?;
    let elapsed = sent.elapsed();
    let answered = answer.body.iter().filter(|byte| **byte == b'\n').count();
    if answer.status != 200 || answered != total {
        return Err(format!(
            "the NDJSON stream: {} with {answered} lines",
            answer.status
        ));
    }
    println!(
        "NDJSON stream of {total} cases, 1 connection: {:.0} cases/s ({:.1} MB in, {:.1} MB out)",
        total as f64 / elapsed.as_secs_f64(),
        stream.len() as f64 / 1e6,
        answer.body.len() as f64 / 1e6
    );
    runtime
        .block_on(running.stop())
        .map_err(|error| error.to_string())?;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", sqlite_file.display()));
    }
    Ok(())
}
