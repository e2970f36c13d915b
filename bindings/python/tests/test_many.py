"""evaluate_many: input order, errors as values, threads, the GIL released."""

import json
import threading

from conftest import EXAMPLES, run_cli


def test_errors_are_values_and_neighbours_unchanged(policy, cases):
    alone = [policy.evaluate(line) for line in cases[:3]]
    mixed = list(policy.evaluate_many([cases[0], "{not json", cases[1], "", cases[2]]))
    assert len(mixed) == 5
    assert mixed[0] == alone[0] and mixed[2] == alone[1] and mixed[4] == alone[2]
    assert mixed[1]["error"]["code"] == "case.invalid_json"
    assert mixed[3]["error"]["code"] == "case.empty_line"


def test_input_order_and_threads_agree(policy, cases):
    many = cases * 40
    one = list(policy.evaluate_many(iter(many), threads=1))
    two = list(policy.evaluate_many((json.loads(line) for line in many), threads=2))
    assert one == two
    assert [d["case_id"] for d in one] == [json.loads(line)["case_id"] for line in many]


def test_lines_equal_ereje_batch(policy, cases):
    batch = run_cli("batch", policy.directory, EXAMPLES / "cases.jsonl").splitlines()
    assert policy._engine.evaluate_lines(cases, 2) == batch


def test_the_gil_is_released(policy, cases):
    """Another Python thread runs while the engine decides."""
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    before = len(ticks)
    policy._engine.evaluate_many(cases * 400, 1, None, None, False)
    during = len(ticks) - before
    stop.set()
    ticker.join()
    assert during > 0
