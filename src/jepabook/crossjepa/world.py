"""Chapter 4's world, built once before the sweep: in parts, in a pool, when there is one.

Explained in Chapter 4 (CrossJEPA). :func:`build_world` makes the student's world
(:func:`jepabook.crossjepa.shapes3d.make_world`), groups every cloud and takes every view's colour
histogram; :func:`labelled_views` renders the labelled teacher's own objects. Every object is drawn
from streams of its own (class, index), so a world is the same whichever ranges of objects are built
where: with a pool (local workers or any executor) each builds a range (:func:`world_part`), and the
ranges are joined class by class into exactly the arrays one process builds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from jepabook.core.parallel import run_tasks
from jepabook.crossjepa.groups import group_points
from jepabook.crossjepa.shapes3d import CLASSES, World, colour_histogram, make_world

__all__ = ["Built", "POOL_MIN_OBJECTS", "WORLD_PARTS", "build_world", "labelled_views", "pool_pays", "world_part"]


@dataclass
class Built:
    """The student's world, its grouped clouds and its views' colour histograms, with the seconds each took."""

    world: World
    groups: np.ndarray  # (n, G, K, 3)
    centres: np.ndarray  # (n, G, 3)
    colour: np.ndarray  # (n, V, 8) float32: the predictor's colour input
    timing: dict[str, float]


#: a pooled world is built in this many parts (at most): its objects are independent (each is drawn
#: from its own streams), so any split gives the same arrays, and small parts keep every worker busy
#: to the end (Chapter 4's world: 2560 objects, ~31 s on one core, and ~8 s of colour histograms)
WORLD_PARTS = 16

#: a world of fewer objects is built here unless an executor is already given: starting local workers
#: and importing MLX in them takes ~3-4 s, about what 300 objects take on one core (``ci``: 256)
POOL_MIN_OBJECTS = 1000


def pool_pays(n_per_class: int) -> bool:
    """Whether a world of ``n_per_class`` objects of each class is worth starting local workers for."""
    return n_per_class * len(CLASSES) >= POOL_MIN_OBJECTS


def world_part(config, count: int, first_index: int, for_student: bool) -> tuple[World, Built | None]:
    """A pool task: objects ``first_index .. first_index + count − 1`` of every class of ``config``'s
    world (:func:`~jepabook.crossjepa.shapes3d.make_world`) and, ``for_student``, what the student
    reads of them (a :class:`Built`: grouped clouds, colour histograms; every step per object)."""
    world = make_world(count, config.n_points, config.n_views, config.render_size, config.world_seed,
                       config.colour_bias, light=config.light, first_index=first_index)
    if not for_student:
        return world, None
    t0 = time.perf_counter()
    groups, centres = group_points(world.clouds, config.n_groups, config.group_size)
    t1 = time.perf_counter()
    colour = colour_histogram(world.renders).astype(np.float32)
    return world, Built(world, groups, centres, colour, {"grouping": t1 - t0,
                                                        "colour_histograms": time.perf_counter() - t1})


def _class_major(arrays: list[np.ndarray]) -> np.ndarray:
    """Class-major arrays of consecutive object ranges, joined class by class: the class-major array of
    the whole range."""
    if len(arrays) == 1:
        return arrays[0]
    k = len(CLASSES)
    return np.concatenate([a.reshape((k, -1) + a.shape[1:]) for a in arrays], axis=1).reshape(
        (-1,) + arrays[0].shape[1:])


def _join(worlds: list[World]) -> World:
    """The world of consecutive object ranges ``worlds`` (each class-major), as one :func:`make_world`
    call over the whole range builds it."""
    if len(worlds) == 1:
        return worlds[0]
    k = len(CLASSES)
    params = tuple(p for c in range(k) for w in worlds
                   for p in w.params[c * (len(w.labels) // k):(c + 1) * (len(w.labels) // k)])
    arrays = {f: _class_major([getattr(w, f) for w in worlds])
              for f in ("labels", "hues", "colours", "rotations", "clouds", "poses", "renders")}
    return World(params=params, **arrays)


def _world_in_parts(config, n_per_class: int, first_index: int, for_student: bool, workers: int | None,
                    executor) -> tuple[World, Built | None]:
    """:func:`world_part` over objects ``first_index ..`` (``n_per_class`` of each class): in up to
    :data:`WORLD_PARTS` pool tasks (``executor``, or ``workers`` local processes if :func:`pool_pays`),
    else here as one part. The same arrays either way; a :class:`Built`'s timings are summed over the parts."""
    pooled = executor is not None or ((workers or 1) > 1 and pool_pays(n_per_class))
    parts = min(WORLD_PARTS, n_per_class) if pooled else 1
    bounds = [first_index + n_per_class * i // parts for i in range(parts + 1)]
    tasks = [(config, b - a, a, for_student) for a, b in zip(bounds, bounds[1:])]
    if not pooled:
        return world_part(*tasks[0])
    outputs = run_tasks(world_part, tasks, workers=None if executor is not None else workers, executor=executor)
    world = _join([o[0] for o in outputs])
    if not for_student:
        return world, None
    built = [o[1] for o in outputs]
    return world, Built(world, *(_class_major([getattr(x, f) for x in built]) for f in ("groups", "centres", "colour")),
                        {k: sum(x.timing[k] for x in built) for k in built[0].timing})


def build_world(config, workers: int | None = 1, executor=None) -> Built:
    """The world of ``config`` (a :class:`jepabook.crossjepa.experiment.CrossJEPAConfig`), every cloud
    grouped and every view's colour histogram taken once: in parts in a pool (``workers`` local
    processes, or ``executor``), else here.

    Timing: ``world`` is the wall time of the whole build; ``grouping`` and ``colour_histograms`` the
    seconds those steps took inside it (summed over the parts when pooled).
    """
    t0 = time.perf_counter()
    built = _world_in_parts(config, config.n_per_class, 0, True, workers, executor)[1]
    built.timing = {"world": time.perf_counter() - t0, **built.timing}
    return built


def labelled_views(config, objects_per_class: int, workers: int | None = 1,
                   executor=None) -> tuple[np.ndarray, np.ndarray, str]:
    """The labelled teacher's own views ``(m·V, H, W, 3)``, their class labels and their world's fingerprint.

    Its objects are numbered after the student's (``first_index = n_per_class``) in the same draw and
    rendered the same way, so it never sees one of the student's objects. Built in parts in a pool
    (``workers``, ``executor``) as :func:`build_world` is.
    """
    own = _world_in_parts(config, objects_per_class, config.n_per_class, False, workers, executor)[0]
    return (own.renders.reshape((-1,) + own.renders.shape[2:]), np.repeat(own.labels, config.n_views),
            own.fingerprint())
