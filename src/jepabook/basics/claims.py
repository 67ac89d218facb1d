"""The claims Chapter 1 tests, each with the rule that decides its verdict, and its checks.

Thresholds are fixed here, before any run, from the wording of the claim ("healthy" shadow variance
as within 25 % of 1, ...); see Chapter 1.

Re-registered for verdicts version 3 (issue 25), before the runs that judge them: the collapse
claim's "probe R² ≈ 0" is read against the raw input's R², paired by seed (the collapsed probe is no
better than the raw input, within a margin of 0.05 R² fixed here), instead of a fixed 0.1 that one
seed decided; the meter became a check on clouds whose reading is known by construction (a collapsed
cloud, the SIGReg arm, and an isotropic N(0, 3²) cloud that is over-spread by construction): the raw
spiral read 0.19 ± 0.008 every time, so as a claim it could never pass.

Checks (verdicts version 2) are properties of the code or of a construction, shown with pass/fail
and never counted as reproductions: the raw input hides t by construction of the lift, the EMA
numbers are arithmetic, the collapse-gradient values are identities of the two tests, and the cigar
is built by a regulariser that only sees the axes.
"""

from __future__ import annotations

import math

from jepabook.core.claims import Check, Claim, shown_values
from jepabook.core.rules import Above, AllOf, Below, Greater, NotInferior, Within

__all__ = ["CHECKS", "CLAIMS", "claims_for", "measured_for"]

GAUSSIAN_METER = math.exp(-0.5)  # |E e^{itX}| at t = 1 for X ~ N(0, 1)
WIDE_METER = math.exp(-4.5)  # the same for X ~ N(0, 3²): an over-spread cloud reads about 0.011
#: "R² ≈ 0": the collapsed probe recovers t no better than the raw input does, within this margin
COLLAPSE_R2_MARGIN = 0.05

CLAIMS = [
    Claim(
        id="basics.collapse",
        chapter="basics",
        statement="Neighbour prediction alone collapses: the cloud shrinks to ~1e-3 units and the probe R² ≈ 0.",
        paper="—",
        laptop="cloud ~1e-3 units; R² ≈ 0",
        metric="mean per-axis std of the embeddings; held-out probe R², prediction alone vs the raw input",
        rule=AllOf((Below("predict_scale", 1e-2), NotInferior("raw_r2", "predict_r2", COLLAPSE_R2_MARGIN))),
        shown=("predict_scale", "predict_r2", "raw_r2"),
        digits=3,
        label="prediction alone collapses",
        rule_text=f"cloud spread < 0.01 and probe R² ≤ the raw input's R² + {COLLAPSE_R2_MARGIN:g} (paired, "
        "non-inferiority)",
    ),
    Claim(
        id="basics.sigreg_probe",
        chapter="basics",
        statement="With SIGReg added, the cloud stays spread and a linear probe recovers t.",
        paper="—",
        laptop="R² = 0.765",
        metric="held-out probe R² (SIGReg arm vs prediction alone and raw input)",
        rule=AllOf((Greater("sigreg_r2", "predict_r2"), Greater("sigreg_r2", "raw_r2"))),
        shown=("sigreg_r2", "predict_r2", "raw_r2"),
        label="SIGReg keeps the cloud readable",
        rule_text="probe R² with SIGReg > prediction alone and > raw input (both paired)",
    ),
]


CHECKS = [
    Check(
        id="basics.meter",
        chapter="basics",
        statement="The circle-wrap meter |mean e^{itx}| reads 1 at collapse, about e^{-t²/2} for a healthy "
        "spread and about 0 when over-spread.",
        reference="laptop validation: 1.0 / ~0.67 / ~0 (one t)",
        metric=f"meter at t = 1 on random shadows: the collapsed arm, the SIGReg arm (N(0,1) value "
        f"{GAUSSIAN_METER:.3f}), and an isotropic N(0, 3²) cloud, over-spread by construction (value {WIDE_METER:.3f})",
        rule=AllOf((Above("meter_collapsed", 0.95), Within("meter_healthy", GAUSSIAN_METER, 0.1),
                    Below("meter_wide_gaussian", 0.1))),
        shown=("meter_collapsed", "meter_healthy", "meter_wide_gaussian"),
        label="the meter reads 1, e^(−1/2) and ≈ 0",
        rule_text="collapsed > 0.95; SIGReg cloud within 0.1 of e^(−1/2) ≈ 0.61; N(0, 3²) cloud < 0.1",
    ),
    Check(
        id="basics.raw_probe",
        chapter="basics",
        statement="No linear readout recovers the hidden coordinate t from the noisy 50-D lift.",
        reference='laptop validation: R² essentially zero (4,096 points)',
        metric="held-out R² of a linear probe on the raw input",
        rule=Below("raw_r2", 0.1),
        shown=("raw_r2",),
        label="the raw input hides t",
        rule_text="probe R² on the raw input < 0.1 in every seed",
    ),
    Check(
        id="basics.cigar",
        chapter="basics",
        statement="A cloud can look healthy along the directions checked and broken along others (a cigar).",
        reference='laptop validation: built cigar, shadow variance 4.1 along, 0.02 across',
        metric="variance along the coordinate axes (the checked directions) vs the widest and narrowest shadow, "
        "after training with axis-only moment matching",
        rule=AllOf((Within("axis_variance", 1.0, 0.25), Above("shadow_along", 2.0), Below("shadow_across", 0.5))),
        shown=("axis_variance", "shadow_along", "shadow_across"),
        label="a cigar passes axis checks",
        rule_text="axis variance within 0.25 of 1; widest shadow > 2; narrowest < 0.5",
    ),
    Check(
        id="basics.collapse_gradient",
        chapter="basics",
        statement="Near collapse the Epps–Pulley gradient pushes outward, growing linearly with the spread, "
        "and is exactly zero at total collapse; a standardised moment test gives no outward push.",
        reference='LeJEPA: EP has a gradient near collapse; moment tests have none',
        metric="‖∇EP‖ at spread 0; outward push −∂EP/∂s at s = 0.01 and its ratio to s = 0.001; "
        "|cos| between the moment test's descent direction and the outward direction",
        rule=AllOf((Below("ep_grad_norm_at_collapse", 1e-6), Above("ep_push_0.01", 0.0),
                    Within("ep_push_ratio", 10.0, 2.0), Below("std_moments_abs_cos_0.01", 1e-3))),
        shown=("ep_grad_norm_at_collapse", "ep_push_0.01", "ep_push_ratio", "std_moments_abs_cos_0.01"),
        digits=3,
        label="Epps–Pulley pushes out of collapse",
        rule_text="‖∇‖ = 0 at total collapse; push > 0 at spread 0.01, 10 ± 2 times that at 0.001; "
        "moment test's |cos| < 0.001",
    ),
    Check(
        id="basics.ema",
        chapter="basics",
        statement="An EMA with τ = 0.996 moves the target 0.4 % of the gap per step, time constant ≈ 250 steps.",
        reference='review of I-JEPA: 0.4 %/step, ~250 steps',
        metric="% of a unit jump covered after one update; updates until 63.2 % is covered",
        rule=AllOf((Within("ema_first_step_pct", 0.4, 0.01), Within("ema_steps_to_63pct", 250.0, 5.0))),
        shown=("ema_first_step_pct", "ema_steps_to_63pct"),
        digits=1,
        label="EMA arithmetic at τ = 0.996",
        rule_text="first step 0.4 ± 0.01 % of the gap; 63.2 % reached in 250 ± 5 steps",
    ),
]


def claims_for(config=None) -> list:
    """Chapter 1's claims and checks (they do not depend on the configuration)."""
    return CLAIMS + CHECKS


# a chapter's metrics are per-seed lists keyed by name, so what a claim reads is read directly
measured_for = shown_values
