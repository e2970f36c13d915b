//! The district commission's app (`/app` of `ereje serve`), driven over HTTP as a browser would
//! (session cookie, CSRF token, form posts) against the real binary on a free loopback port, on
//! SQLite and, when `EREJE_TEST_POSTGRES_URL` is set, on PostgreSQL: the whole flow, another
//! commission's member refused everywhere, forms without their token refused, hostile case ids
//! shown as text, the sign-in limit, and `ereje audit verify` catching an edited row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use ereje_server::client::{self, Answer};

const PASSWORD: &str = "correct horse battery";
/// A case id made to break out of the page if it were not escaped.
const HOSTILE_ID: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";

fn ereje() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ereje"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ereje-commission-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// SQLite in `dir`, and a fresh PostgreSQL database when `EREJE_TEST_POSTGRES_URL` is set.
fn databases(dir: &Path, name: &str) -> Vec<String> {
    let mut targets = vec![dir.join("app.sqlite").display().to_string()];
    match std::env::var("EREJE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let database = format!("ereje_app_{name}_{}", std::process::id());
            let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
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
            panic!("EREJE_CI=1 but EREJE_TEST_POSTGRES_URL is unset")
        }
        _ => println!("skipped on PostgreSQL: EREJE_TEST_POSTGRES_URL is unset"),
    }
    targets
}

/// Runs `ereje ARGS` with `stdin`; its exit code and stdout.
fn run(args: &[&str], stdin: &str) -> (i32, String) {
    let mut child = ereje()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    (
        output.status.code().unwrap_or(-1),
        format!("{stdout}{stderr}"),
    )
}

/// The admin's setup: commissions `a3` (three members, one the chair) and `b5` (one member).
fn set_up(db: &str) {
    for (name, district) in [("a3", "Almaly"), ("b5", "Bostandyk")] {
        let (code, out) = run(
            &[
                "commission",
                "add",
                "--db",
                db,
                "--name",
                name,
                "--district",
                district,
            ],
            "",
        );
        assert_eq!(code, 0, "{out}");
    }
    for (login, name, role, commission) in [
        ("m1", "Aigul Serikova", "member", "a3"),
        ("m2", "Bolat Nurlanov", "member", "a3"),
        ("m3", "Dana Akhmetova", "chair", "a3"),
        ("x1", "Yerlan Other", "member", "b5"),
        ("a1", "Asel Analyst", "analyst", "a3"),
        ("y1", "Yerzhan Analyst", "analyst", "b5"),
    ] {
        let (code, out) = run(
            &[
                "user",
                "add",
                "--db",
                db,
                "--login",
                login,
                "--name",
                name,
                "--role",
                role,
                "--commission",
                commission,
            ],
            &format!("{PASSWORD}\n"),
        );
        assert_eq!(code, 0, "{out}");
    }
    let (code, out) = run(
        &[
            "user",
            "add",
            "--db",
            db,
            "--login",
            "c2",
            "--name",
            "Second chair",
            "--role",
            "chair",
            "--commission",
            "a3",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_ne!(code, 0, "a second chair was accepted: {out}");
    let (code, out) = run(
        &[
            "user", "add", "--db", db, "--login", "a0", "--name", "Nowhere", "--role", "analyst",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_ne!(
        code, 0,
        "an analyst without a commission was accepted: {out}"
    );
}

struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    fn start(db: &str) -> Server {
        let mut child = ereje()
            .arg("serve")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies/kz"))
            .args(["--listen", "127.0.0.1:0", "--db", db])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap()
            .parse()
            .unwrap();
        Server { child, address }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser of one person: its session cookie and the CSRF token of its last page.
struct Browser {
    address: SocketAddr,
    cookie: Option<String>,
    csrf: String,
}

fn form_encode(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (byte as char).to_string()
                }
                b' ' => "+".to_string(),
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Browser {
    fn new(server: &Server) -> Browser {
        Browser {
            address: server.address,
            cookie: None,
            csrf: String::new(),
        }
    }

    fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let cookie = self
            .cookie
            .clone()
            .map(|cookie| format!("ereje_session={cookie}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(cookie) = &cookie {
            all.push(("cookie", cookie));
        }
        let answer = client::send(self.address, method, path, &all, body).unwrap();
        if let Some(set) = answer.header("set-cookie") {
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Strict"),
                "{set}"
            );
            let value = set.split(';').next().unwrap();
            self.cookie = Some(value.strip_prefix("ereje_session=").unwrap().to_string());
        }
        let text = answer.text();
        if let Some(start) = text.find("name=\"csrf\" value=\"") {
            let rest = &text[start + 19..];
            self.csrf = rest[..rest.find('"').unwrap()].to_string();
        }
        answer
    }

    fn get(&mut self, path: &str) -> Answer {
        let answer = self.send("GET", path, &[], b"");
        if answer.status == 200 {
            let policy = answer.header("content-security-policy").unwrap();
            assert!(policy.contains("script-src 'nonce-"), "{policy}");
            assert!(!policy.contains("unsafe-inline"), "{policy}");
        }
        answer
    }

    /// Posts a form with the page's CSRF token.
    fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let csrf = self.csrf.clone();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_without_token(path, &all)
    }

    fn post_without_token(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.send(
            "POST",
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            form_encode(fields).as_bytes(),
        )
    }

    fn sign_in(server: &Server, login: &str) -> Browser {
        let mut browser = Browser::new(server);
        browser.get("/app/sign-in?lang=en");
        let answer = browser.post("/app/sign-in", &[("login", login), ("password", PASSWORD)]);
        assert_eq!(answer.status, 303, "{}", answer.text());
        assert_eq!(answer.header("location"), Some("/app"));
        assert_eq!(browser.get("/app").status, 200);
        browser
    }
}

fn location(answer: &Answer) -> String {
    answer.header("location").unwrap_or_default().to_string()
}

/// The survey of a family with a child of three and an unemployed adult.
fn family(case_id: &str, birth_date: &str) -> Vec<(String, String)> {
    [
        ("/case_id", case_id),
        ("/application_date", "2025-03-12"),
        ("/members/0/id", "m1"),
        ("/members/0/role", "applicant"),
        ("/members/0/birth_date", birth_date),
        ("/members/0/sex", "female"),
        ("/members/0/employment", "not_working"),
        ("/members/3/id", "m2"),
        ("/members/3/role", "child"),
        ("/members/3/birth_date", "2022-01-20"),
        ("/members/3/sex", "male"),
        ("/social_contract/signed", "true"),
        ("latitude", "43.238949"),
        ("longitude", "76.889709"),
        ("accuracy", "12"),
        ("located_at", "2025-03-12T09:30:00Z"),
    ]
    .iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect()
}

fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

fn audit_verify(db: &str) -> (i32, String) {
    run(&["audit", "verify", "--db", db], "")
}

fn whole_flow(db: &str) {
    set_up(db);
    let server = Server::start(db);
    let mut member1 = Browser::sign_in(&server, "m1");

    // The form is generated from the input record: nested lists have their templates.
    let form = member1.get("/app/surveys/new").text();
    for name in [
        "/case_id",
        "/members/~0~/birth_date",
        "/members/~0~/incomes/~1~/amount",
        "/bank/loans/~0~/issued_on",
    ] {
        assert!(
            form.contains(&format!("name=\"{name}\"")),
            "no field {name}"
        );
    }

    // An engine error is shown next to its field.
    let broken = family("broken", "1990-13-40");
    let answer = member1.post("/app/surveys", &borrowed(&broken));
    assert_eq!(answer.status, 422);
    let page = answer.text();
    let field = page.find("name=\"/members/0/birth_date\"").unwrap();
    let error = page[field..].find("class=\"error\"").unwrap();
    assert!(error < 200, "the error is not next to its field");
    assert!(
        page[field..]
            .contains("the value of the field “date of birth” is not valid, given `1990-13-40`"),
        "{page}"
    );

    // The survey with a hostile case id: saved, decided, shown as text everywhere.
    let answer = member1.post("/app/surveys", &borrowed(&family(HOSTILE_ID, "1990-04-02")));
    assert_eq!(answer.status, 303, "{}", answer.text());
    let conclusion = location(&answer);
    assert!(conclusion.starts_with("/app/conclusions/"), "{conclusion}");
    for path in [
        conclusion.clone(),
        format!("{conclusion}/print"),
        "/app".to_string(),
    ] {
        let page = member1.get(&path).text();
        assert!(
            page.contains(
                "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"
            ),
            "{path}"
        );
        assert!(
            !page.contains("<script>alert") && !page.contains("<img src=x"),
            "{path}"
        );
    }
    let page = member1.get(&conclusion).text();
    assert!(page.contains("status-draft"));
    assert!(page.contains("43.238949, 76.889709"));
    assert!(page.contains("ASP-"), "the explanation has no rule id");
    let survey: String = page
        .split("href=\"/app/surveys/")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .find(|id| !id.is_empty())
        .unwrap();

    // A form without its CSRF token changes nothing.
    let answer = member1.post_without_token(&format!("{conclusion}/send"), &[]);
    assert_eq!(answer.status, 403);
    let answer = member1.post_without_token(&format!("{conclusion}/send"), &[("csrf", "forged")]);
    assert_eq!(answer.status, 403);
    assert!(member1.get(&conclusion).text().contains("status-draft"));

    let answer = member1.post(&format!("{conclusion}/send"), &[]);
    assert_eq!(answer.status, 303, "{}", answer.text());

    // Another commission's member: 403 on every page and action of this one.
    let mut other = Browser::sign_in(&server, "x1");
    for path in [
        conclusion.clone(),
        format!("{conclusion}/print"),
        format!("/app/surveys/{survey}"),
        format!("/app/surveys/{survey}/revise"),
    ] {
        assert_eq!(other.get(&path).status, 403, "GET {path}");
    }
    other.get("/app");
    for (path, fields) in [
        (format!("{conclusion}/send"), vec![]),
        (format!("{conclusion}/sign"), vec![("verdict", "signed")]),
        (
            format!("{conclusion}/sign"),
            vec![("verdict", "declined"), ("reason", "no")],
        ),
        (
            format!("/app/surveys/{survey}"),
            borrowed(&family("x", "1990-04-02")),
        ),
    ] {
        let answer = other.post(&path, &fields);
        assert_eq!(answer.status, 403, "POST {path}: {}", answer.text());
    }
    assert!(
        !other.get("/app").text().contains("alert(1)"),
        "the other commission lists the case"
    );
    analyst_reads_and_changes_nothing(db, &server, &conclusion, &survey);

    // The others sign; a refusal needs its reason.
    let mut member2 = Browser::sign_in(&server, "m2");
    assert!(member2
        .get("/app")
        .text()
        .contains(&format!("href=\"{conclusion}\"")));
    member2.get(&conclusion);
    let answer = member2.post(
        &format!("{conclusion}/sign"),
        &[("verdict", "declined"), ("reason", " ")],
    );
    assert_eq!(answer.status, 409);
    assert_eq!(
        member2
            .post(&format!("{conclusion}/sign"), &[("verdict", "signed")])
            .status,
        303
    );
    assert!(member2.get(&conclusion).text().contains("status-sent"));
    let mut member3 = Browser::sign_in(&server, "m3");
    member3.get(&conclusion);
    assert_eq!(
        member3
            .post(&format!("{conclusion}/sign"), &[("verdict", "signed")])
            .status,
        303
    );
    let print = member3.get(&format!("{conclusion}/print")).text();
    assert!(print.contains("status-final"));
    for name in ["Aigul Serikova", "Bolat Nurlanov", "Dana Akhmetova"] {
        assert!(print.contains(name), "the print page lacks {name}");
    }
    let digest = print
        .split("sha256:")
        .nth(1)
        .map(|rest| rest[..64].to_string())
        .unwrap();

    // A correction is a new revision: the final conclusion is voided, both stay readable.
    member1.get(&format!("/app/surveys/{survey}/revise"));
    let answer = member1.post(
        &format!("/app/surveys/{survey}"),
        &borrowed(&family("corrected", "1990-04-02")),
    );
    assert_eq!(answer.status, 303, "{}", answer.text());
    let corrected = location(&answer);
    assert_ne!(corrected, conclusion);
    let old = member1.get(&conclusion).text();
    assert!(old.contains("status-voided") && old.contains(&digest));
    assert!(member1.get(&corrected).text().contains("status-draft"));
    let revisions = member1.get(&format!("/app/surveys/{survey}")).text();
    assert!(revisions.contains("revision 1") && revisions.contains("revision 2"));

    // The sign-in limit: after five wrong passwords even the right one is refused.
    let mut guesser = Browser::new(&server);
    for _ in 0..5 {
        guesser.get("/app/sign-in");
        let answer = guesser.post(
            "/app/sign-in",
            &[("login", "m2"), ("password", "wrong password")],
        );
        assert_eq!(answer.status, 401);
    }
    guesser.get("/app/sign-in");
    let answer = guesser.post("/app/sign-in", &[("login", "m2"), ("password", PASSWORD)]);
    assert_eq!(answer.status, 429);
    drop(server);

    // The audit chain is intact, and an edited signed conclusion breaks it.
    let (code, out) = audit_verify(db);
    assert_eq!(code, 0, "{out}");
    let id: i64 = conclusion.rsplit('/').next().unwrap().parse().unwrap();
    let status = query(
        db,
        "SELECT status FROM conclusions WHERE id = $1",
        &[id.into()],
    );
    let status = status[0][0].clone();
    execute(
        db,
        "UPDATE conclusions SET status = 'final-by-hand' WHERE id = $1",
        &[id.into()],
    );
    let (code, out) = audit_verify(db);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("conclusion:{id}")), "{out}");
    // Put back, the chain is whole again.
    execute(
        db,
        "UPDATE conclusions SET status = $1 WHERE id = $2",
        &[status, id.into()],
    );
    let (code, out) = audit_verify(db);
    assert_eq!(code, 0, "{out}");

    // Two entries swapped (the log reordered) break the chain at the first of them.
    let entries = query(db, "SELECT id FROM audit_log ORDER BY id", &[]);
    assert!(entries.len() >= 4, "{} entries", entries.len());
    let (first, second) = (entries[1][0].clone(), entries[2][0].clone());
    let swap = || {
        let parking: ereje_server::storage::SqlValue = (-1_i64).into();
        let statement = "UPDATE audit_log SET id = $1 WHERE id = $2";
        execute(db, statement, &[parking.clone(), first.clone()]);
        execute(db, statement, &[first.clone(), second.clone()]);
        execute(db, statement, &[second.clone(), parking]);
    };
    swap();
    let (code, out) = audit_verify(db);
    assert_eq!(code, 1, "{out}");
    let first_id = first.integer().unwrap();
    assert!(out.contains(&format!("entry {first_id}")), "{out}");
    swap();
    let (code, out) = audit_verify(db);
    assert_eq!(code, 0, "{out}");

    // An entry deleted breaks the chain at the one after it.
    execute(
        db,
        "DELETE FROM audit_log WHERE id = $1",
        std::slice::from_ref(&first),
    );
    let (code, out) = audit_verify(db);
    assert_eq!(code, 1, "{out}");
    let after = second.integer().unwrap();
    assert!(out.contains(&format!("entry {after}")), "{out}");
}

/// The analyst of the commission reads its cases and conclusions and gets `403` (in the page's
/// language) on every action; the analyst of another commission reads nothing of it. Called when
/// `conclusion` has been sent (so a missing role check would answer a send `409`, a signature
/// `303`).
fn analyst_reads_and_changes_nothing(db: &str, server: &Server, conclusion: &str, survey: &str) {
    let mut analyst = Browser::sign_in(server, "a1");
    let home = analyst.get("/app").text();
    assert!(home.contains(&format!("href=\"{conclusion}\"")), "{home}");
    assert!(
        !home.contains("/app/surveys/new") && !home.contains("id=\"waiting\""),
        "the analyst is offered a survey or a signature"
    );
    let page = analyst.get(conclusion);
    assert_eq!(page.status, 200);
    let page = page.text();
    assert!(
        page.contains("status-sent") && page.contains("ASP-"),
        "{page}"
    );
    for action in ["/send\"", "/sign\"", "/revise\""] {
        assert!(!page.contains(action), "the analyst's page offers {action}");
    }
    let print = analyst.get(&format!("{conclusion}/print"));
    assert_eq!(print.status, 200);
    assert!(print.text().contains("Aigul Serikova"));
    let revisions = analyst.get(&format!("/app/surveys/{survey}"));
    assert_eq!(revisions.status, 200);
    assert!(revisions.text().contains("revision 1"));
    assert!(!revisions.text().contains("/revise\""));

    for path in [
        "/app/surveys/new".to_string(),
        format!("/app/surveys/{survey}/revise"),
    ] {
        let answer = analyst.get(&path);
        assert_eq!(answer.status, 403, "GET {path}");
        assert!(
            answer
                .text()
                .contains("Forbidden: your access is read only."),
            "GET {path}: {}",
            answer.text()
        );
    }
    analyst.get("/app");
    let family_fields = family("analyst's", "1990-04-02");
    for (path, fields) in [
        ("/app/surveys".to_string(), borrowed(&family_fields)),
        (format!("/app/surveys/{survey}"), borrowed(&family_fields)),
        (format!("{conclusion}/send"), vec![]),
        (format!("{conclusion}/sign"), vec![("verdict", "signed")]),
        (
            format!("{conclusion}/sign"),
            vec![("verdict", "declined"), ("reason", "no")],
        ),
    ] {
        let answer = analyst.post(&path, &fields);
        assert_eq!(answer.status, 403, "POST {path}: {}", answer.text());
        assert!(
            answer
                .text()
                .contains("Forbidden: your access is read only."),
            "POST {path}: {}",
            answer.text()
        );
    }
    // The refusal speaks the page's language.
    analyst.get("/app?lang=kk");
    let answer = analyst.post(&format!("{conclusion}/sign"), &[("verdict", "signed")]);
    assert_eq!(answer.status, 403);
    assert!(
        answer
            .text()
            .contains("Кіруге тыйым салынған: сізде тек оқуға рұқсат бар."),
        "{}",
        answer.text()
    );
    analyst.get("/app?lang=en");
    let page = analyst.get(conclusion).text();
    assert!(
        page.contains("status-sent"),
        "an analyst's action changed it"
    );
    // Nothing was written: the one survey, its one revision, the sender's one signature.
    let id: i64 = conclusion.rsplit('/').next().unwrap().parse().unwrap();
    let count = |statement: &str, values: &[ereje_server::storage::SqlValue]| {
        query(db, statement, values)[0][0].integer().unwrap()
    };
    assert_eq!(count("SELECT COUNT(*) FROM surveys", &[]), 1);
    assert_eq!(count("SELECT COUNT(*) FROM survey_revisions", &[]), 1);
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM signatures WHERE conclusion_id = $1",
            &[id.into()]
        ),
        1
    );

    let mut stranger = Browser::sign_in(server, "y1");
    for path in [
        conclusion.to_string(),
        format!("{conclusion}/print"),
        format!("/app/surveys/{survey}"),
    ] {
        assert_eq!(stranger.get(&path).status, 403, "GET {path}");
    }
    assert!(!stranger.get("/app").text().contains(conclusion));
}

/// Runs one statement on the app's database, as someone editing it by hand would.
fn execute(db: &str, statement: &str, values: &[ereje_server::storage::SqlValue]) {
    let mut database = ereje_server::storage::open_database(db).unwrap();
    ereje_server::storage::in_transaction(database.as_mut(), |sql| sql.execute(statement, values))
        .unwrap();
}

/// The rows of one query on the app's database.
fn query(
    db: &str,
    statement: &str,
    values: &[ereje_server::storage::SqlValue],
) -> Vec<Vec<ereje_server::storage::SqlValue>> {
    let mut database = ereje_server::storage::open_database(db).unwrap();
    ereje_server::storage::in_transaction(database.as_mut(), |sql| sql.query(statement, values))
        .unwrap()
}

/// The SHA-256 of a session token in hex, as the database keeps it.
fn token_sha256(token: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The session keys (SHA-256 of the tokens) the database holds.
fn session_keys(db: &str) -> Vec<String> {
    query(db, "SELECT token_sha256 FROM app_sessions", &[])
        .iter()
        .map(|row| row[0].text().unwrap().to_string())
        .collect()
}

/// Sessions are in the database: a restart of the server keeps a member signed in (with the
/// same CSRF token), the database holds only the hash of the token, and a signed-out cookie
/// opens nothing.
fn sessions_outlive_a_restart(db: &str) {
    set_up(db);
    let server = Server::start(db);
    let mut member1 = Browser::sign_in(&server, "m1");
    let cookie = member1.cookie.clone().unwrap();
    let csrf = member1.csrf.clone();
    let keys = session_keys(db);
    assert!(keys.contains(&token_sha256(&cookie)), "{keys:?}");
    assert!(
        !keys.contains(&cookie),
        "the token itself is in the database"
    );
    drop(server);

    let server = Server::start(db);
    member1.address = server.address;
    let answer = member1.get("/app");
    assert_eq!(
        answer.status,
        200,
        "signed out by the restart: {}",
        location(&answer)
    );
    assert!(answer.text().contains("Aigul Serikova"));
    assert_eq!(member1.csrf, csrf, "the session's CSRF token changed");
    assert_eq!(member1.cookie.as_deref(), Some(cookie.as_str()));

    let answer = member1.post("/app/sign-out", &[]);
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(location(&answer), "/app/sign-in");
    assert!(
        !session_keys(db).contains(&token_sha256(&cookie)),
        "sign-out left the session's row"
    );
    // The signed-out cookie, presented again, is sent to sign in.
    member1.cookie = Some(cookie);
    let answer = member1.get("/app");
    assert_eq!(answer.status, 303);
    assert_eq!(location(&answer), "/app/sign-in");
}

/// Before sign-in nothing is written: requests without a cookie (a bot's) leave the sessions
/// table empty, the sign-in form refuses a post without, with a wrong or with another cookie's
/// CSRF token, and signing in replaces the cookie, so the one held before sign-in (planted, say)
/// opens nothing after it.
fn anonymous_requests_write_no_session(db: &str) {
    set_up(db);
    let server = Server::start(db);
    for round in 0..10 {
        let mut bot = Browser::new(&server);
        assert_eq!(bot.get("/app").status, 303);
        let mut bot = Browser::new(&server);
        assert_eq!(bot.get("/app/sign-in?lang=kk").status, 200);
        let mut bot = Browser::new(&server);
        let answer = bot.post_without_token("/app/sign-in", &[("login", "m1")]);
        assert_eq!(answer.status, 403, "round {round}");
    }
    assert_eq!(session_keys(db), Vec::<String>::new(), "anonymous rows");

    let mut member1 = Browser::new(&server);
    assert_eq!(member1.get("/app/sign-in?lang=en").status, 200);
    let before = member1.cookie.clone().unwrap();
    assert!(before.starts_with("anon.en."), "{before}");
    // The same cookie gives the same CSRF token on the next page, and no new cookie.
    let csrf = member1.csrf.clone();
    let answer = member1.get("/app/sign-in");
    assert_eq!(answer.header("set-cookie"), None);
    assert_eq!(member1.csrf, csrf);
    let mut other = Browser::new(&server);
    other.get("/app/sign-in");
    assert_ne!(other.csrf, csrf);

    let sign_in = [("login", "m1"), ("password", PASSWORD)];
    let answer = member1.post_without_token("/app/sign-in", &sign_in);
    assert_eq!(answer.status, 403, "{}", answer.text());
    let mut wrong = vec![("csrf", "forged")];
    wrong.extend_from_slice(&sign_in);
    assert_eq!(
        member1.post_without_token("/app/sign-in", &wrong).status,
        403
    );
    // Another browser's token does not go with this browser's cookie.
    let mut others = vec![("csrf", other.csrf.as_str())];
    others.extend_from_slice(&sign_in);
    assert_eq!(
        member1.post_without_token("/app/sign-in", &others).status,
        403
    );
    // A wrong password writes no row either.
    let answer = member1.post("/app/sign-in", &[("login", "m1"), ("password", "wrong")]);
    assert_eq!(answer.status, 401);
    assert_eq!(session_keys(db), Vec::<String>::new());

    let answer = member1.post("/app/sign-in", &sign_in);
    assert_eq!(answer.status, 303, "{}", answer.text());
    let after = member1.cookie.clone().unwrap();
    assert_ne!(after, before, "the cookie was not replaced at sign-in");
    assert_eq!(session_keys(db), vec![token_sha256(&after)]);
    let answer = member1.get("/app");
    assert_eq!(answer.status, 200);
    assert!(answer.text().contains("Aigul Serikova"));
    assert_ne!(member1.csrf, csrf, "the CSRF token outlived sign-in");
    // The cookie from before sign-in opens nothing.
    let mut planted = Browser::new(&server);
    planted.cookie = Some(before);
    let answer = planted.get("/app");
    assert_eq!(answer.status, 303);
    assert_eq!(location(&answer), "/app/sign-in");
}

#[test]
fn anonymous_requests_write_no_session_on_every_database() {
    let dir = temp_dir("anonymous");
    for db in databases(&dir, "anonymous") {
        anonymous_requests_write_no_session(&db);
    }
}

#[test]
fn sessions_outlive_a_restart_on_every_database() {
    let dir = temp_dir("sessions");
    for db in databases(&dir, "sessions") {
        sessions_outlive_a_restart(&db);
    }
}

#[test]
fn the_commission_flow_on_every_database() {
    let dir = temp_dir("flow");
    for db in databases(&dir, "flow") {
        whole_flow(&db);
    }
}
