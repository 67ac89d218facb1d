"""SIGReg: the Epps–Pulley normality statistic and its sliced (Cramér–Wold) version.

Explained in Chapter 1 (JEPA basics); used as the anti-collapse term in Chapter 5 (LeJEPA).

The statistic compares the empirical characteristic function of a 1-D sample with the standard
normal one, ``EP(x) = N ∫ |φ̂(t) − e^{−t²/2}|² e^{−t²/2} dt``. The training version integrates over
``t ∈ [0, t_max]`` with the trapezoid rule of the official LeJEPA code (end weights ``dt``, interior
``2·dt``, so the half-line stands for the whole symmetric line). ``epps_pulley_exact`` is the
whole-line closed form, used to check the quadrature.

Speed: on MLX's CPU build a cos or sin costs ~13 ns per element, so evaluating them at every knot
dominates a training step. We take one cos and one sin of ``dt·x`` per element and reach all other
knots by the Chebyshev recurrence ``c_{k+1} = 2 cos(dt·x) c_k − c_{k−1}`` (the same for sine), which
is exact in exact arithmetic and loses ~1e-7 per step in float32.

``fast_trig=True`` goes further and replaces MLX's cos/sin themselves by :func:`fast_cos_sin`, a
range reduction plus a polynomial written in MLX arithmetic, which ``mx.compile`` turns into
vectorised multiply-adds (~5 ns per element for both, against ~30 ns for ``mx.cos`` + ``mx.sin``).
It agrees with ``mx.cos``/``mx.sin`` to 2e-7 (absolute) for |x| <= 1e4.

``closed_form_grad=True`` gives the statistic a hand-written gradient instead of the autodiff one
through the recurrence. With ``C_k``, ``S_k`` the sample means of ``cos(t_k x)``, ``sin(t_k x)``,
target ``τ_k = e^{−t_k²/2}`` and weights ``w_k`` (trapezoid × window),
``∂EP/∂x_n = 2 Σ_k w_k t_k [S_k cos(t_k x_n) − (C_k − τ_k) sin(t_k x_n)]`` (the sample size N of
``EP = N Σ_k w_k ((C_k − τ_k)² + S_k²)`` cancels the 1/N of the means). The forward keeps every
knot's cos and sin, so the backward is one weighted sum over the knots, about half the time of a
SIGReg forward and backward on Chapter 5's shapes (same values; gradients agree to float32 rounding).
"""

from __future__ import annotations

import math
from functools import lru_cache

import mlx.core as mx
import numpy as np

__all__ = [
    "EP_GAUSSIAN_FLOOR",
    "epps_pulley",
    "epps_pulley_direct",
    "epps_pulley_exact",
    "epps_pulley_1983",
    "expected_sigreg",
    "fast_cos_sin",
    "random_directions",
    "sigreg",
]

#: E[EP] for an exact N(0, 1) sample, any N: √(2π) − √(2π/3). SIGReg never goes below ~this.
EP_GAUSSIAN_FLOOR = math.sqrt(2 * math.pi) - math.sqrt(2 * math.pi / 3)


def _check_knots(t_max: float, n_points: int) -> None:
    if not (isinstance(n_points, int) and n_points >= 2):
        raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}")
    if not (math.isfinite(t_max) and t_max > 0):
        raise ValueError(f"t_max must be a finite positive number, got {t_max!r}")


def _knots(t_max: float, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """The knots ``linspace(0, t_max, n_points)`` and their half-line trapezoid weights (float64)."""
    t = np.linspace(0.0, t_max, n_points)
    dt = float(t[1] - t[0])
    weights = np.full(n_points, 2.0 * dt)
    weights[[0, -1]] = dt
    return t, weights


@lru_cache(maxsize=16)
def _quadrature(t_max: float, n_points: int) -> tuple[float, mx.array, mx.array]:
    """Knot spacing, the trapezoid weights times the window, and the target e^{−t²/2}."""
    t, weights = _knots(t_max, n_points)
    target = np.exp(-0.5 * t**2)
    return float(t[1] - t[0]), mx.array(weights * target, dtype=mx.float32), mx.array(target, dtype=mx.float32)


# Range reduction x = r + k·π with r in [−π/2, π/2], π split in three (Cody–Waite) so that k·PI_A and
# k·PI_B are exact in float32 for |k| < 2**12, i.e. |x| up to ~12,000.
_INV_PI = 1.0 / math.pi
_PI_A, _PI_B, _PI_C = 3.140625, 9.67502593994140625e-4, 1.509957990978376432e-7
# (v + _ROUND) − _ROUND rounds a float32 |v| < 2**22 to the nearest integer with two additions
# (mx.round and mx.floor are scalar calls in MLX's compiled CPU kernels; additions vectorise).
_ROUND = 12582912.0  # 1.5 · 2**23
# Taylor coefficients in r² of sin(r)/r (to r^11) and cos(r) (to r^12): truncation errors below
# 4e-8 and 7e-9 for |r| <= π/2. cos has its own even polynomial, not sin(r + π/2), so that cos(r)
# near r = 0 is as accurate as mx.cos there: the Chebyshev recurrence of epps_pulley multiplies
# an error in cos(dt·x) ≈ 1 by up to the knot count squared.
_SIN_COEFFS = tuple((-1) ** j / math.factorial(2 * j + 1) for j in range(6))
_COS_COEFFS = tuple((-1) ** j / math.factorial(2 * j) for j in range(7))


def _horner(coeffs, z):
    p = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        p = p * z + c
    return p


def _round(v: mx.array) -> mx.array:
    return (v + _ROUND) - _ROUND


@mx.custom_function
def fast_cos_sin(x: mx.array) -> tuple[mx.array, mx.array]:
    """``(cos x, sin x)`` from multiply-adds only; within 2e-7 of ``mx.cos``/``mx.sin`` for |x| <= 1e4.

    (Within 1e-6 to |x| ~ 3e4, 2e-6 at 1e5; beyond ~1e6 the values are bounded but meaningless.)

    ``x = r + k·π`` with integer k and |r| <= π/2, then ``(cos x, sin x) = (−1)^k (cos r, sin r)``,
    each of ``cos r``, ``sin r`` by its Taylor polynomial. The gradient is the exact derivative of
    the pair, ``d(cos, sin) = (−sin, cos)·dx``, taken from the outputs, not from the polynomials.
    Call it inside ``mx.compile`` to get the speed; uncompiled it is ~40 separate array operations.
    """
    k = _round(x * _INV_PI)
    r = ((x - k * _PI_A) - k * _PI_B) - k * _PI_C
    z = r * r
    parity = k - 2.0 * _round(0.5 * k)  # −1, 0 or 1
    sign = 1.0 - 2.0 * parity * parity
    # beyond |x| ~ 1e6 the reduction runs out of float32 bits; the clip keeps the result a bounded
    # (if meaningless) number there, as mx.cos's is, instead of a polynomial far outside its range
    cos = mx.clip(sign * _horner(_COS_COEFFS, z), -1.0, 1.0)
    return cos, mx.clip((sign * r) * _horner(_SIN_COEFFS, z), -1.0, 1.0)


@fast_cos_sin.vjp
def _fast_cos_sin_vjp(primals, cotangents, outputs):
    (d_cos, d_sin), (cos, sin) = cotangents, outputs
    return (d_sin * cos - d_cos * sin,)


def _cos_sin(x: mx.array, fast_trig: bool) -> tuple[mx.array, mx.array]:
    return fast_cos_sin(x) if fast_trig else (mx.cos(x), mx.sin(x))


def _statistic(mean_cos: mx.array, mean_sin: mx.array, n: int, wphi: mx.array, target: mx.array):
    # mean_cos, mean_sin: (knots, ...) -> (...)
    shape = (-1,) + (1,) * (mean_cos.ndim - 1)
    err = (mean_cos - target.reshape(shape)) ** 2 + mean_sin**2
    return n * mx.sum(err * wphi.reshape(shape), axis=0)


def _knot_cos_sin(x: mx.array, dt: float, n_points: int, fast_trig: bool):
    """``cos(t_k x)`` and ``sin(t_k x)`` at every knot ``t_k = k·dt``, stacked ``(knots, *x.shape)``."""
    c1, s1 = _cos_sin(dt * x, fast_trig)
    two_c1 = 2.0 * c1
    c_prev, s_prev, c_cur, s_cur = mx.ones_like(x), mx.zeros_like(x), c1, s1
    cs, ss = [c_prev], [s_prev]
    for _ in range(1, n_points):
        cs.append(c_cur)
        ss.append(s_cur)
        c_prev, c_cur = c_cur, two_c1 * c_cur - c_prev
        s_prev, s_cur = s_cur, two_c1 * s_cur - s_prev
    return mx.stack(cs), mx.stack(ss)


def _epps_pulley_closed_form(x: mx.array, t_max: float, n_points: int, fast_trig: bool) -> mx.array:
    """:func:`epps_pulley` with the closed-form gradient of the module's docstring."""
    n = x.shape[0]
    dt, wphi, target = _quadrature(float(t_max), n_points)
    shape = (-1,) + (1,) * (x.ndim - 1)  # a knot vector against (knots, ...) means
    two_wt = (2.0 * dt) * mx.arange(n_points, dtype=mx.float32) * wphi  # 2 w_k t_k

    @mx.custom_function
    def statistic(x):
        cos, sin = _knot_cos_sin(x, dt, n_points, fast_trig)
        mean_cos, mean_sin = mx.mean(cos, axis=1), mx.mean(sin, axis=1)
        return _statistic(mean_cos, mean_sin, n, wphi, target), cos, sin, mean_cos, mean_sin

    @statistic.vjp
    def _vjp(primals, cotangents, outputs):
        _, cos, sin, mean_cos, mean_sin = outputs
        d = cotangents[0]  # the statistic's cotangent, shaped like x.shape[1:]
        on_cos = two_wt.reshape(shape) * mean_sin * d
        on_sin = two_wt.reshape(shape) * (mean_cos - target.reshape(shape)) * d
        return (mx.sum(cos * on_cos[:, None] - sin * on_sin[:, None], axis=0),)

    return statistic(x)[0]


def epps_pulley(x: mx.array, t_max: float = 3.0, n_points: int = 17, fast_trig: bool = False,
                closed_form_grad: bool = False) -> mx.array:
    """Epps–Pulley statistic (×N) of each column of ``x`` by the half-line trapezoid rule.

    Args:
        x: ``(N,)`` one sample, or ``(N, S)`` S samples of size N (one per slice).
        t_max, n_points: the knots ``linspace(0, t_max, n_points)``; official values 3 and 17.
        fast_trig: take cos/sin from :func:`fast_cos_sin` instead of ``mx.cos``/``mx.sin``.
        closed_form_grad: differentiate by the closed form (module docstring), not through the recurrence.

    Returns:
        A scalar for ``(N,)`` input, else ``(S,)``.
    """
    _check_knots(t_max, n_points)
    if closed_form_grad:
        return _epps_pulley_closed_form(x, t_max, n_points, fast_trig)
    n = x.shape[0]
    dt, wphi, target = _quadrature(float(t_max), n_points)
    c1, s1 = _cos_sin(dt * x, fast_trig)
    two_c1 = 2.0 * c1
    c_prev, s_prev = mx.ones_like(x), mx.zeros_like(x)
    c_cur, s_cur = c1, s1
    means_c, means_s = [mx.ones(x.shape[1:], dtype=x.dtype)], [mx.zeros(x.shape[1:], dtype=x.dtype)]
    for _ in range(1, n_points):
        means_c.append(mx.mean(c_cur, axis=0))
        means_s.append(mx.mean(s_cur, axis=0))
        c_prev, c_cur = c_cur, two_c1 * c_cur - c_prev
        s_prev, s_cur = s_cur, two_c1 * s_cur - s_prev
    return _statistic(mx.stack(means_c), mx.stack(means_s), n, wphi, target)


def epps_pulley_direct(x: mx.array, t_max: float = 3.0, n_points: int = 17, fast_trig: bool = False) -> mx.array:
    """Same statistic as :func:`epps_pulley`, with cos/sin evaluated at every knot (the reference)."""
    _check_knots(t_max, n_points)
    n = x.shape[0]
    _, wphi, target = _quadrature(float(t_max), n_points)
    t = mx.array(np.linspace(0.0, t_max, n_points), dtype=mx.float32)
    tx = t.reshape((-1,) + (1,) * x.ndim) * x[None]  # (knots, N, ...)
    cos, sin = _cos_sin(tx, fast_trig)
    return _statistic(mx.mean(cos, axis=1), mx.mean(sin, axis=1), n, wphi, target)


def epps_pulley_exact(x) -> float:
    """Whole-line Epps–Pulley statistic (×N) in closed form, float64 NumPy, O(N²).

    EP(x) = √(2π) · [ (1/N) Σ_{j,k} e^{−(x_j−x_k)²/2} − √2 Σ_j e^{−x_j²/4} + N/√3 ].
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("x must hold at least one value")
    n = x.size
    diff = x[:, None] - x[None, :]
    pair = np.exp(-0.5 * diff**2).sum() / n
    return float(math.sqrt(2 * math.pi) * (pair - math.sqrt(2) * np.exp(-0.25 * x**2).sum() + n / math.sqrt(3)))


def epps_pulley_1983(y) -> float:
    """The classical Epps & Pulley (1983) normality statistic T on standardised data.

    Standardises with the biased variance, then T = EP_exact(y_std) / √(2π).
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    if y.size < 2:
        raise ValueError("y must hold at least two values")
    std = y.std()
    if std == 0:
        raise ValueError("y is constant; the standardised test is undefined")
    return epps_pulley_exact((y - y.mean()) / std) / math.sqrt(2 * math.pi)


def expected_sigreg(scale: float, n: int, t_max: float = 3.0, n_points: int = 17) -> float:
    """E[SIGReg] (the ×N Epps–Pulley statistic, training quadrature) of ``n`` i.i.d. N(0, scale²) points.

    The empirical characteristic function of such a sample has mean e^{−s²t²/2} and, summed over its
    cosine and sine parts, variance (1 − e^{−s²t²})/n, so at each knot
    ``E[n·|φ̂(t) − e^{−t²/2}|²] = n·(e^{−s²t²/2} − e^{−t²/2})² + 1 − e^{−s²t²}``, weighted by the
    quadrature. Any direction of an isotropic Gaussian cloud reads the same, so this is also E[SIGReg]
    of ``n`` points of N(0, s²I). At scale 1 it is the floor (≈ 1.052 with [0, 3] × 17 knots).
    """
    _check_knots(t_max, n_points)
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not (math.isfinite(scale) and scale >= 0):
        raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
    t, weights = _knots(t_max, n_points)
    target = np.exp(-0.5 * t**2)
    ecf = np.exp(-0.5 * (scale * t) ** 2)
    return float(np.sum(weights * target * (n * (ecf - target) ** 2 + 1.0 - ecf**2)))


def random_directions(key: mx.array, dim: int, num_slices: int) -> mx.array:
    """``(dim, num_slices)`` unit columns drawn uniformly on the sphere from ``key``, no gradient."""
    a = mx.random.normal((dim, num_slices), key=key)
    return mx.stop_gradient(a / mx.linalg.norm(a, axis=0, keepdims=True))


def sigreg(z: mx.array, key: mx.array, num_slices: int = 256, t_max: float = 3.0, n_points: int = 17,
           fast_trig: bool = False, closed_form_grad: bool = False):
    """Sketched isotropic-Gaussian regulariser: mean Epps–Pulley over random 1-D shadows of ``z``.

    Args:
        z: ``(N, dim)`` embeddings.
        key: MLX PRNG key; a fresh key every step gives fresh directions.
        num_slices: number of random unit directions.
        fast_trig, closed_form_grad: see :func:`epps_pulley`.

    Returns:
        Scalar; ≈ :data:`EP_GAUSSIAN_FLOOR` (minus the quadrature's few per cent) for N(0, I) data.
    """
    if z.ndim != 2:
        raise ValueError(f"z must be (N, dim), got shape {tuple(z.shape)}")
    if not (isinstance(num_slices, int) and num_slices >= 1):
        raise ValueError(f"num_slices must be a positive integer, got {num_slices!r}")
    directions = random_directions(key, z.shape[1], num_slices)
    return mx.mean(epps_pulley(z @ directions, t_max, n_points, fast_trig, closed_form_grad))
