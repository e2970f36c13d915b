//! The server driven as an editor drives it: an in-memory connection, the initialize handshake,
//! then `didOpen`, `didChange` and requests, on the bundled kz policies (read, never written).
//!
//! Every exchange goes through [`Editor::check`]: it sends notifications, then a request, and
//! returns the request's result with every diagnostic published before it. The server handles
//! messages in order, so the diagnostics of an edit are all in by the time the request is answered.

// The helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{json, Value};

/// The date hovers show values on, so that the expected values do not change with the clock.
const TODAY: &str = "2025-06-01";

struct Editor {
    client: Connection,
    server: Option<std::thread::JoinHandle<()>>,
    directory: PathBuf,
    texts: BTreeMap<String, String>,
    next_id: i32,
}

/// What one exchange returned.
struct Exchange {
    result: Value,
    /// The diagnostics published, by module path, the latest for each.
    diagnostics: BTreeMap<String, Vec<Value>>,
}

impl Editor {
    fn start() -> Editor {
        let (server, client) = Connection::memory();
        let today = ereje_runtime::value::Date::parse_from_str(TODAY, "%Y-%m-%d").unwrap();
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024 * 1024)
            .spawn(move || {
                let options = ereje_language_server::Options {
                    today,
                    tests: Some(fake_tests),
                };
                ereje_language_server::serve(&server, options).unwrap()
            })
            .unwrap();
        let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../policies/kz")
            .canonicalize()
            .unwrap();
        let mut editor = Editor {
            client,
            server: Some(handle),
            directory,
            texts: BTreeMap::new(),
            next_id: 0,
        };
        let initialized = editor.request("initialize", json!({ "capabilities": {} }));
        assert!(initialized["capabilities"]["hoverProvider"] == json!(true));
        editor.notify("initialized", json!({}));
        editor
    }

    fn uri(&self, module: &str) -> String {
        lsp_types::Url::from_file_path(self.directory.join(module))
            .unwrap()
            .to_string()
    }

    fn module_of(&self, uri: &str) -> String {
        let path = lsp_types::Url::parse(uri).unwrap().to_file_path().unwrap();
        path.strip_prefix(&self.directory)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    fn notify(&self, method: &str, params: Value) {
        let notification = Notification::new(method.to_string(), params);
        self.client
            .sender
            .send(Message::Notification(notification))
            .unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.check(&[], method, params).result
    }

    /// Sends the notifications, then the request; returns its result and the diagnostics
    /// published until its response.
    fn check(&mut self, notifications: &[(&str, Value)], method: &str, params: Value) -> Exchange {
        for (notification, notification_params) in notifications {
            self.notify(notification, notification_params.clone());
        }
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        let request = Request::new(id.clone(), method.to_string(), params);
        self.client.sender.send(Message::Request(request)).unwrap();
        let mut diagnostics = BTreeMap::new();
        loop {
            match self.client.receiver.recv().unwrap() {
                Message::Response(response) if response.id == id => {
                    let result = match response.response_result {
                        Ok(result) => result,
                        Err(error) => json!({ "error": error.message }),
                    };
                    return Exchange {
                        result,
                        diagnostics,
                    };
                }
                Message::Notification(published)
                    if published.method == "textDocument/publishDiagnostics" =>
                {
                    let module = self.module_of(published.params["uri"].as_str().unwrap());
                    let list = published.params["diagnostics"].as_array().unwrap().clone();
                    diagnostics.insert(module, list);
                }
                _ => {}
            }
        }
    }

    /// Opens a module with its text on disk (or `text`), then asks for its outline.
    fn open(&mut self, module: &str, text: Option<String>) -> Exchange {
        let text =
            text.unwrap_or_else(|| std::fs::read_to_string(self.directory.join(module)).unwrap());
        self.texts.insert(module.to_string(), text.clone());
        let uri = self.uri(module);
        let opened = json!({ "textDocument": {
            "uri": uri, "languageId": "ereje", "version": 1, "text": text } });
        self.check(
            &[("textDocument/didOpen", opened)],
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": uri } }),
        )
    }

    /// Replaces the first occurrence of `old` in a module by `new` (an incremental change whose
    /// range the editor computes in UTF-16 units), then asks for the module's outline.
    fn edit(&mut self, module: &str, old: &str, new: &str) -> Exchange {
        let text = self.texts[module].clone();
        let start = text.find(old).unwrap();
        let range = lsp_range(&text, start, start + old.len());
        let changed = text.replacen(old, new, 1);
        self.texts.insert(module.to_string(), changed);
        let uri = self.uri(module);
        let change = json!({
            "textDocument": { "uri": uri, "version": 2 },
            "contentChanges": [ { "range": range, "text": new } ]
        });
        self.check(
            &[("textDocument/didChange", change)],
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": uri } }),
        )
    }

    /// A request at the first occurrence of `needle` in a module (`shift` bytes into it).
    fn at(
        &mut self,
        method: &str,
        module: &str,
        needle: &str,
        shift: usize,
        extra: Value,
    ) -> Value {
        let text = &self.texts[module];
        let offset = text.find(needle).unwrap() + shift;
        let position = lsp_range(text, offset, offset)["start"].clone();
        let mut params =
            json!({ "textDocument": { "uri": self.uri(module) }, "position": position });
        if let (Some(params), Some(extra)) = (params.as_object_mut(), extra.as_object()) {
            params.extend(extra.clone());
        }
        self.request(method, params)
    }
}

impl Drop for Editor {
    fn drop(&mut self) {
        let _ = self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        if let Some(handle) = self.server.take() {
            let _ = handle.join();
        }
    }
}

/// An LSP range computed independently of the server: lines by `\n`, characters in UTF-16 units.
fn lsp_range(text: &str, start: usize, end: usize) -> Value {
    let position = |offset: usize| {
        let before = &text[..offset];
        let line = before.matches('\n').count();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let character = before[line_start..].encode_utf16().count();
        json!({ "line": line, "character": character })
    };
    json!({ "start": position(start), "end": position(end) })
}

fn errors(diagnostics: &[Value]) -> Vec<&Value> {
    diagnostics
        .iter()
        .filter(|d| d["severity"] == json!(1))
        .collect()
}

/// A stand-in for `ereje test` (which lives in the `ereje` binary): a test in
/// `tests/asp_income.toml` that passes while `MRP` is 3932 on 2025-06-01, and one that fails.
fn fake_tests(
    _directory: &std::path::Path,
    policy: &ereje_runtime::ir::Policy,
) -> Vec<ereje_language_server::TestOutcome> {
    let mrp_changed = !format!("{policy:?}").contains("3932");
    vec![
        ereje_language_server::TestOutcome {
            file: "tests/asp_income.toml".to_string(),
            line: 3,
            name: "MRP is 3932".to_string(),
            failure: mrp_changed.then(|| "MRP changed".to_string()),
        },
        ereje_language_server::TestOutcome {
            file: "tests/asp_children.toml".to_string(),
            line: 7,
            name: "always passes".to_string(),
            failure: None,
        },
    ]
}

#[test]
fn test_results_of_the_edited_policy_are_diagnostics_on_the_test_files() {
    let mut editor = Editor::start();
    editor.open("parameters.ereje", None);
    let uri = editor.uri("parameters.ereje");
    let command = json!({ "command": "ereje.runTests", "arguments": [uri] });
    let passing = editor.check(&[], "workspace/executeCommand", command.clone());
    assert_eq!(passing.result, json!({ "passed": 2, "failed": 0 }));
    assert!(passing.diagnostics["tests/asp_income.toml"].is_empty());
    editor.edit("parameters.ereje", "= 3932", "= 3933");
    let failing = editor.check(&[], "workspace/executeCommand", command);
    assert_eq!(failing.result, json!({ "passed": 1, "failed": 1 }));
    let published = &failing.diagnostics["tests/asp_income.toml"];
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0]["range"]["start"],
        json!({ "line": 2, "character": 0 })
    );
    assert!(published[0]["message"]
        .as_str()
        .unwrap()
        .contains("test `MRP is 3932` fails: MRP changed"));
}

/// A definition whose second line starts with Kazakh and Russian text, `₸` and an emoji (a
/// string, which ends on its line), then a misspelt parameter.
const TYPO_PROBE: &str = "\ndef typo_probe: Money = if\n\"Ұлт ₸ 😀 ёлка\" == \"x\" then NATIONAL_POVERTY_LIN else NATIONAL_POVERTY_LINE\n";

#[test]
fn a_typo_is_reported_at_its_utf16_range_and_fixing_it_clears_it() {
    let mut editor = Editor::start();
    let opened = editor.open("asp.ereje", None);
    assert!(errors(&opened.diagnostics["asp.ereje"]).is_empty());
    let end = editor.texts["asp.ereje"].len();
    let text = format!("{}{TYPO_PROBE}", editor.texts["asp.ereje"]);
    let typo_line = text[..end].matches('\n').count() + 2;
    let typed = editor.edit("asp.ereje", &editor.texts["asp.ereje"].clone(), &text);
    let found = errors(&typed.diagnostics["asp.ereje"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["code"], json!("name.unknown"));
    // Counted by hand: `"Ұлт ₸ 😀 ёлка" == "x" then ` is 28 UTF-16 units (the emoji is two;
    // 39 bytes in UTF-8).
    assert_eq!(
        found[0]["range"],
        json!({ "start": { "line": typo_line, "character": 28 },
                "end": { "line": typo_line, "character": 48 } })
    );
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("did you mean `NATIONAL_POVERTY_LINE`?"),
        "{message}"
    );
    let fixed = editor.edit(
        "asp.ereje",
        "NATIONAL_POVERTY_LIN ",
        "NATIONAL_POVERTY_LINE ",
    );
    assert!(errors(&fixed.diagnostics["asp.ereje"]).is_empty());
}

#[test]
fn an_edit_to_parameters_republishes_the_modules_that_use_them() {
    let mut editor = Editor::start();
    editor.open("asp.ereje", None);
    editor.open("parameters.ereje", None);
    let broken = editor.edit(
        "parameters.ereje",
        "parameter MEDIAN_INCOME_SHARE: Decimal",
        "parameter MEDIAN_INCOME_SHARE: Text",
    );
    let asp = &broken.diagnostics["asp.ereje"];
    assert!(!errors(asp).is_empty(), "{asp:#?}");
    let mended = editor.edit(
        "parameters.ereje",
        "parameter MEDIAN_INCOME_SHARE: Text",
        "parameter MEDIAN_INCOME_SHARE: Decimal",
    );
    assert!(errors(&mended.diagnostics["asp.ereje"]).is_empty());
    assert!(errors(&mended.diagnostics["parameters.ereje"]).is_empty());
}

#[test]
fn hover_on_a_parameter_lists_its_dated_values_with_sources() {
    let mut editor = Editor::start();
    editor.open("asp.ereje", None);
    let hover = editor.at("textDocument/hover", "asp.ereje", "MRP * 1.5", 1, json!({}));
    let text = hover["contents"]["value"].as_str().unwrap();
    for expected in [
        "**parameter** `MRP: Money`",
        "Value on 2025-06-01: **3932**",
        "- from 2024-01-01: 3692 — Законы РК о республиканском бюджете на 2024–2026 годы (МРП)",
        "- from 2025-01-01: 3932",
        "- from 2026-01-01: 4325",
        "- until 2026-12-31",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
    let rule = editor.at(
        "textDocument/hover",
        "asp.ereje",
        "rule ASP-INCOME-TEST",
        6,
        json!({}),
    );
    let text = rule["contents"]["value"].as_str().unwrap();
    assert!(text.contains("**rule** `ASP-INCOME-TEST: Bool`"), "{text}");
    assert!(
        text.contains("- kk: Жан басына шаққандағы табыс кедейлік шегінен төмен емес."),
        "{text}"
    );
    assert!(
        text.contains("Source: Социальный кодекс РК, ст. 128"),
        "{text}"
    );
}

#[test]
fn definition_and_references_cross_modules() {
    let mut editor = Editor::start();
    editor.open("asp.ereje", None);
    editor.open("parameters.ereje", None);
    let definition = editor.at(
        "textDocument/definition",
        "asp.ereje",
        "?? NATIONAL_POVERTY_LINE",
        5,
        json!({}),
    );
    assert_eq!(definition["uri"], json!(editor.uri("parameters.ereje")));
    let declared = editor.texts["parameters.ereje"]
        .find("NATIONAL_POVERTY_LINE: Money")
        .unwrap();
    let range = lsp_range(
        &editor.texts["parameters.ereje"],
        declared,
        declared + "NATIONAL_POVERTY_LINE".len(),
    );
    assert_eq!(definition["range"], range);
    let references = editor.at(
        "textDocument/references",
        "parameters.ereje",
        "parameter MRP",
        10,
        json!({ "context": { "includeDeclaration": false } }),
    );
    let mut modules: Vec<String> = references
        .as_array()
        .unwrap()
        .iter()
        .map(|location| editor.module_of(location["uri"].as_str().unwrap()))
        .collect();
    modules.sort();
    // The label of MRP (`label MRP …`) refers to it too.
    assert_eq!(
        modules,
        ["asp.ereje", "labels.ereje", "pilot.ereje", "welfare.ereje"]
    );
}

#[test]
fn rename_updates_every_file_and_the_policy_still_compiles() {
    let mut editor = Editor::start();
    let modules = [
        "parameters.ereje",
        "asp.ereje",
        "pilot.ereje",
        "welfare.ereje",
        "labels.ereje",
    ];
    for module in modules {
        editor.open(module, None);
    }
    let edit = editor.at(
        "textDocument/rename",
        "asp.ereje",
        "MRP * 1.5",
        0,
        json!({ "newName": "MONTHLY_CALCULATION_INDEX" }),
    );
    let changes = edit["changes"].as_object().unwrap();
    let mut counts: Vec<(String, usize)> = changes
        .iter()
        .map(|(uri, edits)| (editor.module_of(uri), edits.as_array().unwrap().len()))
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        [
            ("asp.ereje".to_string(), 1),
            ("labels.ereje".to_string(), 1),
            ("parameters.ereje".to_string(), 1),
            ("pilot.ereje".to_string(), 1),
            ("welfare.ereje".to_string(), 1)
        ]
    );
    // Applied one file at a time, the other modules have errors until they are renamed too.
    let mut latest = BTreeMap::new();
    for (step, module) in modules.iter().enumerate() {
        let text = editor.texts[*module].clone();
        let renamed = rename_in(&text, "MRP", "MONTHLY_CALCULATION_INDEX");
        assert_ne!(renamed, text, "{module}");
        let after = editor.edit(module, &text, &renamed);
        if step == 0 {
            assert!(!errors(&after.diagnostics["welfare.ereje"]).is_empty());
        }
        latest.extend(after.diagnostics);
    }
    for (path, diagnostics) in &latest {
        assert!(errors(diagnostics).is_empty(), "{path}: {diagnostics:#?}");
    }
    let refused = editor.at(
        "textDocument/rename",
        "asp.ereje",
        "MONTHLY_CALCULATION_INDEX",
        0,
        json!({ "newName": "two words" }),
    );
    assert!(refused["error"].as_str().unwrap().contains("is not a name"));
}

/// Replaces whole-word uses of a name (outside strings and comments, enough for these files).
fn rename_in(text: &str, old: &str, new: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let code_end = line
            .find(['"'])
            .or_else(|| line.find("//"))
            .unwrap_or(line.len());
        let (code, rest) = line.split_at(code_end);
        let mut renamed = String::new();
        let mut word = String::new();
        for character in code.chars().chain(['\u{0}']) {
            if character.is_ascii_alphanumeric() || character == '_' {
                word.push(character);
                continue;
            }
            renamed.push_str(if word == old { new } else { &word });
            word.clear();
            if character != '\u{0}' {
                renamed.push(character);
            }
        }
        out.push_str(&renamed);
        out.push_str(rest);
    }
    out
}

#[test]
fn outline_and_completion() {
    let mut editor = Editor::start();
    let opened = editor.open("parameters.ereje", None);
    let names: Vec<&str> = opened
        .result
        .as_array()
        .unwrap()
        .iter()
        .map(|symbol| symbol["name"].as_str().unwrap())
        .collect();
    assert_eq!(&names[..3], ["MRP", "PM", "POVERTY_LINE_SHARE"]);
    assert!(names.contains(&"REGIONAL_POVERTY"));
    let completion = editor.at(
        "textDocument/completion",
        "parameters.ereje",
        "round(PM",
        6,
        json!({}),
    );
    let pm = completion
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["label"] == json!("PM"))
        .unwrap();
    assert_eq!(pm["detail"], json!("parameter PM: Money"));
}

#[test]
fn a_module_of_a_proposed_version_only_is_checked_as_that_version_compiles_it() {
    let mut editor = Editor::start();
    let shared = editor.open("asp.ereje", None);
    assert!(errors(&shared.diagnostics["asp.ereje"]).is_empty());
    // `pilot_draft_2025_09.ereje` is listed only by the proposed version 2025.2-draft.
    let opened = editor.open("pilot_draft_2025_09.ereje", None);
    assert_eq!(
        opened
            .diagnostics
            .get("pilot_draft_2025_09.ereje")
            .map(|d| errors(d).len()),
        Some(0),
        "{:#?}",
        opened.diagnostics
    );
    assert!(opened
        .result
        .as_array()
        .is_some_and(|outline| !outline.is_empty()));
    let typed = editor.edit(
        "pilot_draft_2025_09.ereje",
        "case.pilot.enrolled ?? false",
        "case.pilot.enroled ?? false",
    );
    let found = errors(&typed.diagnostics["pilot_draft_2025_09.ereje"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["code"], json!("name.unknown_field"));
    // A module both versions hold is published once, by the in-force version's project.
    assert!(
        !typed.diagnostics.contains_key("asp.ereje"),
        "{:#?}",
        typed.diagnostics.keys()
    );
    let fixed = editor.edit(
        "pilot_draft_2025_09.ereje",
        "case.pilot.enroled ?? false",
        "case.pilot.enrolled ?? false",
    );
    assert!(errors(&fixed.diagnostics["pilot_draft_2025_09.ereje"]).is_empty());
    // An edit to a shared module reaches both versions: breaking `asp.ereje` is reported once.
    let broken = editor.edit("asp.ereje", "NATIONAL_POVERTY_LINE", "NATIONAL_POVERTY_LIN");
    assert!(!errors(&broken.diagnostics["asp.ereje"]).is_empty());
}
