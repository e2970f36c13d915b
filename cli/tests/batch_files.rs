//! Batch files that cannot be lost (issue 16), through the binary: `-o` naming the input,
//! output through `<target>.partial`, SIGTERM and write errors mid-run with `--skip` to resume,
//! byte-order marks and invisible characters, and keys given twice.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn policy_dir() -> String {
    format!("{}/../policies/kz", env!("CARGO_MANIFEST_DIR"))
}

fn ereje(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args(args)
        .output()
        .expect("the ereje binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ereje-files-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Writes `count` generated cases to `dir/cases.jsonl` and returns the path.
fn generated(dir: &Path, count: usize) -> PathBuf {
    let path = dir.join("cases.jsonl");
    let output = ereje(&[
        "generate",
        "--cases",
        &count.to_string(),
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    path
}

/// The output lines of `ereje batch` on `cases` (stdout), with its stderr.
fn batch_lines(cases: &Path, extra: &[&str]) -> (Vec<String>, String) {
    let mut args = vec!["batch", "--threads", "2"];
    let policy = policy_dir();
    args.push(&policy);
    args.push(cases.to_str().unwrap());
    args.extend_from_slice(extra);
    let output = ereje(&args);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines = stdout.lines().map(str::to_string).collect();
    (lines, String::from_utf8(output.stderr).unwrap())
}

fn is_whole_decision(line: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line).is_ok_and(|json| json["outputs"].is_object())
}

#[test]
fn an_output_that_names_the_input_is_refused_and_the_input_survives() {
    let dir = temp_dir("same");
    let cases = generated(&dir, 20);
    let before = std::fs::read(&cases).unwrap();
    std::os::unix::fs::symlink(&cases, dir.join("link.jsonl")).unwrap();
    std::fs::hard_link(&cases, dir.join("hard.jsonl")).unwrap();
    let policy = policy_dir();
    let same = cases.to_str().unwrap();
    let dotted = format!("{}/./cases.jsonl", dir.display());
    let link = dir.join("link.jsonl");
    let hard = dir.join("hard.jsonl");
    for output in [
        same,
        &dotted,
        link.to_str().unwrap(),
        hard.to_str().unwrap(),
    ] {
        let result = ereje(&["batch", &policy, same, "-o", output]);
        assert_eq!(result.status.code(), Some(2), "-o {output}");
        let stderr = String::from_utf8(result.stderr).unwrap();
        assert!(stderr.contains("is the input"), "{stderr}");
        assert_eq!(std::fs::read(&cases).unwrap(), before, "-o {output}");
        assert!(!Path::new(&format!("{output}.partial")).exists());
    }
    // Stdin read from the output file, and the impact report over the cases.
    let stdin = std::fs::File::open(&cases).unwrap();
    let result = Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args(["batch", &policy, "-", "-o", same])
        .stdin(stdin)
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    let result = ereje(&["diff", &policy, &policy, "--cases", same, "-o", same]);
    assert_eq!(result.status.code(), Some(2));
    assert_eq!(std::fs::read(&cases).unwrap(), before);
}

#[test]
fn the_output_is_renamed_into_place_only_at_the_end_and_never_over_a_partial_file() {
    let dir = temp_dir("rename");
    let cases = generated(&dir, 30);
    let (expected, _) = batch_lines(&cases, &[]);
    let target = dir.join("out.jsonl");
    let partial = dir.join("out.jsonl.partial");
    std::fs::write(&target, "an older output\n").unwrap();
    let (_, stderr) = batch_lines(&cases, &["-o", target.to_str().unwrap()]);
    assert!(!partial.exists(), "{stderr}");
    assert_eq!(text(&target), expected.join("\n") + "\n");
    // A partial file of an earlier run is never overwritten, and the target stays as it was.
    std::fs::write(&partial, "kept\n").unwrap();
    let (_, stderr) = batch_lines(&cases, &["-o", target.to_str().unwrap()]);
    assert!(stderr.contains("out.jsonl.partial` exists"), "{stderr}");
    assert_eq!(text(&partial), "kept\n");
    assert_eq!(text(&target), expected.join("\n") + "\n");
}

/// A target that is not a regular file (here a named pipe; `/dev/null` is the usual one) is
/// written directly: a file renamed over it would replace the device or the pipe, as it once
/// replaced a machine's `/dev/null`, after which every program reading it got the batch.
#[test]
fn an_output_that_is_a_pipe_or_a_device_is_written_in_place_and_stays_what_it_was() {
    use std::os::unix::fs::FileTypeExt as _;
    let dir = temp_dir("fifo");
    let cases = generated(&dir, 25);
    let (expected, _) = batch_lines(&cases, &[]);
    let fifo = dir.join("out.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || std::fs::read_to_string(reader_path).unwrap());
    let mut batch = Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args([
            "batch",
            "--threads",
            "2",
            &policy_dir(),
            cases.to_str().unwrap(),
            "-o",
        ])
        .arg(&fifo)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while batch.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the batch did not end"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // A batch that never opened the pipe would leave the reader waiting: open and close the
    // writing end once, so that it reads what there is and ends.
    // Opened without blocking (O_NONBLOCK, 0o4000 on Linux): when the reader has ended, there
    // is no reading end and the open fails at once, which is fine.
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(0o4000)
        .open(&fifo);
    let received = reader.join().unwrap();
    let output = batch.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    assert_eq!(received, expected.join("\n") + "\n", "{stderr}");
    assert!(!dir.join("out.fifo.partial").exists());
}

/// Waits, at most a minute, until `path` holds at least `lines` lines.
fn wait_for_lines(path: &Path, lines: usize) {
    let started = Instant::now();
    while std::fs::read_to_string(path).map_or(0, |text| text.lines().count()) < lines {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no {lines} lines in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_mid_run_keeps_whole_lines_in_the_partial_file_and_says_where_to_resume() {
    let dir = temp_dir("sigterm");
    let cases = generated(&dir, 700);
    let all = text(&cases);
    let lines: Vec<&str> = all.lines().collect();
    let (expected, _) = batch_lines(&cases, &[]);
    let target = dir.join("out.jsonl");
    let partial = dir.join("out.jsonl.partial");
    // The cases come through a pipe: two chunks of 256 lines first, so that the signal comes
    // while the run waits for more, mid-run and at a known point.
    let mut child = Command::new(env!("CARGO_BIN_EXE_ereje"))
        .args(["batch", &policy_dir(), "-", "--threads", "1", "-o"])
        .arg(&target)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all((lines[..512].join("\n") + "\n").as_bytes())
        .unwrap();
    wait_for_lines(&partial, 512);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // More lines after the signal: at most the line being read when it came is answered.
    let _ = stdin.write_all((lines[512..].join("\n") + "\n").as_bytes());
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(128 + 15), "{stderr}");
    assert!(!target.exists());
    let answered: Vec<String> = text(&partial).lines().map(str::to_string).collect();
    assert!((512..=513).contains(&answered.len()), "{}", answered.len());
    assert!(answered.iter().all(|line| is_whole_decision(line)));
    assert_eq!(answered[..], expected[..answered.len()]);
    let resume = format!("resume with `--skip {}`", answered.len());
    assert!(
        stderr.contains("SIGTERM") && stderr.contains(&resume),
        "{stderr}"
    );
    // Resuming answers the rest: together, the lines of an uninterrupted run.
    let skip = answered.len().to_string();
    let (rest, _) = batch_lines(&cases, &["--skip", &skip]);
    assert_eq!([answered, rest].concat(), expected);
}

#[test]
fn a_write_error_keeps_whole_lines_and_says_where_to_resume() {
    let dir = temp_dir("write-error");
    let cases = generated(&dir, 400);
    let (expected, _) = batch_lines(&cases, &["--trace"]);
    let target = dir.join("out.jsonl");
    // A file size limit of 2 MB: the write past it fails (EFBIG, its signal ignored).
    let script = format!(
        "trap '' XFSZ; ulimit -f 4096; exec '{}' batch '{}' '{}' --trace --threads 2 -o '{}'",
        env!("CARGO_BIN_EXE_ereje"),
        policy_dir(),
        cases.display(),
        target.display()
    );
    let output = Command::new("sh").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!target.exists());
    let answered: Vec<String> = text(&dir.join("out.jsonl.partial"))
        .lines()
        .map(str::to_string)
        .collect();
    assert!(!answered.is_empty() && answered.len() < expected.len());
    assert_eq!(answered[..], expected[..answered.len()]);
    let resume = format!("--skip {}", answered.len());
    assert!(stderr.contains(&resume), "{stderr}");
}

#[test]
fn a_byte_order_mark_at_the_start_is_skipped_and_anywhere_else_named() {
    let dir = temp_dir("bom");
    let cases = generated(&dir, 12);
    let plain = text(&cases);
    let (expected, stderr) = batch_lines(&cases, &[]);
    assert!(!stderr.contains("byte order mark"));
    let marked = dir.join("marked.jsonl");
    std::fs::write(&marked, format!("\u{feff}{plain}")).unwrap();
    let (lines, stderr) = batch_lines(&marked, &[]);
    assert_eq!(lines, expected);
    assert!(stderr.contains("byte order mark (U+FEFF) at the start of the input was skipped"));
    // On the third line, and a zero width space before the fifth: error lines naming them.
    let mut broken: Vec<String> = plain.lines().map(str::to_string).collect();
    broken[2].insert(0, '\u{feff}');
    broken[4].insert(0, '\u{200b}');
    let broken_path = dir.join("broken.jsonl");
    std::fs::write(&broken_path, broken.join("\n") + "\n").unwrap();
    let (lines, _) = batch_lines(&broken_path, &[]);
    for (index, line) in lines.iter().enumerate() {
        match index {
            2 => assert!(line.contains("U+FEFF (byte order mark)"), "{line}"),
            4 => assert!(line.contains("U+200B (zero width space)"), "{line}"),
            _ => assert_eq!(*line, expected[index]),
        }
    }
    // `eval`, `explain` and `diff --cases` skip it too.
    let one = dir.join("one.json");
    let one_marked = dir.join("one-marked.json");
    std::fs::write(&one, plain.lines().next().unwrap()).unwrap();
    std::fs::write(&one_marked, format!("\u{feff}{}", text(&one))).unwrap();
    let policy = policy_dir();
    for command in ["eval", "explain"] {
        let without = ereje(&[command, &policy, one.to_str().unwrap()]);
        let with = ereje(&[command, &policy, one_marked.to_str().unwrap()]);
        assert!(without.status.success());
        assert_eq!(with.stdout, without.stdout, "{command}");
        assert!(String::from_utf8(with.stderr)
            .unwrap()
            .contains("byte order mark"));
    }
    let diff = |path: &Path| {
        ereje(&[
            "diff",
            &policy,
            &policy,
            "--cases",
            path.to_str().unwrap(),
            "--format",
            "json",
        ])
        .stdout
    };
    assert_eq!(diff(&marked), diff(&cases));
}

#[test]
fn a_key_given_twice_gives_one_error_line_and_leaves_its_neighbours_unchanged() {
    let dir = temp_dir("duplicate");
    let cases = generated(&dir, 9);
    let (expected, _) = batch_lines(&cases, &[]);
    let mut lines: Vec<String> = text(&cases).lines().map(str::to_string).collect();
    lines[3] = lines[3].replacen("\"region\":", "\"region\":\"aktobe\",\"region\":", 1);
    lines[6] = lines[6].replacen("\"birth_date\":", "\"sex\":\"male\",\"birth_date\":", 1);
    let path = dir.join("twice.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (answered, stderr) = batch_lines(&path, &[]);
    assert!(stderr.contains("case.duplicate_key 2"), "{stderr}");
    for (index, line) in answered.iter().enumerate() {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        match index {
            3 => assert_eq!(json["error"]["path"], "/region", "{line}"),
            6 => assert_eq!(json["error"]["path"], "/members/0/sex", "{line}"),
            _ => assert_eq!(*line, expected[index]),
        }
        if index == 3 || index == 6 {
            assert_eq!(json["error"]["code"], "case.duplicate_key");
        }
    }
}

#[test]
fn csv_cells_are_read_as_spreadsheets_write_them() {
    let dir = temp_dir("csv");
    // A byte-order mark, `;` separators, a quoted cell with a line break, the separator and
    // doubled quotes, and a cell holding a zero width space.
    let csv = "\u{feff}case_id;application_date;region;m1_role;m1_birth_date;m1_sex;m1_income_salary_2025-01\r\n\
               c1;2025-03-12;\"North\r\nquarter; \"\"old\"\"\";applicant;1990-05-01;female;60000\r\n\
               \"c \"\"2\"\"\";2025-03-12;;applicant;1960-01-01;male;\r\n\
               c3;2025-03-12;;applicant;1960-01-01;male;1\u{200b}00\r\n\
               c4;2025-03-12;;applicant;1980-01-01;female;250000.50\r\n";
    let jsonl = [
        r#"{"case_id":"c1","application_date":"2025-03-12","region":"North\r\nquarter; \"old\"","members":[{"id":"m1","role":"applicant","birth_date":"1990-05-01","sex":"female","incomes":[{"kind":"salary","month":"2025-01","amount":"60000"}]}]}"#,
        r#"{"case_id":"c \"2\"","application_date":"2025-03-12","members":[{"id":"m1","role":"applicant","birth_date":"1960-01-01","sex":"male"}]}"#,
        r#"{"case_id":"c4","application_date":"2025-03-12","members":[{"id":"m1","role":"applicant","birth_date":"1980-01-01","sex":"female","incomes":[{"kind":"salary","month":"2025-01","amount":"250000.50"}]}]}"#,
    ];
    let csv_path = dir.join("families.csv");
    let json_path = dir.join("families.jsonl");
    std::fs::write(&csv_path, csv).unwrap();
    std::fs::write(&json_path, jsonl.join("\n") + "\n").unwrap();
    let (from_csv, stderr) = batch_lines(&csv_path, &[]);
    let (from_json, _) = batch_lines(&json_path, &[]);
    assert_eq!(from_csv.len(), 4, "{stderr}");
    assert!(stderr.contains("byte order mark"), "{stderr}");
    assert_eq!(from_csv[0], from_json[0]);
    assert!(is_whole_decision(&from_csv[0]));
    assert_eq!(from_csv[1], from_json[1]);
    assert!(from_csv[2].contains("csv.invalid_cell"), "{}", from_csv[2]);
    assert!(from_csv[2].contains("U+200B (zero width space)"));
    assert_eq!(from_csv[3], from_json[2]);
    // `--skip` counts rows, not lines: the row with a line break is one.
    let (resumed, _) = batch_lines(&csv_path, &["--skip", "1"]);
    assert_eq!(resumed[..], from_csv[1..]);
}
