"""Analytic FLOPs of one training step of each chapter's model (``benchmarks/bench_steps.py``).

Conventions (stated once, used everywhere):

- a matrix product ``(m, k) @ (k, n)`` costs ``2·m·k·n`` FLOPs; only matrix products are counted
  (LayerNorm, softmax, activations, the optimizer and SIGReg's cos/sin are a few FLOPs per element,
  well under 10 % of these steps, and are not what the GEMM peak measures);
- a trained network costs 3× its forward pass per step (forward, then the gradients with respect to
  its inputs and to its weights, each as large as the forward); a frozen network (the EMA target
  encoders of Chapters 2 and 3) costs 1× its forward pass; the first layer's input gradient is not
  skipped (a 1–3 % overcount at these sizes, kept for simplicity);
- attention over ``L`` tokens of width ``w`` costs ``2·L²·w`` for the scores and ``2·L²·w`` for the
  weighted values, whatever the number of heads.
"""

from __future__ import annotations


def linear(tokens: int, d_in: int, d_out: int) -> int:
    return 2 * tokens * d_in * d_out


def block(sequences: int, length: int, width: int, mlp_ratio: float) -> int:
    """One pre-norm transformer block (:class:`jepabook.blocks.vit.Block`), forward."""
    t = sequences * length
    hidden = int(width * mlp_ratio)
    return (linear(t, width, 3 * width) + 4 * sequences * length**2 * width + linear(t, width, width)
            + linear(t, width, hidden) + linear(t, hidden, width))


def encoder(sequences: int, length: int, width: int, depth: int, mlp_ratio: float) -> int:
    return depth * block(sequences, length, width, mlp_ratio)


def ijepa(c, k_ctx: int, n_targets: int, k_tgt: int) -> int:
    """Chapter 2: context ViT on ``k_ctx`` tokens, predictor on ``k_ctx + k_tgt`` per target block, EMA target."""
    n, b = c.grid[0] * c.grid[1], c.batch
    patch_dim = c.patch**2
    ctx = linear(b * n, patch_dim, c.width) + encoder(b, k_ctx, c.width, c.depth, c.mlp_ratio)
    pred = (linear(b * k_ctx, c.width, c.pred_width)
            + encoder(b * n_targets, k_ctx + k_tgt, c.pred_width, c.pred_depth, c.mlp_ratio)
            + linear(b * n_targets * k_tgt, c.pred_width, c.width))
    target = linear(b * n, patch_dim, c.width) + encoder(b, n, c.width, c.depth, c.mlp_ratio)
    return 3 * (ctx + pred) + target


def vjepa(c, counts: list[tuple[int, int]]) -> int:
    """Chapter 3: per generator ``(k_ctx, k_tgt)``, the context ViT and the predictor; one EMA target pass."""
    n, b = c.grid[0] * c.grid[1] * c.grid[2], c.batch
    total = linear(b * n, c.patch_dim, c.width) + encoder(b, n, c.width, c.depth, c.mlp_ratio)  # target
    for k_ctx, k_tgt in counts:
        ctx = linear(b * n, c.patch_dim, c.width) + encoder(b, k_ctx, c.width, c.depth, c.mlp_ratio)
        pred = (linear(b * k_ctx, c.width, c.pred_width)
                + encoder(b, k_ctx + k_tgt, c.pred_width, c.pred_depth, c.mlp_ratio)
                + linear(b * k_tgt, c.pred_width, c.width))
        total += 3 * (ctx + pred)
    return total


def crossjepa(c, cond_dim: int, out_dim: int, keep: int, point_dims=(32, 64)) -> int:
    """Chapter 4: mini-PointNet over ``keep`` groups, the point transformer, the conditioned predictor per view."""
    b, points = c.batch, c.batch * keep * c.group_size
    pointnet = linear(points, 3, point_dims[0]) + linear(points, *point_dims) + linear(b * keep, point_dims[1], c.width)
    pos = linear(b * keep, 3, 64) + linear(b * keep, 64, c.width)
    enc = encoder(b, keep, c.width, c.depth, c.mlp_ratio)
    v = b * c.n_views
    pred = linear(v, 2 * c.width + cond_dim, c.pred_hidden) + linear(v, c.pred_hidden, c.pred_hidden) \
        + linear(v, c.pred_hidden, out_dim)
    return 3 * (pointnet + pos + enc + pred)


def teacher(s, image_size: int) -> int:
    """Chapter 4's ViT teacher: the ViT on every copy, its two-layer projector, SIGReg's projection."""
    grid = image_size // s.patch
    rows = s.n_aug * s.batch
    vit = linear(rows * grid**2, s.patch**2 * 3, s.width) + encoder(rows, grid**2, s.width, s.depth, s.mlp_ratio)
    proj = linear(rows, s.width, 4 * s.width) + linear(rows, 4 * s.width, s.proj_dim)
    return 3 * (vit + proj + sigreg_projection(rows, s.proj_dim, s.slices))


def mlp(rows: int, dims: list[int]) -> int:
    return sum(linear(rows, a, b) for a, b in zip(dims[:-1], dims[1:]))


def sigreg_projection(rows: int, dim: int, slices: int) -> int:
    return 2 * rows * dim * slices


def basics(c) -> int:
    """Chapter 1: encoder and predictor on both views, SIGReg's projection of both views' embeddings."""
    enc = mlp(2 * c.batch, [c.ambient_dim, c.hidden, c.hidden, c.embed_dim])
    pred = mlp(2 * c.batch, [c.embed_dim, c.predictor_hidden, c.embed_dim])
    return 3 * (enc + pred + sigreg_projection(2 * c.batch, c.embed_dim, c.num_slices))


def lejepa(learner, dim: int = 2) -> int:
    """Chapter 5: the MLP encoder on both views and SIGReg's projection."""
    dims = [dim] + [learner.hidden] * (learner.depth - 1) + [dim]
    return 3 * (mlp(2 * learner.batch, dims) + sigreg_projection(2 * learner.batch, dim, learner.num_slices))
