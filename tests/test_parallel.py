"""run_tasks through any concurrent.futures.Executor: a process pool, a Dask cluster; same bits as in-process."""

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
import multiprocessing as mp

import numpy as np
import pytest

from jepabook.core.parallel import run_tasks


@dataclass
class Drawn:
    seed: int
    values: np.ndarray
    total: float


def draw(seed: int, n: int) -> Drawn:
    """A seeded task that returns a dataclass holding a NumPy array (its result crosses processes pickled)."""
    values = np.random.default_rng(seed).normal(size=n)
    return Drawn(seed, values, float(values.sum()))


TASKS = [(seed, n) for seed, n in ((3, 5), (1, 7), (4, 2), (1, 5))]


def _same(got: list[Drawn], want: list[Drawn]) -> None:
    assert [g.seed for g in got] == [w.seed for w in want]
    for g, w in zip(got, want):
        assert g.values.tobytes() == w.values.tobytes() and g.total == w.total


def test_a_process_pool_gives_the_in_process_results_in_task_order():
    want = run_tasks(draw, TASKS, workers=1)
    with ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn")) as pool:
        got = run_tasks(draw, TASKS, executor=pool)
        assert run_tasks(draw, [], executor=pool) == []
    _same(got, want)
    _same(run_tasks(draw, TASKS, workers=2), want)  # the default local pool, unchanged


def test_a_task_that_fails_raises_its_error():
    with ThreadPoolExecutor(max_workers=2) as pool, pytest.raises(ValueError, match="negative"):
        run_tasks(draw, [(0, 3), (0, -1)], executor=pool)


@pytest.mark.parametrize("bad", [4, "dask", ProcessPoolExecutor])
def test_an_executor_that_is_not_one_is_refused_by_name(bad):
    with pytest.raises(ValueError, match=r"executor must be a concurrent\.futures\.Executor"):
        run_tasks(draw, TASKS, executor=bad)


def test_workers_and_executor_together_are_refused():
    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(ValueError, match="workers or executor"):
        run_tasks(draw, TASKS, workers=2, executor=pool)


def test_dask_executor_without_dask_says_how_to_install_it(monkeypatch):
    import sys

    from jepabook.core.parallel import dask_executor

    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(ImportError, match=r"pip install -e \.\[distributed\]"):
        dask_executor()


# ---- a real (local) Dask cluster: two single-threaded worker processes -------------------------

TINY = dict(steps=20, n_points=256)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        yield client


def _judged(run) -> list:
    """Each claim's and check's id, measured per-seed values and verdict."""
    return ([(c.claim.id, c.measured, c.verdict) for c in run.record.claims]
            + [(c.check.id, c.measured, c.status) for c in run.record.checks])


@pytest.mark.slow
def test_a_chapter_on_a_dask_cluster_gives_the_local_bits(dask_client):
    from jepabook import blas
    from jepabook.basics import experiment as basics

    # the workers run the same BLAS as this process (the package's start-up hook ran there too)
    backends = dask_client.run(lambda: __import__("jepabook").blas.info()["backend"])
    assert set(backends.values()) == {blas.info()["backend"]}

    local = basics.run("ci", "0,1", workers=1, **TINY)
    remote = basics.run("ci", "0,1", executor=dask_client.get_executor(), **TINY)
    assert remote.metrics == local.metrics  # every per-seed value, exactly
    assert _judged(remote) == _judged(local)
    for r, l in zip(remote.seeds, local.seeds):
        for arm in basics.ARMS:
            assert r.embeddings[arm].tobytes() == l.embeddings[arm].tobytes()

    # a Client itself is accepted too (used through its executor); the function must be importable
    # on the workers, which this test module is not, hence a builtin
    assert run_tasks(pow, [(2, 10), (3, 4)], executor=dask_client) == [1024, 81]


def test_dask_executor_connects_to_a_scheduler_and_leaves_the_cluster_running(dask_client):
    from jepabook.core.parallel import DaskExecutor, dask_executor

    with dask_executor(dask_client.scheduler.address) as ex:
        assert isinstance(ex, DaskExecutor) and ex.cluster is None
        assert run_tasks(pow, [(2, 3), (2, 4)], executor=ex) == [8, 16]
    assert ex.client.status == "closed"
    assert run_tasks(pow, [(2, 5)], executor=dask_client) == [32]  # the shared cluster is still up
    with pytest.raises(ValueError, match="only to a new local cluster"):
        dask_executor("tcp://scheduler:8786", n_workers=2)


def test_dask_executor_starts_and_closes_its_own_local_cluster():
    pytest.importorskip("distributed")
    from jepabook.core.parallel import dask_executor

    # threads in this process: quick to start; the options reach the LocalCluster
    with dask_executor(n_workers=1, processes=False, dashboard_address=":0") as ex:
        assert len(ex.client.scheduler_info()["workers"]) == 1
        assert run_tasks(pow, [(3, 2)], executor=ex) == [9]
    assert ex.cluster.status.name == "closed" and ex.client.status == "closed"
