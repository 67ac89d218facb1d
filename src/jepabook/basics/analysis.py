"""Chapter 1's numbers for the prose and its figures, computed from a run (none in the notebook's cells).

Explained in Chapter 1 (JEPA basics). Every function reads a finished
:class:`~jepabook.basics.experiment.BasicsRun` (its ``metrics``, ``seeds`` or one seed's embedding);
none trains anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["energy_summary", "final_part", "push_ratio", "shadow_variance_curve"]


def final_part(seeds: Sequence, arm: str, part: str) -> list[float]:
    """Per-seed last logged value of the loss part ``part`` (e.g. ``"regulariser"``) of ``arm``.

    ``seeds`` is ``run.seeds`` (each with ``logs[arm].parts[part]``).
    """
    return [float(s.logs[arm].parts[part][-1]) for s in seeds]


def push_ratio(metrics: Mapping[str, Sequence[float]], spread: str = "0.01", a: str = "ep",
               b: str = "raw_moments") -> float:
    """Seed mean of the per-seed ratio of test ``a``'s outward push to test ``b``'s at ``spread``.

    Reads ``<a>_push_<spread>`` and ``<b>_push_<spread>`` (see
    :func:`jepabook.basics.diagnostics.collapse_push`): how many times harder ``a`` pushes.
    """
    num = np.asarray(metrics[f"{a}_push_{spread}"], dtype=np.float64)
    den = np.asarray(metrics[f"{b}_push_{spread}"], dtype=np.float64)
    return float(np.mean(num / den))


def energy_summary(metrics: Mapping[str, Sequence[float]], arm: str) -> dict[str, float]:
    """The arm's seed-mean energy of neighbour pairs and of random pairs, and their ratio (random / neighbours).

    The ratio is of the two seed means, as the chapter prints it.
    """
    near = float(np.mean(metrics[f"{arm}_energy_neighbour"]))
    far = float(np.mean(metrics[f"{arm}_energy_random"]))
    return {"neighbours": near, "random": far, "ratio": far / near}


def shadow_variance_curve(z: np.ndarray, angles: np.ndarray) -> dict[str, np.ndarray]:
    """Variance along each coordinate axis, and of the shadow ``aᵀz`` in the cloud's two widest directions.

    For a unit ``a = cos θ·u₁ + sin θ·u₂`` (``u₁``, ``u₂`` the covariance's top two eigenvectors) the
    shadow variance is ``aᵀΣa = cos²θ·λ₁ + sin²θ·λ₂``; at θ = 0 it is the largest eigenvalue that
    :func:`jepabook.basics.diagnostics.cloud_shape` reports as the variance along the cloud.
    Returns ``{"axis": (dim,), "shadow": (len(angles),)}``.
    """
    cov = np.cov(np.asarray(z, dtype=np.float64).T)
    evals = np.linalg.eigvalsh(cov)
    angles = np.asarray(angles, dtype=np.float64)
    return {"axis": np.diag(cov).copy(), "shadow": np.cos(angles) ** 2 * evals[-1] + np.sin(angles) ** 2 * evals[-2]}
