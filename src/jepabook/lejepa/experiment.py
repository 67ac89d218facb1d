"""Chapter 5 experiments: LeJEPA's world-model theorems on 2-D worlds, the λ×ρ regime map, SIGReg's floor.

Explained in Chapter 5 (LeJEPA's world-model theorems). Every training run is one
:class:`~jepabook.lejepa.learner.TrainSpec` (world + encoder + loss weights + length) trained from one
seed and measured on 10 k fixed, whitened evaluation points. The chapter's runs, per seed:

- ``t1``: the four mixings at the paper's λ = 1e-3, ρ = 0.95 (the spiral gets ``spiral_steps``; the
  coupling flow is learned by the official code's matched encoder);
- ``t1x``: our extension, the MLP on the coupling flow (``coupling_mlp_steps``, with its curve);
- ``t2``: the generalised-Gaussian shape sweep in the official additive-noise world on ``alpha_mixing``
  (α = 2 is shared with t1);
- ``t2c``: our extension, the same sweep in the Gaussian-copula world (``copula_alphas``);
- ``grid``: the λ×ρ regime map on the spiral, as in the paper, for the first ``grid_seeds`` seeds (the
  extensions t1x and t2c for the first ``extension_seeds``);
- ``moments``/``pure``: the moment-matching question, λ swept down to collapse, with and without the term.

Every run records a convergence curve: R²(h → z) on the first ``curve_points`` evaluation points after
each of ``checkpoints`` equal pieces of training. Theorem 3's bound is checked on every α = 2 run;
Theorem 4's planning test and the untrained control use the t1 runs of ``plan_mixing``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace

import mlx.core as mx
import numpy as np

from jepabook.core.config import ShownAsTable
from jepabook.core import streams
from jepabook.core.experiment import Chapter, ChapterResult, Plan, run_chapter
from jepabook.lejepa.identifiability import (decode_plan, identifiability_metrics, knn_decoder, path_length_ratio,
                                              r2_linear)
from jepabook.lejepa import names
from jepabook.lejepa.learner import Learner, TrainSpec, embed, encoder, init_key, train
from jepabook.blocks.sigreg import sigreg
from jepabook.lejepa.worlds import MIXINGS, gennorm_from_gaussian, mixing, ou_pairs, sample_latents, whiten

__all__ = ["CHAPTER", "LeJEPAConfig", "LeJEPARun", "PROFILES", "RunResult", "SeedResult", "chapter_specs",
           "eval_world", "final_loss", "fixed_grid", "gaussian_floor", "latent_grid", "pick_restart", "run",
           "run_one", "run_seed", "sigreg_level", "zscore"]


@dataclass(frozen=True)
class LeJEPAConfig(ShownAsTable):
    """Everything Chapter 5's runs depend on (one :class:`Learner` shared by every run)."""

    learner: Learner = Learner(hidden=64, num_slices=32, log_every=25)
    rho: float = 0.95
    lam: float = 1e-3
    steps: int = 1000
    spiral_steps: int = 2000
    mixings: tuple[str, ...] = MIXINGS
    coupling_encoder: str = "matched"  # the official code's choice for the coupling flow
    coupling_mlp_steps: int = 2000  # the extension: our MLP on the coupling flow
    coupling_restarts: int = 3  # the official scaling protocol: K = 3 encoders per seed, the lowest final loss kept
    # the matched encoder's T1 runs (8 parameters, a cheap step): at 1,000 steps 3 of 5 seeds' kept restarts
    # were still rising over the continuation (the first full run of this design)
    coupling_steps: int = 3000
    alphas: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
    alpha_mixing: str = "parabolic"
    copula_alphas: tuple[float, ...] = (0.5, 1.0, 5.0)  # the extension's copula world
    grid_mixing: str = "spiral"
    grid_lams: tuple[float, ...] = (1e-5, 1e-3, 1e-2, 1e-1, 0.5)
    # the views' correlation: the paper's columns ρ = 0.5, 0.9, 0.99 are shared-anchor pairs whose views
    # correlate at ρ², i.e. 0.25, 0.81, 0.98
    grid_rhos: tuple[float, ...] = (0.25, 0.81, 0.98)
    # the map's cells: 1,000 steps (1,500 before the budget cut of issue 31; the chapter ran 914 s against
    # its 600). At 1,500 the λ = 1e-2 and 0.1 rows were still in the identity trap, so the good and fragile
    # bands read `not testable here` either way; collapse and too-strong settle within a few hundred steps
    grid_steps: int = 1000
    grid_seeds: int = 3  # the map runs for the first grid_seeds seeds (the paper's map: 3 seeds)
    extension_seeds: int = 1  # the extensions (t1x, t2c) run for the first extension_seeds seeds (budget: was 3, then 2)
    moment_lams: tuple[float, ...] = (1e-4, 3e-5, 1e-5)
    moment_rho: float = 0.95
    moment_mixing: str = "parabolic"
    moment_weight: float = 1.0  # × N, SIGReg's scale, inside λ: the term weighs what SIGReg weighs
    plan_mixing: str = "parabolic"
    eval_points: int = 10_000
    curve_points: int = 2000
    checkpoints: int = 4
    plan_pairs: int = 30
    plan_steps: int = 15  # the paper's T = 15 points per plan
    knn: int = 5  # decoder: 5-nearest-neighbour regressor embedding → true latent (the code's choice)
    floor_batches: int = 200  # batches of 2·batch fresh points for the SIGReg-floor reading
    floor_slices: int = 256
    eval_seed: int = 2026
    # the convergence test: the claims' runs go on for this fraction of their steps at the constant peak
    # rate after training; a run has settled when its R² moved by less than claims.SETTLED there
    continue_fraction: float = 0.25
    settle_lams: tuple[float, ...] = (1e-3, 1e-2, 1e-1)  # the map's rows the good and fragile claims read
    # which sweeps run (a control run at the paper's size keeps only T1 and T2); the claims of the others
    # read `skipped`
    include: tuple[str, ...] = names.KINDS
    grid_extent: float = 3.0  # the fixed evaluation grid: 100 × 100 points over [−3, 3]² (the official code's)
    grid_points: int = 100

    def __post_init__(self):
        for name in ("steps", "spiral_steps", "coupling_steps", "coupling_mlp_steps", "coupling_restarts", "grid_steps", "grid_seeds",
                     "extension_seeds", "eval_points", "grid_points",
                     "curve_points", "checkpoints", "plan_pairs", "floor_batches", "floor_slices"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        for m in (*self.mixings, self.alpha_mixing, self.grid_mixing, self.plan_mixing, self.moment_mixing):
            mixing(m)
        if 2.0 not in self.alphas:
            raise ValueError(f"alphas must include 2.0 (the Gaussian); got {self.alphas!r}")
        if 2.0 in self.copula_alphas:
            raise ValueError(f"copula_alphas must leave out 2.0 (there the copula world is the Gaussian one); "
                             f"got {self.copula_alphas!r}")
        if self.plan_mixing not in self.mixings:
            raise ValueError(f"plan_mixing {self.plan_mixing!r} must be one of mixings {self.mixings!r}")
        if self.coupling_encoder not in ("mlp", "matched"):
            raise ValueError(f"coupling_encoder must be 'mlp' or 'matched'; got {self.coupling_encoder!r}")
        if not (0.0 <= self.continue_fraction <= 1.0):
            raise ValueError(f"continue_fraction must lie in [0, 1]; got {self.continue_fraction!r}")
        if not set(self.include) <= set(names.KINDS) or "t1" not in self.include:
            raise ValueError(f"include must be kinds from {names.KINDS}, with 't1' (the per-seed metrics read it); "
                             f"got {self.include!r}")
        if not (self.grid_extent > 0):
            raise ValueError(f"grid_extent must be > 0; got {self.grid_extent!r}")
        if 2 * self.learner.batch > self.eval_points:
            raise ValueError("eval_points must hold at least two training batches (2·batch)")
        if not (self.curve_points <= self.eval_points):
            raise ValueError(f"curve_points must be at most eval_points ({self.eval_points}); got {self.curve_points!r}")
        self.specs()  # validates every λ, ρ, α through TrainSpec

    def specs(self, grid: bool = True, extensions: bool = True) -> dict[str, TrainSpec]:
        return chapter_specs(self, grid, extensions)


def chapter_specs(c: LeJEPAConfig, grid: bool = True, extensions: bool = True) -> dict[str, TrainSpec]:
    """Every run of one seed, by tag (``t1/…``, ``restart/…``, ``t1x/…``, ``t2/…``, ``t2c/…``, ``grid/…``,
    ``moments/…``, ``pure/…``); specs may repeat. ``grid=False`` leaves out the regime map (seeds past
    ``grid_seeds``), ``extensions=False`` the extensions t1x and t2c (seeds past ``extension_seeds``).

    The runs the claims read carry the convergence test (``continue_steps``, a ``continue_fraction`` of
    their steps): T1, T2, the moment sweep and the map's rows in ``settle_lams``. The coupling flow's T1
    run is restart 0 of ``coupling_restarts`` (tags ``restart/coupling/k=…``); :func:`pick_restart`
    keeps the one with the lowest final loss as ``t1/coupling``."""
    def cont(steps: int) -> int:
        return int(round(c.continue_fraction * steps))

    def t1(m: str, restart: int = 0) -> TrainSpec:
        enc = c.coupling_encoder if m == "coupling" else "mlp"
        steps = c.spiral_steps if m == "spiral" else c.coupling_steps if m == "coupling" else c.steps
        return TrainSpec(m, 2.0, c.rho, c.lam, 0.0, steps, encoder=enc, restart=restart, continue_steps=cont(steps))

    specs = {names.t1_tag(m): t1(m) for m in c.mixings}
    if "coupling" in c.mixings and c.coupling_restarts > 1:
        specs.update({names.restart_tag("coupling", k): t1("coupling", k) for k in range(c.coupling_restarts)})
    if extensions and "coupling" in c.mixings and c.coupling_encoder != "mlp":
        specs[names.t1x_tag("coupling")] = TrainSpec("coupling", 2.0, c.rho, c.lam, 0.0, c.coupling_mlp_steps)
    specs.update({names.t2_tag(a): TrainSpec(c.alpha_mixing, a, c.rho, c.lam, 0.0, c.steps, continue_steps=cont(c.steps))
                  for a in c.alphas})
    specs.update({names.t2c_tag(a): TrainSpec(c.alpha_mixing, a, c.rho, c.lam, 0.0, c.steps, pairs="copula")
                  for a in c.copula_alphas if extensions})
    if grid:
        specs.update({names.grid_tag(lam, r): TrainSpec(c.grid_mixing, 2.0, r, lam, 0.0, c.grid_steps,
                                                        continue_steps=cont(c.grid_steps) if lam in c.settle_lams else 0)
                      for lam in c.grid_lams for r in c.grid_rhos})
    for lam in c.moment_lams:
        specs[names.moment_tag("moments", lam)] = TrainSpec(c.moment_mixing, 2.0, c.moment_rho, lam,
                                                            c.moment_weight, c.steps, continue_steps=cont(c.steps))
        specs[names.moment_tag("pure", lam)] = TrainSpec(c.moment_mixing, 2.0, c.moment_rho, lam, 0.0, c.steps,
                                                         continue_steps=cont(c.steps))
    return {tag: spec for tag, spec in specs.items() if names.kind(tag) in c.include}


PROFILES = {
    "full": LeJEPAConfig(),
    "ci": LeJEPAConfig(steps=25, spiral_steps=40, coupling_steps=25, coupling_mlp_steps=40, alphas=(1.0, 2.0, 3.0),
                       copula_alphas=(1.0,), grid_lams=(1e-5, 1e-3, 1e-1, 0.5), grid_rhos=(0.25, 0.81, 0.98),
                       grid_steps=20, grid_seeds=2, extension_seeds=2, moment_lams=(1e-5,), eval_points=2000, curve_points=1000,
                       checkpoints=2, floor_batches=10, grid_points=40),
}


def _seed_specs(c: LeJEPAConfig, seeds, seed: int) -> dict[str, TrainSpec]:
    """Seed ``seed``'s runs within the run over ``seeds``: the map for the first ``grid_seeds`` of them,
    the extensions for the first ``extension_seeds``."""
    i = list(seeds).index(seed)
    return c.specs(i < c.grid_seeds, i < c.extension_seeds)


def eval_world(c: LeJEPAConfig, spec: TrainSpec) -> tuple[np.ndarray, np.ndarray]:
    """The fixed evaluation points ``(z, z′)`` of a world: the same for every seed and every run
    (stream ``(eval_seed, "eval", "world")``).

    The first view is whitened (:func:`~jepabook.lejepa.worlds.whiten`: sample mean 0, covariance exactly
    I, so mean ‖z‖² = n); the second is one fresh step of the world's pair channel from it. In the copula
    world the whitening is done on the Gaussian behind the copula."""
    rng = streams.rng(c.eval_seed, "eval", "world")
    n, k = c.eval_points, math.sqrt(1.0 - spec.rho**2)
    if spec.pairs == "copula":
        u = whiten(rng.standard_normal((n, 2)))
        u_next = spec.rho * u + k * rng.standard_normal((n, 2))
        return gennorm_from_gaussian(u, spec.alpha), gennorm_from_gaussian(u_next, spec.alpha)
    z = whiten(sample_latents(rng, n, 2, spec.alpha))
    return z, spec.rho * z + k * sample_latents(rng, n, 2, spec.alpha)


def zscore(h: np.ndarray) -> np.ndarray:
    """Each column of ``h`` centred and scaled to unit (1/n) variance: the cloud's shape without its scale."""
    h = np.asarray(h, dtype=np.float64)
    return (h - h.mean(0)) / h.std(0)


def sigreg_level(h: np.ndarray, batch: int, batches: int, slices: int, seed: int) -> float:
    """Mean SIGReg of ``batches`` disjoint blocks of ``batch`` rows of ``h``: what the loss reads at that size.

    Block ``i`` is read along the directions of key ``i`` of the stream ``(seed, "floor_directions")``."""
    keys = streams.keys(seed, "floor_directions", num=batches)
    return float(np.mean([sigreg(mx.array(h[i * batch:(i + 1) * batch], dtype=mx.float32), keys[i], slices).item()
                          for i in range(batches)]))


def latent_grid(lines: int = 9, points: int = 60, extent: float = 2.0) -> np.ndarray:
    """``(2·lines, points, 2)`` latent grid lines z₁ = const and z₂ = const over [−extent, extent]²."""
    s, t = np.linspace(-extent, extent, lines), np.linspace(-extent, extent, points)
    vertical = np.stack([np.broadcast_to(s[:, None], (lines, points)), np.broadcast_to(t, (lines, points))], -1)
    return np.concatenate([vertical, vertical[..., ::-1]])


#: tr Cov(h) below this is a collapsed cloud (1 % of the whitened value 2; the claims' collapse threshold)
COLLAPSED = 0.02

#: the T1 runs whose encoder can take any scale: the floor, z-scored floor and shrinkage readings average these
SHEARS = ("parabolic", "sinusoidal")


@dataclass
class RunResult:
    """One trained run: its measurements, logged losses, its convergence curve and (t1 only) the learned
    latent grid and plans."""

    tag_spec: TrainSpec
    seed: int
    metrics: dict[str, float]
    log_step: list[int]
    log_parts: dict[str, list[float]]
    grid: np.ndarray | None = None
    plans: dict[str, np.ndarray] = field(default_factory=dict)  # t1: six decoded plans, trained and untrained
    seconds: float = 0.0
    curve_step: list[int] = field(default_factory=list)
    curve_r2: list[float] = field(default_factory=list)  # R²(h → z) on the first curve_points eval points


def fixed_grid(c: LeJEPAConfig) -> np.ndarray:
    """The official code's fixed evaluation grid: ``grid_points``² latents evenly spaced over
    [−``grid_extent``, ``grid_extent``]², the same for every world, so R² on it compares latent laws."""
    t = np.linspace(-c.grid_extent, c.grid_extent, c.grid_points)
    return np.stack(np.meshgrid(t, t, indexing="ij"), axis=-1).reshape(-1, 2)


def final_loss(log_step: list[int], log_parts: dict[str, list[float]], spec: TrainSpec, batch: int,
               last: float = 0.25) -> float:
    """The training loss (1 − λ)·alignment + λ·SIGReg (+ the moment term, ×N) averaged over the logged
    steps of the run's last ``last`` fraction: what a restart is picked by (the official code keeps the
    last step's batch loss; a mean over the last quarter is less noisy)."""
    if not log_step:
        return math.nan  # nothing logged (a stand-in for train): no loss to pick by
    steps = np.asarray(log_step)
    keep = steps >= (1.0 - last) * spec.steps
    reg = np.asarray(log_parts["sigreg"], np.float64)
    if spec.moment_weight > 0:
        reg = reg + spec.moment_weight * 2 * batch * np.asarray(log_parts["moments"], np.float64)
    total = (1.0 - spec.lam) * np.asarray(log_parts["alignment"], np.float64) + spec.lam * reg
    return float(total[keep].mean())


def run_one(c: LeJEPAConfig, spec: TrainSpec, seed: int, detail: bool = False, progress: bool = False) -> RunResult:
    """Train one run and measure it; ``detail`` adds the grid image, the SIGReg readings, the planning
    test and the untrained control. A run with ``continue_steps`` is measured when trained, then
    continued at the constant peak rate and its R² (and fixed-grid R²) read again: ``settle`` is the
    change, ``drift`` its size (``grid_settle``, ``grid_drift`` on the fixed grid)."""
    start = time.perf_counter()
    g = mixing(spec.mixing)
    z, z_next = eval_world(c, spec)
    x_curve, z_curve = g(z[:c.curve_points]), z[:c.curve_points]
    z_grid = fixed_grid(c)
    x_grid = g(z_grid)
    curve_step, curve_r2 = [], []
    m: dict[str, float] = {}
    out: dict = {"grid": None, "plans": {}}

    def checkpoint(model, done: int) -> None:
        curve_step.append(done)
        curve_r2.append(r2_linear(embed(model, x_curve), z_curve))

    def measure(model) -> None:
        h, h_next = embed(model, g(z)), embed(model, g(z_next))
        m.update(identifiability_metrics(z, h, h_next, spec.rho))
        m["r2_hz_grid"] = r2_linear(embed(model, x_grid), z_grid)  # the official figure's metric
        m["shrinkage"] = math.sqrt(m["trace_cov"] / 2)
        if detail:
            out["grid"], out["plans"] = _detail(c, spec, seed, model, z, z_next, h, m)

    model, log = train(c.learner, spec, seed, progress, checkpoints=min(c.checkpoints, spec.steps),
                       on_checkpoint=checkpoint, on_trained=measure)
    if spec.continue_steps:
        h_cont = embed(model, g(z))
        r2_cont, r2_grid_cont = r2_linear(h_cont, z), r2_linear(embed(model, x_grid), z_grid)
        m["trace_cov_continued"] = float(np.trace(np.atleast_2d(np.cov(h_cont.T))))
        if max(m["trace_cov"], m["trace_cov_continued"]) < COLLAPSED:
            # a collapsed cloud's R² reads float32 rounding, not the latent: a run that stays collapsed
            # has settled (collapse is judged by tr Cov, which stayed below COLLAPSED)
            r2_cont, r2_grid_cont = m["r2_hz"], m["r2_hz_grid"]
        m.update(settle=r2_cont - m["r2_hz"], drift=abs(r2_cont - m["r2_hz"]),
                 grid_settle=r2_grid_cont - m["r2_hz_grid"], grid_drift=abs(r2_grid_cont - m["r2_hz_grid"]))
    else:
        measure(model)
    m["final_loss"] = final_loss(log.step, log.parts, spec, c.learner.batch)
    return RunResult(spec, seed, m, log.step, log.parts, out["grid"], out["plans"], time.perf_counter() - start,
                     curve_step, curve_r2)


def _detail(c: LeJEPAConfig, spec: TrainSpec, seed: int, model, z, z_next, h, m: dict) -> tuple:
    """The T1 runs' extra readings, into ``m``: SIGReg at the training size (shears), the untrained
    control and the planning test; returns the learned latent grid image and the decoded plans."""
    g = mixing(spec.mixing)
    if spec.mixing in SHEARS:
        # SIGReg as the loss reads it (2·batch points), on fresh points, averaged over many batches: as is,
        # and z-scored (the cloud's shape alone)
        size = 2 * c.learner.batch
        z_floor = ou_pairs(streams.rng(c.eval_seed, "eval", "floor_points", str(seed)), size * c.floor_batches,
                           spec.rho)[0]
        h_floor = embed(model, g(z_floor))
        m["sigreg_eval"] = sigreg_level(h_floor, size, c.floor_batches, c.floor_slices, seed)
        m["sigreg_zscored"] = sigreg_level(zscore(h_floor), size, c.floor_batches, c.floor_slices, seed)
    grid = np.stack([embed(model, g(line)) for line in latent_grid()])
    rng = streams.rng(c.eval_seed, "eval", "plan_pairs", str(seed))
    a, b = rng.choice(len(z), (2, c.plan_pairs), replace=False)
    untrained = encoder(c.learner, init_key(seed, spec.restart), kind=spec.encoder)  # train()'s initial weights
    h0 = embed(untrained, g(z))
    m["untrained_r2_hz"] = identifiability_metrics(z, h0, embed(untrained, g(z_next)), spec.rho)["r2_hz"]
    plans = {}
    for name, hh in (("plan_ratio", h), ("untrained_plan_ratio", h0)):
        decode = knn_decoder(hh, z, c.knn)
        m[name] = float(path_length_ratio(decode, hh[a], hh[b], z[a], z[b], c.plan_steps).mean())
        plans[name] = decode_plan(decode, hh[a[:6]], hh[b[:6]], c.plan_steps)
    plans["ends"] = np.stack([z[a[:6]], z[b[:6]]], axis=1)
    return grid, plans


@dataclass
class SeedResult:
    """One seed's runs by tag and the per-seed metrics the claims read."""

    seed: int
    runs: dict[str, RunResult]
    metrics: dict[str, float] = field(default_factory=dict)


def seed_metrics(c: LeJEPAConfig, runs: dict[str, RunResult]) -> dict[str, float]:
    """Flatten a seed's runs into named per-seed metrics: every run's R² and tr Cov, the fixed-grid R² of
    the T1 and T2 runs, and the convergence test's change (``settle``, ``drift``; T2 also on the fixed
    grid) of the runs that carry it, under the names :mod:`jepabook.lejepa.names` gives
    (``t1_spiral_r2``, ``t2_alpha=2_r2grid``, ``grid_lam=0.001_rho=0.81_drift``, …); restarts are not
    flattened (``t1/coupling`` is the one kept); then the literal per-seed ones."""
    m: dict[str, float] = {}
    for tag, r in runs.items():
        k = names.kind(tag)
        if k == "restart":
            continue
        m[names.metric(tag, "r2")] = r.metrics["r2_hz"]
        m[names.metric(tag, "cov")] = r.metrics["trace_cov"]
        if k in ("t1", "t1x", "t2", "t2c"):
            m[names.metric(tag, "r2grid")] = r.metrics["r2_hz_grid"]
        if r.tag_spec.continue_steps:
            m[names.metric(tag, "settle")] = r.metrics["settle"]
            m[names.metric(tag, "drift")] = r.metrics["drift"]
            if k == "t2":
                m[names.metric(tag, "griddrift")] = r.metrics["grid_drift"]
    t1 = runs[names.t1_tag(c.plan_mixing)].metrics
    m.update(plan_ratio=t1["plan_ratio"], untrained_plan_ratio=t1["untrained_plan_ratio"],
             untrained_r2=t1["untrained_r2_hz"], t1_r2=t1["r2_hz"])
    shears = [runs[names.t1_tag(x)].metrics for x in c.mixings if x in SHEARS]
    if shears:
        m["sigreg_trained"] = float(np.mean([r["sigreg_eval"] for r in shears]))
        m["sigreg_zscored"] = float(np.mean([r["sigreg_zscored"] for r in shears]))
        m["shrinkage"] = float(np.mean([r["shrinkage"] for r in shears]))
    sweep = [] if "moments" not in c.include else [(runs[names.moment_tag("moments", lam)].metrics["r2_hz"], runs[names.moment_tag("pure", lam)].metrics["r2_hz"])
             for lam in c.moment_lams if names.moment_tag("pure", lam) in runs]
    if sweep:  # the moment sweep, each arm's R² averaged over λ (what the paired rule compares), and how
        # far that average moved over the runs' continuations (what its settling precondition reads)
        m["moments_sweep_r2"] = float(np.mean([a for a, _ in sweep]))
        m["pure_sweep_r2"] = float(np.mean([b for _, b in sweep]))
        lams = [lam for lam in c.moment_lams if names.moment_tag("pure", lam) in runs]
        if all(runs[names.moment_tag(arm, lam)].tag_spec.continue_steps for lam in lams for arm in names.MOMENT_ARMS):
            m["moments_sweep_drift"] = abs(float(np.mean([runs[names.moment_tag("moments", lam)].metrics["settle"]
                                                          for lam in lams])))
            m["pure_sweep_drift"] = abs(float(np.mean([runs[names.moment_tag("pure", lam)].metrics["settle"]
                                                       for lam in lams])))
    return m


def pick_restart(c: LeJEPAConfig, runs: dict[str, RunResult]) -> dict[str, RunResult]:
    """``runs`` with ``t1/coupling`` set to the coupling restart of lowest final loss (the official
    scaling protocol); unchanged when the seed has no restarts."""
    tags = [names.restart_tag("coupling", k) for k in range(c.coupling_restarts)]
    if not all(t in runs for t in tags):
        return runs
    best = min(tags, key=lambda t: runs[t].metrics["final_loss"])
    return {**runs, names.t1_tag("coupling"): runs[best]}


def _run_seed_from(c: LeJEPAConfig, seed: int, results: dict[str, RunResult], floor: float | None = None) -> SeedResult:
    """A seed's result from its runs; ``floor``: its :func:`gaussian_floor`, when a pool task read it."""
    results = pick_restart(c, results)
    metrics = seed_metrics(c, results)
    metrics["sigreg_gaussian"] = gaussian_floor(c, seed) if floor is None else floor
    return SeedResult(seed, results, metrics)


def run_seed(config: LeJEPAConfig, seed: int, progress: bool = False, grid: bool = True,
             extensions: bool = True) -> SeedResult:
    """Every run of the chapter for one seed, in this process (``run`` spreads runs over processes)."""
    specs = config.specs(grid, extensions)
    detail = _detail_specs(config)
    done = {spec: run_one(config, spec, seed, spec in detail, progress) for spec in dict.fromkeys(specs.values())}
    return _run_seed_from(config, seed, {tag: done[spec] for tag, spec in specs.items()})


def _tasks(c: LeJEPAConfig, seeds) -> list[tuple[TrainSpec, int]]:
    """Every distinct (spec, seed) to train, longest runs first so parallel workers finish together."""
    tasks = [(spec, s) for s in seeds for spec in dict.fromkeys(_seed_specs(c, seeds, s).values())]
    return sorted(tasks, key=lambda t: -t[0].steps)


def _detail_specs(c: LeJEPAConfig) -> set[TrainSpec]:
    return {spec for tag, spec in c.specs().items() if names.kind(tag) in ("t1", "restart")}


def gaussian_floor(c: LeJEPAConfig, seed: int) -> float:
    """SIGReg read the same way on exact N(0, I) samples: the floor a perfect encoder would show."""
    size = 2 * c.learner.batch * c.floor_batches
    z = streams.rng(c.eval_seed, "eval", "gaussian_floor", str(seed)).standard_normal((size, 2))
    return sigreg_level(z, 2 * c.learner.batch, c.floor_batches, c.floor_slices, seed)


@dataclass
class LeJEPARun(ChapterResult):
    """Chapter 5 at one profile: per-seed metrics, the record, and each seed's runs for figures."""

    seeds: list[SeedResult] = field(default_factory=list)
    relu_run: RunResult | None = None  # the first seed's spiral T1 run retrained with ReLU (the activation check)

    def all_runs(self) -> list[tuple[str, RunResult]]:
        """Every distinct trained run (tag, result) over all seeds; shared specs appear once."""
        out, seen = [], set()
        for s in self.seeds:
            for tag, r in s.runs.items():
                if id(r) not in seen:
                    seen.add(id(r))
                    out.append((tag, r))
        return out


#: the second argument of a pool task that reads a seed's :func:`gaussian_floor` instead of training a run
FLOOR_TASK = "gaussian floor"
#: the second argument of the pool task that retrains the first seed's spiral T1 run with ReLU
RELU_TASK = "relu spiral"


def relu_spec(c: LeJEPAConfig) -> TrainSpec:
    """The activation check's run: the spiral T1 run without its continuation (its R² is read when
    training ends, where the GELU run's is read too)."""
    return replace(c.specs()[names.t1_tag("spiral")], continue_steps=0)


def _task(config: LeJEPAConfig, what, *args):
    """One pool task: ``run_one(config, spec, seed, detail, progress)``; (``what`` is
    :data:`FLOOR_TASK`) ``gaussian_floor(config, seed)``, ~1.7 s a seed that would otherwise run after
    the pool, on one core, in the measure phase; or (:data:`RELU_TASK`) the spiral run of ``seed``
    retrained with ReLU, which the page shows beside GELU's (~12 s that would otherwise run in the
    notebook, on one core)."""
    if what == FLOOR_TASK:
        return gaussian_floor(config, *args)
    if what == RELU_TASK:
        return run_one(replace(config, learner=replace(config.learner, activation="relu")), relu_spec(config), *args)
    return run_one(config, what, *args)


def _plan(config: LeJEPAConfig, seeds: list[int], progress: bool) -> Plan:
    detail = _detail_specs(config)
    runs = [(config, spec, seed, spec in detail, progress) for spec, seed in _tasks(config, seeds)]
    if "spiral" in config.mixings:  # among the runs by length (they go longest first)
        relu_steps = relu_spec(config).steps
        at = sum(t[1].steps >= relu_steps for t in runs)
        runs.insert(at, (config, RELU_TASK, seeds[0]))
    # the floors last: short tasks that fill a worker's idle time while the other finishes a run
    return Plan(_task, runs + [(config, FLOOR_TASK, seed) for seed in seeds])


def _measure(config: LeJEPAConfig, seeds: list[int], plan: Plan, outputs: list) -> LeJEPARun:
    floors = {t[2]: r for t, r in zip(plan.tasks, outputs) if t[1] == FLOOR_TASK}
    relu = next((r for t, r in zip(plan.tasks, outputs) if t[1] == RELU_TASK), None)
    runs = [(t, r) for t, r in zip(plan.tasks, outputs) if t[1] not in (FLOOR_TASK, RELU_TASK)]
    done = {(t[1], t[2]): r for t, r in runs}
    results = [_run_seed_from(config, s, {tag: done[(spec, s)] for tag, spec in _seed_specs(config, seeds, s).items()},
                              floors.get(s))
               for s in seeds]
    plan.timing_s.update(runs_cpu_sum=sum(r.seconds for _, r in runs), runs=float(len(runs)))
    # every metric's values in seed order, over the seeds that measured it (the map: the first grid_seeds)
    names_all = dict.fromkeys(k for r in results for k in r.metrics)
    metrics = {name: [r.metrics[name] for r in results if name in r.metrics] for name in names_all}
    return LeJEPARun(config, metrics, seeds=results, relu_run=relu)


CHAPTER = Chapter("lejepa", PROFILES, _plan, _measure)


def run(profile: str = "full", seeds=None, progress: bool | str | None = None, workers: int | None = None,
        executor=None, **overrides) -> LeJEPARun:
    """Run Chapter 5 at ``profile`` over ``seeds`` (default: the profile's published seeds);
    ``overrides`` replace config fields (for exploration); ``executor`` runs the tasks elsewhere."""
    result = run_chapter(CHAPTER, profile, seeds, progress, workers, executor, **overrides)
    result.record.timing_s["runs_wall"] = result.record.timing_s["tasks_wall"]
    return result
