"""Chapter 4 experiments: CrossJEPA at toy scale — a point-cloud student predicts a frozen 2-D teacher.

Explained in Chapter 4 (CrossJEPA). The pipeline:

1. A procedural world (:mod:`jepabook.crossjepa.shapes3d`): objects of 8 primitive classes, each stored as a
   randomly rotated point cloud and rendered, in its canonical orientation, from a few random camera
   poses. The world is fixed (``world_seed``); the run seeds vary the student's initialisation, its
   batches and its masks.
2. The teacher pass (:mod:`jepabook.crossjepa.data`): every candidate teacher embeds every view
   once, through the disk cache, and is scored. The roles are named in the configuration: the
   *default* teacher (trained with labels on its own objects, :mod:`jepabook.crossjepa.label_teacher`)
   and the *second* (a random ViT, the extension row). The world's objects, the labelled teacher's
   objects and each teacher's pass are independent, so they are built in parts in one pool.
3. The sweep: one *arm* is one recipe — objective (teacher embedding, pixels, or labels for the
   supervised ceiling), predictor conditioning (none, pose, pose + colour), masking ratio, teacher.
   :func:`train_arm` trains the same student for the same steps on the same batches (per seed);
   :func:`run_arm` scores it by a logistic-regression probe of the frozen student's global feature,
   trained on the training objects and tested on held-out objects. Training reads cached arrays
   only; no teacher object reaches it.

Design choices of ours (the paper's loss and predictor were not available): targets are the
teacher's embeddings standardised per dimension over the training views, the loss is their mean
squared error, the predictor is a two-hidden-layer MLP on the student feature with the pose and the
colour histogram as separate inputs (:mod:`jepabook.crossjepa.model`). The pixel baseline is the same
model and budget regressing the view's standardised pixels; the ceiling the same model trained on
the probe's labels.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np
from mlx.utils import tree_flatten

from jepabook.core import streams
from jepabook.core.config import ShownAsTable, pick_profile
from jepabook.core.experiment import Chapter, ChapterResult, Plan, run_chapter
from jepabook.core.parallel import default_workers
from jepabook.crossjepa.data import (LABELLED_TEACHERS, OFFLINE_TEACHERS, TRAINED_TEACHERS, CountingTeacher, Prepared,
                                     SweepData, candidate_teachers, prepare)
from jepabook.crossjepa.label_teacher import LabelledSpec
from jepabook.crossjepa.shapes3d import LIGHT_FRAMES
from jepabook.crossjepa.world import pool_pays
from jepabook.crossjepa.vit_teacher import TeacherSpec
from jepabook.crossjepa.model import PointTransformer, Student, visible_groups
from jepabook.blocks.probes import linear_accuracy
from jepabook.core.training import TrainLog, constant_then_cosine, fit

__all__ = ["ARMS", "ARM_METRICS", "CHAPTER", "CONDITIONING", "LAPTOP_SIZE", "TEACHER_METRICS", "Arm", "ArmResult",
           "CrossJEPAConfig", "CrossJEPARun", "PROFILES", "Student", "arm_metrics", "batch_standardise", "ceiling_loss",
           "dinov2_seconds_per_view", "encoder_features", "encoder_parameters", "make_student", "run", "run_arm",
           "step_seconds", "student_loss", "train_arm"]

# the laptop validation's student size (~1.1 M parameters), for the step-time comparison
LAPTOP_SIZE = {"width": 192, "depth": 4, "heads": 4, "mlp_ratio": 2.0}

#: the predictor's side inputs per conditioning (pose: 4 values, sin/cos; colour: an 8-bin hue histogram);
#: pose and colour are separate inputs of the predictor, so each claim adds exactly one of them
CONDITIONING = {"none": (), "pose": ("pose",), "pose+colour": ("pose", "colour")}


OBJECTIVES = ("teacher", "pixels", "labels", "none")


@dataclass(frozen=True)
class Arm:
    """One recipe. ``objective``: "teacher" | "pixels" | "labels" (the supervised ceiling) | "none"
    (untrained); ``conditioning``: a key of :data:`CONDITIONING`; ``teacher``: "default" | "second"."""

    objective: str = "teacher"
    conditioning: str = "pose+colour"
    mask: float = 0.0
    teacher: str = "default"

    def __post_init__(self):
        for field_name, allowed in (("objective", OBJECTIVES), ("conditioning", tuple(CONDITIONING)),
                                    ("teacher", ("default", "second"))):
            if getattr(self, field_name) not in allowed:
                raise ValueError(f"{field_name} must be one of {list(allowed)}; got {getattr(self, field_name)!r}")
        if not (0.0 <= self.mask < 1.0):
            raise ValueError(f"mask must be in [0, 1) (the fraction of point groups dropped); got {self.mask!r}")


ARMS = {
    "untrained": Arm(objective="none"),
    "cond_none": Arm(conditioning="none"),
    "cond_pose": Arm(conditioning="pose"),
    "cond_pose_colour": Arm(),  # the full recipe: also the "teacher objective" and "mask 0" row
    "pixels": Arm(objective="pixels"),
    "ceiling": Arm(objective="labels", conditioning="none"),
    "mask_0.3": Arm(mask=0.3),
    "mask_0.5": Arm(mask=0.5),
    "mask_0.75": Arm(mask=0.75),
    "second_none": Arm(conditioning="none", teacher="second"),
    "second_pose": Arm(conditioning="pose", teacher="second"),
}


@dataclass(frozen=True)
class CrossJEPAConfig(ShownAsTable):
    """Everything Chapter 4's runs depend on (student sizes chosen from the step-time budget; see the chapter)."""

    # 96 training objects per class as before; 224 held out per class (1792 in all), so a seed's probe
    # accuracy near 81 % has a binomial standard error of 0.9 points (1.07 with 1280 held out, 2.2 with 256)
    n_per_class: int = 320
    test_per_class: int = 224
    n_points: int = 256
    n_views: int = 4
    render_size: int = 48
    colour_bias: float = 0.3
    light: str = "world"  # the light is fixed in the scene, so a view's shading shows where the camera stood
    world_seed: int = 0
    n_groups: int = 16
    group_size: int = 24
    width: int = 96  # 314 k encoder parameters: as large as the ten-minute budget allows (see the chapter)
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 2.0
    pred_hidden: int = 256
    pixel_pool: int = 4  # pixel targets: the render average-pooled 4× (48² → 12²·3 = 432 values)
    batch: int = 32  # objects per step, each with all its views
    steps: int = 200
    lr: float = 1e-3
    weight_decay: float = 0.05
    # the candidates scored in the teacher table; the two roles are named, never picked from the scores
    teachers: tuple[str, ...] = ("labelled", "lejepa-init", "pixels")
    default_teacher: str = "labelled"
    second_teacher: str = "lejepa-init"
    teacher: TeacherSpec = TeacherSpec()  # the self-trained (LeJEPA) candidate and its untrained twin
    labelled: LabelledSpec = LabelledSpec()  # the labelled candidate: its own objects and its training
    arms: tuple[str, ...] = tuple(ARMS)

    def __post_init__(self):
        for name in ("n_per_class", "test_per_class", "n_points", "n_views", "render_size", "n_groups",
                     "group_size", "width", "depth", "heads", "pred_hidden", "pixel_pool", "batch", "steps"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if self.test_per_class >= self.n_per_class:
            raise ValueError(f"test_per_class ({self.test_per_class}) must be below n_per_class ({self.n_per_class})")
        if self.group_size > self.n_points or self.n_groups > self.n_points:
            raise ValueError("n_groups and group_size must not exceed n_points")
        if self.render_size % self.pixel_pool or self.render_size % 4:
            raise ValueError(f"render_size={self.render_size} must be divisible by 4 and by pixel_pool={self.pixel_pool}")
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown:
            raise ValueError(f"unknown arms {unknown}; allowed: {sorted(ARMS)}")
        known = sorted(OFFLINE_TEACHERS) + list(TRAINED_TEACHERS) + list(LABELLED_TEACHERS) + ["dinov2-small"]
        bad = [t for t in self.teachers if t not in known]
        if bad or len(self.teachers) < 2:
            raise ValueError(f"teachers must name at least two of {known}; got {self.teachers!r}")
        for role in ("default_teacher", "second_teacher"):
            if getattr(self, role) not in self.teachers:
                raise ValueError(f"{role}={getattr(self, role)!r} must be one of teachers={self.teachers!r}")
        if self.light not in LIGHT_FRAMES:
            raise ValueError(f"light must be one of {LIGHT_FRAMES}; got {self.light!r}")
        if not isinstance(self.teacher, TeacherSpec):
            raise ValueError(f"teacher must be a TeacherSpec; got {self.teacher!r}")
        if not isinstance(self.labelled, LabelledSpec):
            raise ValueError(f"labelled must be a LabelledSpec; got {self.labelled!r}")


PROFILES = {
    "full": CrossJEPAConfig(),
    # ci: 24 held-out objects per class (192 in all), so one object changing sides moves a seed's probe
    # accuracy by 0.5 points rather than 3.1; training still sees 8 objects per class, as before.
    "ci": CrossJEPAConfig(n_per_class=32, test_per_class=24, n_views=2, render_size=32, steps=3, batch=8,
                          width=32, depth=1, n_groups=8, group_size=16, n_points=128, pred_hidden=32,
                          teacher=TeacherSpec(width=32, depth=1, proj_dim=16, steps=3, batch=16, slices=32),
                          labelled=LabelledSpec(objects_per_class=8, hidden=(64, 32), steps=20, batch=16)),
}


def make_student(config: CrossJEPAConfig, pose_dim: int, colour_dim: int, out_dim: int, key: mx.array) -> Student:
    """The :class:`~jepabook.crossjepa.model.Student` of ``config``'s sizes."""
    return Student(config.width, config.depth, config.heads, config.mlp_ratio, config.pred_hidden, pose_dim,
                   colour_dim, out_dim, key)


def batch_standardise(z: mx.array, eps: float = 1e-5) -> mx.array:
    """Each feature centred and scaled over the batch (a BatchNorm without learned parameters).

    A freshly initialised point transformer's global feature varies across objects about ten times
    less than its mean (the final LayerNorm and the pooling leave a large shared component), so
    without this the predictor first learns to ignore the student and the student gets no signal.
    """
    mu = mx.mean(z, axis=0, keepdims=True)
    return (z - mu) / mx.sqrt(mx.var(z, axis=0, keepdims=True) + eps)


def student_loss(model: Student, groups, centres, keep, pose, colour, target):
    """Mean squared error between the predictor's outputs and the (standardised) targets of every view.

    The encoder runs once per object; its feature is paired with each of the object's views
    (``pose`` ``(b, V, 4)`` and ``colour`` ``(b, V, 8)``, each or both None; ``target`` ``(b, V, d)``),
    so one step learns from ``b·V`` targets.
    """
    z = batch_standardise(model.encoder.features(groups, centres, keep))
    z = mx.broadcast_to(z[:, None], (z.shape[0], target.shape[1], z.shape[1]))
    pred = model.predictor(z, pose, colour)
    return mx.mean((pred - target) ** 2), {}


def ceiling_loss(model: Student, groups, centres, keep, pose, colour, labels):
    """Cross-entropy of the predictor, read as a class head, on the student's feature: the supervised
    ceiling trains the same student and predictor on the labels of the probe's training objects."""
    z = batch_standardise(model.encoder.features(groups, centres, keep))
    return mx.mean(nn.losses.cross_entropy(model.predictor(z, pose, colour), labels)), {}


def train_arm(config: CrossJEPAConfig, name: str, seed: int, data: SweepData,
              progress: bool = False) -> tuple[Student, TrainLog | None]:
    """Chapter 4's recipe: the student of arm ``name`` trained from ``seed`` (``untrained``: as initialised).

    Every arm of a seed starts from the same weights (stream ``(seed, "init")``) and draws the same
    objects at every step (stream ``(seed, "batches")``), so arms differ only in what the arm changes.
    """
    arm = ARMS[name]
    inputs = CONDITIONING[arm.conditioning]
    pose = mx.array(data.pose) if "pose" in inputs else None
    colour = mx.array(data.colour) if "colour" in inputs else None
    if arm.objective == "labels":  # the supervised ceiling: class labels of the training objects
        loss, target = ceiling_loss, mx.array(data.labels.astype(np.int32))
        out_dim = int(data.labels.max()) + 1
    else:
        loss, target = student_loss, mx.array(data.targets["pixels" if arm.objective == "pixels" else arm.teacher])
        out_dim = target.shape[-1]
    model = make_student(config, 0 if pose is None else pose.shape[-1], 0 if colour is None else colour.shape[-1],
                    out_dim, streams.key(seed, "init"))
    if arm.objective == "none":
        return model, None
    groups, centres = mx.array(data.groups), mx.array(data.centres)
    rng, mask_rng = streams.rng(seed, "batches"), streams.rng(seed, "masks")

    def batch(step):  # objects with all their views, the groups the mask keeps, their side inputs and targets
        r = mx.array(rng.choice(data.train, config.batch, replace=False))
        keep = (mx.array(visible_groups(mask_rng, config.batch, config.n_groups, arm.mask)) if arm.mask > 0
                else None)
        return (groups[r], centres[r], keep, None if pose is None else pose[r],
                None if colour is None else colour[r], target[r])

    optimizer = optim.AdamW(learning_rate=constant_then_cosine(config.lr, config.steps, 0.5),
                            weight_decay=config.weight_decay)
    log = fit(model, loss, batch, optimizer, config.steps, log_every=10, progress=progress,
              hint=f"Lower lr (now {config.lr}).")
    return model, log


def encoder_features(encoder: PointTransformer, data: SweepData, chunk: int = 256) -> np.ndarray:
    """``(n, 2·width)`` global features of every object, as the probe reads them."""
    g, c = mx.array(data.groups), mx.array(data.centres)
    return np.concatenate([np.array(encoder.features(g[i:i + chunk], c[i:i + chunk]))
                           for i in range(0, len(g), chunk)])


@dataclass
class ArmResult:
    """One arm at one seed."""

    arm: str
    seed: int
    acc: float
    final_loss: float = float("nan")
    loss_steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    seconds: float = 0.0


def run_arm(config: CrossJEPAConfig, name: str, seed: int, data: SweepData, progress: bool = False) -> ArmResult:
    """Train arm ``name`` from ``seed`` (:func:`train_arm`) and probe the frozen encoder on held-out objects."""
    start = time.perf_counter()
    model, log = train_arm(config, name, seed, data, progress)
    result = ArmResult(name, seed, float("nan"))
    if log is not None:
        result.loss_steps, result.loss = log.step, log.parts["loss"]
        result.final_loss = float(np.mean(log.parts["loss"][-3:]))
    feats = encoder_features(model.encoder, data)
    result.acc = 100 * linear_accuracy(feats, data.labels, data.train, data.test)
    result.seconds = time.perf_counter() - start
    return result


#: each arm's metric names, written out so that a search for a name finds its producer (:func:`_measure`):
#: the probe accuracy (%) of the arm is the arm's own name; its final training loss is ``loss_<arm>``
ARM_METRICS = {
    "untrained": {"acc": "untrained"},
    "cond_none": {"acc": "cond_none", "loss": "loss_cond_none"},
    "cond_pose": {"acc": "cond_pose", "loss": "loss_cond_pose"},
    "cond_pose_colour": {"acc": "cond_pose_colour", "loss": "loss_cond_pose_colour"},
    "pixels": {"acc": "pixels", "loss": "loss_pixels"},
    "ceiling": {"acc": "ceiling", "loss": "loss_ceiling"},
    "mask_0.3": {"acc": "mask_0.3", "loss": "loss_mask_0.3"},
    "mask_0.5": {"acc": "mask_0.5", "loss": "loss_mask_0.5"},
    "mask_0.75": {"acc": "mask_0.75", "loss": "loss_mask_0.75"},
    "second_none": {"acc": "second_none", "loss": "loss_second_none"},
    "second_pose": {"acc": "second_pose", "loss": "loss_second_pose"},
}


@dataclass
class CrossJEPARun(ChapterResult):
    """Chapter 4 at one profile: per-seed metrics, the record, the teacher pass, every arm's per-seed result."""

    prepared: Prepared | None = None
    results: dict[str, list[ArmResult]] = field(default_factory=dict)


#: the teachers' decodability scores (:func:`jepabook.crossjepa.data.decodability`) by role, as per-seed
#: metric names: one world and one teacher pass serve every seed, so each is one value repeated
TEACHER_METRICS = {
    "default": {"pose_r2": "teacher_pose_r2", "colour_r2": "teacher_colour_r2", "class_share": "teacher_class_share",
                "class_acc": "teacher_class_acc"},
    "second": {"pose_r2": "second_teacher_pose_r2", "colour_r2": "second_teacher_colour_r2",
               "class_share": "second_teacher_class_share", "class_acc": "second_teacher_class_acc"},
}


def arm_metrics(results: dict[str, list[ArmResult]]) -> dict[str, list[float]]:
    """Per-seed metrics by name (see :data:`ARM_METRICS`): each arm's probe accuracy and final loss."""
    out = {}
    for a, rs in results.items():
        names = ARM_METRICS[a]
        out[names["acc"]] = [r.acc for r in rs]
        if "loss" in names:
            out[names["loss"]] = [r.final_loss for r in rs]
    return out


def _plan(config: CrossJEPAConfig, seeds: list[int], progress: bool, teachers: dict | None = None,
          dinov2_path: str | None = None, workers: int | None = None, executor=None) -> Plan:
    chosen = (teachers if teachers is not None
              else candidate_teachers(config.teachers, dinov2_path, config.teacher, config.labelled))
    counted = {k: CountingTeacher(t) for k, t in chosen.items()}
    local = workers or default_workers()
    if executor is None and local > 1 and pool_pays(config.n_per_class):
        # one pool for the whole plan phase: the world's parts, the labelled teacher's objects and the
        # teacher passes (the teacher that trains first) are independent tasks; the same bits as here
        with ProcessPoolExecutor(max_workers=local, mp_context=mp.get_context("spawn")) as pool:
            prep = prepare(config, counted, executor=pool)
    else:
        prep = prepare(config, counted, workers, executor)  # in this process, or on the arms' executor
    prep.teacher_calls = {"teacher_pass": sum(t.calls for t in counted.values())}
    order = sorted(config.arms, key=lambda a: (ARMS[a].objective == "none", ARMS[a].mask))  # costliest first
    tasks = [(config, a, s, prep.data, progress) for a in order for s in seeds]
    return Plan(run_arm, tasks, context=(prep, counted), timing_s=dict(prep.timing))


def _measure(config: CrossJEPAConfig, seeds: list[int], plan: Plan, flat: list[ArmResult]) -> CrossJEPARun:
    prep, counted = plan.context
    # teachers are never called during the sweep: their embeddings were cached before it
    prep.teacher_calls["sweep"] = sum(t.calls for t in counted.values()) - prep.teacher_calls["teacher_pass"]
    results = {a: [r for s in seeds for r in flat if r.arm == a and r.seed == s] for a in config.arms}
    metrics = arm_metrics(results)
    # the teachers' scores: one world (and one teacher pass) for every seed, so one value repeated
    for role, names in TEACHER_METRICS.items():
        scores = prep.decodability[prep.teachers[role]]
        for score, name in names.items():
            metrics[name] = [scores[score]] * len(seeds)
    metrics["pixel_class_share"] = [prep.pixel_class_share] * len(seeds)  # the pixel target's class share
    plan.timing_s.update(teacher_pass_total=sum(c.teacher_seconds for c in prep.cache.values()),
                         teacher_train_total=sum(c.train_seconds for c in prep.cache.values()),
                         arm_runs_total=sum(r.seconds for r in flat))
    return CrossJEPARun(config, metrics, prepared=prep, results=results)


CHAPTER = Chapter("crossjepa", PROFILES, _plan, _measure)


def run(profile: str = "full", seeds=None, progress: bool | str | None = None, workers: int | None = None,
        executor=None, teachers: dict | None = None, dinov2_path: str | None = None, **overrides) -> CrossJEPARun:
    """Run Chapter 4 at ``profile`` over ``seeds`` (default: the profile's published seeds); ``overrides``
    replace config fields.

    ``teachers`` (name → teacher object) replaces the configured candidates (tests use it);
    ``dinov2_path`` (default ``$JEPABOOK_DINOV2``) adds DINOv2 ViT-S/14 from a local checkpoint to the
    candidates and makes it the default teacher (the self-trained ViT stays in the teacher table).
    """
    dinov2_path = dinov2_path or os.environ.get("JEPABOOK_DINOV2")
    if dinov2_path and teachers is None:
        base = overrides.get("teachers", pick_profile(PROFILES, profile).teachers)
        if "dinov2-small" not in base:
            overrides["teachers"] = tuple(base) + ("dinov2-small",)
        overrides.setdefault("default_teacher", "dinov2-small")
    start = time.perf_counter()
    result = run_chapter(CHAPTER, profile, seeds, progress, workers, executor,
                         extra={"teachers": teachers, "dinov2_path": dinov2_path, "workers": workers,
                                "executor": executor}, **overrides)
    t = result.record.timing_s
    t.update(sweep=t["tasks_wall"], total=time.perf_counter() - start)
    return result


def encoder_parameters(sizes: dict) -> int:
    """Parameter count of a point transformer with ``sizes`` (width, depth, heads, mlp_ratio)."""
    enc = PointTransformer(sizes["width"], sizes["depth"], sizes["heads"], sizes["mlp_ratio"], mx.random.key(0))
    return sum(v.size for _, v in tree_flatten(enc.parameters()))


def step_seconds(config: CrossJEPAConfig, repeats: int = 3, seed: int = 0) -> dict[str, float]:
    """Seconds per training step of the full recipe for our student and one of the laptop's size.

    Timed side by side on the same random inputs (batch, groups and views of ``config``), after two
    warm-up steps that compile the step.
    """
    out = {}
    for label, sizes in (("ours", {}), ("laptop size", LAPTOP_SIZE)):
        c = replace(config, **sizes)
        model = make_student(c, 4, 8, 256, streams.key(seed, "init"))
        keys = streams.keys(seed, "inputs", num=5)
        inputs = (mx.random.normal((c.batch, c.n_groups, c.group_size, 3), key=keys[0]),
                  mx.random.normal((c.batch, c.n_groups, 3), key=keys[1]), None,
                  mx.random.normal((c.batch, c.n_views, 4), key=keys[2]),
                  mx.random.normal((c.batch, c.n_views, 8), key=keys[3]),
                  mx.random.normal((c.batch, c.n_views, 256), key=keys[4]))
        optimizer = optim.AdamW(learning_rate=c.lr, weight_decay=c.weight_decay)
        fit(model, student_loss, lambda i: inputs, optimizer, 2)
        start = time.perf_counter()
        fit(model, student_loss, lambda i: inputs, optimizer, repeats, log_every=repeats)
        out[label] = (time.perf_counter() - start) / repeats
    return out


def dinov2_seconds_per_view() -> float:
    """Seconds for one 224×224 view through a full-size DINOv2 ViT-S/14 (random weights: the cost
    does not depend on them), on this machine's default MLX device."""
    from jepabook.crossjepa.dinov2 import DinoV2, DinoV2Config

    model = DinoV2(DinoV2Config())
    x = mx.zeros((1, 224, 224, 3))
    start = time.perf_counter()
    mx.eval(model.cls(x))
    return time.perf_counter() - start
