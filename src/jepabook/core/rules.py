"""Rules and their verdicts: the statistics that decide a claim from per-seed measurements.

A rule (:class:`Greater`, :class:`Below`, :class:`Above`, :class:`Within`, :class:`Increasing`,
:class:`PeakAt`, :class:`AllOf`, :class:`SpreadGreater`, :class:`BoundEveryRun`) says what must hold,
tests it on the seed means, gives a one-sided p-value and states its noise. :func:`evaluate` turns a
rule and its measurements into a verdict:

- ``reproduced``: the rule holds on the seed means *and* beyond noise: its one-sided test gives
  p < 0.05, so under a no-effect null the rule says ``reproduced`` at most 5 % of the time
  (:meth:`Rule.null_rate` states the rate per rule; ``tests/test_claims.py`` checks it by simulation);
- ``direction only``: the rule holds on the means but not beyond noise;
- ``not reproduced``: the rule fails on the means.

(``not testable here`` and ``skipped`` are decided by the claim, :mod:`jepabook.core.claims`.)

The tests, per rule (n seeds, α = 0.05, one-sided):

- a paired difference (:class:`Greater`) and a threshold (:class:`Below`, :class:`Above`): Student's
  t on the n values (n − 1 degrees of freedom);
- an agreement (:class:`Within`): two one-sided t-tests (TOST), the larger p;
- a non-inferiority (:class:`NotInferior`, "not worse than b by more than a margin fixed in advance"):
  the lower of TOST's two one-sided tests, a paired t of ``a − b + margin`` against 0;
- orderings made of several comparisons (:class:`Increasing`, :class:`PeakAt`, :class:`AllOf`): every
  part must pass, so p is the largest part's (an intersection–union test, still ≤ α);
- a spread (:class:`SpreadGreater`): the Pitman–Morgan test for two paired variances, a t on the
  correlation of the sums and differences with n − 2 degrees of freedom;
- a bound every run obeys (:class:`BoundEveryRun`): a sign test, p = 2⁻ⁿ when every run obeys it
  (so at least 5 runs are needed to pass at 5 %).

Noise is stated with every claim: the standard error of the tested quantity and the smallest effect
the seeds could detect (:meth:`Rule.noise`): ``(t₀.₉₅ + t₀.₈₀)·SE`` with n − 1 degrees of freedom,
the effect a one-sided 5 % test finds with 80 % power.

Explained in Chapter 1 (JEPA basics).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["ALPHA", "DIRECTION_ONLY", "FAIL", "NOT_REPRODUCED", "NOT_TESTABLE", "PASS", "REPRODUCED", "SKIPPED",
           "VERDICTS", "Above", "AllOf", "Below", "BoundEveryRun", "Greater", "Increasing", "NotInferior", "PeakAt", "Rule",
           "SpreadGreater", "Within", "detectable", "evaluate", "t_greater"]

REPRODUCED, DIRECTION_ONLY, NOT_REPRODUCED = "reproduced", "direction only", "not reproduced"
NOT_TESTABLE, SKIPPED = "not testable here", "skipped"
VERDICTS = (REPRODUCED, DIRECTION_ONLY, NOT_REPRODUCED, NOT_TESTABLE, SKIPPED)
PASS, FAIL = "pass", "fail"

#: the one-sided level of every rule's test
ALPHA = 0.05
_POWER = 0.80

Measured = Mapping[str, Sequence[float]]


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


@dataclass(frozen=True)
class NotInferior(Rule):
    """``a`` is not worse than ``b`` by more than ``margin`` (fixed in advance), seed by seed: a
    non-inferiority test, the lower half of two one-sided tests (TOST). The upper half is not asked:
    ``a`` may also be better. Under the null ``a − b = −margin`` it reads ``reproduced`` at most 5 %
    of the time."""

    a: str
    b: str
    margin: float

    def __post_init__(self):
        if not (math.isfinite(self.margin) and self.margin > 0):
            raise ValueError(f"margin must be a finite number > 0 (fixed in advance); got {self.margin!r}")

    def arms(self):
        return (self.a, self.b)

    def describe(self) -> str:
        return f"{self.a} ≥ {self.b} − {self.margin:g} (paired, non-inferiority)"

    def _diff(self, m: Measured) -> np.ndarray:
        a, b = _values(m, self.a), _values(m, self.b)
        if a.size != b.size:
            raise ValueError(f"arms {self.a!r} and {self.b!r} have different seed counts")
        return a - b + self.margin

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


def evaluate(rule: Rule, measured: Measured) -> str:
    """The verdict of ``rule`` on per-seed ``measured`` values (preconditions aside)."""
    if not rule.on_means(measured):
        return NOT_REPRODUCED
    return REPRODUCED if rule.beyond_noise(measured) else DIRECTION_ONLY

