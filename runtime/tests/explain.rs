//! Explanations as data, on hand-built IR: the comparison behind a reason, the nearest change
//! found by inverting the IR down to a sum over case records and confirmed by re-evaluation, and
//! a banded score's way to its neighbouring bands. Nothing here knows any real policy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ereje_runtime::exact::Number;
use ereje_runtime::explain::{ChangeKind, Quantity, Relation};
use ereje_runtime::ir::*;
use ereje_runtime::value::Value;
use ereje_runtime::{explain_case, ExplainOptions, Explanation};

const INCOME_AMOUNT: u32 = 1;

/// `sum(i in flat_map(m in case.members => m.incomes) => i.amount)`.
fn income_total() -> Expr {
    let incomes = Expr::Aggregate {
        kind: AggregateKind::FlatMap,
        var: 0,
        list: Box::new(input_field(case_field::MEMBERS)),
        filter: None,
        body: Some(Box::new(field(Expr::Local(0), member_field::INCOMES))),
    };
    Expr::Aggregate {
        kind: AggregateKind::SumDecimal,
        var: 1,
        list: Box::new(incomes),
        filter: None,
        body: Some(Box::new(field(Expr::Local(1), INCOME_AMOUNT))),
    }
}

fn rule(name: &str, ty: Type, body: Expr) -> Item {
    let mut rule = item(name, ItemKind::Rule, ty, body);
    rule.messages = Messages {
        ru: Some(format!("{name} ru")),
        kk: Some(format!("{name} kk")),
        en: Some(format!("{name} en")),
    };
    rule.source = Some(format!("source of {name}"));
    rule
}

fn band(lower: Option<i64>, upper: Option<i64>, value: i64) -> Band {
    let bound = |value: i64| Bound {
        value: Value::Integer(value),
        inclusive: true,
    };
    Band {
        lower: lower.map(bound),
        upper: upper.map(|value| Bound {
            inclusive: false,
            ..bound(value)
        }),
        value: Value::Integer(value),
        label: format!("band {value}"),
    }
}

/// A refusal `total / 3 / n >= line` over the case's incomes, with `line` given, and a
/// category banded from a group's total of points (7 + 0 + 5 = 12, band [5, 15)).
fn policy(line: &str) -> Policy {
    let mut policy = base_policy();
    let members = length_of_members();
    policy.items = vec![
        item("total", ItemKind::Definition, Type::Money, income_total()),
        rule(
            "INCOME-TEST",
            Type::Bool,
            binary(
                BinaryOp::Ge,
                binary(
                    BinaryOp::DivDecimal,
                    binary(BinaryOp::DivDecimal, Expr::Item(0), num("3")),
                    Expr::Unary(UnaryOp::IntegerToDecimal, Box::new(members)),
                ),
                num(line),
            ),
        ),
        item(
            "score",
            ItemKind::Definition,
            Type::Integer,
            Expr::GroupSum(1),
        ),
        rule("P-A", Type::Integer, int(7)),
        rule("P-B", Type::Integer, int(0)),
        rule("P-C", Type::Integer, int(5)),
        item(
            "category",
            ItemKind::Definition,
            Type::Integer,
            Expr::Band(0, Box::new(Expr::Item(2))),
        ),
    ];
    policy.groups = vec![
        Group {
            name: "REFUSALS".into(),
            element: Type::Bool,
            members: vec![GroupMember {
                item: 1,
                active_from: None,
            }],
        },
        Group {
            name: "POINTS".into(),
            element: Type::Integer,
            members: [3, 4, 5]
                .into_iter()
                .map(|item| GroupMember {
                    item,
                    active_from: None,
                })
                .collect(),
        },
    ];
    policy.bands = vec![BandTable {
        name: "CATEGORY".into(),
        source: None,
        domain: Type::Integer,
        result: Type::Integer,
        bands: vec![
            band(None, Some(5), 1),
            band(Some(5), Some(15), 2),
            band(Some(15), None, 3),
        ],
    }];
    policy.outputs = vec![
        output(
            "reasons",
            Type::List(Box::new(Type::RuleId)),
            Expr::Holding(0),
        ),
        output("category", Type::Integer, Expr::Item(6)),
    ];
    policy
}

fn length_of_members() -> Expr {
    builtin(Builtin::Length, vec![input_field(case_field::MEMBERS)])
}

fn explain(line: &str) -> Explanation {
    explain_case(&engine(policy(line)), CASE_JSON, &ExplainOptions::default()).unwrap()
}

/// The case's incomes total 28 338,37 ₸ for 2 members: 4 723,06 ₸ a month per member. Each row:
/// the line, whether the reason holds, and the nearest total at which it would not.
fn check(line: &str, holds: bool, nearest: Option<&str>) {
    let explanation = explain(line);
    let reason = explanation
        .reasons
        .iter()
        .find(|reason| reason.rule == "INCOME-TEST");
    assert_eq!(reason.is_some(), holds, "line {line}");
    let Some(reason) = reason else {
        return;
    };
    assert_eq!(reason.messages.kk.as_deref(), Some("INCOME-TEST kk"));
    let comparison = reason.comparison.as_ref().unwrap();
    assert_eq!(comparison.operator, ">=");
    assert_eq!(comparison.right_value, Quantity::Money(dec(line)));
    // The per-capita income is exactly 28 338,37 ÷ 3 ÷ 2 (shown to two places): equal to the
    // line only where the line is that exact value.
    let per_capita = Number::Decimal(dec("28338.37"))
        .checked_div(Number::Decimal(dec("6")))
        .unwrap()
        .unwrap();
    let expected_relation = if per_capita.order(Number::Decimal(dec(line))).is_eq() {
        Relation::Equal
    } else {
        Relation::Above
    };
    assert_eq!(comparison.relation, expected_relation, "line {line}");
    let change = reason.changes.first();
    assert_eq!(
        change.map(|change| change.value.clone()),
        nearest.map(|value| Quantity::Money(dec(value))),
        "line {line}: {change:?}"
    );
    if let Some(change) = change {
        assert_eq!(change.kind, ChangeKind::AtMost);
        assert_eq!(change.subject, "total");
        assert!(change.confirmed);
        assert!(change
            .edits
            .iter()
            .all(|edit| edit.path.starts_with("/members/0/incomes/")));
    }
}

#[test]
fn the_nearest_total_is_found_from_the_ir_and_confirmed() {
    // total / 3 / 2 < line ⇔ total < 6 × line; money has two decimals.
    for (line, holds, nearest) in [
        ("4000", true, Some("23999.99")),
        ("4723.06", true, Some("28338.35")),
        ("100", true, Some("599.99")),
        ("5000", false, None),
    ] {
        check(line, holds, nearest);
    }
}

#[test]
fn a_banded_score_shows_its_neighbours_and_criteria() {
    let explanation = explain("4000");
    let position = explanation.bands.first().unwrap();
    assert_eq!(position.item, "category");
    assert_eq!(position.score_value, Quantity::Integer(12));
    assert_eq!(position.band_label, "band 2");
    let next = position.to_next.as_ref().unwrap();
    assert_eq!(
        (next.points.clone(), next.band_label.as_str()),
        (Quantity::Integer(3), "band 3")
    );
    let previous = position.to_previous.as_ref().unwrap();
    assert_eq!(
        (previous.points.clone(), previous.band_label.as_str()),
        (Quantity::Integer(8), "band 1")
    );
    assert_eq!(
        position.criteria,
        vec![
            ("P-A".to_string(), Quantity::Integer(7)),
            ("P-C".to_string(), Quantity::Integer(5)),
        ]
    );
}

#[test]
fn facts_carry_their_json_paths_and_the_json_is_stable() {
    let explanation = explain("4000");
    let paths: Vec<&str> = explanation
        .facts
        .iter()
        .map(|fact| fact.path.as_str())
        .collect();
    assert!(paths.contains(&"/members/0/incomes/0/amount"), "{paths:?}");
    let first = serde_json::to_string(&explanation).unwrap();
    let second = serde_json::to_string(&explain("4000")).unwrap();
    assert_eq!(first, second);
}
