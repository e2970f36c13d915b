//! Reading cases: exact numbers, and each error code with its JSON pointer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ereje_runtime::ir::*;
use ereje_runtime::value::{Month, Quarter, Value};
use ereje_runtime::{CaseOutcome, EvalOptions};

fn members_json(extra: &str) -> String {
    format!(r#"[{{"id": "m1", "birth_date": "1990-05-14", "sex": "female"{extra}}}]"#)
}

/// A case with the given members JSON and extra top-level fields.
fn case_with(extra: &str) -> String {
    format!(
        r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": {}{extra}}}"#,
        members_json("")
    )
}

/// Reads `json` and returns `(code, path)` of the error, or `ok`.
fn read_error(json: &str) -> (String, String, String) {
    let engine = engine(base_policy());
    match engine.read_case(json) {
        Ok(_) => ("ok".to_string(), String::new(), String::new()),
        Err(error) => (error.code.to_string(), error.path, error.message),
    }
}

#[test]
fn case_errors_have_codes_and_paths() {
    let rows: Vec<(&str, String, &str, &str)> = vec![
        ("valid", case_with(""), "ok", ""),
        ("bad json", "{\"case_id\": ".to_string(), "case.invalid_json", ""),
        ("not an object", "[1, 2]".to_string(), "case.not_object", ""),
        (
            "missing field",
            r#"{"case_id": "c9", "members": []}"#.to_string(),
            "case.missing_field",
            "/application_date",
        ),
        ("unknown field", case_with(r#", "colour": "red""#), "case.unknown_field", "/colour"),
        (
            "unknown nested field",
            format!(
                r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": {}}}"#,
                members_json(r#", "nickname": "x""#)
            ),
            "case.unknown_field",
            "/members/0/nickname",
        ),
        (
            "impossible date",
            r#"{"case_id": "c9", "application_date": "2025-02-30", "members": []}"#.to_string(),
            "case.invalid_field",
            "/application_date",
        ),
        (
            "nested impossible date",
            r#"{"case_id": "c9", "application_date": "2025-03-12", "members": [{"id": "m1", "birth_date": "1990-05-14", "sex": "male"}, {"id": "m2", "birth_date": "2025-02-30", "sex": "male"}]}"#.to_string(),
            "case.invalid_field",
            "/members/1/birth_date",
        ),
        (
            "date with time",
            r#"{"case_id": "c9", "application_date": "2025-03-12T00:00", "members": []}"#.to_string(),
            "case.invalid_field",
            "/application_date",
        ),
        ("month out of range", case_with(r#", "period": "2025-13""#), "case.invalid_field", "/period"),
        ("month shape", case_with(r#", "period": "2025-1""#), "case.invalid_field", "/period"),
        ("quarter", case_with(r#", "quarter": "2025-Q5""#), "case.invalid_field", "/quarter"),
        ("money with 3 decimals", case_with(r#", "income": 1.005"#), "case.invalid_field", "/income"),
        ("money string with 3 decimals", case_with(r#", "income": "1.005""#), "case.invalid_field", "/income"),
        ("money string not a number", case_with(r#", "income": "1e3""#), "case.invalid_field", "/income"),
        ("money string with spaces", case_with(r#", "income": " 12""#), "case.invalid_field", "/income"),
        ("money negative violates min", case_with(r#", "income": -1"#), "case.invalid_field", "/income"),
        ("money as bool", case_with(r#", "income": true"#), "case.invalid_field", "/income"),
        ("integer with fraction", case_with(r#", "count": 1.5"#), "case.invalid_field", "/count"),
        ("integer beyond i64", case_with(r#", "count": 99999999999999999999"#), "case.invalid_field", "/count"),
        ("integer above max", case_with(r#", "count": 101"#), "case.invalid_field", "/count"),
        ("null for required", r#"{"case_id": null, "application_date": "2025-03-12", "members": []}"#.to_string(), "case.invalid_field", "/case_id"),
        ("empty id violates min length", r#"{"case_id": "", "application_date": "2025-03-12", "members": []}"#.to_string(), "case.invalid_field", "/case_id"),
        ("too few members", r#"{"case_id": "c9", "application_date": "2025-03-12", "members": []}"#.to_string(), "case.invalid_field", "/members"),
        (
            "duplicate member id",
            r#"{"case_id": "c9", "application_date": "2025-03-12", "members": [{"id": "m1", "birth_date": "1990-05-14", "sex": "male"}, {"id": "m1", "birth_date": "1991-05-14", "sex": "male"}]}"#.to_string(),
            "case.invalid_field",
            "/members/1",
        ),
        (
            "duplicate key at the top",
            case_with(r#", "region": "north", "region": "south""#),
            "case.duplicate_key",
            "/region",
        ),
        (
            "duplicate key in a member",
            format!(
                r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": {}}}"#,
                members_json(r#", "sex": "male""#)
            ),
            "case.duplicate_key",
            "/members/0/sex",
        ),
        (
            "the same key in two objects is no duplicate",
            format!(
                r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": [{}, {}]}}"#,
                r#"{"id": "m1", "birth_date": "1990-05-14", "sex": "male"}"#,
                r#"{"id": "m2", "birth_date": "1991-05-14", "sex": "male"}"#
            ),
            "ok",
            "",
        ),
        (
            "a byte order mark before the case",
            format!("\u{feff}{}", case_with("")),
            "case.invalid_json",
            "",
        ),
        (
            "unknown enum value",
            format!(
                r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": {}}}"#,
                r#"[{"id": "m1", "birth_date": "1990-05-14", "sex": "other"}]"#
            ),
            "case.invalid_field",
            "/members/0/sex",
        ),
        (
            "unknown integer enum value",
            format!(
                r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": {}}}"#,
                members_json(r#", "disability_group": 4"#)
            ),
            "case.invalid_field",
            "/members/0/disability_group",
        ),
        (
            "null optional enum",
            format!(
                r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": {}}}"#,
                members_json(r#", "disability_group": null"#)
            ),
            "ok",
            "",
        ),
        (
            "member not an object",
            r#"{"case_id": "c9", "application_date": "2025-03-12", "members": [3]}"#.to_string(),
            "case.invalid_field",
            "/members/0",
        ),
        (
            "escaped pointer",
            case_with(r#", "a/b~c": 1"#),
            "case.unknown_field",
            "/a~1b~0c",
        ),
    ];
    let mut failures = Vec::new();
    for (label, json, code, path) in rows {
        let (actual_code, actual_path, message) = read_error(&json);
        if actual_code != code || actual_path != path {
            failures.push(format!("{label}: expected {code} at {path:?}, got {actual_code} at {actual_path:?} ({message})"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn messages_quote_the_offending_value() {
    let message = |json: &str| read_error(json).2;
    assert_eq!(
        message(r#"{"case_id": "c9", "application_date": "2025-02-30", "members": []}"#),
        "`2025-02-30` is not a date that exists (expected YYYY-MM-DD)"
    );
    let enum_message = message(&format!(
        r#"{{"case_id": "c9", "application_date": "2025-03-12", "members": {}}}"#,
        r#"[{"id": "m1", "birth_date": "1990-05-14", "sex": "other"}]"#
    ));
    assert_eq!(
        enum_message,
        "`other` is not one of the allowed values: `female`, `male`"
    );
    assert_eq!(
        message(&case_with(r#", "income": "1.005""#)),
        "`1.005` has more than 2 decimal places"
    );
    assert_eq!(
        message(&case_with(r#", "colour": 1"#)),
        "unknown field `colour`"
    );
    let json_message = message("{\"case_id\": \n 12,");
    assert!(json_message.contains("line 2"), "{json_message}");
}

#[test]
fn numbers_are_read_exactly() {
    let engine = engine(base_policy());
    let case = engine.read_case(CASE_JSON).unwrap();
    let Value::Record(root) = case.root() else {
        panic!("not a record")
    };
    assert_eq!(root.path.as_deref(), Some(""));
    assert_eq!(root.fields[case_field::INCOME as usize], money("427210.66"));
    assert_eq!(
        root.fields[case_field::COUNT as usize],
        Value::Integer(0),
        "default used"
    );
    assert_eq!(
        root.fields[case_field::FLAG as usize],
        Value::Bool(false),
        "default used"
    );
    assert_eq!(root.fields[case_field::RATIO as usize], Value::Absent);
    let Value::List(members) = &root.fields[case_field::MEMBERS as usize] else {
        panic!("no members")
    };
    let Value::Record(first) = &members[0] else {
        panic!("not a record")
    };
    assert_eq!(first.path.as_deref(), Some("/members/0"));
    let Value::List(incomes) = &first.fields[member_field::INCOMES as usize] else {
        panic!("no incomes")
    };
    let Value::Record(income) = &incomes[0] else {
        panic!("not a record")
    };
    assert_eq!(
        income.fields[0],
        Value::Month(Month {
            year: 2024,
            month: 11
        })
    );
    let Value::Decimal(amount) = income.fields[1] else {
        panic!("not a decimal")
    };
    assert_eq!(amount.to_string(), "28238.37");
    assert_eq!(case.case_id(), Some("c1"));

    let decimals = engine
        .read_case(&case_with(r#", "ratio": 0.1000000000000000055511151231, "quarter": "2025-Q2", "income": 28238.37"#))
        .unwrap();
    let Value::Record(root) = decimals.root() else {
        panic!("not a record")
    };
    let Value::Decimal(ratio) = root.fields[case_field::RATIO as usize] else {
        panic!("not a decimal")
    };
    assert_eq!(ratio.to_string(), "0.1000000000000000055511151231");
    // A number that a Decimal cannot hold exactly is rejected, not rounded.
    let too_precise = engine.read_case(&case_with(
        r#", "ratio": 0.1000000000000000055511151231257827"#,
    ));
    assert_eq!(too_precise.unwrap_err().path, "/ratio");
    assert_eq!(
        root.fields[case_field::QUARTER as usize],
        Value::Quarter(Quarter {
            year: 2025,
            quarter: 2
        })
    );
    let Value::Decimal(income) = root.fields[case_field::INCOME as usize] else {
        panic!("not a decimal")
    };
    assert_eq!(income.to_string(), "28238.37");
}

#[test]
fn error_lines_carry_the_case_id() {
    let engine = engine(base_policy());
    let outcome = engine.evaluate_json(
        r#"{"case_id": "tld-2", "application_date": "2025-03-12", "members": [{"id": "m1", "birth_date": "2025-02-30", "sex": "male"}]}"#,
        &EvalOptions::default(),
    );
    assert_eq!(
        outcome.to_json_line(),
        r#"{"case_id":"tld-2","error":{"code":"case.invalid_field","path":"/members/0/birth_date","message":"`2025-02-30` is not a date that exists (expected YYYY-MM-DD)"}}"#
    );
    let unreadable = engine.evaluate_json("not json", &EvalOptions::default());
    let line = unreadable.to_json_line();
    assert!(
        line.starts_with(
            r#"{"case_id":null,"error":{"code":"case.invalid_json","path":"","message":"#
        ),
        "{line}"
    );
}

#[test]
fn not_in_force_before_the_policy() {
    let engine = engine(base_policy());
    let outcome = engine.evaluate_json(
        &case_with("").replace("2025-03-12", "2024-12-31"),
        &EvalOptions::default(),
    );
    let CaseOutcome::Error(failure) = outcome else {
        panic!("expected an error")
    };
    assert_eq!(failure.case_id.as_deref(), Some("c9"));
    assert_eq!(failure.error.code(), "case.not_in_force");
    assert!(failure.error.message.contains("2024-12-31"));
    // The caller's as-of date overrides the case's.
    let options = EvalOptions {
        as_of: Some(date(2024, 6, 1)),
        trace: false,
    };
    assert_eq!(
        engine
            .evaluate_json(&case_with(""), &options)
            .error()
            .unwrap()
            .code(),
        "case.not_in_force"
    );
}

#[test]
fn hostile_nesting_is_an_error_not_a_crash() {
    let engine = engine(base_policy());
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    // The depth limit (32 by default) stops the reading long before the parser's own limit.
    let error = engine.read_case(&deep).unwrap_err();
    assert_eq!(error.code(), "case.too_deep");
    assert_eq!(error.path, "/0".repeat(32));
}

#[test]
fn record_type_validation_mirrors_object_types() {
    // An Object-typed field reads fixed keys in declaration order.
    let mut policy = base_policy();
    if let TypeDef::Record(record) = &mut policy.types[CASE as usize] {
        record.fields.push(FieldDef {
            name: "extra".to_string(),
            ty: Type::Optional(Box::new(Type::Object(vec![
                ("b".to_string(), Type::Integer),
                ("a".to_string(), Type::Optional(Box::new(Type::Text))),
            ]))),
            required: false,
            default: None,
            constraints: vec![],
        });
    }
    policy.outputs.push(output(
        "extra",
        Type::Optional(Box::new(Type::Object(vec![
            ("b".to_string(), Type::Integer),
            ("a".to_string(), Type::Optional(Box::new(Type::Text))),
        ]))),
        input_field(10),
    ));
    let engine = engine(policy);
    let line = engine
        .evaluate_json(
            &case_with(r#", "extra": {"a": "x", "b": 2}"#),
            &EvalOptions::default(),
        )
        .to_json_line();
    assert!(
        line.ends_with(r#""outputs":{"extra":{"b":2,"a":"x"}}}"#),
        "{line}"
    );
    let missing = engine.evaluate_json(
        &case_with(r#", "extra": {"a": "x"}"#),
        &EvalOptions::default(),
    );
    assert_eq!(missing.error().unwrap().path, "/extra/b");
}
