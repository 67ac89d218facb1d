"""An audit of the official code, measured: where the released code does something other than its paper says.

Chapter 6 (the ledger). Each audit item is a small pure function that returns a dict of numbers,
computed in well under a second from fixed seeds (or read from a committed results record), and a
record in :data:`AUDIT` saying what the paper says, what the code does, which function measures the
difference and which papers to cite. :func:`audit_sections` turns them into short markdown
summaries at the precision a reader needs (three significant digits), so another CPU cannot change
what is printed.

The items, in :data:`AUDIT` order:

- ``ijepa_sampler``: I-JEPA's released multi-block sampler (:mod:`jepabook.blocks.masks`,
  ``variant="released"``, measured in Chapter 2): the context it really keeps, its top-row bias and
  the batches on which it hangs.
- ``vjepa_sampler``: V-JEPA's released multi-block 3-D sampler
  (:func:`jepabook.blocks.masks.multiblock3d_collate`): the masking ratios it realises before and
  after its prefix cut, and where the cut leaves the context.
- ``lejepa_loss_forms`` and ``sigreg_quadrature``: LeJEPA's two loss forms and the SIGReg quadrature.
- ``world_model_pairs``, ``world_model_alignment``, ``world_model_weight_decay``: the world-model
  code's training pairs, alignment scale and optimiser.
- ``secondary_sources``: a review's quote of I-JEPA's Table 6.

The official code is read at the commits in :data:`CODE` (no code or text of it is copied here).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jepabook.blocks import masks
from jepabook.core import streams
from jepabook.core.config import PUBLISHED_SEEDS
from jepabook.core.results import published_dir

__all__ = ["AUDIT", "CODE", "AuditItem", "AuditSection", "audit_markdown", "audit_numbers", "audit_sections",
           "ep_half_line", "ep_whole_line", "hang_fraction", "ijepa_sampler", "lejepa_loss_forms", "secondary_sources",
           "sigreg_quadrature", "tube_union_expectation", "vjepa_sampler", "world_model_alignment", "world_model_pairs",
           "world_model_weight_decay"]

#: The official repositories and the commits read for this audit.
CODE = {
    "ijepa": "https://github.com/facebookresearch/ijepa/blob/52c1ae95d05f743e000e8f10a1f3a79b10cff048/"
             "src/masks/multiblock.py",
    "vjepa": "https://github.com/facebookresearch/jepa/blob/51c59d518fc63c08464af6de585f78ac0c7ed4d5/"
             "src/masks/multiblock3d.py",
    "vjepa_config": "https://github.com/facebookresearch/jepa/blob/51c59d518fc63c08464af6de585f78ac0c7ed4d5/"
                    "configs/pretrain/vitl16.yaml",
    "lejepa": "https://github.com/rbalestr-lab/lejepa/blob/eddffdd857a19726342ef6526e01021fb3c32cae/MINIMAL.md",
    "lejepa_ep": "https://github.com/rbalestr-lab/lejepa/blob/eddffdd857a19726342ef6526e01021fb3c32cae/"
                 "lejepa/univariate/epps_pulley.py",
    "world_data": "https://github.com/klindtlab/lejepa-identifiability/blob/de7503f1b2291ba1e9fc03d9c433180794803440/"
                  "experiments/lejepa_id/data.py",
    "world_losses": "https://github.com/klindtlab/lejepa-identifiability/blob/de7503f1b2291ba1e9fc03d9c433180794803440/"
                    "experiments/lejepa_id/losses.py",
    "world_engine": "https://github.com/klindtlab/lejepa-identifiability/blob/de7503f1b2291ba1e9fc03d9c433180794803440/"
                    "experiments/lejepa_id/engine.py",
}


# --- I-JEPA ------------------------------------------------------------------------------------------

def _ijepa_record(path: Path | None = None) -> dict[str, list[float]] | None:
    """Chapter 2's per-seed sampler measurements (check ``ijepa.released_sampler``), or None if not committed."""
    path = Path(path) if path is not None else published_dir() / "ijepa-full.json"
    if not path.is_file():
        return None
    for check in json.loads(path.read_text()).get("checks", []):
        if check.get("id") == "ijepa.released_sampler":
            return {k: [float(v) for v in vs] for k, vs in check["measured"].items()}
    return None


def _ijepa_context_14(seed: int) -> tuple[float, float, float]:
    """Chapter 2's measurement for one seed (the same stream and draws as its check): ratio, top, bottom row."""
    ratio, cover = masks.context_statistics(streams.rng(seed, "mask_statistics"), (14, 14), 128, 10, "released")
    return ratio, float(cover[0]), float(cover[-1])


def hang_fraction(grid: tuple[int, int], min_keep: int = 10, scale=(0.15, 0.2), aspect=(0.75, 1.5),
                  resolution: int = 1 << 16) -> float:
    """Share of the released sampler's batch-wide size draws whose target block keeps ≤ ``min_keep`` tokens.

    The released sampler draws one uniform per batch for a target block's scale and aspect together,
    then retries only the block's *position* until it keeps more than ``min_keep`` tokens; a size that
    is too small is never redrawn, so such a draw hangs the data loader. Midpoint grid of
    ``resolution`` uniforms.
    """
    u = (np.arange(resolution) + 0.5) / resolution
    rows, cols = grid
    keep = np.floor(rows * cols * (scale[0] + u * (scale[1] - scale[0])))
    ratio = aspect[0] + u * (aspect[1] - aspect[0])
    # Python's round (half to even) and NumPy's rint agree; sides forced strictly below the grid
    h = np.minimum(np.rint(np.sqrt(keep * ratio)), rows - 1)
    w = np.minimum(np.rint(np.sqrt(keep / ratio)), cols - 1)
    return float(np.mean(h * w <= min_keep))


def ijepa_sampler(record_path: Path | None = None) -> dict[str, float]:
    """I-JEPA's released sampler on the paper's 14×14 grid at batch 128 (min_keep 10), and its hang.

    Context numbers are Chapter 2's committed per-seed values (``results/ijepa-full.json``), with seed
    0 recomputed here as a cross-check (``ctx_ratio_14_seed0_live``); without a record every published
    seed is recomputed. ``hang_fraction_8x8``: share of batches whose size draw hangs the released
    sampler on an 8×8 grid; ``largest_hanging_side``: the largest n for which an n×n grid can hang.
    """
    record = _ijepa_record(record_path)
    if record is None:
        rows = [_ijepa_context_14(s) for s in PUBLISHED_SEEDS["full"]]
        record = {"ctx_ratio_14_released": [r[0] for r in rows], "top_row_14_released": [r[1] for r in rows],
                  "bottom_row_14_released": [r[2] for r in rows]}
    live = _ijepa_context_14(0)
    ratio = record["ctx_ratio_14_released"]
    hanging = [n for n in range(4, 15) if hang_fraction((n, n)) > 0]
    p8 = hang_fraction((8, 8))
    return {
        "n_seeds": len(ratio),
        "ctx_ratio_14": float(np.mean(ratio)),
        "ctx_ratio_14_sd": float(np.std(ratio, ddof=1)) if len(ratio) > 1 else 0.0,
        "ctx_ratio_14_seed0_live": live[0],
        "ctx_ratio_14_seed0_record": ratio[0],
        "paper_context_scale_min": 0.85,
        "top_row_14": float(np.mean(record["top_row_14_released"])),
        "bottom_row_14": float(np.mean(record["bottom_row_14_released"])),
        "min_keep": 10,
        "hang_fraction_8x8": p8,
        "batches_to_hang_8x8": 1.0 / p8 if p8 > 0 else math.inf,
        "hang_fraction_14x14": hang_fraction((14, 14)),
        "largest_hanging_side": max(hanging) if hanging else 0,
    }


# --- V-JEPA ------------------------------------------------------------------------------------------

def tube_union_expectation(grid: tuple[int, int, int], n_blocks: int, spatial_scale=(0.15, 0.15),
                           temporal_scale=(1.0, 1.0), aspect=(0.75, 1.5), resolution: int = 1000) -> float:
    """Expected share of tokens in the union of ``n_blocks`` released blocks, in closed form over positions.

    With inclusive origins a token at row r is covered by a block of height h with probability
    (number of origins covering r)/(rows − h + 1), and likewise for columns and frames; blocks are
    placed independently, so a token stays uncovered with probability (1 − p)^n. Averaged over the
    tokens and over the size draw (midpoints of ``resolution`` values of each uniform that varies).
    """
    def cover(n: int, k: int) -> np.ndarray:
        starts = np.arange(n - k + 1)
        pos = np.arange(n)
        return ((pos[None] >= starts[:, None]) & (pos[None] < starts[:, None] + k)).mean(0)

    u = (np.arange(resolution) + 0.5) / resolution
    draws = [(ut, us, ua) for ut in (u if temporal_scale[0] != temporal_scale[1] else [0.0])
             for us in (u if spatial_scale[0] != spatial_scale[1] else [0.0])
             for ua in (u if aspect[0] != aspect[1] else [0.0])]
    if len(draws) > 4 * resolution:
        raise ValueError("at most one of temporal_scale, spatial_scale, aspect may be a range here")
    values = {}
    for d in draws:
        t, h, w = masks.tube_block_size(d, grid, temporal_scale, spatial_scale, aspect)
        if (t, h, w) not in values:
            p = cover(grid[0], t)[:, None, None] * cover(grid[1], h)[None, :, None] * cover(grid[2], w)[None, None]
            values[t, h, w] = float(np.mean(1 - (1 - p) ** n_blocks))
    return float(np.mean([values[masks.tube_block_size(d, grid, temporal_scale, spatial_scale, aspect)]
                          for d in draws]))


def vjepa_sampler(seed: int = 0, batch: int = 24, batches: int = 100,
                  grid: tuple[int, int, int] = (8, 14, 14)) -> dict[str, float]:
    """V-JEPA's released sampler, both generators of its configuration, over ``batches`` batches.

    ``batch`` 24 is the released ViT-L config's per-GPU batch (the collator runs per data-loader
    worker, so the cut is to the minimum of 24 clips). Per generator ``g`` in ``short``, ``long``:

    - ``masked_g``: mean share of tokens in the union of blocks (the sampler's masking ratio);
      ``area_sum_g``: the blocks' areas added up, in grids (what disjoint blocks would cover);
      ``independent_g``: 1 − (1 − a)^n, if each of the n blocks (area share a) covered every token
      independently: the union falls short of it because blocks that fill most of a frame overlap
      and tokens near the edges are covered by fewer origins; ``expected_g``: the exact expectation
      of ``masked_g`` (:func:`tube_union_expectation`);
    - ``masked_trained_g``: share hidden from the context encoder after the prefix cut, 1 − k_ctx/N;
    - ``context_cut_g``: share of the uncut context the cut throws away;
    - ``first_frame_kept_g`` / ``last_frame_kept_g``: of the context tokens in the first (last) frame,
      the share the cut keeps; ``first_frame_share_g``: the first frame's share of the kept context
      (1/frames if the cut were even);
    - ``top_row_kept_g`` / ``bottom_row_kept_g``: the same survival, per row over all frames;
    - ``target_cut_g``: share of target tokens the target's own prefix cut drops.

    ``masked_mean`` / ``masked_trained_mean``: the two generators averaged (each is its own loss term).
    ``*_se``: standard errors of the masking ratios over batches (the block size is drawn per batch).
    """
    frames, rows, cols = grid
    rng = streams.rng(seed, "audit", "vjepa_sampler")
    n_blocks = {g["name"]: g["n_blocks"] for g in masks.VJEPA_GENERATORS}
    acc: dict[str, list[float]] = {}

    def add(key, value):
        acc.setdefault(key, []).append(float(value))

    for _ in range(batches):
        for name, m in masks.multiblock3d_collate(rng, batch, grid).items():
            context, kept = ~m.masked, m.cut_context
            n_ctx = context.reshape(batch, -1).sum(1)
            add(f"masked_{name}", m.masked.mean())
            t, h, w = m.block
            add(f"area_sum_{name}", n_blocks[name] * t * h * w / context[0].size)
            add(f"independent_{name}", 1 - (1 - t * h * w / context[0].size) ** n_blocks[name])
            add(f"masked_trained_{name}", 1.0 - m.context.shape[1] / context[0].size)
            add(f"context_cut_{name}", 1.0 - m.context.shape[1] / n_ctx.mean())
            add(f"first_frame_kept_{name}", kept[:, 0].sum() / context[:, 0].sum())
            add(f"last_frame_kept_{name}", kept[:, -1].sum() / context[:, -1].sum())
            add(f"first_frame_share_{name}", kept[:, 0].sum() / kept.sum())
            add(f"top_row_kept_{name}", kept[:, :, 0].sum() / context[:, :, 0].sum())
            add(f"bottom_row_kept_{name}", kept[:, :, -1].sum() / context[:, :, -1].sum())
            add(f"target_cut_{name}", 1.0 - m.target.shape[1] / m.masked.reshape(batch, -1).sum(1).mean())
    out = {k: float(np.mean(v)) for k, v in acc.items()}
    for name in ("short", "long"):
        for key in (f"masked_{name}", f"masked_trained_{name}"):
            out[f"{key}_se"] = float(np.std(acc[key], ddof=1) / math.sqrt(batches))
    for g in masks.VJEPA_GENERATORS:
        out[f"expected_{g['name']}"] = tube_union_expectation(grid, g["n_blocks"], g["spatial_scale"],
                                                              g["temporal_scale"], g["aspect"])
    out["masked_mean"] = (out["masked_short"] + out["masked_long"]) / 2
    out["masked_trained_mean"] = (out["masked_trained_short"] + out["masked_trained_long"]) / 2
    out.update(paper_masked=0.9, batch=batch, batches=batches, frames=frames, rows=rows, cols=cols,
               tokens=frames * rows * cols)
    return out


# --- LeJEPA: loss forms and quadrature --------------------------------------------------------------

def lejepa_loss_forms(seed: int = 0, lam: float = 0.05) -> dict[str, float]:
    """``(1 − λ)·pred + λ·SIGReg`` against ``pred + λ′·SIGReg``: proportional iff λ′ = λ/(1 − λ).

    Numerically on 1,000 random (pred, SIGReg) pairs: the ratio of the two losses is the constant
    1 − λ under the mapping (``mapped_ratio_spread``, relative max − min, ~1e-16) and not without it
    (``same_lambda_ratio_spread``). On a one-parameter trade-off, pred = θ², SIGReg = (θ − 1)², the
    (1 − λ) form's optimum is θ* = λ and the other form's is λ′/(1 + λ′): the same number λ in both
    forms moves the optimum to λ/(1 + λ) (``optimum_same_lambda``). ``lam_prime_*``: the other form's
    value of the paper's λ (0.05), the minimal code's recommended λ (0.02) and the world-model code's
    (1e-3); ``leworldmodel_as_lam``: LeWorldModel's 0.09 in the pred + λ′ form, read as a (1 − λ) weight.
    """
    if not 0 < lam < 1:
        raise ValueError(f"lam must lie strictly between 0 and 1; got {lam!r}")
    rng = streams.rng(seed, "audit", "loss_forms")
    pred, reg = rng.uniform(0.01, 10.0, 1000), rng.uniform(0.5, 500.0, 1000)
    lam_prime = lam / (1 - lam)
    paper = (1 - lam) * pred + lam * reg

    def spread(r):
        return float((r.max() - r.min()) / r.mean())

    return {
        "lam": lam,
        "lam_prime": lam_prime,
        "relative_gap": lam_prime / lam - 1,
        "mapped_ratio": float(np.mean(paper / (pred + lam_prime * reg))),
        "mapped_ratio_spread": spread(paper / (pred + lam_prime * reg)),
        "same_lambda_ratio_spread": spread(paper / (pred + lam * reg)),
        "optimum": lam,
        "optimum_same_lambda": lam / (1 + lam),
        "lam_prime_minimal": 0.02 / 0.98,
        "lam_prime_world": 1e-3 / (1 - 1e-3),
        "leworldmodel_lam_prime": 0.09,
        "leworldmodel_as_lam": 0.09 / 1.09,
        "lam_doubling": 0.5,  # where λ′ = 2λ: the largest value of the world model's λ grid
    }


def ep_half_line(x, t_max: float = 3.0, n_points: int = 17) -> float:
    """The official training quadrature (float64): knots ``linspace(0, t_max, n)``, trapezoid with the
    interior weights doubled (end weights dt, interior 2·dt) to stand for the whole line, window
    e^{−t²/2}, times N."""
    x = np.asarray(x, dtype=np.float64).ravel()
    t = np.linspace(0.0, t_max, n_points)
    dt = t_max / (n_points - 1)
    w = np.full(n_points, 2 * dt)
    w[[0, -1]] = dt
    phi = np.exp(-0.5 * t**2)
    xt = x[:, None] * t
    err = (np.cos(xt).mean(0) - phi) ** 2 + np.sin(xt).mean(0) ** 2
    return float(x.size * err @ (w * phi))


def ep_whole_line(x, t_max: float = 5.0, n_points: int = 17) -> float:
    """Plain trapezoid on ``linspace(−t_max, t_max, n)``, same integrand and window, times N (the paper's listing)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    t = np.linspace(-t_max, t_max, n_points)
    dt = 2 * t_max / (n_points - 1)
    w = np.full(n_points, dt)
    w[[0, -1]] = dt / 2
    phi = np.exp(-0.5 * t**2)
    xt = x[:, None] * t
    err = (np.cos(xt).mean(0) - phi) ** 2 + np.sin(xt).mean(0) ** 2
    return float(x.size * err @ (w * phi))


def _expected_gaussian(weights_phi: np.ndarray, phi: np.ndarray) -> float:
    # E|φ̂(t) − φ(t)|² = (1 − φ(t)²)/N for an exact N(0, 1) sample, so E[EP] = Σ w φ (1 − φ²), any N
    return float(weights_phi @ (1 - phi**2))


def sigreg_quadrature(seed: int = 0, n: int = 512) -> dict[str, float]:
    """The official half-line trapezoid ([0, 3] × 17 knots, ×N) against the whole-line closed form.

    For a standard-normal sample of ``n`` (the world-model code's 2·256 stacked embeddings), a total
    collapse (n copies of 0) and a wide sample (two clusters of n/2 at ±5, 10 apart, about the
    period 2π/0.625 that the [−5, 5] × 17 knots alias): ``*_exact`` (:func:`jepabook.blocks.sigreg.epps_pulley_exact`),
    ``*_code`` (:func:`ep_half_line`, float64), ``*_ours`` (the book's MLX
    :func:`jepabook.blocks.sigreg.epps_pulley`, float32), ``*_paper`` (:func:`ep_whole_line` on
    [−5, 5] × 17) and their ratios to the exact value. ``floor_*``: E[EP] under exact N(0, 1) data (the
    statistic's floor, any N); ``limit_rel_err``: the half-line rule on [0, 12] × 2,001 knots against
    the closed form (it converges to it).
    """
    import mlx.core as mx

    from jepabook.blocks.sigreg import epps_pulley, epps_pulley_exact

    gauss = streams.rng(seed, "audit", "quadrature").standard_normal(n)
    collapsed = np.zeros(n)
    wide = np.r_[np.full(n // 2, -5.0), np.full(n - n // 2, 5.0)]
    out: dict[str, float] = {"n": n}
    for name, x in (("gauss", gauss), ("collapsed", collapsed), ("wide", wide)):
        exact = epps_pulley_exact(x)
        code, paper = ep_half_line(x), ep_whole_line(x)
        ours = float(epps_pulley(mx.array(x.astype(np.float32))).item())
        out.update({f"{name}_exact": exact, f"{name}_code": code, f"{name}_ours": ours, f"{name}_paper": paper,
                    f"{name}_ratio": code / exact, f"{name}_paper_ratio": paper / exact,
                    f"{name}_ours_vs_code": ours / code - 1})
    t = np.linspace(0.0, 3.0, 17)
    w = np.full(17, 2 * 3.0 / 16)
    w[[0, -1]] = 3.0 / 16
    phi = np.exp(-0.5 * t**2)
    out["floor_exact"] = math.sqrt(2 * math.pi) - math.sqrt(2 * math.pi / 3)
    out["floor_code"] = _expected_gaussian(w * phi, phi)
    out["floor_ratio"] = out["floor_code"] / out["floor_exact"]
    out["collapsed_per_sample_exact"] = out["collapsed_exact"] / n
    out["limit_rel_err"] = abs(ep_half_line(gauss, 12.0, 2001) / out["gauss_exact"] - 1)
    return out


# --- the world-model code --------------------------------------------------------------------------

def _official_pairs(rng: np.random.Generator, batch: int, dim: int, rho: float):
    """The world-model code's training views: both are OU steps from one shared anchor (anchor, (2, B, n))."""
    z = rng.standard_normal((batch, dim))
    eta = rng.standard_normal((2, batch, dim))
    return z, rho * z[None] + math.sqrt(1 - rho**2) * eta


def world_model_pairs(seed: int = 0, batch: int = 20000, dim: int = 2,
                      rhos: tuple[float, ...] = (0.5, 0.9, 0.95, 0.99)) -> dict[str, float]:
    """Correlation between the official code's two training views: ρ², not the theory's ρ.

    Per ρ: ``corr_views_<ρ>`` (pooled over coordinates, ``batch·dim`` pairs), ``corr_anchor_<ρ>``
    (view against the anchor: ρ), ``rho2_<ρ>``, ``se_<ρ>`` (the sampling error of a correlation
    ≈ (1 − r²)/√n). ``bound_theory_<ρ>`` = 2(1 − ρ) and ``bound_code_<ρ>`` = 2(1 − ρ²): the per-
    dimension alignment floor of Theorem 1 for the theory's pairs and for the code's.
    """
    rng = streams.rng(seed, "audit", "world_pairs")
    out: dict[str, float] = {"pairs": batch * dim}
    for rho in rhos:
        z, views = _official_pairs(rng, batch, dim, rho)
        out[f"corr_views_{rho}"] = float(np.corrcoef(views[0].ravel(), views[1].ravel())[0, 1])
        out[f"corr_anchor_{rho}"] = float(np.corrcoef(z.ravel(), views[0].ravel())[0, 1])
        out[f"rho2_{rho}"] = rho**2
        out[f"se_{rho}"] = (1 - rho**4) / math.sqrt(batch * dim)
        out[f"bound_theory_{rho}"] = 2 * (1 - rho)
        out[f"bound_code_{rho}"] = 2 * (1 - rho**2)
    return out


def world_model_alignment(seed: int = 0, batch: int = 256, dim: int = 2) -> dict[str, float]:
    """The code's alignment term, mean over views, pairs and coordinates of (h − mean over views)², on random h.

    Against the theory's E‖h(z′) − h(z)‖²: ``ratio_total`` (= 1/(4·dim)) and per coordinate
    ``ratio_per_dim`` (= 1/4): with two views, h − mean = ±(h₁ − h₂)/2.
    """
    h = streams.rng(seed, "audit", "world_alignment").standard_normal((2, batch, dim)) * 1.7 + 0.3
    code = float(np.mean((h.mean(0) - h) ** 2))
    theory = float(np.mean(np.sum((h[0] - h[1]) ** 2, axis=1)))
    return {"code": code, "theory": theory, "ratio_total": code / theory, "ratio_per_dim": code / (theory / dim),
            "dim": dim}


def world_model_weight_decay(steps: int = 20000, lr: float = 3e-3, weight_decay: float = 0.01) -> dict[str, float]:
    """Decoupled weight decay of the code's optimiser (PyTorch AdamW's default 0.01; the paper says 0).

    AdamW multiplies every weight by (1 − lr_t·wd) each update, whatever the gradient. Over the
    code's schedule (``steps + 1`` updates, lr constant for the first half, then cosine to 0),
    ``shrink`` is the product of those factors: how much a weight no gradient supported would shrink.
    ``half_life_steps``: steps at the peak lr to halve such a weight.
    """
    s = np.arange(steps + 1)
    half = steps // 2
    lr_t = np.where(s < half, lr, lr * 0.5 * (1 + np.cos(np.pi * (s - half) / (steps - half))))
    return {
        "weight_decay_code": weight_decay,
        "weight_decay_paper": 0.0,
        "updates": steps + 1,
        "sum_lr": float(lr_t.sum()),
        "shrink": float(np.prod(1 - lr_t * weight_decay)),
        "half_life_steps": math.log(2) / (lr * weight_decay) if weight_decay > 0 else math.inf,
    }


# --- secondary sources -----------------------------------------------------------------------------

def secondary_sources() -> dict[str, float]:
    """I-JEPA's Table 6 (ImageNet-1 %, ViT-B/16 linear probe) against a widely read review's quote."""
    table6 = {"paper_multiblock": 54.2, "paper_rasterized": 15.5, "paper_block": 20.2, "paper_random": 17.6}
    return {**table6, "review_block": 36.9, "gap_block": 36.9 - table6["paper_block"]}


# --- the registry ----------------------------------------------------------------------------------

def _pct(x: float) -> str:
    return f"{100 * x:.3g} %"


def _g(x: float, sig: int = 3) -> str:
    return f"{x:.{sig}g}"


def _below(x: float, bound: float) -> str:
    """``x`` printed as "below ``bound``": rounding noise whose exact digits differ between CPUs."""
    if not abs(x) < bound:
        raise ValueError(f"{x!r} is not below {bound!r}: the printed bound would be false")
    return f"below {bound:.0e}"


def _md_ijepa(r) -> str:
    return (
        f"On the paper's 14×14 grid at batch 128 the released sampler keeps {r['ctx_ratio_14']:.3f} of the grid as "
        f"context (sd {r['ctx_ratio_14_sd']:.3f} over {r['n_seeds']} seeds; Chapter 2), where the paper describes a "
        f"context block of {r['paper_context_scale_min']:.2f} to 1 of the image, and the kept context covers "
        f"{r['top_row_14']:.2f} of the top row against {r['bottom_row_14']:.2f} of the bottom row. With "
        f"min_keep = {r['min_keep']} on an 8×8 grid, {_pct(r['hang_fraction_8x8'])} of the batch-wide size draws "
        f"give a target block that no position can make acceptable, and the sampler retries only positions, so "
        f"it hangs, on average, by batch {_g(r['batches_to_hang_8x8'], 2)}. Square "
        f"grids up to {r['largest_hanging_side']}×{r['largest_hanging_side']} can hang; 14×14 never does.")


def _md_vjepa(r) -> str:
    return (
        f"Over {r['batches']} batches of {r['batch']} clips on an {r['frames']}×{r['rows']}×{r['cols']} grid, the "
        f"short-range generator's blocks cover {_pct(r['masked_short'])} of the tokens and the long-range one's "
        f"{_pct(r['masked_long'])}, where the paper says about {_pct(r['paper_masked'])}. The blocks' areas add up "
        f"to {_g(r['area_sum_short'])} and {_g(r['area_sum_long'])} grids, but they overlap, and more than evenly "
        f"spread coverage would suggest (that gives {_pct(r['independent_short'])} and "
        f"{_pct(r['independent_long'])}): a block's origin is uniform, so tokens near the edges are covered by fewer "
        f"positions and the centre by many. Counting, for every token, the positions that cover it gives the exact "
        f"expectations, {_pct(r['expected_short'])} and {_pct(r['expected_long'])}. Each generator's context is "
        f"then cut to the batch minimum by keeping its first indices in (frame, row, column) order, so the context "
        f"encoder misses {_pct(r['masked_trained_short'])} (short) and {_pct(r['masked_trained_long'])} (long) of the "
        f"tokens: the cut throws away {_pct(r['context_cut_short'])} and {_pct(r['context_cut_long'])} of the "
        f"context, from the end of the clip. Of the first frame's context {_pct(r['first_frame_kept_short'])} "
        f"survives, of the last frame's {_pct(r['last_frame_kept_short'])} (short range; long range "
        f"{_pct(r['first_frame_kept_long'])} and {_pct(r['last_frame_kept_long'])}), so the first of "
        f"{r['frames']} frames holds {_pct(r['first_frame_share_long'])} of the long-range context. The targets are cut "
        f"the same way, losing {_pct(r['target_cut_short'])} and {_pct(r['target_cut_long'])} of their tokens from "
        f"the last frames. The two "
        f"generators are trained as separate context/target pairs (one loss term each); averaged, they mask "
        f"{_pct(r['masked_mean'])} before the cut and {_pct(r['masked_trained_mean'])} after it.")


def _md_loss_forms(r) -> str:
    return (
        f"(1 − λ)·pred + λ·SIGReg is (1 − λ)·(pred + λ′·SIGReg) with λ′ = λ/(1 − λ): on 1,000 random loss pairs "
        f"the ratio of the two forms is the constant {_g(r['mapped_ratio'])} (relative spread "
        f"{_below(r['mapped_ratio_spread'], 1e-12)}) under that mapping, and spreads by "
        f"{_pct(r['same_lambda_ratio_spread'])} if the same λ is used in both. The paper's λ = {_g(r['lam'])} is "
        f"λ′ = {_g(r['lam_prime'])} in the other form ({_pct(r['relative_gap'])} more weight on SIGReg); the minimal "
        f"code's recommended 0.02 is {_g(r['lam_prime_minimal'])}; the world-model code's 0.001 is "
        f"{_g(r['lam_prime_world'], 4)}; LeWorldModel's λ′ = {_g(r['leworldmodel_lam_prime'])} is "
        f"λ = {_g(r['leworldmodel_as_lam'])}. The gap grows with λ: at λ = {_g(r['lam_doubling'])}, a row of the "
        f"world model's λ grid, the other form needs twice the weight. On the trade-off pred = θ², "
        f"SIGReg = (θ − 1)², the optimum θ* = {_g(r['optimum'])} moves to {_g(r['optimum_same_lambda'])} when λ is "
        f"carried over unchanged.")


def _md_quadrature(r) -> str:
    return (
        f"For a standard-normal sample of {r['n']}, the code's half-line trapezoid ([0, 3], 17 knots, ×N) gives "
        f"{_g(r['gauss_code'])} against the whole-line closed form's {_g(r['gauss_exact'])} (ratio "
        f"{_g(r['gauss_ratio'])}); its expected value under exact Gaussian data (SIGReg's floor, in expectation) "
        f"is {_g(r['floor_code'])} against {_g(r['floor_exact'])} (ratio {_g(r['floor_ratio'])}). At total collapse "
        f"to 0 it gives {_g(r['collapsed_code'])} against {_g(r['collapsed_exact'])} (ratio "
        f"{_g(r['collapsed_ratio'])}); the exact value is {_g(r['collapsed_per_sample_exact'])}·N, so it grows with "
        f"the batch. The paper's whole-line listing ([−5, 5], 17 knots) is close on both (ratios within "
        f"{_below(max(abs(r['gauss_paper_ratio'] - 1), abs(r['collapsed_paper_ratio'] - 1)), 1e-4)[6:]} of 1) but "
        f"aliases a wide sample: for two "
        f"clusters at ±5 it reads {_g(r['wide_paper_ratio'])} of the closed form, the code's rule "
        f"{_g(r['wide_ratio'])}. The book's MLX implementation agrees with the code's rule (relative difference "
        f"{_below(max(abs(r['gauss_ours_vs_code']), abs(r['collapsed_ours_vs_code'])), 1e-5)}, float32), and the "
        f"half-line rule converges to the closed form (relative error {_below(r['limit_rel_err'], 1e-9)} on [0, 12] "
        f"with 2,001 knots).")


def _md_pairs(r) -> str:
    return (
        f"Both of the code's training views are OU steps from one shared anchor, so they correlate at ρ², not ρ: at "
        f"ρ = 0.95 the simulated views correlate at {_g(r['corr_views_0.95'])} (ρ² = {_g(r['rho2_0.95'])}, sampling "
        f"error {_g(r['se_0.95'], 1)}, {r['pairs']:,} pairs), each view with the anchor at "
        f"{_g(r['corr_anchor_0.95'])}, which is how the code's evaluation pairs them; at ρ = 0.5 the views correlate at {_g(r['corr_views_0.5'])} (ρ² = "
        f"{_g(r['rho2_0.5'])}). So the code trains the theory at ρ² = {_g(r['rho2_0.95'])}: Theorem 1's alignment "
        f"floor per dimension is 2(1 − ρ²) = {_g(r['bound_code_0.95'])} for its pairs, not 2(1 − ρ) = "
        f"{_g(r['bound_theory_0.95'])}.")


def _md_alignment(r) -> str:
    return (
        f"The code's alignment term averages (h − mean over views)² over views, pairs and coordinates; with two "
        f"views, h − mean = ±(h₁ − h₂)/2. On random {r['dim']}-D h it is {_g(r['ratio_per_dim'])} of the theory's "
        f"E‖h(z′) − h(z)‖² per coordinate and {_g(r['ratio_total'])} of it in total. Against the theory's alignment, "
        f"the code's λ therefore weights SIGReg {_g(1 / r['ratio_total'])} times as heavily as its value suggests.")


def _md_weight_decay(r) -> str:
    return (
        f"The code builds AdamW with no weight_decay argument, so PyTorch's default {_g(r['weight_decay_code'])} "
        f"applies; the paper says {_g(r['weight_decay_paper'])}. Over the code's {r['updates']:,} updates (lr 3e-3, "
        f"constant for half the steps, then cosine to 0; Σ lr = {_g(r['sum_lr'])}) the decoupled decay alone "
        f"multiplies every weight by {_g(r['shrink'])}, a pull towards 0 that the gradients must keep undoing "
        f"(half-life about {round(r['half_life_steps'], -3):,.0f} steps at the peak lr).")


def _md_secondary(r) -> str:
    return (
        f"A widely read review quotes \"traditional block masking 36.9 %\". The I-JEPA paper's Table 6 (ImageNet, "
        f"1 % of the labels, linear probe) gives {r['paper_block']} for block masking and {r['paper_rasterized']} "
        f"for rasterized masking (random {r['paper_random']}, multi-block {r['paper_multiblock']}): the quote is "
        f"{_g(r['gap_block'])} points above the paper's block value and is none of the table's four values.")


@dataclass(frozen=True)
class AuditItem:
    """One audited difference between a paper and its official code (or a source that quotes it)."""

    id: str
    title: str
    paper: str  # what the paper says
    code: str  # what the official code does
    measure: Callable[[], dict[str, float]]
    summary: Callable[[Mapping[str, float]], str]
    cite: tuple[str, ...]  # keys of book/references.bib
    source: tuple[str, ...] = field(default=())  # official files read, at the commits of CODE


@dataclass(frozen=True)
class AuditSection:
    """An item's computed numbers and its markdown summary, for the Chapter 6 notebook."""

    id: str
    title: str
    markdown: str
    numbers: dict[str, float]
    cite: tuple[str, ...]
    source: tuple[str, ...]


AUDIT: list[AuditItem] = [
    AuditItem(
        "ijepa_sampler", "I-JEPA: the released multi-block sampler",
        "one context block of 85–100 % of the image, minus four target blocks of 15–20 %",
        "one size draw per batch, scale and aspect tied; the context cut to the batch minimum by keeping the first "
        "indices (top rows); a target block too small for min_keep is retried forever",
        ijepa_sampler, _md_ijepa, ("assran2023ijepa",), (CODE["ijepa"],)),
    AuditItem(
        "vjepa_sampler", "V-JEPA: realised masking ratios and the prefix cut",
        "short-range (8 blocks of 15 %) and long-range (2 blocks of 70 %) tube masks, about 90 % masked",
        "the union of blocks is masked; one block size per batch, the same size draw for both generators; each "
        "generator's context and target are cut to the batch minimum by keeping their first indices in (frame, row, "
        "column) order",
        vjepa_sampler, _md_vjepa, ("bardes2024vjepa",), (CODE["vjepa"], CODE["vjepa_config"])),
    AuditItem(
        "lejepa_loss_forms", "LeJEPA: two loss forms, one λ",
        "(1 − λ)·prediction + λ·SIGReg, λ = 0.05",
        "the minimal code uses the (1 − λ) form (recommending λ = 0.02); LeWorldModel uses prediction + λ·SIGReg "
        "(λ = 0.09)",
        lejepa_loss_forms, _md_loss_forms, ("balestriero2025lejepa", "maes2026leworldmodel"), (CODE["lejepa"],)),
    AuditItem(
        "sigreg_quadrature", "LeJEPA: the SIGReg quadrature",
        "Epps–Pulley statistic: N times an integral over the whole line; the paper's listing integrates [−5, 5] "
        "with a plain trapezoid",
        "trapezoid on [0, 3] with 17 knots and the interior weights doubled for the other half-line, times N",
        sigreg_quadrature, _md_quadrature, ("balestriero2025lejepa", "epps1983test"),
        (CODE["lejepa"], CODE["lejepa_ep"])),
    AuditItem(
        "world_model_pairs", "World-model code: pairs correlated at ρ²",
        "a positive pair is one OU step, z′ = ρz + √(1 − ρ²)η: correlation ρ",
        "both training views are OU steps from a shared anchor: correlation ρ²; evaluation pairs the anchor with one "
        "OU step (correlation ρ)",
        world_model_pairs, _md_pairs, ("klindt2026worldmodel",), (CODE["world_data"], CODE["world_engine"])),
    AuditItem(
        "world_model_alignment", "World-model code: alignment at a quarter of the theory's scale",
        "alignment E‖h(z′) − h(z)‖²",
        "mean of (h − mean over the two views)²: a quarter of the theory's scale per coordinate",
        world_model_alignment, _md_alignment, ("klindt2026worldmodel",), (CODE["world_losses"],)),
    AuditItem(
        "world_model_weight_decay", "World-model code: weight decay 0.01",
        "AdamW, weight decay 0",
        "AdamW built with the learning rate only, so PyTorch's default weight decay 0.01 applies (the 2-D, ablation, grid, "
        "generalised-Gaussian and scaling runs; the reacher script sets 1e-4)",
        world_model_weight_decay, _md_weight_decay, ("klindt2026worldmodel",), (CODE["world_engine"],)),
    AuditItem(
        "secondary_sources", "Secondary sources: a review's block-masking number",
        "Table 6: block 20.2, rasterized 15.5, random 17.6, multi-block 54.2",
        "(not code) a widely read review quotes \"traditional block masking 36.9 %\"",
        secondary_sources, _md_secondary, ("assran2023ijepa",)),
]


def audit_numbers(ids=None) -> dict[str, dict[str, float]]:
    """Every (or the named) audit item's numbers: ``{id: measure()}``."""
    known = {item.id for item in AUDIT}
    unknown = set(ids or ()) - known
    if unknown:
        raise ValueError(f"unknown audit item(s) {sorted(unknown)}; known: {sorted(known)}")
    return {item.id: item.measure() for item in AUDIT if ids is None or item.id in ids}


def audit_sections(numbers: Mapping[str, Mapping[str, float]] | None = None, cite_role: bool = False) -> list[AuditSection]:
    """One :class:`AuditSection` per item of :data:`AUDIT`, from ``numbers`` (default: computed now).

    ``cite_role``: end each summary with a MyST ``{cite:p}`` role of its keys (for ``{glue:md}``).
    """
    numbers = audit_numbers() if numbers is None else numbers
    out = []
    for item in AUDIT:
        r = dict(numbers[item.id])
        md = item.summary(r)
        if cite_role and item.cite:
            md = md[:-1] + f" {{cite:p}}`{','.join(item.cite)}`."
        out.append(AuditSection(item.id, item.title, md, r, item.cite, item.source))
    return out


def audit_markdown(sections: list[AuditSection] | None = None, level: int = 3) -> str:
    """The sections as one markdown string: a heading per item, what the paper says and the code does, the numbers."""
    sections = audit_sections() if sections is None else sections
    items = {item.id: item for item in AUDIT}
    parts = []
    for s in sections:
        item = items[s.id]
        parts.append(f"{'#' * level} {s.title}\n\n*Paper:* {item.paper}. *Code:* {item.code}.\n\n{s.markdown}")
    return "\n\n".join(parts) + "\n"
