"""How close is a learned map ``h = f∘g`` to a rotation of the true latents? The theorems' yardsticks.

Explained in Chapter 5 (LeJEPA's world-model theorems). Every function takes NumPy arrays of
evaluation points: ``z`` ``(n, d)`` true latents, ``h`` ``(n, d)`` their embeddings, ``h_next``
``(n, d)`` the embeddings of one fresh OU view ``z′`` of the same points. Definitions follow the
official code of Klindt, LeCun & Balestriero (2026) exactly, including its choices:

- R² is in-sample ordinary least squares with a bias (10 k points, 3 coefficients per target);
- orthogonality error ``‖AᵀA − I‖_F`` with ``A`` the linear part of the least-squares map z → h;
- ε = ‖Cov(h) − I‖_F, L_h = mean ‖h(z′) − h(z)‖², δ = max(L_h − 2(1−ρ)·tr Cov(h), 0),
  D = δ / (2ρ(1−ρ)), bound = D + (ε + D)²  (Theorem 3);
- Procrustes error: ``M = hᵀz/n``, ``U S Vᵀ = svd(M)``, ``Q = U Vᵀ``, error = mean ‖h − zQᵀ‖²
  (h is not centred, as in the code; Theorem 3 assumes E[h] = 0, so we also report ‖E h‖ and the
  error of the centred h, ``procrustes_centred``, which is what the theorem bounds).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["bound_terms", "identifiability_metrics", "knn_decoder", "path_length_ratio", "r2_linear",
           "orthogonality_error", "procrustes_error",
           "procrustes_rotation", "decode_plan"]


def _with_bias(a: np.ndarray) -> np.ndarray:
    return np.concatenate([a, np.ones((len(a), 1))], axis=1)


def r2_linear(source: np.ndarray, target: np.ndarray) -> float:
    """In-sample R² of the least-squares affine map ``source → target`` (pooled over target columns)."""
    a, y = np.asarray(source, np.float64), np.asarray(target, np.float64)
    w, *_ = np.linalg.lstsq(_with_bias(a), y, rcond=None)
    residual = y - _with_bias(a) @ w
    return float(1.0 - (residual**2).sum() / ((y - y.mean(0)) ** 2).sum())


def orthogonality_error(z: np.ndarray, h: np.ndarray) -> float:
    """``‖AᵀA − I‖_F`` for the linear part ``A`` (d × d) of the least-squares affine map z → h."""
    z, h = np.asarray(z, np.float64), np.asarray(h, np.float64)
    w, *_ = np.linalg.lstsq(_with_bias(z), h, rcond=None)
    a = w[: z.shape[1]].T
    return float(np.linalg.norm(a.T @ a - np.eye(z.shape[1])))


def procrustes_rotation(z: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The orthogonal ``Q`` (d × d) with h ≈ zQᵀ: ``U Vᵀ`` from the SVD of ``M = hᵀz/n``."""
    z, h = np.asarray(z, np.float64), np.asarray(h, np.float64)
    u, _, vt = np.linalg.svd(h.T @ z / len(z))
    return u @ vt


def procrustes_error(z: np.ndarray, h: np.ndarray) -> float:
    """mean ‖h − zQᵀ‖² for the orthogonal ``Q`` that best aligns z with h (no centring, no scaling)."""
    h = np.asarray(h, np.float64)
    return float(((h - np.asarray(z, np.float64) @ procrustes_rotation(z, h).T) ** 2).sum(axis=1).mean())


def bound_terms(h: np.ndarray, h_next: np.ndarray, rho: float) -> dict[str, float]:
    """Theorem 3's quantities: ε, L_h, tr Cov(h), δ, D and the bound D + (ε + D)²."""
    h, h_next = np.asarray(h, np.float64), np.asarray(h_next, np.float64)
    cov = np.atleast_2d(np.cov(h.T))
    eps = float(np.linalg.norm(cov - np.eye(cov.shape[0])))
    trace = float(np.trace(cov))
    loss = float(((h_next - h) ** 2).sum(axis=1).mean())
    delta = max(loss - 2.0 * (1.0 - rho) * trace, 0.0)
    d = delta / (2.0 * rho * (1.0 - rho))
    return {"epsilon": eps, "L_h": loss, "trace_cov": trace, "delta": delta, "D": d, "bound": d + (eps + d) ** 2}


def identifiability_metrics(z: np.ndarray, h: np.ndarray, h_next: np.ndarray, rho: float) -> dict[str, float]:
    """Every recovery metric of Chapter 5 on one set of evaluation points (see the module docstring)."""
    m = {"r2_hz": r2_linear(h, z), "r2_zh": r2_linear(z, h), "orth_err": orthogonality_error(z, h),
         "procrustes": procrustes_error(z, h), "mean_norm": float(np.linalg.norm(np.asarray(h).mean(0))),
         "procrustes_centred": procrustes_error(z, np.asarray(h, np.float64) - np.asarray(h, np.float64).mean(0)),
         # the error an encoder that outputs h = 0 makes: a T3 bound at or above it says nothing
         "trivial_error": float((np.asarray(z, np.float64) ** 2).sum(axis=1).mean())}
    m.update(bound_terms(h, h_next, rho))
    return m


def knn_decoder(h_labelled: np.ndarray, z_labelled: np.ndarray, k: int = 5):
    """A k-nearest-neighbour regressor embedding → true latent: the average z of the k closest h."""
    if not (isinstance(k, int) and 1 <= k <= len(h_labelled)):
        raise ValueError(f"k must be an integer in [1, {len(h_labelled)}]; got {k!r}")
    tree = cKDTree(np.asarray(h_labelled, np.float64))
    z_labelled = np.asarray(z_labelled, np.float64)

    def decode(h: np.ndarray) -> np.ndarray:
        _, idx = tree.query(np.asarray(h, np.float64), k=k)
        return z_labelled[idx.reshape(len(h), -1)].mean(axis=1)

    return decode


def decode_plan(decode, h_start: np.ndarray, h_goal: np.ndarray, steps: int = 15) -> np.ndarray:
    """``(pairs, steps, d)`` true latents decoded along straight embedding-space plans (ends included)."""
    if not (isinstance(steps, int) and steps >= 2):
        raise ValueError(f"steps must be an integer >= 2; got {steps!r}")
    s = np.linspace(0.0, 1.0, steps)[None, :, None]
    plan = (1 - s) * np.asarray(h_start)[:, None] + s * np.asarray(h_goal)[:, None]  # (pairs, steps, d)
    return decode(plan.reshape(-1, plan.shape[-1])).reshape(plan.shape[0], steps, -1)


def path_length_ratio(decode, h_start: np.ndarray, h_goal: np.ndarray, z_start: np.ndarray, z_goal: np.ndarray,
                      steps: int = 15) -> np.ndarray:
    """Per pair, the decoded length of the straight latent plan over the true distance (ideal 1).

    The plan is ``steps`` evenly spaced points on the segment h_start → h_goal (ends included); each
    is decoded to a true latent ẑ; the ratio is Σ‖Δẑ‖ / ‖z_goal − z_start‖. Inputs ``(pairs, d)``.
    """
    z_hat = decode_plan(decode, h_start, h_goal, steps)
    length = np.linalg.norm(np.diff(z_hat, axis=1), axis=2).sum(axis=1)
    return length / np.linalg.norm(np.asarray(z_goal) - np.asarray(z_start), axis=1)
