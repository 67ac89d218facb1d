"""Run tags and metric names of Chapter 5, built in one place.

Chapters 1, 2 and 4 run a fixed list of arms, so their metric names are written out literally where
they are produced. Chapter 5 runs grids whose points come from the configuration (α, λ, ρ), so its
names cannot all be literals. They are built here and only here: the producer
(:func:`jepabook.lejepa.experiment.seed_metrics`), the claims, the analysis helpers and the chapter
all call these functions, and ``grep grid_lam=`` or ``grep t2_alpha=`` lands on the one place the
strings are formed.

A run's tag names its spec (``t1/spiral``, ``t1x/coupling`` (the MLP on the coupling world, an
extension), ``t2/alpha=2`` (additive world), ``t2c/alpha=0.5`` (copula world, an extension),
``grid/lam=0.001/rho=0.81``, ``moments/lam=1e-05``, ``pure/lam=1e-05``). A run's metric is its tag with ``/`` turned into ``_``
followed by the quantity: ``t1_spiral_r2``, ``t2_alpha=2_r2``, ``grid_lam=0.001_rho=0.81_cov``.
Grid runs also report ``settle``, how much R² moved over the run's last quarter. The per-seed
metrics that are not per run are literal: ``plan_ratio``, ``untrained_plan_ratio``, ``untrained_r2``,
``t1_r2``, ``sigreg_trained``, ``sigreg_zscored``, ``shrinkage``, ``sigreg_gaussian``.
"""

from __future__ import annotations

__all__ = ["KINDS", "QUANTITIES", "kind", "t1_tag", "t1x_tag", "t2_tag", "t2c_tag", "grid_tag", "moment_tag",
           "metric", "t1_metric", "t1x_metric", "t2_metric", "t2c_metric", "grid_metric", "moment_metric"]

#: what runs report as per-seed metrics: R²(h → z), tr Cov(h) and (grid runs) the last quarter's R² change
QUANTITIES = ("r2", "cov", "settle")
MOMENT_ARMS = ("moments", "pure")
KINDS = ("t1", "t1x", "t2", "t2c", "grid") + MOMENT_ARMS  # the first part of every tag


def kind(tag: str) -> str:
    """Which sweep run ``tag`` belongs to: one of :data:`KINDS`."""
    k = tag.split("/", 1)[0]
    if k not in KINDS:
        raise ValueError(f"tag must start with one of {KINDS}; got {tag!r}")
    return k


def t1_tag(mixing: str) -> str:
    return f"t1/{mixing}"


def t1x_tag(mixing: str) -> str:
    """The extension's run: the chapter's MLP on a world whose T1 row uses another encoder (the coupling)."""
    return f"t1x/{mixing}"


def t2_tag(alpha: float) -> str:
    return f"t2/alpha={alpha:g}"


def t2c_tag(alpha: float) -> str:
    return f"t2c/alpha={alpha:g}"


def grid_tag(lam: float, rho: float) -> str:
    return f"grid/lam={lam:g}/rho={rho:g}"


def moment_tag(arm: str, lam: float) -> str:
    """``arm`` is ``"moments"`` (SIGReg + the moment term) or ``"pure"`` (SIGReg alone)."""
    if arm not in MOMENT_ARMS:
        raise ValueError(f"arm must be one of {MOMENT_ARMS}; got {arm!r}")
    return f"{arm}/lam={lam:g}"


def metric(tag: str, quantity: str) -> str:
    """The per-seed metric name of run ``tag``'s ``quantity`` (one of :data:`QUANTITIES`)."""
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {QUANTITIES}; got {quantity!r}")
    return f"{tag.replace('/', '_')}_{quantity}"


def t1_metric(mixing: str, quantity: str = "r2") -> str:
    return metric(t1_tag(mixing), quantity)


def t1x_metric(mixing: str, quantity: str = "r2") -> str:
    return metric(t1x_tag(mixing), quantity)


def t2_metric(alpha: float, quantity: str = "r2") -> str:
    return metric(t2_tag(alpha), quantity)


def t2c_metric(alpha: float, quantity: str = "r2") -> str:
    return metric(t2c_tag(alpha), quantity)


def grid_metric(lam: float, rho: float, quantity: str = "r2") -> str:
    return metric(grid_tag(lam, rho), quantity)


def moment_metric(arm: str, lam: float, quantity: str = "r2") -> str:
    return metric(moment_tag(arm, lam), quantity)
