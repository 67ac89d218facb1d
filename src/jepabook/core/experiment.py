"""The one shape of a chapter run: pick profile → parse seeds → run tasks → measure → claims → record.

Every chapter's ``run(profile, seeds, progress, workers, executor, **overrides)`` is a call to
:func:`run_chapter` with its :class:`Chapter`: the profiles, a ``plan`` that lists independent tasks
(one top-level function and its argument tuples, so they can go to other processes or machines), and
a ``measure`` that turns the tasks' outputs into per-seed metrics. The claims module of the chapter
(``jepabook.<chapter>.claims``) exposes the same two functions everywhere:

- ``claims_for(config) -> list[Claim | Check]``;
- ``measured_for(item, result) -> dict[str, list[float]]``.

A claim whose metrics were not measured (its arms were not run) is reported as ``skipped``, by name.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from jepabook.core.claims import MissingMetric, judge
from jepabook.core.config import parse_seeds, pick_profile, published_seeds
from jepabook.core.parallel import run_tasks
from jepabook.core.progress import RunProgress, describe_task, progress_mode
from jepabook.core.results import ChapterRun

__all__ = ["Chapter", "ChapterResult", "Plan", "configure", "run_chapter"]


@dataclass
class ChapterResult:
    """What every chapter's ``run`` returns.

    Attributes:
        config: the configuration that ran.
        metrics: metric name → per-seed values, in seed order.
        record: the record written to ``results/`` (seeds, claims, checks, timings, platform).
    """

    config: Any
    metrics: dict[str, list[float]]
    record: ChapterRun | None = field(default=None, kw_only=True)

    def per_seed(self, name: str) -> list[float]:
        """The per-seed values of metric ``name``; :class:`MissingMetric` names what was measured."""
        if name not in self.metrics:
            raise MissingMetric([name], list(self.metrics))
        return self.metrics[name]


@dataclass
class Plan:
    """The independent tasks of a run: ``fn(*args)`` for each ``args`` (picklable, seeded inside),
    and whatever the chapter prepared once for all of them (``context``)."""

    fn: Callable
    tasks: list[tuple]
    context: Any = None
    timing_s: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Chapter:
    """A chapter's experiment: its key, profiles, how to plan the tasks and how to measure them.

    ``plan(config, seeds, progress, **extra) -> Plan``; ``measure(config, seeds, plan, outputs) ->
    ChapterResult`` (without ``record``, possibly a subclass with the chapter's own fields) and
    ``timing_s`` entries of its own in ``plan.timing_s``.
    """

    key: str
    profiles: Mapping[str, Any]
    plan: Callable[..., Plan]
    measure: Callable[..., ChapterResult]

    def claims_module(self):
        return importlib.import_module(f"jepabook.{self.key}.claims")


def configure(profiles: Mapping[str, Any], profile: str, overrides: Mapping[str, Any]):
    """The profile's config with ``overrides`` applied; unknown names are a clear error."""
    base = pick_profile(profiles, profile)
    names = {f.name for f in dataclasses.fields(base)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown config field(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(sorted(names))}")
    return dataclasses.replace(base, **overrides)


def run_chapter(chapter: Chapter, profile: str = "full", seeds=None, progress: bool | str | None = None,
                workers: int | None = None, executor: Executor | None = None, extra: Mapping | None = None,
                **overrides) -> ChapterResult:
    """Run ``chapter`` at ``profile`` over ``seeds`` (default: the profile's published seeds).

    ``overrides`` replace config fields; ``extra`` goes to the chapter's ``plan`` (e.g. teachers);
    ``executor`` (any :class:`concurrent.futures.Executor`) runs the tasks, else a local process pool
    of ``workers`` processes.

    ``progress`` (see :func:`jepabook.core.progress.progress_mode`; default automatic) shows one
    labelled count of finished tasks for the whole run, with elapsed time and time left: a bar on a
    terminal or in a notebook, a plain line per task in a log, nothing under papermill and nbval.
    The tasks themselves show nothing (their bars, one per worker, overwrote each other).
    """
    config = configure(chapter.profiles, profile, overrides)
    seed_list = parse_seeds(published_seeds(profile, chapter.key) if seeds is None else seeds)
    start = time.perf_counter()
    mode = progress_mode(progress)
    plan = chapter.plan(config, seed_list, False, **dict(extra or {}))
    t_tasks = time.perf_counter()
    label = f"{chapter.key} ({profile}, {len(seed_list)} seed{'s' * (len(seed_list) != 1)})"
    with RunProgress(label, len(plan.tasks), mode) as bar:
        outputs = run_tasks(plan.fn, plan.tasks, workers, executor=executor,
                            on_done=lambda i: bar.done(describe_task(plan.tasks[i])))
    t_measure = time.perf_counter()
    result = chapter.measure(config, seed_list, plan, outputs)
    module = chapter.claims_module()
    claims, checks = judge(module.claims_for(config), result, module.measured_for)
    timing = {"plan_wall": t_tasks - start, "tasks_wall": t_measure - t_tasks,
              "measure_wall": time.perf_counter() - t_measure, **plan.timing_s}
    result.record = ChapterRun(chapter.key, profile, seed_list, claims, checks, timing_s=timing,
                               config=dataclasses.asdict(config))
    return result
