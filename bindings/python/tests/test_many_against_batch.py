"""evaluate_many's dicts against `ereje batch`'s lines, value for value and type for type.

The dicts are built from the engine's typed values with caches per batch (keys, texts,
Decimals, dates) and dict templates; this test reads every line `ereje batch` writes for a
generated population (and two broken lines), turns its JSON into what the package promises
(money and decimals as `decimal.Decimal`, dates as `datetime.date`) and requires the same dicts:
equal values, the same Python types, the same key order, and each Decimal with the very digits
(and scale) of the JSON text, so that a faster path cannot drift from the binary's output.
"""

import datetime
import decimal
import re

import json

import pytest

from conftest import POLICY_DIR, run_cli

DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FRACTION_TEXT = re.compile(r"-?[0-9]+/[0-9]+")


def typed(value):
    """A value of a decision line's outputs as the package gives it."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, str):
        if DECIMAL_TEXT.fullmatch(value):
            return decimal.Decimal(value)
        if DATE_TEXT.fullmatch(value):
            return datetime.date.fromisoformat(value)
    return value


def assert_same(actual, wanted, path):
    """Equal, of the same type, keys in the same order, Decimals with the same digits."""
    assert type(actual) is type(wanted), (path, actual, wanted)
    if isinstance(wanted, dict):
        assert list(actual) == list(wanted), path
        for key in wanted:
            assert_same(actual[key], wanted[key], f"{path}/{key}")
    elif isinstance(wanted, list):
        assert len(actual) == len(wanted), path
        for position, (got, item) in enumerate(zip(actual, wanted)):
            assert_same(got, item, f"{path}/{position}")
    elif isinstance(wanted, decimal.Decimal):
        assert str(actual) == str(wanted), (path, actual, wanted)
    else:
        assert actual == wanted, (path, actual, wanted)


def wanted_of(line):
    """A batch line as the dict evaluate_many gives for it."""
    data = json.loads(line)
    if "error" in data:
        return data
    return {
        "case_id": data["case_id"],
        "as_of": datetime.date.fromisoformat(data["as_of"]),
        "policy": data["policy"],
        "outputs": typed(data["outputs"]),
    }


@pytest.mark.parametrize("threads", [1, 2])
def test_every_generated_decision_equals_ereje_batch(policy, tmp_path, threads):
    from ereje import _native

    lines = _native.generate(600, 7).splitlines()
    # Two broken lines among them: their error dicts too, and their neighbours unchanged.
    lines[10] = "{not json"
    lines[300] = '{"case_id": "no-members"}'
    population = tmp_path / "cases.jsonl"
    population.write_text("\n".join(lines) + "\n", encoding="utf-8")
    batch = run_cli("batch", POLICY_DIR, population).splitlines()
    assert len(batch) == len(lines)
    many = list(policy.evaluate_many(lines, threads=threads))
    assert len(many) == len(batch)
    decided = 0
    for number, (got, line) in enumerate(zip(many, batch)):
        wanted = wanted_of(line)
        assert_same(got, wanted, f"line {number + 1}")
        decided += "outputs" in wanted
    # The population exercises the decisions, not only the error lines.
    assert decided >= len(lines) - 2
    # Money as Decimal, dates as dates: the conversion above must have typed something.
    assert any(isinstance(d["outputs"]["asp"]["monthly_total"], decimal.Decimal)
               for d in many if "outputs" in d)


def family(case_id, child_ids):
    """A family granted ASP with six children aged 1 to 6: `asp.child_supplements` is a map
    of six entries keyed by the children's ids, in the members' order."""
    births = ["2019-08-01", "2020-07-01", "2021-06-01", "2022-05-01", "2023-04-01", "2023-09-01"]
    members = [{"id": "p", "role": "applicant", "birth_date": "1990-01-01", "sex": "female",
                "employment": "not_working", "education": "secondary"}]
    members += [{"id": child_id, "role": "child", "birth_date": birth, "sex": "male"}
                for child_id, birth in zip(child_ids, births)]
    return json.dumps({"case_id": case_id, "application_date": "2025-06-19", "region": "almaty",
                       "members": members, "assets": {"housing_units": 1, "vehicles": 0},
                       "social_contract": {"signed": True}})


def test_maps_of_other_keys_in_one_batch_equal_ereje_batch(policy, tmp_path):
    """A map type's dict is copied from the last one of the same keys; maps of the same size
    with other keys, or the same keys in another order, must still come out as in the JSON."""
    ids = [f"a{number}" for number in range(1, 7)]
    lines = [family("first", ids), family("other-keys", [f"b{n}" for n in range(1, 7)]),
             family("reversed", ids[::-1]), family("first-again", ids),
             family("one-differs", ids[:5] + ["z"])]
    population = tmp_path / "cases.jsonl"
    population.write_text("\n".join(lines) + "\n", encoding="utf-8")
    batch = run_cli("batch", POLICY_DIR, population).splitlines()
    many = list(policy.evaluate_many(lines, threads=1))
    for number, (got, line) in enumerate(zip(many, batch)):
        assert_same(got, wanted_of(line), f"line {number + 1}")
        assert len(got["outputs"]["asp"]["child_supplements"]) == 6, got["outputs"]["asp"]
    assert list(many[2]["outputs"]["asp"]["child_supplements"]) == ids[::-1]
