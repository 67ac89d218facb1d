"""Chapter 2's numbers for the prose and its figures, computed from a run (none in the notebook's cells).

Explained in Chapter 2 (I-JEPA). The gains over the untrained encoder are paired per seed, and
whether a gain is beyond noise is decided by the claims' own rule
(:class:`jepabook.core.claims.Greater`), never by a test of this module's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import SimpleNamespace

import mlx.core as mx
import numpy as np
from mlx.utils import tree_flatten

from jepabook.blocks.vit import ViT, patchify
from jepabook.core.rules import DIRECTION_ONLY, NOT_REPRODUCED, REPRODUCED, Greater
from jepabook.core.report import sd_of
from jepabook.ijepa.experiment import ARM_METRICS, IJEPAConfig, ijepa_loss
from jepabook.ijepa.images import make_shapes

__all__ = ["ABLATIONS", "ablation_summary", "arm_table", "arms_beyond_noise", "encoder_parameters", "final_loss", "flat_patch_loss", "gains", "max_abs_gain",
           "median_seed_sd", "shape_arms", "shapes_patches", "training_budget"]

Measured = Mapping[str, Sequence[float]]


def shape_arms(arms: Iterable[str]) -> list[str]:
    """The trained representation arms at the chapter's texture level: every arm but the untrained,
    pixel and supervised arms and the other texture levels' arms."""
    return [a for a in arms if a not in ("untrained", "pixels", "supervised") and not a.endswith("_texture")]


def gains(metrics: Measured, arms: Iterable[str], baseline: str = "untrained", metric: str = "acc") -> dict[str, np.ndarray]:
    """Per-seed paired gain of ``metric`` (a key of :data:`~jepabook.ijepa.experiment.ARM_METRICS`) of each arm (same seed, same data)."""
    base = np.asarray(metrics[ARM_METRICS[baseline][metric]], dtype=np.float64)
    return {a: np.asarray(metrics[ARM_METRICS[a][metric]], dtype=np.float64) - base for a in arms}


def max_abs_gain(metrics: Measured, arms: Iterable[str], baseline: str = "untrained") -> float:
    """The largest absolute seed-mean accuracy gain over ``baseline`` among ``arms`` (points)."""
    return float(max(abs(g.mean()) for g in gains(metrics, arms, baseline).values()))


def arms_beyond_noise(metrics: Measured, arms: Iterable[str], baseline: str = "untrained") -> list[str]:
    """The arms whose accuracy exceeds ``baseline``'s beyond noise, by the claims' paired rule
    ``Greater("acc_<arm>", "acc_<baseline>").beyond_noise``."""
    return [a for a in arms if Greater(ARM_METRICS[a]["acc"], ARM_METRICS[baseline]["acc"]).beyond_noise(metrics)]


#: the paper's four ablation orderings, as claim ids
ABLATIONS = ("ijepa.masking", "ijepa.context_scale", "ijepa.n_targets")


def ablation_summary(claims: Sequence, ids: Sequence[str] = ABLATIONS) -> dict[str, float | int]:
    """What the prose says about the ablations, read from the chapter's ``ClaimResult`` list:
    how many of ``ids`` came out ``reproduced`` / ``direction only`` / ``not reproduced``, the largest
    spread of seed means between one ablation's arms (points), and the median over the ablations of
    the smallest effect their seeds could detect (the claims' own noise column)."""
    by_id = {r.claim.id: r for r in claims}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise KeyError(f"claims not in the run: {missing}; present: {sorted(by_id)}")
    rows = [by_id[i] for i in ids]
    # accuracies only: a row also shows losses and realised fractions, in other units
    accs = [[np.mean(v) for k, v in r.measured.items() if not k.startswith(("loss_", "context_", "target_"))]
            for r in rows if r.measured]
    spread = [max(a) - min(a) for a in accs if a]
    detect = [r.detectable for r in rows if np.isfinite(r.detectable)]
    return {"reproduced": sum(r.verdict == REPRODUCED for r in rows),
            "direction": sum(r.verdict == DIRECTION_ONLY for r in rows),
            "not_reproduced": sum(r.verdict == NOT_REPRODUCED for r in rows),
            "max_gap": float(max(spread)) if spread else float("nan"),
            "median_detectable": float(np.median(detect)) if detect else float("inf")}


def median_seed_sd(metrics: Measured, arms: Iterable[str]) -> float:
    """Median over ``arms`` of the seed standard deviation of each arm's accuracy (points)."""
    return float(np.median([sd_of(metrics, ARM_METRICS[a]["acc"]) for a in arms]))


def final_loss(results: Sequence) -> float:
    """Seed mean of the last logged training loss; ``results`` is one arm's per-seed ``ArmResult`` list."""
    return float(np.mean([r.loss[-1] for r in results]))


def encoder_parameters(config: IJEPAConfig) -> int:
    """Parameter count of the chapter's ViT encoder at ``config``'s sizes."""
    c = config
    encoder = ViT(c.patch**2, c.grid, c.width, c.depth, c.heads, c.mlp_ratio, mx.random.key(0))
    return int(sum(v.size for _, v in tree_flatten(encoder.parameters())))


def training_budget(config: IJEPAConfig) -> dict[str, float]:
    """What one arm's training sees: images (steps × batch), passes over the training images, and
    the percentage of labels the shapes probe is fitted on."""
    c = config
    seen = c.steps * c.batch
    return {"images_seen": seen, "passes": seen / c.n_images, "probe_label_pct": 100 * (1 - c.test_fraction)}


def arm_table(metrics: Measured, arms: Mapping[str, str], places: int = 1, nominal: Mapping[str, str] | None = None):
    """One row per arm (``{arm: label}``): realised context and target-block fractions, both encoders' probe accuracy
    (mean ± sd over the arm's seeds) and effective rank, and the number of seeds; as a DataFrame."""
    import pandas as pd

    rows = []
    for arm, label in arms.items():
        def fmt(name):
            if name not in metrics:
                return "—"
            v = np.asarray(metrics[name], dtype=np.float64)
            sd = f" ± {v.std(ddof=1):.{places}f}" if v.size > 1 else ""
            return f"{v.mean():.{places}f}{sd}"

        row = {"arm": label}
        if nominal is not None:
            row["nominal"] = nominal.get(arm, "")
        name = ARM_METRICS[arm]
        row.update({"realised context": f"{np.mean(metrics[name['context']]):.2f}",
                    "realised target block": f"{np.mean(metrics[name['target']]):.3f}",
                    "target enc. acc (%)": fmt(name["acc"]), "context enc. acc (%)": fmt(name["ctx_acc"]),
                    "target enc. rank": fmt(name["rank"]), "context enc. rank": fmt(name["ctx_rank"]),
                    "seeds": len(metrics[name["acc"]])})
        rows.append(row)
    return pd.DataFrame(rows).set_index("arm")


def shapes_patches(config: IJEPAConfig, n: int = 512, seed: int = 0) -> mx.array:
    """``(n, tokens, patch²)`` patches of ``n`` procedural shape images (``seed``) at ``config``'s sizes."""
    images = make_shapes(n, seed, config.image_size, texture=config.texture, patch=config.patch, field=config.field,
                         field_sigma=config.field_sigma)[0]
    return patchify(mx.array(images), (config.patch, config.patch))


def flat_patch_loss(patches, chunk: int = 64) -> float:
    """The pixel arm's training loss for a predictor that outputs a flat patch (all zeros) at every token.

    Computed by the training loss itself (:func:`jepabook.ijepa.experiment.ijepa_loss` with
    ``pixels=True``): the targets are per-patch-normalised pixels, every token of every image is a
    target, and the prediction is zero, i.e. a flat patch after normalisation. ``patches``:
    ``(n, tokens, patch²)``, read in batches of ``chunk`` images (a training batch's size; one
    float32 mean over all of them would lose the fourth digit), averaged with their sizes as weights.
    """
    patches = mx.array(patches)
    n, tokens, dim = patches.shape

    def flat(_h, _context, target_idx):
        b, t, k = target_idx.shape
        return mx.zeros((b, t, k, dim))

    model = SimpleNamespace(encoder=lambda _patches, _context: None, predictor=flat)
    total = 0.0
    for lo in range(0, n, chunk):
        part = patches[lo:lo + chunk]
        b = part.shape[0]
        targets = mx.broadcast_to(mx.arange(tokens)[None, None, :], (b, 1, tokens))  # one block: all tokens
        context = mx.zeros((b, 1), dtype=mx.int32)  # unread: the flat predictor ignores its input
        loss, _ = ijepa_loss(model, part, context, targets, None, pixels=True)
        total += b * float(loss.item())
    return total / n
