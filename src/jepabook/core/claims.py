"""Claims, checks and their verdicts (version 2): the contract between a chapter's experiments and the ledger.

A :class:`Claim` states what a paper (or the laptop validation) says, an optional **precondition**
that makes the toy able to test it, and the rule that decides it. The verdict is computed from
per-seed measurements by the rule, never typed:

- ``reproduced``: the rule holds on the seed means *and* beyond noise: its one-sided test gives
  p < 0.05, so under a no-effect null the rule says ``reproduced`` at most 5 % of the time
  (:meth:`Rule.null_rate` states the rate per rule; ``tests/test_claims.py`` checks it by simulation);
- ``direction only``: the rule holds on the means but not beyond noise;
- ``not reproduced``: the rule fails on the means;
- ``not testable here``: the precondition failed (the row shows the measured precondition);
- ``skipped``: the run did not measure what the claim reads (its arms were not run).

A :class:`Check` is kept apart: an identity, a property of code or a constructed example (EMA
arithmetic, a sampler statistic, a gradient identity, a hand-built cloud). It passes when its rule
holds in every seed, and it is never counted as a reproduction.

The tests, per rule (n seeds, α = 0.05, one-sided):

- a paired difference (:class:`Greater`) and a threshold (:class:`Below`, :class:`Above`): Student's
  t on the n values (n − 1 degrees of freedom);
- an agreement (:class:`Within`): two one-sided t-tests (TOST), the larger p;
- orderings made of several comparisons (:class:`Increasing`, :class:`PeakAt`, :class:`AllOf`): every
  part must pass, so p is the largest part's (an intersection–union test, still ≤ α);
- a spread (:class:`SpreadGreater`): the Pitman–Morgan test for two paired variances, a t on the
  correlation of the sums and differences with n − 2 degrees of freedom;
- a bound every run obeys (:class:`BoundEveryRun`): a sign test, p = 2⁻ⁿ when every run obeys it
  (so at least 5 runs are needed to pass at 5 %).

Noise is stated with every claim: the standard error of the tested quantity and the smallest effect
the seeds could detect (:meth:`Rule.noise`): ``(t₀.₉₅ + t₀.₈₀)·SE`` with n − 1 degrees of freedom,
the effect a one-sided 5 % test finds with 80 % power.

Explained in Chapter 1 (JEPA basics); Chapter 6 assembles every chapter's claims into the ledger.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

__all__ = [
    "ALPHA",
    "DIRECTION_ONLY",
    "FAIL",
    "NOT_REPRODUCED",
    "NOT_TESTABLE",
    "PASS",
    "REPRODUCED",
    "SKIPPED",
    "claim_anchor",
    "VERDICTS",
    "Above",
    "AllOf",
    "Below",
    "BoundEveryRun",
    "Check",
    "CheckResult",
    "Claim",
    "ClaimResult",
    "ClaimsTable",
    "Greater",
    "Increasing",
    "MissingMetric",
    "PeakAt",
    "SpreadGreater",
    "Within",
    "evaluate",
    "judge",
    "shown_values",
]

REPRODUCED, DIRECTION_ONLY, NOT_REPRODUCED = "reproduced", "direction only", "not reproduced"
NOT_TESTABLE, SKIPPED = "not testable here", "skipped"
VERDICTS = (REPRODUCED, DIRECTION_ONLY, NOT_REPRODUCED, NOT_TESTABLE, SKIPPED)
PASS, FAIL = "pass", "fail"


def claim_anchor(item_id: str) -> str:
    """The HTML id of a claim's or check's row in its chapter's table: ``"ijepa.learns"`` ->
    ``"claim-ijepa-learns"``. Chapter 6 links each ledger row to it."""
    if not isinstance(item_id, str) or not re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", item_id):
        raise ValueError(f"item_id must look like '<chapter>.<name>' (lower case, digits, _); got {item_id!r}")
    return "claim-" + item_id.replace(".", "-").replace("_", "-")
#: the one-sided level of every rule's test
ALPHA = 0.05
_POWER = 0.80

Measured = Mapping[str, Sequence[float]]


class MissingMetric(KeyError):
    """A claim reads metrics the run did not produce (their arms were not run)."""

    def __init__(self, names: Sequence[str], available: Sequence[str] = ()):
        self.names = tuple(names)
        super().__init__(f"not measured: {', '.join(self.names)}; measured: {', '.join(sorted(available)) or 'nothing'}")


def _values(measured: Measured, arm: str) -> np.ndarray:
    if arm not in measured:
        raise KeyError(f"measured has no arm {arm!r}; arms present: {sorted(measured)}")
    v = np.asarray(measured[arm], dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"arm {arm!r} must be a non-empty list of per-seed values")
    return v


def _se(v: np.ndarray) -> float:
    """Standard error of the mean; infinite for one value (one seed says nothing about noise)."""
    return float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.inf


def t_greater(d: np.ndarray) -> float:
    """One-sided p-value of Student's t for ``mean(d) > 0`` (n − 1 degrees of freedom).

    One value gives p = 1. Values without spread give p = 0 when all are positive, else 1.
    """
    d = np.asarray(d, dtype=np.float64)
    if d.size < 2:
        return 1.0
    sd = d.std(ddof=1)
    if sd == 0.0 or not np.isfinite(sd):
        return 0.0 if np.all(d > 0) else 1.0
    t = d.mean() / (sd / math.sqrt(d.size))
    return float(stats.t.sf(t, d.size - 1))


def detectable(se: float, n: int) -> float:
    """The smallest effect a one-sided 5 % t-test on ``n`` values of standard error ``se`` detects
    with 80 % power: ``(t₀.₉₅ + t₀.₈₀)·se`` (n − 1 degrees of freedom); infinite for n < 2."""
    if n < 2 or not math.isfinite(se):
        return math.inf
    return float((stats.t.ppf(1 - ALPHA, n - 1) + stats.t.ppf(_POWER, n - 1)) * se)


def _noise(v: np.ndarray) -> tuple[float, float]:
    """``(se, detectable)`` of the mean of ``v``."""
    se = _se(v)
    return se, detectable(se, v.size)


class Rule:
    """What every rule provides: its arms, the test on the means, a one-sided p-value, its noise."""

    def arms(self) -> tuple[str, ...]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def on_means(self, m: Measured) -> bool:
        raise NotImplementedError

    def p_value(self, m: Measured) -> float:
        raise NotImplementedError

    def noise(self, m: Measured) -> tuple[float, float]:
        """``(se, detectable)`` of the tested quantity, in the measured units."""
        raise NotImplementedError

    def null_rate(self, n: int) -> float:
        """The largest chance of ``reproduced`` under a no-effect null, with ``n`` seeds."""
        return ALPHA

    def beyond_noise(self, m: Measured) -> bool:
        return self.p_value(m) < ALPHA

    def holds_per_seed(self, m: Measured) -> np.ndarray:
        """Whether the rule holds in each seed alone (what a :class:`Check` asks)."""
        n = len(next(iter(m.values())))
        return np.array([self.on_means({k: [v[i]] for k, v in m.items()}) for i in range(n)])


class _Threshold(Rule):
    """Shared logic of :class:`Below` and :class:`Above`: ``sign·(value − threshold) < 0``."""

    arm: str
    threshold: float
    sign = 1.0
    symbol = "<"

    def arms(self):
        return (self.arm,)

    def describe(self) -> str:
        return f"{self.arm} {self.symbol} {self.threshold:g}"

    def _margin(self, m: Measured) -> np.ndarray:
        return -self.sign * (_values(m, self.arm) - self.threshold)  # positive when the rule holds

    def on_means(self, m: Measured) -> bool:
        return bool(self._margin(m).mean() > 0)

    def p_value(self, m: Measured) -> float:
        return t_greater(self._margin(m))

    def noise(self, m: Measured):
        return _noise(_values(m, self.arm))


@dataclass(frozen=True)
class Below(_Threshold):
    """``arm`` is below ``threshold`` (one-sample t against the threshold)."""

    arm: str
    threshold: float


@dataclass(frozen=True)
class Above(_Threshold):
    """``arm`` is above ``threshold`` (one-sample t against the threshold)."""

    arm: str
    threshold: float
    sign = -1.0
    symbol = ">"


@dataclass(frozen=True)
class Within(Rule):
    """``arm`` lies within ``tol`` of ``target``: an equivalence, tested by two one-sided t-tests."""

    arm: str
    target: float
    tol: float

    def arms(self):
        return (self.arm,)

    def describe(self) -> str:
        return f"|{self.arm} − {self.target:g}| ≤ {self.tol:g}"

    def on_means(self, m: Measured) -> bool:
        return bool(abs(_values(m, self.arm).mean() - self.target) <= self.tol)

    def p_value(self, m: Measured) -> float:
        v = _values(m, self.arm)
        return max(t_greater(v - (self.target - self.tol)), t_greater((self.target + self.tol) - v))

    def noise(self, m: Measured):
        return _noise(_values(m, self.arm))


@dataclass(frozen=True)
class Greater(Rule):
    """``a`` exceeds ``b`` (plus an optional ``margin``), compared seed by seed: a paired t-test."""

    a: str
    b: str
    margin: float = 0.0

    def arms(self):
        return (self.a, self.b)

    def describe(self) -> str:
        return f"{self.a} > {self.b}" + (f" + {self.margin:g}" if self.margin else "") + " (paired)"

    def _diff(self, m: Measured) -> np.ndarray:
        a, b = _values(m, self.a), _values(m, self.b)
        if a.size != b.size:
            raise ValueError(f"arms {self.a!r} and {self.b!r} have different seed counts")
        return a - b - self.margin

    def on_means(self, m: Measured) -> bool:
        return bool(self._diff(m).mean() > 0)

    def p_value(self, m: Measured) -> float:
        return t_greater(self._diff(m))

    def noise(self, m: Measured):
        return _noise(self._diff(m))


class _Composite(Rule):
    """Every part must hold: on the means, and beyond noise (p is the largest part's)."""

    def parts(self) -> list[Rule]:
        raise NotImplementedError

    def arms(self):
        return tuple(dict.fromkeys(a for p in self.parts() for a in p.arms()))

    def on_means(self, m: Measured) -> bool:
        return all(p.on_means(m) for p in self.parts())

    def p_value(self, m: Measured) -> float:
        return max(p.p_value(m) for p in self.parts())

    def noise(self, m: Measured):
        # the noisiest part decides what the seeds can resolve
        return max((p.noise(m) for p in self.parts()), key=lambda x: (x[1], x[0]))

    def null_rate(self, n: int) -> float:
        return min(p.null_rate(n) for p in self.parts())


@dataclass(frozen=True)
class Increasing(_Composite):
    """The arms, in the given order, increase: every consecutive pair is :class:`Greater` (paired)."""

    arms_: tuple[str, ...]

    def parts(self) -> list[Rule]:
        if len(self.arms_) < 2:
            raise ValueError("Increasing needs at least two arms")
        return [Greater(b, a) for a, b in zip(self.arms_[:-1], self.arms_[1:])]

    def describe(self) -> str:
        return " < ".join(self.arms_) + " (paired)"


@dataclass(frozen=True)
class PeakAt(_Composite):
    """Among ``arms`` the largest mean is at ``peak`` (strictly: ties are no peak); beyond noise when
    ``peak`` beats each other arm (paired)."""

    arms_: tuple[str, ...]
    peak: str

    def parts(self) -> list[Rule]:
        if self.peak not in self.arms_:
            raise ValueError(f"peak {self.peak!r} is not one of the arms {self.arms_}")
        return [Greater(self.peak, a) for a in self.arms_ if a != self.peak]

    def describe(self) -> str:
        return f"argmax over ({', '.join(self.arms_)}) = {self.peak}"


@dataclass(frozen=True)
class AllOf(_Composite):
    """Every sub-rule holds (on the means, and beyond noise)."""

    rules: tuple

    def parts(self) -> list[Rule]:
        return list(self.rules)

    def describe(self) -> str:
        return " and ".join(r.describe() for r in self.rules)


@dataclass(frozen=True)
class SpreadGreater(Rule):
    """``a`` varies more from seed to seed than ``b`` (paired by seed): the Pitman–Morgan test.

    For paired values, var(a) > var(b) exactly when the sums ``a + b`` and the differences ``a − b``
    correlate positively; the test is a t on that correlation with n − 2 degrees of freedom.
    """

    a: str
    b: str

    def arms(self):
        return (self.a, self.b)

    def describe(self) -> str:
        return f"sd({self.a}) > sd({self.b}) (paired, Pitman–Morgan)"

    def _ab(self, m: Measured):
        a, b = _values(m, self.a), _values(m, self.b)
        if a.size != b.size:
            raise ValueError(f"arms {self.a!r} and {self.b!r} have different seed counts")
        return a, b

    def on_means(self, m: Measured) -> bool:
        a, b = self._ab(m)
        return bool(a.size > 1 and a.std(ddof=1) > b.std(ddof=1))

    def p_value(self, m: Measured) -> float:
        a, b = self._ab(m)
        n = a.size
        if n < 3:
            return 1.0
        s, d = a + b, a - b
        if s.std() == 0 or d.std() == 0:
            return 1.0
        r = float(np.corrcoef(s, d)[0, 1])
        if r >= 1.0:
            return 0.0
        t = r * math.sqrt(n - 2) / math.sqrt(max(1.0 - r * r, 1e-300))
        return float(stats.t.sf(t, n - 2))

    def noise(self, m: Measured):
        a, b = self._ab(m)
        # the standard error of a sample sd is about sd / √(2(n − 1)); the detectable ratio follows
        n = a.size
        if n < 3:
            return math.inf, math.inf
        se = float(max(a.std(ddof=1), b.std(ddof=1)) / math.sqrt(2 * (n - 1)))
        return se, detectable(se, n - 1)


@dataclass(frozen=True)
class BoundEveryRun(Rule):
    """Every run's ``value`` is at most its ``bound`` plus a stated ``slack`` (e.g. an error under a
    theorem's bound, with the finite-sample slack of its estimate).

    Holds on the means when at least ``min_fraction`` of runs satisfy it; beyond noise when every run
    does, by a sign test: if each run had an even chance of obeying the bound, all n obeying it has
    chance 2⁻ⁿ, so at least 5 runs, all obeying, are needed. With ``min_fraction`` < 1 a set of runs
    that mostly obeys reads ``direction only``; with 1 it cannot (all obeying is already beyond noise).
    """

    value: str
    bound: str
    min_fraction: float = 1.0
    slack: float = 0.0

    def __post_init__(self):
        if not (0.0 < self.min_fraction <= 1.0):
            raise ValueError(f"min_fraction must lie in (0, 1]; got {self.min_fraction!r}")
        if not (math.isfinite(self.slack) and self.slack >= 0):
            raise ValueError(f"slack must be a finite number >= 0; got {self.slack!r}")

    def arms(self):
        return (self.value, self.bound)

    def describe(self) -> str:
        bound = f"{self.bound} + {self.slack:g}" if self.slack else self.bound
        share = "every run" if self.min_fraction == 1.0 else f"every run (≥ {self.min_fraction:.0%} of runs: direction only)"
        return f"{self.value} ≤ {bound} in {share}"

    def _ok(self, m: Measured) -> np.ndarray:
        v, b = _values(m, self.value), _values(m, self.bound)
        if v.size != b.size:
            raise ValueError(f"arms {self.value!r} and {self.bound!r} have different run counts")
        return v <= b + self.slack

    def on_means(self, m: Measured) -> bool:
        return bool(self._ok(m).mean() >= self.min_fraction)

    def p_value(self, m: Measured) -> float:
        ok = self._ok(m)
        return float(0.5**ok.size) if np.all(ok) else 1.0

    def noise(self, m: Measured):
        return math.nan, math.nan

    def null_rate(self, n: int) -> float:
        return 0.5**n


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
        precondition: a rule the toy must satisfy (on the seed means) for the claim to be testable,
            e.g. ``Above("teacher_pose_r2", 0.3)``; when it fails the verdict is ``not testable here``.
        precondition_text: the precondition in words.
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

    kind = "claim"

    def reads(self) -> tuple[str, ...]:
        """Every metric the claim needs: shown arms, the rule's, the precondition's."""
        pre = self.precondition.arms() if self.precondition is not None else ()
        return tuple(dict.fromkeys((*(self.shown or ()), *self.rule.arms(), *pre)))


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


def evaluate(rule: Rule, measured: Measured) -> str:
    """The verdict of ``rule`` on per-seed ``measured`` values (preconditions aside)."""
    if not rule.on_means(measured):
        return NOT_REPRODUCED
    return REPRODUCED if rule.beyond_noise(measured) else DIRECTION_ONLY


def _fmt(v: float, digits: int, coarse: bool = False) -> str:
    if not math.isfinite(v):
        return "—"
    if v != 0 and (abs(v) < 10 ** (-digits) or abs(v) >= 1e5):
        return f"{v:.0e}" if coarse else f"{v:.1e}"
    return f"{v:.{digits}f}"


def _fmt_p(p: float, coarse: bool) -> str:
    if coarse:  # short runs: only which side of 5 % is stable across CPUs
        return "p < 0.05" if p < ALPHA else "p ≥ 0.05"
    return "p < 0.001" if p < 1e-3 else f"p = {p:.3f}"


def _mean_sd(measured: Mapping[str, list[float]], arms: Sequence[str], digits: int, coarse: bool) -> str:
    parts = []
    for arm in arms:
        v = np.asarray(measured[arm])
        sd = v.std(ddof=1) if v.size > 1 else 0.0
        # coarse: the spread at fixed decimals, since a 1-digit exponent form of a small sd
        # flips with the last bits of the runs (5e-02 against 4e-02)
        spread = f"{sd:.{digits}f}" if coarse else _fmt(sd, digits)
        parts.append(f"{arm} {_fmt(v.mean(), digits, coarse)} ± {spread}")
    return "; ".join(parts)


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

    @classmethod
    def of(cls, claim: Claim, measured: Measured) -> ClaimResult:
        clean = {k: [float(x) for x in v] for k, v in measured.items()}
        pre = claim.precondition.on_means(clean) if claim.precondition is not None else None
        se, det = claim.rule.noise(clean)
        p = claim.rule.p_value(clean)
        verdict = NOT_TESTABLE if pre is False else evaluate(claim.rule, clean)
        return cls(claim, clean, verdict, p, se, det, pre)

    @classmethod
    def skipped(cls, claim: Claim, missing: Sequence[str]) -> ClaimResult:
        return cls(claim, {}, SKIPPED, missing=tuple(missing))

    @property
    def n(self) -> int:
        return len(next(iter(self.measured.values()))) if self.measured else 0

    def ours(self, coarse: bool = False) -> str:
        """Measured arms as ``arm mean ± sd`` and ``(n)``, at the claim's ``digits`` (one fewer if ``coarse``)."""
        if self.verdict == SKIPPED:
            return "not run: " + ", ".join(self.missing)
        digits = max(self.claim.digits - 1, 0) if coarse else self.claim.digits
        return _mean_sd(self.measured, self.claim.shown or self.claim.rule.arms(), digits, coarse) + f" (n={self.n})"

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
            return _fmt_p(self.p, coarse)
        else:
            head = f"SE {_fmt(self.se, self.claim.digits)}; detectable ≥ {_fmt(self.detectable, self.claim.digits)}"
        return f"{head}; {_fmt_p(self.p, coarse)}"

    def precondition_text(self, coarse: bool = False) -> str:
        c = self.claim
        if c.precondition is None or self.verdict == SKIPPED:
            return ""
        digits = 1 if coarse else 2  # preconditions are R²-like scores
        state = "holds" if self.precondition_holds else "FAILS"
        return (f"precondition ({c.precondition_text or c.precondition.describe()}): {state}: "
                f"{_mean_sd(self.measured, c.precondition.arms(), digits, coarse)}")

    def to_json(self) -> dict:
        c = self.claim
        out = {
            "id": c.id,
            "kind": "claim",
            "statement": c.statement,
            "paper": c.paper,
            "laptop": c.laptop,
            "metric": c.metric,
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
                                   "holds": bool(self.precondition_holds)}
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
        digits = max(self.check.digits - 1, 0) if coarse else self.check.digits
        n = len(next(iter(self.measured.values())))
        return _mean_sd(self.measured, self.check.shown or self.check.rule.arms(), digits, coarse) + f" (n={n})"

    def to_json(self) -> dict:
        c = self.check
        out = {"id": c.id, "kind": "check", "statement": c.statement, "reference": c.reference,
               "metric": c.metric, "measured": self.measured, "rule": c.rule.describe(),
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


class ClaimsTable:
    """The claims table a chapter prints (and its checks, apart): plain text for terminals and nbval,
    HTML in the book.

    ``coarse`` prints every value one digit shorter, p only as the side of 5 % it falls on, and no
    standard error or detectable effect (see :meth:`ClaimResult.noise_text`). The
    small ``ci`` profile uses it: its short runs are regression tests, and one digit less keeps what
    they print the same on CPUs whose BLAS kernels round differently (training turns last-bit
    differences into ~1e-4 relative ones, a few per cent on an unstable run); nothing is published
    from them.
    """

    columns = ("claim", "verdict", "ours (mean ± sd over seeds)", "rule", "noise", "paper", "laptop")
    check_columns = ("check", "result", "measured (mean ± sd over seeds)", "rule", "reference")

    def __init__(self, results: Sequence[ClaimResult], checks: Sequence[CheckResult] = (), coarse: bool = False):
        self.results = list(results)
        self.checks = list(checks)
        self.coarse = coarse

    def rows(self) -> list[tuple[str, ...]]:
        """One tuple per claim, in the order of :attr:`columns`."""
        return [(r.claim.id, r.verdict, r.ours(self.coarse), r.claim.rule.describe(), r.noise_text(self.coarse),
                 r.claim.paper, r.claim.laptop) for r in self.results]

    def counts(self) -> dict[str, int]:
        """How many claims got each verdict, and how many checks passed and failed."""
        out = {v: sum(r.verdict == v for r in self.results) for v in VERDICTS}
        out.update({f"checks {s}": sum(c.status == s for c in self.checks) for s in (PASS, FAIL)})
        return out

    def __repr__(self) -> str:
        lines = []
        for r in self.results:
            lines += [f"[{r.verdict}] {r.claim.id}: {r.claim.statement}",
                      f"    paper: {r.claim.paper} | laptop: {r.claim.laptop}",
                      f"    ours: {r.ours(self.coarse)}"]
            if r.verdict != SKIPPED:
                lines.append(f"    noise: {r.noise_text(self.coarse)}")
            if r.precondition_text():
                lines.append(f"    {r.precondition_text(self.coarse)}")
            lines.append(f"    rule: {r.claim.rule.describe()}")
        if self.checks:
            lines.append("checks (properties of the code or a construction; not reproductions):")
            for c in self.checks:
                lines += [f"[{c.status}] {c.check.id}: {c.check.statement}",
                          f"    measured: {c.ours(self.coarse)} | rule (every seed): {c.check.rule.describe()}"]
        return "\n".join(lines)

    _badge = {REPRODUCED: "#1b7837", DIRECTION_ONLY: "#8a6500", NOT_REPRODUCED: "#b2182b", NOT_TESTABLE: "#5a5a8a",
              SKIPPED: "#666666", PASS: "#1b7837", FAIL: "#b2182b"}

    #: a table with more claims than this is shown in groups (:meth:`groups`), each collapsed under a
    #: line with its verdict counts
    group_above = 8

    def summary(self) -> str:
        """One line of counts: ``"3 claims: 2 reproduced, 0 direction only, 1 not reproduced; 4 of 4
        checks pass"``. The three main verdicts are always named; the others only when they occur."""
        return _count_line(self.results, self.checks)

    def _badge_html(self, text: str) -> str:
        from html import escape

        return (f"<span class='verdict-badge' style='color:white;background:{self._badge[text]};padding:1px 6px;"
                f"border-radius:4px;white-space:nowrap'>{escape(text)}</span>")

    def _claim_rows(self, results) -> str:
        from html import escape

        rows = []
        for r in results:
            c = r.claim
            pre = r.precondition_text(self.coarse)
            pre = f"<br><small class='precondition'>{escape(pre)}</small>" if pre else ""
            rows.append(
                f"<tr id='{claim_anchor(c.id)}'><td class='claim'><b>{escape(c.id)}</b><br>{escape(c.statement)}{pre}</td>"
                f"<td class='verdict'>{self._badge_html(r.verdict)}</td>"
                f"<td class='ours'>{escape(r.ours(self.coarse))}</td>"
                f"<td class='rule'><small>{escape(c.rule.describe())}</small></td>"
                f"<td class='noise'><small>{escape(r.noise_text(self.coarse))}</small></td>"
                f"<td class='paper'>{escape(c.paper)}</td><td class='laptop'>{escape(c.laptop)}</td></tr>")
        return "".join(rows)

    def _table(self, cls: str, columns, body: str) -> str:
        from html import escape

        head = "".join(f"<th style='text-align:left'>{escape(c)}</th>" for c in columns)
        return (f"<div class='claims-scroll'><table class='{cls}'><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table></div>")

    def groups(self) -> list[tuple[str, list[ClaimResult]]]:
        """The claims in runs of the same group, in table order: the first word of their name
        (``lejepa.t1_spiral`` -> ``t1``), or their chapter when the table spans several (a ledger)."""
        out: list[tuple[str, list[ClaimResult]]] = []
        by_chapter = len({r.claim.id.split(".", 1)[0] for r in self.results}) > 1
        for r in self.results:
            key = r.claim.id.split(".", 1)[0] if by_chapter else r.claim.id.split(".", 1)[-1].split("_", 1)[0]
            if out and out[-1][0] == key:
                out[-1][1].append(r)
            else:
                out.append((key, [r]))
        return out

    def _repr_html_(self) -> str:
        """The verdict is the second column, so that a phone shows it next to the claim; measurement,
        rule and noise have a cell each. A table longer than :attr:`group_above` claims comes in
        collapsed groups, each under its counts; every row keeps its ``claim_anchor`` id."""
        from html import escape

        parts = [f"<p class='claims-summary'><b>Verdicts</b>: {escape(self.summary())}</p>"]
        if len(self.results) > self.group_above:
            for key, results in self.groups():
                parts.append(f"<details class='claims-group'><summary><b>{escape(key)}</b>: "
                             f"{escape(_count_line(results, ()))}</summary>"
                             f"{self._table('claims-table', self.columns, self._claim_rows(results))}</details>")
        elif self.results:
            parts.append(self._table("claims-table", self.columns, self._claim_rows(self.results)))
        if self.checks:
            rows = "".join(
                f"<tr id='{claim_anchor(c.check.id)}'><td class='claim'><b>{escape(c.check.id)}</b><br>"
                f"{escape(c.check.statement)}</td><td class='verdict'>{self._badge_html(c.status)}</td>"
                f"<td class='ours'>{escape(c.ours(self.coarse))}</td>"
                f"<td class='rule'><small>{escape(c.check.rule.describe())} (every seed)</small></td>"
                f"<td class='paper'>{escape(c.check.reference)}</td></tr>" for c in self.checks)
            parts.append("<p><b>Checks</b>: properties of the code or of a constructed example; they pass or fail "
                         "and are not counted as reproductions.</p>")
            parts.append(self._table("checks-table", self.check_columns, rows))
        return f"<div class='claims'>{''.join(parts)}</div>"


def _count_line(results: Sequence[ClaimResult], checks: Sequence[CheckResult]) -> str:
    """``"3 claims: 2 reproduced, 0 direction only, 1 not reproduced; 4 of 4 checks pass"``."""
    main = (REPRODUCED, DIRECTION_ONLY, NOT_REPRODUCED)
    shown = [v for v in VERDICTS if v in main or any(r.verdict == v for r in results)]
    n = len(results)
    text = f"{n} claim{'s' if n != 1 else ''}: " + ", ".join(f"{sum(r.verdict == v for r in results)} {v}" for v in shown)
    if checks:
        passed = sum(c.status == PASS for c in checks)
        text += f"; {passed} of {len(checks)} check{'s' if len(checks) != 1 else ''} pass"
        skipped = sum(c.status == SKIPPED for c in checks)
        if skipped:
            text += f" ({skipped} skipped)"
    return text
