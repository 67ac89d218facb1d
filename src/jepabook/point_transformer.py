"""A tiny point-cloud transformer in the Point-BERT / Point-MAE mould, and CrossJEPA's predictor.

Explained in Chapter 4 (CrossJEPA).

- :func:`farthest_point_sample` and :func:`group_points` cut a cloud into ``G`` local patches:
  farthest-point centres, the ``K`` nearest neighbours of each, re-centred on their centre. They
  are not learned, so a data set is grouped once, in NumPy, before training.
- :class:`PointTransformer`: a mini-PointNet per group (a shared per-point MLP, max over the group,
  a linear map to the width), a position MLP on the centres, pre-norm transformer blocks (Chapter
  2's :class:`~jepabook.vit.Block`), a final LayerNorm. Masking drops groups *before* the encoder,
  as in Point-MAE, so a masked run also costs less. The global feature a probe reads is
  ``[mean ‖ max]`` of the output tokens (there is no class token).
- :class:`ConditionedPredictor`: an MLP from the global feature, concatenated with optional side
  information (camera pose, colour histogram), to the target (a teacher embedding or pixels).
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from .vit import Block, _init_linears, gather_tokens

__all__ = ["ConditionedPredictor", "PointTransformer", "farthest_point_sample", "group_points", "visible_groups"]


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


def visible_groups(rng: np.random.Generator, batch: int, n_groups: int, ratio: float) -> np.ndarray:
    """Indices ``(batch, n_keep)`` of the groups left visible when a fraction ``ratio`` is masked.

    ``n_keep = n_groups − round(ratio · n_groups)``, at least 1; each row is a random subset, sorted.
    """
    if not (0.0 <= ratio < 1.0):
        raise ValueError(f"ratio must be in [0, 1); got {ratio!r}")
    keep = max(1, n_groups - int(round(ratio * n_groups)))
    order = np.argsort(rng.random((batch, n_groups)), axis=1)[:, :keep]
    return np.sort(order, axis=1)


class PointTransformer(nn.Module):
    """Point-cloud encoder over pre-computed groups.

    Args:
        width, depth, heads, mlp_ratio: transformer sizes.
        key: PRNG key for the initialisation.
        point_dims: widths of the shared per-point MLP of the mini-PointNet.
    """

    def __init__(self, width: int, depth: int, heads: int, mlp_ratio: float, key: mx.array,
                 point_dims: tuple[int, int] = (32, 64)):
        super().__init__()
        self.point1 = nn.Linear(3, point_dims[0])
        self.point2 = nn.Linear(point_dims[0], point_dims[1])
        self.group = nn.Linear(point_dims[1], width)
        self.pos1, self.pos2 = nn.Linear(3, 64), nn.Linear(64, width)
        self.blocks = [Block(width, heads, mlp_ratio) for _ in range(depth)]
        self.norm = nn.LayerNorm(width)
        _init_linears(self, key)
        self.width = width

    def __call__(self, groups: mx.array, centres: mx.array, keep: mx.array | None = None) -> mx.array:
        """``groups`` ``(b, G, K, 3)``, ``centres`` ``(b, G, 3)`` → tokens ``(b, G or n_keep, width)``.

        With ``keep`` ``(b, n_keep)`` only those groups are embedded and enter the transformer.
        """
        if keep is not None:
            b, _, k, _ = groups.shape
            groups = gather_tokens(groups.reshape(b, -1, k * 3), keep).reshape(b, -1, k, 3)
            centres = gather_tokens(centres, keep)
        h = nn.relu(self.point2(nn.relu(self.point1(groups))))  # (b, G, K, c)
        x = self.group(mx.max(h, axis=2)) + self.pos2(nn.relu(self.pos1(centres)))
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def features(self, groups: mx.array, centres: mx.array, keep: mx.array | None = None) -> mx.array:
        """Global feature ``(b, 2·width)``: mean and max of the output tokens."""
        tokens = self(groups, centres, keep)
        return mx.concatenate([mx.mean(tokens, axis=1), mx.max(tokens, axis=1)], axis=-1)


class ConditionedPredictor(nn.Module):
    """``[feature ‖ side information] → hidden → hidden → out_dim`` (ReLU MLP).

    ``cond_dim = 0`` is the unconditioned predictor; the side information is concatenated as is.
    """

    def __init__(self, in_dim: int, cond_dim: int, hidden: int, out_dim: int, key: mx.array):
        super().__init__()
        if cond_dim < 0:
            raise ValueError(f"cond_dim must be >= 0; got {cond_dim!r}")
        self.cond_dim = cond_dim
        self.fc1 = nn.Linear(in_dim + cond_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, out_dim)
        _init_linears(self, key)

    def __call__(self, feature: mx.array, cond: mx.array | None = None) -> mx.array:
        width = 0 if cond is None else cond.shape[-1]
        if width != self.cond_dim:
            raise ValueError(f"this predictor takes {self.cond_dim} side-information values; got {width}")
        x = feature if cond is None else mx.concatenate([feature, cond], axis=-1)
        return self.out(nn.relu(self.fc2(nn.relu(self.fc1(x)))))
