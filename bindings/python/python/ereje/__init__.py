"""Ereje for Python: the engine itself (compiled Rust), not a wrapper around the ``ereje`` binary.

>>> import ereje
>>> policy = ereje.Policy.load("policies/kz")
>>> policy.evaluate({"case_id": "c1", ...})["outputs"]["asp"]["outcome"]
'granted'

See the package README for frames, what-ifs, impact reports and Dask.
"""

from __future__ import annotations

import datetime as _datetime
import decimal as _decimal
import itertools as _itertools
import json as _json
import os as _os
from typing import Any, Iterable, Iterator, Mapping, Optional, Union

from ._native import CaseError, Engine as _Engine, PolicyError, impact as _impact

__all__ = ["Policy", "Impact", "impact", "PolicyError", "CaseError"]

Case = Union[Mapping[str, Any], str]

#: Cases converted and handed to the engine at a time by ``evaluate_many``.
_CHUNK = 4096


def _json_default(value: Any) -> Any:
    if isinstance(value, _decimal.Decimal):
        return str(value)
    if isinstance(value, (_datetime.date, _datetime.datetime)):
        return value.isoformat()[:10]
    raise TypeError(f"{type(value).__name__} cannot be written in a case")


def case_json(case: Case) -> str:
    """The JSON text of a case given as a dict (Decimals and dates allowed) or as JSON text."""
    if isinstance(case, str):
        return case
    return _json.dumps(case, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def _date_text(date: Union[None, str, _datetime.date]) -> Optional[str]:
    if date is None or isinstance(date, str):
        return date
    return date.isoformat()[:10]


class Policy:
    """A compiled policy directory, ready to decide cases.

    Load with :meth:`Policy.load`; derive what-ifs with :meth:`with_parameters`.
    """

    def __init__(self, engine: _Engine) -> None:
        self._engine = engine

    @staticmethod
    def load(directory: Union[str, "_os.PathLike[str]"], version: Optional[str] = None) -> "Policy":
        """Compiles a policy directory; raises :class:`PolicyError` (with ``diagnostics``)."""
        return Policy(_Engine(_os.fspath(directory), version, []))

    def __reduce__(self):
        # Policies travel to Dask workers as their directory, version and what-ifs, and are
        # compiled again there (once per worker with :func:`ereje.dask.policy_on_worker`).
        return (_restore, (str(self._engine.directory), self._engine.version, self._engine.sets))

    def __repr__(self) -> str:
        return f"<ereje.Policy {self._engine.label}>"

    @property
    def label(self) -> str:
        """The label reports give the policy, e.g. ``kz 2025.1 (in force from 2025-01-01)``."""
        return self._engine.label

    @property
    def directory(self) -> str:
        return str(self._engine.directory)

    @property
    def versions(self) -> list:
        """Every version of the manifest: ``name``, ``status``, ``from``, ``source``."""
        return self._engine.versions()

    def parameters(self, date: Union[None, str, _datetime.date] = None, version: Optional[str] = None) -> dict:
        """The value of every parameter on ``date`` (today by default)."""
        return self._engine.parameters(_date_text(date or _datetime.date.today()), version)

    def with_parameters(self, values: Mapping[str, Any]) -> "Policy":
        """A what-if: the same policy with parameters set (``{"POVERTY_LINE_SHARE": "0.75"}``).

        A value may end with ``@YYYY-MM-DD`` to apply from that date only, as ``--set`` does.
        """
        sets = list(self._engine.sets) + [f"{name}={value}" for name, value in values.items()]
        return Policy(_Engine(self.directory, self._engine.version, sets))

    def with_version(self, version: str) -> "Policy":
        """The same directory (and what-ifs) with one version forced, e.g. ``2025.2-draft``."""
        return Policy(_Engine(self.directory, version, list(self._engine.sets)))

    def evaluate(self, case: Case, as_of=None, version: Optional[str] = None, trace: bool = False) -> dict:
        """The decision of one case; raises :class:`CaseError` when it cannot be decided."""
        return self._engine.evaluate(case_json(case), _date_text(as_of), version, trace)

    def explain(self, case: Case, lang: str = "ru", format: str = "text", as_of=None,
                version: Optional[str] = None, full: bool = False) -> Union[str, dict]:
        """The decision explained (``text`` and ``html``: a string; ``json``: a dict)."""
        text = self._engine.explain(case_json(case), lang, format, _date_text(as_of), version, full)
        return _json.loads(text) if format == "json" else text

    def evaluate_many(self, cases: Iterable[Case], threads: Optional[int] = None, as_of=None,
                      version: Optional[str] = None, trace: bool = False) -> Iterator[dict]:
        """Decisions of many cases, in input order; a case that cannot be decided gives its
        error line ``{"case_id", "error": {"code", "path", "message"}}`` instead."""
        iterator = iter(cases)
        as_of = _date_text(as_of)
        while True:
            chunk = [case if type(case) is str else case_json(case)
                     for case in _itertools.islice(iterator, _CHUNK)]
            if not chunk:
                return
            yield from self._engine.evaluate_many(chunk, threads, as_of, version, trace)

    def evaluate_frame(self, frame: Any, threads: Optional[int] = None, as_of=None,
                       version: Optional[str] = None) -> Any:
        """A pandas or Polars frame in the CSV column layout (one family per row) → a frame of
        the same kind with the outputs flattened to columns, in row order."""
        from . import frames

        return frames.evaluate_frame(self, frame, threads, _date_text(as_of), version)

    @property
    def output_columns(self) -> list:
        """The columns ``evaluate_frame`` gives."""
        return self._engine.output_columns()


def _restore(directory: str, version: Optional[str], sets: list) -> Policy:
    from . import dask as _dask

    return _dask.cached_policy(directory, version, tuple(sets))


class Impact:
    """What ``ereje diff --cases`` reports, as data (:attr:`report`), text and a frame."""

    def __init__(self, report: dict, text: str) -> None:
        self.report = report
        self.text = text

    def transitions(self, field: str = "asp/outcome") -> dict:
        """``{(old, new): number of cases}`` of a category field's changes."""
        return {(entry["old"], entry["new"]): entry["count"]
                for entry in self.report.get("transitions", []) if entry.get("field") == field}

    def newly(self, value: str = "granted", field: str = "asp/outcome") -> int:
        """How many cases have ``value`` in ``field`` under the new policy and not the old."""
        return sum(count for (old, new), count in self.transitions(field).items()
                   if new == value and old != value)

    def frame(self, kind: str = "pandas") -> Any:
        """One row per case whose category field changed: field, old, new, case_id."""
        rows = [
            {"field": entry["field"], "old": entry["old"], "new": entry["new"], "case_id": case_id}
            for entry in self.report.get("transitions", [])
            for case_id in entry.get("cases", [])
        ]
        from . import frames

        return frames.frame_of_rows(rows, ["field", "old", "new", "case_id"], kind)

    def __repr__(self) -> str:
        return self.text


def impact(old: Policy, new: Policy, cases: Iterable[Case], measure: Optional[str] = None,
           top: int = 10) -> Impact:
    """The impact of ``new`` over ``old`` on a population, as ``ereje diff --cases``."""
    text = "".join(case_json(case).replace("\n", " ") + "\n" for case in cases)
    report, readable = _impact(old._engine, new._engine, text, measure, top)
    return Impact(_json.loads(report, parse_float=_decimal.Decimal), readable)
