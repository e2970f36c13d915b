//! The fast case reader (`runtime/src/case/fast.rs`, a hand-written JSON parser) against the
//! checked reader (`serde_json`, then the types): on every text, both give the same case or the
//! same error. The texts are tricky JSON written by hand, and every one-character deletion and
//! many one-character insertions of a valid case, so that the parser's grammar is checked at
//! every position of the text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ereje_runtime::{Engine, Limits};

/// A valid case that uses every kind of field of the test schema.
const FULL_CASE: &str = r#"{"case_id": "c9", "application_date": "2025-03-12", "region": "north", "members": [{"id": "m1", "birth_date": "1990-05-14", "sex": "female", "disability_group": 2, "incomes": [{"month": "2025-01", "amount": 1200.5}, {"month": "2025-02", "amount": "99"}]}, {"id": "m2", "birth_date": "2010-12-31", "sex": "male"}], "income": 15, "ratio": 0.125, "count": 3, "period": "2025-03", "quarter": "2025-Q1", "flag": true}"#;

fn assert_agree(engine: &Engine, json: &str) {
    assert_eq!(
        format!("{:?}", engine.read_case(json)),
        format!("{:?}", engine.read_case_checked(json)),
        "{json}"
    );
}

/// A case with `members` replaced by one member whose id is `id_json` (a JSON string).
fn case_with_member_id(id_json: &str) -> String {
    format!(
        r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": [{{"id": {id_json}, "birth_date": "1990-05-14", "sex": "female"}}]}}"#
    )
}

#[test]
fn tricky_json_reads_the_same_by_both_readers() {
    let engine = engine(base_policy());
    let mut cases: Vec<String> = vec![
        FULL_CASE.to_string(),
        format!(" \t\r\n{FULL_CASE} \n"),
        FULL_CASE.replace(", ", " ,\n\t").replace(": ", " :\r "),
        FULL_CASE.replace(": ", ":\u{a0}"),
        FULL_CASE.replace(": ", ":\u{c}"),
        FULL_CASE.replace("}]", "},]"),
        FULL_CASE.replace("\"flag\": true", "\"flag\": tru"),
        FULL_CASE.replace("\"flag\": true", "\"flag\": True"),
        FULL_CASE.replace("\"flag\": true", "\"flag\": truex"),
        FULL_CASE.replace("\"count\": 3", "\"count\": 03"),
        FULL_CASE.replace("\"count\": 3", "\"count\": -0"),
        FULL_CASE.replace("\"count\": 3", "\"count\": 3.0"),
        FULL_CASE.replace("\"count\": 3", "\"count\": 3e0"),
        FULL_CASE.replace("\"count\": 3", "\"count\": +3"),
        FULL_CASE.replace("\"count\": 3", "\"count\": 99999999999999999999"),
        FULL_CASE.replace("\"income\": 15", "\"income\": 1.5e1"),
        FULL_CASE.replace("\"income\": 15", "\"income\": 1.5E+1"),
        FULL_CASE.replace("\"income\": 15", "\"income\": 150e-1"),
        FULL_CASE.replace("\"income\": 15", "\"income\": 1."),
        FULL_CASE.replace("\"income\": 15", "\"income\": .5"),
        FULL_CASE.replace("\"income\": 15", "\"income\": 1e"),
        FULL_CASE.replace("\"income\": 15", "\"income\": -"),
        FULL_CASE.replace("\"income\": 15", "\"income\": 0.001"),
        FULL_CASE.replace("\"income\": 15", "\"income\": \"15.10\""),
        FULL_CASE.replace("\"income\": 15", "\"income\": -0.00"),
        FULL_CASE.replace(
            "\"ratio\": 0.125",
            "\"ratio\": 123456789012345678901234567890",
        ),
        FULL_CASE.replace("\"ratio\": 0.125", "\"ratio\": 1e400"),
        FULL_CASE.replace("\"region\": \"north\"", "\"region\": \"n\\u00f6rth\""),
        FULL_CASE.replace(
            "\"region\": \"north\"",
            "\"region\": \"\\\"quoted\\\" \\\\ \\/ \\b\\f\\n\\r\\t\"",
        ),
        FULL_CASE.replace("\"region\": \"north\"", "\"region\": \"\\ud83d\\ude00\""),
        FULL_CASE.replace("\"region\": \"north\"", "\"region\": \"\\ud83d\""),
        FULL_CASE.replace("\"region\": \"north\"", "\"region\": \"\\u12\""),
        FULL_CASE.replace("\"region\": \"north\"", "\"region\": \"\\x41\""),
        FULL_CASE.replace("\"region\": \"north\"", "\"region\": \"tab\there\""),
        FULL_CASE.replace("\"region\": \"north\"", "\"region\": \"Қазақстан ‑ север\""),
        FULL_CASE.replace("\"region\": \"north\"", "\"region\": \"\\u0000\""),
        FULL_CASE.replace("\"region\"", "\"re\\u0067ion\""),
        FULL_CASE.replace("\"region\"", "\"regio\""),
        FULL_CASE.replace("\"flag\": true", "\"flag\": true, \"flag\": false"),
        FULL_CASE.replace("\"flag\": true", "\"flag\": true, \"flag\": true"),
        FULL_CASE.replace("\"sex\": \"male\"", "\"sex\": \"male\", \"sex\": \"male\""),
        FULL_CASE.replace(
            "\"amount\": \"99\"",
            "\"amount\": \"99\", \"month\": \"2025-02\"",
        ),
        FULL_CASE.replace("\"region\"", "\"re\\u0067ion\": \"north\", \"region\""),
        format!("\u{feff}{FULL_CASE}"),
        FULL_CASE.replace(", \"flag\"", ",\u{200b} \"flag\""),
        FULL_CASE.replace("\"flag\": true", "\"flag\": null"),
        FULL_CASE.replace("\"region\": \"north\"", "\"region\": null"),
        FULL_CASE.replace("\"disability_group\": 2", "\"disability_group\": 2.0"),
        FULL_CASE.replace("\"disability_group\": 2", "\"disability_group\": 7"),
        FULL_CASE.replace("\"sex\": \"male\"", "\"sex\": \"Male\""),
        FULL_CASE.replace("\"2025-Q1\"", "\"2025-Q5\""),
        FULL_CASE.replace("\"2025-03\"", "\"2025-13\""),
        FULL_CASE.replace("\"2010-12-31\"", "\"2010-02-30\""),
        FULL_CASE.replace("\"2010-12-31\"", "\"2010-1-31\""),
        FULL_CASE.replace("\"m2\"", "\"m1\""),
        FULL_CASE.replace("\"m2\"", "\"\""),
        FULL_CASE
            .replace("[{\"month\"", "[ {\"month\"")
            .replace("}]}", "} ] }"),
        format!("{FULL_CASE}{{}}"),
        format!("{FULL_CASE},"),
        FULL_CASE.replace('{', "{ ").replace('[', "[ "),
        r#"{"case_id": "c9", "application_date": "2025-03-12", "members": [{}]}"#.to_string(),
        r#"{"case_id": "c9", "application_date": "2025-03-12", "members": [[]]}"#.to_string(),
        r#"{"case_id": "c9", "application_date": "2025-03-12", "members": {}}"#.to_string(),
        "{}".to_string(),
        " ".to_string(),
        String::new(),
        "null".to_string(),
        "\"case\"".to_string(),
    ];
    cases.push(case_with_member_id("\"m\\u0031\""));
    cases.push(case_with_member_id("\"a\\\"b\""));
    cases.push(case_with_member_id(&format!("\"{}\"", "x".repeat(40))));
    for json in &cases {
        assert_agree(&engine, json);
    }
    // Escapes, odd whitespace and numbers in all their forms stay on the fast path.
    for json in [
        format!(" \t\r\n{FULL_CASE} \n"),
        FULL_CASE.replace(
            "\"region\": \"north\"",
            "\"region\": \"n\\u00f6rth \\\" \\n\"",
        ),
        FULL_CASE.replace("\"region\"", "\"re\\u0067ion\""),
        FULL_CASE.replace("\"income\": 15", "\"income\": 1.5E+1"),
    ] {
        assert!(engine.read_case(&json).is_ok(), "{json}");
        assert!(engine.fast_reader_reads(&json), "{json}");
    }
}

#[test]
fn every_one_character_edit_of_a_case_reads_the_same_by_both_readers() {
    let engine = engine(base_policy());
    let characters: Vec<(usize, char)> = FULL_CASE.char_indices().collect();
    for &(position, character) in &characters {
        let mut deleted = FULL_CASE.to_string();
        deleted.replace_range(position..position + character.len_utf8(), "");
        assert_agree(&engine, &deleted);
        for inserted_character in [
            '"', '\\', '{', '}', '[', ']', ',', ':', '0', '-', 'e', ' ', '\u{1}', 'é',
        ] {
            let mut inserted = FULL_CASE.to_string();
            inserted.insert(position, inserted_character);
            assert_agree(&engine, &inserted);
        }
    }
}

#[test]
fn nesting_limits_read_the_same_by_both_readers() {
    // Past `max_depth`, and (with the limit raised) past the JSON parser's own limit.
    for max_depth in [2, 3, 200] {
        let limits = Limits {
            max_depth,
            ..Limits::default()
        };
        let engine = engine(base_policy()).with_limits(limits);
        for depth in [1, 2, 3, 126, 127, 128, 129] {
            let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let json = FULL_CASE.replace("\"members\": [", &format!("\"members\": [{nested}, "));
            assert_agree(&engine, &json);
        }
        assert_agree(&engine, FULL_CASE);
    }
}
