"""V-JEPA's networks and loss at toy scale: a tubelet ViT, its EMA target, a narrow predictor with one
mask token per mask generator, and the L1 (or L2) loss on layer-normalised target features.

Explained in Chapter 3 (V-JEPA). Every piece but the predictor's mask tokens is Chapter 2's
(:mod:`jepabook.blocks.vit`), on a 3-D ``(frames, rows, cols)`` token grid.

- :func:`tubelets` cuts clips ``(batch, frames, size, size, 1)`` into 2×4×4 tubelets.
- :class:`TubePredictor`: context tokens plus mask tokens at the target positions, one sequence per
  generator (the target is the *union* of the generator's blocks), and a learned mask token per
  generator, zero-initialised as in the released predictor.
- :class:`Classifier`: the same ViT with an attentive head, trained end to end on labels from scratch
  (the supervised ceiling), and :func:`classifier_loss`, its cross-entropy.
- :func:`vjepa_loss`: for each generator, ``mean(|pred − target|^p) / p`` (p = 1: L1, the paper's;
  p = 2: L2), averaged over generators, as the released ``loss_fn``. Feature targets are the EMA
  target encoder's output on the *whole* clip, LayerNorm-ed over the feature axis, then gathered;
  pixel targets are the target tubelets' pixels normalised per tubelet (mean 0, variance 1).
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn


from jepabook.blocks.ema import ema_update
from jepabook.blocks.vit import Predictor, ViT, gather_tokens, patchify
from jepabook.vjepa.attentive import AttentiveProbe

__all__ = ["Classifier", "TubePredictor", "VJEPA", "classifier_loss", "normalised_pixels", "tubelets",
           "update_target", "vjepa_loss"]


def tubelets(video: mx.array, tubelet: tuple[int, int, int]) -> mx.array:
    """Clips ``(batch, frames, size, size, channels)`` → ``(batch, tokens, t·h·w·channels)`` (tokens in
    (frame, row, col) order)."""
    if video.ndim != 5:
        raise ValueError(f"video must be (batch, frames, height, width, channels); got shape {tuple(video.shape)}")
    return patchify(video, tubelet)


def normalised_pixels(patches: mx.array, eps: float = 1e-6) -> mx.array:
    """Each tubelet's pixels centred and scaled to unit variance (MAE / VideoMAE's pixel target)."""
    mu, var = mx.mean(patches, -1, keepdims=True), mx.var(patches, -1, keepdims=True)
    return (patches - mu) / mx.sqrt(var + eps)


class TubePredictor(Predictor):
    """Chapter 2's predictor with one learned mask token per mask generator (zero at initialisation)."""

    def __init__(self, *args, n_generators: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        self.mask_token = mx.zeros((n_generators, self.mask_token.shape[-1]))

    def __call__(self, context: mx.array, context_idx: mx.array, target_idx: mx.array, generator: int) -> mx.array:
        """Predict ``(batch, k_tgt, out_dim)`` at ``target_idx`` ``(batch, k_tgt)`` from ``context``
        ``(batch, k_ctx, width)`` at ``context_idx``, with generator ``generator``'s mask token."""
        kc = context.shape[1]
        x = mx.concatenate([self.embed(context) + self._pos[context_idx],
                            self.mask_token[generator] + self._pos[target_idx]], axis=1)
        for block in self.blocks:
            x = block(x)
        return self.out(self.norm(x[:, kc:]))


class VJEPA(nn.Module):
    """Context encoder, predictor and the frozen, EMA-updated target encoder (same initialisation).

    ``pixels``: the predictor outputs tubelet pixels instead of target features (the target encoder
    is still kept as an EMA copy, so both arms' probed encoders are made the same way).
    """

    def __init__(self, patch_dim: int, grid: tuple[int, int, int], width: int, depth: int, heads: int,
                 mlp_ratio: float, pred_width: int, pred_depth: int, pred_heads: int, n_generators: int,
                 pixels: bool, key: mx.array):
        super().__init__()
        k_enc, k_pred = mx.random.split(key)
        self.encoder = ViT(patch_dim, grid, width, depth, heads, mlp_ratio, k_enc)
        self.predictor = TubePredictor(width, pred_width, grid, pred_depth, pred_heads, mlp_ratio, k_pred,
                                       out_dim=patch_dim if pixels else None, n_generators=n_generators)
        self.target = ViT(patch_dim, grid, width, depth, heads, mlp_ratio, k_enc)
        self.target.freeze()
        self.pixels = pixels


class Classifier(nn.Module):
    """The supervised ceiling's network: the chapter's ViT and an attentive head (the probe's architecture),
    both trained from ``key`` on labels; ``encoder`` is what the probes would read."""

    def __init__(self, patch_dim: int, grid: tuple[int, int, int], width: int, depth: int, heads: int,
                 mlp_ratio: float, classes: int, head_heads: int, key: mx.array):
        super().__init__()
        k_enc, k_head = mx.random.split(key)
        self.encoder = ViT(patch_dim, grid, width, depth, heads, mlp_ratio, k_enc)
        self.head = AttentiveProbe(width, classes, head_heads, mlp_ratio, k_head)

    def __call__(self, patches: mx.array) -> mx.array:
        return self.head(self.encoder(patches))


def classifier_loss(model: Classifier, patches: mx.array, labels: mx.array):
    """Mean cross-entropy of the ceiling's logits; ``(loss, {})`` as :func:`jepabook.core.training.fit` wants."""
    return nn.losses.cross_entropy(model(patches), labels, reduction="mean"), {}


def vjepa_loss(model: VJEPA, patches: mx.array, *masks_and_tau, power: float = 1.0):
    """V-JEPA's loss over every generator: ``masks_and_tau`` = ``ctx_0, tgt_0, ctx_1, tgt_1, …, tau``.

    Returns ``(loss, parts)``, parts holding each generator's term (``gen0``, ``gen1``, …).
    """
    masks = masks_and_tau[:-1]
    if model.pixels:
        full = normalised_pixels(patches)
    else:
        full = mx.stop_gradient(mx.fast.layer_norm(model.target(patches), None, None, 1e-6))
    parts = {}
    for g in range(len(masks) // 2):
        ctx, tgt = masks[2 * g], masks[2 * g + 1]
        pred = model.predictor(model.encoder(patches, ctx), ctx, tgt, g)
        parts[f"gen{g}"] = mx.mean(mx.abs(pred - gather_tokens(full, tgt)) ** power) / power
    loss = sum(parts.values()) / len(parts)
    return loss, parts


def update_target(model: VJEPA, *inputs) -> None:
    """EMA step of the target encoder towards the context encoder; the momentum is the last input.

    The momentum arrives as an array (a Python float would be a constant of the compiled step, so
    every new value would compile it again); :func:`jepabook.blocks.ema.ema_update` leaves arrays
    unchecked (the schedule is checked where it is built).
    """
    model.target.update(ema_update(model.target.parameters(), model.encoder.parameters(), inputs[-1]))
