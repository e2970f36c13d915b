//! Operators, builtins, rounding and aggregates, checked one expression at a time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ereje_runtime::ir::*;
use ereje_runtime::value::{Month, Quarter, Value};

fn month(year: i32, month: u32) -> Expr {
    Expr::Const(Value::Month(Month { year, month }))
}

fn quarter(year: i32, quarter: u32) -> Expr {
    Expr::Const(Value::Quarter(Quarter { year, quarter }))
}

fn round(value: Expr, places: u32, mode: RoundingMode) -> Expr {
    Expr::Round {
        value: Box::new(value),
        places,
        mode,
    }
}

fn members() -> Expr {
    input_field(case_field::MEMBERS)
}

fn aggregate(kind: AggregateKind, filter: Option<Expr>, body: Option<Expr>) -> Expr {
    Expr::Aggregate {
        kind,
        var: 0,
        list: Box::new(members()),
        filter: filter.map(Box::new),
        body: body.map(Box::new),
    }
}

fn calendar(builtin_kind: Builtin, mut args: Vec<Expr>) -> Expr {
    args.insert(0, int(0));
    builtin(builtin_kind, args)
}

#[test]
fn integer_and_decimal_operators() {
    use BinaryOp::*;
    check(vec![
        (
            "add",
            binary(AddInteger, int(2), int(3)),
            Type::Integer,
            "5",
        ),
        (
            "sub",
            binary(SubInteger, int(2), int(3)),
            Type::Integer,
            "-1",
        ),
        (
            "mul",
            binary(MulInteger, int(4), int(3)),
            Type::Integer,
            "12",
        ),
        (
            "add overflow",
            binary(AddInteger, int(i64::MAX), int(1)),
            Type::Integer,
            "error eval.overflow",
        ),
        (
            "mul overflow",
            binary(MulInteger, int(i64::MAX), int(2)),
            Type::Integer,
            "error eval.overflow",
        ),
        (
            "integer division is decimal",
            binary(DivInteger, int(7), int(2)),
            Type::Decimal,
            "\"3.5\"",
        ),
        (
            "integer division by zero",
            binary(DivInteger, int(7), int(0)),
            Type::Decimal,
            "error eval.division_by_zero",
        ),
        (
            "decimal add keeps scale",
            binary(AddDecimal, num("28238.37"), num("0.63")),
            Type::Money,
            "\"28239.00\"",
        ),
        (
            "decimal sub",
            binary(SubDecimal, num("32360"), num("21333.33")),
            Type::Money,
            "\"11026.67\"",
        ),
        (
            "decimal mul",
            binary(MulDecimal, num("3932"), num("1.5")),
            Type::Money,
            "\"5898.0\"",
        ),
        (
            "decimal div that does not terminate: the exact fraction",
            binary(DivDecimal, num("64000"), num("3")),
            Type::Decimal,
            "\"64000/3\"",
        ),
        (
            "decimal div that terminates: the shortest decimal",
            binary(DivDecimal, num("64000.00"), num("8")),
            Type::Decimal,
            "\"8000\"",
        ),
        (
            "a tie made by a quotient rounds half-up as the exact value does",
            round(
                binary(
                    MulDecimal,
                    binary(
                        SubDecimal,
                        num("32360"),
                        binary(
                            DivDecimal,
                            binary(DivDecimal, num("49999.50"), num("3")),
                            num("7"),
                        ),
                    ),
                    num("7"),
                ),
                0,
                RoundingMode::HalfUp,
            ),
            Type::Money,
            "\"209854\"",
        ),
        (
            "a value past the largest decimal is an overflow",
            binary(
                MulDecimal,
                binary(DivDecimal, num("4"), num("3")),
                num("79228162514264337593543950335"),
            ),
            Type::Decimal,
            "error eval.overflow",
        ),
        (
            "decimal div by zero",
            binary(DivDecimal, num("1"), num("0.00")),
            Type::Decimal,
            "error eval.division_by_zero",
        ),
        (
            "decimal overflow",
            binary(MulDecimal, num("79228162514264337593543950335"), num("2")),
            Type::Decimal,
            "error eval.overflow",
        ),
        (
            "eq across scales",
            binary(Eq, num("5898"), num("5898.00")),
            Type::Bool,
            "true",
        ),
        ("ne", binary(Ne, text("a"), text("b")), Type::Bool, "true"),
        (
            "lt strict",
            binary(Lt, num("32360"), num("32360")),
            Type::Bool,
            "false",
        ),
        (
            "le",
            binary(Le, num("32360"), num("32360")),
            Type::Bool,
            "true",
        ),
        (
            "gt dates",
            binary(Gt, date_const(2025, 3, 1), date_const(2025, 2, 28)),
            Type::Bool,
            "true",
        ),
        (
            "ge months",
            binary(Ge, month(2025, 1), month(2025, 2)),
            Type::Bool,
            "false",
        ),
        (
            "lt text",
            binary(Lt, text("abc"), text("abd")),
            Type::Bool,
            "true",
        ),
        (
            "in",
            binary(In, int(2), Expr::List(vec![int(1), int(2)])),
            Type::Bool,
            "true",
        ),
        (
            "not in",
            binary(NotIn, int(3), Expr::List(vec![int(1), int(2)])),
            Type::Bool,
            "true",
        ),
        (
            "compare mismatched types",
            binary(Lt, int(1), text("a")),
            Type::Bool,
            "error eval.type_error",
        ),
    ]);
}

/// The rows no policy text can write (a literal below the integers' negative range, the
/// compiler's own conversions, a field of a constant absent value); the rest of the operators
/// and logic are policy text in `tests/semantics/logic.ereje`.
#[test]
fn unary_and_logic() {
    check(vec![
        (
            "neg overflow",
            Expr::Unary(UnaryOp::NegInteger, Box::new(int(i64::MIN))),
            Type::Integer,
            "error eval.overflow",
        ),
        (
            "integer to decimal",
            Expr::Unary(UnaryOp::IntegerToDecimal, Box::new(int(7))),
            Type::Money,
            "\"7\"",
        ),
        (
            "retype",
            Expr::Unary(UnaryOp::Retype, Box::new(num("7.10"))),
            Type::Decimal,
            "\"7.10\"",
        ),
        (
            "field of absent is absent",
            field(Expr::Const(Value::Absent), 0),
            Type::Optional(Box::new(Type::Text)),
            "null",
        ),
    ]);
}

#[test]
fn rounding_modes_on_halves_and_rescale() {
    use RoundingMode::*;
    check(vec![
        (
            "half up 0.5",
            round(num("0.5"), 0, HalfUp),
            Type::Money,
            "\"1\"",
        ),
        (
            "half up 2.5",
            round(num("2.5"), 0, HalfUp),
            Type::Money,
            "\"3\"",
        ),
        (
            "half up -2.5",
            round(num("-2.5"), 0, HalfUp),
            Type::Money,
            "\"-3\"",
        ),
        (
            "half even 0.5",
            round(num("0.5"), 0, HalfEven),
            Type::Money,
            "\"0\"",
        ),
        (
            "half even 2.5",
            round(num("2.5"), 0, HalfEven),
            Type::Money,
            "\"2\"",
        ),
        (
            "half even 3.5",
            round(num("3.5"), 0, HalfEven),
            Type::Money,
            "\"4\"",
        ),
        ("down 2.9", round(num("2.9"), 0, Down), Type::Money, "\"2\""),
        (
            "down -2.9",
            round(num("-2.9"), 0, Down),
            Type::Money,
            "\"-2\"",
        ),
        ("up 2.1", round(num("2.1"), 0, Up), Type::Money, "\"3\""),
        ("up -2.1", round(num("-2.1"), 0, Up), Type::Money, "\"-3\""),
        (
            "two places half up",
            round(num("21333.335"), 2, HalfUp),
            Type::Money,
            "\"21333.34\"",
        ),
        (
            "zero rescaled",
            round(num("0"), 2, HalfUp),
            Type::Money,
            "\"0.00\"",
        ),
        (
            "integer rescaled",
            round(int(5898), 2, HalfUp),
            Type::Money,
            "\"5898.00\"",
        ),
        (
            "negative zero prints as zero",
            round(num("-0.001"), 2, HalfUp),
            Type::Money,
            "\"0.00\"",
        ),
        (
            "one third",
            round(binary(BinaryOp::DivInteger, int(64000), int(3)), 2, HalfUp),
            Type::Money,
            "\"21333.33\"",
        ),
    ]);
}

/// Built-ins given an absent value give an absent value: no policy text passes one (the checker
/// asks for `??` or a match first), but the evaluators must agree on it. The other date
/// built-ins are policy text in `tests/semantics/dates.ereje`.
#[test]
fn date_builtins_of_absent_values() {
    use Builtin::*;
    check(vec![
        (
            "contains of an absent month is absent",
            builtin(
                QuarterContainsMonth,
                vec![quarter(2024, 4), Expr::Const(Value::Absent)],
            ),
            Type::Optional(Box::new(Type::Bool)),
            "null",
        ),
        (
            "month of an absent date is absent",
            builtin(MonthOf, vec![Expr::Const(Value::Absent)]),
            Type::Optional(Box::new(Type::Month)),
            "null",
        ),
        (
            "age from an absent birth date is absent",
            builtin(
                Age,
                vec![Expr::Const(Value::Absent), date_const(2025, 3, 12)],
            ),
            Type::Optional(Box::new(Type::Integer)),
            "null",
        ),
    ]);
}

#[test]
fn working_days_across_holidays() {
    use Builtin::*;
    check(vec![
        // Friday 2025-03-07 → Monday 10 March is a holiday → Tuesday 11 March.
        (
            "over weekend and holiday",
            calendar(AddWorkingDays, vec![date_const(2025, 3, 7), int(1)]),
            Type::Date,
            "\"2025-03-11\"",
        ),
        // Thursday 20 March: 21 (Fri) holiday, weekend, 24 and 25 holidays → Wednesday 26.
        (
            "nauryz",
            calendar(AddWorkingDays, vec![date_const(2025, 3, 20), int(1)]),
            Type::Date,
            "\"2025-03-26\"",
        ),
        (
            "two days",
            calendar(AddWorkingDays, vec![date_const(2025, 3, 20), int(2)]),
            Type::Date,
            "\"2025-03-27\"",
        ),
        (
            "zero days",
            calendar(AddWorkingDays, vec![date_const(2025, 3, 8), int(0)]),
            Type::Date,
            "\"2025-03-08\"",
        ),
        (
            "backwards",
            calendar(AddWorkingDays, vec![date_const(2025, 3, 11), int(-1)]),
            Type::Date,
            "\"2025-03-07\"",
        ),
        // Saturday 4 January → Sunday 5 January is a moved working day.
        (
            "moved working sunday",
            calendar(AddWorkingDays, vec![date_const(2025, 1, 4), int(1)]),
            Type::Date,
            "\"2025-01-05\"",
        ),
        (
            "holiday is not working",
            calendar(IsWorkingDay, vec![date_const(2025, 3, 10)]),
            Type::Bool,
            "false",
        ),
        (
            "weekday is working",
            calendar(IsWorkingDay, vec![date_const(2025, 3, 12)]),
            Type::Bool,
            "true",
        ),
        (
            "saturday",
            calendar(IsWorkingDay, vec![date_const(2025, 3, 8)]),
            Type::Bool,
            "false",
        ),
        (
            "working sunday",
            calendar(IsWorkingDay, vec![date_const(2025, 1, 5)]),
            Type::Bool,
            "true",
        ),
        (
            "not covered",
            calendar(AddWorkingDays, vec![date_const(2025, 12, 31), int(1)]),
            Type::Date,
            "error eval.calendar_not_covered",
        ),
        (
            "not covered check",
            calendar(IsWorkingDay, vec![date_const(2024, 12, 31)]),
            Type::Bool,
            "error eval.calendar_not_covered",
        ),
    ]);
}

#[test]
fn calendar_not_covered_names_calendar_and_date() {
    let outcome = eval_expr(
        calendar(
            Builtin::AddWorkingDays,
            vec![date_const(2025, 12, 31), int(1)],
        ),
        Type::Date,
    );
    let error = outcome.error().unwrap();
    assert_eq!(error.code(), "eval.calendar_not_covered");
    assert_eq!(error.rule.as_deref(), Some("subject"));
    assert!(
        error.message.contains("`kz_working_days`"),
        "{}",
        error.message
    );
    assert!(error.message.contains("2026-01-01"), "{}", error.message);
    assert!(error.message.contains("`subject`"), "{}", error.message);
}

#[test]
fn list_and_text_builtins() {
    use Builtin::*;
    let list = || Expr::List(vec![int(3), int(1), int(2)]);
    check(vec![
        ("length", builtin(Length, vec![list()]), Type::Integer, "3"),
        (
            "is empty",
            builtin(IsEmpty, vec![Expr::List(vec![])]),
            Type::Bool,
            "true",
        ),
        (
            "contains",
            builtin(ListContains, vec![list(), int(2)]),
            Type::Bool,
            "true",
        ),
        (
            "abs integer",
            builtin(AbsInteger, vec![int(-4)]),
            Type::Integer,
            "4",
        ),
        (
            "abs decimal",
            builtin(AbsDecimal, vec![num("-4.50")]),
            Type::Decimal,
            "\"4.50\"",
        ),
        (
            "min",
            builtin(Min2, vec![num("2.5"), num("1")]),
            Type::Decimal,
            "\"1\"",
        ),
        (
            "max",
            builtin(Max2, vec![date_const(2025, 1, 1), date_const(2024, 1, 1)]),
            Type::Date,
            "\"2025-01-01\"",
        ),
        (
            "money",
            builtin(ToMoney, vec![int(5)]),
            Type::Money,
            "\"5\"",
        ),
        (
            "decimal",
            builtin(ToDecimal, vec![num("5.25")]),
            Type::Decimal,
            "\"5.25\"",
        ),
        (
            "text integer",
            builtin(ToText, vec![int(42)]),
            Type::Text,
            "\"42\"",
        ),
        (
            "text decimal",
            builtin(ToText, vec![num("5.50")]),
            Type::Text,
            "\"5.50\"",
        ),
        (
            "text date",
            builtin(ToText, vec![date_const(2025, 3, 1)]),
            Type::Text,
            "\"2025-03-01\"",
        ),
        (
            "text month",
            builtin(ToText, vec![month(2025, 3)]),
            Type::Text,
            "\"2025-03\"",
        ),
        (
            "text quarter",
            builtin(ToText, vec![quarter(2025, 3)]),
            Type::Text,
            "\"2025-Q3\"",
        ),
        (
            "text bool",
            builtin(ToText, vec![boolean(true)]),
            Type::Text,
            "\"true\"",
        ),
        (
            "text text",
            builtin(ToText, vec![text("x")]),
            Type::Text,
            "\"x\"",
        ),
    ]);
}

#[test]
fn aggregates_over_members() {
    use AggregateKind::*;
    let id = || field(Expr::Local(0), member_field::ID);
    let is_male = || {
        binary(
            BinaryOp::Eq,
            field(Expr::Local(0), member_field::SEX),
            Expr::Const(Value::Enum(1)),
        )
    };
    let incomes = || field(Expr::Local(0), member_field::INCOMES);
    let income_total = Expr::Aggregate {
        kind: SumDecimal,
        var: 1,
        list: Box::new(Expr::Aggregate {
            kind: FlatMap,
            var: 0,
            list: Box::new(members()),
            filter: None,
            body: Some(Box::new(incomes())),
        }),
        filter: None,
        body: Some(Box::new(field(Expr::Local(1), 1))),
    };
    let text_list = Type::List(Box::new(Type::Text));
    check(vec![
        ("count", aggregate(Count, None, None), Type::Integer, "2"),
        (
            "count filtered",
            aggregate(Count, Some(is_male()), None),
            Type::Integer,
            "1",
        ),
        (
            "sum integer",
            aggregate(SumInteger, None, Some(int(2))),
            Type::Integer,
            "4",
        ),
        (
            "sum decimal exact",
            income_total,
            Type::Money,
            "\"28338.37\"",
        ),
        (
            "any",
            aggregate(Any, None, Some(is_male())),
            Type::Bool,
            "true",
        ),
        (
            "all",
            aggregate(All, None, Some(is_male())),
            Type::Bool,
            "false",
        ),
        (
            "all filtered",
            aggregate(All, Some(is_male()), Some(is_male())),
            Type::Bool,
            "true",
        ),
        (
            "filter",
            aggregate(Map, None, Some(id())),
            text_list.clone(),
            "[\"m1\",\"m2\"]",
        ),
        (
            "map filtered",
            aggregate(Map, Some(is_male()), Some(id())),
            text_list,
            "[\"m2\"]",
        ),
        (
            "min",
            aggregate(
                Min,
                None,
                Some(field(Expr::Local(0), member_field::BIRTH_DATE)),
            ),
            Type::Date,
            "\"1990-05-14\"",
        ),
        (
            "max",
            aggregate(
                Max,
                None,
                Some(field(Expr::Local(0), member_field::BIRTH_DATE)),
            ),
            Type::Date,
            "\"2008-02-29\"",
        ),
        (
            "max of empty",
            aggregate(Max, Some(boolean(false)), Some(id())),
            Type::Optional(Box::new(Type::Text)),
            "null",
        ),
        (
            "filter keeps elements",
            Expr::Aggregate {
                kind: Filter,
                var: 0,
                list: Box::new(Expr::List(vec![int(1), int(5), int(3)])),
                filter: Some(Box::new(binary(BinaryOp::Gt, Expr::Local(0), int(2)))),
                body: None,
            },
            Type::List(Box::new(Type::Integer)),
            "[5,3]",
        ),
        (
            "map of",
            Expr::MapOf {
                var: 0,
                list: Box::new(members()),
                filter: None,
                key: Box::new(id()),
                value: Box::new(builtin(
                    Builtin::Age,
                    vec![field(Expr::Local(0), member_field::BIRTH_DATE), Expr::AsOf],
                )),
            },
            Type::Map(Box::new(Type::Integer)),
            "{\"m1\":34,\"m2\":17}",
        ),
        (
            "enum written as its literal",
            aggregate(
                Map,
                None,
                Some(field(Expr::Local(0), member_field::DISABILITY_GROUP)),
            ),
            Type::List(Box::new(Type::Optional(Box::new(Type::Enum(DISABILITY))))),
            "[null,2]",
        ),
    ]);
}

#[test]
fn parameters_by_date() {
    let at = |year, month, day| Expr::Param {
        param: 0,
        at: Some(Box::new(date_const(year, month, day))),
    };
    check(vec![
        (
            "as of",
            Expr::Param { param: 0, at: None },
            Type::Money,
            "\"32360\"",
        ),
        ("earlier value", at(2024, 12, 31), Type::Money, "\"30385\""),
        ("first day", at(2025, 1, 1), Type::Money, "\"32360\""),
        (
            "before the first value",
            at(2023, 12, 31),
            Type::Money,
            "error eval.no_parameter_value",
        ),
    ]);
    let outcome = eval_expr(at(2023, 12, 31), Type::Money);
    let error = outcome.error().unwrap();
    assert!(
        error.message.contains("`poverty_line`"),
        "{}",
        error.message
    );
    assert!(error.message.contains("2023-12-31"), "{}", error.message);
}

/// A banded table with a lower band open below, a closed middle band and an upper band open
/// above, and the band (and its label) of values on and around each bound.
#[test]
fn bands_and_their_labels() {
    let bound = |value: &str, inclusive: bool| {
        Some(Bound {
            value: Value::Decimal(dec(value)),
            inclusive,
        })
    };
    let band = |lower, upper, value: i64, label: &str| Band {
        lower,
        upper,
        value: Value::Integer(value),
        label: label.to_string(),
    };
    let mut policy = base_policy();
    policy.bands.push(BandTable {
        name: "points".to_string(),
        source: None,
        domain: Type::Decimal,
        result: Type::Integer,
        bands: vec![
            band(None, bound("0.55", false), 0, "low"),
            band(bound("0.55", true), bound("1", true), 8, "middle"),
            band(bound("1", false), None, 16, "high"),
        ],
    });
    let rows = [
        ("0.54", "0", "\"low\""),
        ("0.55", "8", "\"middle\""),
        ("1", "8", "\"middle\""),
        ("1.000001", "16", "\"high\""),
        ("-7", "0", "\"low\""),
    ];
    let mut failures = Vec::new();
    for (value, points, label) in rows {
        let band_value = eval_text_in(
            policy.clone(),
            Expr::Band(0, Box::new(num(value))),
            Type::Integer,
        );
        let band_label = eval_text_in(
            policy.clone(),
            Expr::BandLabel(0, Box::new(num(value))),
            Type::Text,
        );
        if band_value != points || band_label != label {
            failures.push(format!(
                "{value}: expected {points} {label}, got {band_value} {band_label}"
            ));
        }
    }
    // An absent value falls in no band: an error, from both evaluators alike.
    let absent = eval_text_in(
        policy,
        Expr::Band(0, Box::new(Expr::Const(Value::Absent))),
        Type::Integer,
    );
    if !absent.starts_with("error ") {
        failures.push(format!("absent: expected an error, got {absent}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A function of `params` (slots `0..params.len()`) with `locals` slots in all.
fn function(name: &str, params: Vec<(&str, Type)>, locals: u32, ty: Type, body: Expr) -> Item {
    let mut function = item(name, ItemKind::Function, ty, body);
    function.params = params
        .into_iter()
        .map(|(name, ty)| (name.to_string(), ty))
        .collect();
    function.locals = locals;
    function
}

fn call(id: u32, args: Vec<Expr>) -> Expr {
    Expr::Call(id, args)
}

fn local(slot: u32) -> Expr {
    Expr::Local(slot)
}

fn over_members(kind: AggregateKind, filter: Option<Expr>, body: Option<Expr>) -> Expr {
    aggregate(kind, filter, body)
}

/// Small functions are inlined into their callers by the compiled evaluator (and typed there):
/// each row must give what the interpreter gives, which calls them.
#[test]
fn functions_inlined_into_their_callers() {
    use BinaryOp::*;
    let member = || Type::Record(MEMBER);
    let age_of = |m: Expr| {
        builtin(
            Builtin::Age,
            vec![
                field(m, member_field::BIRTH_DATE),
                input_field(case_field::APPLICATION_DATE),
            ],
        )
    };
    let mut policy = base_policy();
    // 0: is_adult(m) = age(m.birth_date, case.application_date) >= 18
    policy.items.push(function(
        "is_adult",
        vec![("m", member())],
        1,
        Type::Bool,
        binary(Ge, age_of(local(0)), int(18)),
    ));
    // 1: income_of(m) = sum(i in m.incomes => i.amount): a local slot of its own (1).
    policy.items.push(function(
        "income_of",
        vec![("m", member())],
        2,
        Type::Money,
        Expr::Aggregate {
            kind: AggregateKind::SumDecimal,
            var: 1,
            list: Box::new(field(local(0), member_field::INCOMES)),
            filter: None,
            body: Some(Box::new(field(local(1), 1))),
        },
    ));
    // 2: adult_income(m) = if is_adult(m) then income_of(m) else 0: calls inlined twice deep.
    policy.items.push(function(
        "adult_income",
        vec![("m", member())],
        1,
        Type::Money,
        Expr::If {
            condition: Box::new(call(0, vec![local(0)])),
            then: Box::new(call(1, vec![local(0)])),
            otherwise: Box::new(num("0")),
        },
    ));
    // 3: in_groups(m, groups) = match m.disability_group { some g => g in groups, none => false }
    let disability = || Type::Enum(DISABILITY);
    policy.items.push(function(
        "in_groups",
        vec![
            ("m", member()),
            ("groups", Type::List(Box::new(disability()))),
        ],
        3,
        Type::Bool,
        Expr::Match {
            scrutinee: Box::new(field(local(0), member_field::DISABILITY_GROUP)),
            arms: vec![
                MatchArm {
                    pattern: Pattern::Some,
                    bind: Some(2),
                    body: binary(In, local(2), local(1)),
                },
                MatchArm {
                    pattern: Pattern::None,
                    bind: None,
                    body: boolean(false),
                },
            ],
        },
    ));
    // 4: twice(x) = x + x: an argument used twice.
    policy.items.push(function(
        "twice",
        vec![("x", Type::Integer)],
        1,
        Type::Integer,
        binary(AddInteger, local(0), local(0)),
    ));
    // 5: income_or_zero = case.income ?? 0 and 6: n = length(case.members): items that only
    // read, inlined where they are used.
    policy.items.push(item(
        "income_or_zero",
        ItemKind::Definition,
        Type::Money,
        Expr::Coalesce(
            Box::new(input_field(case_field::INCOME)),
            Box::new(num("0")),
        ),
    ));
    policy.items.push(item(
        "n",
        ItemKind::Definition,
        Type::Integer,
        builtin(Builtin::Length, vec![members()]),
    ));
    let groups = |variants: &[u32]| {
        Expr::List(
            variants
                .iter()
                .map(|variant| Expr::Const(Value::Enum(*variant)))
                .collect(),
        )
    };
    let rows = vec![
        (
            "items that only read, used twice",
            binary(
                DivDecimal,
                binary(AddDecimal, Expr::Item(5), Expr::Item(5)),
                Expr::Item(6),
            ),
            Type::Decimal,
            "\"427210.66\"",
        ),
        (
            "count of adults",
            over_members(AggregateKind::Count, Some(call(0, vec![local(0)])), None),
            Type::Integer,
            "1",
        ),
        (
            "sum over a function with its own aggregate",
            over_members(
                AggregateKind::SumDecimal,
                None,
                Some(call(1, vec![local(0)])),
            ),
            Type::Money,
            "\"28338.37\"",
        ),
        (
            "nested inlined calls",
            over_members(
                AggregateKind::SumDecimal,
                None,
                Some(call(2, vec![local(0)])),
            ),
            Type::Money,
            "\"28338.37\"",
        ),
        (
            "the caller's variable read again after an inlined aggregate",
            over_members(
                AggregateKind::SumDecimal,
                None,
                Some(binary(
                    AddDecimal,
                    call(1, vec![local(0)]),
                    call(2, vec![local(0)]),
                )),
            ),
            Type::Money,
            "\"56676.74\"",
        ),
        (
            "a match binding and a list argument",
            over_members(
                AggregateKind::Count,
                Some(call(3, vec![local(0), groups(&[1, 2])])),
                None,
            ),
            Type::Integer,
            "1",
        ),
        (
            "a list argument that matches nobody",
            over_members(
                AggregateKind::Any,
                Some(call(3, vec![local(0), groups(&[0])])),
                None,
            ),
            Type::Bool,
            "false",
        ),
        (
            "an argument used twice",
            call(4, vec![input_field(case_field::COUNT)]),
            Type::Integer,
            "0",
        ),
        (
            "an argument that is not inlined (an aggregate)",
            call(4, vec![over_members(AggregateKind::Count, None, None)]),
            Type::Integer,
            "4",
        ),
        (
            "an argument evaluated once into a slot of its own, the caller's variable kept",
            over_members(
                AggregateKind::SumInteger,
                None,
                Some(binary(
                    AddInteger,
                    call(
                        4,
                        vec![builtin(
                            Builtin::Length,
                            vec![field(local(0), member_field::INCOMES)],
                        )],
                    ),
                    age_of(local(0)),
                )),
            ),
            Type::Integer,
            "55",
        ),
        (
            "a typed sum of integer calls",
            over_members(
                AggregateKind::SumInteger,
                None,
                Some(call(4, vec![age_of(local(0))])),
            ),
            Type::Integer,
            "102",
        ),
    ];
    let mut failures = Vec::new();
    for (label, expr, ty, expected) in rows {
        let actual = eval_text_in(policy.clone(), expr, ty);
        if actual != expected {
            failures.push(format!("{label}: expected {expected}, got {actual}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Typed comparisons and memberships, on present, absent and defaulted fields.
#[test]
fn typed_comparisons() {
    use BinaryOp::*;
    let member_sex = field(Expr::Local(0), member_field::SEX);
    let member_group = field(Expr::Local(0), member_field::DISABILITY_GROUP);
    let variants = |variants: &[u32]| {
        Expr::List(
            variants
                .iter()
                .map(|variant| Expr::Const(Value::Enum(*variant)))
                .collect(),
        )
    };
    check(vec![
        (
            "integer with default against a decimal",
            binary(Eq, input_field(case_field::COUNT), num("0.0")),
            Type::Bool,
            "true",
        ),
        (
            "integer against integer",
            binary(Lt, input_field(case_field::COUNT), int(1)),
            Type::Bool,
            "true",
        ),
        (
            "optional money present",
            binary(Gt, input_field(case_field::INCOME), num("427210.65")),
            Type::Bool,
            "true",
        ),
        (
            "optional decimal absent, ordered",
            binary(Gt, input_field(case_field::RATIO), num("1")),
            Type::Bool,
            "error eval.type_error",
        ),
        (
            "dates",
            binary(
                Le,
                input_field(case_field::APPLICATION_DATE),
                date_const(2025, 3, 12),
            ),
            Type::Bool,
            "true",
        ),
        (
            "enum equality",
            aggregate(
                AggregateKind::Count,
                Some(binary(Eq, member_sex, Expr::Const(Value::Enum(1)))),
                None,
            ),
            Type::Integer,
            "1",
        ),
        (
            "optional enum not in a list (absent is in no list)",
            aggregate(
                AggregateKind::Count,
                Some(binary(NotIn, member_group.clone(), variants(&[0]))),
                None,
            ),
            Type::Integer,
            "2",
        ),
        (
            "optional enum in a list",
            aggregate(
                AggregateKind::Count,
                Some(binary(In, member_group, variants(&[1, 2]))),
                None,
            ),
            Type::Integer,
            "1",
        ),
        (
            "integer overflow in a typed sum",
            aggregate(
                AggregateKind::SumInteger,
                None,
                Some(binary(MulInteger, int(i64::MAX), int(1))),
            ),
            Type::Integer,
            "error eval.overflow",
        ),
    ]);
}

/// A chain of items nested deeper than the evaluators allow: the same error from both (the
/// compiled evaluator inlines nothing in such a policy, and gives up).
#[test]
fn nesting_past_the_limit_is_an_error_in_both_evaluators() {
    let mut policy = base_policy();
    policy.items.push(function(
        "plus_one",
        vec![("x", Type::Integer)],
        1,
        Type::Integer,
        binary(BinaryOp::AddInteger, Expr::Local(0), int(1)),
    ));
    policy.items.push(item(
        "d0",
        ItemKind::Definition,
        Type::Integer,
        call(0, vec![int(0)]),
    ));
    for index in 2..120u32 {
        policy.items.push(item(
            &format!("d{index}"),
            ItemKind::Definition,
            Type::Integer,
            call(0, vec![Expr::Item(index - 1)]),
        ));
    }
    let deepest = (policy.items.len() - 1) as u32;
    let shallow = eval_text_in(policy.clone(), Expr::Item(40), Type::Integer);
    assert_eq!(shallow, "40");
    let deep = eval_text_in(policy, Expr::Item(deepest), Type::Integer);
    assert_eq!(deep, "error eval.cycle");
}
