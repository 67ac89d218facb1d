"""Chapter 4's numbers for the prose, computed from a run (none in the notebook's cells).

Explained in Chapter 4 (CrossJEPA). The functions read a finished
:class:`~jepabook.crossjepa.experiment.CrossJEPARun` (its metrics, its prepared world and arrays) or
the measured step times; none trains anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import mlx.core as mx
import numpy as np
from mlx.utils import tree_flatten

from jepabook.core import streams
from jepabook.crossjepa.data import SweepData, class_share
from jepabook.crossjepa.experiment import CrossJEPAConfig, make_student

__all__ = ["PILOT_GATES", "cost_summary", "fresh_features", "headroom_table", "paired_gain", "pilot_rows", "probe_se",
           "spread_ratio", "student_parameters",
           "teacher_class_share", "teacher_table"]

Measured = Mapping[str, Sequence[float]]


def paired_gain(metrics: Measured, a: str, b: str) -> float:
    """Seed mean of the per-seed difference ``a − b`` (every arm of a seed shares its initialisation
    and batches, so the difference is paired)."""
    return float(np.mean(np.asarray(metrics[a], dtype=np.float64) - np.asarray(metrics[b], dtype=np.float64)))


def spread_ratio(features: np.ndarray) -> float:
    """How many times a feature's mean exceeds its spread across objects: mean |mean| over mean sd.

    ``features`` ``(n, d)``; per dimension the mean and the standard deviation over the ``n``
    objects, each averaged over the dimensions. A large ratio means most of the feature is shared by
    every object.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be (n >= 2, d); got shape {f.shape}")
    return float(np.abs(f.mean(0)).mean() / f.std(0).mean())


def student_parameters(config: CrossJEPAConfig, pose_dim: int, colour_dim: int, out_dim: int,
                       seed: int = 0) -> dict[str, int]:
    """Parameter counts of the student's encoder and predictor (``pose_dim`` and ``colour_dim`` side
    inputs, ``out_dim`` outputs)."""
    student = make_student(config, pose_dim, colour_dim, out_dim, mx.random.key(seed))
    count = lambda module: int(sum(v.size for _, v in tree_flatten(module.parameters())))  # noqa: E731
    return {"encoder": count(student.encoder), "predictor": count(student.predictor)}


def fresh_features(config: CrossJEPAConfig, data: SweepData, seed: int = 0) -> np.ndarray:
    """``(n, 2·width)`` global features of every object under a freshly initialised (untrained) student.

    The weights are the ones seed ``seed``'s arms start from (stream ``(seed, "init")``); the
    predictor's sizes do not enter the encoder's.
    """
    student = make_student(config, 4, 8, data.targets["default"].shape[-1], streams.key(seed, "init"))
    return np.array(student.encoder.features(mx.array(data.groups), mx.array(data.centres)))


def teacher_class_share(teacher, renders: np.ndarray, labels: np.ndarray, train: np.ndarray) -> float:
    """:func:`~jepabook.crossjepa.data.class_share` of ``teacher``'s embedding of every view, on the
    ``train`` objects; ``renders`` ``(n, V, H, W, 3)``, ``labels`` ``(n,)``."""
    n, v = renders.shape[:2]
    e = np.asarray(teacher.embed(renders.reshape((n * v,) + renders.shape[2:]))).reshape(n, v, -1)
    return class_share(e[train], labels[train])


def cost_summary(step_seconds: Mapping[str, float], dino_seconds_per_view: float, n_views: int) -> dict[str, float]:
    """The cost numbers the prose quotes: milliseconds per step of our student and of the laptop-size one,
    their ratio, and the minutes a DINOv2 pass over ``n_views`` views would take at the measured rate.

    ``step_seconds`` is :func:`jepabook.crossjepa.experiment.step_seconds`'s ``{"ours", "laptop size"}``.
    """
    ours, laptop = step_seconds["ours"], step_seconds["laptop size"]
    return {"step_ours_ms": 1000 * ours, "step_laptop_ms": 1000 * laptop, "step_ratio": laptop / ours,
            "dino_pass_min": dino_seconds_per_view * n_views / 60}


def probe_se(accuracies: Sequence[float], n_test: int) -> float:
    """Binomial standard error (points) of one seed's probe accuracy at the seeds' mean accuracy (%):
    ``100·√(p(1 − p)/n_test)`` — how much a seed's number moves from which held-out objects it scores."""
    if not (isinstance(n_test, int | np.integer) and n_test >= 1):
        raise ValueError(f"n_test must be a positive integer; got {n_test!r}")
    p = float(np.mean(accuracies)) / 100
    if not (0.0 <= p <= 1.0):
        raise ValueError(f"accuracies must be percentages in [0, 100]; mean {100 * p}")
    return 100 * float(np.sqrt(p * (1 - p) / n_test))


def teacher_table(decodability: Mapping[str, Mapping[str, float]], pixel_class_share: float,
                  roles: Mapping[str, str]) -> list[dict]:
    """One row per candidate teacher (its scores and its role, "" if none) and a last row for the pixel
    target itself (class share only: the other scores are the pixels', not a teacher's)."""
    role_of = {name: role for role, name in roles.items()}
    rows = [{"teacher": name, **dict(score), "role": role_of.get(name, "")} for name, score in decodability.items()]
    nan = float("nan")
    rows.append({"teacher": "pixel target (pooled pixels)", "class_share": float(pixel_class_share),
                 "class_acc": nan, "pose_r2": nan, "colour_r2": nan, "role": "objective baseline"})
    return rows


def headroom_table(metrics: Measured, seeds: Sequence[int], recipe: str = "cond_pose_colour") -> list[dict]:
    """Per seed: the untrained student, the recipe and the supervised ceiling (probe accuracy, %), the
    recipe's gain over untrained, the headroom (ceiling − untrained) and the share of it the recipe closed."""
    rows = []
    for i, seed in enumerate(seeds):
        u, r, c = (float(metrics[a][i]) for a in ("untrained", recipe, "ceiling"))
        rows.append({"seed": int(seed), "untrained": u, "recipe": r, "ceiling": c, "gain": r - u,
                     "headroom": c - u, "closed": (r - u) / (c - u) if c != u else float("nan")})
    return rows


#: the three gates a teacher must pass on held-out objects (issue 29), as the pilot records them
PILOT_GATES = ("class_acc_above_untrained", "class_share_above_pixels", "pose_r2_at_least_0.3")


def pilot_rows(record: Mapping) -> list[dict]:
    """One row per (world draw, candidate teacher) of a teacher pilot record
    (``benchmarks/pilot_crossjepa_teacher.py``): the teacher's single-view class accuracy against the
    untrained student's (seed mean), its class share against the pixel target's, its pose R², and
    whether it passed all three gates."""
    rows = []
    for draw in record["draws"]:
        untrained = float(np.mean(draw["arms"]["untrained"]["acc"]))
        for name, t in draw["teachers"].items():
            if name == "pixels":
                continue
            rows.append({"draw": draw["draw"], "teacher": t.get("label", name), "class_acc": t["class_acc"],
                         "untrained": untrained, "class_share": t["class_share"],
                         "pixel_share": draw["pixel_class_share"], "pose_r2": t["pose_r2"],
                         "passes": all(t["gates"][g] for g in PILOT_GATES)})
    return rows
