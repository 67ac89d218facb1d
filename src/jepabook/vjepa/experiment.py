"""Chapter 3 experiments: V-JEPA on toy videos whose label is the direction of motion.

Explained in Chapter 3 (V-JEPA). One *arm* is one pre-training recipe: the targets (EMA features or
normalised pixels), the masks (multi-block tubes or random tubes), the loss power (L1 or L2) and the
clips (small or large object). Every trained arm of a seed trains the same tiny tubelet ViT for the
same steps on the same clips (:func:`train_arm`, the recipe), and is read by two probes on its EMA
target encoder, the one the paper probes:

- an average-pool linear probe (logistic regression on the mean token);
- an attentive probe (:mod:`jepabook.vjepa.attentive`) trained on the cached frozen tokens.

The ``untrained`` arms probe the freshly initialised encoder; ``supervised`` (every seed) trains the
same ViT with an attentive head from scratch on the labelled probe-training clips: the ceiling. Training logs the loss at every step, so a loss spike (a step above twice the running
median of the steps before it) can be counted per run.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from jepabook.blocks.masks import VJEPA_GENERATORS, multiblock3d_collate
from jepabook.blocks.probes import effective_rank, linear_accuracy, train_test_split
from jepabook.blocks.vit import ViT
from jepabook.core.config import ShownAsTable
from jepabook.core import streams
from jepabook.core.experiment import Chapter, ChapterResult, Plan, run_chapter
from jepabook.core.training import constant_then_cosine, fit
from jepabook.vjepa.attentive import ProbeConfig, attentive_accuracy, predict
from jepabook.vjepa.model import VJEPA, Classifier, classifier_loss, tubelets, update_target, vjepa_loss
from jepabook.vjepa.tubes import fixed_counts, random_tubes, tube_masks, union_ratio
from jepabook.vjepa.videos import WORLDS, make_clips

__all__ = ["ARM_METRICS", "MASK_METRICS", "ARMS", "Arm", "ArmResult", "CHAPTER", "PROFILES", "VJEPAConfig", "VJEPARun", "effective_rank",
           "ema_horizon", "loss_spikes", "mask_statistics", "position_share", "run", "run_arm", "spike_steps", "step_seconds", "train_arm", "where_accuracy"]


@dataclass(frozen=True)
class Arm:
    """One recipe. ``targets``: features | pixels | none (untrained) | labels (supervised);
    ``masking``: tubes | random; ``power``: 1 (L1) or 2 (L2); ``large``: the large-object clips;
    ``rate``: which learning rate of the config it trains at; ``read``: whether its encoder is probed."""

    targets: str = "features"
    masking: str = "tubes"
    power: float = 1.0
    large: bool = False
    rate: str = "lr"  # the config field that holds the arm's learning rate
    read: bool = True  # probe the trained encoder (the spike-rate arms only count spikes)


ARMS = {
    "untrained": Arm(targets="none"),
    "l1": Arm(),
    "pixels": Arm(targets="pixels"),
    "random": Arm(masking="random"),
    "l2": Arm(power=2.0, rate="l2_lr"),
    "large_untrained": Arm(targets="none", large=True),
    "large_l1": Arm(large=True),
    "supervised": Arm(targets="labels"),
    # L1 and L2 at the rate where the sweep saw a spike: loss curves only, for the spike comparison
    "l1_fast": Arm(rate="spike_lr", read=False),
    "l2_fast": Arm(power=2.0, rate="spike_lr", read=False),
}
#: each arm's per-seed metric names, written out so that a search for a name finds its producer
#: (:func:`_measure`): both probes and the feature rank of the target encoder (``pool``, ``attn``, ``rank``), the
#: share of its token features' variance that position explains (``pos_share``, :func:`position_share`), how
#: well one token tells object from background (``where``, :func:`where_accuracy`),
#: attentive − pool (``gain``), and, where the arm has them, its loss spikes and final loss and the
#: motionless clips' probes (``still_*``, L1 only). The context encoder is not read: no claim or check
#: needs it, and its token pass and probes cost ~4 % of a seed's CPU time (results/pilots/vjepa-cost.md)
ARM_METRICS = {
    "untrained": {"pool": "pool_untrained", "attn": "attn_untrained", "rank": "rank_untrained", "pos_share": "pos_share_untrained", "where": "where_untrained", "gain": "gain_untrained",
                  "spike": "spike_untrained", "spikes": "spikes_untrained", "worst_spike": "worst_spike_untrained", "final_loss": "final_loss_untrained",
                  "still_pool": "still_pool_untrained", "still_attn": "still_attn_untrained"},
    "l1": {"pool": "pool_l1", "attn": "attn_l1", "rank": "rank_l1", "pos_share": "pos_share_l1", "where": "where_l1", "gain": "gain_l1",
           "spike": "spike_l1", "spikes": "spikes_l1", "worst_spike": "worst_spike_l1", "final_loss": "final_loss_l1",
           "still_pool": "still_pool_l1", "still_attn": "still_attn_l1"},
    "pixels": {"pool": "pool_pixels", "attn": "attn_pixels", "rank": "rank_pixels", "pos_share": "pos_share_pixels", "where": "where_pixels", "gain": "gain_pixels",
               "spike": "spike_pixels", "spikes": "spikes_pixels", "worst_spike": "worst_spike_pixels", "final_loss": "final_loss_pixels",
               "still_pool": "still_pool_pixels", "still_attn": "still_attn_pixels"},
    "random": {"pool": "pool_random", "attn": "attn_random", "rank": "rank_random", "pos_share": "pos_share_random", "where": "where_random", "gain": "gain_random",
               "spike": "spike_random", "spikes": "spikes_random", "worst_spike": "worst_spike_random", "final_loss": "final_loss_random",
               "still_pool": "still_pool_random", "still_attn": "still_attn_random"},
    "l2": {"pool": "pool_l2", "attn": "attn_l2", "rank": "rank_l2", "pos_share": "pos_share_l2", "where": "where_l2", "gain": "gain_l2",
           "spike": "spike_l2", "spikes": "spikes_l2", "worst_spike": "worst_spike_l2", "final_loss": "final_loss_l2",
           "still_pool": "still_pool_l2", "still_attn": "still_attn_l2"},
    "large_untrained": {"pool": "pool_large_untrained", "attn": "attn_large_untrained", "rank": "rank_large_untrained", "pos_share": "pos_share_large_untrained", "where": "where_large_untrained", "gain": "gain_large_untrained",
                        "spike": "spike_large_untrained", "spikes": "spikes_large_untrained", "worst_spike": "worst_spike_large_untrained", "final_loss": "final_loss_large_untrained",
                        "still_pool": "still_pool_large_untrained", "still_attn": "still_attn_large_untrained"},
    "l1_fast": {"spike": "spike_l1_fast", "spikes": "spikes_l1_fast", "worst_spike": "worst_spike_l1_fast",
                "final_loss": "final_loss_l1_fast"},
    "l2_fast": {"spike": "spike_l2_fast", "spikes": "spikes_l2_fast", "worst_spike": "worst_spike_l2_fast",
                "final_loss": "final_loss_l2_fast"},
    "large_l1": {"pool": "pool_large_l1", "attn": "attn_large_l1", "rank": "rank_large_l1", "pos_share": "pos_share_large_l1", "where": "where_large_l1", "gain": "gain_large_l1",
                 "spike": "spike_large_l1", "spikes": "spikes_large_l1", "worst_spike": "worst_spike_large_l1", "final_loss": "final_loss_large_l1",
                 "still_pool": "still_pool_large_l1", "still_attn": "still_attn_large_l1"},
}
#: :func:`mask_statistics`'s names per generator (union, ratio, released, gap, trained, context and target counts)
MASK_METRICS = {
    "short": {"union": "union_short", "ratio": "ratio_short", "released": "released_short", "gap": "ratio_gap_short",
              "trained": "trained_short", "k_ctx": "k_ctx_short", "k_tgt": "k_tgt_short"},
    "long": {"union": "union_long", "ratio": "ratio_long", "released": "released_long", "gap": "ratio_gap_long",
             "trained": "trained_long", "k_ctx": "k_ctx_long", "k_tgt": "k_tgt_long"},
}


@dataclass(frozen=True)
class VJEPAConfig(ShownAsTable):
    """Everything Chapter 3's runs depend on (sizes chosen from the measured step time; see the chapter)."""

    frames: int = 4  # the fallback from 8: the 8-frame step was 3× slower on the 2-core box
    # the random-dot world (issue 28; results/pilots/vjepa-dots.md): at seed 1000 the untrained attentive
    # probe reads 22 %, a ViT trained from scratch on the labels 77 %, a single frame chance
    world: str = "dots"
    size: int = 40
    tubelet: tuple[int, int, int] = (2, 8, 8)  # → a 2×5×5 token grid
    object_area: float = 0.25
    large_area: float = 0.4
    speed: float = 1.0
    noise: float = 0.7
    background: float = 1.0  # gratings world only: scale of the background gratings (0: flat)
    n_pretrain: int = 4096  # unlabelled clips for pre-training
    n_probe: int = 16384  # labelled clips for the probes and the ceiling: 14336 train, 2048 test
    test_fraction: float = 0.125
    width: int = 48
    depth: int = 2
    heads: int = 3
    mlp_ratio: float = 2.0
    pred_width: int = 24
    pred_depth: int = 1
    pred_heads: int = 2
    batch: int = 32
    steps: int = 400
    # each loss at its own best rate in the one-seed sweep (seed 1000, results/pilots/vjepa-dots.jsonl,
    # 400 steps, Σ(1 − τ) = 3): the L1 arms' rate and the L2 arm's (test_vjepa checks the pick)
    lr: float = 1e-4
    l2_lr: float = 2.5e-4
    # the lowest rate of that sweep at which some run spiked: the spike comparison's (the l1_fast and l2_fast arms)
    spike_lr: float = 1e-2
    weight_decay: float = 0.04
    ceiling_lr: float = 1e-3  # the supervised ceiling's rate and batch (its steps are ``steps``)
    ceiling_batch: int = 128
    ema_start: float = 0.985  # linear to 1.0: Σ(1 − τ) = steps·(1 − ema_start)/2 = 3 time constants
    mask_quantile: float = 0.1  # fixed counts: this quantile of each generator's context/target counts
    random_ratio: float = 0.9
    spike_window: int = 20
    spike_factor: float = 2.0
    probe: ProbeConfig = ProbeConfig()
    # budget: the large-object control probes the untrained encoder only; add "large_l1" to train on it
    arms: tuple[str, ...] = tuple(a for a in ARMS if a != "large_l1")

    def __post_init__(self):
        for name in ("frames", "size", "n_pretrain", "n_probe", "width", "depth", "heads", "pred_width",
                     "pred_depth", "pred_heads", "batch", "steps", "spike_window", "ceiling_batch"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if len(self.tubelet) != 3 or self.frames % self.tubelet[0] or self.size % self.tubelet[1] \
                or self.tubelet[1] != self.tubelet[2]:
            raise ValueError(f"tubelet must be (t, p, p) dividing frames={self.frames} and size={self.size}; "
                             f"got {self.tubelet!r}")
        if self.width % 6 or self.pred_width % 6:
            raise ValueError("width and pred_width must be divisible by 6 (3-D sin-cos positions)")
        if self.world not in WORLDS:
            raise ValueError(f"world must be one of {WORLDS}; got {self.world!r}")
        for name in ("lr", "l2_lr", "spike_lr", "ceiling_lr"):
            if not (isinstance(getattr(self, name), (int, float)) and getattr(self, name) > 0):
                raise ValueError(f"{name} must be a positive learning rate; got {getattr(self, name)!r}")
        if not (0.0 <= self.ema_start < 1.0):
            raise ValueError(f"ema_start must lie in [0, 1); got {self.ema_start!r}")
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown:
            raise ValueError(f"unknown arms {unknown}; allowed: {sorted(ARMS)}")

    @property
    def grid(self) -> tuple[int, int, int]:
        t, p, _ = self.tubelet
        return (self.frames // t, self.size // p, self.size // p)

    @property
    def patch_dim(self) -> int:
        return int(np.prod(self.tubelet))


PROFILES = {
    "full": VJEPAConfig(),
    # ci: every arm and code path at the smallest sizes; 384 held-out clips (one clip = 0.26 points)
    # (ema_start 0: six steps then still span 3.5 EMA time constants, as the full run's 400 span 3)
    "ci": VJEPAConfig(n_pretrain=256, n_probe=768, test_fraction=0.5, steps=6, batch=16, spike_window=2,
                      ema_start=0.0, probe=ProbeConfig(steps=20, batch=64)),
}


def ema_horizon(config: VJEPAConfig) -> float:
    """Σ(1 − τ) over the run: how many EMA time constants the target integrates (linear schedule to 1)."""
    return float(sum(1.0 - _tau(config, i) for i in range(config.steps)))


def _tau(config: VJEPAConfig, step: int) -> float:
    return config.ema_start + (1.0 - config.ema_start) * step / config.steps


def _running_ratio(loss: list[float], window: int, factor: float) -> np.ndarray:
    """Each step's loss over the median of the ``window`` steps before it (from step ``window`` on)."""
    x = np.asarray(loss, dtype=np.float64)
    if window < 1 or factor <= 0:
        raise ValueError(f"window must be >= 1 and factor > 0; got {window!r}, {factor!r}")
    if len(x) <= window:
        return np.ones(0)
    med = np.array([np.median(x[i - window:i]) for i in range(window, len(x))])
    return x[window:] / np.maximum(med, 1e-12)


def loss_spikes(loss: list[float], window: int, factor: float) -> tuple[int, float]:
    """``(spikes, worst)``: steps whose loss exceeds ``factor`` × the median of the ``window`` steps before
    it, and the largest such ratio (1 if the loss never rose above the running median)."""
    ratio = _running_ratio(loss, window, factor)
    if ratio.size == 0:
        return 0, 1.0
    return int((ratio > factor).sum()), float(max(ratio.max(), 1.0))


def spike_steps(loss: list[float], window: int, factor: float) -> np.ndarray:
    """The steps :func:`loss_spikes` counts as spikes (for a figure that marks them)."""
    return np.flatnonzero(_running_ratio(loss, window, factor) > factor) + window


def _clips(config: VJEPAConfig, seed: int, large: bool, stream: str, n: int):
    area = config.large_area if large else config.object_area
    return make_clips(n, seed, config.frames, config.size, area, config.speed, config.noise,
                      stream=f"{stream}-large" if large else stream, background=config.background, world=config.world)


def _tokens(encoder: ViT, patches: mx.array, chunk: int = 256) -> np.ndarray:
    """The frozen encoder's tokens for every clip, ``chunk`` clips at a time, through one compiled forward
    pass (about 1.35× faster than the plain call on MLX's CPU build, with the same bits: test_vjepa)."""
    forward = mx.compile(encoder)
    return np.concatenate([np.array(forward(patches[i:i + chunk])) for i in range(0, len(patches), chunk)])


def _generators(arm: Arm, config: VJEPAConfig, seed: int) -> list:
    """The arm's mask generators with their fixed counts (tubes), or the random tube."""
    if arm.masking == "random":
        return ["random"]
    if arm.masking != "tubes":
        raise ValueError(f"masking must be 'tubes' or 'random'; got {arm.masking!r}")
    rng = streams.rng(seed, "mask_counts")
    return [(g, *fixed_counts(rng, config.grid, g, config.mask_quantile)) for g in VJEPA_GENERATORS]


def _sample(gens: list, rng: np.random.Generator, config: VJEPAConfig) -> list:
    out = []
    if gens == ["random"]:
        m = random_tubes(rng, config.batch, config.grid, config.random_ratio)
        return [mx.array(m.context), mx.array(m.target)]
    uniforms = tuple(float(u) for u in rng.random(3))  # one size draw per batch, shared, as released
    for g, k_ctx, k_tgt in gens:
        m = tube_masks(rng, config.batch, config.grid, g, k_ctx, k_tgt, uniforms=uniforms)
        out += [mx.array(m.context), mx.array(m.target)]
    return out


@dataclass
class ArmResult:
    """One arm at one seed: its probe accuracies (%), feature rank, loss spikes and loss curve."""

    arm: str
    seed: int
    metrics: dict[str, float] = field(default_factory=dict)
    loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    train_seconds: float = 0.0


def position_share(tokens: np.ndarray) -> float:
    """Share of the token features' variance that position alone explains: the variance, over positions, of
    each position's mean over clips, over the variance over clips and positions (summed over features).
    0 when every position has the same mean; 1 when a token's features depend on its position only."""
    x = np.asarray(tokens, dtype=np.float64)
    return float(x.mean(0).var(0).sum() / x.reshape(-1, x.shape[-1]).var(0).sum())


def where_accuracy(tokens: np.ndarray, object_share: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int,
                   per_class: int = 3000) -> float:
    """Held-out accuracy (%) of a logistic regression that tells, from one token's features, whether the
    token is mostly the moving object (≥ 3/4 of its pixels, over its frames) or none of it: ``per_class``
    tokens of each kind drawn from the ``train`` clips to fit, as many from the ``test`` clips to judge
    (chance 50 %). ``object_share`` ``(clips, tokens)``: each token's share of object pixels."""
    rng = streams.rng(seed, "where")
    x, y, parts = [], [], []
    for part, rows in (("train", train), ("test", test)):
        share = object_share[rows]
        for label, hit in ((1, share >= 0.75), (0, share == 0)):
            i, t = np.nonzero(hit)
            pick = rng.choice(len(i), min(per_class, len(i)), replace=False)
            x.append(tokens[rows[i[pick]], t[pick]])
            y += [label] * len(pick)
            parts += [part] * len(pick)
    parts = np.array(parts)
    return 100 * linear_accuracy(np.concatenate(x), np.array(y), np.flatnonzero(parts == "train"),
                                 np.flatnonzero(parts == "test"))


def _probe(encoder: ViT, patches: mx.array, labels, train, test, config: VJEPAConfig, seed: int, name: str,
           extra: dict | None = None, object_share: np.ndarray | None = None):
    """Both probes and the feature rank of ``encoder``'s frozen tokens; ``extra``, when given, also gets
    the tokens' :func:`position_share` as ``pos_share`` and, with ``object_share``, their
    :func:`where_accuracy` as ``where``."""
    tokens = _tokens(encoder, patches)
    if extra is not None:
        extra["pos_share"] = position_share(tokens)
        if object_share is not None:
            extra["where"] = where_accuracy(tokens, object_share, train, test, seed)
    pool = 100 * linear_accuracy(tokens.mean(1), labels, train, test)
    attn = 100 * attentive_accuracy(tokens, labels, train, test, config.probe, seed, name)
    return pool, attn, effective_rank(tokens.mean(1))


@functools.lru_cache(maxsize=2)  # a worker runs a seed's arms one after another (see _plan): drawn once, not per arm
def _probe_split(config: VJEPAConfig, seed: int, large: bool = False):
    """The labelled clips of a seed (the probes' and the ceiling's), as tubelets, and their train/test split."""
    probe = _clips(config, seed, large, "probe", config.n_probe)
    train, test = train_test_split(len(probe.labels), config.test_fraction, seed)
    return probe, tubelets(mx.array(probe.video), config.tubelet), train, test


def train_arm(config: VJEPAConfig, name: str, seed: int, progress: bool = False):
    """Chapter 3's recipe: arm ``name`` trained from ``seed``; returns ``(model, log)`` (``log`` None untrained).

    V-JEPA arms: AdamW on the context encoder and predictor, the loss of :func:`vjepa_loss` over the
    arm's mask generators, the EMA target updated after every step with a momentum rising linearly
    from ``ema_start`` to 1. The ``supervised`` arm (the ceiling) trains :class:`Classifier` (the same
    ViT plus an attentive head) from scratch on the labelled probe-training clips, for the same steps.
    Every arm of a seed starts from the stream ``(seed, "init")``.
    """
    arm = ARMS[name]
    if arm.targets == "labels":
        probe, data, train, _ = _probe_split(config, seed, False)
        model = Classifier(config.patch_dim, config.grid, config.width, config.depth, config.heads, config.mlp_ratio,
                           8, config.probe.heads, streams.key(seed, "init"))
        labels, rng = mx.array(probe.labels.astype(np.int32)), streams.rng(seed, "supervised", "batches")

        def batch(step):  # labelled training clips only; the held-out ones judge the ceiling
            rows = mx.array(rng.choice(train, config.ceiling_batch, replace=False))
            return data[rows], labels[rows]

        loss, lr, after = classifier_loss, config.ceiling_lr, None
    else:
        gens = [] if arm.targets == "none" else _generators(arm, config, seed)
        model = VJEPA(config.patch_dim, config.grid, config.width, config.depth, config.heads, config.mlp_ratio,
                      config.pred_width, config.pred_depth, config.pred_heads, max(len(gens), 1),
                      arm.targets == "pixels", streams.key(seed, "init"))
        if not gens:
            return model, None
        data = tubelets(mx.array(_clips(config, seed, arm.large, "pretrain", config.n_pretrain).video), config.tubelet)
        # masks and batches from separate streams: every arm of a seed sees the same clips in the same order
        mask_rng, batch_rng = streams.rng(seed, "masks"), streams.rng(seed, "batches")

        def batch(step):  # clips, each generator's (context, target) indices, and the step's EMA momentum
            rows = mx.array(batch_rng.choice(config.n_pretrain, config.batch, replace=False))
            return (data[rows], *_sample(gens, mask_rng, config), mx.array(_tau(config, step), dtype=mx.float32))

        lr = getattr(config, arm.rate)  # each loss at its own best rate (the sweep's), or the spike rate
        loss, after = functools.partial(vjepa_loss, power=arm.power), update_target
    optimizer = optim.AdamW(learning_rate=constant_then_cosine(lr, config.steps, 0.5), weight_decay=config.weight_decay)
    log = fit(model, loss, batch, optimizer, config.steps, log_every=1, progress=progress, after_update=after,
              hint=f"Lower lr (now {lr}).")
    return model, log


def run_arm(config: VJEPAConfig, name: str, seed: int, progress: bool = False) -> ArmResult:
    """Train arm ``name`` from ``seed`` (:func:`train_arm`) and read it: the ceiling's held-out accuracy, or
    both probes on the frozen target encoder (and, for L1, on motionless clips)."""
    start = time.perf_counter()
    arm = ARMS[name]
    model, log = train_arm(config, name, seed, progress)
    result = ArmResult(name, seed, seconds=0.0)
    if log is not None:
        result.train_seconds = time.perf_counter() - start
        result.loss = log.parts["loss"]
        if arm.targets != "labels":  # a pre-training run: its loss spikes and final loss
            spikes, worst = loss_spikes(result.loss, config.spike_window, config.spike_factor)
            result.metrics.update(spike=float(spikes > 0), spikes=float(spikes), worst_spike=worst,
                                  final_loss=float(np.mean(result.loss[-10:])))
    if not arm.read:  # a spike-rate arm: its loss curve is all it is for
        result.seconds = time.perf_counter() - start
        return result
    probe, patches, train, test = _probe_split(config, seed, arm.large)
    labels = probe.labels
    if arm.targets == "labels":
        result.metrics["acc"] = 100 * float((predict(model, patches[mx.array(test)], 256) == labels[test]).mean())
        result.seconds = time.perf_counter() - start
        return result
    share = np.array(tubelets(mx.array(probe.object_mask[..., None].astype(np.float32)), config.tubelet).mean(-1))
    pool, attn, rank = _probe(model.target, patches, labels, train, test, config, seed, f"{name}-target",
                              extra=result.metrics, object_share=share)
    result.metrics.update(pool=pool, attn=attn, rank=rank)
    if name == "l1":  # motionless clips (every frame the middle frame: no motion, so no label)
        still = np.repeat(probe.video[:, config.frames // 2][:, None], config.frames, axis=1)
        pool, attn, _ = _probe(model.target, tubelets(mx.array(still), config.tubelet), labels, train, test,
                               config, seed, f"{name}-still")
        result.metrics.update(still_pool=pool, still_attn=attn)
    result.seconds = time.perf_counter() - start
    return result


def mask_statistics(config: VJEPAConfig, seed: int, draws: int = 2000) -> dict[str, float]:
    """Realised masking ratios on the chapter's grid: ours and the released sampler's.

    - ``union_<g>``: share of the grid in the union of generator ``g``'s blocks (our sampler, before
      the fixed-count subset), over ``draws`` size draws; ``ratio_<g>``: the same over the draws that
      leave some context (the released sampler redraws the others);
    - ``released_<g>``: the same share from the released sampler's reimplementation
      (:func:`jepabook.blocks.masks.multiblock3d_collate`, batch 24, which redraws empty contexts);
    - ``trained_<g>``: the share hidden from the context encoder in training, ``1 − k_ctx / tokens``;
    - ``random_ratio``: the random tube's hidden share.
    """
    grid, n = config.grid, int(np.prod(config.grid))
    out = {}
    rng = streams.rng(seed, "mask_statistics")
    released: dict[str, list[float]] = {}
    for _ in range(max(draws // 24, 1)):
        for g, m in multiblock3d_collate(rng, 24, grid).items():
            released.setdefault(g, []).append(float(m.masked.mean()))
    for g in VJEPA_GENERATORS:
        name = g["name"]
        r = union_ratio(rng, grid, g, draws)
        k_ctx, k_tgt = fixed_counts(streams.rng(seed, "mask_counts"), grid, g, config.mask_quantile)
        names = MASK_METRICS[name]
        out[names["union"]] = float(r.mean())  # every draw, empty contexts included
        out[names["ratio"]] = float(r[r < 1].mean())  # the released sampler redraws empty contexts, so compare this
        out[names["released"]] = float(np.mean(released[name]))
        out[names["gap"]] = out[names["ratio"]] - out[names["released"]]
        out[names["trained"]] = 1.0 - k_ctx / n
        out[names["k_ctx"]], out[names["k_tgt"]] = float(k_ctx), float(k_tgt)
    out["random_ratio"] = float(random_tubes(rng, 64, grid, config.random_ratio).masked.mean())
    return out


@dataclass
class VJEPARun(ChapterResult):
    """Chapter 3 at one profile: per-seed metrics, the record and every arm's per-seed result."""

    results: dict[str, list[ArmResult]] = field(default_factory=dict)


def _plan(config: VJEPAConfig, seeds: list[int], progress: bool) -> Plan:
    # seed by seed, so that a worker's consecutive arms share the seed's labelled clips (_probe_split's cache);
    # within a seed the ceiling (the longest) first, the untrained arms (the shortest) last
    order = sorted(config.arms, key=lambda a: (ARMS[a].targets != "labels", ARMS[a].targets == "none"))
    return Plan(run_arm, [(config, a, s, progress) for s in seeds for a in order])


def _measure(config: VJEPAConfig, seeds: list[int], plan: Plan, flat: list[ArmResult]) -> VJEPARun:
    results = {a: [r for s in seeds for r in flat if r.arm == a and r.seed == s] for a in config.arms}
    metrics: dict[str, list[float]] = {}
    for a, rs in results.items():
        if a == "supervised":
            continue
        for k in rs[0].metrics:
            metrics[ARM_METRICS[a][k]] = [r.metrics[k] for r in rs]
        if "attn" in rs[0].metrics:
            metrics[ARM_METRICS[a]["gain"]] = [r.metrics["attn"] - r.metrics["pool"] for r in rs]  # attentive − pool
    if "supervised" in results and results["supervised"]:
        metrics["supervised"] = [r.metrics["acc"] for r in results["supervised"]]  # each seed's own ceiling
        if "attn_untrained" in metrics:
            metrics["headroom"] = [c - v for c, v in zip(metrics["supervised"], metrics["attn_untrained"])]
        if "pool_l1" in metrics:
            metrics["pool_headroom"] = [c - v for c, v in zip(metrics["supervised"], metrics["pool_l1"])]
    if "spike_l1_fast" in metrics and "spike_l2_fast" in metrics:  # whether either spike-rate run of the seed spiked
        metrics["spike_any"] = [max(a, b) for a, b in zip(metrics["spike_l1_fast"], metrics["spike_l2_fast"])]
    stats = [mask_statistics(config, s) for s in seeds]
    metrics.update({k: [st[k] for st in stats] for k in stats[0]})
    metrics["ema_horizon"] = [ema_horizon(config)] * len(seeds)
    trained = [r for r in flat if r.train_seconds > 0]
    plan.timing_s.update(train_step=sum(r.train_seconds for r in trained) / max(config.steps * len(trained), 1),
                         arm_runs_total=sum(r.seconds for r in flat))
    return VJEPARun(config, metrics, results=results)


CHAPTER = Chapter("vjepa", PROFILES, _plan, _measure)


def run(profile: str = "full", seeds=None, progress: bool | str | None = None, workers: int | None = None,
        executor=None, **overrides) -> VJEPARun:
    """Run Chapter 3 at ``profile`` over ``seeds`` (default: the profile's published seeds);
    ``overrides`` replace config fields (``arms=`` runs a subset; claims on arms not run are skipped)."""
    return run_chapter(CHAPTER, profile, seeds, progress, workers, executor, **overrides)


def step_seconds(config: VJEPAConfig, frames: tuple[int, ...] = (4, 8), repeats: int = 5, seed: int = 0) -> dict[int, float]:
    """Seconds per pre-training step (L1, tubes; masks sampled outside the timing) at each clip length in
    ``frames``, on random clips, after two warm-up steps that compile the step."""
    from dataclasses import replace

    from jepabook.core.training import make_step

    out = {}
    for f in frames:
        c = replace(config, frames=f)
        gens = _generators(ARMS["l1"], c, seed)
        model = VJEPA(c.patch_dim, c.grid, c.width, c.depth, c.heads, c.mlp_ratio, c.pred_width, c.pred_depth,
                      c.pred_heads, len(gens), False, streams.key(seed, "init"))
        x = tubelets(mx.random.normal((c.batch, f, c.size, c.size, 1), key=streams.key(seed, "clips")), c.tubelet)
        rng = streams.rng(seed, "masks")
        inputs = [(x, *_sample(gens, rng, c), mx.array(0.99)) for _ in range(repeats + 2)]
        step, state = make_step(model, vjepa_loss, optim.AdamW(learning_rate=c.lr), after_update=update_target)
        for i in range(2):
            step(*inputs[i])
            mx.eval(state)
        t0 = time.perf_counter()
        for i in range(repeats):
            step(*inputs[i + 2])
            mx.eval(state)
        out[f] = (time.perf_counter() - t0) / repeats
    return out
