"""The claims Chapter 4 tests, each with the rule that decides its verdict.

Fixed before any full-profile run, from the CrossJEPA abstract (arXiv:2511.18424) and the laptop
validation's tables: where either reports an ordering (a gain with conditioning, a winner between
objectives, no gain from masking), the rule asks for that ordering among our seed-paired probe
accuracies (%, held-out objects). The paper's ablation tables were not available, so its column
states only what the abstract says. ``cond_pose_colour`` is the full recipe (pose + colour
conditioning, teacher targets, no masking) and doubles as the "mask 0" and "teacher objective" row.

Re-registered for issue 13 (a self-trained teacher, the objective claim's class-share precondition)
and for verdicts version 3 (issue 25: the fair-test gates, masking as non-inferiority, absorbs a check).

Re-registered for issue 29, before the runs that judge them:

- the default teacher is a network trained with labels on renders of its own objects (the
  self-trained one knew the class no better than the untrained student); ten seeds at ``full``;
- "learns" is gated on the teacher knowing the class better than the untrained student
  (:class:`~jepabook.core.gate.TeacherKnows`) and on the headroom to the per-seed supervised ceiling
  (:class:`~jepabook.core.gate.Headroom`: the same student trained with the probe's labels);
- the conditioning claim is split as the paper makes it, pose and colour being separate predictor
  inputs: ``none < pose`` (needs a teacher that encodes pose) and ``pose < pose + colour`` (needs a
  teacher that encodes colour, the same threshold), so a pose effect is not hidden by an absent
  colour effect;
- ``crossjepa.spread`` is dropped: a Pitman–Morgan test of two spreads at the probe's noise has
  almost no power at five seeds, nor at ten; the spreads are still printed in the chapter;
- "heavy masking hurts" is also read against the untrained student (an extension of ours): ending
  below the whole cloud may mean learning less, or damage (below untrained);
- the extension row (a random teacher) tests the pose input alone, gated on that recipe's own gain
  over the untrained student (a random teacher knows no class, so the distillation gate is not its
  question).
"""

from __future__ import annotations

from jepabook.core.claims import Check, Claim, shown_values
from jepabook.core.gate import Headroom, RecipeGain, TeacherKnows
from jepabook.core.rules import Above, AllOf, Greater, Increasing, NotInferior

__all__ = ["CHECKS", "CLAIMS", "COLOUR_R2_MIN", "MASKING_MARGIN", "POSE_R2_MIN", "claims_for", "measured_for"]

#: "masking is not needed": a masking ratio may beat the unmasked recipe by less than this (points of
#: probe accuracy) and the claim still holds; about one seed standard deviation of the recipe in the
#: laptop validation (2.0–3.1)
MASKING_MARGIN = 3.0

#: the student can learn the class from the teacher only if the teacher knows it better than the
#: untrained student already does (beyond noise)
_TEACHER = TeacherKnows(teacher="teacher_class_acc", student="untrained")
#: "training helps" can show only if the supervised ceiling stands above the untrained student by more
#: than the seeds can detect, seed by seed
_HEADROOM = Headroom(floor="untrained", ceiling="ceiling")
#: an ablation of the recipe can show only if the recipe gains more than its seeds can detect
_RECIPE = RecipeGain(recipe="cond_pose_colour", control="untrained")

#: the teacher must encode pose this well (held-out R² from single views) before conditioning on pose
#: can help by absorbing it
POSE_R2_MIN = 0.3
#: and colour as well (the same threshold) before conditioning on colour can
COLOUR_R2_MIN = 0.3

_PAPER_COND = "conditioning on pose + colour is part of the method (ablation not available)"

CLAIMS = [
    Claim(
        id="crossjepa.learns",
        chapter="crossjepa",
        statement="Predicting the frozen teacher's embedding teaches the student: its probe beats the same "
        "student untrained.",
        paper="94.2 (ModelNet40 linear probe, 8.5 M-parameter encoder)",
        laptop="—",
        metric="probe accuracy (%) on held-out objects, full recipe vs untrained (supervised ceiling shown)",
        rule=Greater("cond_pose_colour", "untrained"),
        shown=("cond_pose_colour", "untrained", "ceiling"),
        digits=1,
        gate=(_TEACHER, _HEADROOM),
        label="the student learns from the teacher",
        rule_text="full recipe > untrained student (paired)",
    ),
    Claim(
        id="crossjepa.conditioning_pose",
        chapter="crossjepa",
        statement="Giving the predictor the camera pose, which only the target depends on, improves the student.",
        paper=_PAPER_COND,
        laptop="76.9 ± 5.8 (none) < 78.6 ± 3.1 (pose)",
        metric="probe accuracy (%), no conditioning vs pose",
        rule=Greater("cond_pose", "cond_none"),
        shown=("cond_none", "cond_pose"),
        digits=1,
        precondition=Above("teacher_pose_r2", POSE_R2_MIN),
        precondition_text=f"the teacher encodes pose: held-out R² ≥ {POSE_R2_MIN:g}",
        gate=(_TEACHER, _RECIPE),
        label="the pose input helps the student",
        rule_text="none < pose (paired)",
    ),
    Claim(
        id="crossjepa.conditioning_colour",
        chapter="crossjepa",
        statement="Adding the view's colour histogram to the pose improves the student further.",
        paper=_PAPER_COND,
        laptop="78.6 ± 3.1 (pose) < 81.9 ± 2.4 (pose + colour)",
        metric="probe accuracy (%), pose vs pose + colour",
        rule=Greater("cond_pose_colour", "cond_pose"),
        shown=("cond_pose", "cond_pose_colour"),
        digits=1,
        precondition=Above("teacher_colour_r2", COLOUR_R2_MIN),
        precondition_text=f"the teacher encodes colour: held-out R² of the hue ≥ {COLOUR_R2_MIN:g}",
        gate=(_TEACHER, _RECIPE),
        label="the colour input helps further",
        rule_text="pose < pose + colour (paired)",
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
        precondition_text="the teacher's target is more about the class than the pixel target: class share "
        "above the pixels'",
        gate=_TEACHER,
        label="teacher targets beat pixel targets",
        rule_text="teacher-embedding targets > pixel targets (paired)",
    ),
    Claim(
        id="crossjepa.masking",
        chapter="crossjepa",
        statement="Masking is not needed: no masking ratio beats feeding the whole cloud.",
        paper="masking is not required",
        laptop="0.0: 81.7 ± 2.0; 0.3: 81.7 ± 2.0; 0.5: 80.6 ± 6.2; 0.75: 76.9 ± 5.8",
        metric="probe accuracy (%) for masking ratio 0, 0.3, 0.5, 0.75 of the point groups",
        rule=AllOf(tuple(NotInferior("cond_pose_colour", m, MASKING_MARGIN)
                         for m in ("mask_0.3", "mask_0.5", "mask_0.75"))),
        shown=("cond_pose_colour", "mask_0.3", "mask_0.5", "mask_0.75"),
        digits=1,
        gate=(_TEACHER, _RECIPE),
        label="masking is not needed",
        rule_text=f"no masking ≥ each masking ratio − {MASKING_MARGIN:g} points (paired, non-inferiority)",
    ),
    Claim(
        id="crossjepa.masking_heavy",
        chapter="crossjepa",
        statement="Heavy masking (0.75) hurts: the student ends below the one fed the whole cloud.",
        paper="—",
        laptop="81.7 ± 2.0 (0.0) vs 76.9 ± 5.8 (0.75)",
        metric="probe accuracy (%), masking ratio 0 vs 0.75",
        rule=Greater("cond_pose_colour", "mask_0.75"),
        shown=("cond_pose_colour", "mask_0.75", "untrained"),
        digits=1,
        gate=(_TEACHER, _RECIPE),
        label="heavy masking hurts",
        rule_text="no masking > masking 0.75 (paired)",
    ),
    Claim(
        id="crossjepa.masking_heavy_learns",
        chapter="crossjepa",
        statement="Extension (ours): heavy masking (0.75) still teaches the student something: it ends above "
        "the untrained student, so 'hurts' means learning less, not damage.",
        paper="—",
        laptop="—",
        metric="probe accuracy (%), masking ratio 0.75 vs untrained",
        rule=Greater("mask_0.75", "untrained"),
        shown=("mask_0.75", "untrained"),
        digits=1,
        gate=_TEACHER,
        label="heavy masking still learns",
        rule_text="masking 0.75 > untrained student (paired)",
    ),
    Claim(
        id="crossjepa.second_teacher",
        chapter="crossjepa",
        statement="Extension (ours): with a random teacher (a ViT at its initialisation), the pose input still "
        "helps.",
        paper="—",
        laptop="—",
        metric="probe accuracy (%), no conditioning vs pose, random teacher",
        rule=Greater("second_pose", "second_none"),
        shown=("second_none", "second_pose"),
        digits=1,
        precondition=Above("second_teacher_pose_r2", POSE_R2_MIN),
        precondition_text=f"the random teacher encodes pose: held-out R² ≥ {POSE_R2_MIN:g}",
        gate=RecipeGain(recipe="second_pose", control="untrained"),
        label="the pose input helps with a random teacher",
        rule_text="none < pose (paired), random teacher",
    ),
]


#: properties of the construction, shown with pass/fail and never counted as reproductions
CHECKS = [
    Check(
        id="crossjepa.absorbs",
        chapter="crossjepa",
        statement="The side channel absorbs pose and colour variance: the predictor's training loss falls as "
        "conditioning is added.",
        reference="the paper's stated mechanism; holds by construction (a regression given more informative "
        "inputs fits its target better)",
        metric="final training loss (MSE on standardised teacher embeddings) per conditioning",
        rule=Increasing(("loss_cond_pose_colour", "loss_cond_pose", "loss_cond_none")),
        shown=("loss_cond_none", "loss_cond_pose", "loss_cond_pose_colour"),
        digits=3,
        label="more predictor inputs, lower loss",
        rule_text="training loss: pose + colour < pose < none, in every seed",
    ),
]


def claims_for(config=None) -> list:
    """Chapter 4's claims and checks (they do not depend on the configuration; arms not run make theirs
    ``skipped``)."""
    return CLAIMS + CHECKS


# a chapter's metrics are per-seed lists keyed by name, so what a claim reads is read directly
measured_for = shown_values
