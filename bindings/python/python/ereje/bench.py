"""The package's benchmark: ``python -m ereje.bench --policy-dir policies/kz --ereje target/release/ereje``.

Prints cases per second of ``evaluate_many`` and ``evaluate_frame`` on generated families
(1 and 2 threads), the same cases through ``ereje batch`` (the overhead of the package over
the binary), and a Dask LocalCluster of 2 worker processes on a larger population. The figures
and the command that reproduced them are in BENCHMARKS.md. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time

from . import Policy, _native
from .frames import cases_to_frame


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10.0f} cases/s ({seconds:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policy-dir", default="policies/kz")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ereje", help="the ereje binary, for the overhead over `ereje batch`")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each figure; the best is printed")
    parser.add_argument("--dask-cases", type=int, default=0, help="families for the Dask figure (0: skip)")
    arguments = parser.parse_args()

    policy = Policy.load(arguments.policy_dir)
    text = _native.generate(arguments.cases, arguments.seed)
    lines = text.splitlines()
    print(f"{len(lines)} generated families (seed {arguments.seed}), policy {policy.label}")
    print("load average at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "cases.jsonl")
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)

        def batch(threads: int) -> tuple:
            """Wall-clock and processor seconds (user and system) of ``ereje batch``."""
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([arguments.ereje, "batch", arguments.policy_dir, path, "--threads",
                            str(threads), "-o", os.devnull], check=True, capture_output=True)
            seconds = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            return seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime

        def many(threads: int) -> tuple:
            """Wall-clock and processor seconds of this process (all its threads)."""
            processor = time.process_time()
            started = time.perf_counter()
            count = sum(1 for _ in policy.evaluate_many(lines, threads=threads))
            assert count == len(lines)
            return time.perf_counter() - started, time.process_time() - processor

        def many_lines(threads: int) -> float:
            started = time.perf_counter()
            count = len(policy._engine.evaluate_lines(lines, threads))
            assert count == len(lines)
            return time.perf_counter() - started

        # Each figure is the best of `--rounds`; with `--ereje`, `ereje batch` runs right
        # before `evaluate_many` in every round, so that the ratio compares runs of the same
        # minute on a shared host. The processor time (all threads, user and system) is the
        # figure least moved by other work on the host.
        inf = float("inf")
        for threads in (1, 2):
            best_many = best_batch = (inf, inf)
            for _ in range(arguments.rounds):
                if arguments.ereje:
                    best_batch = tuple(map(min, best_batch, batch(threads)))
                best_many = tuple(map(min, best_many, many(threads)))
            print(f"evaluate_many,  {threads} thread(s): {_rate(len(lines), best_many[0])}; "
                  f"processor {best_many[1] / len(lines) * 1e6:.2f} us a case")
            if arguments.ereje:
                print(f"ereje batch,    {threads} thread(s): {_rate(len(lines), best_batch[0])}; "
                      f"processor {best_batch[1] / len(lines) * 1e6:.2f} us a case; "
                      f"evaluate_many takes {best_many[0] / best_batch[0]:.2f}x its time "
                      f"({best_many[1] / best_batch[1]:.2f}x its processor time)")
        for threads in (1, 2):
            seconds = min(many_lines(threads) for _ in range(arguments.rounds))
            print(f"evaluate_lines, {threads} thread(s): {_rate(len(lines), seconds)} "
                  f"(batch's lines, no Python objects)")
    frame = cases_to_frame(lines)
    print(f"frame: {frame.shape[0]} rows x {frame.shape[1]} columns (CSV layout)")
    for threads in (1, 2):
        seconds = float("inf")
        for _ in range(arguments.rounds):
            started = time.perf_counter()
            result = policy.evaluate_frame(frame, threads=threads)
            seconds = min(seconds, time.perf_counter() - started)
        print(f"evaluate_frame, {threads} thread(s): {_rate(len(result), seconds)}")
    if arguments.dask_cases:
        from dask.distributed import Client, LocalCluster

        from .dask import evaluate_bag, load_on_worker

        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "population.jsonl")
            with open(path, "w", encoding="utf-8") as file:
                file.write(_native.generate(arguments.dask_cases, arguments.seed))
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as cluster, Client(cluster) as client:
                # Warm up: each worker compiles the policy once.
                client.run(load_on_worker, arguments.policy_dir)
                started = time.perf_counter()
                bag = evaluate_bag(arguments.policy_dir, path, partitions=32)
                count = client.compute(bag.count()).result()
                seconds = time.perf_counter() - started
            print(f"dask, 2 workers:            {_rate(count, seconds)}")
    print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
