"""Chapter 4's networks: a tiny point-cloud transformer in the Point-BERT / Point-MAE mould, CrossJEPA's
predictor, and the student that holds both.

Explained in Chapter 4 (CrossJEPA). Every constructor takes sizes, never a configuration.

- The clouds arrive already cut into local groups (:mod:`jepabook.crossjepa.groups`).
- :class:`PointTransformer`: a mini-PointNet per group (a shared per-point MLP, max over the group,
  a linear map to the width), a position MLP on the centres, pre-norm transformer blocks (Chapter
  2's :class:`~jepabook.blocks.vit.Block`), a final LayerNorm. Masking drops groups *before* the encoder,
  as in Point-MAE, so a masked run also costs less. The global feature a probe reads is
  ``[mean ‖ max]`` of the output tokens (there is no class token).
- :class:`ConditionedPredictor`: an MLP from the global feature to the target (a teacher embedding
  or pixels). The camera pose and the view's colour histogram are two separate, optional inputs,
  each with its own input weights added into the first hidden layer, so an arm can give the
  predictor either, both or neither.
- :class:`Student`: the encoder and the predictor, the only trained parts.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from jepabook.blocks.nets import init_linears
from jepabook.blocks.vit import Block, gather_tokens

__all__ = ["ConditionedPredictor", "PointTransformer", "Student", "visible_groups"]


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
        init_linears(self, key)
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
    """``relu(W·feature + P·pose + C·colour) → hidden → out_dim`` (a two-hidden-layer ReLU MLP).

    ``pose_dim`` / ``colour_dim`` = 0: the predictor has no such input (and refuses one). Two
    separate input maps are the same function class as one map on ``[feature ‖ pose ‖ colour]``,
    but they let an arm switch each input on or off without changing the others' weights' shapes.
    """

    def __init__(self, in_dim: int, pose_dim: int, colour_dim: int, hidden: int, out_dim: int, key: mx.array):
        super().__init__()
        for name, v in (("pose_dim", pose_dim), ("colour_dim", colour_dim)):
            if not (isinstance(v, int) and v >= 0):
                raise ValueError(f"{name} must be an integer >= 0 (0: no such input); got {v!r}")
        self.pose_dim, self.colour_dim = pose_dim, colour_dim
        self.fc1 = nn.Linear(in_dim, hidden)
        if pose_dim:
            self.pose_in = nn.Linear(pose_dim, hidden, bias=False)
        if colour_dim:
            self.colour_in = nn.Linear(colour_dim, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, out_dim)
        init_linears(self, key)

    def __call__(self, feature: mx.array, pose: mx.array | None = None, colour: mx.array | None = None) -> mx.array:
        """``feature`` ``(..., in_dim)``, ``pose`` ``(..., pose_dim)``, ``colour`` ``(..., colour_dim)`` → ``(..., out_dim)``."""
        h = self.fc1(feature)
        for name, x, width in (("pose", pose, self.pose_dim), ("colour", colour, self.colour_dim)):
            given = 0 if x is None else x.shape[-1]
            if given != width:
                raise ValueError(f"this predictor takes {width} {name} values; got {given}")
            if width:
                h = h + getattr(self, f"{name}_in")(x)
        return self.out(nn.relu(self.fc2(nn.relu(h))))


class Student(nn.Module):
    """The point transformer (``width``, ``depth``, ``heads``, ``mlp_ratio``) and its predictor
    (``pred_hidden`` units; ``pose_dim`` and ``colour_dim`` side inputs, 0 for none; ``out_dim`` outputs).

    The predictor reads the encoder's ``[mean ‖ max]`` feature, ``2·width`` values.
    """

    def __init__(self, width: int, depth: int, heads: int, mlp_ratio: float, pred_hidden: int, pose_dim: int,
                 colour_dim: int, out_dim: int, key: mx.array):
        super().__init__()
        k_enc, k_pred = mx.random.split(key)
        self.encoder = PointTransformer(width, depth, heads, mlp_ratio, k_enc)
        self.predictor = ConditionedPredictor(2 * width, pose_dim, colour_dim, pred_hidden, out_dim, k_pred)
