"""Frames against `ereje batch` on the same rows written as CSV."""

import datetime
import decimal
import json

import pandas
import polars

from conftest import run_cli

ROWS = [
    {"case_id": "f1", "application_date": "2025-06-19", "region": "almaty_city", "housing_units": "1",
     "m1_role": "applicant", "m1_birth_date": "1990-02-01", "m1_sex": "female",
     "m1_employment": "not_working", "m1_education": "secondary",
     "m2_role": "child", "m2_birth_date": "2019-03-04", "m2_sex": "male",
     "m1_income_salary_2025-03": "40000", "m1_income_salary_2025-04": "40000"},
    {"case_id": "f2", "application_date": "2025-08-21", "housing_units": "2", "vehicles": "1",
     "m1_role": "applicant", "m1_birth_date": "1968-01-22", "m1_sex": "male",
     "m1_employment": "employed", "m1_education": "higher",
     "m1_income_salary_2025-05": "427210.66"},
    {"case_id": "f3-bad", "application_date": "2025-08-21",
     "m1_role": "applicant", "m1_birth_date": "1968-13-45", "m1_sex": "male"},
]


def frame():
    return pandas.DataFrame(ROWS)


def flatten(line, columns):
    """A batch line as the row evaluate_frame gives: money Decimal, dates dates, lists JSON."""
    data = json.loads(line, parse_float=decimal.Decimal)
    row = {}
    for column in columns:
        if column.startswith("error"):
            error = data.get("error") or {}
            row[column] = error.get(column.split(".")[1] if "." in column else "code")
            continue
        value = data
        for part in column.split("."):
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                break
        if column not in ("case_id", "as_of") and value is None and "outputs" in data:
            value = data["outputs"]
            for part in column.split("."):
                value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, (list, dict)):
            value = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        row[column] = value
    return row


def normal(value):
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (decimal.Decimal, int)) and not isinstance(value, bool):
        return decimal.Decimal(value).normalize()
    if isinstance(value, str):
        try:
            return decimal.Decimal(value).normalize()
        except decimal.InvalidOperation:
            return value
    if isinstance(value, (datetime.date, pandas.Timestamp)):
        return str(value)[:10]
    return value


def test_pandas_round_trip_against_batch_csv(policy, tmp_path):
    source = frame()
    path = tmp_path / "rows.csv"
    source.to_csv(path, index=False)
    lines = run_cli("batch", policy.directory, path, "--format", "csv").splitlines()
    result = policy.evaluate_frame(source)
    assert isinstance(result, pandas.DataFrame)
    assert list(result.columns) == policy.output_columns
    assert len(result) == len(lines) == len(ROWS)
    assert "asp.outcome" in result.columns and "welfare.category" in result.columns
    for position, line in enumerate(lines):
        wanted = flatten(line, policy.output_columns)
        got = result.iloc[position].to_dict()
        for column in policy.output_columns:
            assert normal(got[column]) == normal(wanted[column]), (position, column)
    assert result["error"].iloc[2] == "case.invalid_field" and pandas.isna(result["error"].iloc[0])


def test_polars_gives_the_same_rows(policy):
    from_pandas = policy.evaluate_frame(frame())
    from_polars = policy.evaluate_frame(polars.DataFrame([{name: row.get(name) for name in frame().columns} for row in ROWS]))
    assert isinstance(from_polars, polars.DataFrame)
    assert from_polars.columns == list(from_pandas.columns)
    for column in ["case_id", "asp.outcome", "asp.monthly_total", "welfare.category", "error"]:
        left = [normal(value) for value in from_pandas[column].tolist()]
        right = [normal(value) for value in from_polars.get_column(column).to_list()]
        assert left == right, column
