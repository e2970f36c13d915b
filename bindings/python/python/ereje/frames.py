"""pandas and Polars frames in and out of the engine."""

from __future__ import annotations

from typing import Any, Optional


def _kind(frame: Any) -> str:
    module = type(frame).__module__
    if module.startswith("polars"):
        return "polars"
    if module.startswith("pandas"):
        return "pandas"
    raise TypeError(f"evaluate_frame takes a pandas or Polars DataFrame, not {type(frame).__name__}")


def frame_of_columns(names: list, columns: list, kind: str) -> Any:
    """A frame of the given kind from column names and one list per column."""
    if kind == "polars":
        import polars

        return polars.DataFrame({name: column for name, column in zip(names, columns)}, strict=False)
    import pandas

    return pandas.DataFrame({name: column for name, column in zip(names, columns)}, columns=names)


def frame_of_rows(rows: list, names: list, kind: str) -> Any:
    return frame_of_columns(names, [[row[name] for row in rows] for name in names], kind)


def evaluate_frame(policy: Any, frame: Any, threads: Optional[int], as_of: Optional[str],
                   version: Optional[str]) -> Any:
    kind = _kind(frame)
    names = [str(name) for name in frame.columns]
    # Only the cells that are there cross into the engine: a frame in the CSV layout is nearly
    # all empty (a column for every member, income kind and month), and its empty cells (None,
    # NaN, NaT, pd.NA; Polars' null) are empty cells of the row whether given or not. A column
    # with a gap is given as its row numbers and their cells; a full column as its cells alone.
    positions = []
    cells = []
    for name in frame.columns:
        if kind == "polars":
            column = frame.get_column(name)
            present = column.is_not_null()
            if present.all():
                positions.append(None)
                cells.append(column.to_list())
            else:
                positions.append(present.arg_true().to_list())
                cells.append(column.filter(present).to_list())
        else:
            column = frame[name]
            present = column.notna().to_numpy()
            if present.all():
                positions.append(None)
                cells.append(column.tolist())
            else:
                positions.append(present.nonzero()[0].tolist())
                cells.append(column[present].tolist())
    engine = policy._engine
    columns = engine.evaluate_rows(names, cells, threads, as_of, version, positions, len(frame))
    return frame_of_columns(engine.output_columns(), columns, kind)


def _row_of_case(case: dict) -> dict:
    """One case dict in the CSV column layout (the README's table). Several deposits of a kind
    are one balance (their sum): the layout has one column for each kind."""
    row: dict = {}
    for field in ("case_id", "application_date", "region"):
        if case.get(field) is not None:
            row[field] = case[field]
    for field, value in (case.get("assets") or {}).items():
        row[field] = value
    for field, value in (case.get("social_contract") or {}).items():
        row[f"contract_{field}"] = value
    for field, value in (case.get("pilot") or {}).items():
        row[f"pilot_{field}"] = value
    bank = case.get("bank") or {}
    from decimal import Decimal

    for deposit in bank.get("deposits") or []:
        column = "mortgage_deposits" if deposit.get("mortgage") else "deposits"
        row[column] = str(Decimal(str(row.get(column, 0))) + Decimal(str(deposit.get("balance", 0))))
    for expense in bank.get("expenses") or []:
        row[f"expenses_{expense['month']}"] = expense.get("amount")
    for number, loan in enumerate(bank.get("loans") or [], start=1):
        for field, value in loan.items():
            row[f"loan{number}_{field}"] = value
    for number, purchase in enumerate(case.get("purchases") or [], start=1):
        for field, value in purchase.items():
            row[f"purchase{number}_{field}"] = value
    for number, member in enumerate(case.get("members") or [], start=1):
        for field, value in member.items():
            if field == "incomes":
                for income in value or []:
                    column = f"m{number}_income_{income['kind']}_{income['month']}"
                    row[column] = str(Decimal(str(row.get(column, 0))) + Decimal(str(income["amount"])))
            elif field == "consent":
                row[f"m{number}_consent"] = (value or {}).get("answer")
                if (value or {}).get("replied_on") is not None:
                    row[f"m{number}_consent_replied_on"] = value["replied_on"]
            else:
                row[f"m{number}_{field}"] = value
    return {name: (str(value).lower() if isinstance(value, bool) else value) for name, value in row.items()}


def cases_to_frame(cases: Any, kind: str = "pandas") -> Any:
    """Case dicts (or JSON texts) as a frame in the CSV column layout, one family per row:
    what ``evaluate_frame`` takes. Cells are text, empty where the case gives nothing."""
    import json

    rows = [_row_of_case(json.loads(case) if isinstance(case, str) else case) for case in cases]
    names: dict = {}
    for row in rows:
        for name in row:
            names.setdefault(name, None)
    columns = [[None if row.get(name) is None else str(row[name]) for row in rows] for name in names]
    return frame_of_columns(list(names), columns, kind)
