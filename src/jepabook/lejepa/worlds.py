"""Toy worlds for the world-model theorems: latent sources, Ornstein–Uhlenbeck pairs, 2-D mixings.

Explained in Chapter 5 (LeJEPA's world-model theorems). A world is a latent law for ``z`` (2-D,
unit variance per coordinate), a positive-pair channel ``z → z′`` with correlation ``ρ``, and an
unknown invertible mixing ``x = g(z)``; the learner only ever sees ``x``.

Latents: ``α = 2`` is the standard Gaussian; other ``α`` give the generalised Gaussian with density
∝ exp(−|z/β|^α) per coordinate, scaled to unit variance (β² = Γ(1/α)/Γ(3/α)).

Pairs: for the Gaussian, ``z′ = ρz + √(1−ρ²)η`` with η ~ N(0, I) (the theorems' OU step). For
``α ≠ 2`` that recipe breaks down: a sum of two generalised-Gaussian variables is not generalised
Gaussian, so ``z′`` would follow a different law than ``z``. The copula world (Chapter 5's
extension, :func:`ou_pairs`) keeps both views on the same law: draw the Gaussian OU pair ``(u, u′)``
and map each coordinate through
``F_α⁻¹(Φ(·))``. Then ``z`` and ``z′`` both follow GG(α) exactly and the pair's dependence is the OU
one; their linear correlation is slightly below ρ for α ≠ 2 (:func:`pair_correlation`). At α = 2 the
map is the identity and the pair is the OU step exactly.

The official code instead adds noise of the same law, ``z′ = ρz + √(1−ρ²)η`` with η ~ GG(α)
(:func:`additive_pairs`): the *additive* world. Its second view is not GG(α), but it is the world
the paper's α sweep ran in, so Chapter 5 tests T2 there and keeps the copula world as an
extension. In the copula world the loss's optimum is the whitened Gaussian behind the copula,
``h = Q·Φ⁻¹(F_α(z))``, not a rotation of ``z``, so R²(h → z) has a ceiling below 1 for α ≠ 2
(:func:`copula_ceiling`).

Every pair sampler takes ``kind`` ("additive" or "copula"; identical at α = 2) through
:func:`pairs`. Evaluation points are whitened (:func:`whiten`), so their mean ‖z‖² is exactly n.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special, stats

from jepabook.core import streams

__all__ = [
    "MIXINGS",
    "PAIR_KINDS",
    "additive_pairs",
    "copula_ceiling",
    "pairs",
    "whiten",
    "coupling_flow",
    "coupling_weights",
    "gennorm_from_gaussian",
    "mixing",
    "ou_pairs",
    "pair_correlation",
    "parabolic_shear",
    "sample_latents",
    "sinusoidal_shear",
    "spiral",
    "unmix",
]

MIXINGS = ("spiral", "parabolic", "sinusoidal", "coupling")
PAIR_KINDS = ("additive", "copula")  # how the second view of a non-Gaussian world is drawn


def check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha (the generalised-Gaussian shape) must be a finite number > 0; got {alpha!r}")


def check_rho(rho: float) -> None:
    if not (isinstance(rho, (int, float)) and 0.0 < rho < 1.0):
        raise ValueError(f"rho (the pair correlation) must lie strictly between 0 and 1; got {rho!r}")


def gennorm_from_gaussian(u: np.ndarray, alpha: float) -> np.ndarray:
    """Map standard-normal values ``u`` to unit-variance GG(α) values by ``F_α⁻¹(Φ(u))``, elementwise.

    Uses the symmetric form ``|z| = β·G^{1/α}`` with ``G ~ Gamma(1/α)``, so tails stay accurate.
    """
    check_alpha(alpha)
    if alpha == 2.0:
        return np.asarray(u, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    beta = math.exp(0.5 * (math.lgamma(1.0 / alpha) - math.lgamma(3.0 / alpha)))
    # P(|z| ≤ r) = P(|u| ≤ |u_value|): match the two-sided tail probabilities (stable in the tails)
    tail = 2.0 * stats.norm.sf(np.abs(u))
    g = special.gammainccinv(1.0 / alpha, tail)
    return np.sign(u) * beta * g ** (1.0 / alpha)


def sample_latents(rng: np.random.Generator, n: int, dim: int = 2, alpha: float = 2.0) -> np.ndarray:
    """``(n, dim)`` i.i.d. latents: N(0, I) at α = 2, else unit-variance generalised Gaussian."""
    check_alpha(alpha)
    return gennorm_from_gaussian(rng.standard_normal((n, dim)), alpha)


def ou_pairs(rng: np.random.Generator, n: int, rho: float, dim: int = 2, alpha: float = 2.0):
    """``(z, z′)``, each ``(n, dim)``: the OU pair ``z′ = ρz + √(1−ρ²)η`` (Gaussian copula for α ≠ 2)."""
    check_rho(rho)
    check_alpha(alpha)
    u = rng.standard_normal((n, dim))
    u2 = rho * u + math.sqrt(1.0 - rho**2) * rng.standard_normal((n, dim))
    return gennorm_from_gaussian(u, alpha), gennorm_from_gaussian(u2, alpha)


def additive_pairs(rng: np.random.Generator, n: int, rho: float, dim: int = 2, alpha: float = 2.0):
    """``(z, z′)``: ``z ~ GG(α)`` and ``z′ = ρz + √(1−ρ²)η`` with η ~ GG(α) drawn afresh (the official code's
    pairs, one step instead of two from an anchor). At α = 2 this is the OU pair, draw for draw the same
    as :func:`ou_pairs` (both take the two standard-normal blocks in the same order)."""
    check_rho(rho)
    check_alpha(alpha)
    draw = sample_latents if alpha == 2.0 else _gennorm_direct
    z = draw(rng, n, dim, alpha)
    return z, rho * z + math.sqrt(1.0 - rho**2) * draw(rng, n, dim, alpha)


def _gennorm_direct(rng: np.random.Generator, n: int, dim: int, alpha: float) -> np.ndarray:
    """``(n, dim)`` unit-variance GG(α) draws as ``sign · β · G^{1/α}``, G ~ Gamma(1/α) (the official code's
    sampler): the same law as :func:`sample_latents`, several times cheaper than its quantile map."""
    beta = math.exp(0.5 * (math.lgamma(1.0 / alpha) - math.lgamma(3.0 / alpha)))
    g = rng.gamma(1.0 / alpha, 1.0, (n, dim))
    return np.where(rng.random((n, dim)) < 0.5, -1.0, 1.0) * beta * g ** (1.0 / alpha)


def check_kind(kind: str) -> None:
    if kind not in PAIR_KINDS:
        raise ValueError(f"pairs (the pair kind) must be one of {PAIR_KINDS}; got {kind!r}")


def pairs(rng: np.random.Generator, n: int, rho: float, dim: int = 2, alpha: float = 2.0, kind: str = "additive"):
    """``(z, z′)`` of the world with pair kind ``kind``: :func:`additive_pairs` or :func:`ou_pairs` (copula)."""
    check_kind(kind)
    return (additive_pairs if kind == "additive" else ou_pairs)(rng, n, rho, dim, alpha)


def whiten(z: np.ndarray) -> np.ndarray:
    """``z`` centred and rotated-scaled so that its sample mean is 0 and its (1/n) covariance is exactly I:
    then mean ‖z‖² equals the dimension, to rounding."""
    z = np.asarray(z, dtype=np.float64)
    centred = z - z.mean(0)
    cov = centred.T @ centred / len(z)
    vals, vecs = np.linalg.eigh(cov)
    if vals.min() <= 0:
        raise ValueError("z must have a full-rank covariance to be whitened")
    return centred @ (vecs / np.sqrt(vals)) @ vecs.T


def copula_ceiling(alpha: float, n: int = 200_000, seed: int = 0) -> float:
    """R²(h → z) at the copula world's loss optimum, where h is the whitened Gaussian ``u = Φ⁻¹(F_α(z))``
    behind the copula: the squared correlation of ``u`` and ``F_α⁻¹(Φ(u))``, by Monte Carlo on ``n``
    draws from the stream ``(seed, "copula_ceiling")`` (exactly 1 at α = 2)."""
    check_alpha(alpha)
    if alpha == 2.0:
        return 1.0
    u = streams.rng(seed, "copula_ceiling").standard_normal(n)
    return float(np.corrcoef(u, gennorm_from_gaussian(u, alpha))[0, 1] ** 2)


def pair_correlation(rho: float, alpha: float, n: int = 200_000, seed: int = 0) -> float:
    """Monte-Carlo linear correlation between ``z`` and ``z′`` per coordinate (ρ exactly at α = 2),
    from the stream ``(seed, "pair_correlation")``."""
    z, z2 = ou_pairs(streams.rng(seed, "pair_correlation"), n, rho, 1, alpha)
    return float(np.corrcoef(z[:, 0], z2[:, 0])[0, 1])


# --- the four 2-D mixings, each with its exact inverse -------------------------------------------


def _rotate(z: np.ndarray, angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * z[:, 0] - s * z[:, 1], s * z[:, 0] + c * z[:, 1]], axis=1)


def spiral(z: np.ndarray, inverse: bool = False) -> np.ndarray:
    """``R(π‖z‖) z``: rotation by an angle growing with the radius. Keeps ‖z‖, so it preserves N(0, I)."""
    angle = math.pi * np.linalg.norm(z, axis=1)
    return _rotate(z, -angle if inverse else angle)


def parabolic_shear(z: np.ndarray, inverse: bool = False) -> np.ndarray:
    """``(z₁, z₂ + z₁²)``."""
    sign = -1.0 if inverse else 1.0
    return np.stack([z[:, 0], z[:, 1] + sign * z[:, 0] ** 2], axis=1)


def sinusoidal_shear(z: np.ndarray, inverse: bool = False) -> np.ndarray:
    """``(z₁ + sin(1.5 z₂), z₂)``."""
    sign = -1.0 if inverse else 1.0
    return np.stack([z[:, 0] + sign * np.sin(1.5 * z[:, 1]), z[:, 1]], axis=1)


def coupling_weights(seed: int = 1337, layers: int = 8) -> np.ndarray:
    """The coupling flow's gains: ``2·W`` with W a random orthogonal 1×1 matrix, i.e. ±2 per layer
    (signs from the stream ``(seed, "coupling_weights")``)."""
    return 2.0 * streams.rng(seed, "coupling_weights").choice([-1.0, 1.0], size=layers)


def coupling_flow(z: np.ndarray, inverse: bool = False, weights: np.ndarray | None = None) -> np.ndarray:
    """Additive tanh couplings (the official code's variant, 8 layers in 2-D), alternating coordinates.

    Layer i adds ``tanh(wᵢ·z_a)`` to the other coordinate ``z_b`` (a = 0, b = 1 for even i, swapped
    for odd i); each layer is undone by subtracting the same term, so the flow is exactly invertible.
    """
    w = coupling_weights() if weights is None else np.asarray(weights, dtype=np.float64)
    x = np.array(z, dtype=np.float64, copy=True)
    order = range(len(w) - 1, -1, -1) if inverse else range(len(w))
    for i in order:
        a, b = (0, 1) if i % 2 == 0 else (1, 0)
        x[:, b] += (-1.0 if inverse else 1.0) * np.tanh(w[i] * x[:, a])
    return x


_MIXING_FNS: dict[str, Callable] = {
    "spiral": spiral,
    "parabolic": parabolic_shear,
    "sinusoidal": sinusoidal_shear,
    "coupling": coupling_flow,
}


def mixing(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The mixing ``g`` called ``name`` (one of :data:`MIXINGS`), mapping ``(n, 2)`` to ``(n, 2)``."""
    if name not in _MIXING_FNS:
        raise ValueError(f"mixing must be one of {MIXINGS}; got {name!r}")
    return _MIXING_FNS[name]


def unmix(name: str, x: np.ndarray) -> np.ndarray:
    """``g⁻¹(x)`` for the mixing called ``name``."""
    return mixing(name)(x, inverse=True)
