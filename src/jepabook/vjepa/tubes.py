"""V-JEPA's masks for training: multi-block tubes with a fixed token count per generator, and random tubes.

Explained in Chapter 3 (V-JEPA). The block sizes and placements follow the released
``multiblock3d`` sampler (one size draw per batch, shared by the generators, via
:func:`jepabook.blocks.masks.tube_block_size`; inclusive origin bounds; every block spans all
frames by default). Two things differ, both so that a training step has one shape and compiles:

- the released collator cuts every sample's context and target to the batch minimum, keeping the
  *first* indices in (frame, row, col) order, so the count changes from batch to batch and the cut
  falls on the last frames. Here each generator has a **fixed** context count ``k_ctx`` and target
  count ``k_tgt``, and each sample keeps a **random subset** of that size of its context and of its
  target;
- a sample whose context holds fewer than ``k_ctx`` tokens, or whose target fewer than ``k_tgt``,
  is drawn again (same block size, fresh origins). :func:`fixed_counts` picks the counts from a
  low quantile of the sampler's own distribution, so only a few per cent of draws are redrawn.

The random-tube baseline hides the same random set of spatial positions in every frame, keeping
``int(rows·cols·(1 − ratio))`` of them, the released ``random_tube`` arithmetic (at ratio 0.9 on a
6×6 grid that keeps 3 positions: 91.7 % masked).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jepabook.blocks.masks import VJEPA_GENERATORS, tube_block_size

__all__ = ["TubeBatch", "fixed_counts", "random_tubes", "tube_masks", "union_ratio"]


@dataclass(frozen=True)
class TubeBatch:
    """One generator's masks for a batch: ``context`` ``(batch, k_ctx)`` and ``target`` ``(batch, k_tgt)``
    sorted flat indices; ``masked`` ``(batch, frames, rows, cols)`` the union of the blocks before the
    subset (True = hidden from the context); ``redraws``: samples drawn again for too few tokens."""

    context: np.ndarray
    target: np.ndarray
    masked: np.ndarray
    redraws: int = 0


def _check_grid(grid) -> tuple[int, int, int]:
    if not (isinstance(grid, (tuple, list)) and len(grid) == 3
            and all(isinstance(g, (int, np.integer)) and g >= 1 for g in grid)):
        raise ValueError(f"grid must be (frames, rows, cols), positive integers; got {grid!r}")
    return tuple(int(g) for g in grid)


def _check_generator(gen: dict) -> dict:
    allowed = {"name", "n_blocks", "spatial_scale", "temporal_scale", "aspect"}
    if not isinstance(gen, dict) or set(gen) - allowed or "n_blocks" not in gen:
        raise ValueError(f"generator must be a dict with n_blocks and optionally {sorted(allowed - {'n_blocks'})}; "
                         f"got {gen!r}")
    return gen


def _unions(rng: np.random.Generator, batch: int, grid, n_blocks: int, size: tuple[int, int, int]) -> np.ndarray:
    """``(batch, frames, rows, cols)`` unions of ``n_blocks`` blocks of ``size`` at independent origins."""
    frames, rows, cols = grid
    t, h, w = size
    # inclusive bounds: an origin may sit at rows − h, cols − w, frames − t (the last row, column and
    # frame can be covered), as in the released sampler
    top = rng.integers(0, rows - h + 1, (batch, n_blocks))
    left = rng.integers(0, cols - w + 1, (batch, n_blocks))
    start = rng.integers(0, frames - t + 1, (batch, n_blocks))

    def inside(origin, length, n):  # (batch, n_blocks, n)
        i = np.arange(n)
        return (i >= origin[..., None]) & (i < origin[..., None] + length)

    in_t, in_r, in_c = inside(start, t, frames), inside(top, h, rows), inside(left, w, cols)
    blocks = in_t[..., :, None, None] & in_r[..., None, :, None] & in_c[..., None, None, :]
    return blocks.any(axis=1)


def _subset(rng: np.random.Generator, member: np.ndarray, k: int) -> np.ndarray:
    """A uniformly random subset of ``k`` of each row's True positions, sorted: ``(batch, k)``."""
    score = np.where(member, rng.random(member.shape), np.inf)
    return np.sort(np.argpartition(score, k - 1, axis=1)[:, :k], axis=1)


def tube_masks(rng: np.random.Generator, batch: int, grid, generator: dict, k_ctx: int, k_tgt: int,
               uniforms: tuple[float, float, float] | None = None, max_tries: int = 1000) -> TubeBatch:
    """Masks of one multi-block generator with exactly ``k_ctx`` context and ``k_tgt`` target tokens per sample.

    Args:
        rng: NumPy generator (block origins, the size draw when ``uniforms`` is None, the subsets).
        batch: samples.
        grid: ``(frames, rows, cols)`` token grid.
        generator: one of :data:`jepabook.blocks.masks.VJEPA_GENERATORS`' form: ``n_blocks``,
            ``spatial_scale``, ``temporal_scale``, ``aspect``.
        k_ctx, k_tgt: the fixed counts (see :func:`fixed_counts`).
        uniforms: the three size uniforms, shared between generators of a batch as released.

    Raises:
        ValueError: for a bad grid, batch or count, or when ``max_tries`` draws of a sample never
            leave ``k_ctx`` context and ``k_tgt`` target tokens.
    """
    grid = _check_grid(grid)
    gen = _check_generator(generator)
    n = int(np.prod(grid))
    if not (isinstance(batch, (int, np.integer)) and batch >= 1):
        raise ValueError(f"batch must be a positive integer; got {batch!r}")
    for name, k in (("k_ctx", k_ctx), ("k_tgt", k_tgt)):
        if not (isinstance(k, (int, np.integer)) and 1 <= k < n):
            raise ValueError(f"{name} must be an integer in [1, {n - 1}] for grid {grid}; got {k!r}")
    if k_ctx + k_tgt > n:
        raise ValueError(f"k_ctx + k_tgt must not exceed the {n} tokens of grid {grid}; got {k_ctx} + {k_tgt}")
    if uniforms is None:
        uniforms = tuple(float(u) for u in rng.random(3))
    size = tube_block_size(uniforms, grid, gen.get("temporal_scale", (1.0, 1.0)), gen.get("spatial_scale", (0.15, 0.15)),
                           gen.get("aspect", (0.75, 1.5)))
    masked = _unions(rng, batch, grid, gen["n_blocks"], size)
    redraws = 0
    for _ in range(max_tries):
        hidden = masked.reshape(batch, -1).sum(1)
        bad = np.flatnonzero((n - hidden < k_ctx) | (hidden < k_tgt))
        if bad.size == 0:
            break
        redraws += bad.size
        masked[bad] = _unions(rng, bad.size, grid, gen["n_blocks"], size)
    else:
        raise ValueError(f"{gen['n_blocks']} blocks of {size} on grid {grid} never left k_ctx={k_ctx} context and "
                         f"k_tgt={k_tgt} target tokens in {max_tries} draws; lower k_ctx or k_tgt")
    flat = masked.reshape(batch, -1)
    return TubeBatch(_subset(rng, ~flat, k_ctx), _subset(rng, flat, k_tgt), masked, redraws)


def union_ratio(rng: np.random.Generator, grid, generator: dict, draws: int = 2000) -> np.ndarray:
    """Share of the grid hidden by the union of a generator's blocks, one value per draw ``(draws,)``
    (a fresh size draw each time, as one batch would get)."""
    grid = _check_grid(grid)
    gen = _check_generator(generator)
    out = np.empty(draws)
    for i in range(draws):
        size = tube_block_size(tuple(rng.random(3)), grid, gen.get("temporal_scale", (1.0, 1.0)),
                               gen.get("spatial_scale", (0.15, 0.15)), gen.get("aspect", (0.75, 1.5)))
        out[i] = _unions(rng, 1, grid, gen["n_blocks"], size).mean()
    return out


def fixed_counts(rng: np.random.Generator, grid, generator: dict, quantile: float = 0.05,
                 draws: int = 2000) -> tuple[int, int]:
    """``(k_ctx, k_tgt)``: the ``quantile`` of the context and target counts over ``draws`` draws
    (draws that leave no context are dropped, as the released sampler redraws them).

    Samples below either count are redrawn by :func:`tube_masks`; both counts are at least 1.
    """
    if not (0.0 <= quantile < 0.5):
        raise ValueError(f"quantile must lie in [0, 0.5); got {quantile!r}")
    n = int(np.prod(_check_grid(grid)))
    hidden = np.round(union_ratio(rng, grid, generator, draws) * n).astype(int)
    hidden = hidden[hidden < n]  # the released sampler redraws a sample whose context is empty
    k_ctx = max(int(np.quantile(n - hidden, quantile)), 1)
    k_tgt = max(int(np.quantile(hidden, quantile)), 1)
    return k_ctx, k_tgt


def random_tubes(rng: np.random.Generator, batch: int, grid, ratio: float = 0.9) -> TubeBatch:
    """Random-tube masks: ``int(rows·cols·(1 − ratio))`` spatial positions kept in every frame, the rest hidden."""
    frames, rows, cols = _check_grid(grid)
    if not (isinstance(ratio, (int, float)) and 0.0 < ratio < 1.0):
        raise ValueError(f"ratio must lie in (0, 1); got {ratio!r}")
    keep = int(rows * cols * (1.0 - ratio))
    if keep < 1:
        raise ValueError(f"ratio={ratio} keeps no spatial position of a {rows}×{cols} grid")
    masked = np.ones((batch, frames, rows * cols), dtype=bool)
    for b in range(batch):
        masked[b, :, rng.permutation(rows * cols)[:keep]] = False
    masked = masked.reshape(batch, frames, rows, cols)
    flat = masked.reshape(batch, -1)
    return TubeBatch(np.stack([np.flatnonzero(~f) for f in flat]), np.stack([np.flatnonzero(f) for f in flat]), masked)


# the released configuration's two generators, re-exported so the chapter names one source
GENERATORS = VJEPA_GENERATORS
