"""Chapter 2 experiments: I-JEPA on a tiny ViT and its ablations, with a linear probe as the yardstick.

Explained in Chapter 2 (I-JEPA). One *arm* is one training recipe (a masking strategy and its
parameters, representation or pixel targets, a data set); every arm trains the same tiny ViT for the
same number of steps on the same batches, and is scored by a logistic-regression probe on the
mean-pooled encoder output. The ``untrained`` arms probe the freshly initialised encoder.

- Targets: the whole image goes through the EMA target encoder; its output is LayerNorm-ed (no
  learned scale) and the target tokens are selected *after* the encoder, as in the paper.
- Loss: smooth-L1 with β = 1, as in the official code (the paper's text says L2). On LayerNorm-ed
  targets most errors are below 1, where smooth-L1 is ½·L2; it only caps the pull of outliers.
- EMA momentum: linear from ``ema_start`` (0.99) to 1.0. The paper's 0.996 has a time constant of
  250 steps, a sliver of its ~10⁵-step runs but longer than our whole run, so the target would stay
  at its initialisation; 0.99 (100 steps) lets it follow the online encoder within the run, and
  ending at 1.0 keeps the paper's shape.
- Pixel targets: the same masks, predictor and budget, regressing per-patch-normalised pixels
  (MAE's normalisation) from the context encoder; that encoder is probed (there is no EMA copy).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from jepabook.core import streams
from jepabook.core.experiment import Chapter, ChapterResult, Plan, run_chapter
from jepabook.blocks.ema import ema_update, linear_momentum
from jepabook.ijepa.images import load_digits, make_shapes
from jepabook.blocks.masks import Masks, block_masks, context_statistics, multiblock_masks, random_masks, rasterized_masks
from jepabook.blocks.probes import linear_accuracy, train_test_split
from jepabook.core.training import constant_then_cosine, fit
from jepabook.blocks.vit import Predictor, ViT, gather_tokens, patchify

__all__ = ["ARMS", "ARM_METRICS", "Arm", "ArmResult", "CHAPTER", "IJEPA", "ijepa_loss", "load_data", "CURVE_ARMS", "IJEPAConfig", "IJEPARun", "PROFILES", "effective_rank", "mask_statistics",
           "run", "run_arm", "sample_masks", "step_breakdown", "update_target"]


@dataclass(frozen=True)
class Arm:
    """One training recipe. ``masking``: multiblock | random | block | rasterized | none (untrained)."""

    masking: str = "multiblock"
    variant: str = "released"
    n_targets: int = 4
    target_scale: tuple[float, float] = (0.15, 0.2)
    context_scale: tuple[float, float] = (0.85, 1.0)
    targets: str = "representation"  # or "pixels"
    dataset: str = "shapes"  # or "digits"


ARMS = {
    "untrained": Arm(masking="none"),
    "multiblock": Arm(),
    "corrected": Arm(variant="corrected"),
    "random": Arm(masking="random"),
    "block": Arm(masking="block"),
    "rasterized": Arm(masking="rasterized"),
    "tscale_0.075": Arm(target_scale=(0.075, 0.2)),
    "tscale_0.2": Arm(target_scale=(0.2, 0.3)),
    "cscale_0.40": Arm(context_scale=(0.40, 1.0)),
    "cscale_0.65": Arm(context_scale=(0.65, 1.0)),
    "targets_1": Arm(n_targets=1),
    "targets_2": Arm(n_targets=2),
    "targets_3": Arm(n_targets=3),
    "pixels": Arm(targets="pixels"),
    "digits_untrained": Arm(masking="none", dataset="digits"),
    "digits_multiblock": Arm(dataset="digits"),
    "digits_pixels": Arm(targets="pixels", dataset="digits"),
}
CURVE_ARMS = ("multiblock", "random", "pixels")  # arms whose rank/probe is also read during training
#: each arm's metric names, written out so that a search for a name (``acc_multiblock``) finds its producer,
#: the chapter's measure step, from :func:`run_arm`'s probe accuracy (%), effective rank and mean
#: per-dimension spread of the probed features
ARM_METRICS = {
    "untrained": {"acc": "acc_untrained", "rank": "rank_untrained", "spread": "spread_untrained"},
    "multiblock": {"acc": "acc_multiblock", "rank": "rank_multiblock", "spread": "spread_multiblock"},
    "corrected": {"acc": "acc_corrected", "rank": "rank_corrected", "spread": "spread_corrected"},
    "random": {"acc": "acc_random", "rank": "rank_random", "spread": "spread_random"},
    "block": {"acc": "acc_block", "rank": "rank_block", "spread": "spread_block"},
    "rasterized": {"acc": "acc_rasterized", "rank": "rank_rasterized", "spread": "spread_rasterized"},
    "tscale_0.075": {"acc": "acc_tscale_0.075", "rank": "rank_tscale_0.075", "spread": "spread_tscale_0.075"},
    "tscale_0.2": {"acc": "acc_tscale_0.2", "rank": "rank_tscale_0.2", "spread": "spread_tscale_0.2"},
    "cscale_0.40": {"acc": "acc_cscale_0.40", "rank": "rank_cscale_0.40", "spread": "spread_cscale_0.40"},
    "cscale_0.65": {"acc": "acc_cscale_0.65", "rank": "rank_cscale_0.65", "spread": "spread_cscale_0.65"},
    "targets_1": {"acc": "acc_targets_1", "rank": "rank_targets_1", "spread": "spread_targets_1"},
    "targets_2": {"acc": "acc_targets_2", "rank": "rank_targets_2", "spread": "spread_targets_2"},
    "targets_3": {"acc": "acc_targets_3", "rank": "rank_targets_3", "spread": "spread_targets_3"},
    "pixels": {"acc": "acc_pixels", "rank": "rank_pixels", "spread": "spread_pixels"},
    "digits_untrained": {"acc": "acc_digits_untrained", "rank": "rank_digits_untrained", "spread": "spread_digits_untrained"},
    "digits_multiblock": {"acc": "acc_digits_multiblock", "rank": "rank_digits_multiblock", "spread": "spread_digits_multiblock"},
    "digits_pixels": {"acc": "acc_digits_pixels", "rank": "rank_digits_pixels", "spread": "spread_digits_pixels"},
}


@dataclass(frozen=True)
class IJEPAConfig:
    """Everything Chapter 2's runs depend on (sizes chosen from the step-time budget; see the chapter)."""

    image_size: int = 32
    patch: int = 4  # → an 8×8 token grid
    n_images: int = 2048  # procedural set (the digits set has 1,797)
    grating: float = 0.6  # amplitude of the label-irrelevant texture
    width: int = 32
    depth: int = 2
    heads: int = 1
    mlp_ratio: float = 2.0
    pred_width: int = 16
    pred_depth: int = 1
    batch: int = 32
    steps: int = 200
    lr: float = 5e-4  # 2e-3 and 1e-3 collapsed the feature rank to ~2-3 within the run (seed 0)
    weight_decay: float = 0.04
    ema_start: float = 0.99
    min_keep: int = 3  # the released 10 tokens of 196, scaled to 64
    chunks: int = 4  # training is read back (rank, probe) this many times for the curve arms
    test_fraction: float = 0.25
    arms: tuple[str, ...] = tuple(a for a in ARMS if a != "corrected")  # budget: the corrected sampler is
    # analysed (mask statistics) but not trained by default; add it with arms=(..., "corrected")

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
        if not (0.0 <= self.ema_start <= 1.0):
            raise ValueError(f"ema_start must be in [0, 1]; got {self.ema_start!r}")
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown:
            raise ValueError(f"unknown arms {unknown}; allowed: {sorted(ARMS)}")

    @property
    def grid(self) -> tuple[int, int]:
        return (self.image_size // self.patch,) * 2


PROFILES = {
    "full": IJEPAConfig(),
    # ci: 256 images, three quarters held out (192), so one image changing sides moves a seed's probe
    # accuracy by 0.5 points rather than 2.1 (48 of 192 before); training still takes 4 steps of 32.
    "ci": IJEPAConfig(n_images=256, test_fraction=0.75, steps=4, chunks=1),
}


def sample_masks(arm: Arm, rng: np.random.Generator, batch: int, config: IJEPAConfig) -> Masks:
    """The arm's masks for one batch."""
    grid = config.grid
    if arm.masking == "multiblock":
        return multiblock_masks(rng, batch, grid, arm.n_targets, arm.target_scale, (0.75, 1.5), arm.context_scale,
                                config.min_keep, arm.variant)
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


def effective_rank(features: np.ndarray) -> float:
    """exp(entropy of the normalised singular values) of centred ``(n, d)`` features: 1 (collapse) … d."""
    s = np.linalg.svd(features - features.mean(0), compute_uv=False)
    p = s / max(s.sum(), 1e-12)
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def _features(encoder: ViT, patches: mx.array, chunk: int = 256) -> np.ndarray:
    return np.concatenate([np.array(encoder.pooled(patches[i:i + chunk])) for i in range(0, len(patches), chunk)])


@dataclass
class ArmResult:
    """One arm at one seed: final metrics, and (curve arms) rank / spread / probe read during training."""

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
        return make_shapes(config.n_images, seed, config.image_size, config.grating)
    if dataset == "digits":  # all 1,797 unless the profile asks for fewer
        x, y = load_digits(config.image_size)
        keep = np.sort(streams.rng(seed, "data", "digits").permutation(len(y))[:config.n_images])
        return x[keep], y[keep]
    raise ValueError(f"dataset must be 'shapes' or 'digits'; got {dataset!r}")


def run_arm(config: IJEPAConfig, name: str, seed: int, progress: bool = False) -> ArmResult:
    """Train arm ``name`` from ``seed`` (nothing for the untrained arms) and probe its encoder."""
    start = time.perf_counter()
    arm = ARMS[name]
    images, labels = load_data(arm.dataset, config, seed)
    patches = patchify(mx.array(images), (config.patch, config.patch))
    train, test = train_test_split(len(labels), config.test_fraction, seed)
    pixels = arm.targets == "pixels"
    model = IJEPA(config, pixels, streams.key(seed, "init"))
    probed = model.encoder if pixels else model.target

    def measure() -> dict[str, float]:
        feats = _features(probed, patches)
        return {"acc": 100 * linear_accuracy(feats, labels, train, test), "rank": effective_rank(feats),
                "spread": float(feats.std(0).mean())}

    result = ArmResult(name, seed, {})
    if arm.masking != "none":
        # masks and batches from separate streams, so every arm of a seed sees the same batches
        # however many draws its mask sampler takes
        mask_rng, batch_rng = streams.rng(seed, "masks"), streams.rng(seed, "batches")
        optimizer = optim.AdamW(learning_rate=constant_then_cosine(config.lr, config.steps, 0.5),
                                weight_decay=config.weight_decay)
        chunks = config.chunks if name in CURVE_ARMS else 1
        bounds = np.linspace(0, config.steps, chunks + 1).astype(int)
        n = len(labels)
        t0 = time.perf_counter()
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            def batch(i, lo=lo):
                m = sample_masks(arm, mask_rng, config.batch, config)
                rows = mx.array(batch_rng.choice(n, config.batch, replace=False))  # unlabelled: the whole set
                tau = float(linear_momentum(config.ema_start, 1.0, int(lo) + i, config.steps))
                return patches[rows], mx.array(m.context), mx.array(m.targets), tau

            log = fit(model, lambda mdl, *b: ijepa_loss(mdl, *b, pixels=pixels), batch, optimizer, int(hi - lo),
                      log_every=10, progress=progress, compile=False,
                      after_update=update_target,
                      hint=f"Lower lr (now {config.lr}).")
            result.loss_steps += [int(lo) + s for s in log.step]
            result.loss += log.parts["loss"]
            if chunks > 1:
                for k, v in measure().items():
                    result.curve.setdefault(k, []).append(v)
        result.train_seconds = time.perf_counter() - t0
    result.metrics = measure() if not result.curve else {k: v[-1] for k, v in result.curve.items()}
    result.seconds = time.perf_counter() - start
    return result


def mask_statistics(seed: int, draws: int = 8) -> dict[str, float]:
    """Realised context ratio and top/bottom-row context coverage of both multi-block variants.

    On the paper's 14×14 grid at batch 128 (min_keep 10) and on our 8×8 grid at our batch (min_keep 3),
    each from the start of the stream ``(seed, "mask_statistics")``.
    """
    out = {}
    for label, grid, batch, keep in (("14", (14, 14), 128, 10), ("8", (8, 8), IJEPAConfig.batch, 3)):
        for variant in ("released", "corrected"):
            ratio, cover = context_statistics(streams.rng(seed, "mask_statistics"), grid, batch, keep, variant, draws)
            out[f"ctx_ratio_{label}_{variant}"] = ratio
            out[f"top_row_{label}_{variant}"] = float(cover[0])
            out[f"bottom_row_{label}_{variant}"] = float(cover[-1])
    return out


@dataclass
class IJEPARun(ChapterResult):
    """Chapter 2 at one profile: per-seed metrics, the record, and every arm's per-seed result."""

    results: dict[str, list[ArmResult]] = field(default_factory=dict)


def _plan(config: IJEPAConfig, seeds: list[int], progress: bool) -> Plan:
    # the slowest arms first, so the two workers finish together
    return Plan(run_arm, [(config, a, s, progress) for a in sorted(config.arms, key=lambda a: ARMS[a].masking == "none")
                          for s in seeds])


def _measure(config: IJEPAConfig, seeds: list[int], plan: Plan, flat: list[ArmResult]) -> IJEPARun:
    results = {a: [r for s in seeds for r in flat if r.arm == a and r.seed == s] for a in config.arms}
    metrics = {name: [r.metrics[k] for r in results[a]] for a in config.arms for k, name in ARM_METRICS[a].items()}
    stats = [mask_statistics(s) for s in seeds]
    metrics.update({k: [st[k] for st in stats] for k in stats[0]})
    trained = [r for r in flat if r.train_seconds > 0]
    plan.timing_s.update(
        train_step=sum(r.train_seconds for r in trained) / max(config.steps * len(trained), 1),
        arm_runs_total=sum(r.seconds for r in flat))
    return IJEPARun(config, metrics, results=results)


CHAPTER = Chapter("ijepa", PROFILES, _plan, _measure)


def run(profile: str = "full", seeds=None, progress: bool = False, workers: int | None = None,
        executor=None, **overrides) -> IJEPARun:
    """Run Chapter 2 at ``profile`` over ``seeds`` (default: the profile's published seeds);
    ``overrides`` replace config fields (``arms=`` runs a subset; claims on arms not run are skipped)."""
    return run_chapter(CHAPTER, profile, seeds, progress, workers, executor, **overrides)


def step_breakdown(config: IJEPAConfig, repeats: int = 10, seed: int = 0) -> dict[str, float]:
    """Milliseconds per training step spent in each part (multi-block arm), timed one part at a time.

    Parts: sampling the masks (NumPy); the target encoder on the full grid (forward only); context
    encoder + predictor forward and backward; the optimizer update plus the EMA step.
    """
    arm, rng = ARMS["multiblock"], streams.rng(seed, "masks")
    model = IJEPA(config, False, streams.key(seed, "init"))
    optimizer = optim.AdamW(learning_rate=config.lr, weight_decay=config.weight_decay)
    patches = mx.random.normal((config.batch, config.grid[0] * config.grid[1], config.patch**2),
                               key=streams.key(seed, "patches"))
    m = sample_masks(arm, rng, config.batch, config)
    ctx, tgt = mx.array(m.context), mx.array(m.targets)
    grad_fn = nn.value_and_grad(model, lambda mdl: ijepa_loss(mdl, patches, ctx, tgt, 0.99, pixels=False)[0])
    _, grads = grad_fn(model)

    def timed(fn) -> float:
        mx.eval(fn())
        start = time.perf_counter()
        for _ in range(repeats):
            mx.eval(fn())
        return 1000 * (time.perf_counter() - start) / repeats

    def update():
        optimizer.update(model, grads)
        update_target(model, 0.99)
        return model.parameters()

    return {"masks": timed(lambda: mx.array(sample_masks(arm, rng, config.batch, config).context)),
            "target encoder (forward)": timed(lambda: model.target(patches)),
            "loss + gradients (context encoder, predictor)": timed(lambda: grad_fn(model)) - timed(
                lambda: model.target(patches)),
            "optimizer + EMA": timed(update)}
