#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Edit sequences against a salsa workspace, asserting which queries re-ran: an edit inside one
//! rule re-checks that rule alone; a change to a signature re-checks its users.

use ereje_compiler::{Manifest, Workspace};

const CASE: &str = "module t.case
  version \"1\"
  in force from 2025-01-01

record Case { case_id: Text, application_date: Date, income: Money, members: Integer }
input case: Case id case_id as_of application_date
";

const RULES: &str = "module t.rules
  version \"1\"
  in force from 2025-01-01
  import t.case

parameter LINE: Money
  source \"order No 160\"
  from 2025-01-01 = 32360

def per_capita: Money = case.income / case.members

rule T-INCOME: Bool
  message ru \"доход\" message kk \"табыс\" message en \"income\"
  = per_capita >= LINE

rule T-SIZE: Bool
  message ru \"семья\" message kk \"отбасы\" message en \"family\"
  = case.members > 10

output result = { income: T-INCOME, size: T-SIZE }
";

fn workspace() -> Workspace {
    let manifest = Manifest {
        name: "t".into(),
        version: "1".into(),
        publisher: "tests".into(),
        modules: vec!["case.ereje".into(), "rules.ereje".into()],
    };
    Workspace::with_execution_log(
        manifest,
        vec![
            ("case.ereje".into(), CASE.into()),
            ("rules.ereje".into(), RULES.into()),
        ],
    )
}

/// The `check_item(…)` entries of the execution log, sorted.
fn checked_items(workspace: &Workspace) -> Vec<String> {
    let mut checked: Vec<String> = workspace
        .take_executions()
        .into_iter()
        .filter(|entry| entry.starts_with("check_item"))
        .collect();
    checked.sort();
    checked
}

fn check(workspace: &mut Workspace, edit: Option<(&str, &str)>, expected_rechecks: &[&str]) {
    if let Some((from, to)) = edit {
        let text = workspace
            .file_text("rules.ereje")
            .expect("rules.ereje")
            .replace(from, to);
        assert!(workspace.set_file_text("rules.ereje", text));
    }
    let compilation = workspace.compile();
    assert_eq!(
        compilation.error_count(),
        0,
        "{}",
        ereje_compiler::render_human(&compilation.reports)
    );
    assert!(compilation.policy.is_some());
    let expected: Vec<String> = expected_rechecks
        .iter()
        .map(|name| format!("check_item({name})"))
        .collect();
    assert_eq!(checked_items(workspace), expected);
}

#[test]
fn an_edit_re_checks_only_what_it_touches() {
    let mut workspace = workspace();
    // The first compilation checks everything.
    check(
        &mut workspace,
        None,
        &[
            "Case",
            "LINE",
            "T-INCOME",
            "T-SIZE",
            "case",
            "per_capita",
            "result",
        ],
    );
    // Nothing changed: nothing re-runs.
    check(&mut workspace, None, &[]);
    // An edit inside one rule's body re-checks that rule only.
    check(
        &mut workspace,
        Some(("case.members > 10", "case.members > 12")),
        &["T-SIZE"],
    );
    // Adding lines above every item moves them all; their checks are reused all the same.
    check(
        &mut workspace,
        Some(("parameter LINE", "// a comment\n// another\nparameter LINE")),
        &[],
    );
    // A new parameter value changes the parameter alone: its users see the same signature.
    check(
        &mut workspace,
        Some((
            "from 2025-01-01 = 32360",
            "from 2025-01-01 = 32360\n  from 2026-01-01 = 35596",
        )),
        &["LINE"],
    );
    // A message edit re-checks its rule only.
    check(
        &mut workspace,
        Some(("message en \"income\"", "message en \"per-capita income\"")),
        &["T-INCOME"],
    );
}

#[test]
fn a_changed_signature_re_checks_its_users() {
    let mut workspace = workspace();
    workspace.compile();
    workspace.take_executions();
    // `per_capita` becomes a Decimal: it and its user `T-INCOME` are checked again, and the
    // mismatch (Decimal against Money) is reported.
    let text = workspace
        .file_text("rules.ereje")
        .expect("rules.ereje")
        .replace(
            "def per_capita: Money = case.income / case.members",
            "def per_capita: Decimal = decimal(case.income) / case.members",
        );
    workspace.set_file_text("rules.ereje", text);
    let compilation = workspace.compile();
    assert!(compilation
        .reports
        .iter()
        .any(|r| r.diagnostic.code == "type.mismatch"));
    assert_eq!(
        checked_items(&workspace),
        vec![
            "check_item(T-INCOME)".to_string(),
            "check_item(per_capita)".to_string()
        ]
    );
}
