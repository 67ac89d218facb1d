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
from jepabook.lejepa.claims import T3_SLACK
from jepabook.lejepa.experiment import LeJEPAConfig, eval_world
from jepabook.lejepa.learner import Learner, encoder
from jepabook.lejepa.worlds import copula_ceiling

__all__ = ["CONTROL_COMMAND", "PAPER_STEPS", "alpha_sweep", "control_summary", "load_control", "bound_summary", "cost_summary", "curve", "curve_change", "encoder_parameters", "max_drift",
           "eval_mean_sq_norm", "grid_means", "mean_sq_norm", "paper_ratio", "regime_summary", "run_metric",
           "start_cov_trace", "t1_mean"]

#: the paper's training length, every run
PAPER_STEPS = 20_000


#: the command that makes the paper-size control record (never run by ``make book``)
CONTROL_COMMAND = "PYTHONPATH=src nice -n 10 python benchmarks/lejepa_control.py --seed 0"


def load_control(results=None) -> dict | None:
    """The paper-size control record ``results/lejepa-control.json`` (T1 and T2 at width 256 and 20,000
    steps, one seed; written by ``benchmarks/lejepa_control.py``), or None where it has not been run."""
    import json
    from pathlib import Path

    from jepabook.core.results import published_dir

    path = (published_dir() if results is None else Path(results)) / "lejepa-control.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def control_summary(record: dict | None) -> str:
    """One sentence on the control record: its T1 R² by mixing and its T2 fixed-grid R² by α, or how to
    make it when it is missing."""
    if record is None:
        return f"not run yet (about an hour on 2 cores; the command: {CONTROL_COMMAND})"
    ctl = record["control"]
    runs = ctl["runs"]
    t1 = ", ".join(f"{tag.split('/')[1]} {v['r2_hz']:.3f}" for tag, v in runs.items() if names.kind(tag) == "t1")
    t2 = ", ".join(f"α = {a:g}: {v:.3f}" for a, v in zip(ctl["t2_alphas"], ctl["t2_r2grid"]))
    return f"{ctl['what']}: T1 R² {t1}; T2 fixed-grid R² {t2} (made by: {ctl['command']})"


def run_metric(run, tag: str, key: str) -> list[float]:
    """Per-seed value of the run ``tag``'s metric ``key`` (e.g. ``"t1/spiral"``, ``"orth_err"``), over
    the seeds that ran it."""
    return [float(s.runs[tag].metrics[key]) for s in run.seeds if tag in s.runs]


def curve(run, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """The convergence curve of run ``tag``: its checkpoint steps and ``(seeds, checkpoints)`` R²(h → z)."""
    rs = [s.runs[tag] for s in run.seeds if tag in s.runs]
    return np.array(rs[0].curve_step), np.array([r.curve_r2 for r in rs], dtype=np.float64)


def curve_change(run, tag: str, since: float = 0.5) -> float:
    """Mean over seeds of |R² at the end − R² at the checkpoint ``since`` of the way through| of run
    ``tag``: how much it still moved over its last ``1 − since`` of training."""
    steps, r2 = curve(run, tag)
    if not (0.0 < since < 1.0):
        raise ValueError(f"since must lie strictly between 0 and 1; got {since!r}")
    i = int(np.searchsorted(steps, since * steps[-1], side="right")) - 1  # the last checkpoint at or before it
    if not (0 <= i < len(steps) - 1):
        raise ValueError(f"the curve of {tag!r} has no checkpoint before the end at {since:g} of the run")
    return float(np.mean(np.abs(r2[:, -1] - r2[:, i])))


def max_drift(run, tags: Sequence[str], key: str = "drift") -> float:
    """The largest seed mean, over runs ``tags``, of the convergence test's change ``key`` (``"drift"``:
    R² on the evaluation points; ``"grid_drift"``: on the fixed grid)."""
    return float(max(np.mean(run_metric(run, t, key)) for t in tags))


def t1_mean(run, key: str, exclude: Sequence[str] = ("spiral",)) -> float:
    """Mean of the T1 runs' metric ``key`` over every seed and every mixing but ``exclude``."""
    c = run.config
    return float(np.mean([s.runs[names.t1_tag(m)].metrics[key] for s in run.seeds for m in c.mixings if m not in exclude]))


def alpha_sweep(run, tolerance: float = 0.01, world: str = "additive", quantity: str = "r2") -> dict:
    """The T2 sweep in ``world`` ("additive": the claims' world; "copula": the extension, whose α = 2 run
    is the shared Gaussian one) of ``quantity`` (``"r2"``: R²(h → z) on each law's own evaluation
    points; ``"r2grid"``: on the official fixed grid, what the claims read): per-α seed mean and sd, the α of the best mean, the αs
    within ``tolerance`` of it (the plateau), the worst mean, and each α's loss-optimum ceiling
    (1 everywhere in the additive world's reading; :func:`~jepabook.lejepa.worlds.copula_ceiling`)."""
    c = run.config
    if quantity not in ("r2", "r2grid"):
        raise ValueError(f"quantity must be 'r2' or 'r2grid'; got {quantity!r}")
    if world == "additive":
        alphas, metric = tuple(c.alphas), lambda a: names.t2_metric(a, quantity)  # noqa: E731
    elif world == "copula":
        alphas = tuple(sorted((*c.copula_alphas, 2.0)))
        metric = lambda a: names.t2_metric(a, quantity) if a == 2.0 else names.t2c_metric(a, quantity)  # noqa: E731
    else:
        raise ValueError(f"world must be 'additive' or 'copula'; got {world!r}")
    per_alpha = [run.per_seed(metric(a)) for a in alphas]
    n = min(len(v) for v in per_alpha)  # the extension ran on the first seeds only: α = 2 on the same ones
    r2 = np.array([v[:n] for v in per_alpha], dtype=np.float64)  # (alphas, seeds)
    mean = r2.mean(1)
    sd = r2.std(1, ddof=1) if r2.shape[1] > 1 else np.zeros(len(alphas))
    ceiling = np.array([copula_ceiling(a) if world == "copula" else 1.0 for a in alphas])
    return {"alphas": alphas, "mean": mean, "sd": sd, "n": int(r2.shape[1]), "peak": float(alphas[int(np.argmax(mean))]),
            "plateau": [a for a, v in zip(alphas, mean) if v >= mean.max() - tolerance],
            "min": float(mean.min()), "ceiling": ceiling, "of_ceiling": mean / ceiling}


def bound_summary(runs, collapsed_below: float = 0.02, slack: float = T3_SLACK) -> dict[str, float]:
    """Theorem 3's bound over ``runs`` (``run.all_runs()``: (tag, result) pairs), Gaussian world apart,
    on the centred error (``procrustes_centred``) the claim reads.

    Keys: ``t3_n`` / ``t3_ok`` (α = 2 runs, and how many obey error ≤ bound + ``slack``), ``t3_strict``
    (how many obey it with no slack), ``t3_at_bound`` (collapsed runs, tr Cov(h) < ``collapsed_below``,
    whose error is within ``slack`` of the bound), ``t3_collapsed`` (collapsed α = 2 runs),
    ``t3_other_n`` / ``t3_other_ok`` (α ≠ 2), ``t3_viol_n`` (α = 2 runs above bound + slack) and
    ``t3_max_excess`` (the largest error − bound over the α = 2 runs; ≤ 0 when every run is under it).
    """
    gauss = [r for _, r in runs if r.tag_spec.alpha == 2.0]
    other = [r for _, r in runs if r.tag_spec.alpha != 2.0]
    excess = lambda r: r.metrics["procrustes_centred"] - r.metrics["bound"]  # noqa: E731
    collapsed = [r for r in gauss if r.metrics["trace_cov"] < collapsed_below]
    return {"t3_ok": sum(excess(r) <= slack for r in gauss), "t3_n": len(gauss),
            "t3_strict": sum(excess(r) <= 0 for r in gauss),
            "t3_collapsed": len(collapsed), "t3_at_bound": sum(abs(excess(r)) <= slack for r in collapsed),
            "t3_other_ok": sum(excess(r) <= slack for r in other), "t3_other_n": len(other),
            "t3_viol_n": sum(excess(r) > slack for r in gauss),
            "t3_max_excess": max((excess(r) for r in gauss), default=0.0)}


def mean_sq_norm(z: np.ndarray) -> float:
    """Sample mean of ‖z‖² over the rows of ``z`` (n for an exact n-dimensional standard normal)."""
    return float((np.asarray(z, dtype=np.float64) ** 2).sum(1).mean())


def eval_mean_sq_norm(config: LeJEPAConfig, spec) -> float:
    """:func:`mean_sq_norm` of the world ``spec``'s fixed evaluation points (what T3's error reads at collapse)."""
    return mean_sq_norm(eval_world(config, spec)[0])


def grid_means(run, kind: str) -> np.ndarray:
    """``(λ, ρ)`` seed means of the regime map's ``kind`` (``"r2"``, ``"cov"`` or ``"settle"``)."""
    c = run.config
    return np.array([[mean_of(run, names.grid_metric(lam, r, kind)) for r in c.grid_rhos] for lam in c.grid_lams])


def regime_summary(run) -> dict[str, float]:
    """The regime map's quoted numbers: ``collapse_cov`` (largest final tr Cov(h) at the smallest λ over
    ρ), ``strong_r2`` (largest R² at the largest λ over ρ), ``strong_cov`` (smallest tr Cov there) and
    ``max_settle`` / ``max_settle_lam`` / ``max_settle_rho`` (the cell whose R² moved most over its
    continuation at the constant rate, mean over seeds of the size, and where it is; over the cells
    that carry the test)."""
    c = run.config

    def drift(lam, r):
        name = names.grid_metric(lam, r, "settle")
        return float(np.mean(np.abs(run.per_seed(name)))) if name in run.metrics else np.nan

    r2, cov = grid_means(run, "r2"), grid_means(run, "cov")
    settle = np.array([[drift(lam, r) for r in c.grid_rhos] for lam in c.grid_lams])
    i, j = np.unravel_index(int(np.nanargmax(settle)), settle.shape)
    return {"collapse_cov": float(cov[0].max()), "strong_r2": float(r2[-1].max()), "strong_cov": float(cov[-1].min()),
            "max_settle": float(settle[i, j]), "max_settle_lam": float(c.grid_lams[i]),
            "max_settle_rho": float(c.grid_rhos[j])}


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
