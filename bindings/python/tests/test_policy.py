"""Loading, evaluating, explaining and diagnostics."""

import datetime
import decimal
import json
import shutil

import pytest

import ereje
from conftest import POLICY_DIR


def plain(value):
    """A decision dict written back as JSON data (Decimals and dates as the JSON's strings)."""
    return json.loads(json.dumps(value, default=lambda v: str(v) if isinstance(v, decimal.Decimal) else v.isoformat()))


def test_every_public_example_equals_expected(policy, cases, expected):
    assert len(cases) == len(expected) > 0
    for line, wanted in zip(cases, expected):
        decision = policy.evaluate(json.loads(line))
        assert decision["case_id"] == wanted["case_id"]
        assert plain(decision)["as_of"] == wanted["as_of"]
        assert plain(decision["outputs"]) == wanted["outputs"], wanted["case_id"]


def test_money_is_decimal_and_dates_are_dates(policy, cases):
    decision = policy.evaluate(cases[0])
    asp = decision["outputs"]["asp"]
    assert isinstance(asp["monthly_total"], decimal.Decimal)
    assert isinstance(decision["as_of"], datetime.date)
    assert decision["policy"]["name"] == "kz"


def test_versions_and_parameters(policy):
    names = [version["name"] for version in policy.versions]
    assert names == ["2025.1", "2025.2-draft"]
    assert policy.versions[0]["from"] == datetime.date(2025, 1, 1)
    parameters = policy.parameters("2025-06-01")
    assert isinstance(parameters["POVERTY_LINE_SHARE"], decimal.Decimal)


def test_case_error_is_an_exception(policy):
    with pytest.raises(ereje.CaseError) as raised:
        policy.evaluate({"case_id": "bad", "application_date": "not a date", "members": []})
    assert raised.value.case_id == "bad"
    assert raised.value.code.startswith("case.")


def test_explain_in_three_formats(policy, cases):
    text = policy.explain(cases[0], lang="en")
    assert "c000000" in text
    assert policy.explain(cases[0], lang="ru", format="html").lstrip().lower().startswith("<!doctype html")
    assert isinstance(policy.explain(cases[0], format="json"), dict)


def test_trace(policy, cases):
    assert "trace" in policy.evaluate(cases[0], trace=True)
    assert "trace" not in policy.evaluate(cases[0])


def test_broken_policy_raises_every_diagnostic(tmp_path):
    broken = tmp_path / "kz"
    shutil.copytree(POLICY_DIR, broken, ignore=shutil.ignore_patterns("native", "tests"))
    module = broken / "asp.ereje"
    module.write_text(module.read_text(encoding="utf-8") + "\nrule BROKEN = UNKNOWN_NAME + 1\n", encoding="utf-8")
    with pytest.raises(ereje.PolicyError) as raised:
        ereje.Policy.load(broken)
    diagnostics = raised.value.diagnostics
    assert diagnostics, "the exception carries the diagnostics"
    first = diagnostics[0]
    assert first["severity"] == "error"
    assert first["file"].endswith("asp.ereje")
    assert first["line"] > 0 and first["code"] and first["message"]


def test_missing_directory_is_a_policy_error(tmp_path):
    with pytest.raises(ereje.PolicyError) as raised:
        ereje.Policy.load(tmp_path / "nowhere")
    assert raised.value.diagnostics[0]["code"]
