"""Chapter 4's data side: the world, the one-time teacher pass, and how each teacher is scored.

Explained in Chapter 4 (CrossJEPA); :mod:`jepabook.crossjepa.experiment` trains on what :func:`prepare` returns.

- :func:`prepare` builds the world (:mod:`jepabook.crossjepa.world`), groups every cloud once, runs every
  candidate teacher once over every view through the disk cache (:func:`jepabook.crossjepa.teachers.embed_cached`)
  and scores it (:func:`decodability`).
- Every candidate is scored by the share of its variance between class means (:func:`class_share`:
  under a squared-error loss, how much of the student's training signal is about what the object
  is) and by how linearly decodable class, pose and colour are (:func:`decodability`). The roles are
  fixed by the configuration, not by the scores: the *default* teacher (the self-trained LeJEPA ViT,
  :mod:`jepabook.crossjepa.vit_teacher`, or DINOv2 when given) and the *second* teacher of the
  extension row (the same ViT untrained). A teacher that must be trained (it has ``bind``) is bound
  to the training objects' views first, so it never sees a held-out object.
- :class:`SweepData` is all training and probing read: arrays only, no teacher. Every teacher is
  wrapped in a :class:`CountingTeacher`, so a run can show the sweep never called one.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import numpy as np

from jepabook.core import streams
from jepabook.core.parallel import run_tasks
from jepabook.blocks.probes import linear_accuracy, linear_r2
from jepabook.crossjepa.shapes3d import World, pose_features
from jepabook.crossjepa.world import Built, build_world, labelled_views
from jepabook.crossjepa.teachers import CacheInfo, PixelTeacher, RandomConvTeacher, avg_pool, cache_path, embed_cached

__all__ = ["LABELLED_TEACHERS", "OFFLINE_TEACHERS", "TRAINED_TEACHERS", "Built", "CountingTeacher", "Prepared",
           "SweepData", "build_world", "candidate_teachers", "class_share", "decodability", "labelled_views", "prepare",
           "stratified_split"]

OFFLINE_TEACHERS = {"random-conv": RandomConvTeacher,
                    "random-conv-grey": lambda: RandomConvTeacher(grey=True, name="random-conv-grey"),
                    "pixels": PixelTeacher}


#: teachers built from the chapter's own renders (:class:`jepabook.crossjepa.vit_teacher.ViTTeacher`):
#: trained by LeJEPA, and the same network at its initialisation
TRAINED_TEACHERS = ("lejepa", "lejepa-init")

#: the teacher trained with class labels on renders of its own objects
#: (:class:`jepabook.crossjepa.label_teacher.LabelledTeacher`)
LABELLED_TEACHERS = ("labelled",)


def candidate_teachers(names: tuple[str, ...], dinov2_path: str | None = None, spec=None, labelled_spec=None) -> dict:
    """Teacher objects by name; ``dinov2-small`` needs ``dinov2_path`` (a local safetensors file);
    ``lejepa`` / ``lejepa-init`` use ``spec`` (a :class:`~jepabook.crossjepa.vit_teacher.TeacherSpec`;
    ``lejepa-init`` with ``steps=0``)."""
    out = {}
    for name in names:
        if name in TRAINED_TEACHERS:
            from dataclasses import replace

            from jepabook.crossjepa.vit_teacher import TeacherSpec, ViTTeacher

            spec = spec or TeacherSpec()
            out[name] = ViTTeacher(spec if name == "lejepa" else replace(spec, steps=0), name=name)
        elif name in LABELLED_TEACHERS:
            from jepabook.crossjepa.label_teacher import LabelledSpec, LabelledTeacher

            out[name] = LabelledTeacher(labelled_spec or LabelledSpec(), name=name)
        elif name == "dinov2-small":
            if not dinov2_path:
                raise ValueError("teacher 'dinov2-small' needs a local checkpoint: set JEPABOOK_DINOV2 to the path "
                                 "of facebook/dinov2-small's model.safetensors (nothing is downloaded)")
            from jepabook.crossjepa.dinov2 import DinoV2Teacher

            out[name] = DinoV2Teacher(dinov2_path)
        else:
            out[name] = OFFLINE_TEACHERS[name]()
    return out


class CountingTeacher:
    """Wraps a teacher and counts calls to ``embed``: how the chapter shows training never calls it."""

    def __init__(self, teacher):
        self.teacher, self.calls = teacher, 0
        self.name = teacher.name

    def fingerprint(self) -> str:
        return self.teacher.fingerprint()

    def embed(self, images: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.teacher.embed(images)

    @property
    def train_seconds(self) -> float:
        return float(getattr(self.teacher, "train_seconds", 0.0))

    def __getattr__(self, attr):  # bind() and anything else a teacher offers
        if attr == "teacher":
            raise AttributeError(attr)
        return getattr(self.teacher, attr)


@dataclass
class SweepData:
    """The arrays training and probing read (no teacher in here: only its cached embeddings)."""

    labels: np.ndarray  # (n,)
    train: np.ndarray  # object indices
    test: np.ndarray
    groups: np.ndarray  # (n, G, K, 3)
    centres: np.ndarray  # (n, G, 3)
    pose: np.ndarray  # (n, V, 4)
    colour: np.ndarray  # (n, V, 8)
    targets: dict[str, np.ndarray]  # "default" / "second" / "pixels" → (n, V, d), standardised


def stratified_split(labels: np.ndarray, test_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class, ``test_per_class`` random objects held out for the probe; the rest train (stream ``(seed, "split")``)."""
    rng = streams.rng(seed, "split")
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:test_per_class] for c in np.unique(labels)])
    return np.setdiff1d(np.arange(len(labels)), test), np.sort(test)


def _standardise(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    mu, sd = x[train].mean(axis=(0, 1)), x[train].std(axis=(0, 1))
    return ((x - mu) / np.where(sd > 1e-8, sd, 1.0)).astype(np.float32)


def class_share(embeddings: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of the per-dimension standardised embeddings' variance that lies between class means.

    ``embeddings`` ``(n, V, d)``: 1 − Σ within-class variance / Σ total variance over all views. It is
    the share of a mean-squared-error target that is about the class: the part of the teacher's
    signal a student can only fit by knowing what the object is.
    """
    n, v, d = embeddings.shape
    x = embeddings.reshape(n * v, d).astype(np.float64)
    x = (x - x.mean(0)) / np.where(x.std(0) > 1e-12, x.std(0), 1.0)
    y = np.repeat(labels, v)
    within = sum(((x[y == c] - x[y == c].mean(0)) ** 2).sum() for c in np.unique(y))
    return float(1.0 - within / (x**2).sum())


def _hue_circle(hues: np.ndarray) -> np.ndarray:
    """Hues in [0, 1) as points ``(n, 2)`` on the colour circle, so red near 0 and near 1 agree."""
    return np.stack([np.cos(2 * np.pi * hues), np.sin(2 * np.pi * hues)], 1)


def decodability(embeddings: np.ndarray, labels: np.ndarray, pose: np.ndarray, hues: np.ndarray,
                 train: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """How linearly decodable class, camera pose and colour are from per-view ``embeddings`` ``(n, V, d)``.

    Class: the between-class share of the variance (:func:`class_share`, training objects) and the
    held-out accuracy (%) of a logistic-regression probe on single views; pose: held-out R² of
    the four sin/cos pose features; colour: held-out R² of the hue on the colour circle (cos, sin).
    Train and test are object splits, so no object is seen by both sides.
    """
    n, v, d = embeddings.shape
    flat = embeddings.reshape(n * v, d)
    view_train = (train[:, None] * v + np.arange(v)).ravel()
    view_test = (test[:, None] * v + np.arange(v)).ravel()
    hue = np.repeat(_hue_circle(hues), v, axis=0)
    return {"class_share": class_share(embeddings[train], labels[train]),
            "class_acc": 100 * linear_accuracy(flat, np.repeat(labels, v), view_train, view_test),
            "pose_r2": linear_r2(flat, pose.reshape(n * v, -1), view_train, view_test),
            "colour_r2": linear_r2(flat, hue, view_train, view_test)}


@dataclass
class Prepared:
    """The world, the teacher pass and the decodability scores: everything before the sweep."""

    data: SweepData
    world: World
    teachers: dict[str, str]  # role ("default", "second") → teacher name
    decodability: dict[str, dict[str, float]]
    cache: dict[str, CacheInfo]
    colour_only_acc: float
    timing: dict[str, float]
    pixel_class_share: float = float("nan")  # class_share of the pixel target (training objects)
    teacher_calls: dict[str, int] = field(default_factory=dict)


#: a teacher with at least this many training steps still to run sends the teacher phase to the pool
#: (Chapter 4's ViT teacher: 600 steps, ~110 s; starting two workers and sending them the views: ~8 s)
POOL_MIN_STEPS = 100


def _training_steps(teacher) -> int:
    spec = getattr(teacher, "spec", None)
    return int(getattr(spec, "steps", 0) or 0)


def teacher_pass(teacher, flat: np.ndarray, data_hash: str, views: tuple[int, int], labels: np.ndarray,
                 pose: np.ndarray, hues: np.ndarray, train: np.ndarray, test: np.ndarray):
    """One teacher's part of :func:`prepare` (a pool task): its embeddings of ``flat`` (trained first
    if it trains, or read from the cache), the :class:`CacheInfo`, its :func:`decodability` scores,
    and its ``calls`` if it counts them."""
    e, info = embed_cached(teacher, flat, data_hash=data_hash)
    scores = decodability(e.reshape(*views, -1), labels, pose, hues, train, test)
    return e, info, scores, getattr(teacher, "calls", 0)


def prepare(config, teachers: dict, workers: int | None = 1, executor=None, built: Built | None = None) -> Prepared:
    """Build the world (or take ``built``), run (or read back) each teacher's pass, score it, and assign
    the two roles.

    ``config`` is a :class:`jepabook.crossjepa.experiment.CrossJEPAConfig` (its ``default_teacher`` and
    ``second_teacher`` name the roles); ``teachers`` maps candidate names to teacher objects (see
    :func:`candidate_teachers`) and must hold both. The teachers run as independent tasks through
    :func:`jepabook.core.parallel.run_tasks` (``workers`` local processes, or ``executor``), and so do
    the parts of the world and of the labelled teacher's objects (:func:`build_world`); their results
    do not depend on where they ran.
    """
    roles = {"default": config.default_teacher, "second": config.second_teacher}
    missing = sorted(set(roles.values()) - set(teachers))
    if missing:
        raise ValueError(f"teachers {missing} of the roles {roles} are not among the candidates {sorted(teachers)}")
    built = built or build_world(config, workers, executor)
    world, groups, centres = built.world, built.groups, built.centres
    t2 = time.perf_counter()
    n, v = world.renders.shape[:2]
    train, test = stratified_split(world.labels, config.test_per_class, config.world_seed)
    pose = pose_features(world.poses).astype(np.float32)
    flat = world.renders.reshape((n * v,) + world.renders.shape[2:])
    embeddings, cache, scores = {}, {}, {}
    fingerprint = world.fingerprint()
    train_views = world.renders[train].reshape((-1,) + world.renders.shape[2:])
    own_world_seconds = 0.0
    for teacher in teachers.values():
        if getattr(teacher, "needs_labelled_views", False):  # its own objects, numbered after the student's
            start = time.perf_counter()
            teacher.bind(*labelled_views(config, teacher.spec.objects_per_class, workers, executor))
            own_world_seconds += time.perf_counter() - start
        elif hasattr(teacher, "bind"):  # trained on the training objects' views only (no labels)
            teacher.bind(train_views, f"{fingerprint}:train:{hashlib.sha256(train.tobytes()).hexdigest()}")
    # one task per teacher (training, pass, scores), the teacher that trains first: independent, so
    # they share the pool's cores, and each is computed as it would be here (same bits). Only worth a
    # pool when a teacher must train long (its pass not cached): starting workers costs seconds.
    names = sorted(teachers, key=lambda k: -_training_steps(teachers[k]))
    slow = [k for k in names if _training_steps(teachers[k]) >= POOL_MIN_STEPS
            and not cache_path(teachers[k], fingerprint)[0].is_file()]
    pool = {"workers": workers, "executor": executor} if slow else {"workers": 1}
    outputs = run_tasks(teacher_pass, [(teachers[k], flat, fingerprint, (n, v), world.labels, pose, world.hues,
                                        train, test) for k in names], **pool)
    for name, (e, cache[name], scores[name], calls) in zip(names, outputs):
        embeddings[name] = e.reshape(n, v, -1)
        if isinstance(teachers[name], CountingTeacher):  # the calls happened in a worker: count them here
            teachers[name].calls = calls
    embeddings = {k: embeddings[k] for k in teachers}
    t3 = time.perf_counter()
    pixels = avg_pool(flat, config.pixel_pool).reshape(n, v, -1)
    targets = {role: _standardise(embeddings[name], train) for role, name in roles.items()}
    targets["pixels"] = _standardise(pixels, train)
    data = SweepData(world.labels, train, test, groups, centres, pose, built.colour, targets)
    colour_only = 100 * linear_accuracy(_hue_circle(world.hues), world.labels, train, test)
    timing = {**built.timing, "teachers_and_scores": t3 - t2, "teacher_world": own_world_seconds,
              **{f"teacher_pass_{k}": c.teacher_seconds for k, c in cache.items()},
              **{f"teacher_train_{k}": c.train_seconds for k, c in cache.items() if c.train_seconds}}
    return Prepared(data, world, roles, scores, cache, colour_only, timing,
                    pixel_class_share=class_share(pixels[train], world.labels[train]))
