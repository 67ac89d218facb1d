"""The fair-test gate (verdicts version 3): could the toy have shown the claim at all?

A comparative claim declares one gate (or a tuple of gates). Each gate names the arms that measure
the largest effect the toy allows, per seed, and the gate holds when that effect is there *beyond
noise*: its one-sided 95 % lower confidence bound over seeds (``mean − t₀.₉₅·SE``, never the mean
alone) exceeds a threshold. When a gate fails the claim reads ``not testable here`` and its row says
why, in numbers.

- :class:`Headroom` (``floor``, ``ceiling``): "training helps" claims. The allowed effect is the
  headroom ``ceiling − floor`` per seed; the threshold is the claim's own smallest detectable effect
  at the run's seed count (:func:`detectable_effect`). A ceiling that is the same value in every seed
  (one seed's ceiling copied to all) is not a per-seed ceiling: the gate fails and says so.
- :class:`RecipeGain` (``recipe``, ``control``): ablations. The allowed effect is the recipe's gain
  over its untrained control per seed (or a metric that already is that gain, ``gain=``); the
  threshold is again the detectable effect: an ordering among variants of a recipe that gains less
  than the seeds can resolve cannot show.
- :class:`TeacherKnows` (``teacher``, ``student``): distillation. The teacher's class decodability
  must exceed the untrained student's beyond noise (threshold 0): a student cannot learn from a
  teacher what the teacher does not know. A teacher trained once gives one value for every seed;
  the gate says so (that is a fixed world, not a failure).

The detectable effect (:func:`detectable_effect`) is the largest of the claim rule's paired
comparisons' detectable effects (one-sided 5 %, 80 % power; :meth:`jepabook.core.rules.Rule.noise`),
in the units of the compared arms; a rule without paired comparisons falls back to its own noise.

Explained in Chapter 1 (JEPA basics); Chapter 6 shows every gate in the ledger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from jepabook.core.rules import ALPHA, Greater, NotInferior, Rule

__all__ = ["Gate", "GateResult", "Headroom", "RecipeGain", "TeacherKnows", "detectable_effect", "gate_arms",
           "judge_gate", "lower_bound"]

Measured = Mapping[str, Sequence[float]]


def lower_bound(v: Sequence[float]) -> float:
    """One-sided 95 % lower confidence bound of the mean of ``v``: ``mean − t₀.₉₅(n − 1)·SE``.

    Values without spread give the mean itself (a deterministic quantity); one value gives −∞ (one
    seed says nothing about noise)."""
    v = np.asarray(v, dtype=np.float64)
    if v.size < 2:
        return -math.inf
    sd = float(v.std(ddof=1))
    if sd == 0.0:
        return float(v.mean())
    return float(v.mean() - stats.t.ppf(1 - ALPHA, v.size - 1) * sd / math.sqrt(v.size))


def _comparisons(rule: Rule) -> list[Rule]:
    parts = rule.parts() if hasattr(rule, "parts") else [rule]
    out = []
    for p in parts:
        if hasattr(p, "parts"):
            out += _comparisons(p)
        elif isinstance(p, (Greater, NotInferior)):
            out.append(p)
    return out


def detectable_effect(rule: Rule, m: Measured) -> float:
    """The smallest effect ``rule``'s paired comparisons can detect on ``m`` (the largest of theirs)."""
    parts = _comparisons(rule)
    if not parts:
        return float(rule.noise(m)[1])
    return float(max(p.noise(m)[1] for p in parts))


def _fixed(v: np.ndarray) -> bool:
    return bool(v.size > 1 and np.all(v == v[0]))


@dataclass(frozen=True)
class GateResult:
    """What a gate found: ``holds``, its ``kind``, the effect ``allowed`` per seed with its mean and
    95 % lower bound, the ``detectable`` effect it was held against, whether the deciding arm is one
    ``fixed`` value for every seed, and a one-line reason in words with numbers (``text``)."""

    holds: bool
    kind: str
    allowed: tuple[float, ...]
    allowed_mean: float
    allowed_lcb: float
    detectable: float
    fixed: bool
    text: str

    def to_json(self) -> dict:
        num = lambda x: float(x) if math.isfinite(x) else None  # noqa: E731
        return {"holds": bool(self.holds), "kind": self.kind, "allowed": [float(x) for x in self.allowed],
                "allowed_mean": num(self.allowed_mean), "allowed_lcb": num(self.allowed_lcb),
                "detectable": num(self.detectable), "fixed": bool(self.fixed), "text": self.text}


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}f}".replace("-", "−") if math.isfinite(x) else ("−∞" if x < 0 else "∞")


class Gate:
    """What every gate provides: the arms it reads, the allowed effect per seed, and its judgement."""

    kind = "gate"
    noun = "effect"  # what the allowed effect is called in the row's reason

    def arms(self) -> tuple[str, ...]:
        raise NotImplementedError

    def allowed(self, m: Measured) -> np.ndarray:
        raise NotImplementedError

    def fixed_arm(self) -> str:
        """The arm whose being one value for every seed the row reports."""
        raise NotImplementedError

    def threshold(self, detectable: float) -> float:
        return detectable

    def fixed_fails(self) -> bool:
        return False

    def judge(self, m: Measured, rule: Rule, digits: int = 1) -> GateResult:
        a = self.allowed(m)
        mean, lcb = float(a.mean()), lower_bound(a)
        det = detectable_effect(rule, m)
        fixed = _fixed(np.asarray(m[self.fixed_arm()], dtype=np.float64))
        limit = self.threshold(det)
        d = digits
        sd = f" ± {_fmt(float(a.std(ddof=1)), d)}" if a.size > 1 else ""
        head = f"{self.noun} {_fmt(mean, d)}{sd} (95 % lower bound {_fmt(lcb, d)})"
        if fixed and self.fixed_fails():
            return GateResult(False, self.kind, tuple(map(float, a)), mean, lcb, det, True,
                              f"{head}, but the {self.fixed_arm_words()} is one value "
                              f"({_fmt(float(m[self.fixed_arm()][0]), d)}) for every seed: not a per-seed "
                              f"{self.fixed_arm_words()}, so the toy could not show it")
        holds = bool(math.isfinite(limit) and lcb > limit)
        against = f"detectable {_fmt(det, d)}" if limit == det else "0"
        verdict = "the toy could show it" if holds else "the toy could not show it"
        fixed_note = f"; the {self.fixed_arm_words()} is one fixed value for every seed" if fixed else ""
        return GateResult(holds, self.kind, tuple(map(float, a)), mean, lcb, det, fixed,
                          f"{head} {'>' if holds else '≤'} {against}: {verdict}{fixed_note}")

    def fixed_arm_words(self) -> str:
        return self.fixed_arm()


def _diff(m: Measured, a: str, b: str) -> np.ndarray:
    x, y = np.asarray(m[a], dtype=np.float64), np.asarray(m[b], dtype=np.float64)
    if x.size != y.size:
        raise ValueError(f"gate arms {a!r} and {b!r} have different seed counts ({x.size} and {y.size})")
    return x - y


@dataclass(frozen=True)
class Headroom(Gate):
    """"Training helps" is testable when the headroom ``ceiling − floor`` (per seed) exceeds the claim's
    detectable effect on its 95 % lower bound; a ceiling copied to every seed fails."""

    floor: str
    ceiling: str
    kind = "headroom"
    noun = "headroom"

    def arms(self):
        return (self.floor, self.ceiling)

    def allowed(self, m):
        return _diff(m, self.ceiling, self.floor)

    def fixed_arm(self):
        return self.ceiling

    def fixed_arm_words(self):
        return "ceiling"

    def fixed_fails(self):
        return True


@dataclass(frozen=True)
class RecipeGain(Gate):
    """An ablation is testable when the recipe's gain over its untrained ``control`` (per seed; or the
    metric ``gain`` that already is that gain) exceeds the claim's detectable effect on its 95 %
    lower bound."""

    recipe: str = ""
    control: str = ""
    gain: str = ""
    kind = "recipe gain"
    noun = "recipe gain"

    def __post_init__(self):
        if bool(self.gain) == bool(self.recipe and self.control):
            raise ValueError("RecipeGain needs either recipe= and control=, or gain= alone")

    def arms(self):
        return (self.gain,) if self.gain else (self.recipe, self.control)

    def allowed(self, m):
        return np.asarray(m[self.gain], dtype=np.float64) if self.gain else _diff(m, self.recipe, self.control)

    def fixed_arm(self):
        return self.gain or self.control

    def fixed_arm_words(self):
        return "recipe gain" if self.gain else "control"


@dataclass(frozen=True)
class TeacherKnows(Gate):
    """Distillation is testable when the ``teacher``'s class decodability exceeds the untrained
    ``student``'s beyond noise (95 % lower bound of the per-seed difference above 0)."""

    teacher: str
    student: str
    kind = "teacher knows"
    noun = "teacher − untrained student"

    def arms(self):
        return (self.teacher, self.student)

    def allowed(self, m):
        return _diff(m, self.teacher, self.student)

    def fixed_arm(self):
        return self.teacher

    def fixed_arm_words(self):
        return "teacher"

    def threshold(self, detectable):
        return 0.0


def gate_arms(gate) -> tuple[str, ...]:
    """Every arm ``gate`` (one gate, a tuple of gates, or None) reads."""
    gates = () if gate is None else (gate if isinstance(gate, tuple) else (gate,))
    return tuple(dict.fromkeys(a for g in gates for a in g.arms()))


def judge_gate(gate, m: Measured, rule: Rule, digits: int = 1) -> GateResult | None:
    """Judge ``gate`` (one, a tuple, or None) on ``m``: the first failing gate's result, else the last's."""
    if gate is None:
        return None
    results = [g.judge(m, rule, digits) for g in (gate if isinstance(gate, tuple) else (gate,))]
    return next((r for r in results if not r.holds), results[-1])
