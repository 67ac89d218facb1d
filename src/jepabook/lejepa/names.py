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
Runs that carry the convergence test (T1, T2, the moment sweep, the map's rows the band claims read)
also report ``settle``, how much R² moved over a continuation at the constant peak rate, and ``drift``,
its absolute value (what the settling preconditions read); T2 runs also ``griddrift``, on the fixed
grid, and T1 and T2 runs ``r2grid``, R² on the official fixed grid. ``restart/coupling/k=…`` tags are
the coupling flow's restarts (not flattened to metrics). The per-seed
metrics that are not per run are literal: ``plan_ratio``, ``untrained_plan_ratio``, ``untrained_r2``,
``t1_r2``, ``sigreg_trained``, ``sigreg_zscored``, ``shrinkage``, ``sigreg_gaussian``,
``moments_sweep_r2``, ``pure_sweep_r2``, ``moments_sweep_drift``, ``pure_sweep_drift``.
"""

from __future__ import annotations

__all__ = ["KINDS", "PUBLISHED", "QUANTITIES", "kind", "t1_tag", "restart_tag", "t1x_tag", "t2_tag", "t2c_tag", "grid_tag", "moment_tag",
           "metric", "t1_metric", "t1x_metric", "t2_metric", "t2c_metric", "grid_metric", "moment_metric"]

#: what runs report as per-seed metrics: R²(h → z) on the world's own evaluation points, ``r2grid`` the
#: same on the official code's fixed grid over [−3, 3]² (T1 and T2 runs), tr Cov(h), and for the runs
#: that carry the convergence test the change of R² over the continuation at a constant rate (``settle``),
#: its size (``drift``) and, T2, its size on the fixed grid (``griddrift``)
QUANTITIES = ("r2", "r2grid", "cov", "settle", "drift", "griddrift")
MOMENT_ARMS = ("moments", "pure")
#: the first part of every tag; ``restart`` runs are the coupling flow's restarts, not flattened to metrics
KINDS = ("t1", "restart", "t1x", "t2", "t2c", "grid") + MOMENT_ARMS


def kind(tag: str) -> str:
    """Which sweep run ``tag`` belongs to: one of :data:`KINDS`."""
    k = tag.split("/", 1)[0]
    if k not in KINDS:
        raise ValueError(f"tag must start with one of {KINDS}; got {tag!r}")
    return k


def t1_tag(mixing: str) -> str:
    return f"t1/{mixing}"


def restart_tag(mixing: str, k: int) -> str:
    """Restart ``k`` of the T1 run on ``mixing`` (restart 0 is the seed's own streams)."""
    return f"restart/{mixing}/k={k}"


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
    if quantity in PUBLISHED.get(tag, {}):
        return PUBLISHED[tag][quantity]  # the published profiles' names: one literal table (below)
    # a grid point no published profile runs (an exploration's override): the same rule, built
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
#: every per-seed run metric the published profiles (full and ci) produce, by tag and quantity, written
#: out so that a search for a name lands here; ``tests/test_metric_names.py`` checks that :func:`metric`
#: builds exactly these names for both profiles
PUBLISHED = {
    "t1/spiral": {"r2": "t1_spiral_r2", "r2grid": "t1_spiral_r2grid", "cov": "t1_spiral_cov",
                  "settle": "t1_spiral_settle", "drift": "t1_spiral_drift"},
    "t1/parabolic": {"r2": "t1_parabolic_r2", "r2grid": "t1_parabolic_r2grid", "cov": "t1_parabolic_cov",
                     "settle": "t1_parabolic_settle", "drift": "t1_parabolic_drift"},
    "t1/sinusoidal": {"r2": "t1_sinusoidal_r2", "r2grid": "t1_sinusoidal_r2grid", "cov": "t1_sinusoidal_cov",
                      "settle": "t1_sinusoidal_settle", "drift": "t1_sinusoidal_drift"},
    "t1/coupling": {"r2": "t1_coupling_r2", "r2grid": "t1_coupling_r2grid", "cov": "t1_coupling_cov",
                    "settle": "t1_coupling_settle", "drift": "t1_coupling_drift"},
    "t1x/coupling": {"r2": "t1x_coupling_r2", "r2grid": "t1x_coupling_r2grid", "cov": "t1x_coupling_cov"},
    "t2/alpha=0.5": {"r2": "t2_alpha=0.5_r2", "r2grid": "t2_alpha=0.5_r2grid", "cov": "t2_alpha=0.5_cov",
                     "settle": "t2_alpha=0.5_settle", "drift": "t2_alpha=0.5_drift",
                     "griddrift": "t2_alpha=0.5_griddrift"},
    "t2/alpha=1": {"r2": "t2_alpha=1_r2", "r2grid": "t2_alpha=1_r2grid", "cov": "t2_alpha=1_cov",
                   "settle": "t2_alpha=1_settle", "drift": "t2_alpha=1_drift", "griddrift": "t2_alpha=1_griddrift"},
    "t2/alpha=1.5": {"r2": "t2_alpha=1.5_r2", "r2grid": "t2_alpha=1.5_r2grid", "cov": "t2_alpha=1.5_cov",
                     "settle": "t2_alpha=1.5_settle", "drift": "t2_alpha=1.5_drift",
                     "griddrift": "t2_alpha=1.5_griddrift"},
    "t2/alpha=2": {"r2": "t2_alpha=2_r2", "r2grid": "t2_alpha=2_r2grid", "cov": "t2_alpha=2_cov",
                   "settle": "t2_alpha=2_settle", "drift": "t2_alpha=2_drift", "griddrift": "t2_alpha=2_griddrift"},
    "t2/alpha=3": {"r2": "t2_alpha=3_r2", "r2grid": "t2_alpha=3_r2grid", "cov": "t2_alpha=3_cov",
                   "settle": "t2_alpha=3_settle", "drift": "t2_alpha=3_drift", "griddrift": "t2_alpha=3_griddrift"},
    "t2/alpha=5": {"r2": "t2_alpha=5_r2", "r2grid": "t2_alpha=5_r2grid", "cov": "t2_alpha=5_cov",
                   "settle": "t2_alpha=5_settle", "drift": "t2_alpha=5_drift", "griddrift": "t2_alpha=5_griddrift"},
    "t2c/alpha=0.5": {"r2": "t2c_alpha=0.5_r2", "r2grid": "t2c_alpha=0.5_r2grid", "cov": "t2c_alpha=0.5_cov"},
    "t2c/alpha=1": {"r2": "t2c_alpha=1_r2", "r2grid": "t2c_alpha=1_r2grid", "cov": "t2c_alpha=1_cov"},
    "t2c/alpha=5": {"r2": "t2c_alpha=5_r2", "r2grid": "t2c_alpha=5_r2grid", "cov": "t2c_alpha=5_cov"},
    "grid/lam=1e-05/rho=0.25": {"r2": "grid_lam=1e-05_rho=0.25_r2", "cov": "grid_lam=1e-05_rho=0.25_cov"},
    "grid/lam=1e-05/rho=0.81": {"r2": "grid_lam=1e-05_rho=0.81_r2", "cov": "grid_lam=1e-05_rho=0.81_cov"},
    "grid/lam=1e-05/rho=0.98": {"r2": "grid_lam=1e-05_rho=0.98_r2", "cov": "grid_lam=1e-05_rho=0.98_cov"},
    "grid/lam=0.001/rho=0.25": {"r2": "grid_lam=0.001_rho=0.25_r2", "cov": "grid_lam=0.001_rho=0.25_cov",
                                "settle": "grid_lam=0.001_rho=0.25_settle", "drift": "grid_lam=0.001_rho=0.25_drift"},
    "grid/lam=0.001/rho=0.81": {"r2": "grid_lam=0.001_rho=0.81_r2", "cov": "grid_lam=0.001_rho=0.81_cov",
                                "settle": "grid_lam=0.001_rho=0.81_settle", "drift": "grid_lam=0.001_rho=0.81_drift"},
    "grid/lam=0.001/rho=0.98": {"r2": "grid_lam=0.001_rho=0.98_r2", "cov": "grid_lam=0.001_rho=0.98_cov",
                                "settle": "grid_lam=0.001_rho=0.98_settle", "drift": "grid_lam=0.001_rho=0.98_drift"},
    "grid/lam=0.01/rho=0.25": {"r2": "grid_lam=0.01_rho=0.25_r2", "cov": "grid_lam=0.01_rho=0.25_cov",
                               "settle": "grid_lam=0.01_rho=0.25_settle", "drift": "grid_lam=0.01_rho=0.25_drift"},
    "grid/lam=0.01/rho=0.81": {"r2": "grid_lam=0.01_rho=0.81_r2", "cov": "grid_lam=0.01_rho=0.81_cov",
                               "settle": "grid_lam=0.01_rho=0.81_settle", "drift": "grid_lam=0.01_rho=0.81_drift"},
    "grid/lam=0.01/rho=0.98": {"r2": "grid_lam=0.01_rho=0.98_r2", "cov": "grid_lam=0.01_rho=0.98_cov",
                               "settle": "grid_lam=0.01_rho=0.98_settle", "drift": "grid_lam=0.01_rho=0.98_drift"},
    "grid/lam=0.1/rho=0.25": {"r2": "grid_lam=0.1_rho=0.25_r2", "cov": "grid_lam=0.1_rho=0.25_cov",
                              "settle": "grid_lam=0.1_rho=0.25_settle", "drift": "grid_lam=0.1_rho=0.25_drift"},
    "grid/lam=0.1/rho=0.81": {"r2": "grid_lam=0.1_rho=0.81_r2", "cov": "grid_lam=0.1_rho=0.81_cov",
                              "settle": "grid_lam=0.1_rho=0.81_settle", "drift": "grid_lam=0.1_rho=0.81_drift"},
    "grid/lam=0.1/rho=0.98": {"r2": "grid_lam=0.1_rho=0.98_r2", "cov": "grid_lam=0.1_rho=0.98_cov",
                              "settle": "grid_lam=0.1_rho=0.98_settle", "drift": "grid_lam=0.1_rho=0.98_drift"},
    "grid/lam=0.5/rho=0.25": {"r2": "grid_lam=0.5_rho=0.25_r2", "cov": "grid_lam=0.5_rho=0.25_cov"},
    "grid/lam=0.5/rho=0.81": {"r2": "grid_lam=0.5_rho=0.81_r2", "cov": "grid_lam=0.5_rho=0.81_cov"},
    "grid/lam=0.5/rho=0.98": {"r2": "grid_lam=0.5_rho=0.98_r2", "cov": "grid_lam=0.5_rho=0.98_cov"},
    "moments/lam=0.0001": {"r2": "moments_lam=0.0001_r2", "cov": "moments_lam=0.0001_cov",
                           "settle": "moments_lam=0.0001_settle", "drift": "moments_lam=0.0001_drift"},
    "moments/lam=3e-05": {"r2": "moments_lam=3e-05_r2", "cov": "moments_lam=3e-05_cov",
                          "settle": "moments_lam=3e-05_settle", "drift": "moments_lam=3e-05_drift"},
    "moments/lam=1e-05": {"r2": "moments_lam=1e-05_r2", "cov": "moments_lam=1e-05_cov",
                          "settle": "moments_lam=1e-05_settle", "drift": "moments_lam=1e-05_drift"},
    "pure/lam=0.0001": {"r2": "pure_lam=0.0001_r2", "cov": "pure_lam=0.0001_cov", "settle": "pure_lam=0.0001_settle",
                        "drift": "pure_lam=0.0001_drift"},
    "pure/lam=3e-05": {"r2": "pure_lam=3e-05_r2", "cov": "pure_lam=3e-05_cov", "settle": "pure_lam=3e-05_settle",
                       "drift": "pure_lam=3e-05_drift"},
    "pure/lam=1e-05": {"r2": "pure_lam=1e-05_r2", "cov": "pure_lam=1e-05_cov", "settle": "pure_lam=1e-05_settle",
                       "drift": "pure_lam=1e-05_drift"},
}
