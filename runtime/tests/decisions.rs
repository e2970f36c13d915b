//! Whole decisions: exceptions, groups, bands, tables, functions, errors naming their rule,
//! JSON key order and traces.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ereje_runtime::ir::*;
use ereje_runtime::value::{Record, Value};
use ereje_runtime::{CaseOutcome, Decision, Engine, EvalOptions, LoadError, TraceKind};
use std::sync::Arc;

fn decide(policy: Policy, case: &str, trace: bool) -> Decision {
    let options = EvalOptions { as_of: None, trace };
    match engine(policy).evaluate_json(case, &options) {
        CaseOutcome::Decision(decision) => decision,
        CaseOutcome::Error(failure) => panic!("unexpected error: {}", failure.to_json_line()),
    }
}

fn exception(label: &str, condition: Expr, value: Expr) -> Exception {
    Exception {
        label: label.to_string(),
        condition,
        value,
        source: None,
    }
}

/// A welfare-like policy: a score, a category band with two overriding exceptions, and a
/// refusal group with one member added by an amendment.
fn welfare_policy(high: bool, food: bool) -> Policy {
    let mut policy = base_policy();
    policy.bands.push(BandTable {
        name: "category_bands".to_string(),
        source: Some("scorecard".to_string()),
        domain: Type::Integer,
        result: Type::Integer,
        bands: vec![
            Band {
                lower: None,
                upper: Some(Bound {
                    value: Value::Integer(5),
                    inclusive: false,
                }),
                value: Value::Integer(1),
                label: "category 1".to_string(),
            },
            Band {
                lower: Some(Bound {
                    value: Value::Integer(5),
                    inclusive: true,
                }),
                upper: Some(Bound {
                    value: Value::Integer(15),
                    inclusive: false,
                }),
                value: Value::Integer(2),
                label: "category 2".to_string(),
            },
            Band {
                lower: Some(Bound {
                    value: Value::Integer(15),
                    inclusive: true,
                }),
                upper: None,
                value: Value::Integer(3),
                label: "category 3".to_string(),
            },
        ],
    });
    // 0: score = 10 + count (count defaults to 0).
    policy.items.push(item(
        "score",
        ItemKind::Definition,
        Type::Integer,
        binary(
            BinaryOp::AddInteger,
            int(10),
            input_field(case_field::COUNT),
        ),
    ));
    // 1: category with exceptions WELL-HIGH (first: highest priority) and WELL-FOOD.
    let mut category = item(
        "category",
        ItemKind::Definition,
        Type::Integer,
        Expr::Band(0, Box::new(Expr::Item(0))),
    );
    category.body = Body::Exceptions {
        base: Expr::Band(0, Box::new(Expr::Item(0))),
        exceptions: vec![
            exception("WELL-HIGH", boolean(high), int(6)),
            exception("WELL-FOOD", boolean(food), int(1)),
        ],
    };
    policy.items.push(category);
    // 2, 3, 4: refusal rules; 4 only from 2025-06-01.
    let rule = |name: &str, holds: Expr| {
        let mut rule = item(name, ItemKind::Rule, Type::Bool, holds);
        rule.source = Some(format!("source of {name}"));
        rule
    };
    policy.items.push(rule(
        "ASP-INCOME-TEST",
        binary(
            BinaryOp::Ge,
            input_field(case_field::INCOME),
            Expr::Param { param: 0, at: None },
        ),
    ));
    policy
        .items
        .push(rule("ASP-CONTRACT-SIGNED", boolean(false)));
    policy.items.push(rule("PILOT-LOANS", boolean(true)));
    policy.groups.push(Group {
        name: "refusals".to_string(),
        element: Type::Bool,
        members: vec![
            GroupMember {
                item: 2,
                active_from: None,
            },
            GroupMember {
                item: 3,
                active_from: None,
            },
            GroupMember {
                item: 4,
                active_from: Some(date(2025, 6, 1)),
            },
        ],
    });
    policy
        .outputs
        .push(output("category", Type::Integer, Expr::Item(1)));
    policy.outputs.push(output(
        "override",
        Type::Optional(Box::new(Type::RuleId)),
        Expr::ExceptionApplied(1),
    ));
    policy.outputs.push(output(
        "reasons",
        Type::List(Box::new(Type::RuleId)),
        Expr::Holding(0),
    ));
    policy
}

#[test]
fn exceptions_in_priority_order() {
    let rows = [
        (false, false, "2", "null"),
        (false, true, "1", "\"WELL-FOOD\""),
        (true, false, "6", "\"WELL-HIGH\""),
        (true, true, "6", "\"WELL-HIGH\""),
    ];
    for (high, food, category, override_label) in rows {
        let decision = decide(welfare_policy(high, food), CASE_JSON, true);
        let trace = decision.trace.as_ref().unwrap();
        let node = trace
            .nodes
            .iter()
            .find(|node| &*node.id == "category" && node.kind == TraceKind::Definition)
            .unwrap();
        let traced = node
            .exception
            .as_deref()
            .map_or("null".to_string(), |label| format!("\"{label}\""));
        assert_eq!(
            traced, override_label,
            "the trace names the exception that won"
        );
        assert_eq!(
            decision.output_json("category").unwrap().to_string(),
            category,
            "high={high} food={food}"
        );
        assert_eq!(
            decision.output_json("override").unwrap().to_string(),
            override_label,
            "high={high} food={food}"
        );
    }
}

#[test]
fn holding_skips_members_not_yet_active() {
    // On 2025-03-12 PILOT-LOANS is not active yet; the income 427210.66 is above the line.
    let decision = decide(welfare_policy(false, false), CASE_JSON, false);
    assert_eq!(
        decision.output_json("reasons").unwrap().to_string(),
        r#"["ASP-INCOME-TEST"]"#
    );
    let later = CASE_JSON.replace("2025-03-12", "2025-06-01");
    let decision = decide(welfare_policy(false, false), &later, false);
    assert_eq!(
        decision.output_json("reasons").unwrap().to_string(),
        r#"["ASP-INCOME-TEST","PILOT-LOANS"]"#
    );
}

#[test]
fn group_sums_and_values() {
    let mut policy = base_policy();
    policy
        .items
        .push(item("WELL-01", ItemKind::Rule, Type::Integer, int(16)));
    policy
        .items
        .push(item("WELL-02", ItemKind::Rule, Type::Integer, int(4)));
    policy
        .items
        .push(item("WELL-03", ItemKind::Rule, Type::Integer, int(-4)));
    policy.groups.push(Group {
        name: "points".to_string(),
        element: Type::Integer,
        members: vec![
            GroupMember {
                item: 0,
                active_from: None,
            },
            GroupMember {
                item: 1,
                active_from: None,
            },
            GroupMember {
                item: 2,
                active_from: Some(date(2026, 1, 1)),
            },
        ],
    });
    policy
        .outputs
        .push(output("score", Type::Integer, Expr::GroupSum(0)));
    policy.outputs.push(output(
        "points",
        Type::Map(Box::new(Type::Integer)),
        Expr::GroupValues(0),
    ));
    let decision = decide(policy, CASE_JSON, false);
    assert!(decision
        .to_json_string()
        .ends_with(r#""outputs":{"score":20,"points":{"WELL-01":16,"WELL-02":4}}}"#));
}

#[test]
fn bands_and_band_labels() {
    let mut policy = welfare_policy(false, false);
    policy.outputs.clear();
    for (name, value) in [
        ("below", -100),
        ("edge", 5),
        ("inside", 14),
        ("upper edge", 15),
        ("above", 1000),
    ] {
        policy.outputs.push(output(
            name,
            Type::Text,
            Expr::BandLabel(0, Box::new(int(value))),
        ));
    }
    let decision = decide(policy, CASE_JSON, false);
    assert!(decision.to_json_string().ends_with(
        r#""outputs":{"below":"category 1","edge":"category 2","inside":"category 2","upper edge":"category 3","above":"category 3"}}"#
    ));
    // A band table with a gap is a no-match error naming the table.
    let mut gap = welfare_policy(false, false);
    gap.bands[0].bands.remove(1);
    gap.outputs = vec![output(
        "category",
        Type::Integer,
        Expr::Band(0, Box::new(int(7))),
    )];
    let outcome = engine(gap).evaluate_json(CASE_JSON, &EvalOptions::default());
    let error = outcome.error().unwrap();
    assert_eq!(error.code(), "eval.no_match");
    assert!(
        error.message.contains("`category_bands`"),
        "{}",
        error.message
    );
}

fn region_table() -> Table {
    Table {
        name: "regional".to_string(),
        source: Some("MTSZN order No 473".to_string()),
        key_types: vec![Type::Text, Type::Quarter],
        row_type: INCOME,
        rows: vec![TableRow {
            key: vec![
                Value::text("aktobe"),
                Value::Quarter(ereje_runtime::value::Quarter {
                    year: 2024,
                    quarter: 4,
                }),
            ],
            value: Value::Record(Arc::new(Record {
                path: None,
                fields: Box::new([
                    Value::Month(ereje_runtime::value::Month {
                        year: 2024,
                        month: 12,
                    }),
                    money("37060"),
                ]),
            })),
        }],
    }
}

#[test]
fn table_lookups() {
    let mut policy = base_policy();
    policy.tables.push(region_table());
    let previous_quarter = builtin(
        Builtin::PreviousQuarter,
        vec![builtin(Builtin::QuarterOf, vec![Expr::AsOf])],
    );
    let lookup = |region: Expr| Expr::Lookup(0, vec![region, previous_quarter.clone()]);
    policy.outputs.push(output(
        "line",
        Type::Optional(Box::new(Type::Money)),
        field(lookup(input_field(case_field::REGION)), 1),
    ));
    policy.outputs.push(output(
        "other",
        Type::Optional(Box::new(Type::Money)),
        field(lookup(text("zhetysu")), 1),
    ));
    policy.outputs.push(output(
        "absent key",
        Type::Optional(Box::new(Type::Record(INCOME))),
        lookup(Expr::Const(Value::Absent)),
    ));
    let decision = decide(policy, CASE_JSON, false);
    assert!(decision
        .to_json_string()
        .ends_with(r#""outputs":{"line":"37060","other":null,"absent key":null}}"#));
}

#[test]
fn functions_get_fresh_frames() {
    let mut policy = base_policy();
    // 0: def age_on(member, on) = age(member.birth_date, on)
    let mut age_on = item(
        "age_on",
        ItemKind::Function,
        Type::Integer,
        builtin(
            Builtin::Age,
            vec![
                field(Expr::Local(0), member_field::BIRTH_DATE),
                Expr::Local(1),
            ],
        ),
    );
    age_on.params = vec![
        ("member".to_string(), Type::Record(MEMBER)),
        ("on".to_string(), Type::Date),
    ];
    age_on.locals = 2;
    policy.items.push(age_on);
    // 1: ages = map(m in members => age_on(m, as_of))
    policy.items.push(item(
        "ages",
        ItemKind::Definition,
        Type::List(Box::new(Type::Integer)),
        Expr::Aggregate {
            kind: AggregateKind::Map,
            var: 0,
            list: Box::new(input_field(case_field::MEMBERS)),
            filter: None,
            body: Some(Box::new(Expr::Call(0, vec![Expr::Local(0), Expr::AsOf]))),
        },
    ));
    policy.outputs.push(output(
        "ages",
        Type::List(Box::new(Type::Integer)),
        Expr::Item(1),
    ));
    // An output aggregate that calls a function inside its body: the output's own slots stay
    // intact across the call.
    policy.outputs.push(output(
        "oldest",
        Type::Optional(Box::new(Type::Integer)),
        Expr::Aggregate {
            kind: AggregateKind::Max,
            var: 0,
            list: Box::new(input_field(case_field::MEMBERS)),
            filter: None,
            body: Some(Box::new(Expr::Call(
                0,
                vec![Expr::Local(0), date_const(2030, 1, 1)],
            ))),
        },
    ));
    let decision = decide(policy, CASE_JSON, false);
    assert!(decision
        .to_json_string()
        .ends_with(r#""outputs":{"ages":[34,17],"oldest":39}}"#));
}

#[test]
fn evaluation_errors_name_the_innermost_rule() {
    let mut policy = base_policy();
    policy.items.push(item(
        "ASP-PER-CAPITA",
        ItemKind::Rule,
        Type::Decimal,
        binary(
            BinaryOp::DivDecimal,
            input_field(case_field::INCOME),
            int(0),
        ),
    ));
    policy.items.push(item(
        "ASP-AMOUNT",
        ItemKind::Rule,
        Type::Decimal,
        binary(BinaryOp::AddDecimal, Expr::Item(0), int(1)),
    ));
    policy
        .outputs
        .push(output("amount", Type::Money, Expr::Item(1)));
    let outcome = engine(policy).evaluate_json(CASE_JSON, &EvalOptions::default());
    assert_eq!(
        outcome.to_json_line(),
        r#"{"case_id":"c1","error":{"code":"eval.division_by_zero","path":"","message":"in `ASP-PER-CAPITA`: division by zero","rule":"ASP-PER-CAPITA"}}"#
    );
}

#[test]
fn cycles_are_errors() {
    let mut policy = base_policy();
    policy.items.push(item(
        "a",
        ItemKind::Definition,
        Type::Integer,
        Expr::Item(1),
    ));
    policy.items.push(item(
        "b",
        ItemKind::Definition,
        Type::Integer,
        Expr::Item(0),
    ));
    policy
        .outputs
        .push(output("a", Type::Integer, Expr::Item(0)));
    let outcome = engine(policy).evaluate_json(CASE_JSON, &EvalOptions::default());
    assert_eq!(outcome.error().unwrap().code(), "eval.cycle");

    let mut recursive = base_policy();
    let mut function = item(
        "f",
        ItemKind::Function,
        Type::Integer,
        Expr::Call(0, vec![int(1)]),
    );
    function.params = vec![("x".to_string(), Type::Integer)];
    recursive.items.push(function);
    recursive
        .outputs
        .push(output("f", Type::Integer, Expr::Call(0, vec![int(1)])));
    let outcome = engine(recursive).evaluate_json(CASE_JSON, &EvalOptions::default());
    assert_eq!(outcome.error().unwrap().code(), "eval.cycle");
}

#[test]
fn decision_json_keeps_declaration_order() {
    let mut policy = base_policy();
    policy
        .items
        .push(item("zeta", ItemKind::Definition, Type::Integer, int(1)));
    policy
        .outputs
        .push(output("zeta", Type::Integer, Expr::Item(0)));
    policy.outputs.push(output(
        "asp",
        Type::Object(vec![
            ("outcome".to_string(), Type::Text),
            ("per_capita_income".to_string(), Type::Money),
            (
                "child_supplements".to_string(),
                Type::Map(Box::new(Type::Money)),
            ),
            ("aid_kind".to_string(), Type::Optional(Box::new(Type::Text))),
        ]),
        Expr::Object(vec![
            ("outcome".to_string(), text("granted")),
            (
                "per_capita_income".to_string(),
                Expr::Round {
                    value: Box::new(num("0")),
                    places: 2,
                    mode: RoundingMode::HalfUp,
                },
            ),
            (
                "child_supplements".to_string(),
                Expr::MapOf {
                    var: 0,
                    list: Box::new(input_field(case_field::MEMBERS)),
                    filter: None,
                    key: Box::new(field(Expr::Local(0), member_field::ID)),
                    value: Box::new(num("5898")),
                },
            ),
            ("aid_kind".to_string(), Expr::Const(Value::Absent)),
        ]),
    ));
    policy.outputs.push(output(
        "alpha",
        Type::Enum(SEX),
        Expr::Const(Value::Enum(1)),
    ));
    let engine = engine(policy);
    let decision = match engine.evaluate_json(CASE_JSON, &EvalOptions::default()) {
        CaseOutcome::Decision(decision) => decision,
        CaseOutcome::Error(failure) => panic!("{}", failure.to_json_line()),
    };
    let expected = format!(
        concat!(
            r#"{{"case_id":"c1","as_of":"2025-03-12","policy":{{"name":"test","version":"2025.1","digest":"{}"}},"#,
            r#""outputs":{{"zeta":1,"asp":{{"outcome":"granted","per_capita_income":"0.00","child_supplements":{{"m1":"5898","m2":"5898"}},"aid_kind":null}},"alpha":"male"}}}}"#
        ),
        engine.digest()
    );
    assert_eq!(decision.to_json_string(), expected);
    assert_eq!(
        decision.to_json()["outputs"]["asp"]["per_capita_income"],
        serde_json::json!("0.00")
    );
    let names: Vec<&str> = decision.output_entries().map(|(name, _, _)| name).collect();
    assert_eq!(names, ["zeta", "asp", "alpha"]);
    assert_eq!(decision.output("zeta"), Some(&Value::Integer(1)));
}

/// A change that makes a policy inconsistent.
type Breakage = Box<dyn Fn(&mut Policy)>;

#[test]
fn digest_is_stable_and_loading_checks_the_ir() {
    let first = engine(base_policy());
    let second = Engine::from_json(&serde_json::to_string(&base_policy()).unwrap()).unwrap();
    assert_eq!(first.digest(), second.digest());
    assert!(first.digest().starts_with("sha256:"));
    assert_eq!(first.digest().len(), "sha256:".len() + 64);

    let mut wrong_version = base_policy();
    wrong_version.format_version = 999;
    assert!(matches!(
        Engine::new(wrong_version),
        Err(LoadError::UnsupportedFormat { found: 999, .. })
    ));

    let broken: Vec<(&str, Breakage)> = vec![
        (
            "missing item",
            Box::new(|policy| {
                policy
                    .outputs
                    .push(output("x", Type::Integer, Expr::Item(7)))
            }),
        ),
        (
            "missing param",
            Box::new(|policy| {
                policy.outputs.push(output(
                    "x",
                    Type::Integer,
                    Expr::Param { param: 3, at: None },
                ))
            }),
        ),
        (
            "missing type",
            Box::new(|policy| policy.outputs.push(output("x", Type::Enum(42), int(1)))),
        ),
        (
            "record used as enum",
            Box::new(|policy| policy.outputs.push(output("x", Type::Enum(CASE), int(1)))),
        ),
        (
            "missing group",
            Box::new(|policy| {
                policy
                    .outputs
                    .push(output("x", Type::Integer, Expr::GroupSum(0)))
            }),
        ),
        (
            "missing table",
            Box::new(|policy| {
                policy
                    .outputs
                    .push(output("x", Type::Integer, Expr::Lookup(0, vec![])))
            }),
        ),
        (
            "missing band",
            Box::new(|policy| {
                policy
                    .outputs
                    .push(output("x", Type::Integer, Expr::Band(0, Box::new(int(1)))))
            }),
        ),
        (
            "missing calendar",
            Box::new(|policy| {
                policy.outputs.push(output(
                    "x",
                    Type::Bool,
                    builtin(Builtin::IsWorkingDay, vec![int(5), Expr::AsOf]),
                ))
            }),
        ),
        (
            "bad input record",
            Box::new(|policy| policy.input.record = SEX),
        ),
        (
            "bad id field",
            Box::new(|policy| policy.input.id_field = Some(99)),
        ),
        (
            "unsorted parameter",
            Box::new(|policy| policy.params[0].values.reverse()),
        ),
        (
            "wrong arity",
            Box::new(|policy| {
                let mut function = item("f", ItemKind::Function, Type::Integer, int(1));
                function.params = vec![("x".to_string(), Type::Integer)];
                policy.items.push(function);
                policy
                    .outputs
                    .push(output("x", Type::Integer, Expr::Call(0, vec![])));
            }),
        ),
    ];
    for (label, breakage) in broken {
        let mut policy = base_policy();
        breakage(&mut policy);
        assert!(
            matches!(Engine::new(policy), Err(LoadError::InvalidIr(_))),
            "{label}"
        );
    }
    assert!(matches!(
        Engine::from_json("{"),
        Err(LoadError::InvalidJson(_))
    ));
}

#[test]
fn trace_records_every_value_used() {
    let mut policy = welfare_policy(false, false);
    policy.items[2].source = Some("Social Code art. 128".to_string());
    policy.tables.push(region_table());
    // 5: line = lookup(region, previous quarter).amount ?? poverty_line
    policy.items.push(item(
        "poverty_line_used",
        ItemKind::Definition,
        Type::Money,
        Expr::Coalesce(
            Box::new(field(
                Expr::Lookup(
                    0,
                    vec![
                        input_field(case_field::REGION),
                        builtin(
                            Builtin::PreviousQuarter,
                            vec![builtin(Builtin::QuarterOf, vec![Expr::AsOf])],
                        ),
                    ],
                ),
                1,
            )),
            Box::new(Expr::Param { param: 0, at: None }),
        ),
    ));
    // 6: a function over members, called twice.
    let mut age_of = item(
        "age_of",
        ItemKind::Function,
        Type::Integer,
        builtin(
            Builtin::Age,
            vec![field(Expr::Local(0), member_field::BIRTH_DATE), Expr::AsOf],
        ),
    );
    age_of.params = vec![("member".to_string(), Type::Record(MEMBER))];
    age_of.locals = 1;
    policy.items.push(age_of);
    policy.items.push(item(
        "adults",
        ItemKind::Definition,
        Type::Integer,
        Expr::Aggregate {
            kind: AggregateKind::Count,
            var: 0,
            list: Box::new(input_field(case_field::MEMBERS)),
            filter: Some(Box::new(binary(
                BinaryOp::Ge,
                Expr::Call(6, vec![Expr::Local(0)]),
                int(18),
            ))),
            body: None,
        },
    ));
    policy
        .outputs
        .push(output("poverty_line", Type::Money, Expr::Item(5)));
    policy
        .outputs
        .push(output("adults", Type::Integer, Expr::Item(7)));
    policy
        .outputs
        .push(output("score_again", Type::Integer, Expr::Item(0)));

    let decision = decide(policy.clone(), CASE_JSON, true);
    let trace = decision.trace.as_ref().unwrap();
    assert_eq!(trace.roots.len(), decision.outputs.len());
    for (index, node) in trace.nodes.iter().enumerate() {
        assert!(
            trace.inputs(node).iter().all(|child| *child < index),
            "children come before parents"
        );
    }
    let input = trace
        .nodes
        .iter()
        .find(|node| {
            node.kind == TraceKind::Input && trace.path(node) == Some("/members/1/birth_date")
        })
        .unwrap();
    assert_eq!(input.value, Value::Date(date(2008, 2, 29)));

    let json = decision.to_json_string();
    assert!(
        json.contains(r#""see":"score""#),
        "the score is printed once, then referenced"
    );
    assert_eq!(
        json.matches(r#""id":"poverty_line","value":"32360","effective_from""#)
            .count(),
        1
    );
    let trace_json =
        &json[json.find(r#","trace":"#).unwrap() + r#","trace":"#.len()..json.len() - 1];
    insta::assert_snapshot!("trace", pretty_json(trace_json));

    // The same case gives the same bytes, and tracing does not change the outputs.
    assert_eq!(
        decide(policy.clone(), CASE_JSON, true).to_json_string(),
        json
    );
    let plain = decide(policy, CASE_JSON, false);
    assert_eq!(plain.outputs, decision.outputs);
    assert!(plain.trace.is_none());
}

#[test]
fn scratch_buffers_can_be_reused_across_cases() {
    let engine = engine(welfare_policy(false, false));
    let mut scratch = ereje_runtime::Scratch::default();
    let later = CASE_JSON.replace("2025-03-12", "2025-06-01");
    let cases = [CASE_JSON, later.as_str(), "{", CASE_JSON];
    for case in cases {
        let reused = engine
            .evaluate_json_with(case, &EvalOptions::default(), &mut scratch)
            .to_json_line();
        let fresh = engine
            .evaluate_json(case, &EvalOptions::default())
            .to_json_line();
        assert_eq!(reused, fresh);
    }
}

/// A chain of `length` definitions, each one more than the previous.
fn chain_policy(length: u32) -> Policy {
    let mut policy = base_policy();
    policy
        .items
        .push(item("d0", ItemKind::Definition, Type::Integer, int(0)));
    for index in 1..length {
        policy.items.push(item(
            &format!("d{index}"),
            ItemKind::Definition,
            Type::Integer,
            binary(
                BinaryOp::AddInteger,
                Expr::If {
                    condition: Box::new(boolean(true)),
                    then: Box::new(Expr::Coalesce(
                        Box::new(Expr::Item(index - 1)),
                        Box::new(int(0)),
                    )),
                    otherwise: Box::new(int(0)),
                },
                int(1),
            ),
        ));
    }
    policy
        .outputs
        .push(output("last", Type::Integer, Expr::Item(length - 1)));
    policy
}

#[test]
fn deep_chains_evaluate_and_too_deep_ones_fail_cleanly() {
    for trace in [false, true] {
        let decision = decide(chain_policy(90), CASE_JSON, trace);
        assert_eq!(decision.output("last"), Some(&Value::Integer(89)));
    }
    let outcome = engine(chain_policy(200)).evaluate_json(CASE_JSON, &EvalOptions::default());
    assert_eq!(outcome.error().unwrap().code(), "eval.cycle");
}

#[test]
fn engines_and_decisions_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<Decision>();
    assert_send_sync::<CaseOutcome>();
}
