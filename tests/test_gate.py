"""The fair-test gate (verdicts version 3) and the non-inferiority rule: they can pass and fail."""

import math

import numpy as np
import pytest
from scipy import stats

from jepabook.core.claims import Claim, ClaimResult, judge
from jepabook.core.gate import Headroom, RecipeGain, TeacherKnows, detectable_effect, lower_bound
from jepabook.core.rules import (NOT_TESTABLE, REPRODUCED, SKIPPED, AllOf, Above, Greater, NotInferior, PeakAt,
                                 evaluate)

GATE_KEYS = {"holds", "kind", "allowed", "allowed_mean", "allowed_lcb", "detectable", "fixed", "text"}


def _learns(gate=Headroom(floor="floor", ceiling="ceiling")):
    return Claim("toy.learns", "toy", "training helps", "—", "—", "accuracy (%)", Greater("trained", "floor"),
                 digits=1, gate=gate, label="trained beats untrained", rule_text="trained > untrained (paired)")


def _world(rng, n, gain, headroom, noise=2.0, ceiling_noise=2.0):
    floor = 50 + rng.normal(0, 1, n)
    return {"floor": list(floor), "trained": list(floor + gain + rng.normal(0, noise, n)),
            "ceiling": list(floor + headroom + rng.normal(0, ceiling_noise, n))}


def test_lower_bound_is_the_one_sided_95_percent_t_bound():
    v = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert lower_bound(v) == pytest.approx(3.0 - stats.t.ppf(0.95, 4) * np.std(v, ddof=1) / math.sqrt(5))
    assert lower_bound([2.0, 2.0, 2.0]) == 2.0 and lower_bound([7.0]) == -math.inf


def test_headroom_gate_passes_and_fails_by_simulation():
    rng = np.random.default_rng(0)
    wide = [ClaimResult.of(_learns(), _world(rng, 5, 20, 40)).gate.holds for _ in range(200)]
    narrow = [ClaimResult.of(_learns(), _world(rng, 5, 2, 2, noise=3.0)).gate.holds for _ in range(200)]
    assert np.mean(wide) > 0.95  # a headroom far above what the seeds resolve: testable
    assert np.mean(narrow) < 0.05  # headroom inside the noise: not testable, whatever the training did
    # the gate decides on the lower bound, never the mean: 6.3 ± 4.0 over 5 seeds is not enough for 8.9
    m = {"floor": [0.0] * 5, "ceiling": [2.0, 3.0, 6.5, 9.0, 11.0], "trained": [3.0, -4.0, 9.0, 1.0, 12.0]}
    r = ClaimResult.of(_learns(), m)
    assert r.gate.allowed_mean > 0 and r.gate.allowed_lcb < r.gate.detectable and not r.gate.holds
    assert r.verdict == NOT_TESTABLE and "the toy could not show it" in r.gate.text
    assert r.gate.detectable == pytest.approx(Greater("trained", "floor").noise(m)[1])


def test_a_ceiling_copied_to_every_seed_is_not_a_ceiling():
    m = {"floor": [50.0, 51, 49, 50, 52], "ceiling": [95.0] * 5, "trained": [90.0, 91, 89, 92, 90]}
    r = ClaimResult.of(_learns(), m)
    assert r.gate.fixed and not r.gate.holds and r.verdict == NOT_TESTABLE
    assert "one value (95.0) for every seed" in r.gate.text
    m["ceiling"] = [95.0, 96, 94, 95, 95]  # the same run with a per-seed ceiling is testable and reproduced
    assert ClaimResult.of(_learns(), m).verdict == REPRODUCED


def test_recipe_gain_gate_for_ablations():
    rule = PeakAt(("recipe", "variant"), "recipe")
    claim = Claim("toy.abl", "toy", "recipe beats variant", "—", "—", "acc", rule, gate=RecipeGain("recipe", "control"))
    weak = {"recipe": [52.7, 52.8, 62.2], "variant": [51.0, 53.0, 58.0], "control": [50.0, 50.0, 50.0]}
    r = ClaimResult.of(claim, weak)  # gain 5.9 on the mean, carried by one seed (2.7 / 2.8 / 12.2)
    assert not r.gate.holds and r.verdict == NOT_TESTABLE and r.gate.kind == "recipe gain"
    strong = {"recipe": [80.0, 81.0, 80.5], "variant": [60.0, 61.0, 60.2], "control": [50.0, 50.5, 49.5]}
    assert ClaimResult.of(claim, strong).verdict == REPRODUCED
    by_gain = Claim("toy.abl2", "toy", "s", "—", "—", "acc", rule, gate=RecipeGain(gain="gain"))
    assert not ClaimResult.of(by_gain, {**weak, "gain": [2.7, 2.8, 12.2]}).gate.holds
    with pytest.raises(ValueError, match="recipe= and control=, or gain="):
        RecipeGain("recipe")


def test_teacher_must_know_more_than_the_untrained_student():
    claim = Claim("toy.distil", "toy", "student learns", "—", "—", "acc", Greater("student", "untrained"),
                  gate=TeacherKnows(teacher="teacher_acc", student="untrained"))
    m = {"teacher_acc": [72.9] * 5, "untrained": [80.0, 81.0, 79.5, 80.4, 81.1], "student": [81.0, 82, 80, 81, 82]}
    r = ClaimResult.of(claim, m)
    assert not r.gate.holds and r.gate.fixed and r.verdict == NOT_TESTABLE
    assert "teacher is one fixed value for every seed" in r.gate.text
    m["teacher_acc"] = [95.0] * 5  # a teacher trained once is a fixed world, not a failure
    r = ClaimResult.of(claim, m)
    assert r.gate.holds and r.gate.fixed and r.verdict == REPRODUCED


def test_gate_interface_and_json():
    m = {"floor": [50.0, 51, 49], "ceiling": [90.0, 92, 91], "trained": [80.0, 82, 81]}
    r = ClaimResult.of(_learns(), m)
    for key in GATE_KEYS:
        assert hasattr(r.gate, key)
    out = r.to_json()
    assert set(out["gate"]) == GATE_KEYS and out["gate"]["holds"] is True
    assert out["label"] == "trained beats untrained" and out["rule_text"] == "trained > untrained (paired)"
    assert ClaimResult.of(_learns(gate=None), m).gate is None and "gate" not in ClaimResult.of(_learns(None), m).to_json()


def test_a_gate_on_arms_the_run_did_not_measure_is_skipped_by_name():
    claim = _learns(Headroom(floor="floor", ceiling="acc_supervised"))
    claims, _ = judge([claim], {"floor": [1.0, 2.0], "trained": [3.0, 4.0]})
    assert claims[0].verdict == SKIPPED and claims[0].missing == ("acc_supervised",)
    direct = ClaimResult.of(claim, {"floor": [1.0, 2.0], "trained": [3.0, 4.0]})  # no KeyError either
    assert direct.verdict == SKIPPED and direct.missing == ("acc_supervised",)


def test_detectable_effect_reads_the_paired_comparisons_not_a_threshold_in_other_units():
    rule = AllOf((Greater("a", "b"), Above("fraction", 1 / 3)))
    m = {"a": [5.0, 7.0, 6.0], "b": [0.0, 1.0, 0.5], "fraction": [0.1, 0.9, 0.5]}
    assert detectable_effect(rule, m) == pytest.approx(Greater("a", "b").noise(m)[1])


@pytest.mark.parametrize("n", [3, 5, 10])
def test_non_inferiority_is_rarely_reproduced_at_the_margin(n):
    """Under the null (a is worse than b by exactly the margin) the rule reads reproduced ≤ 5 %."""
    rng = np.random.default_rng(n)
    rule = NotInferior("a", "b", margin=2.0)
    hits = []
    for _ in range(4000):
        b = rng.normal(80, 3, n)
        hits.append(evaluate(rule, {"a": list(b - 2.0 + rng.normal(0, 2, n)), "b": list(b)}) == REPRODUCED)
    assert np.mean(hits) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 4000)


def test_non_inferiority_passes_on_ties_and_fails_on_a_real_loss():
    rule = NotInferior("a", "b", margin=3.0)
    tie = {"a": [81.7, 80.9, 82.0, 81.1, 81.5], "b": [81.7, 81.2, 81.6, 80.8, 81.9]}  # 81.7 = 81.7 passes
    assert evaluate(rule, tie) == REPRODUCED and evaluate(Greater("a", "b"), tie) != REPRODUCED
    assert evaluate(rule, {"a": [70.0, 71, 72], "b": [80.0, 81, 80]}) == "not reproduced"
    assert "non-inferiority" in rule.describe()
    with pytest.raises(ValueError, match="margin must be"):
        NotInferior("a", "b", margin=0.0)
