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
