"""The claims Chapter 4 tests, each with the rule that decides its verdict.

Fixed before any full-profile run, from the CrossJEPA abstract (arXiv:2511.18424) and the laptop
validation's tables: where either reports an ordering (a monotone gain with conditioning, a winner
between objectives, no gain from masking), the rule asks for that ordering among our seed-paired
probe accuracies (%, held-out objects). The paper's ablation tables were not available, so its
column states only what the abstract says. ``cond_pose_colour`` is the full recipe (pose + colour
conditioning, teacher targets, no masking) and doubles as the "mask 0" and "teacher objective" row.

Re-registered for issue 13, before the full run that judges them: the default teacher is now the
self-trained LeJEPA ViT and the second teacher the same network untrained (the extension row asks
whether the mechanism depends on what the teacher knows); the objective claim gained a
precondition (the teacher's target must be more about the class than the pixel target, else
"predict embeddings, not pixels" compares two functions of the same pixels). The rules themselves
are unchanged.
"""

from __future__ import annotations

from jepabook.core.claims import Claim, shown_values
from jepabook.core.rules import Above, Greater, Increasing, PeakAt, SpreadGreater

__all__ = ["CLAIMS", "POSE_R2_MIN", "claims_for", "measured_for"]

#: the teacher must encode pose this well (held-out R² from single views) before conditioning on pose
#: can help by absorbing it: the precondition of the conditioning and spread claims
POSE_R2_MIN = 0.3
_POSE_TEXT = f"the teacher encodes pose: held-out R² ≥ {POSE_R2_MIN:g}"

_SHARE_TEXT = "the teacher's target is more about the class than the pixel target: class share above the pixels'"

_PAPER_COND = "conditioning on pose + colour is part of the method (ablation not available)"

CLAIMS = [
    Claim(
        id="crossjepa.learns",
        chapter="crossjepa",
        statement="Predicting the frozen teacher's embedding teaches the student: its probe beats the same "
        "student untrained.",
        paper="94.2 (ModelNet40 linear probe, 8.5 M-parameter encoder)",
        laptop="—",
        metric="probe accuracy (%) on held-out objects, full recipe vs untrained",
        rule=Greater("cond_pose_colour", "untrained"),
        shown=("cond_pose_colour", "untrained"),
        digits=1,
    ),
    Claim(
        id="crossjepa.conditioning",
        chapter="crossjepa",
        statement="Giving the predictor target-only side information improves the student: none < pose < pose + colour.",
        paper=_PAPER_COND,
        laptop="76.9 ± 5.8 < 78.6 ± 3.1 < 81.9 ± 2.4",
        metric="probe accuracy (%) per predictor conditioning",
        rule=Increasing(("cond_none", "cond_pose", "cond_pose_colour")),
        shown=("cond_none", "cond_pose", "cond_pose_colour"),
        digits=1,
        precondition=Above("teacher_pose_r2", POSE_R2_MIN),
        precondition_text=_POSE_TEXT,
    ),
    Claim(
        id="crossjepa.absorbs",
        chapter="crossjepa",
        statement="The side channel absorbs pose and colour variance: the predictor's training loss falls as "
        "conditioning is added.",
        paper="the paper's stated mechanism",
        laptop="—",
        metric="final training loss (MSE on standardised teacher embeddings) per conditioning",
        rule=Increasing(("loss_cond_pose_colour", "loss_cond_pose", "loss_cond_none")),
        shown=("loss_cond_none", "loss_cond_pose", "loss_cond_pose_colour"),
        digits=3,
    ),
    Claim(
        id="crossjepa.spread",
        chapter="crossjepa",
        statement="The seed-to-seed spread shrinks when pose and colour are given to the predictor.",
        paper="lower-variance gradients (argued)",
        laptop="sd 5.8 (none) → 2.4 (pose + colour)",
        metric="probe accuracy (%) over seeds, no conditioning vs pose + colour (variances paired by seed)",
        rule=SpreadGreater("cond_none", "cond_pose_colour"),
        shown=("cond_none", "cond_pose_colour"),
        digits=1,
        precondition=Above("teacher_pose_r2", POSE_R2_MIN),
        precondition_text=_POSE_TEXT,
    ),
    Claim(
        id="crossjepa.objective",
        chapter="crossjepa",
        statement="Predicting the teacher's embedding beats predicting the view's pixels at equal budget.",
        paper="latent prediction over reconstruction (argued)",
        laptop="81.9 ± 2.8 vs 73.3 ± 8.3",
        metric="probe accuracy (%), teacher targets vs pixel targets (same student, predictor, steps, batches)",
        rule=Greater("cond_pose_colour", "pixels"),
        shown=("cond_pose_colour", "pixels"),
        digits=1,
        precondition=Greater("teacher_class_share", "pixel_class_share"),
        precondition_text=_SHARE_TEXT,
    ),
    Claim(
        id="crossjepa.masking",
        chapter="crossjepa",
        statement="Masking is not needed: no masking ratio beats feeding the whole cloud.",
        paper="masking is not required",
        laptop="0.0: 81.7 ± 2.0; 0.3: 81.7 ± 2.0; 0.5: 80.6 ± 6.2; 0.75: 76.9 ± 5.8",
        metric="probe accuracy (%) for masking ratio 0, 0.3, 0.5, 0.75 of the point groups",
        rule=PeakAt(("cond_pose_colour", "mask_0.3", "mask_0.5", "mask_0.75"), "cond_pose_colour"),
        shown=("cond_pose_colour", "mask_0.3", "mask_0.5", "mask_0.75"),
        digits=1,
    ),
    Claim(
        id="crossjepa.masking_heavy",
        chapter="crossjepa",
        statement="Heavy masking (0.75) hurts.",
        paper="—",
        laptop="81.7 ± 2.0 (0.0) vs 76.9 ± 5.8 (0.75)",
        metric="probe accuracy (%), masking ratio 0 vs 0.75",
        rule=Greater("cond_pose_colour", "mask_0.75"),
        shown=("cond_pose_colour", "mask_0.75"),
        digits=1,
    ),
    Claim(
        id="crossjepa.second_teacher",
        chapter="crossjepa",
        statement="Extension (ours): with a random teacher (the same ViT untrained), conditioning still helps: "
        "none < pose < pose + colour.",
        paper="—",
        laptop="—",
        metric="probe accuracy (%) per predictor conditioning, second teacher",
        rule=Greater("second_pose", "second_none"),
        shown=("second_none", "second_pose"),
        digits=1,
        precondition=Above("second_teacher_pose_r2", POSE_R2_MIN),
        precondition_text=f"the random teacher encodes pose: held-out R² ≥ {POSE_R2_MIN:g}",
    ),
]


def claims_for(config=None) -> list:
    """Chapter 4's claims (they do not depend on the configuration; arms not run make theirs ``skipped``)."""
    return CLAIMS


# a chapter's metrics are per-seed lists keyed by name, so what a claim reads is read directly
measured_for = shown_values
