"""The claims Chapter 2 tests, each with the rule that decides its verdict.

Thresholds and rules are fixed here, before any full-profile run, from the shape of each claim in
the I-JEPA paper (arXiv:2301.08243): where the paper reports an ordering (a peak, a monotone trend,
a winner), the rule asks for that ordering among our seed-paired probe accuracies, in percent. The
sampler is a check (a property of the released code, not a reproduction), against the numbers in the project's notes on the released code (a
realised context of about 0.26 of a 14×14 grid at batch 128, concentrated in the top rows), with a
tolerance of ±0.05 fixed in advance. See Chapter 2.
"""

from __future__ import annotations

from jepabook.core.claims import AllOf, Check, Claim, Greater, Increasing, PeakAt, Within, shown_values

__all__ = ["CHECKS", "CLAIMS", "claims_for", "measured_for"]

CLAIMS = [
    Claim(
        id="ijepa.learns",
        chapter="ijepa",
        statement="I-JEPA training improves the linear probe over the same encoder untrained.",
        paper="— (implicit)",
        laptop="—",
        metric="probe accuracy (%) on the mean-pooled target encoder, multi-block vs untrained (shapes)",
        rule=Greater("acc_multiblock", "acc_untrained"),
        shown=("acc_multiblock", "acc_untrained"),
        digits=1,
    ),
    Claim(
        id="ijepa.masking",
        chapter="ijepa",
        statement="Multi-block masking beats random, block and rasterized masking.",
        paper="multi-block 54.2, rasterized 15.5, block 20.2, random 17.6 (IN-1k 1 %)",
        laptop="—",
        metric="probe accuracy (%) per masking strategy (shapes)",
        rule=PeakAt(("acc_multiblock", "acc_random", "acc_block", "acc_rasterized"), "acc_multiblock"),
        shown=("acc_multiblock", "acc_random", "acc_block", "acc_rasterized"),
        digits=1,
    ),
    Claim(
        id="ijepa.target_scale",
        chapter="ijepa",
        statement="Target blocks must be large enough, but not too large: (0.15, 0.2) is best.",
        paper="(0.075,0.2) 19.2; (0.15,0.2) 54.2; (0.2,0.3) 33.6",
        laptop="—",
        metric="probe accuracy (%) per target scale range (shapes)",
        rule=PeakAt(("acc_tscale_0.075", "acc_multiblock", "acc_tscale_0.2"), "acc_multiblock"),
        shown=("acc_tscale_0.075", "acc_multiblock", "acc_tscale_0.2"),
        digits=1,
    ),
    Claim(
        id="ijepa.context_scale",
        chapter="ijepa",
        statement="The context block must be large: accuracy grows with its scale.",
        paper="0.40 → 31.2; 0.65 → 47.1; 0.85 → 54.2",
        laptop="—",
        metric="probe accuracy (%) for context scale (0.40,1), (0.65,1), (0.85,1) (shapes)",
        rule=Increasing(("acc_cscale_0.40", "acc_cscale_0.65", "acc_multiblock")),
        shown=("acc_cscale_0.40", "acc_cscale_0.65", "acc_multiblock"),
        digits=1,
    ),
    Claim(
        id="ijepa.n_targets",
        chapter="ijepa",
        statement="Several target blocks help: accuracy grows from 1 to 4 targets.",
        paper="1 → 9.0; 2 → 22.0; 3 → 48.5; 4 → 54.2",
        laptop="—",
        metric="probe accuracy (%) for 1, 2, 3, 4 targets (shapes)",
        rule=Increasing(("acc_targets_1", "acc_targets_2", "acc_targets_3", "acc_multiblock")),
        shown=("acc_targets_1", "acc_targets_2", "acc_targets_3", "acc_multiblock"),
        digits=1,
    ),
    Claim(
        id="ijepa.pixels",
        chapter="ijepa",
        statement="Predicting representations beats predicting pixels (procedural shapes over gratings).",
        paper="ViT-L/16: 66.9 (representations, 500 ep) vs 40.7 (pixels, 800 ep)",
        laptop="—",
        metric="probe accuracy (%) at equal steps, batch and masks (shapes)",
        rule=Greater("acc_multiblock", "acc_pixels"),
        shown=("acc_multiblock", "acc_pixels", "acc_untrained"),
        digits=1,
    ),
    Claim(
        id="ijepa.pixels_digits",
        chapter="ijepa",
        statement="Predicting representations beats predicting pixels (scikit-learn digits, a real image set).",
        paper="as above",
        laptop="—",
        metric="probe accuracy (%) at equal steps, batch and masks (digits)",
        rule=Greater("acc_digits_multiblock", "acc_digits_pixels"),
        shown=("acc_digits_multiblock", "acc_digits_pixels", "acc_digits_untrained"),
        digits=1,
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
    ),
]


def claims_for(config=None) -> list:
    """Chapter 2's claims and checks (the arms a run skipped make their claims ``skipped``)."""
    return CLAIMS + CHECKS


# a chapter's metrics are per-seed lists keyed by name, so what a claim reads is read directly
measured_for = shown_values
