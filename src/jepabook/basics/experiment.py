"""Chapter 1 experiments: neighbour prediction on the Swiss roll, with and without an anti-collapse term.

Explained in Chapter 1 (JEPA basics). Three arms share one encoder, predictor, data and budget and
differ only in the regulariser added to the prediction loss:

- ``predict``: none (the loss alone, which collapses);
- ``sigreg``: SIGReg, random shadows tested with Epps–Pulley;
- ``axis``: mean and variance matched along the coordinate axes only (a few fixed directions).

Loss: ``(1 − λ)·prediction + λ·regulariser`` (LeJEPA's form), prediction symmetric over the pair.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from jepabook.core.config import ShownAsTable
from jepabook.core import streams
from jepabook.core.experiment import Chapter, ChapterResult, Plan, run_chapter
from jepabook.blocks.ema import ema_step_response
from jepabook.basics.diagnostics import collapse_push, cloud_shape, shadow_meter
from jepabook.blocks.nets import MLP
from jepabook.blocks.probes import linear_r2, train_test_split
from jepabook.blocks.sigreg import sigreg
from jepabook.basics.swissroll import make_swiss_roll, neighbour_table
from jepabook.core.training import TrainLog, fit

__all__ = ["ARMS", "ARM_METRICS", "ArmResult", "BasicsConfig", "BasicsRun", "CHAPTER", "JEPA", "PROFILES", "SeedResult",
           "axis_moments", "make_loss", "run", "run_arm", "train_arm"]

ARMS = ("predict", "sigreg", "axis")
#: each arm's metric names, written out so that a search for a name finds its producer (:func:`run_arm`)
ARM_METRICS = {
    "predict": {"r2": "predict_r2", "scale": "predict_scale", "energy_neighbour": "predict_energy_neighbour",
                "energy_random": "predict_energy_random"},
    "sigreg": {"r2": "sigreg_r2", "scale": "sigreg_scale", "energy_neighbour": "sigreg_energy_neighbour",
               "energy_random": "sigreg_energy_random"},
    "axis": {"r2": "axis_r2", "scale": "axis_scale", "energy_neighbour": "axis_energy_neighbour",
             "energy_random": "axis_energy_random"},
}


@dataclass(frozen=True)
class BasicsConfig(ShownAsTable):
    """Everything Chapter 1's runs depend on."""

    n_points: int = 4096
    ambient_dim: int = 50
    noise: float = 0.1  # per ambient dimension, relative to the unit-variance spiral
    neighbours: int = 8  # a point's positive partner is one of its k nearest along the curve
    embed_dim: int = 8
    hidden: int = 64
    predictor_hidden: int = 64
    batch: int = 256  # pairs per step
    steps: int = 2000
    lr: float = 1e-3
    sigreg_weight: float = 0.05  # λ of the sigreg arm
    num_slices: int = 64
    axis_weight: float = 0.5  # λ of the axis arm
    test_fraction: float = 0.25
    meter_t: float = 1.0  # the frequency at which the circle-wrap meter is read
    ema_tau: float = 0.996  # the worked EMA example's momentum
    log_every: int = 50

    def __post_init__(self):
        for name in ("n_points", "ambient_dim", "neighbours", "embed_dim", "hidden", "batch", "steps", "num_slices"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        for name in ("sigreg_weight", "axis_weight"):
            v = getattr(self, name)
            if not (0.0 <= v < 1.0):
                raise ValueError(f"{name} (λ) must be in [0, 1); got {v!r}")
        if not (self.lr > 0):
            raise ValueError(f"lr must be positive; got {self.lr!r}")

    def weight(self, arm: str) -> float:
        return {"predict": 0.0, "sigreg": self.sigreg_weight, "axis": self.axis_weight}[arm]


PROFILES = {
    "full": BasicsConfig(),
    # 600 steps, not 300: at 300 seed 2's SIGReg arm had not converged (R² 0.41 against 0.84-0.86)
    # and turned other BLAS kernels' last-bit differences into a 3 % change of its probe
    "ci": BasicsConfig(n_points=1024, steps=600, log_every=50),
}


class JEPA(nn.Module):
    """Encoder ``ambient_dim → hidden → hidden → embed_dim`` and predictor ``embed_dim → hidden → embed_dim``."""

    def __init__(self, config: BasicsConfig, key: mx.array):
        super().__init__()
        k_enc, k_pred = mx.random.split(key)
        c = config
        self.encoder = MLP([c.ambient_dim, c.hidden, c.hidden, c.embed_dim], k_enc)
        self.predictor = MLP([c.embed_dim, c.predictor_hidden, c.embed_dim], k_pred)

    def energy(self, x: mx.array, y: mx.array) -> mx.array:
        """``(n,)`` energy ‖pred(enc(x)) − enc(y)‖²: low when y is a plausible partner of x."""
        return mx.sum((self.predictor(self.encoder(x)) - self.encoder(y)) ** 2, axis=1)


def axis_moments(z: mx.array) -> mx.array:
    """Mean² + (variance − 1)² summed over the coordinate axes of ``z`` (N, dim)."""
    return mx.sum(mx.mean(z, axis=0) ** 2) + mx.sum((mx.var(z, axis=0) - 1.0) ** 2)


def make_loss(arm: str, weight: float, num_slices: int):
    """The arm's loss ``(model, x_a, x_b, key) -> (loss, parts)``."""
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}; got {arm!r}")

    def loss_fn(model: JEPA, xa, xb, key):
        za, zb = model.encoder(xa), model.encoder(xb)
        pa, pb = model.predictor(za), model.predictor(zb)
        pred = 0.5 * (mx.mean(mx.sum((pa - zb) ** 2, axis=1)) + mx.mean(mx.sum((pb - za) ** 2, axis=1)))
        z = mx.concatenate([za, zb])
        if arm == "sigreg":
            reg = sigreg(z, key, num_slices)
        elif arm == "axis":
            reg = axis_moments(z)
        else:
            reg = mx.array(0.0)
        return (1.0 - weight) * pred + weight * reg, {"prediction": pred, "regulariser": reg}

    return loss_fn


def train_arm(config: BasicsConfig, x: np.ndarray, neighbours: np.ndarray, arm: str, seed: int, progress=False):
    """Train one arm from ``seed``; returns the trained model and its loss log.

    Every arm of a seed starts from the same weights (stream ``init``) and sees the same batches
    (``batches``) and SIGReg directions (``directions``), so arms differ only in their regulariser.
    """
    model = JEPA(config, streams.key(seed, "init"))
    optimizer = optim.AdamW(learning_rate=config.lr, weight_decay=0.0)
    rng = streams.rng(seed, "batches")
    data = mx.array(x)
    direction_keys = streams.keys(seed, "directions", num=config.steps)
    n, k = neighbours.shape

    def batch(step: int):
        anchor = rng.integers(0, n, config.batch)
        partner = neighbours[anchor, rng.integers(0, k, config.batch)]
        return data[mx.array(anchor)], data[mx.array(partner)], direction_keys[step]

    loss_fn = make_loss(arm, config.weight(arm), config.num_slices)
    log = fit(model, loss_fn, batch, optimizer, config.steps, config.log_every, progress,
              hint=f"Lower lr (now {config.lr}) or the arm's λ.")
    return model, log


@dataclass
class ArmResult:
    """One trained arm: its embedding of every point, its loss log and its own measurements."""

    seed: int
    arm: str
    embedding: np.ndarray
    log: TrainLog
    metrics: dict[str, float]
    seconds: float


@dataclass
class SeedResult:
    """Everything one seed produced: the data, each arm's embedding and log, and the measurements."""

    seed: int
    t: np.ndarray
    plane: np.ndarray
    x: np.ndarray
    embeddings: dict[str, np.ndarray]
    logs: dict[str, TrainLog]
    metrics: dict[str, float] = field(default_factory=dict)


def _roll_and_split(config: BasicsConfig, seed: int):
    """The seed's Swiss roll and its probe split: all the measure phase needs of the world."""
    roll = make_swiss_roll(config.n_points, config.ambient_dim, config.noise, seed)
    return roll, *train_test_split(config.n_points, config.test_fraction, seed)


def _world(config: BasicsConfig, seed: int):
    """The roll, its neighbour table (the training pairs: ~0.3-0.7 s at ``full``, so only the arm
    tasks build it) and the probe split."""
    roll, train, test = _roll_and_split(config, seed)
    return roll, neighbour_table(roll.plane, config.neighbours), train, test


def run_arm(config: BasicsConfig, seed: int, arm: str, progress: bool = False) -> ArmResult:
    """Train one arm on the seed's Swiss roll and measure its probe, spread and energies."""
    start = time.perf_counter()
    roll, neighbours, train, test = _world(config, seed)
    model, log = train_arm(config, roll.x, neighbours, arm, seed, progress)
    z = np.array(model.encoder(mx.array(roll.x)))
    rng = streams.rng(seed, "eval_pairs")
    anchor = rng.integers(0, config.n_points, 1024)
    partner = neighbours[anchor, rng.integers(0, config.neighbours, 1024)]
    stranger = rng.integers(0, config.n_points, 1024)
    x = {name: mx.array(roll.x[idx]) for name, idx in (("a", anchor), ("p", partner), ("s", stranger))}
    name = ARM_METRICS[arm]
    metrics = {
        name["r2"]: linear_r2(z, roll.t, train, test),
        name["scale"]: float(z.std(axis=0).mean()),
        name["energy_neighbour"]: float(model.energy(x["a"], x["p"]).mean().item()),
        name["energy_random"]: float(model.energy(x["a"], x["s"]).mean().item()),
    }
    return ArmResult(seed, arm, z, log, metrics, time.perf_counter() - start)


def assemble_seed(config: BasicsConfig, seed: int, arms: dict[str, ArmResult]) -> SeedResult:
    """Combine a seed's three arms and add the measurements that compare them."""
    roll, train, test = _roll_and_split(config, seed)  # (not the neighbour table: no pair is drawn here)
    embeddings = {arm: arms[arm].embedding for arm in ARMS}
    m: dict[str, float] = {"raw_r2": linear_r2(roll.x, roll.t, train, test)}
    for arm in ARMS:
        m.update(arms[arm].metrics)
    shape = cloud_shape(embeddings["axis"])
    m.update(axis_variance=shape["axis_variance_mean"], shadow_along=shape["largest"], shadow_across=shape["smallest"])
    key = streams.key(seed, "meter")
    m["meter_collapsed"] = shadow_meter(embeddings["predict"], config.meter_t, key)
    m["meter_healthy"] = shadow_meter(embeddings["sigreg"], config.meter_t, key)
    m["meter_overspread"] = shadow_meter(roll.plane, config.meter_t, key)  # the raw spiral (not a claim)
    # over-spread by construction: an isotropic N(0, 3²) cloud, whose shadows read e^{−9t²/2} ≈ 0.011 at t = 1
    wide = 3.0 * streams.rng(seed, "wide_cloud").standard_normal(embeddings["sigreg"].shape)
    m["meter_wide_gaussian"] = shadow_meter(wide, config.meter_t, key)
    m.update(collapse_push(seed))
    m["std_moments_abs_cos_0.01"] = abs(m["std_moments_cos_0.01"])
    response = ema_step_response(config.ema_tau, 2000)
    m["ema_first_step_pct"] = 100.0 * response[0]
    m["ema_steps_to_63pct"] = float(np.argmax(response >= 1 - np.exp(-1)) + 1)
    logs = {arm: arms[arm].log for arm in ARMS}
    return SeedResult(seed, roll.t, roll.plane, roll.x, embeddings, logs, m)


@dataclass
class BasicsRun(ChapterResult):
    """Chapter 1 at one profile: per-seed metrics, the record, and each seed's data for figures."""

    seeds: list[SeedResult] = field(default_factory=list)


def _plan(config: BasicsConfig, seeds: list[int], progress: bool) -> Plan:
    # one task per (seed, arm), the costliest arm first, so both cores stay busy to the end
    return Plan(run_arm, [(config, seed, arm, progress) for arm in ("sigreg", "axis", "predict") for seed in seeds])


def _measure(config: BasicsConfig, seeds: list[int], plan: Plan, outputs: list[ArmResult]) -> BasicsRun:
    done = {(r.seed, r.arm): r for r in outputs}
    results = [assemble_seed(config, s, {arm: done[(s, arm)] for arm in ARMS}) for s in seeds]
    plan.timing_s.update({f"{arm}_arm_mean": float(np.mean([done[(s, arm)].seconds for s in seeds])) for arm in ARMS})
    metrics = {name: [r.metrics[name] for r in results] for name in results[0].metrics}
    return BasicsRun(config, metrics, seeds=results)


CHAPTER = Chapter("basics", PROFILES, _plan, _measure)


def run(profile: str = "full", seeds=None, progress: bool | str | None = None, workers: int | None = None,
        executor=None, **overrides) -> BasicsRun:
    """Run Chapter 1 at ``profile`` over ``seeds`` (default: the profile's published seeds);
    ``overrides`` replace config fields (for exploration); ``executor`` runs the tasks elsewhere."""
    return run_chapter(CHAPTER, profile, seeds, progress, workers, executor, **overrides)
