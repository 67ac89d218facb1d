"""A tiny Vision Transformer and I-JEPA's narrow predictor, for images (2-D) and clips (3-D tubelets).

Explained in Chapter 2 (I-JEPA); Chapter 3 (V-JEPA) reuses every piece with a 3-D token grid.

- :func:`patchify` cuts ``(batch, *sizes, channels)`` into non-overlapping patches (or tubelets)
  for any number of grid axes.
- :func:`sincos_positions` gives the fixed sin-cos position table of a token grid of any rank:
  the width is split evenly between the axes, each axis gets the 1-D table of its coordinate.
- :class:`ViT`: patch embedding, fixed positions added before any token is dropped, pre-norm
  blocks, a final LayerNorm; no class token (a clip or image is summarised by mean pooling).
- :func:`self_attention` / :func:`attention`: attention written out with the polynomial softmax of
  :func:`jepabook.blocks.nets.softmax` (MLX's CPU ``exp`` runs one element at a time), and for self-
  attention a hand-written backward pass that avoids the copies automatic differentiation makes.
- :class:`Predictor`: projects context tokens to a narrow width, appends one learned mask token
  per target position (plus that position's sin-cos code) and predicts each target block in its own
  sequence, so target blocks never attend to one another.
"""

from __future__ import annotations

import functools
import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from jepabook.blocks.nets import init_linear, init_linears, softmax, softmax_backward, softmax_forward

__all__ = ["Attention", "Block", "Predictor", "ViT", "attention", "gather_tokens", "patchify", "self_attention",
           "sincos_1d", "sincos_positions"]


def patchify(x: mx.array, patch: tuple[int, ...]) -> mx.array:
    """``(batch, s_1, …, s_k, channels)`` → ``(batch, Π s_i/p_i, Π p_i · channels)``, grid in row-major order.

    ``patch`` has one size per grid axis (``(4, 4)`` for images, ``(2, 4, 4)`` for tubelets).
    """
    b, *sizes, c = x.shape
    if len(sizes) != len(patch):
        raise ValueError(f"patch {patch} needs {len(patch)} grid axes; input has shape {tuple(x.shape)}")
    if any(s % p for s, p in zip(sizes, patch)):
        raise ValueError(f"input sizes {tuple(sizes)} are not divisible by the patch {patch}")
    grid = [s // p for s, p in zip(sizes, patch)]
    split = [b] + [v for g, p in zip(grid, patch) for v in (g, p)] + [c]
    k = len(patch)
    order = [0] + [1 + 2 * i for i in range(k)] + [2 + 2 * i for i in range(k)] + [1 + 2 * k]
    return x.reshape(split).transpose(order).reshape(b, math.prod(grid), math.prod(patch) * c)


def sincos_1d(positions: np.ndarray, dim: int) -> np.ndarray:
    """``(n,)`` coordinates → ``(n, dim)``: half sines, half cosines at frequencies 10000^(−2i/dim)."""
    if dim % 2:
        raise ValueError(f"dim must be even for a sin-cos table; got {dim}")
    omega = 1.0 / 10000 ** (np.arange(dim // 2) / (dim / 2))
    angle = np.asarray(positions, dtype=np.float64)[:, None] * omega[None]
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)


def sincos_positions(grid: tuple[int, ...], dim: int) -> mx.array:
    """Fixed position table ``(Π grid, dim)`` for a token grid of any rank (row-major order).

    The width is split evenly across the axes, so ``dim`` must be divisible by ``2·len(grid)``
    (2-D: by 4; 3-D tubelets: by 6).
    """
    k = len(grid)
    if dim % (2 * k):
        raise ValueError(f"dim={dim} must be divisible by {2 * k} for a {k}-D sin-cos table")
    coords = np.stack(np.meshgrid(*[np.arange(g) for g in grid], indexing="ij"), -1).reshape(-1, k)
    table = np.concatenate([sincos_1d(coords[:, i], dim // k) for i in range(k)], axis=1)
    return mx.array(table.astype(np.float32))


def gather_tokens(x: mx.array, index: mx.array) -> mx.array:
    """Tokens ``x`` ``(batch, n, d)`` at ``index`` ``(batch, k)`` → ``(batch, k, d)``."""
    return mx.take_along_axis(x, index[..., None], axis=1)


def attention(q: mx.array, k: mx.array, v: mx.array, scale: float) -> mx.array:
    """Scaled dot-product attention written out: ``softmax(q·kᵀ·scale)·v`` over the last two axes.

    ``q`` ``(…, n_q, d_h)``, ``k`` ``(…, n_k, d_h)``, ``v`` ``(…, n_k, d_v)`` → ``(…, n_q, d_v)``. The
    softmax is :func:`jepabook.blocks.nets.softmax` (a polynomial exp): on MLX's CPU build
    ``mx.fast.scaled_dot_product_attention`` falls back to these same operations with ``mx.exp``,
    which runs one element at a time and was 17–28 % of a Chapter 2–3 training step.
    """
    return softmax(q @ k.swapaxes(-1, -2), scale=scale) @ v


def self_attention(qkv: mx.array, heads: int, scale: float) -> mx.array:
    """Multi-head self-attention from the fused projection ``qkv`` ``(batch, n, 3·d)`` → ``(batch, n, d)``.

    ``qkv``'s last axis is ``[q | k | v]``, each ``heads × d/heads`` (PyTorch's ViT layout); the output
    has the heads side by side again, ready for the output projection. The values are
    :func:`attention`'s. The gradient is written out (as flash attention's backward is):
    ``dV = Pᵀ·dO``, ``dS = softmax′(P, dO·Vᵀ)``, ``dQ = dS·K``, ``dK = dSᵀ·Q``, stacked into the
    ``qkv`` layout with one copy. Differentiated automatically, the three slices of ``qkv`` would each
    send back a zero-filled ``(batch, n, 3·d)`` array written in place, then summed, and every
    transpose a copy of its own: 9–12 % of a ViT step.
    """
    return _self_attention(heads, float(scale))(qkv)[0]


@functools.lru_cache(maxsize=None)
def _self_attention(heads: int, scale: float):
    def split(qkv):
        b, n, three_d = qkv.shape
        # one contiguous copy in (3, b, h, n, d/h) order: q, k and v are then row-contiguous views that
        # the matmuls read in place (MLX's CPU matmul copies any operand whose rows are strided)
        return mx.contiguous(qkv.reshape(b, n, 3, heads, three_d // (3 * heads)).transpose(2, 0, 3, 1, 4))

    @mx.custom_function
    def f(qkv):
        b, n, three_d = qkv.shape
        q, k, v = split(qkv)
        p = softmax_forward(q @ k.swapaxes(-1, -2), -1, scale)
        out = (p @ v).transpose(0, 2, 1, 3).reshape(b, n, three_d // 3)
        return out, p  # p: the attention weights, kept for the backward pass (callers use out only)

    @f.vjp
    def f_vjp(primals, cotangents, outputs):
        qkv, d_out, p = primals, cotangents[0], outputs[1]  # one input: primals is that array
        b, n, three_d = qkv.shape
        q, k, v = split(qkv)
        # contiguous once (a no-op for one head): both matmuls below would otherwise copy it
        d_o = mx.contiguous(d_out.reshape(b, n, heads, three_d // (3 * heads)).transpose(0, 2, 1, 3))
        d_s = softmax_backward(p, d_o @ v.swapaxes(-1, -2), -1, scale)
        grads = (d_s @ k, d_s.swapaxes(-1, -2) @ q, p.swapaxes(-1, -2) @ d_o)  # dQ, dK, dV: (b, h, n, d/h)
        return mx.stack([g.transpose(0, 2, 1, 3) for g in grads], axis=2).reshape(b, n, three_d)

    return f


class Attention(nn.Module):
    """Multi-head self-attention with one fused ``qkv`` projection (weights as in PyTorch's ViT)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by heads={heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def __call__(self, x: mx.array) -> mx.array:
        d = x.shape[-1]
        return self.proj(self_attention(self.qkv(x), self.heads, (d // self.heads) ** -0.5))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(LN(x))`` then ``x + MLP(LN(x))``.

    The MLP uses ReLU, not the ViT's GELU: on MLX's CPU build GELU costs ~50 ns per element,
    as much as the block's matmuls at these widths (Chapter 2 measures it).
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def __call__(self, x: mx.array) -> mx.array:
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(nn.relu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    """Tiny ViT encoder over pre-cut patches.

    Args:
        patch_dim: values per patch (``Π patch · channels``).
        grid: token grid, e.g. ``(8, 8)`` or ``(4, 8, 8)``; sets the fixed position table.
        width, depth, heads, mlp_ratio: transformer sizes.
        key: PRNG key for the initialisation.
    """

    def __init__(self, patch_dim: int, grid: tuple[int, ...], width: int, depth: int, heads: int,
                 mlp_ratio: float, key: mx.array):
        super().__init__()
        self.embed = nn.Linear(patch_dim, width)
        self.blocks = [Block(width, heads, mlp_ratio) for _ in range(depth)]
        self.norm = nn.LayerNorm(width)
        init_linears(self, key)
        self._pos = sincos_positions(grid, width)  # underscore: fixed, not a parameter

    def __call__(self, patches: mx.array, keep: mx.array | None = None) -> mx.array:
        """``(batch, n, patch_dim)`` → ``(batch, k, width)``; with ``keep`` ``(batch, k)`` only those tokens
        enter the transformer (positions are added first, so a kept token knows where it is)."""
        x = self.embed(patches) + self._pos
        if keep is not None:
            x = gather_tokens(x, keep)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def pooled(self, patches: mx.array) -> mx.array:
        """Mean of the output tokens of the whole input: ``(batch, width)``, the probe's features."""
        return mx.mean(self(patches), axis=1)


class Predictor(nn.Module):
    """I-JEPA's predictor: context tokens + mask tokens at the target positions → predicted target features.

    Args:
        width: encoder width (input and output).
        pred_width: the predictor's narrower width (divisible by ``2·len(grid)``).
        grid, depth, heads, mlp_ratio: as for :class:`ViT`.
        key: PRNG key.
        out_dim: output width when it differs from ``width`` (pixel targets: the patch size).
    """

    def __init__(self, width: int, pred_width: int, grid: tuple[int, ...], depth: int, heads: int,
                 mlp_ratio: float, key: mx.array, out_dim: int | None = None):
        super().__init__()
        k_lin, k_tok = mx.random.split(key)
        self.embed = nn.Linear(width, pred_width)
        self.blocks = [Block(pred_width, heads, mlp_ratio) for _ in range(depth)]
        self.norm = nn.LayerNorm(pred_width)
        self.out = nn.Linear(pred_width, out_dim or width)
        init_linears(self, k_lin)
        self.mask_token = 0.02 * mx.random.normal((pred_width,), key=k_tok)
        self._pos = sincos_positions(grid, pred_width)

    def __call__(self, context: mx.array, context_idx: mx.array, target_idx: mx.array) -> mx.array:
        """Predict features at ``target_idx``.

        Args:
            context: context-encoder output ``(batch, k_ctx, width)``.
            context_idx: their grid positions ``(batch, k_ctx)``.
            target_idx: ``(batch, n_targets, k_tgt)``; each target block becomes its own sequence
                ``[context ; mask tokens]`` of length ``k_ctx + k_tgt``.

        Returns:
            ``(batch, n_targets, k_tgt, out_dim)``.
        """
        b, kc, _ = context.shape
        _, t, kt = target_idx.shape
        ctx = self.embed(context) + self._pos[context_idx]
        queries = self.mask_token + self._pos[target_idx]  # (b, t, k_tgt, pred_width)
        # one copy: the concatenation reads the context broadcast over the t target blocks in place
        ctx = mx.broadcast_to(ctx[:, None], (b, t) + ctx.shape[1:])
        x = mx.concatenate([ctx, queries], axis=2).reshape(b * t, kc + kt, -1)
        for block in self.blocks:
            x = block(x)
        return self.out(self.norm(x[:, kc:])).reshape(b, t, kt, -1)
