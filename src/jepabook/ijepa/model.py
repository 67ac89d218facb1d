"""Chapter 2's networks: I-JEPA's context encoder, predictor and EMA target encoder, and the supervised ceiling.

Explained in Chapter 2 (I-JEPA). Every constructor takes sizes, not a config, so a reader can build
one at any size: ``IJEPA(patch_dim=16, grid=(8, 8), width=32, depth=2, ...)``. The ViT and the
predictor themselves are the book's shared blocks (:mod:`jepabook.blocks.vit`).
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

from jepabook.blocks.nets import init_linears
from jepabook.blocks.vit import Predictor, ViT

__all__ = ["IJEPA", "Supervised"]


class IJEPA(nn.Module):
    """Context encoder, predictor and (frozen, EMA-updated) target encoder.

    ``pixels``: the predictor outputs ``patch_dim`` pixels per target token (the pixel-target arms)
    instead of encoder features. The target encoder starts as an exact copy of the context encoder
    (same key); an arm with pixel targets keeps it too, unused by its loss, so that every arm is
    probed like for like.
    """

    def __init__(self, patch_dim: int, grid: tuple[int, int], width: int, depth: int, heads: int, mlp_ratio: float,
                 pred_width: int, pred_depth: int, pixels: bool, key: mx.array):
        super().__init__()
        k_enc, k_pred = mx.random.split(key)
        self.encoder = ViT(patch_dim, grid, width, depth, heads, mlp_ratio, k_enc)
        self.predictor = Predictor(width, pred_width, grid, pred_depth, heads, mlp_ratio, k_pred,
                                   out_dim=patch_dim if pixels else None)
        self.target = ViT(patch_dim, grid, width, depth, heads, mlp_ratio, k_enc)  # same key: same init
        self.target.freeze()


class Supervised(nn.Module):
    """The ceiling: the same ViT (the JEPA arms' encoder initialisation, same key) with a linear head."""

    def __init__(self, patch_dim: int, grid: tuple[int, int], width: int, depth: int, heads: int, mlp_ratio: float,
                 n_classes: int, key: mx.array):
        super().__init__()
        k_enc, k_head = mx.random.split(key)  # the JEPA's encoder key: the same untrained encoder
        self.encoder = ViT(patch_dim, grid, width, depth, heads, mlp_ratio, k_enc)
        self.head = nn.Linear(width, n_classes)
        init_linears(self.head, k_head)  # from the key, not MLX's global generator (which other tasks move)
