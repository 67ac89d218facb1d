"""Which patches the context encoder sees and which it must predict: I-JEPA's masks and the baselines.

Explained in Chapter 2 (I-JEPA). Every sampler takes a NumPy generator, a batch size and a token
grid ``(rows, cols)`` and returns a :class:`Masks` of flat row-major token indices with the same
counts for every sample of the batch (so a batch is one dense array).

The multi-block sampler comes in two variants:

- ``"released"`` reproduces the official sampler's behaviour: one scale/aspect draw for the whole
  batch, scale and aspect tied to one uniform, block sides forced below the grid size, an exclusive
  upper bound on the block origin (the last row/column is never an origin), and counts equalised by
  keeping the *first* indices in row-major order (so the context keeps the top rows);
- ``"corrected"``: independent scale and aspect draws per block, inclusive bounds, and counts
  equalised by keeping a random subset.

The released sampler retries a target block until it holds more than ``min_keep`` tokens, which
never happens when the block is too small; here that case raises a ``ValueError`` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Masks", "VARIANTS", "block_masks", "block_size", "multiblock_masks", "random_masks",
           "context_statistics", "rasterized_masks", "row_coverage"]

VARIANTS = ("released", "corrected")


@dataclass(frozen=True)
class Masks:
    """``context`` ``(batch, k_ctx)`` and ``targets`` ``(batch, n_targets, k_tgt)`` flat token indices."""

    context: np.ndarray
    targets: np.ndarray


def block_size(u_scale: float, u_aspect: float, scale: tuple[float, float], aspect: tuple[float, float],
               grid: tuple[int, int], variant: str) -> tuple[int, int]:
    """Block ``(height, width)`` in tokens from uniforms in [0, 1): area fraction ``scale``, ratio ``aspect`` = h/w.

    ``"released"`` forces each side strictly below the grid size (as the official sampler does);
    ``"corrected"`` allows a block as large as the grid.
    """
    rows, cols = grid
    keep = int(rows * cols * (scale[0] + u_scale * (scale[1] - scale[0])))
    ratio = aspect[0] + u_aspect * (aspect[1] - aspect[0])
    h, w = int(round(math.sqrt(keep * ratio))), int(round(math.sqrt(keep / ratio)))
    if variant == "released":
        h, w = min(h, rows - 1), min(w, cols - 1)
    else:
        h, w = max(min(h, rows), 1), max(min(w, cols), 1)
    return h, w


def _check(variant: str, grid: tuple[int, int], batch: int) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")
    if len(grid) != 2 or min(grid) < 2:
        raise ValueError(f"grid must be (rows, cols), each at least 2; got {grid!r}")
    if batch < 1:
        raise ValueError(f"batch must be a positive integer; got {batch!r}")


def _place(rng: np.random.Generator, h: int, w: int, grid: tuple[int, int], variant: str) -> np.ndarray:
    """A ``(rows, cols)`` boolean block of ``h × w`` at a random origin."""
    rows, cols = grid
    extra = 0 if variant == "released" else 1  # the released origin bound is exclusive
    top, left = rng.integers(0, rows - h + extra), rng.integers(0, cols - w + extra)
    mask = np.zeros(grid, dtype=bool)
    mask[top:top + h, left:left + w] = True
    return mask


def _equalise(sets: list[np.ndarray], rng: np.random.Generator, variant: str) -> np.ndarray:
    """Cut index sets to the smallest size: a row-major prefix (released) or a random subset (corrected)."""
    k = min(len(s) for s in sets)
    if variant == "released":
        return np.stack([s[:k] for s in sets])
    return np.stack([np.sort(rng.choice(s, k, replace=False)) for s in sets])


def multiblock_masks(rng: np.random.Generator, batch: int, grid: tuple[int, int], n_targets: int = 4,
                     target_scale=(0.15, 0.2), target_aspect=(0.75, 1.5), context_scale=(0.85, 1.0),
                     min_keep: int = 3, variant: str = "released", max_tries: int = 200) -> Masks:
    """I-JEPA's multi-block masks: ``n_targets`` target blocks; one large context block minus every target.

    ``min_keep`` is the fewest tokens a block may keep (the official value, 10, is for a 14×14 grid;
    3 is its share of an 8×8 grid). When the context block minus the targets keeps too few tokens,
    the constraint from one more target is dropped each ``max_tries // 10`` attempts, as released.

    Raises:
        ValueError: when a target block holds ``min_keep`` tokens or fewer (the released sampler
            would retry forever), or for a bad variant, grid or count.
    """
    _check(variant, grid, batch)
    if not (isinstance(n_targets, int) and n_targets >= 1):
        raise ValueError(f"n_targets must be a positive integer; got {n_targets!r}")
    rows, cols = grid
    smallest = block_size(0.0, 0.0, target_scale, target_aspect, grid, variant)
    if smallest[0] * smallest[1] <= min_keep:
        raise ValueError(
            f"grid {grid} is too small for target_scale={target_scale}: the smallest target block "
            f"{smallest[0]}×{smallest[1]} keeps ≤ min_keep={min_keep} tokens, so the sampler could never "
            "accept it (the released sampler loops forever); use a larger grid, larger scale or smaller min_keep")

    def sizes(scale, aspect):
        if variant == "released":  # one draw for the whole batch; one uniform sets scale and aspect
            u = rng.random()
            return lambda: block_size(u, u, scale, aspect, grid, variant)
        return lambda: block_size(rng.random(), rng.random(), scale, aspect, grid, variant)

    target_size, context_size = sizes(target_scale, target_aspect), sizes(context_scale, (1.0, 1.0))
    targets, contexts = [], []
    for _ in range(batch):
        blocks = []
        for _ in range(n_targets):
            h, w = target_size()
            if h * w <= min_keep:
                raise ValueError(f"target block {h}×{w} keeps ≤ min_keep={min_keep} tokens on grid {grid}")
            blocks.append(_place(rng, h, w, grid, variant))
        targets.append([np.flatnonzero(b) for b in blocks])
        h, w = context_size()
        for tries in range(max_tries):
            dropped = tries // max(max_tries // 10, 1)  # relax: ignore the last `dropped` targets
            context = _place(rng, h, w, grid, variant)
            for b in blocks[:max(n_targets - dropped, 0)]:
                context &= ~b
            if context.sum() > min_keep:
                break
        else:
            raise ValueError(f"no context block with more than min_keep={min_keep} tokens after {max_tries} tries "
                             f"on grid {grid}; lower the target scale or the number of targets")
        contexts.append(np.flatnonzero(context))
    flat = [t for per_sample in targets for t in per_sample]
    target_idx = _equalise(flat, rng, variant).reshape(batch, n_targets, -1)
    return Masks(_equalise(contexts, rng, variant), target_idx)


def random_masks(rng: np.random.Generator, batch: int, grid: tuple[int, int], mask_ratio: float = 0.6) -> Masks:
    """Hide a random ``mask_ratio`` of the patches (the target, one sequence); the rest is the context."""
    n = grid[0] * grid[1]
    k = int(round(mask_ratio * n))
    if not (0 < k < n):
        raise ValueError(f"mask_ratio={mask_ratio} leaves no context or no target on grid {grid}")
    order = np.stack([rng.permutation(n) for _ in range(batch)])
    return Masks(np.sort(order[:, k:], axis=1), np.sort(order[:, :k], axis=1)[:, None])


def block_masks(rng: np.random.Generator, batch: int, grid: tuple[int, int], scale: float = 0.6) -> Masks:
    """One square block covering ``scale`` of the grid is the target; everything else is the context."""
    rows, cols = grid
    side = int(round(math.sqrt(scale * rows * cols)))
    if not (1 <= side < min(rows, cols)):
        raise ValueError(f"scale={scale} gives a {side}×{side} block, which does not fit grid {grid} with context left")
    blocks = [_place(rng, side, side, grid, "corrected") for _ in range(batch)]
    return Masks(np.stack([np.flatnonzero(~b) for b in blocks]), np.stack([np.flatnonzero(b) for b in blocks])[:, None])


def rasterized_masks(rng: np.random.Generator, batch: int, grid: tuple[int, int]) -> Masks:
    """One random quadrant is the context; the other three quadrants are three targets."""
    rows, cols = grid
    if rows % 2 or cols % 2:
        raise ValueError(f"rasterized masks need an even grid; got {grid}")
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    quadrant = ((r >= rows // 2) * 2 + (c >= cols // 2)).ravel()
    quads = [np.flatnonzero(quadrant == q) for q in range(4)]
    pick = rng.integers(0, 4, batch)
    return Masks(np.stack([quads[q] for q in pick]),
                 np.stack([np.stack([quads[o] for o in range(4) if o != q]) for q in pick]))


def row_coverage(indices: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Fraction of each row's tokens present in ``indices`` ``(batch, k)``, averaged over the batch: ``(rows,)``."""
    rows, cols = grid
    counts = np.zeros(rows)
    for row in indices // cols:
        counts += np.bincount(row, minlength=rows)
    return counts / (len(indices) * cols)


def context_statistics(rng: np.random.Generator, grid: tuple[int, int], batch: int, min_keep: int, variant: str,
                       draws: int = 8) -> tuple[float, np.ndarray]:
    """Multi-block context over ``draws`` batches: mean fraction of the grid kept, and :func:`row_coverage` ``(rows,)``."""
    ratio, cover = [], []
    for _ in range(draws):
        m = multiblock_masks(rng, batch, grid, min_keep=min_keep, variant=variant)
        ratio.append(m.context.shape[1] / (grid[0] * grid[1]))
        cover.append(row_coverage(m.context, grid))
    return float(np.mean(ratio)), np.mean(cover, axis=0)
