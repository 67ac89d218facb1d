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

V-JEPA's multi-block 3-D sampler (Chapter 3; audited in Chapter 6) works on a ``(frames, rows,
cols)`` token grid: :func:`multiblock3d_masks` reproduces one released mask generator and
:func:`multiblock3d_collate` the collator that runs every generator on a batch (see their
docstrings for the released semantics, prefix cut included).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Masks", "VARIANTS", "block_masks", "block_size", "multiblock_masks", "random_masks",
           "block_sizes", "context_count", "fixed_multiblock_masks", "target_count",
           "context_statistics", "rasterized_masks", "row_coverage",
           "TubeMasks", "VJEPA_GENERATORS", "tube_block_size", "multiblock3d_masks", "multiblock3d_collate",
           "video_grid", "frame_coverage"]

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


def target_count(grid: tuple[int, int], target_scale=(0.15, 0.2), target_aspect=(0.75, 1.5), resolution: int = 64) -> int:
    """The fewest tokens a ``"corrected"`` target block can hold: the fixed target count of :func:`fixed_multiblock_masks`."""
    return min(h * w for a in np.linspace(0.0, 1.0, resolution + 1)
               for h, w in [block_size(0.0, float(a), target_scale, target_aspect, grid, "corrected")])


def block_sizes(u_scale: np.ndarray, u_aspect: np.ndarray, scale: tuple[float, float], aspect: tuple[float, float],
                grid: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`block_size` (``"corrected"``) on arrays of uniforms: integer arrays of heights and widths.

    The same arithmetic element by element: ``int()`` of a positive float is ``floor``, and Python's
    ``round`` and ``np.rint`` both round halves to even.
    """
    rows, cols = grid
    keep = np.floor(rows * cols * (scale[0] + u_scale * (scale[1] - scale[0])))
    ratio = aspect[0] + u_aspect * (aspect[1] - aspect[0])
    h = np.clip(np.rint(np.sqrt(keep * ratio)), 1, rows).astype(np.int64)
    w = np.clip(np.rint(np.sqrt(keep / ratio)), 1, cols).astype(np.int64)
    return h, w


def _block_masks(rng: np.random.Generator, shape: tuple[int, ...], scale, aspect, grid) -> tuple[np.ndarray, tuple]:
    """Boolean blocks ``shape + grid`` placed as ``_place(…, "corrected")`` does, and their ``(top, left, h, w)``."""
    rows, cols = grid
    h, w = block_sizes(rng.random(shape), rng.random(shape), scale, aspect, grid)
    top, left = rng.integers(0, rows - h + 1), rng.integers(0, cols - w + 1)  # inclusive bounds
    r, c = np.arange(rows), np.arange(cols)
    inside_r = (r >= top[..., None]) & (r < (top + h)[..., None])
    inside_c = (c >= left[..., None]) & (c < (left + w)[..., None])
    return inside_r[..., :, None] & inside_c[..., None, :], (top, left, h, w)


def _random_subsets(rng: np.random.Generator, members: np.ndarray, k: int) -> np.ndarray:
    """A uniformly random ``k``-subset of each row's ``True`` positions of ``members`` ``(…, n)``, sorted.

    Every member gets an independent uniform key and the ``k`` smallest keys win (non-members get
    keys above 1), which is a uniform draw of ``k`` members without replacement.
    """
    keys = rng.random(members.shape) + np.where(members, 0.0, 2.0)
    return np.sort(np.argpartition(keys, k - 1, axis=-1)[..., :k], axis=-1)


def fixed_multiblock_masks(rng: np.random.Generator, batch: int, grid: tuple[int, int], k_context: int,
                           n_targets: int = 4, target_scale=(0.15, 0.2), target_aspect=(0.75, 1.5),
                           context_scale=(0.85, 1.0), max_tries: int = 1000, blocks: dict | None = None) -> Masks:
    """Multi-block masks with the same token counts in every batch, so a compiled step never retraces.

    The ``"corrected"`` sampler (independent scale and aspect per block, inclusive bounds), then each
    target block cut to a random subset of :func:`target_count` tokens (the smallest block the scale
    and aspect ranges allow) and each context to a random subset of ``k_context`` tokens. A sample
    whose context block keeps fewer than ``k_context`` tokens once every target is removed is drawn
    again, targets and context together; unlike the released sampler, no target's constraint is ever
    dropped, so the context never holds a target token. ``k_context / (rows · cols)`` is the realised
    context fraction of every sample.

    Vectorised in NumPy over the batch (the whole batch is drawn at once, and the rejected samples
    again, together), about 10× faster than a loop over samples; the law is the loop's, the draws are
    not (``tests/test_masks.py`` compares the two laws).

    ``blocks``: if a dict is given, it receives the accepted blocks' ``(top, left, height, width)``
    arrays under ``"targets"`` ``(batch, n_targets)`` and ``"context"`` ``(batch,)`` (for tests).

    Raises:
        ValueError: when ``k_context`` is not in ``[1, rows · cols)`` or no sample keeps ``k_context``
            context tokens within ``max_tries`` draws.
    """
    _check("corrected", grid, batch)
    rows, cols = grid
    if not (isinstance(k_context, (int, np.integer)) and 1 <= k_context < rows * cols):
        raise ValueError(f"k_context must be an integer in [1, {rows * cols}); got {k_context!r}")
    if not (isinstance(n_targets, int) and n_targets >= 1):
        raise ValueError(f"n_targets must be a positive integer; got {n_targets!r}")
    k_target = target_count(grid, target_scale, target_aspect)
    target = np.zeros((batch, n_targets, rows, cols), dtype=bool)
    context = np.zeros((batch, rows, cols), dtype=bool)
    geometry = {"targets": np.zeros((4, batch, n_targets), dtype=np.int64), "context": np.zeros((4, batch), dtype=np.int64)}
    todo = np.arange(batch)
    for _ in range(max_tries):
        t, t_geo = _block_masks(rng, (len(todo), n_targets), target_scale, target_aspect, grid)
        c, c_geo = _block_masks(rng, (len(todo),), context_scale, (1.0, 1.0), grid)
        c &= ~t.any(axis=1)
        ok = c.sum(axis=(1, 2)) >= k_context
        target[todo[ok]], context[todo[ok]] = t[ok], c[ok]
        geometry["targets"][:, todo[ok]] = np.stack(t_geo)[:, ok]
        geometry["context"][:, todo[ok]] = np.stack(c_geo)[:, ok]
        todo = todo[~ok]
        if not len(todo):
            break
    else:
        raise ValueError(f"no sample keeps k_context={k_context} context tokens after {max_tries} draws on grid "
                         f"{grid}; lower k_context (see context_count)")
    if blocks is not None:
        blocks.update(geometry)
    targets = _random_subsets(rng, target.reshape(batch, n_targets, rows * cols), k_target)
    return Masks(_random_subsets(rng, context.reshape(batch, rows * cols), k_context), targets)


@functools.lru_cache(maxsize=None)
def context_count(grid: tuple[int, int], n_targets: int = 4, target_scale=(0.15, 0.2), target_aspect=(0.75, 1.5),
                  context_scale=(0.85, 1.0), quantile: float = 0.1, draws: int = 2000) -> int:
    """The context count :func:`fixed_multiblock_masks` keeps: the ``quantile`` of the corrected sampler's
    context sizes (targets removed) over ``draws`` samples from a fixed stream, so it depends on the
    masking recipe alone; samples below it are redrawn, samples above it cut to it."""
    if not (0.0 < quantile < 1.0):
        raise ValueError(f"quantile must be in (0, 1); got {quantile!r}")
    rng = np.random.default_rng(20230119)  # fixed: the count is a property of the recipe, not of a seed
    sizes = []
    for _ in range(draws):
        blocks = [_place(rng, *block_size(rng.random(), rng.random(), target_scale, target_aspect, grid, "corrected"),
                         grid, "corrected") for _ in range(n_targets)]
        context = _place(rng, *block_size(rng.random(), rng.random(), context_scale, (1.0, 1.0), grid, "corrected"),
                         grid, "corrected")
        for b in blocks:
            context &= ~b
        sizes.append(int(context.sum()))
    return max(int(np.quantile(sizes, quantile)), 1)


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


# --- V-JEPA: multi-block tube masks on a (frames, rows, cols) grid ------------------------------------

#: The released V-JEPA pre-training configuration's two mask generators (every ViT config):
#: short-range, 8 blocks of 15 % of a frame; long-range, 2 blocks of 70 %; both span every frame.
VJEPA_GENERATORS = (
    {"name": "short", "n_blocks": 8, "spatial_scale": (0.15, 0.15), "temporal_scale": (1.0, 1.0),
     "aspect": (0.75, 1.5)},
    {"name": "long", "n_blocks": 2, "spatial_scale": (0.7, 0.7), "temporal_scale": (1.0, 1.0),
     "aspect": (0.75, 1.5)},
)


@dataclass(frozen=True)
class TubeMasks:
    """One V-JEPA mask generator's output for a batch, in flat ``(frame, row, col)`` row-major indices.

    ``context`` ``(batch, k_ctx)`` and ``target`` ``(batch, k_tgt)`` after the prefix cut (the counts
    every sample of the batch gets); ``masked`` ``(batch, frames, rows, cols)`` the union of the
    blocks *before* the cut (True = hidden from the context); ``block`` the ``(t, h, w)`` block size
    drawn for the batch.
    """

    context: np.ndarray
    target: np.ndarray
    masked: np.ndarray
    block: tuple[int, int, int]

    @property
    def masks(self) -> Masks:
        """As a :class:`Masks` (one target sequence), the form the I-JEPA training code takes."""
        return Masks(self.context, self.target[:, None])

    @property
    def grid(self) -> tuple[int, int, int]:
        return tuple(self.masked.shape[1:])

    @property
    def cut_context(self) -> np.ndarray:
        """``(batch, frames, rows, cols)`` True where a context token survives the prefix cut."""
        kept = np.zeros(self.masked.shape[0] * int(np.prod(self.grid)), dtype=bool)
        offsets = np.arange(len(self.context))[:, None] * int(np.prod(self.grid))
        kept[(self.context + offsets).ravel()] = True
        return kept.reshape(self.masked.shape)


def video_grid(num_frames: int = 16, tubelet: int = 2, crop: int = 224, patch: int = 16) -> tuple[int, int, int]:
    """Token grid ``(frames, rows, cols)`` of a clip, as the released code computes it (floor divisions)."""
    for name, v in (("num_frames", num_frames), ("tubelet", tubelet), ("crop", crop), ("patch", patch)):
        if not (isinstance(v, (int, np.integer)) and v >= 1):
            raise ValueError(f"{name} must be a positive integer; got {v!r}")
    grid = (num_frames // tubelet, crop // patch, crop // patch)
    if min(grid) < 1:
        raise ValueError(f"num_frames={num_frames}, tubelet={tubelet}, crop={crop}, patch={patch} give an empty grid {grid}")
    return grid


def _check_range(name: str, value, low: float, high: float | None, low_open: bool = False) -> tuple[float, float]:
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    if ok:
        a, b = (float(v) for v in value)
        ok = math.isfinite(a) and math.isfinite(b) and a <= b and (a > low if low_open else a >= low)
        ok = ok and (high is None or b <= high)
    if not ok:
        where = f"in ({low}, {high}]" if low_open else f"in [{low}, {high}]"
        where = f"> {low}" if high is None else where
        raise ValueError(f"{name} must be a (min, max) pair with min <= max, both {where}; got {value!r}")
    return a, b


def _check_grid3(grid) -> tuple[int, int, int]:
    if not (isinstance(grid, (tuple, list)) and len(grid) == 3
            and all(isinstance(g, (int, np.integer)) and g >= 1 for g in grid)):
        raise ValueError(f"grid must be (frames, rows, cols), positive integers; got {grid!r}")
    return tuple(int(g) for g in grid)


def tube_block_size(uniforms: tuple[float, float, float], grid: tuple[int, int, int],
                    temporal_scale=(1.0, 1.0), spatial_scale=(0.15, 0.15), aspect=(0.75, 1.5)) -> tuple[int, int, int]:
    """Block ``(t, h, w)`` in tokens from three uniforms in [0, 1) (temporal, spatial, aspect), as released.

    ``t = max(1, ⌊frames·s_t⌋)``; ``keep = ⌊rows·cols·s⌋`` tokens per frame; ``h = round(√(keep·a))``,
    ``w = round(√(keep/a))`` with a = h/w, each side capped *at* the grid size (a block may span the
    whole frame, unlike I-JEPA's sampler, which keeps sides strictly below it).
    """
    frames, rows, cols = grid
    u_t, u_s, u_a = uniforms
    t = max(1, int(frames * (temporal_scale[0] + u_t * (temporal_scale[1] - temporal_scale[0]))))
    keep = int(rows * cols * (spatial_scale[0] + u_s * (spatial_scale[1] - spatial_scale[0])))
    ratio = aspect[0] + u_a * (aspect[1] - aspect[0])
    h, w = int(round(math.sqrt(keep * ratio))), int(round(math.sqrt(keep / ratio)))
    return t, min(h, rows), min(w, cols)


def multiblock3d_masks(rng: np.random.Generator, batch: int, grid: tuple[int, int, int], n_blocks: int = 8,
                       spatial_scale=(0.15, 0.15), temporal_scale=(1.0, 1.0), aspect=(0.75, 1.5),
                       max_temporal_keep: float = 1.0, max_keep: int | None = None,
                       uniforms: tuple[float, float, float] | None = None, max_tries: int = 1000) -> TubeMasks:
    """One V-JEPA mask generator (released ``multiblock3d`` semantics) on a ``(frames, rows, cols)`` grid.

    1. One block size ``(t, h, w)`` for the whole batch (:func:`tube_block_size`), from three
       uniforms: ``uniforms`` if given (the collator shares one draw between its generators, see
       :func:`multiblock3d_collate`), else three fresh draws of ``rng``.
    2. Per sample, ``n_blocks`` blocks at independent origins, every bound inclusive: a row origin in
       ``0 .. rows − h``, likewise columns and the start frame (so the last row, column and frame
       can be covered). With ``max_temporal_keep < 1`` the frames from ``max(1, ⌊frames·keep⌋)`` on
       are hidden from the context as well.
    3. Target = the union of the blocks; context = its complement. A sample whose context is empty
       is drawn again (after ``max_tries`` draws a ``ValueError``; the released code retries forever).
    4. Counts are equalised across the batch by keeping each sample's *first* indices in flat
       ``(frame, row, col)`` order: the context is cut to the batch minimum (and to ``max_keep``),
       and so is the target. The cut therefore drops the *last* frames' tokens first.

    Returns:
        :class:`TubeMasks`; ``masked`` holds the uncut union, so the realised ratio before and after
        the cut can both be read.

    Raises:
        ValueError: for a bad grid, count, scale, aspect, ``max_temporal_keep`` or ``max_keep``, or
            when the block size makes every context empty.
    """
    frames, rows, cols = _check_grid3(grid)
    if not (isinstance(batch, (int, np.integer)) and batch >= 1):
        raise ValueError(f"batch must be a positive integer; got {batch!r}")
    if not (isinstance(n_blocks, (int, np.integer)) and n_blocks >= 1):
        raise ValueError(f"n_blocks must be a positive integer; got {n_blocks!r}")
    temporal_scale = _check_range("temporal_scale", temporal_scale, 0.0, 1.0, low_open=True)
    spatial_scale = _check_range("spatial_scale", spatial_scale, 0.0, 1.0, low_open=True)
    aspect = _check_range("aspect", aspect, 0.0, None, low_open=True)
    if not (isinstance(max_temporal_keep, (int, float)) and 0.0 < max_temporal_keep <= 1.0):
        raise ValueError(f"max_temporal_keep must lie in (0, 1]; got {max_temporal_keep!r}")
    if max_keep is not None and not (isinstance(max_keep, (int, np.integer)) and max_keep >= 1):
        raise ValueError(f"max_keep must be None or a positive integer; got {max_keep!r}")
    if uniforms is None:
        uniforms = tuple(float(u) for u in rng.random(3))
    elif not (len(uniforms) == 3 and all(0.0 <= u < 1.0 for u in uniforms)):
        raise ValueError(f"uniforms must be three numbers in [0, 1); got {uniforms!r}")
    t, h, w = tube_block_size(uniforms, (frames, rows, cols), temporal_scale, spatial_scale, aspect)
    if h * w == 0:
        raise ValueError(f"spatial_scale={spatial_scale} gives an empty {h}×{w} block on grid {grid}; "
                         "use a larger scale or grid")
    context_frames = max(1, int(frames * max_temporal_keep))
    if t == frames and h == rows and w == cols:
        raise ValueError(f"a {t}×{h}×{w} block covers the whole grid {grid}, so no context is ever left; "
                         "lower spatial_scale or temporal_scale")
    masked = np.zeros((batch, frames, rows, cols), dtype=bool)
    for b in range(batch):
        for _ in range(max_tries):
            m = masked[b]
            m[:] = False
            for _ in range(n_blocks):
                top, left, start = (int(rng.integers(0, n - k + 1)) for n, k in ((rows, h), (cols, w), (frames, t)))
                m[start:start + t, top:top + h, left:left + w] = True
            m[context_frames:] = True
            if not m.all():
                break
        else:
            raise ValueError(f"{n_blocks} blocks of {t}×{h}×{w} left no context on grid {grid} in {max_tries} draws")
    flat = masked.reshape(batch, -1)
    contexts = [np.flatnonzero(~f) for f in flat]
    targets = [np.flatnonzero(f) for f in flat]
    k_ctx = min(len(c) for c in contexts)
    if max_keep is not None:
        k_ctx = min(k_ctx, int(max_keep))
    k_tgt = min(len(x) for x in targets)
    return TubeMasks(np.stack([c[:k_ctx] for c in contexts]), np.stack([x[:k_tgt] for x in targets]),
                     masked, (t, h, w))


def multiblock3d_collate(rng: np.random.Generator, batch: int, grid: tuple[int, int, int],
                         generators=VJEPA_GENERATORS) -> dict[str, TubeMasks]:
    """Every generator's :class:`TubeMasks` for one batch, as the released collator makes them.

    The released collator seeds each generator's size draw from an iteration counter that all
    generators step together, so within a batch they share the same three uniforms (the short- and
    long-range blocks get the same aspect ratio); block positions are fresh per generator. Here one
    ``rng.random(3)`` draw is shared likewise. Training encodes each generator's context separately
    (one loss term per generator); the masks are never merged.

    ``generators``: dicts with ``name`` and :func:`multiblock3d_masks` keywords (default
    :data:`VJEPA_GENERATORS`).
    """
    names = [g.get("name") for g in generators]
    if not names or len(set(names)) != len(names) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"generators must be dicts with distinct string names; got names {names!r}")
    uniforms = tuple(float(u) for u in rng.random(3))
    return {g["name"]: multiblock3d_masks(rng, batch, grid, uniforms=uniforms,
                                          **{k: v for k, v in g.items() if k != "name"})
            for g in generators}


def frame_coverage(indices: np.ndarray, grid: tuple[int, int, int]) -> np.ndarray:
    """Fraction of each frame's tokens present in ``indices`` ``(batch, k)``, averaged over the batch: ``(frames,)``."""
    frames, rows, cols = _check_grid3(grid)
    per_frame = rows * cols
    counts = np.zeros(frames)
    for f in indices // per_frame:
        counts += np.bincount(f, minlength=frames)
    return counts / (len(indices) * per_frame)
