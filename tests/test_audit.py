"""Chapter 6's audit of the official code: the V-JEPA sampler, and every audit item's measured number."""

import math
import time

import numpy as np
import pytest

from jepabook.blocks.masks import (VJEPA_GENERATORS, frame_coverage, multiblock3d_collate, multiblock3d_masks,
                                   tube_block_size, video_grid)
from jepabook.core import streams

TINY = (4, 6, 6)


# --- the V-JEPA multi-block 3-D sampler ---------------------------------------------------------------

def test_video_grid_of_the_released_config():
    assert video_grid() == (8, 14, 14)  # 16 frames / tubelet 2, 224 px / patch 16
    assert video_grid(8, 2, 96, 16) == (4, 6, 6)
    with pytest.raises(ValueError, match="tubelet"):
        video_grid(16, 0)


def test_tube_block_size_closed_form():
    # 196·0.15 → 29 tokens per frame; aspect 0.75: h = round(√21.75) = 5, w = round(√38.67) = 6
    assert tube_block_size((0.0, 0.0, 0.0), (8, 14, 14)) == (8, 5, 6)
    # aspect → 1.5: h = round(√43.5) = 7, w = round(√19.3) = 4
    assert tube_block_size((0.0, 0.0, 0.999), (8, 14, 14)) == (8, 7, 4)
    # long range: 196·0.7 → 137; aspect 0.75 gives w = round(13.5) = 14, a block as wide as the frame
    # (the cap is *at* the grid size, inclusive; I-JEPA's sampler would force 13)
    assert tube_block_size((0.0, 0.0, 0.0), (8, 14, 14), spatial_scale=(0.7, 0.7)) == (8, 10, 14)
    assert tube_block_size((0.0, 0.0, 0.999), (8, 14, 14), spatial_scale=(0.7, 0.7)) == (8, 14, 10)
    # temporal scale 0.5 of 4 frames → 2; tiny scales never give t = 0
    assert tube_block_size((0.0, 0.0, 0.0), TINY, temporal_scale=(0.5, 0.5))[0] == 2
    assert tube_block_size((0.0, 0.0, 0.0), TINY, temporal_scale=(0.01, 0.01))[0] == 1


def test_golden_masks_on_a_tiny_grid():
    m = multiblock3d_masks(np.random.default_rng(0), 3, TINY, n_blocks=2, spatial_scale=(0.15, 0.3),
                           temporal_scale=(0.5, 1.0))
    assert m.block == (3, 2, 3)
    assert m.masked.sum(axis=(1, 2, 3)).tolist() == [36, 27, 36]
    assert m.context.shape == (3, 108) and m.target.shape == (3, 27)  # 144 − 36 and the smallest union
    assert m.context[:, :8].tolist() == [[3, 4, 5, 9, 10, 11, 12, 13], [0, 1, 2, 3, 4, 5, 6, 7],
                                         [0, 1, 2, 3, 4, 5, 6, 7]]
    assert m.target[:, :6].tolist() == [[0, 1, 2, 6, 7, 8], [50, 51, 52, 56, 57, 58], [15, 16, 17, 21, 22, 23]]


def test_context_is_the_complement_of_the_union_and_the_cut_is_a_prefix():
    m = multiblock3d_masks(np.random.default_rng(3), 16, TINY, n_blocks=3, spatial_scale=(0.2, 0.2))
    n = int(np.prod(TINY))
    for b in range(16):
        full_ctx = np.flatnonzero(~m.masked[b].ravel())
        full_tgt = np.flatnonzero(m.masked[b].ravel())
        # the kept context/target are the *first* indices of each sample's full sets
        assert np.array_equal(m.context[b], full_ctx[:m.context.shape[1]])
        assert np.array_equal(m.target[b], full_tgt[:m.target.shape[1]])
        assert not set(m.context[b]) & set(full_tgt)
    sizes = (~m.masked).reshape(16, -1).sum(1)
    assert m.context.shape[1] == sizes.min() and m.target.shape[1] == (n - sizes).min()
    assert m.cut_context.sum() == m.context.size and not (m.cut_context & m.masked).any()


def test_bounds_are_inclusive():
    # a 2×2 block on a 6×6 frame: its origin reaches row/col 4, so the last row and column are covered
    rng = np.random.default_rng(1)
    covered = np.zeros(TINY, dtype=bool)
    for _ in range(30):
        covered |= multiblock3d_masks(rng, 8, TINY, n_blocks=1, spatial_scale=(0.12, 0.12),
                                      temporal_scale=(0.25, 0.25)).masked.any(axis=0)
    assert covered.all(), "some frame, row or column is never covered: an exclusive upper bound"


def test_one_size_per_batch_and_the_collator_shares_it():
    grid = (8, 14, 14)
    out = multiblock3d_collate(np.random.default_rng(2), 8, grid)
    assert set(out) == {"short", "long"}
    u = tuple(np.random.default_rng(2).random(3))  # the collator's first draw, shared by both generators
    for g in VJEPA_GENERATORS:
        m = out[g["name"]]
        assert m.block == tube_block_size(u, grid, g["temporal_scale"], g["spatial_scale"], g["aspect"])
        # one size for the whole batch: every sample's union is at least one block, at most n_blocks
        per_sample = m.masked.reshape(8, -1).sum(1)
        t, h, w = m.block
        assert (per_sample >= t * h * w).all() and (per_sample <= g["n_blocks"] * t * h * w).all()
    # with the same aspect uniform, both generators' blocks lean the same way
    (_, hs, ws), (_, hl, wl) = out["short"].block, out["long"].block
    assert (hs / ws > 1) == (hl / wl > 1)


def test_max_keep_and_max_temporal_keep():
    m = multiblock3d_masks(np.random.default_rng(0), 4, TINY, n_blocks=1, spatial_scale=(0.2, 0.2), max_keep=10)
    assert m.context.shape == (4, 10)
    m = multiblock3d_masks(np.random.default_rng(0), 4, TINY, n_blocks=1, spatial_scale=(0.2, 0.2),
                           max_temporal_keep=0.5)
    assert m.masked[:, 2:].all() and not (m.context // 36 >= 2).any()  # frames 2, 3 never context


def test_determinism_same_seed_same_masks():
    a = multiblock3d_collate(streams.rng(0, "audit", "vjepa"), 6, (8, 14, 14))
    b = multiblock3d_collate(streams.rng(0, "audit", "vjepa"), 6, (8, 14, 14))
    c = multiblock3d_collate(streams.rng(1, "audit", "vjepa"), 6, (8, 14, 14))
    for k in a:
        assert np.array_equal(a[k].masked, b[k].masked) and np.array_equal(a[k].context, b[k].context)
    assert not np.array_equal(a["short"].masked, c["short"].masked)


def test_frame_coverage():
    idx = np.array([[0, 1, 36, 143]])  # two tokens of frame 0, one of frame 1, one of frame 3
    assert np.allclose(frame_coverage(idx, TINY), [2 / 36, 1 / 36, 0, 1 / 36])


@pytest.mark.parametrize("kwargs, match", [
    ({"grid": (4, 6)}, "grid"),
    ({"grid": (0, 6, 6)}, "grid"),
    ({"batch": 0}, "batch"),
    ({"n_blocks": 0}, "n_blocks"),
    ({"spatial_scale": (0.3, 0.2)}, "spatial_scale"),
    ({"spatial_scale": (0.0, 0.2)}, "spatial_scale"),
    ({"temporal_scale": (0.5, 1.5)}, "temporal_scale"),
    ({"aspect": (-1.0, 1.5)}, "aspect"),
    ({"aspect": 1.0}, "aspect"),
    ({"max_temporal_keep": 0.0}, "max_temporal_keep"),
    ({"max_keep": 0}, "max_keep"),
    ({"uniforms": (0.5, 1.0, 0.2)}, "uniforms"),
    ({"spatial_scale": (0.01, 0.01)}, "empty"),
    ({"spatial_scale": (1.0, 1.0), "aspect": (1.0, 1.0)}, "whole grid"),
])
def test_bad_inputs_raise_naming_the_parameter(kwargs, match):
    args = {"batch": 2, "grid": TINY, **kwargs}
    with pytest.raises(ValueError, match=match):
        multiblock3d_masks(np.random.default_rng(0), **args)


def test_collate_rejects_unnamed_generators():
    with pytest.raises(ValueError, match="names"):
        multiblock3d_collate(np.random.default_rng(0), 2, TINY, generators=({"n_blocks": 2}, {"n_blocks": 3}))
    assert [g["name"] for g in VJEPA_GENERATORS] == ["short", "long"]
