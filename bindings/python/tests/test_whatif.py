"""What-if parameters and impact reports against `ereje diff --cases`."""

import decimal
import json

import ereje
from conftest import EXAMPLES, run_cli


def test_what_if_newly_granted_equals_cli(policy, cases):
    reform = policy.with_parameters({"POVERTY_LINE_SHARE": "0.9"})
    result = ereje.impact(policy, reform, [json.loads(line) for line in cases])
    cli = json.loads(run_cli("diff", policy.directory, policy.directory, "--set",
                             "POVERTY_LINE_SHARE=0.9", "--cases", EXAMPLES / "cases.jsonl",
                             "--format", "json"), parse_float=decimal.Decimal)
    newly_cli = sum(entry["count"] for entry in cli["transitions"]
                    if entry["field"] == "asp/outcome" and entry["new"] == "granted")
    assert newly_cli > 0
    assert result.newly("granted") == newly_cli
    assert result.report == cli
    assert len(result.frame()) == newly_cli


def test_draft_version_impact_equals_cli(policy):
    draft = policy.with_version("2025.2-draft")
    current = policy.with_version("2025.1")
    lines = (EXAMPLES / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    result = ereje.impact(current, draft, lines)
    cli = json.loads(run_cli("diff", f"{policy.directory}@2025.1", f"{policy.directory}@2025.2-draft",
                             "--cases", EXAMPLES / "cases.jsonl", "--format", "json"),
                     parse_float=decimal.Decimal)
    assert result.report == cli


def test_a_what_if_on_an_unknown_parameter_is_a_policy_error(policy):
    try:
        policy.with_parameters({"NO_SUCH_PARAMETER": "1"})
    except ereje.PolicyError as error:
        assert error.diagnostics[0]["code"] == "set::invalid"
    else:
        raise AssertionError("no PolicyError")
