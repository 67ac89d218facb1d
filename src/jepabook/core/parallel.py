"""Independent runs (one per seed, or per config) in parallel worker processes.

MLX's CPU backend runs a small model's step on one core, so on a 2-core machine two processes
nearly halve a chapter's wall time. Each task is a top-level function of picklable arguments and
seeds its own randomness, so the results do not depend on how tasks are spread over workers.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

__all__ = ["default_workers", "run_tasks"]


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


def run_tasks(fn: Callable, tasks: Sequence[tuple], workers: int | None = None, executor=None) -> list:
    """``[fn(*t) for t in tasks]``, computed in up to ``workers`` spawned processes, in task order.

    With one worker (or one task) everything runs in this process, which keeps tracebacks simple.
    """
    if executor is not None:
        return list(executor.map(fn, *zip(*tasks))) if tasks else []
    workers = default_workers() if workers is None else workers
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    workers = min(workers, len(tasks))
    if workers <= 1:
        return [fn(*t) for t in tasks]
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        return list(pool.map(fn, *zip(*tasks)))
