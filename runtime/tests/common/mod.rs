//! Hand-built policies for the runtime's tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use ereje_runtime::ir::*;
use ereje_runtime::value::{Date, Value};
use ereje_runtime::{CaseOutcome, Engine, EvalOptions};
use rust_decimal::Decimal;

pub const CASE: TypeId = 0;
pub const MEMBER: TypeId = 1;
pub const SEX: TypeId = 2;
pub const DISABILITY: TypeId = 3;
pub const INCOME: TypeId = 4;

/// Field indices of the case record.
pub mod case_field {
    pub const CASE_ID: u32 = 0;
    pub const APPLICATION_DATE: u32 = 1;
    pub const REGION: u32 = 2;
    pub const MEMBERS: u32 = 3;
    pub const INCOME: u32 = 4;
    pub const RATIO: u32 = 5;
    pub const COUNT: u32 = 6;
    pub const PERIOD: u32 = 7;
    pub const QUARTER: u32 = 8;
    pub const FLAG: u32 = 9;
}

/// Field indices of a member record.
pub mod member_field {
    pub const ID: u32 = 0;
    pub const BIRTH_DATE: u32 = 1;
    pub const SEX: u32 = 2;
    pub const DISABILITY_GROUP: u32 = 3;
    pub const INCOMES: u32 = 4;
}

pub fn date(year: i32, month: u32, day: u32) -> Date {
    Date::from_ymd_opt(year, month, day).unwrap()
}

pub fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

pub fn money(text: &str) -> Value {
    Value::Decimal(dec(text))
}

pub fn int(value: i64) -> Expr {
    Expr::Const(Value::Integer(value))
}

pub fn num(text: &str) -> Expr {
    Expr::Const(money(text))
}

pub fn date_const(year: i32, month: u32, day: u32) -> Expr {
    Expr::Const(Value::Date(date(year, month, day)))
}

pub fn text(value: &str) -> Expr {
    Expr::Const(Value::text(value))
}

pub fn boolean(value: bool) -> Expr {
    Expr::Const(Value::Bool(value))
}

pub fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary(op, Box::new(left), Box::new(right))
}

pub fn builtin(builtin: Builtin, args: Vec<Expr>) -> Expr {
    Expr::Builtin(builtin, args)
}

pub fn field(record: Expr, index: u32) -> Expr {
    Expr::Field(Box::new(record), index)
}

pub fn input_field(index: u32) -> Expr {
    field(Expr::Input, index)
}

fn field_def(name: &str, ty: Type, required: bool) -> FieldDef {
    FieldDef {
        name: name.to_string(),
        ty,
        required,
        default: None,
        constraints: vec![],
    }
}

/// A policy with the test case schema, one parameter (`poverty_line`), a holiday calendar for
/// 2025 and no items or outputs.
pub fn base_policy() -> Policy {
    let mut case_id = field_def("case_id", Type::Text, true);
    case_id.constraints = vec![Constraint::MinLength(1), Constraint::MaxLength(64)];
    let mut members = field_def("members", Type::List(Box::new(Type::Record(MEMBER))), true);
    members.constraints = vec![
        Constraint::MinItems(1),
        Constraint::MaxItems(40),
        Constraint::UniqueBy(member_field::ID),
    ];
    let mut income = field_def("income", Type::Optional(Box::new(Type::Money)), false);
    income.constraints = vec![Constraint::Min(Decimal::ZERO)];
    let mut count = field_def("count", Type::Integer, false);
    count.default = Some(Value::Integer(0));
    count.constraints = vec![
        Constraint::Min(Decimal::ZERO),
        Constraint::Max(Decimal::from(100)),
    ];
    let mut flag = field_def("flag", Type::Bool, false);
    flag.default = Some(Value::Bool(false));
    let mut incomes = field_def("incomes", Type::List(Box::new(Type::Record(INCOME))), false);
    incomes.default = Some(Value::List(Arc::from(Vec::<Value>::new())));
    Policy {
        format_version: IR_FORMAT_VERSION,
        name: "test".to_string(),
        version: "2025.1".to_string(),
        publisher: "tests".to_string(),
        in_force_from: date(2025, 1, 1),
        modules: vec![ModuleInfo {
            name: "test.base".to_string(),
            version: "1".to_string(),
            in_force_from: date(2025, 1, 1),
            amends: None,
            file: "base.ereje".to_string(),
        }],
        types: vec![
            TypeDef::Record(RecordDef {
                name: "Case".to_string(),
                fields: vec![
                    case_id,
                    field_def("application_date", Type::Date, true),
                    field_def("region", Type::Optional(Box::new(Type::Text)), false),
                    members,
                    income,
                    field_def("ratio", Type::Optional(Box::new(Type::Decimal)), false),
                    count,
                    field_def("period", Type::Optional(Box::new(Type::Month)), false),
                    field_def("quarter", Type::Optional(Box::new(Type::Quarter)), false),
                    flag,
                ],
            }),
            TypeDef::Record(RecordDef {
                name: "Member".to_string(),
                fields: vec![
                    field_def("id", Type::Text, true),
                    field_def("birth_date", Type::Date, true),
                    field_def("sex", Type::Enum(SEX), true),
                    field_def(
                        "disability_group",
                        Type::Optional(Box::new(Type::Enum(DISABILITY))),
                        false,
                    ),
                    incomes,
                ],
            }),
            TypeDef::Enum(EnumDef {
                name: "Sex".to_string(),
                variants: vec![
                    VariantDef {
                        name: "female".to_string(),
                        json: JsonLiteral::Text("female".to_string()),
                    },
                    VariantDef {
                        name: "male".to_string(),
                        json: JsonLiteral::Text("male".to_string()),
                    },
                ],
            }),
            TypeDef::Enum(EnumDef {
                name: "Disability".to_string(),
                variants: (1..=3)
                    .map(|group| VariantDef {
                        name: format!("group{group}"),
                        json: JsonLiteral::Integer(group),
                    })
                    .collect(),
            }),
            TypeDef::Record(RecordDef {
                name: "Income".to_string(),
                fields: vec![
                    field_def("month", Type::Month, true),
                    field_def("amount", Type::Money, true),
                ],
            }),
        ],
        input: InputDecl {
            name: "case".to_string(),
            record: CASE,
            id_field: Some(case_field::CASE_ID),
            as_of_field: Some(case_field::APPLICATION_DATE),
        },
        params: vec![Param {
            name: "poverty_line".to_string(),
            ty: Type::Money,
            source: Some("MTSZN order No 160".to_string()),
            values: vec![
                ParamValue {
                    from: date(2024, 1, 1),
                    value: money("30385"),
                    source: None,
                },
                ParamValue {
                    from: date(2025, 1, 1),
                    value: money("32360"),
                    source: Some("order No 473".to_string()),
                },
            ],
            valid_until: None,
            note: None,
        }],
        tables: vec![],
        calendars: vec![Calendar {
            name: "kz_working_days".to_string(),
            source: Some("Labour Code art. 84".to_string()),
            years: vec![CalendarYear {
                year: 2025,
                non_working: vec![
                    date(2025, 3, 10),
                    date(2025, 3, 21),
                    date(2025, 3, 24),
                    date(2025, 3, 25),
                ],
                working: vec![date(2025, 1, 5)],
            }],
        }],
        bands: vec![],
        items: vec![],
        groups: vec![],
        outputs: vec![],
        checks: vec![],
        labels: Default::default(),
    }
}

pub fn item(name: &str, kind: ItemKind, ty: Type, body: Expr) -> Item {
    Item {
        name: name.to_string(),
        kind,
        ty,
        params: vec![],
        locals: 4,
        body: Body::Expr(body),
        source: None,
        messages: Messages::default(),
        module: 0,
        doc: None,
        messages_not: Messages::default(),
        note: None,
    }
}

pub fn output(name: &str, ty: Type, expr: Expr) -> Output {
    Output {
        name: name.to_string(),
        ty,
        expr,
        module: 0,
        payments: vec![],
    }
}

/// A valid case with two members.
pub const CASE_JSON: &str = r#"{"case_id": "c1", "application_date": "2025-03-12", "region": "aktobe",
  "members": [
    {"id": "m1", "birth_date": "1990-05-14", "sex": "female", "incomes": [{"month": "2024-11", "amount": "28238.37"}, {"month": "2024-12", "amount": 100}]},
    {"id": "m2", "birth_date": "2008-02-29", "sex": "male", "disability_group": 2}
  ],
  "income": 427210.66}"#;

pub fn engine(policy: Policy) -> Engine {
    Engine::new(policy).unwrap()
}

/// Evaluates `expr` (of type `ty`) as the only output of the base policy, on [`CASE_JSON`].
pub fn eval_expr(expr: Expr, ty: Type) -> CaseOutcome {
    let mut policy = base_policy();
    policy
        .items
        .push(item("subject", ItemKind::Definition, ty.clone(), expr));
    policy.outputs.push(output("result", ty, Expr::Item(0)));
    engine(policy).evaluate_json(CASE_JSON, &EvalOptions::default())
}

/// The JSON text of the output of [`eval_expr`], or `error <code>`.
///
/// Every expression is evaluated three ways: by the engine as embedders call it (the compiled
/// evaluator, the interpreter when it gives up), by the interpreter alone, and with a trace (the
/// interpreter). All three must agree, and the compiled evaluator must finish every expression
/// that has a value on its own, so that each row tests both evaluators.
pub fn eval_text(expr: Expr, ty: Type) -> String {
    eval_text_in(base_policy(), expr, ty)
}

/// [`eval_text`] in another policy than the base one (with its own tables, bands or items);
/// the expression becomes the policy's last item.
pub fn eval_text_in(mut policy: Policy, expr: Expr, ty: Type) -> String {
    let subject = policy.items.len() as u32;
    policy
        .items
        .push(item("subject", ItemKind::Definition, ty.clone(), expr));
    policy
        .outputs
        .push(output("result", ty, Expr::Item(subject)));
    let engine = engine(policy);
    let text = |outcome: Result<ereje_runtime::Decision, ereje_runtime::CaseError>| match outcome {
        Ok(decision) => decision.output_json("result").unwrap().to_string(),
        Err(failure) => format!("error {}", failure.code),
    };
    let case = engine.read_case(CASE_JSON).unwrap();
    let plain = EvalOptions::default();
    let traced = EvalOptions {
        trace: true,
        ..EvalOptions::default()
    };
    let mut scratch = ereje_runtime::Scratch::default();
    let compiled = text(engine.evaluate_with(&case, &plain, &mut scratch));
    let interpreted = text(engine.evaluate_interpreted(&case, &plain, &mut scratch));
    let with_trace = text(engine.evaluate_with(&case, &traced, &mut scratch));
    assert_eq!(
        compiled, interpreted,
        "the compiled evaluator and the interpreter disagree"
    );
    assert_eq!(
        compiled, with_trace,
        "evaluation with and without a trace disagree"
    );
    if !compiled.starts_with("error ") {
        assert!(
            engine.compiled_evaluates(&case, &plain),
            "the compiled evaluator gave up on an expression that has a value: {compiled}"
        );
    }
    compiled
}

/// Checks a list of (expression, type, expected JSON text or `error <code>`) rows; reports every
/// failing row at once.
pub fn check(rows: Vec<(&str, Expr, Type, &str)>) {
    let mut failures = Vec::new();
    for (label, expr, ty, expected) in rows {
        let actual = eval_text(expr, ty);
        if actual != expected {
            failures.push(format!("{label}: expected {expected}, got {actual}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Re-indents one line of JSON, keeping its key order (for readable snapshots).
pub fn pretty_json(compact: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut characters = compact.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(character) = characters.next() {
        if in_string {
            out.push(character);
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '"' {
                in_string = false;
            }
            continue;
        }
        match character {
            '"' => {
                in_string = true;
                out.push(character);
            }
            '{' | '[' => {
                out.push(character);
                if matches!(characters.peek(), Some('}') | Some(']')) {
                    out.push(characters.next().unwrap());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(character);
            }
            ',' => {
                out.push(character);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            other => out.push(other),
        }
    }
    out
}
