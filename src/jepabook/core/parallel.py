"""Independent runs (one per seed, or per config) in parallel worker processes, here or elsewhere.

MLX's CPU backend runs a small model's step on one core, so on a 2-core machine two processes
nearly halve a chapter's wall time. Each task is a top-level function of picklable arguments and
seeds its own randomness, so the results do not depend on how tasks are spread over workers, nor
on which :class:`concurrent.futures.Executor` runs them: the default local pool, one you pass, or a
Dask cluster (:func:`dask_executor`, with the ``distributed`` extra: ``pip install -e .[distributed]``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed

__all__ = ["DaskExecutor", "dask_executor", "default_workers", "run_tasks"]

_ALLOWED = ("a concurrent.futures.Executor (ProcessPoolExecutor, distributed.Client.get_executor(), "
            "jepabook.core.parallel.dask_executor()) or a distributed.Client")


def default_workers() -> int:
    """``$JEPABOOK_WORKERS`` if set; else 1 on a GPU (Metal runs one process's work in parallel
    already, and processes would share it), else the number of CPU cores."""
    env = os.environ.get("JEPABOOK_WORKERS")
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"JEPABOOK_WORKERS must be a positive integer; got {env!r}")
        return int(env)
    import mlx.core as mx

    if mx.default_device() == mx.gpu:
        return 1
    return os.cpu_count() or 1


def _as_executor(executor) -> Executor:
    """``executor`` itself, a Dask ``Client``'s executor, or a ValueError that says what is allowed."""
    distributed = sys.modules.get("distributed")  # a Client exists only if distributed was imported
    if distributed is not None and isinstance(executor, distributed.Client):
        return executor.get_executor(pure=False)
    if not isinstance(executor, Executor):
        raise ValueError(f"executor must be {_ALLOWED}; got {type(executor).__name__} {executor!r}")
    return executor


def run_tasks(fn: Callable, tasks: Sequence[tuple], workers: int | None = None, executor=None,
              on_done: Callable[[int], None] | None = None) -> list:
    """``[fn(*t) for t in tasks]``, in task order.

    ``on_done(i)`` is called in this process as each task ``i`` finishes, in the order they finish
    (what a progress display counts).

    With ``executor``, any :class:`concurrent.futures.Executor` (a ``ProcessPoolExecutor``, Dask's
    ``Client.get_executor()``, :func:`dask_executor`) or a ``distributed.Client``, every task is
    submitted there and ``workers`` must be left out; the executor is not shut down. Otherwise the
    tasks run in up to ``workers`` spawned local processes (default :func:`default_workers`); with
    one worker (or one task) everything runs in this process, which keeps tracebacks simple.
    Arguments and results cross process boundaries pickled, so ``fn`` must be importable where it
    runs (on a cluster: jepabook installed on the workers).
    """
    tasks = [tuple(t) for t in tasks]
    if executor is not None:
        executor = _as_executor(executor)
        if workers is not None:
            raise ValueError(f"pass workers or executor, not both (the executor decides how many "
                             f"run at once); got workers={workers!r}")
        return _gather([executor.submit(fn, *t) for t in tasks], on_done)
    workers = default_workers() if workers is None else workers
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    workers = min(workers, len(tasks))
    if workers <= 1:
        out = []
        for i, t in enumerate(tasks):
            out.append(fn(*t))
            if on_done is not None:
                on_done(i)
        return out
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        return _gather([pool.submit(fn, *t) for t in tasks], on_done)


def _gather(futures: list[Future], on_done: Callable[[int], None] | None = None) -> list:
    """The futures' results in order, calling ``on_done(i)`` as each finishes; on the first failure
    the rest are cancelled, then it is raised."""
    try:
        if on_done is not None:
            index = {id(f): i for i, f in enumerate(futures)}
            for f in as_completed(futures):
                f.result()  # a failure is raised here, as soon as it happens
                on_done(index[id(f)])
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        raise


class DaskExecutor(Executor):
    """A Dask client as a :class:`concurrent.futures.Executor`; :meth:`shutdown` also closes the
    client, and the :class:`~distributed.LocalCluster` if this executor started one.

    Every submission runs (``pure=False``), as in a process pool; ``client`` is the Dask client
    (its ``dashboard_link``, ``run`` and so on).
    """

    def __init__(self, client, cluster=None):
        self.client = client
        self.cluster = cluster
        self._executor = client.get_executor(pure=False)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._executor.shutdown(wait=wait and not cancel_futures)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client!r})"


def dask_executor(address: str | None = None, **cluster_options) -> DaskExecutor:
    """An executor on a Dask cluster: the scheduler at ``address`` (e.g. ``"tcp://scheduler:8786"``),
    or, if ``address`` is None, a new :class:`~distributed.LocalCluster` of :func:`default_workers`
    single-threaded worker processes (``cluster_options`` override its arguments).

    Use it as a context manager, or call ``shutdown()``, to close the client (and the local cluster).
    Workers must run the same pinned environment as this process (same constraints file, jepabook
    installed) for the results to be bit-identical; start them with one thread each
    (``dask worker ADDRESS --nthreads 1 --nworkers N``), since each task trains on one core.
    """
    try:
        import distributed
    except ImportError as e:
        raise ImportError("dask_executor needs Dask's distributed scheduler, which is an optional "
                          "extra: pip install -e .[distributed]") from e
    if address is None:
        options = dict(n_workers=default_workers(), threads_per_worker=1, processes=True)
        options.update(cluster_options)
        cluster = distributed.LocalCluster(**options)
        try:
            return DaskExecutor(distributed.Client(cluster), cluster)
        except BaseException:
            cluster.close()
            raise
    if cluster_options:
        raise ValueError(f"cluster options ({', '.join(sorted(cluster_options))}) apply only to a new "
                         f"local cluster (address=None); got address={address!r}")
    if not isinstance(address, str):
        raise ValueError(f"address must be a scheduler address such as 'tcp://scheduler:8786' or None; "
                         f"got {address!r}")
    return DaskExecutor(distributed.Client(address))
