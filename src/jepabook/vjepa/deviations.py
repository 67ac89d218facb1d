"""Where Chapter 3 differs from V-JEPA and its released code, what it does not test, and its scale.

Records, not prose (:mod:`jepabook.core.deviations`): Chapter 3 renders ``DEVIATIONS`` in its
"Where this differs from the paper" section and Chapter 6 assembles every chapter's. "Theirs" is
the paper (arXiv:2404.08471) and the released code (facebookresearch/jepa: ``app/vjepa/train.py``,
``src/masks/multiblock3d.py``, ``src/masks/random_tube.py``, ``src/models/attentive_pooler.py``,
``configs/pretrain/vitl16.yaml``); ours is read from ``PROFILES["full"]``.
"""

from __future__ import annotations

from mlx.utils import tree_flatten

import mlx.core as mx

from jepabook.blocks.vit import ViT
from jepabook.core.config import published_seeds
from jepabook.core.deviations import Deviation, Scale, Untested
from jepabook.core.platforms import published_hardware
from jepabook.vjepa.experiment import ARMS, PROFILES

__all__ = ["DEVIATIONS", "UNTESTED", "encoder_parameters", "scale"]

_C = PROFILES["full"]
_ORDERINGS = ("vjepa.learns", "vjepa.features", "vjepa.tubes", "vjepa.attentive", "vjepa.attentive_gain",
              "vjepa.l1_accuracy")


def encoder_parameters(config=_C) -> int:
    """Weights and biases of the chapter's tubelet ViT (the probed encoder)."""
    enc = ViT(config.patch_dim, config.grid, config.width, config.depth, config.heads, config.mlp_ratio,
              mx.random.key(0))
    return sum(v.size for _, v in tree_flatten(enc.parameters()))


DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        id="vjepa.clips",
        what="Clips and labels",
        theirs="VideoMix2M pre-training (K710, SSv2, HowTo100M); probes on Kinetics-400 and Something-Something-v2; "
               "16 frames at 224×224, tubelets 2×16×16 (8×14×14 tokens)",
        ours=f"procedural random-dot clips of {_C.frames} frames at {_C.size}×{_C.size}: a static Gaussian-noise "
             f"background and one object ({_C.object_area:.0%} of the frame) cut from a second noise texture that "
             f"moves with it, {_C.speed:g} px per frame per axis, wrapping around the frame; pixel noise sd "
             f"{_C.noise:g}; the label is one of 8 directions; tubelets {_C.tubelet[0]}×{_C.tubelet[1]}×{_C.tubelet[2]} "
             f"give a {_C.grid[0]}×{_C.grid[1]}×{_C.grid[2]} grid",
        source="both",
        why="nothing can be downloaded; a clip whose every frame is pure noise makes the label (and the object itself) "
            "a property of motion alone, the thing V-JEPA claims to learn; large tubelets and pixel noise keep a "
            "random tubelet embedding from handing the probe the displacement, which the chapter's first world "
            "(flat objects on gratings, 2×4×4 tubelets) did (results/pilots/vjepa-dots.md)",
        consequence="nothing in a clip is predictable but the motion of the object's texture: feature targets have "
                    "only that to keep, pixel targets must regress noise; the still-frame check shows single "
                    "frames carry no label",
        evidence="measured",
        claims=("vjepa.learns", "vjepa.still_frames"),
    ),
    Deviation(
        id="vjepa.frames",
        what="Clip length",
        theirs="16 frames (8 tubelet steps)",
        ours=f"{_C.frames} frames ({_C.grid[0]} tubelet steps); the issue's 8-frame design was measured and did not fit",
        source="both",
        why="an 8-frame step took about three times the 4-frame step on the 2-core CPU (the chapter prints both), "
            "which does not fit five seeds of four trained arms in the ten-minute budget",
        consequence="the masking ratios are spatial and unchanged (tubes span every frame), but each tube hides only "
                    "two time steps, so a masked region is shorter in time than the paper's",
        evidence="expected",
    ),
    Deviation(
        id="vjepa.fixed_counts",
        what="Equalising the mask counts",
        theirs="the collator cuts every sample's context and target to the batch minimum, keeping the first indices "
               "in (frame, row, col) order, so the counts change per batch and the cut drops the last frames first",
        ours=f"a fixed context and target count per generator (the {_C.mask_quantile:g} quantile of the sampler's "
             "counts), each sample keeping a random subset of that size; samples below either count are redrawn",
        source="official code",
        why="one shape per step, so the training step compiles once (mx.compile); a random subset does not favour "
            "early frames",
        consequence="the context the encoder sees is smaller than the union's complement (the trained masking ratio "
                    "is shown beside the realised one); the realised union ratios match the released sampler's",
        evidence="measured",
        claims=("vjepa.ratio_short", "vjepa.ratio_long"),
    ),
    Deviation(
        id="vjepa.model_size",
        what="Encoder and predictor",
        theirs="ViT-L/16 (about 300 M parameters) to ViT-H/16; predictor depth 12, width 384",
        ours=f"a ViT of {_C.depth} blocks, width {_C.width}, {_C.heads} heads ({encoder_parameters():,} parameters); "
             f"predictor of {_C.pred_depth} block, width {_C.pred_width}; one zero-initialised mask token per "
             "generator as released",
        source="both",
        why="the largest model whose five seeds of every arm fit the ten-minute budget on a 2-core CPU",
        consequence="a model this small may learn less from masked prediction than a large one; the supervised "
                    "ceiling shows what it can learn about the label when told it",
        evidence="expected",
        claims=_ORDERINGS,
    ),
    Deviation(
        id="vjepa.schedule",
        what="Optimisation and EMA",
        theirs="AdamW, lr warm-up to 6.25e-4 then cosine, weight decay 0.04 → 0.4, 90,000 steps of batch 24 per GPU; "
               "EMA 0.998 → 1.0",
        ours=f"AdamW at lr {_C.lr:g} (L1 arms) and {_C.l2_lr:g} (L2) held then cosine, weight decay "
             f"{_C.weight_decay:g}, {_C.steps} steps of batch {_C.batch}; EMA linear from {_C.ema_start:g} to 1.0 "
             "(Σ(1 − τ) ≈ 3 time constants)",
        source="both",
        why="0.998 has a 500-step time constant, longer than our run; each loss's rate is its best in a one-seed "
            "sweep (seed 1000, outside the published seeds) of rates at the chapter's steps",
        consequence="the target follows the online encoder within the run, as the check on Σ(1 − τ) shows; the "
                    "sweep (in the chapter) shows how much the probe moves with the rate",
        evidence="measured",
        claims=("vjepa.ema_horizon", "vjepa.l1_rank"),
    ),
    Deviation(
        id="vjepa.probe",
        what="The attentive probe",
        theirs="one query, a full cross-attention block (GELU MLP, LayerScale-free), a linear head; trained 20 epochs "
               "on frozen features with augmentation, several clips and views per video",
        ours=f"one query, cross-attention over layer-normed tokens, a ReLU MLP, a linear head; "
             f"{_C.probe.steps} AdamW steps of batch {_C.probe.batch} on cached tokens of one view, inputs "
             "standardised per feature",
        source="both",
        why="ReLU for GELU: GELU is the slowest element-wise op on MLX's CPU build; caching the tokens makes a probe "
            "cost seconds",
        consequence="a shorter probe training reads less from the tokens than the paper's would; the same probe "
                    "reads every arm, so the orderings compare like with like",
        evidence="expected",
        claims=("vjepa.attentive", "vjepa.attentive_gain"),
    ),
    Deviation(
        id="vjepa.ceiling",
        what="The supervised ceiling",
        theirs="no supervised ceiling in this form (the paper compares with supervised and image models at scale)",
        ours="the chapter's ViT and an attentive head trained from scratch on the labelled probe-training clips, "
             f"on every seed, for the pre-training's step count at batch {_C.ceiling_batch} (AdamW, lr {_C.ceiling_lr:g})",
        source="paper",
        why="a fair test needs headroom between the untrained control and what the network can reach, measured on "
            "each seed (issue 28); fine-tuning from the untrained encoder, as before, measured the probe's floor "
            "more than what supervision teaches",
        consequence="the ceiling is what a same-size ViT learns from labels within the budget; where it stays below "
                    "the untrained probe, the gate marks the pre-training claims not testable",
        evidence="measured",
        claims=("vjepa.learns", "vjepa.features", "vjepa.tubes", "vjepa.l1_accuracy"),
    ),
)

UNTESTED: tuple[Untested, ...] = (
    Untested(
        id="vjepa.benchmarks",
        what="The benchmark numbers: K400 82.0 and SSv2 72.2 (ViT-H/16@384), and every ablation's K400/SSv2 value",
        why="Kinetics and Something-Something are not bundled and cannot be downloaded here; our clips are a toy",
        would_take="the data sets, a ViT-L at least, and about 90,000 steps on many GPUs",
    ),
    Untested(
        id="vjepa.sixteen_frames",
        what="16-frame clips with 8 tubelet steps, and the temporal extent of a tube",
        why="the 8-frame step already did not fit the budget on this CPU",
        would_take="about three times the compute per step for 8 frames and more for 16: a GPU, or a budget of "
                   "an hour",
    ),
    Untested(
        id="vjepa.image_tasks",
        what="Frozen evaluation on images (IN-1k 74.8 features vs 73.3 pixels)",
        why="the chapter's toy has no image classification task",
        would_take="an image set and the same probes on single frames",
    ),
    Untested(
        id="vjepa.scale_trend",
        what="How the orderings change with model and data scale",
        why="one model size fits the budget",
        would_take="the same sweep at several widths and steps, minutes each on a GPU",
    ),
)


def scale() -> Scale:
    """One features + tubes (L1) arm of Chapter 3 at ``full`` against the released ViT-L/16 run."""
    c = PROFILES["full"]
    trained = sum(1 for a in c.arms if ARMS[a].targets in ("features", "pixels"))
    return Scale(
        chapter="vjepa",
        model=f"tubelet ViT, {c.depth} blocks of width {c.width}",
        params=encoder_parameters(c),
        steps=c.steps,
        batch=c.batch,
        tokens_per_sample=int(c.grid[0] * c.grid[1] * c.grid[2]),
        data=f"{c.n_pretrain:,} procedural {c.frames}-frame clips of {c.size}×{c.size} px",
        hardware=published_hardware("vjepa"),  # from the published record's platform line, never typed
        paper_model="ViT-L/16 (V-JEPA)",
        paper_params=None,
        paper_steps=90_000,
        paper_batch=None,
        paper_tokens_per_sample=8 * 14 * 14,
        paper_data="VideoMix2M (about 2 M videos), 16 frames at 224×224",
        paper_hardware="many GPUs (not stated in our notes)",
        citation="bardes2024vjepa",
        notes=f"Our run is one trained arm; the chapter trains {trained} arms × {len(published_seeds('full'))} seeds. "
              "The released config runs 300 epochs of 300 iterations (90,000 steps) at batch 24 per GPU; the number "
              "of GPUs, hence the global batch, and the exact parameter count are not in our notes, so no compute "
              "ratio is given.",
    )
