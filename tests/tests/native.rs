#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Native code: the kz policy set compiled to Rust (`policies/kz/native`, written by its build
//! script from the policy files) against the interpreter.
//!
//! Native code must serve every version of the manifest and every what-if of a parameter, and must give the
//! interpreter's decisions and traces byte for byte: on the contract examples, and on random
//! and broken cases in both versions, with and without a trace. It must also finish every
//! valid case without giving up, or the benchmark would measure the interpreter.

use std::path::PathBuf;

use ereje_compiler::versions::PolicyVersions;
use ereje_runtime::{Engine, EvalOptions};
use serde_json::json;

mod common;
use common::{random_case, Random};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// An engine of `policy` given the kz native code.
fn kz_engine(policy: ereje_runtime::ir::Policy) -> Engine {
    Engine::new(policy)
        .unwrap()
        .with_native_code(ereje_kz_native::POLICIES)
}

/// An engine for every version of the kz manifest, given the kz native code.
fn versions() -> Vec<(String, Engine)> {
    let versions = PolicyVersions::load(&repository().join("policies/kz")).unwrap();
    versions
        .versions
        .iter()
        .map(|version| {
            let compilation = versions.compile(version).unwrap();
            let policy = compilation.policy.expect("the version compiles");
            (version.name.clone(), kz_engine((*policy).clone()))
        })
        .collect()
}

#[test]
fn every_version_uses_native_code() {
    for (name, engine) in versions() {
        let native = engine
            .native_code()
            .unwrap_or_else(|| panic!("version {name} has no native code"));
        assert_eq!(native.version, name);
        // Without native code the same policy is evaluated by the closure evaluator.
        assert!(engine.without_native().native_code().is_none());
    }
}

/// What native code and the interpreter made of a set of cases.
#[derive(Default)]
struct Comparison {
    /// Readable cases compared, once without and once with a trace.
    compared: usize,
    /// Of those, the ones the interpreter decides (the others are its errors).
    valid: usize,
    /// Of those, the ones native code decided without giving up.
    native_alone: usize,
    disagreements: Vec<String>,
}

/// Compares what `engine` (native code) and the interpreter make of every case of `cases`, with
/// and without a trace: decisions and errors as JSON, and traces also as data (the nodes
/// explanations read).
fn check(name: &str, engine: &Engine, cases: &[String], comparison: &mut Comparison) {
    let mut scratch = ereje_runtime::Scratch::default();
    for trace in [false, true] {
        let options = EvalOptions {
            trace,
            ..EvalOptions::default()
        };
        for text in cases {
            let Ok(case) = engine.read_case(text) else {
                continue;
            };
            comparison.compared += 1;
            let (native, interpreted) = engine.evaluator_outcomes(&case, &options);
            if native != interpreted {
                comparison.disagreements.push(format!(
                    "{name}, trace {trace}: {text}\n  native:      {native}\n  interpreted: {interpreted}"
                ));
                continue;
            }
            let Ok(interpreted) = engine.evaluate_interpreted(&case, &options, &mut scratch) else {
                continue;
            };
            comparison.valid += 1;
            if engine.native_evaluates(&case, &options) {
                comparison.native_alone += 1;
            }
            if trace {
                let natively = engine.evaluate(&case, &options).unwrap();
                if format!("{:?}", natively.trace) != format!("{:?}", interpreted.trace) {
                    comparison
                        .disagreements
                        .push(format!("{name}: the trace nodes differ for {text}"));
                }
            }
        }
    }
}

/// [`check`] on every version of the kz manifest.
fn compare(cases: &[String]) -> Comparison {
    let mut comparison = Comparison::default();
    for (name, engine) in versions() {
        check(&format!("version {name}"), &engine, cases, &mut comparison);
    }
    comparison
}

#[test]
fn native_code_gives_the_interpreters_decisions_and_traces() {
    let mut random = Random(0x4E41_7449_5645_u64);
    let mut cases = Vec::new();
    for index in 0..700 {
        let case = random_case(&mut random, index);
        // Broken cases: a failed `check`, a failed field check, a date no parameter covers,
        // and a case before the policy is in force. Each must be the interpreter's error.
        let mut broken = case.clone();
        match index % 4 {
            0 => broken["members"][0]["birth_date"] = json!("2030-01-01"),
            1 => {
                broken["members"][0]["incomes"] =
                    json!([{"kind": "salary", "month": "2025-01", "amount": "-5"}])
            }
            2 => broken["application_date"] = json!("2027-03-01"),
            _ => broken["application_date"] = json!("2024-06-01"),
        }
        cases.push(case.to_string());
        cases.push(broken.to_string());
    }
    let Comparison {
        valid,
        native_alone,
        disagreements,
        ..
    } = compare(&cases);
    assert!(
        disagreements.is_empty(),
        "{} disagreements; the first:\n{}",
        disagreements.len(),
        disagreements.first().cloned().unwrap_or_default()
    );
    assert!(valid > 2000, "only {valid} cases had decisions");
    assert_eq!(
        native_alone,
        valid,
        "native code gave up on {} valid cases",
        valid - native_alone
    );
}

#[test]
fn native_code_decides_the_contract_examples_as_the_interpreter() {
    let cases: Vec<String> =
        std::fs::read_to_string(repository().join("../shared/contract/examples/cases.jsonl"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
    let Comparison {
        valid,
        native_alone,
        disagreements,
        ..
    } = compare(&cases);
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    assert!(valid > 0);
    assert_eq!(native_alone, valid);
}

#[test]
fn a_what_if_of_a_parameter_keeps_the_native_code() {
    for (name, engine) in versions() {
        let mut policy = engine.policy().clone();
        let change = ereje_runtime::whatif::Override::parse("POVERTY_LINE_SHARE=0.75").unwrap();
        ereje_runtime::whatif::apply(&mut policy, &[change]).unwrap();
        let what_if = kz_engine(policy);
        assert!(
            what_if.native_code().is_some(),
            "version {name}: a parameter's value is data, not shape"
        );
        let mut random = Random(7);
        for index in 0..200 {
            let case = what_if
                .read_case(&random_case(&mut random, index).to_string())
                .unwrap();
            let (native, interpreted) = what_if.evaluator_outcomes(&case, &EvalOptions::default());
            assert_eq!(native, interpreted);
        }
    }
}

#[test]
fn an_edited_rule_is_evaluated_without_native_code() {
    let mut workspace = ereje_compiler::Workspace::load(&repository().join("policies/kz")).unwrap();
    let text = workspace.file_text("welfare.ereje").unwrap().to_string();
    let edited = text.replace(
        "= if vehicles >= 2 then 10 else if vehicles == 1 then 4 else 0",
        "= if vehicles >= 3 then 10 else if vehicles >= 1 then 4 else 0",
    );
    assert_ne!(edited, text, "the edit applies");
    workspace.set_file_text("welfare.ereje", edited);
    let policy = workspace.compile().policy.unwrap();
    let engine = kz_engine((*policy).clone());
    assert!(
        engine.native_code().is_none(),
        "an edited rule changes the shape"
    );
    let case = engine
        .read_case(&random_case(&mut Random(3), 0).to_string())
        .unwrap();
    assert!(engine.evaluate(&case, &EvalOptions::default()).is_ok());
}

#[test]
fn an_engine_of_some_of_the_outputs_keeps_the_native_code() {
    for (name, engine) in versions() {
        // The `asp` output alone, and two outputs in the other order.
        for wanted in [vec!["asp"], vec!["local_support", "asp"]] {
            let mut policy = engine.policy().clone();
            policy.outputs = wanted
                .iter()
                .filter_map(|output| {
                    policy
                        .outputs
                        .iter()
                        .find(|declared| declared.name == *output)
                        .cloned()
                })
                .collect();
            let some = kz_engine(policy);
            assert!(
                some.native_code().is_some(),
                "version {name}, outputs {wanted:?}"
            );
            let mut random = Random(11);
            for index in 0..150 {
                let case = some
                    .read_case(&random_case(&mut random, index).to_string())
                    .unwrap();
                for trace in [false, true] {
                    let options = EvalOptions {
                        trace,
                        ..EvalOptions::default()
                    };
                    let (native, interpreted) = some.evaluator_outcomes(&case, &options);
                    assert_eq!(native, interpreted, "version {name}, outputs {wanted:?}");
                    if some
                        .evaluate_interpreted(&case, &options, &mut Default::default())
                        .is_ok()
                    {
                        assert!(some.native_evaluates(&case, &options));
                    }
                }
            }
        }
    }
}

#[test]
fn an_engine_not_given_native_code_evaluates_without_it() {
    for (name, engine) in versions() {
        let plain = Engine::new(engine.policy().clone()).unwrap();
        assert!(plain.native_code().is_none(), "version {name}");
        // A replica keeps the code its engine was given, and only that.
        assert!(engine.replica().unwrap().native_code().is_some());
        assert!(plain.replica().unwrap().native_code().is_none());
    }
}

#[test]
fn an_output_the_code_does_not_have_is_evaluated_without_native_code() {
    let (_, engine) = versions().remove(0);
    let mut policy = engine.policy().clone();
    if let Some(output) = policy.outputs.first_mut() {
        output.expr = ereje_runtime::ir::Expr::Const(ereje_runtime::value::Value::Bool(true));
        output.ty = ereje_runtime::ir::Type::Bool;
    }
    assert!(kz_engine(policy).native_code().is_none());
}

// ---------------------------------------------------------------------------------------------
// The fixture policy: every construct the emitter writes that the kz set does not use.

fn fixture() -> Engine {
    let directory = repository().join("tests/native_fixture/policy");
    let compilation = ereje_compiler::compile_dir(&directory).unwrap();
    assert_eq!(compilation.error_count(), 0);
    Engine::new((*compilation.policy.unwrap()).clone())
        .unwrap()
        .with_native_code(ereje_native_fixture::POLICIES)
}

/// A random case of the fixture's schema: dates on both sides of the parameters' changes and
/// the amendment's date, every kind of entry, absent and present optional fields.
fn fixture_case(random: &mut Random, index: usize) -> serde_json::Value {
    let day = |random: &mut Random| {
        let year = 2025 + random.below(2) as i32;
        let month = 1 + random.below(12) as u32;
        let day = 1 + random.below(28) as u32;
        format!("{year:04}-{month:02}-{day:02}")
    };
    let on = day(random);
    let mut people = Vec::new();
    for p in 0..1 + random.below(5) {
        let born = format!(
            "{:04}-{:02}-{:02}",
            1950 + random.below(74),
            1 + random.below(12),
            1 + random.below(28)
        );
        let born = if random.chance(5) {
            "2000-02-29".to_string()
        } else {
            born
        };
        let mut person = json!({ "id": format!("p{}", p + 1), "born": born });
        if random.chance(70) {
            person["level"] = json!(1 + random.below(3));
        }
        if random.chance(80) {
            person["score"] = json!(random.below(60) as i64 - 10);
        }
        if random.chance(70) {
            person["share"] =
                json!(["0.1", "0.25", "0.5", "0.51", "0.75", "1"][random.below(6) as usize]);
        }
        let mut entries = Vec::new();
        for _ in 0..random.below(4) {
            let kind = ["alpha", "beta", "gamma"][random.below(3) as usize];
            let mut entry = json!({
                "kind": kind,
                "month": format!("2025-{:02}", 1 + random.below(12)),
                "amount": random.money(900),
            });
            if random.chance(30) {
                entry["note"] = json!("n");
            }
            entries.push(entry);
        }
        person["entries"] = json!(entries);
        if random.chance(60) {
            let tags: Vec<String> = (0..random.below(3)).map(|t| format!("t{t}")).collect();
            person["tags"] = json!(tags);
        }
        people.push(person);
    }
    let mut case = json!({ "case_id": format!("f{index}"), "on": on, "people": people });
    if random.chance(80) {
        case["place"] = json!(["north", "south", "east", "3"][random.below(4) as usize]);
    }
    if random.chance(60) {
        let label = ["heavy", "light"][random.below(2) as usize];
        let mut extra = json!({ "label": label });
        if random.chance(50) {
            extra["weight"] = json!(random.below(5));
        }
        case["extra"] = extra;
    }
    if random.chance(60) {
        case["limit"] = random.money(5000);
    }
    if random.chance(60) {
        let flags: Vec<bool> = (0..random.below(4)).map(|_| random.chance(50)).collect();
        case["flags"] = json!(flags);
    }
    case
}

#[test]
fn native_code_of_every_construct_gives_the_interpreters_decisions_and_traces() {
    let engine = fixture();
    assert!(engine.native_code().is_some());
    let mut random = Random(0xF1_C7);
    let mut cases = Vec::new();
    for index in 0..1500 {
        let mut case = fixture_case(&mut random, index);
        // Broken now and then: a failed check of a list, of the case, and a date no band or
        // parameter covers.
        match index % 10 {
            0 => case["people"][0]["born"] = json!("2027-01-01"),
            1 => case["limit"] = json!("2000000"),
            2 => case["on"] = json!("2024-06-01"),
            _ => {}
        }
        cases.push(case.to_string());
    }
    let mut comparison = Comparison::default();
    check("fixture", &engine, &cases, &mut comparison);
    let Comparison {
        compared,
        valid,
        native_alone: alone,
        disagreements,
    } = comparison;
    assert!(
        disagreements.is_empty(),
        "{} disagreements; the first:\n{}",
        disagreements.len(),
        disagreements.first().cloned().unwrap_or_default()
    );
    assert!(
        compared > 2500 && valid > 2000,
        "{compared} compared, {valid} valid"
    );
    assert_eq!(
        alone,
        valid,
        "native code gave up on {} valid cases",
        valid - alone
    );
}
