"""Chapter 6's audit of the official code: the V-JEPA sampler, and every audit item's measured number."""

import math
import time
from pathlib import Path

import numpy as np
import pytest

from jepabook.blocks.masks import (VJEPA_GENERATORS, block_size, frame_coverage, multiblock3d_collate,
                                   multiblock3d_masks, multiblock_masks, tube_block_size, video_grid)
from jepabook.blocks.sigreg import epps_pulley_exact
from jepabook.core import streams
from jepabook.ledger import audit

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


# --- the audit items ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def numbers():
    return audit.audit_numbers()


def test_every_item_returns_finite_numbers_fast():
    for item in audit.AUDIT:
        start = time.process_time()  # CPU time of this process: the budget, whatever else the machine runs
        r = item.measure()
        elapsed = time.process_time() - start
        assert elapsed < 5.0, f"{item.id} took {elapsed:.1f} s of CPU"
        assert r and all(isinstance(v, (int, float)) for v in r.values()), item.id
        finite = {k: v for k, v in r.items() if k != "batches_to_hang_8x8"}
        assert all(math.isfinite(v) for v in finite.values()), item.id


def test_registry_is_complete_and_cites_known_keys():
    bib = (Path(__file__).resolve().parents[1] / "book" / "references.bib").read_text()
    ids = [item.id for item in audit.AUDIT]
    assert len(set(ids)) == len(ids) == 8
    for item in audit.AUDIT:
        assert item.title and item.paper and item.code and item.cite
        for key in item.cite:
            assert "{" + key + "," in bib, f"{item.id} cites {key}, not in references.bib"
        for url in item.source:
            assert url.startswith("https://github.com/") and "/blob/" in url


def test_sections_render_every_item_at_printed_precision(numbers):
    sections = audit.audit_sections(numbers)
    assert [s.id for s in sections] == [item.id for item in audit.AUDIT]
    for s in sections:
        assert s.markdown.endswith(".") and "nan" not in s.markdown and "inf" not in s.markdown
        # no number printed with more than 4 significant digits (so another CPU cannot change the print)
        for token in s.markdown.replace(",", "").split():
            digits = "".join(ch for ch in token.split("e")[0] if ch.isdigit()).lstrip("0")
            assert len(digits) <= 5, (s.id, token)
    md = audit.audit_markdown(sections)
    assert md.count("### ") == len(sections)
    cited = audit.audit_sections(numbers, cite_role=True)
    assert all("{cite:p}`" in s.markdown for s in cited)
    with pytest.raises(ValueError, match="unknown audit item"):
        audit.audit_numbers(["nope"])


# I-JEPA

def test_ijepa_item_reuses_chapter_2_and_recomputes_seed_0(numbers):
    r = numbers["ijepa_sampler"]
    assert r["ctx_ratio_14_seed0_live"] == r["ctx_ratio_14_seed0_record"]  # same stream, same draws
    assert abs(r["ctx_ratio_14"] - 0.26) < 0.05 and r["top_row_14"] > r["bottom_row_14"]
    assert r["n_seeds"] == 5


def test_ijepa_without_a_record_recomputes_every_seed(tmp_path):
    r = audit.ijepa_sampler(tmp_path / "missing.json")
    assert r["n_seeds"] == 5 and r["ctx_ratio_14_seed0_live"] == r["ctx_ratio_14_seed0_record"]


def test_hang_fraction_matches_the_sampler_block_size():
    # the vectorised size rule is masks.block_size with one tied uniform (the released draw)
    u = (np.arange(512) + 0.5) / 512
    for grid, scale, aspect, keep in (((8, 8), (0.15, 0.2), (0.75, 1.5), 10), ((6, 6), (0.15, 0.2), (0.75, 1.5), 10),
                                      ((14, 14), (0.15, 0.2), (0.75, 1.5), 10), ((8, 8), (0.85, 1.0), (1.0, 1.0), 50)):
        small = [np.prod(block_size(x, x, scale, aspect, grid, "released")) <= keep for x in u]
        assert audit.hang_fraction(grid, keep, scale, aspect, resolution=512) == pytest.approx(np.mean(small))
    assert audit.hang_fraction((14, 14)) == 0.0 and audit.hang_fraction((8, 8)) > 0.3
    # and a size that hangs is the one the sampler refuses
    with pytest.raises(ValueError, match="too small"):
        multiblock_masks(np.random.default_rng(0), 4, (8, 8), min_keep=10, variant="released")


# V-JEPA

def test_vjepa_ratios_match_the_project_notes(numbers):
    r = numbers["vjepa_sampler"]
    assert abs(r["masked_short"] - 0.63) < 0.02 and abs(r["masked_long"] - 0.81) < 0.02
    # the prefix cut only removes context, and removes it from the end of the clip
    assert r["masked_trained_short"] > r["masked_short"] and r["masked_trained_long"] > r["masked_long"]
    assert r["first_frame_kept_short"] > 0.95 > 0.1 > r["last_frame_kept_short"]
    assert r["first_frame_share_long"] > 2 / r["frames"]
    assert r["masked_mean"] == pytest.approx((r["masked_short"] + r["masked_long"]) / 2)


def test_vjepa_ratios_agree_with_their_closed_form(numbers):
    r = numbers["vjepa_sampler"]
    for g in ("short", "long"):
        assert abs(r[f"masked_{g}"] - r[f"expected_{g}"]) < 4 * r[f"masked_{g}_se"], g
        assert r[f"expected_{g}"] < r[f"independent_{g}"] < min(r[f"area_sum_{g}"], 1.0)  # overlap, then edges


def test_tube_union_expectation_closed_forms():
    # one block: the expected union is its area share exactly (2×2×1 of 4×6×6)
    assert audit.tube_union_expectation(TINY, 1, (0.12, 0.12), (0.25, 0.25), (1.0, 1.0)) == pytest.approx(4 / 144)
    # two blocks spanning the frame's full width, 4 of 6 rows, all frames: rows 2-3 always covered, the
    # others with 1/3 or 2/3 per block → union share (2 + 2·(1 − (2/3)²) + 2·(1 − (1/3)²)) / 6
    e = audit.tube_union_expectation(TINY, 2, (24 / 36, 24 / 36), (1.0, 1.0), (4 / 6, 4 / 6))
    assert e == pytest.approx((2 + 2 * (1 - 4 / 9) + 2 * (1 - 1 / 9)) / 6)
    # and a Monte Carlo of the sampler itself on the tiny grid (a single sample: no context retries bias it)
    rng = np.random.default_rng(4)
    mc = np.mean([multiblock3d_masks(rng, 1, TINY, n_blocks=3, spatial_scale=(0.2, 0.2)).masked.mean()
                  for _ in range(3000)])
    assert mc == pytest.approx(audit.tube_union_expectation(TINY, 3, (0.2, 0.2)), abs=0.01)


def test_vjepa_numbers_against_a_direct_count():
    r = audit.vjepa_sampler(seed=3, batch=6, batches=2)
    rng = streams.rng(3, "audit", "vjepa_sampler")
    trained, first, last = [], [], []
    for _ in range(2):
        m = multiblock3d_collate(rng, 6, (8, 14, 14))["long"]
        trained.append(1 - m.context.shape[1] / 1568)
        frame = m.context // 196  # each kept token's frame
        first.append((frame == 0).sum() / (~m.masked[:, 0]).sum())
        last.append((frame == 7).sum() / (~m.masked[:, 7]).sum())
    assert r["masked_trained_long"] == pytest.approx(np.mean(trained))
    assert r["first_frame_kept_long"] == pytest.approx(np.mean(first))
    assert r["last_frame_kept_long"] == pytest.approx(np.mean(last))


def test_vjepa_cut_vanishes_for_a_batch_of_one():
    r = audit.vjepa_sampler(batch=1, batches=5)
    for g in ("short", "long"):
        assert r[f"context_cut_{g}"] == pytest.approx(0.0, abs=1e-12)
        assert r[f"masked_trained_{g}"] == pytest.approx(r[f"masked_{g}"])
        assert r[f"first_frame_kept_{g}"] == r[f"last_frame_kept_{g}"] == 1.0


# LeJEPA

def test_loss_forms_lambda_mapping_is_exact(numbers):
    r = numbers["lejepa_loss_forms"]
    assert r["lam_prime"] == pytest.approx(r["lam"] / (1 - r["lam"]), rel=1e-15)
    assert r["mapped_ratio"] == pytest.approx(1 - r["lam"], rel=1e-12) and r["mapped_ratio_spread"] < 1e-12
    assert r["same_lambda_ratio_spread"] > 0.01
    # the trade-off pred = θ², SIGReg = (θ − 1)²: argmin of (1 − λ)θ² + λ(θ − 1)² is λ, by brute force
    theta = np.linspace(0, 1, 200001)
    lam = r["lam"]
    assert theta[np.argmin((1 - lam) * theta**2 + lam * (theta - 1) ** 2)] == pytest.approx(r["optimum"], abs=1e-5)
    assert theta[np.argmin(theta**2 + lam * (theta - 1) ** 2)] == pytest.approx(r["optimum_same_lambda"], abs=1e-5)
    assert r["leworldmodel_as_lam"] / (1 - r["leworldmodel_as_lam"]) == pytest.approx(0.09)
    with pytest.raises(ValueError, match="lam"):
        audit.lejepa_loss_forms(lam=1.0)


def test_quadrature_against_the_closed_form(numbers):
    r = numbers["sigreg_quadrature"]
    assert 0.97 < r["gauss_ratio"] < 1.0 and 0.97 < r["collapsed_ratio"] < 1.0  # reads low
    assert r["collapsed_exact"] == pytest.approx(r["n"] * math.sqrt(2 * math.pi) * (1 - math.sqrt(2) + 1 / math.sqrt(3)))
    assert r["floor_exact"] == pytest.approx(1.0594, abs=1e-4) and r["floor_code"] == pytest.approx(1.0525, abs=1e-4)
    assert abs(r["gauss_ours_vs_code"]) < 1e-5 and abs(r["collapsed_ours_vs_code"]) < 1e-5
    assert r["limit_rel_err"] < 1e-9 and r["wide_paper_ratio"] > 1.2 > 0.99 < r["wide_ratio"]


def test_quadrature_rules_converge_and_have_the_official_weights():
    x = np.random.default_rng(5).standard_normal(64) * 1.3
    exact = epps_pulley_exact(x)
    assert audit.ep_half_line(x, 12.0, 4001) == pytest.approx(exact, rel=1e-9)
    assert audit.ep_whole_line(x, 12.0, 4001) == pytest.approx(exact, rel=1e-9)
    # the official rule on a collapsed sample, by hand: Σ w_k e^{−t_k²/2} (1 − e^{−t_k²/2})² × N
    t = np.linspace(0, 3, 17)
    w = np.r_[3 / 16, np.full(15, 6 / 16), 3 / 16]
    phi = np.exp(-t**2 / 2)
    assert audit.ep_half_line(np.zeros(10)) == pytest.approx(10 * np.sum(w * phi * (1 - phi) ** 2))


# world model

def test_official_pairs_correlate_at_rho_squared(numbers):
    r = numbers["world_model_pairs"]
    for rho in (0.5, 0.9, 0.95, 0.99):
        se = r[f"se_{rho}"]
        assert abs(r[f"corr_views_{rho}"] - rho**2) < 4 * se, rho
        assert abs(r[f"corr_views_{rho}"] - rho) > 10 * se, rho  # and clearly not ρ
        assert abs(r[f"corr_anchor_{rho}"] - rho) < 4 * (1 - rho**2) / math.sqrt(r["pairs"])
    assert r["bound_code_0.95"] == pytest.approx(2 * (1 - 0.95**2))


def test_alignment_is_a_quarter_per_coordinate(numbers):
    r = numbers["world_model_alignment"]
    assert r["ratio_per_dim"] == pytest.approx(0.25, rel=1e-12)
    assert r["ratio_total"] == pytest.approx(1 / (4 * r["dim"]), rel=1e-12)
    assert audit.world_model_alignment(dim=5)["ratio_total"] == pytest.approx(1 / 20, rel=1e-12)


def test_weight_decay_shrinkage_closed_form(numbers):
    r = numbers["world_model_weight_decay"]
    assert r["weight_decay_code"] == 0.01 and r["weight_decay_paper"] == 0.0 and r["updates"] == 20001
    # Σ lr: 10,000 steps at 3e-3, then a cosine half-period whose mean is lr/2
    assert r["sum_lr"] == pytest.approx(3e-3 * (10000 + 10001 / 2), rel=1e-3)
    assert r["shrink"] == pytest.approx(math.exp(-0.01 * r["sum_lr"]), rel=1e-3)
    assert audit.world_model_weight_decay(weight_decay=0.0)["shrink"] == 1.0


def test_secondary_sources_are_the_table_constants(numbers):
    r = numbers["secondary_sources"]
    assert (r["paper_block"], r["paper_rasterized"], r["review_block"]) == (20.2, 15.5, 36.9)
    assert r["gap_block"] == pytest.approx(16.7)
    md = audit.audit_sections(numbers)[-1].markdown
    assert "36.9" in md and "20.2" in md and "15.5" in md
