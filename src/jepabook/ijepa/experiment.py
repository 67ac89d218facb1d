"""Chapter 2 experiments: I-JEPA on a tiny ViT and its ablations, with a linear probe as the yardstick.

Explained in Chapter 2 (I-JEPA). One *arm* is one training recipe (a masking strategy and its
parameters, representation or pixel targets, a level of unpredictable texture, or labels); every arm
trains the same tiny ViT for the same number of steps on the same batches, at every seed, and is
scored by a logistic-regression probe on the mean-pooled output of *both* its encoders: the EMA
target encoder (what the paper probes) and the context encoder, each with its effective rank.
``untrained`` probes the freshly initialised encoder (the floor); ``supervised`` trains the same ViT
with labels on its own labelled set of the same world, as many images as the JEPA arms see and none
of the probe's held-out ones (the ceiling).

- Images: one large labelled shape over a smooth random field (detail a patch's neighbours predict,
  so random masking can be solved by interpolation) and a per-cell texture (detail nothing predicts)
  (:func:`jepabook.ijepa.images.make_shapes`).
- Masks: the corrected multi-block sampler with fixed token counts (:func:`jepabook.blocks.masks.
  fixed_multiblock_masks`); every arm reports its realised context and target fractions.
- Targets: the whole image goes through the EMA target encoder; its output is LayerNorm-ed (no
  learned scale) and the target tokens are selected *after* the encoder, as in the paper.
- Loss: smooth-L1 with β = 1, as in the official code (the paper's text says L2).
- EMA momentum: linear from τ₀ to 1.0, with τ₀ set by the schedule's total movement Σ(1 − τ) =
  ``ema_sum`` over the run (τ₀ = 1 − 2·ema_sum/steps).
- Pixel targets: the same masks, predictor and budget, regressing per-patch-normalised pixels
  (MAE's normalisation); an EMA copy of its encoder is kept (unused by the loss) so that both arms are
  probed like for like.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from jepabook.blocks.ema import ema_update
from jepabook.blocks.masks import (Masks, block_masks, context_count, context_statistics, fixed_multiblock_masks,
                                   random_masks, rasterized_masks)
from jepabook.blocks.probes import effective_rank, linear_accuracy, train_test_split
from jepabook.blocks.vit import ViT, gather_tokens, patchify
from jepabook.core import streams
from jepabook.core.config import ShownAsTable
from jepabook.core.experiment import Chapter, ChapterResult, Plan, run_chapter
from jepabook.core.training import TrainLog, fit, warmup_then_cosine
from jepabook.ijepa.images import make_shapes
from jepabook.ijepa.model import IJEPA, Supervised

__all__ = ["ARM_METRICS", "ARMS", "Arm", "ArmResult", "CHAPTER", "CHAPTER_ARMS", "CURVE_ARMS", "DOSE_METRICS", "HEADROOM_METRICS",
           "IJEPAConfig", "IJEPARun", "LabelledBatches", "MASK_METRICS", "MaskedBatches", "PROFILES", "TEXTURE_LEVELS",
           "World", "arm_texture", "build_model", "context_fraction", "effective_rank", "ema_start", "ijepa_loss",
           "load_world", "mask_statistics", "probe_se", "run", "run_arm", "sample_masks", "step_breakdown",
           "supervised_loss", "target_fraction", "train_arm", "update_target"]


@dataclass(frozen=True)
class Arm:
    """One training recipe.

    ``masking``: multiblock | random | block | rasterized | none (untrained) | supervised (labels).
    ``texture``: the per-cell texture's amplitude of this arm's world (``None``: the config's).
    ``label``: the arm in words, for tables and figures.
    """

    masking: str = "multiblock"
    n_targets: int = 4
    target_scale: tuple[float, float] = (0.15, 0.2)
    context_scale: tuple[float, float] = (0.85, 1.0)
    targets: str = "representation"  # or "pixels"
    texture: float | None = None
    label: str = ""


ARMS = {
    "untrained": Arm(masking="none", label="untrained"),
    "supervised": Arm(masking="supervised", label="supervised ceiling"),
    "multiblock": Arm(label="multi-block"),
    "random": Arm(masking="random", label="random 60 %"),
    "block": Arm(masking="block", label="one block of 60 %"),
    "rasterized": Arm(masking="rasterized", label="rasterized quadrants"),
    "small_context": Arm(context_scale=(0.40, 1.0), label="small context block"),
    "one_target": Arm(n_targets=1, label="one target block"),
    "pixels": Arm(targets="pixels", label="pixel targets"),
    "untrained_no_texture": Arm(masking="none", texture=0.0, label="untrained, no texture"),
    "multiblock_no_texture": Arm(texture=0.0, label="representations, no texture"),
    "pixels_no_texture": Arm(targets="pixels", texture=0.0, label="pixels, no texture"),
    "untrained_heavy_texture": Arm(masking="none", texture=0.8, label="untrained, heavy texture"),
    "multiblock_heavy_texture": Arm(texture=0.8, label="representations, heavy texture"),
    "pixels_heavy_texture": Arm(targets="pixels", texture=0.8, label="pixels, heavy texture"),
}
#: the arms a run trains by default: the budget (about 30 CPU-seconds per JEPA arm run of 1,000 steps,
#: ``results/pilots/ijepa.md``) holds six JEPA arms, the ceiling and two untrained encoders on five seeds
#: in about 17 core-minutes; block, rasterized, one-target and heavy-texture arms stay in :data:`ARMS`
#: for a reader to run (``arms=``), and the chapter lists them as not tested
CHAPTER_ARMS = ("untrained", "supervised", "multiblock", "random", "small_context", "pixels",
                "untrained_no_texture", "multiblock_no_texture", "pixels_no_texture")
CURVE_ARMS = ("multiblock", "random", "pixels")  # arms whose rank/probe is also read during training
#: each arm's per-seed metric names, written out so that a search for a name finds its producer
#: (:func:`run_arm`): probe accuracy (%) and effective rank of the target encoder (``acc``, ``rank``)
#: and of the context encoder (``ctx_acc``, ``ctx_rank``; trained arms), the probe's binomial standard
#: error (``se``), the realised context and target-block fractions of the grid (``context``,
#: ``target``) and the final training loss (``loss``; trained arms)
ARM_METRICS = {
    "untrained": {"acc": "acc_untrained", "rank": "rank_untrained", "ctx_acc": "ctx_acc_untrained", "ctx_rank": "ctx_rank_untrained",
                 "se": "se_untrained", "context": "context_untrained", "target": "target_untrained", "loss": "loss_untrained"},
    "supervised": {"acc": "acc_supervised", "rank": "rank_supervised", "ctx_acc": "ctx_acc_supervised", "ctx_rank": "ctx_rank_supervised",
                  "se": "se_supervised", "context": "context_supervised", "target": "target_supervised", "loss": "loss_supervised"},
    "multiblock": {"acc": "acc_multiblock", "rank": "rank_multiblock", "ctx_acc": "ctx_acc_multiblock", "ctx_rank": "ctx_rank_multiblock",
                  "se": "se_multiblock", "context": "context_multiblock", "target": "target_multiblock", "loss": "loss_multiblock"},
    "random": {"acc": "acc_random", "rank": "rank_random", "ctx_acc": "ctx_acc_random", "ctx_rank": "ctx_rank_random",
              "se": "se_random", "context": "context_random", "target": "target_random", "loss": "loss_random"},
    "block": {"acc": "acc_block", "rank": "rank_block", "ctx_acc": "ctx_acc_block", "ctx_rank": "ctx_rank_block",
             "se": "se_block", "context": "context_block", "target": "target_block", "loss": "loss_block"},
    "rasterized": {"acc": "acc_rasterized", "rank": "rank_rasterized", "ctx_acc": "ctx_acc_rasterized", "ctx_rank": "ctx_rank_rasterized",
                  "se": "se_rasterized", "context": "context_rasterized", "target": "target_rasterized", "loss": "loss_rasterized"},
    "small_context": {"acc": "acc_small_context", "rank": "rank_small_context", "ctx_acc": "ctx_acc_small_context", "ctx_rank": "ctx_rank_small_context",
                     "se": "se_small_context", "context": "context_small_context", "target": "target_small_context", "loss": "loss_small_context"},
    "one_target": {"acc": "acc_one_target", "rank": "rank_one_target", "ctx_acc": "ctx_acc_one_target", "ctx_rank": "ctx_rank_one_target",
                  "se": "se_one_target", "context": "context_one_target", "target": "target_one_target", "loss": "loss_one_target"},
    "pixels": {"acc": "acc_pixels", "rank": "rank_pixels", "ctx_acc": "ctx_acc_pixels", "ctx_rank": "ctx_rank_pixels",
              "se": "se_pixels", "context": "context_pixels", "target": "target_pixels", "loss": "loss_pixels"},
    "untrained_no_texture": {"acc": "acc_untrained_no_texture", "rank": "rank_untrained_no_texture", "ctx_acc": "ctx_acc_untrained_no_texture", "ctx_rank": "ctx_rank_untrained_no_texture",
                            "se": "se_untrained_no_texture", "context": "context_untrained_no_texture", "target": "target_untrained_no_texture", "loss": "loss_untrained_no_texture"},
    "multiblock_no_texture": {"acc": "acc_multiblock_no_texture", "rank": "rank_multiblock_no_texture", "ctx_acc": "ctx_acc_multiblock_no_texture", "ctx_rank": "ctx_rank_multiblock_no_texture",
                             "se": "se_multiblock_no_texture", "context": "context_multiblock_no_texture", "target": "target_multiblock_no_texture", "loss": "loss_multiblock_no_texture"},
    "pixels_no_texture": {"acc": "acc_pixels_no_texture", "rank": "rank_pixels_no_texture", "ctx_acc": "ctx_acc_pixels_no_texture", "ctx_rank": "ctx_rank_pixels_no_texture",
                         "se": "se_pixels_no_texture", "context": "context_pixels_no_texture", "target": "target_pixels_no_texture", "loss": "loss_pixels_no_texture"},
    "untrained_heavy_texture": {"acc": "acc_untrained_heavy_texture", "rank": "rank_untrained_heavy_texture", "ctx_acc": "ctx_acc_untrained_heavy_texture", "ctx_rank": "ctx_rank_untrained_heavy_texture",
                               "se": "se_untrained_heavy_texture", "context": "context_untrained_heavy_texture", "target": "target_untrained_heavy_texture", "loss": "loss_untrained_heavy_texture"},
    "multiblock_heavy_texture": {"acc": "acc_multiblock_heavy_texture", "rank": "rank_multiblock_heavy_texture", "ctx_acc": "ctx_acc_multiblock_heavy_texture", "ctx_rank": "ctx_rank_multiblock_heavy_texture",
                                "se": "se_multiblock_heavy_texture", "context": "context_multiblock_heavy_texture", "target": "target_multiblock_heavy_texture", "loss": "loss_multiblock_heavy_texture"},
    "pixels_heavy_texture": {"acc": "acc_pixels_heavy_texture", "rank": "rank_pixels_heavy_texture", "ctx_acc": "ctx_acc_pixels_heavy_texture", "ctx_rank": "ctx_rank_pixels_heavy_texture",
                            "se": "se_pixels_heavy_texture", "context": "context_pixels_heavy_texture", "target": "target_pixels_heavy_texture", "loss": "loss_pixels_heavy_texture"},
}
#: the gain over untrained, the headroom up to the supervised ceiling and their ratio:
#: (untrained arm, ceiling arm, trained arm) → (gain, headroom, fraction) names
HEADROOM_METRICS = {
    ("untrained", "supervised", "multiblock"): ("gain_multiblock", "headroom_shapes", "headroom_fraction_shapes"),
}
#: the pixel claim's dose-response: per level of unpredictable texture, its (untrained, representation,
#: pixel) arms, and the names of the representation arm's and the pixel arm's gains over untrained and
#: of the representation arm's advantage over the pixel arm
TEXTURE_LEVELS = {
    "no_texture": ("untrained_no_texture", "multiblock_no_texture", "pixels_no_texture"),
    "light_texture": ("untrained", "multiblock", "pixels"),
    "heavy_texture": ("untrained_heavy_texture", "multiblock_heavy_texture", "pixels_heavy_texture"),
}
DOSE_METRICS = {
    "no_texture": ("representation_gain_no_texture", "pixel_gain_no_texture", "advantage_no_texture"),
    "light_texture": ("representation_gain_light_texture", "pixel_gain_light_texture", "advantage_light_texture"),
    "heavy_texture": ("representation_gain_heavy_texture", "pixel_gain_heavy_texture", "advantage_heavy_texture"),
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
    """Everything Chapter 2's runs depend on (sizes from the pilots, ``results/pilots/ijepa.md``)."""

    image_size: int = 32
    patch: int = 4  # → an 8×8 token grid
    n_images: int = 3200  # the JEPA arms' images; the ceiling has as many labelled images of its own
    texture: float = 0.4  # per-cell texture (unpredictable detail); the objects' contrast is 0.6–1.2
    field: float = 0.75  # smooth random field (locally predictable detail), in standard deviations
    field_sigma: float = 4.0  # its correlation length in pixels (one patch)
    width: int = 32
    depth: int = 2
    heads: int = 1
    mlp_ratio: float = 2.0
    pred_width: int = 16
    pred_depth: int = 2
    batch: int = 32
    steps: int = 1000
    warmup: int = 100
    lr: float = 5e-4
    weight_decay: float = 0.04
    ema_sum: float = 3.0  # Σ(1 − τ) over the run
    context_quantile: float = 0.25  # the fixed context count: this quantile of the sampler's sizes
    min_keep: int = 3  # the released 10 tokens of 196, scaled to 64 (released-sampler check only)
    chunks: int = 2  # training is read back (rank, probe) this many times for the curve arms
    test_fraction: float = 0.8  # 2,560 of 3,200 images held out, so a probe's SE is ≤ 1 point
    arms: tuple[str, ...] = CHAPTER_ARMS

    def __post_init__(self):
        for name in ("image_size", "patch", "n_images", "width", "depth", "heads", "pred_width", "pred_depth",
                     "batch", "steps", "min_keep", "chunks"):
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
    # ci: 512 images, three quarters held out, 8 steps, every arm
    "ci": IJEPAConfig(n_images=512, test_fraction=0.75, steps=8, warmup=2, ema_sum=1.0, chunks=1),
}


def ema_start(config: IJEPAConfig) -> float:
    """τ₀ of the linear schedule τ₀ → 1 whose total movement Σ(1 − τ) over ``steps`` is ``ema_sum``."""
    return 1.0 - 2.0 * config.ema_sum / config.steps


def arm_texture(arm: Arm, config: IJEPAConfig) -> float:
    """The per-cell texture amplitude of ``arm``'s world."""
    return config.texture if arm.texture is None else arm.texture


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


def context_fraction(arm: Arm, config: IJEPAConfig) -> float:
    """The realised context of ``arm``: the fraction of the grid's tokens the context encoder sees."""
    return _context_size(arm, config) / (config.grid[0] * config.grid[1])


def target_fraction(arm: Arm, config: IJEPAConfig) -> float:
    """The realised size of one target block of ``arm`` as a fraction of the grid (0 for untrained and
    supervised), read from a drawn mask, so it is what training used."""
    if arm.masking in ("none", "supervised"):
        return 0.0
    m = sample_masks(arm, np.random.default_rng(0), 1, config)
    return m.targets.shape[-1] / (config.grid[0] * config.grid[1])


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


def supervised_loss(model: Supervised, patches, labels):
    """Cross-entropy of the linear head on the mean-pooled encoder output."""
    return nn.losses.cross_entropy(model.head(model.encoder.pooled(patches)), labels, reduction="mean"), {}


@dataclass
class World:
    """One arm's images at one seed: patches ``(n, tokens, patch²)``, labels and the probe's split."""

    patches: mx.array
    labels: np.ndarray
    train: np.ndarray
    test: np.ndarray


def load_world(config: IJEPAConfig, texture: float, seed: int, stream: str = "shapes") -> World:
    """The shapes world at ``texture`` (the field and the rest from ``config``), patchified, with the probe's
    labelled share (``1 − test_fraction``) and held-out images."""
    images, labels = make_shapes(config.n_images, seed, config.image_size, texture=texture, patch=config.patch,
                                 field=config.field, field_sigma=config.field_sigma, stream=stream)
    train, test = train_test_split(len(labels), config.test_fraction, seed)
    return World(patchify(mx.array(images), (config.patch, config.patch)), labels, train, test)


def build_model(config: IJEPAConfig, arm: Arm, n_classes: int, seed: int) -> IJEPA | Supervised:
    """The arm's network at the config's sizes, initialised from ``(seed, "init")`` (one encoder init for all arms)."""
    sizes = dict(patch_dim=config.patch**2, grid=config.grid, width=config.width, depth=config.depth,
                 heads=config.heads, mlp_ratio=config.mlp_ratio)
    if arm.masking == "supervised":
        return Supervised(**sizes, n_classes=n_classes, key=streams.key(seed, "init"))
    return IJEPA(**sizes, pred_width=config.pred_width, pred_depth=config.pred_depth,
                 pixels=arm.targets == "pixels", key=streams.key(seed, "init"))


@dataclass
class MaskedBatches:
    """Step ``i`` of an I-JEPA arm: a batch of unlabelled images (the whole set), its masks and the EMA
    momentum. Masks and batches come from separate streams, so every arm of a seed sees the same
    images in the same order however many draws its mask sampler takes."""

    arm: Arm
    config: IJEPAConfig
    patches: mx.array
    seed: int
    offset: int = 0  # steps already taken (training runs in chunks)

    def __post_init__(self):
        self.mask_rng, self.batch_rng = streams.rng(self.seed, "masks"), streams.rng(self.seed, "batches")
        self.k_context, self.tau0 = _context_size(self.arm, self.config), ema_start(self.config)

    def __call__(self, i: int):
        c = self.config
        m = sample_masks(self.arm, self.mask_rng, c.batch, c, self.k_context)
        rows = mx.array(self.batch_rng.choice(len(self.patches), c.batch, replace=False))
        tau = self.tau0 + (1.0 - self.tau0) * (self.offset + i) / c.steps
        return self.patches[rows], mx.array(m.context), mx.array(m.targets), mx.array(tau, dtype=mx.float32)


@dataclass
class LabelledBatches:
    """Step ``i`` of the supervised ceiling: a batch of its own labelled images and their labels."""

    config: IJEPAConfig
    patches: mx.array
    labels: mx.array
    seed: int

    def __post_init__(self):
        self.batch_rng = streams.rng(self.seed, "batches")

    def __call__(self, i: int):
        rows = mx.array(np.sort(self.batch_rng.choice(len(self.patches), self.config.batch, replace=False)))
        return self.patches[rows], self.labels[rows]


def train_arm(config: IJEPAConfig, name: str, seed: int, chunks: int = 1, read=None) -> tuple[nn.Module, TrainLog, list]:
    """Train arm ``name`` at ``seed``: the recipe (loss, AdamW with warm-up and cosine, EMA, ``fit``).

    The JEPA arms train on the unlabelled images of their world (:func:`load_world`); the supervised
    ceiling on its own labelled set of the same world (stream ``"shapes_labelled"``), never on the
    probe's held-out images. Training runs in ``chunks`` equal parts, and ``read(model)`` (if given)
    is called after each; the reads come back as the third value. Returns ``(model, log, reads)``.
    """
    arm = ARMS[name]
    supervised = arm.masking == "supervised"
    world = load_world(config, arm_texture(arm, config), seed, "shapes_labelled" if supervised else "shapes")
    model = build_model(config, arm, int(world.labels.max()) + 1, seed)
    optimizer = optim.AdamW(learning_rate=warmup_then_cosine(config.lr, config.steps, config.warmup),
                            weight_decay=config.weight_decay)
    if supervised:
        batches, loss_fn, after = LabelledBatches(config, world.patches, mx.array(world.labels), seed), supervised_loss, None
    else:
        batches = MaskedBatches(arm, config, world.patches, seed)
        loss_fn, after = functools.partial(ijepa_loss, pixels=arm.targets == "pixels"), update_target
    log, reads = TrainLog(), []
    bounds = np.linspace(0, config.steps, chunks + 1).astype(int)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if not supervised:
            batches.offset = int(lo)
        part = fit(model, loss_fn, batches, optimizer, int(hi - lo), log_every=10, after_update=after,
                   hint=f"Lower lr (now {config.lr}).")
        for s, v in zip(part.step, part.parts["loss"]):
            log.record(int(lo) + s, {"loss": v})
        if read is not None:
            reads.append(read(model))
    return model, log, reads


def _features(encoder: ViT, patches: mx.array, chunk: int = 256) -> np.ndarray:
    return np.concatenate([np.array(encoder.pooled(patches[i:i + chunk])) for i in range(0, len(patches), chunk)])


def probe_se(accuracy_pct: float, n_test: int) -> float:
    """Binomial standard error (points) of one probe's held-out accuracy on ``n_test`` images."""
    p = accuracy_pct / 100
    return 100 * math.sqrt(max(p * (1 - p), 0.0) / n_test)


def _probe(model: nn.Module, world: World, trained_jepa: bool) -> dict[str, float]:
    """Probe accuracy (%) and effective rank of the target encoder (or the only encoder), and of the
    context encoder for a trained JEPA arm; the probe's standard error."""
    encoders = {"": model.target, "ctx_": model.encoder} if trained_jepa else {"": model.encoder}
    out = {}
    for prefix, encoder in encoders.items():
        feats = _features(encoder, world.patches)
        out[f"{prefix}acc"] = 100 * linear_accuracy(feats, world.labels, world.train, world.test)
        out[f"{prefix}rank"] = effective_rank(feats)
    out["se"] = probe_se(out["acc"], len(world.test))
    return out


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


def run_arm(config: IJEPAConfig, name: str, seed: int, progress: bool = False) -> ArmResult:
    """Train arm ``name`` at ``seed`` (:func:`train_arm`; nothing for untrained) and probe its encoders
    on the probe's world (the arm's texture, the chapter's images and split)."""
    start = time.perf_counter()
    arm = ARMS[name]
    world = load_world(config, arm_texture(arm, config), seed)
    result = ArmResult(name, seed, {})
    if arm.masking == "none":
        result.metrics = _probe(build_model(config, arm, 0, seed), world, trained_jepa=False)
    else:
        jepa = arm.masking != "supervised"
        chunks = config.chunks if name in CURVE_ARMS else 1
        t0 = time.perf_counter()
        _, log, reads = train_arm(config, name, seed, chunks, functools.partial(_probe, world=world, trained_jepa=jepa))
        result.train_seconds = time.perf_counter() - t0
        result.loss_steps, result.loss = log.step, log.parts["loss"]
        result.metrics = dict(reads[-1])
        result.metrics["loss"] = float(np.mean(log.parts["loss"][-5:]))  # the last 50 steps
        if chunks > 1:
            result.curve = {k: [r[k] for r in reads] for k in reads[0]}
    result.metrics["context"] = context_fraction(arm, config)
    result.metrics["target"] = target_fraction(arm, config)
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
    tasks = [(config, a, s, progress) for a in config.arms for s in seeds]
    order = {"none": 2, "supervised": 1}
    return Plan(run_arm, sorted(tasks, key=lambda t: order.get(ARMS[t[1]].masking, 0)))


def _measure(config: IJEPAConfig, seeds: list[int], plan: Plan, flat: list[ArmResult]) -> IJEPARun:
    results = {a: [r for s in seeds for r in flat if r.arm == a and r.seed == s] for a in config.arms}
    metrics: dict[str, list[float]] = {}
    for a, rs in results.items():
        for key in rs[0].metrics:
            metrics[ARM_METRICS[a][key]] = [r.metrics[key] for r in rs]

    def acc(arm: str) -> np.ndarray:
        return np.asarray(metrics[ARM_METRICS[arm]["acc"]], dtype=np.float64)

    derived = {}
    for (base, ceiling, trained), (gain_name, headroom_name, fraction_name) in HEADROOM_METRICS.items():
        if all(a in results for a in (base, ceiling, trained)):
            gain, headroom = acc(trained) - acc(base), acc(ceiling) - acc(base)
            derived[gain_name] = gain
            derived[headroom_name] = headroom
            derived[fraction_name] = gain / np.where(headroom != 0, headroom, np.nan)
    for level, (base, representation, pixel) in TEXTURE_LEVELS.items():
        if all(a in results for a in (base, representation, pixel)):
            rep_name, pix_name, adv_name = DOSE_METRICS[level]
            derived[rep_name] = acc(representation) - acc(base)
            derived[pix_name] = acc(pixel) - acc(base)
            derived[adv_name] = acc(representation) - acc(pixel)
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
    model = build_model(config, arm, 0, seed)
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
    step, state = make_step(model, functools.partial(ijepa_loss, pixels=False), optimizer, after_update=update_target)
    parts["compiled step (all but masks)"] = timed(lambda: (step(patches, ctx, tgt, tau), state)[1])
    return parts
