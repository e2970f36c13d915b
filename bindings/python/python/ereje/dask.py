"""Scale-out on a Dask distributed cluster: each worker process compiles the policy once.

>>> from ereje.dask import evaluate_bag
>>> lines = evaluate_bag("policies/kz", "cases.jsonl", partitions=8).compute()  # with a Client, on its cluster

``lines`` are exactly the lines ``ereje batch`` writes for the same cases, in input order.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Iterable, List, Optional


@functools.lru_cache(maxsize=8)
def cached_policy(directory: str, version: Optional[str], sets: tuple) -> Any:
    """The policy, compiled once per process (a Dask worker keeps it for every partition)."""
    from . import Policy, _Engine

    return Policy(_Engine(directory, version, list(sets)))


def evaluate_partition(lines: Iterable[str], directory: str, version: Optional[str] = None,
                       sets: tuple = (), threads: Optional[int] = 1) -> List[str]:
    """Decides one partition of JSON lines on a worker; gives the output lines."""
    policy = cached_policy(directory, version, tuple(sets))
    return policy._engine.evaluate_lines([line.rstrip("\n") for line in lines], threads)


def load_on_worker(directory: str, version: Optional[str] = None, sets: tuple = ()) -> str:
    """Compiles the policy in this process (run it on every worker with ``client.run``)."""
    return cached_policy(os.path.abspath(directory), version, tuple(sets)).label


def evaluate_bag(directory: str, cases_path: str, partitions: int = 8,
                 version: Optional[str] = None, sets: tuple = (), threads: Optional[int] = 1) -> Any:
    """A Dask bag of the output lines of a JSON Lines file, partitioned across the cluster by
    byte ranges (each worker reads its own lines), in input order."""
    import dask.bag

    directory = os.path.abspath(directory)
    size = os.path.getsize(cases_path)
    blocksize = max(1, -(-size // max(1, partitions)))
    bag = dask.bag.read_text(os.path.abspath(str(cases_path)), blocksize=blocksize)
    return bag.map_partitions(evaluate_partition, directory, version, tuple(sets), threads)
