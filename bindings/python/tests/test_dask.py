"""A population partitioned across a Dask LocalCluster of 2 worker processes."""

from conftest import EXAMPLES, POLICY_DIR, run_cli


def test_dask_equals_ereje_batch_line_for_line(tmp_path):
    from dask.distributed import Client, LocalCluster

    from ereje.dask import evaluate_bag

    population = tmp_path / "cases.jsonl"
    lines = (EXAMPLES / "cases.jsonl").read_text(encoding="utf-8").splitlines() * 20
    population.write_text("\n".join(lines) + "\n", encoding="utf-8")
    batch = run_cli("batch", POLICY_DIR, population).splitlines()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, death_timeout=60) as cluster, Client(cluster, timeout=60) as client:
        bag = evaluate_bag(POLICY_DIR, population, partitions=6)
        result = client.compute(bag).result(timeout=120)
    assert list(result) == batch
