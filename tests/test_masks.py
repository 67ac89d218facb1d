"""Chapter 2 masks: disjoint context/targets, equal counts, the released sampler's quirks, clear errors."""

import numpy as np
import pytest

from jepabook.blocks.masks import (VARIANTS, block_masks, block_size, multiblock_masks, random_masks, rasterized_masks,
                            row_coverage)

GRID = (8, 8)


def all_masks(rng):
    out = {f"multiblock_{v}": multiblock_masks(rng, 16, GRID, variant=v) for v in VARIANTS}
    out.update(random=random_masks(rng, 16, GRID), block=block_masks(rng, 16, GRID),
               rasterized=rasterized_masks(rng, 16, GRID))
    return out


@pytest.mark.parametrize("name", ["multiblock_released", "multiblock_corrected", "random", "block", "rasterized"])
def test_context_and_targets_are_disjoint_and_in_range(name):
    m = all_masks(np.random.default_rng(0))[name]
    assert m.context.ndim == 2 and m.targets.ndim == 3 and len(m.context) == len(m.targets) == 16
    for ctx, tgt in zip(m.context, m.targets):
        assert len(np.unique(ctx)) == len(ctx)
        assert not set(ctx) & set(tgt.ravel()), "a context token is also a target"
        assert ctx.min() >= 0 and max(ctx.max(), tgt.max()) < 64


def test_baseline_counts():
    rng = np.random.default_rng(1)
    m = random_masks(rng, 4, GRID, 0.6)
    assert m.context.shape == (4, 26) and m.targets.shape == (4, 1, 38)
    m = rasterized_masks(rng, 4, GRID)
    assert m.context.shape == (4, 16) and m.targets.shape == (4, 3, 16)
    rows, cols = m.context[0] // 8, m.context[0] % 8
    assert np.ptp(rows) == 3 and np.ptp(cols) == 3  # one 4×4 quadrant
    m = block_masks(rng, 4, GRID, 0.6)
    assert m.targets.shape == (4, 1, 36) and m.context.shape == (4, 28)


def test_block_size_closed_form():
    # 196·0.15 → 29 tokens; aspect 0.75: h = round(√21.75) = 5, w = round(√38.7) = 6
    assert block_size(0.0, 0.0, (0.15, 0.2), (0.75, 1.5), (14, 14), "released") == (5, 6)
    # a full-grid context block: released forces each side below the grid, corrected does not
    assert block_size(0.99, 0.0, (0.85, 1.0), (1.0, 1.0), (8, 8), "released") == (7, 7)
    assert block_size(0.99, 0.0, (0.85, 1.0), (1.0, 1.0), (8, 8), "corrected") == (8, 8)


def test_too_small_grid_raises_instead_of_looping():
    with pytest.raises(ValueError, match="too small"):
        multiblock_masks(np.random.default_rng(0), 4, GRID, min_keep=10, variant="released")
    with pytest.raises(ValueError, match="too small"):
        multiblock_masks(np.random.default_rng(0), 4, (4, 4), variant="corrected")


def test_bad_arguments_raise():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="variant"):
        multiblock_masks(rng, 4, GRID, variant="official")
    with pytest.raises(ValueError, match="n_targets"):
        multiblock_masks(rng, 4, GRID, n_targets=0)
    with pytest.raises(ValueError, match="mask_ratio"):
        random_masks(rng, 4, GRID, 1.0)
    with pytest.raises(ValueError, match="even grid"):
        rasterized_masks(rng, 4, (7, 8))


def test_released_never_touches_last_row_and_corrected_does():
    rng = np.random.default_rng(2)
    released = multiblock_masks(rng, 64, GRID, variant="released")
    corrected = multiblock_masks(rng, 64, GRID, variant="corrected")
    last_row = lambda idx: (idx // 8 == 7).any()  # noqa: E731
    assert not last_row(released.context) and not last_row(released.targets)
    assert last_row(corrected.targets)


def test_released_top_row_bias_is_measurable():
    """Prefix equalisation keeps the first rows: on the paper's grid the top row is far better covered."""
    rng = np.random.default_rng(3)
    released = row_coverage(multiblock_masks(rng, 128, (14, 14), min_keep=10, variant="released").context, (14, 14))
    corrected = row_coverage(multiblock_masks(rng, 128, (14, 14), min_keep=10, variant="corrected").context, (14, 14))
    assert released[0] > 3 * released[-2]
    assert abs(corrected[0] - corrected[-1]) < 0.15


def test_row_coverage_closed_form():
    full = np.tile(np.arange(64), (3, 1))
    np.testing.assert_allclose(row_coverage(full, GRID), np.ones(8))
    np.testing.assert_allclose(row_coverage(np.array([[0, 1, 2, 3]]), GRID), [0.5] + [0.0] * 7)


# --- fixed-count multi-block masks (Chapter 2's trained arms) --------------------------------------------


def test_fixed_multiblock_masks_have_fixed_counts_and_never_leak_a_target():
    from jepabook.blocks.masks import context_count, fixed_multiblock_masks, target_count

    grid = (8, 8)
    k = context_count(grid, 4, (0.15, 0.2), (0.75, 1.5), (0.85, 1.0), 0.25)
    kt = target_count(grid, (0.15, 0.2), (0.75, 1.5))
    rng = np.random.default_rng(3)
    for _ in range(5):
        m = fixed_multiblock_masks(rng, 16, grid, k)
        assert m.context.shape == (16, k) and m.targets.shape == (16, 4, kt)
        for c, t in zip(m.context, m.targets):
            assert len(set(c)) == k and not set(c) & set(t.ravel())  # no target token in the context
            assert all(len(set(b)) == kt for b in t)
    # the smallest corrected block of (0.15, 0.2) on 8x8 holds int(64*0.15)=9 tokens at aspect ~1 (3x3) and
    # fewer at the extreme aspects: 2x4 = 8
    assert kt == 8
    # the count is the recipe's, not the seed's, and a quantile: higher quantile, larger context
    assert context_count(grid, 4, (0.15, 0.2), (0.75, 1.5), (0.85, 1.0), 0.5) > k
    with pytest.raises(ValueError, match="k_context"):
        fixed_multiblock_masks(rng, 2, grid, 64)
    with pytest.raises(ValueError, match="no sample keeps"):
        fixed_multiblock_masks(rng, 2, grid, 60, max_tries=5)


# --- the vectorised fixed-count sampler has the law of the loop it replaced ------------------------------


def _loop_fixed_multiblock(rng, batch, grid, k_context, n_targets=4, target_scale=(0.15, 0.2),
                           target_aspect=(0.75, 1.5), context_scale=(0.85, 1.0)):
    """The per-sample loop ``fixed_multiblock_masks`` was until the vectorised version (the reference law)."""
    from jepabook.blocks.masks import _place, block_size, target_count

    k_target = target_count(grid, target_scale, target_aspect)
    contexts, targets = [], []
    for _ in range(batch):
        while True:
            blocks = [_place(rng, *block_size(rng.random(), rng.random(), target_scale, target_aspect, grid,
                                              "corrected"), grid, "corrected") for _ in range(n_targets)]
            context = _place(rng, *block_size(rng.random(), rng.random(), context_scale, (1.0, 1.0), grid,
                                              "corrected"), grid, "corrected")
            for b in blocks:
                context &= ~b
            if context.sum() >= k_context:
                break
        targets.append([np.sort(rng.choice(np.flatnonzero(b), k_target, replace=False)) for b in blocks])
        contexts.append(np.sort(rng.choice(np.flatnonzero(context), k_context, replace=False)))
    return np.stack(contexts), np.stack([np.stack(t) for t in targets])


def test_block_sizes_is_block_size_on_arrays():
    from jepabook.blocks.masks import block_size, block_sizes

    u = np.random.default_rng(0).random((2, 4000))
    u[:, :3] = [[0.0, 1.0, 0.5], [0.0, 1.0, 0.5]]  # the ends and a midpoint (halves round to even)
    for grid, scale, aspect in (((8, 8), (0.15, 0.2), (0.75, 1.5)), ((8, 8), (0.85, 1.0), (1.0, 1.0)),
                                ((6, 10), (0.1, 0.9), (0.3, 3.0))):
        h, w = block_sizes(u[0], u[1], scale, aspect, grid)
        ref = np.array([block_size(a, b, scale, aspect, grid, "corrected") for a, b in u.T])
        assert np.array_equal(h, ref[:, 0]) and np.array_equal(w, ref[:, 1])


def test_vectorised_fixed_masks_blocks_follow_the_recipe():
    from jepabook.blocks.masks import context_count, fixed_multiblock_masks, target_count

    grid, batch = (8, 8), 3000
    k = context_count(grid)
    kt = target_count(grid)
    blocks = {}
    m = fixed_multiblock_masks(np.random.default_rng(5), batch, grid, k, blocks=blocks)
    top, left, h, w = blocks["targets"]
    area = h * w
    # target sizes: each side in [1, 8], area near 15-20 % of the grid, aspect h/w within the rounding of [0.75, 1.5]
    assert area.min() >= kt and area.max() <= 16 and np.all((h >= 1) & (w >= 1))
    assert np.all(h / w >= 0.5) and np.all(h / w <= 2.0)
    assert len(np.unique(np.stack([h, w]), axis=1).T) >= 4  # independent scale and aspect per block
    # origins: inclusive bounds, so the last fitting row and column occur
    assert np.all(top + h <= 8) and np.all(left + w <= 8)
    assert np.any(top + h == 8) and np.any(left + w == 8) and np.any(top == 0) and np.any(left == 0)
    c_top, c_left, c_h, c_w = blocks["context"]
    assert np.all(c_h == c_w) and np.all(c_h * c_w >= 0.85 * 64 - 10)  # square, 85-100 % of the grid
    # each target subset lies in its block, the context in the context block minus every target block
    rows, cols = np.divmod(m.targets, 8)
    assert np.all((rows >= top[..., None]) & (rows < (top + h)[..., None])
                  & (cols >= left[..., None]) & (cols < (left + w)[..., None]))
    r, c = np.divmod(m.context, 8)
    assert np.all((r >= c_top[:, None]) & (r < (c_top + c_h)[:, None]) & (c >= c_left[:, None]) & (c < (c_left + c_w)[:, None]))
    inside_any = ((r[:, :, None] >= top[:, None]) & (r[:, :, None] < (top + h)[:, None])
                  & (c[:, :, None] >= left[:, None]) & (c[:, :, None] < (left + w)[:, None]))
    assert not inside_any.any()
    # fixed counts, distinct tokens, sorted
    assert m.context.shape == (batch, k) and m.targets.shape == (batch, 4, kt)
    assert np.all(np.diff(m.context, axis=1) > 0) and np.all(np.diff(m.targets, axis=2) > 0)


def test_vectorised_fixed_masks_have_the_loops_law():
    """Per-token and per-row coverage of context and targets, and the target block areas implied by
    the subsets' spread, agree with the loop sampler within sampling error (4,000 samples each)."""
    from jepabook.blocks.masks import context_count, fixed_multiblock_masks, row_coverage

    grid, n = (8, 8), 4000
    k = context_count(grid)
    new = fixed_multiblock_masks(np.random.default_rng(11), n, grid, k)
    ctx, tgt = _loop_fixed_multiblock(np.random.default_rng(12), n, grid, k)

    def token_freq(idx):
        return np.bincount(idx.reshape(len(idx), -1).ravel(), minlength=64) / len(idx)

    # a token's inclusion is a Bernoulli per sample: standard error ≤ 0.5/√n ≈ 0.008 (×√2 for a difference)
    assert np.abs(token_freq(new.context) - token_freq(ctx)).max() < 0.045
    assert np.abs(token_freq(new.targets) - token_freq(tgt)).max() < 0.12  # four blocks: counts up to 4
    assert np.abs(row_coverage(new.context, grid) - row_coverage(ctx, grid)).max() < 0.02
    flat_new, flat_old = new.targets.reshape(-1, new.targets.shape[-1]), tgt.reshape(-1, tgt.shape[-1])
    assert np.abs(row_coverage(flat_new, grid) - row_coverage(flat_old, grid)).max() < 0.02
    # the spread of a target subset (rows spanned) reflects its block's height: same distribution
    span_new = np.bincount(np.ptp(flat_new // 8, axis=1), minlength=8) / len(flat_new)
    span_old = np.bincount(np.ptp(flat_old // 8, axis=1), minlength=8) / len(flat_old)
    assert np.abs(span_new - span_old).max() < 0.02
    # and the law is not trivially satisfied: a sampler with square targets only has another spread
    assert np.abs(span_new - np.bincount(np.full(len(flat_new), 2), minlength=8) / len(flat_new)).max() > 0.1
