"""Looking at an embedding cloud: its shadows, its characteristic-function fingerprint, its shape.

Explained in Chapter 1 (JEPA basics).
"""

from __future__ import annotations

import mlx.core as mx
import numpy as np

from jepabook.blocks.sigreg import epps_pulley, random_directions
from jepabook.core import streams

__all__ = ["PUSH_METRICS", "PUSH_SPREADS", "characteristic_function", "cloud_shape", "collapse_push", "push_curve", "shadow_meter", "shadows"]


def shadows(z: np.ndarray, key: mx.array, num: int) -> np.ndarray:
    """``(N, num)`` projections of the cloud ``z`` (N, dim) on ``num`` random unit directions."""
    z = np.asarray(z, dtype=np.float64)
    directions = np.array(random_directions(key, z.shape[1], num), dtype=np.float64)
    return z @ directions


def characteristic_function(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Empirical characteristic function ``(1/N) Σ e^{i t x_j}`` of the 1-D sample ``x`` at each ``t``."""
    x = np.asarray(x, dtype=np.float64).ravel()
    return np.exp(1j * np.outer(np.asarray(t, dtype=np.float64), x)).mean(axis=1)


def shadow_meter(z: np.ndarray, t: float, key: mx.array, num: int = 64) -> float:
    """The circle-wrap meter |mean e^{itx}| averaged over ``num`` random shadows of the cloud ``z``.

    1 when the shadow is a single point (everything wraps to one angle), e^{−t²/2} for a standard
    normal shadow, near 0 when the shadow is spread far wider than 1/t (the angles cancel).
    """
    proj = shadows(z, key, num)
    return float(np.abs(np.exp(1j * t * proj).mean(axis=0)).mean())


def cloud_shape(z: np.ndarray) -> dict[str, float]:
    """Variance along each coordinate axis (mean) vs along the cloud's widest and narrowest directions.

    The shadow variance along a unit direction ``a`` is ``aᵀ Σ a``; its extremes over all directions
    are the largest and smallest eigenvalues of the covariance ``Σ``.
    """
    cov = np.cov(np.asarray(z, dtype=np.float64).T)
    eig = np.linalg.eigvalsh(cov)
    return {"axis_variance_mean": float(np.diag(cov).mean()), "largest": float(eig[-1]), "smallest": float(eig[0])}


def _standardised_moments(x: mx.array) -> mx.array:
    """Jarque–Bera-style moment test: skewness² + (excess kurtosis)²/4 of the standardised sample."""
    c = x - mx.mean(x)
    var = mx.mean(c**2)
    skew = mx.mean(c**3) / var**1.5
    kurt = mx.mean(c**4) / var**2 - 3.0
    return skew**2 + 0.25 * kurt**2


def _raw_moments(x: mx.array) -> mx.array:
    """Mean² + (variance − 1)²: matching the first two moments of N(0, 1) without standardising."""
    return mx.mean(x) ** 2 + (mx.var(x) - 1.0) ** 2


COLLAPSE_TESTS = {"ep": lambda x: epps_pulley(x), "raw_moments": _raw_moments, "std_moments": _standardised_moments}


def push_curve(seed: int, spreads, n: int = 512) -> dict[str, np.ndarray]:
    """Outward push and alignment of each test in :data:`COLLAPSE_TESTS` at each spread ``s``.

    For ``x = s·u`` with ``u`` a fixed standard-normal sample (stream ``(seed, "push_sample")``), the outward push is
    ``−∂L/∂s = −∇L·u`` (positive: gradient descent grows the spread) and the alignment is the cosine
    between the descent direction ``−∇L`` and ``u``. Returns ``{"<test>_push": (len(spreads),), "<test>_cos": ...}``.
    """
    u = mx.array(streams.rng(seed, "push_sample").normal(size=n).astype(np.float32))
    out: dict[str, np.ndarray] = {}
    for name, test in COLLAPSE_TESTS.items():
        grad = mx.grad(test)
        push, cos = [], []
        for s in spreads:
            g = grad(float(s) * u)
            descent_dot_u = -(g * u).sum()
            push.append(descent_dot_u.item())
            cos.append((descent_dot_u / (mx.linalg.norm(g) * mx.linalg.norm(u) + 1e-30)).item())
        out[f"{name}_push"], out[f"{name}_cos"] = np.array(push), np.array(cos)
    return out


#: the metric names :func:`collapse_push` produces, written out so that a search finds them: per
#: collapse test, its (push, alignment) names at the two spreads 1e-3 and 1e-2
PUSH_SPREADS = (1e-3, 1e-2)
PUSH_METRICS = {
    "ep": (("ep_push_0.001", "ep_cos_0.001"), ("ep_push_0.01", "ep_cos_0.01")),
    "raw_moments": (("raw_moments_push_0.001", "raw_moments_cos_0.001"), ("raw_moments_push_0.01", "raw_moments_cos_0.01")),
    "std_moments": (("std_moments_push_0.001", "std_moments_cos_0.001"), ("std_moments_push_0.01", "std_moments_cos_0.01")),
}


def collapse_push(seed: int, n: int = 512) -> dict[str, float]:
    """The per-seed numbers Chapter 1's collapse-gradient check reads (see :func:`push_curve`).

    Keys (:data:`PUSH_METRICS`): ``<test>_push_<s>``, ``<test>_cos_<s>`` at the spreads
    :data:`PUSH_SPREADS`, ``ep_push_ratio`` (push at 1e-2 over 1e-3: 10 when the push grows
    linearly), and ``ep_grad_norm_at_collapse`` (‖∇EP‖ at ``s = 0``, where every sample sits at the origin).
    """
    curve = push_curve(seed, PUSH_SPREADS, n)
    out: dict[str, float] = {}
    for name, per_spread in PUSH_METRICS.items():
        for i, (push, cos) in enumerate(per_spread):
            out[push] = float(curve[f"{name}_push"][i])
            out[cos] = float(curve[f"{name}_cos"][i])
    zero = mx.zeros((n,), dtype=mx.float32)
    out["ep_grad_norm_at_collapse"] = float(mx.linalg.norm(mx.grad(COLLAPSE_TESTS["ep"])(zero)).item())
    out["ep_push_ratio"] = out["ep_push_0.01"] / out["ep_push_0.001"]
    return out
