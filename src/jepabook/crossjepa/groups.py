"""Cutting a point cloud into local groups, the tokens of Chapter 4's point transformer.

:func:`farthest_point_sample` and :func:`group_points` cut a cloud into ``G`` local patches:
farthest-point centres, the ``K`` nearest neighbours of each, re-centred on their centre. They are
not learned, so a data set is grouped once, in NumPy, before training; data code imports this
module, never the model's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["farthest_point_sample", "group_points"]


def farthest_point_sample(points: np.ndarray, m: int) -> np.ndarray:
    """Indices ``(batch, m)`` of ``m`` farthest-point centres of each cloud in ``points`` ``(batch, n, 3)``.

    Starts from the point farthest from the cloud's centroid (deterministic, no RNG), then repeatedly
    adds the point farthest from all centres chosen so far.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ValueError(f"points must have shape (batch, n, 3); got {points.shape}")
    b, n, _ = points.shape
    if not (isinstance(m, (int, np.integer)) and 1 <= m <= n):
        raise ValueError(f"m must be an integer in [1, n={n}]; got {m!r}")
    rows = np.arange(b)
    first = np.argmax(((points - points.mean(1, keepdims=True)) ** 2).sum(-1), axis=1)
    chosen = np.empty((b, m), dtype=np.int64)
    chosen[:, 0] = first
    dist = ((points - points[rows, first][:, None]) ** 2).sum(-1)
    for j in range(1, m):
        nxt = np.argmax(dist, axis=1)
        chosen[:, j] = nxt
        dist = np.minimum(dist, ((points - points[rows, nxt][:, None]) ** 2).sum(-1))
    return chosen


def group_points(points: np.ndarray, n_groups: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut clouds ``(batch, n, 3)`` into local groups.

    Returns:
        ``(neighbourhoods, centres)``: ``(batch, n_groups, k, 3)`` float32, each group's ``k`` nearest
        points minus its centre, and the centres ``(batch, n_groups, 3)`` float32.
    """
    points = np.asarray(points, dtype=np.float64)
    n = points.shape[1] if points.ndim == 3 else 0
    if not (isinstance(k, (int, np.integer)) and 1 <= k <= n):
        raise ValueError(f"k must be an integer in [1, n={n}]; got {k!r}")
    centre_idx = farthest_point_sample(points, n_groups)
    centres = np.take_along_axis(points, centre_idx[..., None], axis=1)  # (b, G, 3)
    d2 = ((centres[:, :, None, :] - points[:, None, :, :]) ** 2).sum(-1)  # (b, G, n)
    nearest = np.argsort(d2, axis=-1, kind="stable")[..., :k]  # (b, G, k)
    neigh = np.take_along_axis(points[:, None], nearest[..., None], axis=2)  # (b, G, k, 3)
    return (neigh - centres[:, :, None]).astype(np.float32), centres.astype(np.float32)
