"""The Swiss-roll world of Chapter 1: one hidden coordinate t, seen through a noisy 50-D lift.

Explained in Chapter 1 (JEPA basics).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jepabook.core import streams

__all__ = ["SwissRoll", "make_swiss_roll", "neighbour_table"]


@dataclass(frozen=True)
class SwissRoll:
    """A sampled Swiss roll.

    Attributes:
        t: ``(n,)`` the hidden coordinate, uniform on ``[1.5π, 4.5π]``.
        plane: ``(n, 2)`` the clean spiral ``(t cos t, t sin t)``.
        x: ``(n, ambient_dim)`` what the learner sees: the standardised spiral rotated into
            ``ambient_dim`` dimensions by a random orthonormal map, plus isotropic Gaussian noise.
        lift: ``(2, ambient_dim)`` the orthonormal map used.
    """

    t: np.ndarray
    plane: np.ndarray
    x: np.ndarray
    lift: np.ndarray


def make_swiss_roll(n: int = 4096, ambient_dim: int = 50, noise: float = 0.1, seed: int = 0) -> SwissRoll:
    """Sample ``n`` points of the Swiss roll and lift them to ``ambient_dim`` dimensions.

    The spiral is scaled to unit variance per plane axis before the lift, so ``noise`` is the
    noise-to-signal ratio per ambient dimension of the signal plane. Draws from the stream
    ``(seed, "data")`` (:mod:`jepabook.core.streams`).
    """
    if not (isinstance(n, int) and n >= 16):
        raise ValueError(f"n must be an integer >= 16, got {n!r}")
    if not (isinstance(ambient_dim, int) and ambient_dim >= 2):
        raise ValueError(f"ambient_dim must be an integer >= 2, got {ambient_dim!r}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = streams.rng(seed, "data")
    t = np.sort(rng.uniform(1.5 * np.pi, 4.5 * np.pi, size=n))
    plane = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    standardised = (plane - plane.mean(0)) / plane.std(0)
    lift = np.linalg.qr(rng.normal(size=(ambient_dim, 2)))[0].T
    x = standardised @ lift + noise * rng.normal(size=(n, ambient_dim))
    return SwissRoll(t=t, plane=plane, x=x.astype(np.float32), lift=lift)


def neighbour_table(plane: np.ndarray, k: int = 8) -> np.ndarray:
    """``(n, k)`` indices of each point's k nearest neighbours on the clean spiral (self excluded).

    Neighbours are found in the clean plane, where the spiral's arms are far apart, so a neighbour
    is a point close *along the curve*: the positive pair of the chapter.
    """
    if not (isinstance(k, int) and 1 <= k < len(plane)):
        raise ValueError(f"k must be an integer in [1, n-1], got {k!r}")
    sq = (plane**2).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2 * plane @ plane.T
    np.fill_diagonal(d2, np.inf)
    return np.argpartition(d2, k, axis=1)[:, :k]
