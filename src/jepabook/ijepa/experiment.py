"""Chapter 2 experiments: I-JEPA on a tiny ViT and its ablations, with a linear probe as the yardstick.

Explained in Chapter 2 (I-JEPA). One *arm* is one training recipe (a masking strategy and its
parameters, representation or pixel targets, a data set, or labels); every arm trains the same tiny
ViT for the same number of steps on the same batches and is scored by a logistic-regression probe on
the mean-pooled output of *both* its encoders: the EMA target encoder (what the paper probes) and the
context encoder, each with its effective rank. ``untrained`` probes the freshly initialised encoder;
``supervised`` trains the same ViT with labels (the probe's labelled images only) for the same steps,
the ceiling every gain is measured against.

- Images: one large labelled shape over *per-patch* texture (an independent grating in every 4×4
  cell), the label-irrelevant detail that no other patch predicts, so feature targets can drop it
  and pixel targets cannot (:func:`jepabook.ijepa.images.make_shapes`).
- Masks: the corrected multi-block sampler with fixed token counts (:func:`jepabook.blocks.masks.
  fixed_multiblock_masks`), so the realised context is the same in every batch, the step compiles,
  and every arm's realised context fraction is one number. The released sampler is kept as a check.
- Targets: the whole image goes through the EMA target encoder; its output is LayerNorm-ed (no
  learned scale) and the target tokens are selected *after* the encoder, as in the paper.
- Loss: smooth-L1 with β = 1, as in the official code (the paper's text says L2).
- EMA momentum: linear from τ₀ to 1.0, with τ₀ set by the schedule's total movement Σ(1 − τ) =
  ``ema_sum`` over the run (τ₀ = 1 − 2·ema_sum/steps): several time constants, so the target
  encoder ends far from its initialisation but still lags the context encoder.
- Pixel targets: the same masks, predictor and budget, regressing per-patch-normalised pixels
  (MAE's normalisation); an EMA copy of its encoder is kept (unused by the loss) so that both arms are
  probed like for like, target encoder with target encoder and context with context.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from jepabook.core.config import ShownAsTable
from jepabook.core import streams
from jepabook.core.experiment import Chapter, ChapterResult, Plan, run_chapter
from jepabook.blocks.ema import ema_update
from jepabook.ijepa.images import load_digits, make_shapes
from jepabook.blocks.masks import (Masks, block_masks, context_count, context_statistics, fixed_multiblock_masks,
                                   random_masks, rasterized_masks)
from jepabook.blocks.probes import effective_rank, linear_accuracy, train_test_split
from jepabook.blocks.nets import init_linears
from jepabook.core.training import fit, warmup_then_cosine
from jepabook.blocks.vit import Predictor, ViT, gather_tokens, patchify

__all__ = ["ARM_METRICS", "HEADROOM_METRICS", "MASK_METRICS", "ARMS", "Arm", "ArmResult", "CHAPTER", "CURVE_ARMS", "IJEPA", "IJEPAConfig", "IJEPARun", "PROFILES",
           "Supervised", "arm_seeds", "context_fraction", "effective_rank", "ema_start", "ijepa_loss", "labelled_split",
           "load_data", "mask_statistics", "probe_se", "run", "run_arm", "sample_masks", "step_breakdown",
           "supervised_loss", "update_target"]


@dataclass(frozen=True)
class Arm:
    """One training recipe.

    ``masking``: multiblock | random | block | rasterized | none (untrained) | supervised (labels).
    ``seeds``: ``"all"`` runs at every seed of the run, ``"ablation"`` at the first
    ``ablation_seeds``, ``"sweep"`` at the first seed only. ``ema_sum`` overrides the config's.
    """

    masking: str = "multiblock"
    n_targets: int = 4
    target_scale: tuple[float, float] = (0.15, 0.2)
    context_scale: tuple[float, float] = (0.85, 1.0)
    targets: str = "representation"  # or "pixels"
    dataset: str = "shapes"  # or "digits"
    seeds: str = "ablation"
    ema_sum: float | None = None


ARMS = {
    "untrained": Arm(masking="none", seeds="all"),
    "multiblock": Arm(seeds="all"),
    "pixels": Arm(targets="pixels", seeds="all"),
    "supervised": Arm(masking="supervised", seeds="all"),
    "random": Arm(masking="random"),
    "block": Arm(masking="block"),
    "rasterized": Arm(masking="rasterized"),
    "tscale_0.075": Arm(target_scale=(0.075, 0.2)),
    "tscale_0.2": Arm(target_scale=(0.2, 0.3)),
    "cscale_0.40": Arm(context_scale=(0.40, 1.0)),
    "targets_1": Arm(n_targets=1),
    "digits_untrained": Arm(masking="none", dataset="digits"),
    "digits_multiblock": Arm(dataset="digits"),
    "digits_pixels": Arm(targets="pixels", dataset="digits"),
    "digits_supervised": Arm(masking="supervised", dataset="digits"),
    "ema_1": Arm(seeds="sweep", ema_sum=1.0),
    "ema_10": Arm(seeds="sweep", ema_sum=10.0),
}
CURVE_ARMS = ("multiblock", "pixels", "random")  # arms whose rank/probe is also read during training
SEED_GROUPS = ("all", "ablation", "sweep")
#: each arm's per-seed metric names, written out so that a search for a name finds its producer
#: (:func:`_measure`): probe accuracy (%) and effective rank of the target encoder (``acc``, ``rank``)
#: and of the context encoder (``ctx_acc``, ``ctx_rank``; trained arms only), the probe's binomial
#: standard error (``se``) and the realised context fraction (``context``)
ARM_METRICS = {
    "untrained": {"acc": "acc_untrained", "rank": "rank_untrained",
                  "ctx_acc": "ctx_acc_untrained", "ctx_rank": "ctx_rank_untrained",
                  "se": "se_untrained", "context": "context_untrained"},
    "multiblock": {"acc": "acc_multiblock", "rank": "rank_multiblock",
                   "ctx_acc": "ctx_acc_multiblock", "ctx_rank": "ctx_rank_multiblock",
                   "se": "se_multiblock", "context": "context_multiblock"},
    "pixels": {"acc": "acc_pixels", "rank": "rank_pixels",
               "ctx_acc": "ctx_acc_pixels", "ctx_rank": "ctx_rank_pixels",
               "se": "se_pixels", "context": "context_pixels"},
    "supervised": {"acc": "acc_supervised", "rank": "rank_supervised",
                   "ctx_acc": "ctx_acc_supervised", "ctx_rank": "ctx_rank_supervised",
                   "se": "se_supervised", "context": "context_supervised"},
    "random": {"acc": "acc_random", "rank": "rank_random",
               "ctx_acc": "ctx_acc_random", "ctx_rank": "ctx_rank_random",
               "se": "se_random", "context": "context_random"},
    "block": {"acc": "acc_block", "rank": "rank_block",
              "ctx_acc": "ctx_acc_block", "ctx_rank": "ctx_rank_block",
              "se": "se_block", "context": "context_block"},
    "rasterized": {"acc": "acc_rasterized", "rank": "rank_rasterized",
                   "ctx_acc": "ctx_acc_rasterized", "ctx_rank": "ctx_rank_rasterized",
                   "se": "se_rasterized", "context": "context_rasterized"},
    "tscale_0.075": {"acc": "acc_tscale_0.075", "rank": "rank_tscale_0.075",
                     "ctx_acc": "ctx_acc_tscale_0.075", "ctx_rank": "ctx_rank_tscale_0.075",
                     "se": "se_tscale_0.075", "context": "context_tscale_0.075"},
    "tscale_0.2": {"acc": "acc_tscale_0.2", "rank": "rank_tscale_0.2",
                   "ctx_acc": "ctx_acc_tscale_0.2", "ctx_rank": "ctx_rank_tscale_0.2",
                   "se": "se_tscale_0.2", "context": "context_tscale_0.2"},
    "cscale_0.40": {"acc": "acc_cscale_0.40", "rank": "rank_cscale_0.40",
                    "ctx_acc": "ctx_acc_cscale_0.40", "ctx_rank": "ctx_rank_cscale_0.40",
                    "se": "se_cscale_0.40", "context": "context_cscale_0.40"},
    "targets_1": {"acc": "acc_targets_1", "rank": "rank_targets_1",
                  "ctx_acc": "ctx_acc_targets_1", "ctx_rank": "ctx_rank_targets_1",
                  "se": "se_targets_1", "context": "context_targets_1"},
    "digits_untrained": {"acc": "acc_digits_untrained", "rank": "rank_digits_untrained",
                         "ctx_acc": "ctx_acc_digits_untrained", "ctx_rank": "ctx_rank_digits_untrained",
                         "se": "se_digits_untrained", "context": "context_digits_untrained"},
    "digits_multiblock": {"acc": "acc_digits_multiblock", "rank": "rank_digits_multiblock",
                          "ctx_acc": "ctx_acc_digits_multiblock", "ctx_rank": "ctx_rank_digits_multiblock",
                          "se": "se_digits_multiblock", "context": "context_digits_multiblock"},
    "digits_pixels": {"acc": "acc_digits_pixels", "rank": "rank_digits_pixels",
                      "ctx_acc": "ctx_acc_digits_pixels", "ctx_rank": "ctx_rank_digits_pixels",
                      "se": "se_digits_pixels", "context": "context_digits_pixels"},
    "digits_supervised": {"acc": "acc_digits_supervised", "rank": "rank_digits_supervised",
                          "ctx_acc": "ctx_acc_digits_supervised", "ctx_rank": "ctx_rank_digits_supervised",
                          "se": "se_digits_supervised", "context": "context_digits_supervised"},
    "ema_1": {"acc": "acc_ema_1", "rank": "rank_ema_1",
              "ctx_acc": "ctx_acc_ema_1", "ctx_rank": "ctx_rank_ema_1",
              "se": "se_ema_1", "context": "context_ema_1"},
    "ema_10": {"acc": "acc_ema_10", "rank": "rank_ema_10",
               "ctx_acc": "ctx_acc_ema_10", "ctx_rank": "ctx_rank_ema_10",
               "se": "se_ema_10", "context": "context_ema_10"},
}
#: the gain over untrained, the headroom up to the supervised ceiling and their ratio, per data set:
#: (untrained arm, ceiling arm, trained arm) → (gain, headroom, fraction) names
HEADROOM_METRICS = {
    ("untrained", "supervised", "multiblock"): ("gain_multiblock", "headroom_shapes", "headroom_fraction_shapes"),
    ("digits_untrained", "digits_supervised", "digits_multiblock"): ("gain_digits_multiblock", "headroom_digits",
                                                                    "headroom_fraction_digits"),
}
#: the mask sampler's statistics (:func:`mask_statistics`): per grid label and variant, the realised
#: context ratio and the context coverage of the top and bottom rows
MASK_METRICS = {
    ("14", "released"): ("ctx_ratio_14_released", "top_row_14_released", "bottom_row_14_released"),
    ("14", "corrected"): ("ctx_ratio_14_corrected", "top_row_14_corrected", "bottom_row_14_corrected"),
    ("8", "released"): ("ctx_ratio_8_released", "top_row_8_released", "bottom_row_8_released"),
    ("8", "corrected"): ("ctx_ratio_8_corrected", "top_row_8_corrected", "bottom_row_8_corrected"),
}


@dataclass(frozen=True)
class IJEPAConfig(ShownAsTable):
    """Everything Chapter 2's runs depend on (sizes chosen from the step-time budget; see the chapter)."""

    image_size: int = 32
    patch: int = 4  # → an 8×8 token grid
    n_images: int = 3200  # procedural set (the digits set has 1,797)
    texture: float = 0.8  # amplitude of the per-patch texture (the objects' contrast is 0.6–1.2)
    width: int = 32
    depth: int = 2
    heads: int = 1
    mlp_ratio: float = 2.0
    pred_width: int = 16
    pred_depth: int = 2
    batch: int = 32
    steps: int = 500
    warmup: int = 50
    lr: float = 5e-4
    weight_decay: float = 0.04
    ema_sum: float = 3.0  # Σ(1 − τ) over the run
    context_quantile: float = 0.25  # the fixed context count: this quantile of the sampler's sizes
    min_keep: int = 3  # the released 10 tokens of 196, scaled to 64 (released-sampler check only)
    chunks: int = 3  # training is read back (rank, probe) this many times for the curve arms
    test_fraction: float = 0.8  # shapes: 2,560 of 3,200 images held out, so a probe's SE is ≤ 1 point
    digits_labels: int = 10  # digits: labelled images per class for the probe (the rest is held out)
    ablation_seeds: int = 3
    arms: tuple[str, ...] = tuple(ARMS)

    def __post_init__(self):
        for name in ("image_size", "patch", "n_images", "width", "depth", "heads", "pred_width", "pred_depth",
                     "batch", "steps", "min_keep", "chunks", "digits_labels", "ablation_seeds"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if self.image_size % self.patch:
            raise ValueError(f"image_size={self.image_size} must be divisible by patch={self.patch}")
        if self.width % 4 or self.pred_width % 4:
            raise ValueError("width and pred_width must be divisible by 4 (2-D sin-cos positions)")
        if not (isinstance(self.warmup, int) and 0 <= self.warmup < self.steps):
            raise ValueError(f"warmup must be an integer in [0, steps={self.steps}); got {self.warmup!r}")
        if not (0.0 < self.ema_sum <= self.steps / 2):
            raise ValueError(f"ema_sum must be in (0, steps/2 = {self.steps / 2}]; got {self.ema_sum!r}")
        if not (0.0 < self.test_fraction < 1.0):
            raise ValueError(f"test_fraction must be in (0, 1); got {self.test_fraction!r}")
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown:
            raise ValueError(f"unknown arms {unknown}; allowed: {sorted(ARMS)}")

    @property
    def grid(self) -> tuple[int, int]:
        return (self.image_size // self.patch,) * 2


PROFILES = {
    "full": IJEPAConfig(),
    # ci: 512 images, three quarters held out, 6 steps; the ablations on the first 2 of its 3 seeds; no
    # EMA sweep (its Σ = 10 needs at least 20 steps)
    "ci": IJEPAConfig(n_images=512, test_fraction=0.75, steps=6, warmup=2, ema_sum=1.0, chunks=1, ablation_seeds=2,
                      arms=tuple(a for a in ARMS if not a.startswith("ema_"))),
}


def arm_seeds(arm: str, seeds, config: IJEPAConfig) -> list[int]:
    """The seeds (of the run's ``seeds``, in order) at which ``arm`` runs."""
    group = ARMS[arm].seeds
    seeds = list(seeds)
    if group == "all":
        return seeds
    if group == "ablation":
        return seeds[:config.ablation_seeds]
    if group == "sweep":
        return seeds[:1]
    raise ValueError(f"seeds must be one of {SEED_GROUPS}; got {group!r}")


def ema_start(config: IJEPAConfig, arm: Arm | None = None) -> float:
    """τ₀ of the linear schedule τ₀ → 1 whose total movement Σ(1 − τ) over ``steps`` is ``ema_sum``."""
    total = arm.ema_sum if arm is not None and arm.ema_sum is not None else config.ema_sum
    if not (0.0 < total <= config.steps / 2):
        raise ValueError(f"ema_sum must be in (0, steps/2 = {config.steps / 2:g}] for a momentum in [0, 1); got {total!r}")
    return 1.0 - 2.0 * total / config.steps


def context_fraction(arm: Arm, config: IJEPAConfig) -> float:
    """The realised context of ``arm``: the fraction of the grid's tokens the context encoder sees."""
    return _context_size(arm, config) / (config.grid[0] * config.grid[1])


def _context_size(arm: Arm, config: IJEPAConfig) -> int:
    grid, n = config.grid, config.grid[0] * config.grid[1]
    if arm.masking == "multiblock":
        return context_count(grid, arm.n_targets, arm.target_scale, (0.75, 1.5), arm.context_scale,
                             config.context_quantile)
    if arm.masking in ("random", "block"):
        return n - int(round(0.6 * n)) if arm.masking == "random" else n - int(round(math.sqrt(0.6 * n)))**2
    if arm.masking == "rasterized":
        return n // 4
    return n  # untrained and supervised see every token


def sample_masks(arm: Arm, rng: np.random.Generator, batch: int, config: IJEPAConfig, k_context: int | None = None) -> Masks:
    """The arm's masks for one batch (multi-block: ``k_context`` tokens of context, default the arm's)."""
    grid = config.grid
    if arm.masking == "multiblock":
        k = _context_size(arm, config) if k_context is None else k_context
        return fixed_multiblock_masks(rng, batch, grid, k, arm.n_targets, arm.target_scale, (0.75, 1.5),
                                      arm.context_scale)
    if arm.masking == "random":
        return random_masks(rng, batch, grid, 0.6)
    if arm.masking == "block":
        return block_masks(rng, batch, grid, 0.6)
    if arm.masking == "rasterized":
        return rasterized_masks(rng, batch, grid)
    raise ValueError(f"masking must be multiblock, random, block or rasterized; got {arm.masking!r}")


class IJEPA(nn.Module):
    """Context encoder, predictor and (frozen, EMA-updated) target encoder."""

    def __init__(self, config: IJEPAConfig, pixels: bool, key: mx.array):
        super().__init__()
        c = config
        patch_dim = c.patch * c.patch
        k_enc, k_pred = mx.random.split(key)
        self.encoder = ViT(patch_dim, c.grid, c.width, c.depth, c.heads, c.mlp_ratio, k_enc)
        self.predictor = Predictor(c.width, c.pred_width, c.grid, c.pred_depth, c.heads, c.mlp_ratio, k_pred,
                                   out_dim=patch_dim if pixels else None)
        self.target = ViT(patch_dim, c.grid, c.width, c.depth, c.heads, c.mlp_ratio, k_enc)  # same init
        self.target.freeze()


def _select(tokens: mx.array, target_idx: mx.array) -> mx.array:
    """``(batch, n, d)`` at ``(batch, t, k)`` → ``(batch, t, k, d)``."""
    b, t, k = target_idx.shape
    return gather_tokens(tokens, target_idx.reshape(b, t * k)).reshape(b, t, k, -1)


def ijepa_loss(model: IJEPA, patches, context_idx, target_idx, tau, pixels: bool):
    """Smooth-L1 between predicted and target features (or normalised pixels) of the target tokens."""
    if pixels:
        mu, var = mx.mean(patches, -1, keepdims=True), mx.var(patches, -1, keepdims=True)
        target = _select((patches - mu) / mx.sqrt(var + 1e-6), target_idx)
    else:
        full = mx.stop_gradient(model.target(patches))
        target = _select(mx.fast.layer_norm(full, None, None, 1e-6), target_idx)
    pred = model.predictor(model.encoder(patches, context_idx), context_idx, target_idx)
    return nn.losses.smooth_l1_loss(pred, target, beta=1.0, reduction="mean"), {}


def update_target(model: IJEPA, *inputs) -> None:
    """EMA step of the target encoder towards the context encoder; the momentum is the last input."""
    model.target.update(ema_update(model.target.parameters(), model.encoder.parameters(), inputs[-1]))


def _features(encoder: ViT, patches: mx.array, chunk: int = 256) -> np.ndarray:
    return np.concatenate([np.array(encoder.pooled(patches[i:i + chunk])) for i in range(0, len(patches), chunk)])


class Supervised(nn.Module):
    """The ceiling: the same ViT (same initialisation as the JEPA arms' encoders) with a linear head."""

    def __init__(self, config: IJEPAConfig, n_classes: int, key: mx.array):
        super().__init__()
        c = config
        k_enc, k_head = mx.random.split(key)  # the JEPA's encoder key: the same untrained encoder
        self.encoder = ViT(c.patch * c.patch, c.grid, c.width, c.depth, c.heads, c.mlp_ratio, k_enc)
        self.head = nn.Linear(c.width, n_classes)
        init_linears(self.head, k_head)  # from the key, not MLX's global generator (which other tasks move)


def supervised_loss(model: Supervised, patches, labels):
    """Cross-entropy of the linear head on the mean-pooled encoder output."""
    return nn.losses.cross_entropy(model.head(model.encoder.pooled(patches)), labels, reduction="mean"), {}


@dataclass
class ArmResult:
    """One arm at one seed: final metrics, and (curve arms) rank / probe read during training."""

    arm: str
    seed: int
    metrics: dict[str, float]
    curve: dict[str, list[float]] = field(default_factory=dict)
    loss_steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    train_seconds: float = 0.0


def load_data(dataset: str, config: IJEPAConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, size, size, 1)`` and labels ``(n,)`` of ``dataset`` ("shapes" or "digits")."""
    if dataset == "shapes":
        return make_shapes(config.n_images, seed, config.image_size, texture=config.texture, patch=config.patch)
    if dataset == "digits":  # all 1,797 unless the profile asks for fewer
        x, y = load_digits(config.image_size)
        keep = np.sort(streams.rng(seed, "data", "digits").permutation(len(y))[:config.n_images])
        return x[keep], y[keep]
    raise ValueError(f"dataset must be 'shapes' or 'digits'; got {dataset!r}")


def labelled_split(dataset: str, labels: np.ndarray, config: IJEPAConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The probe's labelled images and the held-out ones: shapes, a ``1 − test_fraction`` share;
    digits, ``digits_labels`` images per class (the paper's small-label regime), the rest held out."""
    if dataset == "shapes":
        return train_test_split(len(labels), config.test_fraction, seed)
    rng = streams.rng(seed, "labels", dataset)
    train = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:config.digits_labels]
                                    for c in np.unique(labels)]))
    return train, np.setdiff1d(np.arange(len(labels)), train)


def probe_se(accuracy_pct: float, n_test: int) -> float:
    """Binomial standard error (points) of one probe's held-out accuracy on ``n_test`` images."""
    p = accuracy_pct / 100
    return 100 * math.sqrt(max(p * (1 - p), 0.0) / n_test)


def run_arm(config: IJEPAConfig, name: str, seed: int, progress: bool = False) -> ArmResult:
    """Train arm ``name`` from ``seed`` (nothing for the untrained arms) and probe both its encoders."""
    start = time.perf_counter()
    arm = ARMS[name]
    images, labels = load_data(arm.dataset, config, seed)
    patches = patchify(mx.array(images), (config.patch, config.patch))
    train, test = labelled_split(arm.dataset, labels, config, seed)
    pixels = arm.targets == "pixels"
    supervised = arm.masking == "supervised"
    model = (Supervised(config, int(labels.max()) + 1, streams.key(seed, "init")) if supervised
             else IJEPA(config, pixels, streams.key(seed, "init")))
    encoders = {"": model.encoder} if supervised or arm.masking == "none" else {"": model.target, "ctx_": model.encoder}

    def measure() -> dict[str, float]:
        out = {}
        for prefix, encoder in encoders.items():
            feats = _features(encoder, patches)
            acc = 100 * linear_accuracy(feats, labels, train, test)
            out.update({f"{prefix}acc": acc, f"{prefix}rank": effective_rank(feats)})
        out["se"] = probe_se(out["acc"], len(test))
        return out

    result = ArmResult(name, seed, {})
    if arm.masking != "none":
        # masks and batches from separate streams, so every arm of a seed sees the same batches
        # however many draws its mask sampler takes
        mask_rng, batch_rng = streams.rng(seed, "masks"), streams.rng(seed, "batches")
        optimizer = optim.AdamW(learning_rate=warmup_then_cosine(config.lr, config.steps, config.warmup),
                                weight_decay=config.weight_decay)
        chunks = config.chunks if name in CURVE_ARMS else 1
        bounds = np.linspace(0, config.steps, chunks + 1).astype(int)
        tau0 = ema_start(config, arm)
        k_context = _context_size(arm, config)
        pool = train if supervised else np.arange(len(labels))  # labels only where the probe has them
        label_array = mx.array(labels)
        t0 = time.perf_counter()
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if supervised:
                def labelled_batch(i):
                    # with replacement only when fewer images are labelled than a batch holds (tiny profiles)
                    rows = mx.array(np.sort(batch_rng.choice(pool, config.batch, replace=len(pool) < config.batch)))
                    return patches[rows], label_array[rows]
                batch, loss_fn, after = labelled_batch, supervised_loss, None
            else:
                def batch(i, lo=lo):
                    m = sample_masks(arm, mask_rng, config.batch, config, k_context)
                    rows = mx.array(batch_rng.choice(pool, config.batch, replace=False))  # unlabelled: the whole set
                    tau = tau0 + (1.0 - tau0) * (int(lo) + i) / config.steps
                    return patches[rows], mx.array(m.context), mx.array(m.targets), mx.array(tau, dtype=mx.float32)
                loss_fn, after = (lambda mdl, *b: ijepa_loss(mdl, *b, pixels=pixels)), update_target
            log = fit(model, loss_fn, batch, optimizer, int(hi - lo), log_every=10, progress=progress,
                      after_update=after, hint=f"Lower lr (now {config.lr}).")
            result.loss_steps += [int(lo) + s for s in log.step]
            result.loss += log.parts["loss"]
            if chunks > 1:
                for k, v in measure().items():
                    result.curve.setdefault(k, []).append(v)
        result.train_seconds = time.perf_counter() - t0
    result.metrics = measure() if not result.curve else {k: v[-1] for k, v in result.curve.items()}
    result.metrics["context"] = context_fraction(arm, config)
    result.seconds = time.perf_counter() - start
    return result


def mask_statistics(seed: int, draws: int = 8) -> dict[str, float]:
    """Realised context ratio and top/bottom-row context coverage of both multi-block variants.

    On the paper's 14×14 grid at batch 128 (min_keep 10) and on our 8×8 grid at our batch (min_keep 3),
    each from the start of the stream ``(seed, "mask_statistics")``. A check of the released code:
    no trained arm uses these samplers (they use :func:`fixed_multiblock_masks`).
    """
    out = {}
    for label, grid, batch, keep in (("14", (14, 14), 128, 10), ("8", (8, 8), IJEPAConfig.batch, 3)):
        for variant in ("released", "corrected"):
            ratio, cover = context_statistics(streams.rng(seed, "mask_statistics"), grid, batch, keep, variant, draws)
            ratio_name, top_name, bottom_name = MASK_METRICS[(label, variant)]
            out[ratio_name] = ratio
            out[top_name] = float(cover[0])
            out[bottom_name] = float(cover[-1])
    return out


@dataclass
class IJEPARun(ChapterResult):
    """Chapter 2 at one profile: per-seed metrics, the record, and every arm's per-seed result."""

    results: dict[str, list[ArmResult]] = field(default_factory=dict)


def _plan(config: IJEPAConfig, seeds: list[int], progress: bool) -> Plan:
    # the slowest arms first, so the two workers finish together
    tasks = [(config, a, s, progress) for a in config.arms for s in arm_seeds(a, seeds, config)]
    order = {"none": 2, "supervised": 1}
    return Plan(run_arm, sorted(tasks, key=lambda t: order.get(ARMS[t[1]].masking, 0)))


def _measure(config: IJEPAConfig, seeds: list[int], plan: Plan, flat: list[ArmResult]) -> IJEPARun:
    results = {a: [r for s in arm_seeds(a, seeds, config) for r in flat if r.arm == a and r.seed == s]
               for a in config.arms}
    metrics: dict[str, list[float]] = {}
    for a, rs in results.items():
        for key in rs[0].metrics:
            metrics[ARM_METRICS[a][key]] = [r.metrics[key] for r in rs]

    def per_seed(arm: str, metric: str = "acc", n: int | None = None) -> np.ndarray:
        return np.asarray(metrics[ARM_METRICS[arm][metric]][:n], dtype=np.float64)

    n_abl = min(config.ablation_seeds, len(seeds))
    derived = {}
    for (base, ceiling, trained), (gain_name, headroom_name, fraction_name) in HEADROOM_METRICS.items():
        if all(a in results for a in (base, ceiling, trained)):
            n = len(results[trained])
            gain = per_seed(trained, n=n) - per_seed(base, n=n)
            headroom = per_seed(ceiling, n=n) - per_seed(base, n=n)
            derived[gain_name] = gain
            derived[headroom_name] = headroom
            derived[fraction_name] = gain / np.where(headroom != 0, headroom, np.nan)
    if all(a in results for a in ("multiblock", "untrained")):  # the ablations' seeds
        derived["acc_multiblock_abl"] = per_seed("multiblock", "acc", n_abl)
        derived["context_multiblock_abl"] = per_seed("multiblock", "context", n_abl)
        derived["acc_untrained_abl"] = per_seed("untrained", "acc", n_abl)
        derived["gain_multiblock_abl"] = per_seed("multiblock", n=n_abl) - per_seed("untrained", n=n_abl)
    metrics.update({k: [float(x) for x in v] for k, v in derived.items()})
    stats = [mask_statistics(s) for s in seeds]
    metrics.update({k: [st[k] for st in stats] for k in stats[0]})
    trained = [r for r in flat if r.train_seconds > 0]
    plan.timing_s.update(
        train_step=sum(r.train_seconds for r in trained) / max(config.steps * len(trained), 1),
        arm_runs_total=sum(r.seconds for r in flat))
    return IJEPARun(config, metrics, results=results)


CHAPTER = Chapter("ijepa", PROFILES, _plan, _measure)


def run(profile: str = "full", seeds=None, progress: bool | str | None = None, workers: int | None = None,
        executor=None, **overrides) -> IJEPARun:
    """Run Chapter 2 at ``profile`` over ``seeds`` (default: the profile's published seeds);
    ``overrides`` replace config fields (``arms=`` runs a subset; claims on arms not run are skipped)."""
    return run_chapter(CHAPTER, profile, seeds, progress, workers, executor, **overrides)


def step_breakdown(config: IJEPAConfig, repeats: int = 10, seed: int = 0) -> dict[str, float]:
    """Milliseconds per training step spent in each part (multi-block arm), timed one part at a time.

    Parts: sampling the masks (NumPy); the target encoder on the full grid (forward only); context
    encoder + predictor forward and backward; the optimizer update plus the EMA step; and the whole
    compiled step as training runs it.
    """
    from jepabook.core.training import make_step

    arm, rng = ARMS["multiblock"], streams.rng(seed, "masks")
    k = _context_size(arm, config)
    model = IJEPA(config, False, streams.key(seed, "init"))
    optimizer = optim.AdamW(learning_rate=config.lr, weight_decay=config.weight_decay)
    patches = mx.random.normal((config.batch, config.grid[0] * config.grid[1], config.patch**2),
                               key=streams.key(seed, "patches"))
    m = sample_masks(arm, rng, config.batch, config, k)
    ctx, tgt, tau = mx.array(m.context), mx.array(m.targets), mx.array(0.99)
    grad_fn = nn.value_and_grad(model, lambda mdl: ijepa_loss(mdl, patches, ctx, tgt, tau, pixels=False)[0])
    _, grads = grad_fn(model)

    def timed(fn) -> float:
        mx.eval(fn())
        start = time.perf_counter()
        for _ in range(repeats):
            mx.eval(fn())
        return 1000 * (time.perf_counter() - start) / repeats

    def update():
        optimizer.update(model, grads)
        update_target(model, tau)
        return model.parameters()

    parts = {"masks": timed(lambda: mx.array(sample_masks(arm, rng, config.batch, config, k).context)),
             "target encoder (forward)": timed(lambda: model.target(patches)),
             "loss + gradients (context encoder, predictor)": timed(lambda: grad_fn(model)) - timed(
                 lambda: model.target(patches)),
             "optimizer + EMA": timed(update)}
    step, state = make_step(model, lambda mdl, *b: ijepa_loss(mdl, *b, pixels=False), optimizer,
                            after_update=update_target)
    parts["compiled step (all but masks)"] = timed(lambda: (step(patches, ctx, tgt, tau), state)[1])
    return parts
