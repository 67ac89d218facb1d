"""The claims Chapter 2 tests, each with the rule that decides its verdict.

Thresholds and rules are fixed here, before any full-profile run, from the shape of each claim in
the I-JEPA paper (arXiv:2301.08243): where the paper reports an ordering (a peak, a monotone trend,
a winner), the rule asks for that ordering among our seed-paired probe accuracies, in percent.
Re-registered for the redesign (textured shapes, fixed-count corrected sampler, EMA of several time
constants, 800 steps) before its first full run: ``learns`` also asks for a third of the headroom
up to a supervised ceiling; the ablations compare at the first ``ablation_seeds`` seeds, against the
multi-block recipe at the same seeds (``*_multiblock_abl``), and are testable only when that recipe
clears the noise floor; the pixel claims compare like for like, both encoders. The
sampler is a check (a property of the released code, not a reproduction), against the numbers in the project's notes on the released code (a
realised context of about 0.26 of a 14×14 grid at batch 128, concentrated in the top rows), with a
tolerance of ±0.05 fixed in advance. See Chapter 2.

Re-registered for verdicts version 3 (issue 25), before the runs that judge them: the headroom and
"gain > 3" preconditions are replaced by the fair-test gate (:mod:`jepabook.core.gate`), judged on
the 95 % lower bound over seeds rather than the mean: ``learns`` needs the headroom between the
untrained encoder and the supervised ceiling to exceed what its seeds can detect; the ablations need
the multi-block recipe's gain over untrained at the ablation seeds to exceed what theirs can detect;
the pixel claims need room above the pixel arm up to the supervised ceiling.
"""

from __future__ import annotations

from jepabook.core.claims import Check, Claim, shown_values
from jepabook.core.gate import Headroom, RecipeGain
from jepabook.core.rules import Above, AllOf, Greater, Increasing, PeakAt, Within

__all__ = ["CHECKS", "CLAIMS", "MIN_HEADROOM", "READABLE_GAIN", "claims_for", "measured_for"]

#: verdicts version 2's fixed floors, kept for the chapter's prose; version 3 judges the same questions
#: with the fair-test gate (the recipe's gain and the headroom against the claim's detectable effect)
READABLE_GAIN = 3.0
MIN_HEADROOM = 5.0

#: an ordering among variants of the recipe can show only if the recipe itself gains, beyond noise,
#: more than the ordering's seeds can detect (the ablation seeds: the first ``ablation_seeds``)
_ABLATION_GATE = RecipeGain(gain="gain_multiblock_abl")

CLAIMS = [
    Claim(
        id="ijepa.learns",
        chapter="ijepa",
        statement="I-JEPA training improves the linear probe over the same encoder untrained, by at least a third "
        "of the headroom up to the same ViT trained with labels.",
        paper="— (implicit)",
        laptop="—",
        metric="probe accuracy (%) on the mean-pooled target encoder, multi-block vs untrained; gain / "
        "(supervised − untrained) (shapes)",
        rule=AllOf((Greater("acc_multiblock", "acc_untrained"), Above("headroom_fraction_shapes", 1 / 3))),
        shown=("acc_multiblock", "acc_untrained", "acc_supervised", "headroom_fraction_shapes"),
        digits=1,
        gate=Headroom(floor="acc_untrained", ceiling="acc_supervised"),
        label="I-JEPA beats the untrained encoder",
        rule_text="multi-block > untrained (paired) and closes ≥ ⅓ of the headroom up to the supervised ceiling",
    ),
    Claim(
        id="ijepa.masking",
        chapter="ijepa",
        statement="Multi-block masking beats random, block and rasterized masking.",
        paper="multi-block 54.2, rasterized 15.5, block 20.2, random 17.6 (IN-1k 1 %)",
        laptop="—",
        metric="target-encoder probe accuracy (%) per masking strategy, ablation seeds (shapes)",
        rule=PeakAt(("acc_multiblock_abl", "acc_random", "acc_block", "acc_rasterized"), "acc_multiblock_abl"),
        shown=("acc_multiblock_abl", "acc_random", "acc_block", "acc_rasterized"),
        digits=1,
        gate=_ABLATION_GATE,
        label="multi-block masking is best",
        rule_text="multi-block > random, block and rasterized masking (each paired)",
    ),
    Claim(
        id="ijepa.target_scale",
        chapter="ijepa",
        statement="Target blocks must be large enough, but not too large: (0.15, 0.2) is best.",
        paper="(0.075,0.2) 19.2; (0.15,0.2) 54.2; (0.2,0.3) 33.6",
        laptop="—",
        metric="target-encoder probe accuracy (%) per target scale range, ablation seeds (shapes)",
        rule=PeakAt(("acc_tscale_0.075", "acc_multiblock_abl", "acc_tscale_0.2"), "acc_multiblock_abl"),
        shown=("acc_tscale_0.075", "acc_multiblock_abl", "acc_tscale_0.2"),
        digits=1,
        gate=_ABLATION_GATE,
        label="mid-sized target blocks are best",
        rule_text="targets (0.15, 0.2) > (0.075, 0.2) and > (0.2, 0.3) (each paired)",
    ),
    Claim(
        id="ijepa.context_scale",
        chapter="ijepa",
        statement="The context block must be large: accuracy grows with its scale.",
        paper="0.40 → 31.2; 0.65 → 47.1; 0.85 → 54.2",
        laptop="—",
        metric="target-encoder probe accuracy (%) for context scale (0.40, 1) and (0.85, 1), ablation seeds (shapes)",
        rule=Increasing(("acc_cscale_0.40", "acc_multiblock_abl")),
        shown=("acc_cscale_0.40", "acc_multiblock_abl", "context_cscale_0.40", "context_multiblock_abl"),
        digits=1,
        gate=_ABLATION_GATE,
        label="a larger context block helps",
        rule_text="context (0.85, 1) > context (0.40, 1) (paired)",
    ),
    Claim(
        id="ijepa.n_targets",
        chapter="ijepa",
        statement="Several target blocks help: four targets beat one.",
        paper="1 → 9.0; 2 → 22.0; 3 → 48.5; 4 → 54.2",
        laptop="—",
        metric="target-encoder probe accuracy (%) for 1 and 4 targets, ablation seeds (shapes)",
        rule=Increasing(("acc_targets_1", "acc_multiblock_abl")),
        shown=("acc_targets_1", "acc_multiblock_abl", "context_targets_1", "context_multiblock_abl"),
        digits=1,
        gate=_ABLATION_GATE,
        label="four target blocks beat one",
        rule_text="4 targets > 1 target (paired)",
    ),
    Claim(
        id="ijepa.pixels",
        chapter="ijepa",
        statement="Predicting representations beats predicting pixels (shapes over unpredictable per-patch texture).",
        paper="ViT-L/16: 66.9 (representations, 500 ep) vs 40.7 (pixels, 800 ep)",
        laptop="—",
        metric="probe accuracy (%) at equal steps, batch and masks, like for like: target encoder vs the pixel "
        "arm's EMA copy, and context encoder vs context encoder (shapes)",
        rule=AllOf((Greater("acc_multiblock", "acc_pixels"), Greater("ctx_acc_multiblock", "ctx_acc_pixels"))),
        shown=("acc_multiblock", "acc_pixels", "ctx_acc_multiblock", "ctx_acc_pixels"),
        digits=1,
        gate=Headroom(floor="acc_pixels", ceiling="acc_supervised"),
        label="representations beat pixels (shapes)",
        rule_text="representation targets > pixel targets, on the target and on the context encoder (each paired)",
    ),
    Claim(
        id="ijepa.pixels_digits",
        chapter="ijepa",
        statement="Predicting representations beats predicting pixels (scikit-learn digits, a real image set, "
        "probed with 10 labels per class).",
        paper="as above",
        laptop="—",
        metric="probe accuracy (%) at equal steps, batch and masks, like for like as above (digits, 10 labels "
        "per class)",
        rule=AllOf((Greater("acc_digits_multiblock", "acc_digits_pixels"),
                    Greater("ctx_acc_digits_multiblock", "ctx_acc_digits_pixels"))),
        shown=("acc_digits_multiblock", "acc_digits_pixels", "ctx_acc_digits_multiblock", "ctx_acc_digits_pixels",
               "acc_digits_untrained", "acc_digits_supervised"),
        digits=1,
        gate=Headroom(floor="acc_digits_pixels", ceiling="acc_digits_supervised"),
        label="representations beat pixels (digits)",
        rule_text="representation targets > pixel targets, on the target and on the context encoder (each paired)",
    ),
]


#: properties of the code (verdicts version 2): shown with pass/fail, never counted as reproductions
CHECKS = [
    Check(
        id="ijepa.released_sampler",
        chapter="ijepa",
        statement="The released multi-block sampler keeps ≈ 0.26 of a 14×14 grid as context at batch 128, "
        "concentrated in the top rows.",
        reference="official code (project notes): ≈ 0.26, top-biased",
        metric="realised context fraction; context coverage of the top and bottom rows (released sampler)",
        rule=AllOf((Within("ctx_ratio_14_released", 0.26, 0.05),
                    Greater("top_row_14_released", "bottom_row_14_released"))),
        shown=("ctx_ratio_14_released", "top_row_14_released", "bottom_row_14_released"),
        digits=3,
        label="the released sampler keeps about a quarter",
        rule_text="context share within 0.05 of 0.26; top rows covered more than bottom rows",
    ),
]


def claims_for(config=None) -> list:
    """Chapter 2's claims and checks (the arms a run skipped make their claims ``skipped``)."""
    return CLAIMS + CHECKS


# a chapter's metrics are per-seed lists keyed by name, so what a claim reads is read directly
measured_for = shown_values
