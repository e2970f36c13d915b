//! The limits on a case (size, nesting depth, text length, list length): each gives one clear
//! error with its code and JSON pointer, never a panic or a stack overflow. And the fast case
//! reader gives exactly what the checked reader gives, on good and bad cases alike.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ereje_runtime::{CaseOutcome, EvalOptions, Limits};

const MEMBERS: &str = r#"[{"id": "m1", "birth_date": "1990-05-14", "sex": "female"}]"#;

/// A valid case with `extra` added to its top-level fields.
fn case_with(extra: &str) -> String {
    format!(r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": {MEMBERS}{extra}}}"#)
}

/// The `(code, path, message)` of the error reading `json` under `limits`, or `ok`.
fn read_error(limits: Limits, json: &str) -> (String, String, String) {
    let engine = engine(base_policy()).with_limits(limits);
    match engine.read_case(json) {
        Ok(_) => ("ok".to_string(), String::new(), String::new()),
        Err(error) => (error.code.to_string(), error.path, error.message),
    }
}

#[test]
fn the_defaults_are_documented_values() {
    let limits = Limits::default();
    assert_eq!(limits.max_case_bytes, 1024 * 1024);
    assert_eq!(limits.max_depth, 32);
    assert_eq!(limits.max_text_chars, 4096);
    assert_eq!(limits.max_list_items, 10_000);
    assert_eq!(engine(base_policy()).limits(), &limits);
}

#[test]
fn a_case_larger_than_the_limit_is_too_large() {
    // Ten megabytes: a valid case padded with spaces after its closing brace.
    let huge = format!("{}{}", case_with(""), " ".repeat(10 * 1024 * 1024));
    let (code, path, message) = read_error(Limits::default(), &huge);
    assert_eq!(code, "case.too_large");
    assert_eq!(path, "");
    assert_eq!(
        message,
        format!(
            "the case is {} bytes, more than the limit of 1048576 bytes",
            huge.len()
        )
    );
    // A smaller limit applies to a small case; a larger one lets the big case through.
    let small = Limits {
        max_case_bytes: 50,
        ..Limits::default()
    };
    assert_eq!(read_error(small, &case_with("")).0, "case.too_large");
    let large = Limits {
        max_case_bytes: 20 * 1024 * 1024,
        ..Limits::default()
    };
    assert_eq!(read_error(large, &huge).0, "ok");
}

#[test]
fn nesting_past_the_limit_is_too_deep_at_its_path() {
    // An unknown field nested 40 objects deep: the depth is found before the unknown key.
    let nested = format!("{}1{}", r#"{"a":"#.repeat(40), "}".repeat(40));
    let (code, path, message) =
        read_error(Limits::default(), &case_with(&format!(", \"x\": {nested}")));
    assert_eq!(code, "case.too_deep");
    // The case object is level 1, `x` level 2: the object past level 32 is 31 `a`s below `x`.
    assert_eq!(path, format!("/x{}", "/a".repeat(31)));
    assert_eq!(
        message,
        "the case nests objects and arrays more than 32 levels deep"
    );
    // The members' objects are level 3: a limit of 2 stops at the first one.
    let shallow = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    let (code, path, _) = read_error(shallow, &case_with(""));
    assert_eq!(
        (code.as_str(), path.as_str()),
        ("case.too_deep", "/members/0")
    );
    let exact = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    assert_eq!(read_error(exact, &case_with("")).0, "ok");
}

#[test]
fn a_hundred_thousand_nested_arrays_give_one_error_with_the_case_id() {
    let engine = engine(base_policy());
    let deep = format!(
        r#"{{"case_id": "c9", "members": {}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let outcome = engine.evaluate_json(&deep, &EvalOptions::default());
    let CaseOutcome::Error(failure) = outcome else {
        panic!("expected an error")
    };
    assert_eq!(failure.case_id.as_deref(), Some("c9"));
    assert_eq!(failure.error.code(), "case.too_deep");
    assert_eq!(failure.error.path, format!("/members{}", "/0".repeat(31)));
}

#[test]
fn a_string_longer_than_the_limit_is_an_invalid_field() {
    // One megabyte of text in an optional text field with no constraint of its own.
    let long = "x".repeat(1_000_000);
    let (code, path, message) = read_error(
        Limits::default(),
        &case_with(&format!(r#", "region": "{long}""#)),
    );
    assert_eq!(code, "case.invalid_field");
    assert_eq!(path, "/region");
    assert_eq!(
        message,
        "the text is 1000000 characters long, more than the limit of 4096 characters"
    );
    // The limit counts characters, not bytes: 4096 Cyrillic letters pass, 4097 do not.
    let letters = "ж".repeat(4096);
    assert_eq!(
        read_error(
            Limits::default(),
            &case_with(&format!(r#", "region": "{letters}""#))
        )
        .0,
        "ok"
    );
    let (code, path, _) = read_error(
        Limits::default(),
        &case_with(&format!(r#", "region": "{letters}ж""#)),
    );
    assert_eq!(
        (code.as_str(), path.as_str()),
        ("case.invalid_field", "/region")
    );
    // Inside a list, the path names the item.
    let members = format!(
        r#"[{{"id": "{}", "birth_date": "1990-05-14", "sex": "female"}}]"#,
        "y".repeat(5000)
    );
    let json =
        format!(r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": {members}}}"#);
    let (code, path, _) = read_error(Limits::default(), &json);
    assert_eq!(
        (code.as_str(), path.as_str()),
        ("case.invalid_field", "/members/0/id")
    );
}

#[test]
fn a_list_longer_than_the_limit_is_an_invalid_field() {
    let members = |count: usize| {
        format!(
            r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": [{}]}}"#,
            vec!["1"; count].join(",")
        )
    };
    let (code, path, message) = read_error(Limits::default(), &members(10_001));
    assert_eq!(code, "case.invalid_field");
    assert_eq!(path, "/members");
    assert_eq!(message, "the list has more than 10000 items (the limit)");
    // At the limit, the list is read (and its items found to be of the wrong type).
    let (code, path, _) = read_error(Limits::default(), &members(10_000));
    assert_eq!(
        (code.as_str(), path.as_str()),
        ("case.invalid_field", "/members/0")
    );
}

#[test]
fn a_syntax_error_before_a_limit_is_reported_first() {
    let long = "x".repeat(5000);
    let json = format!(r#"{{"case_id": "c9", "members": ], "region": "{long}"}}"#);
    assert_eq!(read_error(Limits::default(), &json).0, "case.invalid_json");
}

#[test]
fn the_fast_reader_agrees_with_the_checked_reader() {
    let engine = engine(base_policy());
    let cases = [
        case_with(""),
        case_with(r#", "income": "1234.50", "count": 7, "flag": true, "region": null"#),
        case_with(r#", "income": 1.5e2"#),
        case_with(r#", "income": 1.005"#),
        case_with(r#", "period": "2025-03", "quarter": "2025-Q2""#),
        case_with(r#", "case_id": "again""#),
        case_with(r#", "colour": "red""#),
        case_with(r#", "count": -0"#),
        case_with(r#", "count": 101"#),
        case_with(r#", "incomes": []"#),
        r#"{"case_id": 17, "application_date": "2025-03-12", "members": []}"#.to_string(),
        r#"{"case_id": "c\u0039", "application_date": "2025-03-12", "members": [{"id": "m1", "birth_date": "1990-05-14", "sex": "male"}, {"id": "m1", "birth_date": "1991-05-14", "sex": "male"}]}"#.to_string(),
        r#"{"case_id": "c9", "application_date": "2025-03-12", "members": [{"id": "m\u0031", "birth_date": "1990-05-14", "sex": "female", "disability_group": null}]}"#.to_string(),
        "[1, 2]".to_string(),
        "{".to_string(),
        format!("{} x", case_with("")),
    ];
    for json in &cases {
        assert_eq!(
            format!("{:?}", engine.read_case(json)),
            format!("{:?}", engine.read_case_checked(json)),
            "{json}"
        );
    }
}
