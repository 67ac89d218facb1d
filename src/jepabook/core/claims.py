"""Claims and checks: what a chapter tests, and the judging of each from per-seed measurements.

A :class:`Claim` states what a paper (or the laptop validation) says, an optional **precondition**
that makes the toy able to test it, and the rule (:mod:`jepabook.core.rules`) that decides it. The
verdict is computed from per-seed measurements, never typed: the rule's verdict
(:func:`jepabook.core.rules.evaluate`), or

- ``not testable here``: the precondition failed beyond noise (the row shows the measured
  precondition), or the claim's fair-test gate (:mod:`jepabook.core.gate`) says the toy could not
  have shown it (the row says why, in numbers);
- ``skipped``: the run did not measure what the claim reads (its arms were not run).

A :class:`Check` is kept apart: an identity, a property of code or a constructed example (EMA
arithmetic, a sampler statistic, a gradient identity, a hand-built cloud). It passes when its rule
holds in every seed, and it is never counted as a reproduction.

Explained in Chapter 1 (JEPA basics); Chapter 6 assembles every chapter's claims into the ledger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from jepabook.core.gate import GateResult, gate_arms, judge_gate
from jepabook.core.render import fmt_p, fmt_value, mean_sd
from jepabook.core.rules import (FAIL, NOT_REPRODUCED, NOT_TESTABLE, PASS, SKIPPED, BoundEveryRun, Rule, evaluate)

__all__ = ["Check", "CheckResult", "Claim", "ClaimResult", "MissingMetric", "judge", "shown_values"]

Measured = Mapping[str, Sequence[float]]


class MissingMetric(KeyError):
    """A claim reads metrics the run did not produce (their arms were not run)."""

    def __init__(self, names: Sequence[str], available: Sequence[str] = ()):
        self.names = tuple(names)
        super().__init__(f"not measured: {', '.join(self.names)}; measured: {', '.join(sorted(available)) or 'nothing'}")


@dataclass(frozen=True)
class Claim:
    """One tested claim.

    Attributes:
        id: ``chapter.short_name``.
        chapter: chapter key (``basics``, ``ijepa``, ...).
        statement: the claim in one sentence.
        paper, laptop: the reference values as published ("—" where none exists).
        metric: what the measured arms are.
        rule: decides the verdict from the per-seed values.
        shown: the arms printed in the table, in order (default: the rule's arms).
        digits: decimals printed for the measured values.
        precondition: a rule the toy must satisfy *beyond noise* (on the means and by its one-sided
            test, i.e. a lower confidence bound) for the claim to be testable, e.g.
            ``Above("teacher_pose_r2", 0.3)``; when it fails the verdict is ``not testable here``.
        precondition_text: the precondition in words.
        gate: the fair-test gate (:mod:`jepabook.core.gate`): one gate or a tuple of gates, e.g.
            ``Headroom(floor="acc_untrained", ceiling="acc_supervised")``; when it fails the verdict
            is ``not testable here`` and the row gives the gate's numbers.
        label: the claim in a few plain words for the tables ("multi-block beats untrained"); no
            metric names (those go to a detail row).
        rule_text: the rule in words and math ("multi-block > untrained (paired) and closes ≥ ⅓ of
            the headroom"); no metric names.
    """

    id: str
    chapter: str
    statement: str
    paper: str
    laptop: str
    metric: str
    rule: Rule
    shown: tuple[str, ...] = ()
    digits: int = 2
    precondition: Rule | None = None
    precondition_text: str = ""
    gate: object = None
    label: str = ""
    rule_text: str = ""

    kind = "claim"

    def reads(self) -> tuple[str, ...]:
        """Every metric the claim needs: shown arms, the rule's, the precondition's, the gate's."""
        pre = self.precondition.arms() if self.precondition is not None else ()
        return tuple(dict.fromkeys((*(self.shown or ()), *self.rule.arms(), *pre, *gate_arms(self.gate))))


@dataclass(frozen=True)
class Check:
    """A property the chapter's code or construction must have (an identity, a sampler statistic, a
    built example): passes when its rule holds in every seed. Shown apart; never a reproduction."""

    id: str
    chapter: str
    statement: str
    reference: str
    metric: str
    rule: Rule
    shown: tuple[str, ...] = ()
    digits: int = 2
    label: str = ""
    rule_text: str = ""

    kind = "check"

    def reads(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*(self.shown or ()), *self.rule.arms())))


def shown_values(claim: Claim | Check, result) -> dict[str, list[float]]:
    """The per-seed values of every metric ``claim`` reads, from ``result.per_seed`` (or a mapping of
    per-seed lists); :class:`MissingMetric` names what is absent."""
    if isinstance(result, Mapping):
        metrics = result
    else:
        metrics = result.metrics
    missing = [name for name in claim.reads() if name not in metrics]
    if missing:
        raise MissingMetric(missing, list(metrics))
    return {name: list(metrics[name]) for name in claim.reads()}


@dataclass(frozen=True)
class ClaimResult:
    """A claim with its measurements, its noise and its computed verdict."""

    claim: Claim
    measured: dict[str, list[float]]
    verdict: str
    p: float = math.nan
    se: float = math.nan
    detectable: float = math.nan
    precondition_holds: bool | None = None
    missing: tuple[str, ...] = ()
    gate: GateResult | None = None
    precondition_fixed: bool = False

    @classmethod
    def of(cls, claim: Claim, measured: Measured) -> ClaimResult:
        """Judge ``claim`` on ``measured``; what it reads and ``measured`` lacks makes it ``skipped``."""
        missing = [name for name in claim.reads() if name not in measured]
        if missing:
            return cls.skipped(claim, missing)
        clean = {k: [float(x) for x in v] for k, v in measured.items()}
        pre, pre_fixed = None, False
        if claim.precondition is not None:
            # beyond noise: on the means and by the rule's one-sided test (a lower confidence bound)
            pre = bool(claim.precondition.on_means(clean) and claim.precondition.beyond_noise(clean))
            pre_fixed = all(len(set(clean[a])) == 1 and len(clean[a]) > 1 for a in claim.precondition.arms())
        gate = judge_gate(claim.gate, clean, claim.rule, claim.digits)
        se, det = claim.rule.noise(clean)
        p = claim.rule.p_value(clean)
        testable = pre is not False and (gate is None or gate.holds)
        verdict = evaluate(claim.rule, clean) if testable else NOT_TESTABLE
        return cls(claim, clean, verdict, p, se, det, pre, gate=gate, precondition_fixed=pre_fixed)

    @classmethod
    def skipped(cls, claim: Claim, missing: Sequence[str]) -> ClaimResult:
        return cls(claim, {}, SKIPPED, missing=tuple(missing))

    @property
    def n(self) -> int:
        return len(next(iter(self.measured.values()))) if self.measured else 0

    def ours(self, coarse: bool = False) -> str:
        """Measured arms as ``arm mean ± sd`` and ``(n)``, at the claim's ``digits`` (``coarse``: the arms' names)."""
        if self.verdict == SKIPPED:
            return "not run: " + ", ".join(self.missing)
        return mean_sd(self.measured, self.claim.shown or self.claim.rule.arms(), self.claim.digits, coarse) + f" (n={self.n})"

    def noise_text(self, coarse: bool = False) -> str:
        """``SE x; detectable ≥ y; p``: what the seeds can resolve, and the test's p-value.

        ``coarse`` (the ci profile) gives only the side of 5 % p falls on: the SE of three short runs
        moves with a single probe prediction (one test image of 192 is half a point of accuracy and
        15 % of the SE), so no rounding of it is the same on every CPU.
        """
        if self.verdict == SKIPPED:
            return "—"
        if isinstance(self.claim.rule, BoundEveryRun):
            head = f"sign test over {self.n} runs (needs ≥ 5)"
        elif coarse:
            return fmt_p(self.p, coarse)
        else:
            head = f"SE {fmt_value(self.se, self.claim.digits)}; detectable ≥ {fmt_value(self.detectable, self.claim.digits)}"
        return f"{head}; {fmt_p(self.p, coarse)}"

    def precondition_text(self, coarse: bool = False) -> str:
        c = self.claim
        if c.precondition is None or self.verdict == SKIPPED:
            return ""
        digits = 1 if coarse else 2  # preconditions are R²-like scores
        state = "holds" if self.precondition_holds else "FAILS"
        fixed = " (one fixed value for every seed)" if self.precondition_fixed else ""
        return (f"precondition ({c.precondition_text or c.precondition.describe()}): {state}: "
                f"{mean_sd(self.measured, c.precondition.arms(), digits, coarse)}{fixed}")

    def gate_text(self) -> str:
        """The fair-test gate's reason, in words with numbers ("" when the claim declares none)."""
        return "" if self.gate is None or self.verdict == SKIPPED else f"fair test ({self.gate.kind}): {self.gate.text}"

    def to_json(self) -> dict:
        c = self.claim
        out = {
            "id": c.id,
            "kind": "claim",
            "statement": c.statement,
            "paper": c.paper,
            "laptop": c.laptop,
            "metric": c.metric,
            "label": c.label,
            "rule_text": c.rule_text,
            "measured": self.measured,
            "rule": c.rule.describe(),
            "shown": list(c.shown or c.rule.arms()),
            "digits": c.digits,
            "verdict": self.verdict,
        }
        if self.verdict == SKIPPED:
            out["missing"] = list(self.missing)
            return out
        out.update(p=_json_float(self.p), se=_json_float(self.se), detectable=_json_float(self.detectable),
                   null_rate=c.rule.null_rate(self.n))
        if c.precondition is not None:
            out["precondition"] = {"rule": c.precondition.describe(), "text": c.precondition_text,
                                   "holds": bool(self.precondition_holds), "fixed": bool(self.precondition_fixed)}
        if self.gate is not None:
            out["gate"] = self.gate.to_json()
        return out


def _json_float(x: float):
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class CheckResult:
    """A check with its measurements and pass/fail."""

    check: Check
    measured: dict[str, list[float]]
    status: str
    missing: tuple[str, ...] = ()

    @classmethod
    def of(cls, check: Check, measured: Measured) -> CheckResult:
        missing = [name for name in check.reads() if name not in measured]
        if missing:
            return cls.skipped(check, missing)
        clean = {k: [float(x) for x in v] for k, v in measured.items()}
        ok = bool(np.all(check.rule.holds_per_seed({k: clean[k] for k in check.rule.arms()})))
        return cls(check, clean, PASS if ok else FAIL)

    @classmethod
    def skipped(cls, check: Check, missing: Sequence[str]) -> CheckResult:
        return cls(check, {}, SKIPPED, tuple(missing))

    @property
    def verdict(self) -> str:
        return self.status

    def ours(self, coarse: bool = False) -> str:
        if self.status == SKIPPED:
            return "not run: " + ", ".join(self.missing)
        n = len(next(iter(self.measured.values())))
        return mean_sd(self.measured, self.check.shown or self.check.rule.arms(), self.check.digits, coarse) + f" (n={n})"

    def to_json(self) -> dict:
        c = self.check
        out = {"id": c.id, "kind": "check", "statement": c.statement, "reference": c.reference,
               "metric": c.metric, "label": c.label, "rule_text": c.rule_text, "measured": self.measured, "rule": c.rule.describe(),
               "shown": list(c.shown or c.rule.arms()), "digits": c.digits, "status": self.status}
        if self.missing:
            out["missing"] = list(self.missing)
        return out


def judge(items: Sequence[Claim | Check], result, measured_for=shown_values) -> tuple[list[ClaimResult], list[CheckResult]]:
    """Decide every claim and check of ``items`` on ``result``; what the run did not measure is skipped."""
    claims, checks = [], []
    for item in items:
        try:
            measured = measured_for(item, result)
        except MissingMetric as missing:
            (checks if item.kind == "check" else claims).append(
                (CheckResult if item.kind == "check" else ClaimResult).skipped(item, missing.names))
            continue
        if item.kind == "check":
            checks.append(CheckResult.of(item, measured))
        else:
            claims.append(ClaimResult.of(item, measured))
    return claims, checks


