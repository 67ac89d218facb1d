"""Chapter 5's numbers for the prose and its figures, computed from a run (none in the notebook's cells).

Explained in Chapter 5 (LeJEPA's world-model theorems). The functions read a finished
:class:`~jepabook.lejepa.experiment.LeJEPARun`: its per-seed metrics, and the per-run results
(``run.seeds[i].runs[tag]``, ``run.all_runs()``) for what the claims do not summarise.
"""

from __future__ import annotations

from collections.abc import Sequence

import mlx.core as mx
import numpy as np
from mlx.utils import tree_flatten

from jepabook.core.report import mean_of
from jepabook.lejepa import names
from jepabook.lejepa.experiment import LeJEPAConfig, eval_world
from jepabook.lejepa.learner import Learner, encoder

__all__ = ["PAPER_STEPS", "alpha_sweep", "bound_summary", "cost_summary", "encoder_parameters", "eval_mean_sq_norm",
           "grid_means", "mean_sq_norm", "paper_ratio", "regime_summary", "run_metric", "start_cov_trace", "t1_mean"]

#: the paper's training length, every run
PAPER_STEPS = 20_000


def run_metric(run, tag: str, key: str) -> list[float]:
    """Per-seed value of the run ``tag``'s metric ``key`` (e.g. ``"t1/spiral"``, ``"orth_err"``)."""
    return [float(s.runs[tag].metrics[key]) for s in run.seeds]


def t1_mean(run, key: str, exclude: Sequence[str] = ("spiral",)) -> float:
    """Mean of the T1 runs' metric ``key`` over every seed and every mixing but ``exclude``."""
    c = run.config
    return float(np.mean([s.runs[names.t1_tag(m)].metrics[key] for s in run.seeds for m in c.mixings if m not in exclude]))


def alpha_sweep(run, tolerance: float = 0.01) -> dict:
    """The T2 sweep: per-α seed mean and sd of R²(h → z), the α of the best mean, the αs within
    ``tolerance`` of it (the plateau) and the worst mean."""
    c = run.config
    r2 = np.array([run.per_seed(names.t2_metric(a)) for a in c.alphas], dtype=np.float64)  # (alphas, seeds)
    mean = r2.mean(1)
    sd = r2.std(1, ddof=1) if r2.shape[1] > 1 else np.zeros(len(c.alphas))
    return {"alphas": tuple(c.alphas), "mean": mean, "sd": sd, "peak": float(c.alphas[int(np.argmax(mean))]),
            "plateau": [a for a, v in zip(c.alphas, mean) if v >= mean.max() - tolerance],
            "min": float(mean.min())}


def bound_summary(runs, collapsed_below: float = 0.02) -> dict[str, float]:
    """Theorem 3's bound over ``runs`` (``run.all_runs()``: (tag, result) pairs), Gaussian world apart.

    Keys: ``t3_n`` / ``t3_ok`` (α = 2 runs, and how many obey Procrustes error ≤ bound),
    ``t3_other_n`` / ``t3_other_ok`` (α ≠ 2), ``t3_viol_n`` (α = 2 runs above the bound),
    ``t3_viol_collapsed`` (of those, how many have tr Cov(h) < ``collapsed_below``) and
    ``t3_max_excess`` (their largest error − bound; 0 when none).
    """
    gauss = [r for _, r in runs if r.tag_spec.alpha == 2.0]
    other = [r for _, r in runs if r.tag_spec.alpha != 2.0]
    holds = lambda r: r.metrics["procrustes"] <= r.metrics["bound"]  # noqa: E731
    viol = [r for r in gauss if not holds(r)]
    return {"t3_ok": sum(holds(r) for r in gauss), "t3_n": len(gauss),
            "t3_other_ok": sum(holds(r) for r in other), "t3_other_n": len(other),
            "t3_viol_n": len(viol), "t3_viol_collapsed": sum(r.metrics["trace_cov"] < collapsed_below for r in viol),
            "t3_max_excess": max([r.metrics["procrustes"] - r.metrics["bound"] for r in viol], default=0.0)}


def mean_sq_norm(z: np.ndarray) -> float:
    """Sample mean of ‖z‖² over the rows of ``z`` (n for an exact n-dimensional standard normal)."""
    return float((np.asarray(z, dtype=np.float64) ** 2).sum(1).mean())


def eval_mean_sq_norm(config: LeJEPAConfig, spec) -> float:
    """:func:`mean_sq_norm` of the world ``spec``'s fixed evaluation points (what T3's error reads at collapse)."""
    return mean_sq_norm(eval_world(config, spec)[0])


def grid_means(run, kind: str) -> np.ndarray:
    """``(λ, ρ)`` seed means of the regime map's ``kind`` (``"r2"`` or ``"cov"``)."""
    c = run.config
    return np.array([[mean_of(run, names.grid_metric(lam, r, kind)) for r in c.grid_rhos] for lam in c.grid_lams])


def regime_summary(run) -> dict[str, float | str]:
    """The regime map's quoted numbers.

    ``collapse_cov``: final tr Cov(h) at the smallest λ, mean over the two smallest ρ; ``strong_r2``:
    R² at the largest λ, mean over ρ; ``edge_metric``: the metric name of λ = 1e-2 (else the middle λ)
    at the largest ρ, whose seed mean and sd the prose quotes.
    """
    c = run.config
    r2, cov = grid_means(run, "r2"), grid_means(run, "cov")
    edge = [lam for lam in c.grid_lams if lam == 1e-2] or [c.grid_lams[len(c.grid_lams) // 2]]
    return {"collapse_cov": float(cov[0, :2].mean()), "strong_r2": float(r2[-1].mean()),
            "edge_metric": names.grid_metric(edge[0], c.grid_rhos[-1])}


def start_cov_trace(runs) -> float:
    """Mean tr Cov(h) at the first logged step over the regime map's runs (``run.all_runs()``)."""
    return float(np.mean([r.log_parts["cov_trace"][0] for t, r in runs if names.kind(t) == "grid"]))


def paper_ratio(steps: int) -> float:
    """How many times shorter a run of ``steps`` is than the paper's :data:`PAPER_STEPS`."""
    return PAPER_STEPS / steps


def encoder_parameters(learner: Learner) -> int:
    """Parameter count of the chapter's encoder at ``learner``'s sizes."""
    return int(sum(v.size for _, v in tree_flatten(encoder(learner, mx.random.key(0)).parameters())))


def cost_summary(cost: dict[str, float], paper_cost: dict[str, float], relu_cost: dict[str, float],
                 paper_steps: int = PAPER_STEPS, exact_gelu_cost: dict[str, float] | None = None) -> dict[str, float]:
    """The cost numbers the prose quotes, from :func:`jepabook.lejepa.learner.step_seconds` timings of our
    learner (``cost``), the paper's (``paper_cost``), ours with ReLU (``relu_cost``) and, optionally,
    ours with ``mlx.nn.gelu`` (``exact_gelu_cost``).

    Keys: ``step_ms``, ``sigreg_share`` (% of our step), ``gelu_share`` (% of our step that ReLU
    saves), ``paper_step_ms``, ``paper_sigreg_ms`` and ``paper_run_min`` (one run of ``paper_steps``);
    with ``exact_gelu_cost`` also ``exact_gelu_ratio`` (how many times slower a step is with ``nn.gelu``).
    """
    extra = {} if exact_gelu_cost is None else {"exact_gelu_ratio": exact_gelu_cost["step"] / cost["step"]}
    return extra | {"step_ms": 1e3 * cost["step"], "sigreg_share": 100 * cost["sigreg"] / cost["step"],
            "gelu_share": 100 * (1 - relu_cost["step"] / cost["step"]),
            "paper_step_ms": 1e3 * paper_cost["step"], "paper_sigreg_ms": 1e3 * paper_cost["sigreg"],
            "paper_run_min": paper_steps * paper_cost["step"] / 60}
