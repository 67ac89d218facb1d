"""Claims and their verdicts: the contract between a chapter's experiments and the book's ledger.

A :class:`Claim` states what a paper (or the laptop validation) says and the rule that decides it.
The verdict is computed from per-seed measurements by the rule, never typed:

- ``reproduced``: the rule holds on the seed means and beyond noise (every seed satisfies it, or
  the margin exceeds two standard errors);
- ``direction only``: the rule holds on the means but not beyond noise;
- ``not reproduced``: the rule fails on the means.

Explained in Chapter 1 (JEPA basics); Chapter 6 assembles every chapter's claims into the ledger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "REPRODUCED",
    "DIRECTION_ONLY",
    "NOT_REPRODUCED",
    "Above",
    "AllOf",
    "Below",
    "BoundEveryRun",
    "Claim",
    "ClaimResult",
    "ClaimsTable",
    "Greater",
    "Increasing",
    "PeakAt",
    "Within",
    "evaluate",
    "shown_values",
]

REPRODUCED, DIRECTION_ONLY, NOT_REPRODUCED = "reproduced", "direction only", "not reproduced"

Measured = Mapping[str, Sequence[float]]


def _values(measured: Measured, arm: str) -> np.ndarray:
    if arm not in measured:
        raise KeyError(f"measured has no arm {arm!r}; arms present: {sorted(measured)}")
    v = np.asarray(measured[arm], dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"arm {arm!r} must be a non-empty list of per-seed values")
    return v


def _se(v: np.ndarray) -> float:
    """Standard error of the mean; infinite for one value, so one seed is never beyond noise by margin."""
    return float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.inf


class _Threshold:
    """Shared logic of :class:`Below` and :class:`Above`: ``sign·(value − threshold) < 0``."""

    arm: str
    threshold: float
    sign = 1.0
    symbol = "<"

    def describe(self) -> str:
        return f"{self.arm} {self.symbol} {self.threshold:g}"

    def on_means(self, m: Measured) -> bool:
        return bool(self.sign * (_values(m, self.arm).mean() - self.threshold) < 0)

    def beyond_noise(self, m: Measured) -> bool:
        v = _values(m, self.arm)
        margin = self.sign * (v - self.threshold)
        return bool(np.all(margin < 0) or self.sign * (v.mean() - self.threshold) + 2 * _se(v) < 0)


@dataclass(frozen=True)
class Below(_Threshold):
    """``arm`` is below ``threshold``."""

    arm: str
    threshold: float


@dataclass(frozen=True)
class Above(_Threshold):
    """``arm`` is above ``threshold``."""

    arm: str
    threshold: float
    sign = -1.0
    symbol = ">"


@dataclass(frozen=True)
class Within:
    """``arm`` lies within ``tol`` of ``target`` (an agreement with a reference value)."""

    arm: str
    target: float
    tol: float

    def describe(self) -> str:
        return f"|{self.arm} − {self.target:g}| ≤ {self.tol:g}"

    def on_means(self, m: Measured) -> bool:
        return bool(abs(_values(m, self.arm).mean() - self.target) <= self.tol)

    def beyond_noise(self, m: Measured) -> bool:
        v = _values(m, self.arm)
        return bool(np.all(np.abs(v - self.target) <= self.tol) or abs(v.mean() - self.target) + 2 * _se(v) <= self.tol)


@dataclass(frozen=True)
class Greater:
    """``a`` exceeds ``b``, compared seed by seed (paired) with an optional ``margin``."""

    a: str
    b: str
    margin: float = 0.0

    def describe(self) -> str:
        return f"{self.a} > {self.b}" + (f" + {self.margin:g}" if self.margin else "") + " (paired)"

    def _diff(self, m: Measured) -> np.ndarray:
        a, b = _values(m, self.a), _values(m, self.b)
        if a.size != b.size:
            raise ValueError(f"arms {self.a!r} and {self.b!r} have different seed counts")
        return a - b - self.margin

    def on_means(self, m: Measured) -> bool:
        return bool(self._diff(m).mean() > 0)

    def beyond_noise(self, m: Measured) -> bool:
        d = self._diff(m)
        return bool(np.all(d > 0) or d.mean() > 2 * _se(d))


@dataclass(frozen=True)
class Increasing:
    """The arms, in the given order, increase: every consecutive pair is :class:`Greater` (paired)."""

    arms: tuple[str, ...]

    def _pairs(self) -> list[Greater]:
        if len(self.arms) < 2:
            raise ValueError("Increasing needs at least two arms")
        return [Greater(b, a) for a, b in zip(self.arms[:-1], self.arms[1:])]

    def describe(self) -> str:
        return " < ".join(self.arms) + " (paired)"

    def on_means(self, m: Measured) -> bool:
        return all(p.on_means(m) for p in self._pairs())

    def beyond_noise(self, m: Measured) -> bool:
        return all(p.beyond_noise(m) for p in self._pairs())


@dataclass(frozen=True)
class PeakAt:
    """Among ``arms`` the largest mean is at ``peak`` (strictly: ties are no peak); beyond noise when
    ``peak`` beats each other arm (paired)."""

    arms: tuple[str, ...]
    peak: str

    def describe(self) -> str:
        return f"argmax over ({', '.join(self.arms)}) = {self.peak}"

    def on_means(self, m: Measured) -> bool:
        if self.peak not in self.arms:
            raise ValueError(f"peak {self.peak!r} is not one of the arms {self.arms}")
        peak = _values(m, self.peak).mean()
        # strictly above every other arm: a tie is not a peak
        return all(peak > _values(m, a).mean() for a in self.arms if a != self.peak)

    def beyond_noise(self, m: Measured) -> bool:
        return all(Greater(self.peak, a).beyond_noise(m) for a in self.arms if a != self.peak)


@dataclass(frozen=True)
class BoundEveryRun:
    """Every run's ``value`` is at most its ``bound`` (e.g. an error under a theorem's bound).

    Holds on the means when at least ``min_fraction`` of runs satisfy it; beyond noise only when all do.
    """

    value: str
    bound: str
    min_fraction: float = 1.0

    def describe(self) -> str:
        return f"{self.value} ≤ {self.bound} in every run"

    def _ok(self, m: Measured) -> np.ndarray:
        v, b = _values(m, self.value), _values(m, self.bound)
        if v.size != b.size:
            raise ValueError(f"arms {self.value!r} and {self.bound!r} have different run counts")
        return v <= b

    def on_means(self, m: Measured) -> bool:
        return bool(self._ok(m).mean() >= self.min_fraction)

    def beyond_noise(self, m: Measured) -> bool:
        return bool(np.all(self._ok(m)))


@dataclass(frozen=True)
class AllOf:
    """Every sub-rule holds (on the means, and beyond noise)."""

    rules: tuple

    def describe(self) -> str:
        return " and ".join(r.describe() for r in self.rules)

    def on_means(self, m: Measured) -> bool:
        return all(r.on_means(m) for r in self.rules)

    def beyond_noise(self, m: Measured) -> bool:
        return all(r.beyond_noise(m) for r in self.rules)


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
        shown: the arms printed in the table, in order (default: the rule's arms as measured).
        digits: decimals printed for the measured values.
    """

    id: str
    chapter: str
    statement: str
    paper: str
    laptop: str
    metric: str
    rule: object
    shown: tuple[str, ...] = ()
    digits: int = 2


def shown_values(claim: Claim, metrics: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    """The per-seed values of the arms ``claim`` shows (its rule reads only those) from ``metrics``."""
    return {arm: list(metrics[arm]) for arm in claim.shown}


def evaluate(rule, measured: Measured) -> str:
    """The verdict of ``rule`` on per-seed ``measured`` values."""
    if not rule.on_means(measured):
        return NOT_REPRODUCED
    return REPRODUCED if rule.beyond_noise(measured) else DIRECTION_ONLY


def _fmt(v: float, digits: int, coarse: bool = False) -> str:
    if v != 0 and (abs(v) < 10 ** (-digits) or abs(v) >= 1e5):
        return f"{v:.0e}" if coarse else f"{v:.1e}"
    return f"{v:.{digits}f}"


@dataclass(frozen=True)
class ClaimResult:
    """A claim with its measurements and computed verdict."""

    claim: Claim
    measured: dict[str, list[float]]
    verdict: str

    @classmethod
    def of(cls, claim: Claim, measured: Measured) -> ClaimResult:
        clean = {k: [float(x) for x in v] for k, v in measured.items()}
        return cls(claim, clean, evaluate(claim.rule, clean))

    def ours(self, coarse: bool = False) -> str:
        """Measured arms as ``arm mean ± sd (n)``, at the claim's ``digits`` (one fewer if ``coarse``)."""
        arms = self.claim.shown or tuple(self.measured)
        digits = max(self.claim.digits - 1, 0) if coarse else self.claim.digits
        parts = []
        for arm in arms:
            v = np.asarray(self.measured[arm])
            sd = v.std(ddof=1) if v.size > 1 else 0.0
            # coarse: the spread at fixed decimals, since a 1-digit exponent form of a small sd
            # flips with the last bits of the runs (5e-02 against 4e-02)
            spread = f"{sd:.{digits}f}" if coarse else _fmt(sd, digits)
            parts.append(f"{arm} {_fmt(v.mean(), digits, coarse)} ± {spread}")
        n = len(next(iter(self.measured.values())))
        return "; ".join(parts) + f" (n={n})"

    def to_json(self) -> dict:
        c = self.claim
        return {
            "id": c.id,
            "statement": c.statement,
            "paper": c.paper,
            "laptop": c.laptop,
            "metric": c.metric,
            "measured": self.measured,
            "rule": c.rule.describe(),
            "verdict": self.verdict,
        }


class ClaimsTable:
    """The claims table a chapter prints: plain text for terminals and nbval, HTML in the book.

    ``coarse`` prints every value one digit shorter. The small ``ci`` profile uses it: its short
    runs are regression tests, and one digit less keeps what they print the same on CPUs whose BLAS
    kernels round differently (training turns last-bit differences into ~1e-4 relative ones, a few
    per cent on an unstable run); nothing is published from them.
    """

    columns = ("claim", "paper", "laptop", "ours (mean ± sd over seeds)", "verdict")

    def __init__(self, results: Sequence[ClaimResult], coarse: bool = False):
        self.results = list(results)
        self.coarse = coarse

    def rows(self) -> list[tuple[str, ...]]:
        return [(r.claim.id, r.claim.paper, r.claim.laptop, r.ours(self.coarse), r.verdict) for r in self.results]

    def __repr__(self) -> str:
        lines = []
        for r in self.results:
            lines += [f"[{r.verdict}] {r.claim.id}: {r.claim.statement}",
                      f"    paper: {r.claim.paper} | laptop: {r.claim.laptop}",
                      f"    ours: {r.ours(self.coarse)}",
                      f"    rule: {r.claim.rule.describe()}"]
        return "\n".join(lines)

    _badge = {REPRODUCED: "#1b7837", DIRECTION_ONLY: "#b8860b", NOT_REPRODUCED: "#b2182b"}

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th style='text-align:left'>{escape(c)}</th>" for c in self.columns)
        rows = []
        for r in self.results:
            c = r.claim
            badge = (f"<span style='color:white;background:{self._badge[r.verdict]};padding:1px 6px;"
                     f"border-radius:4px;white-space:nowrap'>{escape(r.verdict)}</span>")
            rows.append(
                f"<tr><td><b>{escape(c.id)}</b><br>{escape(c.statement)}</td><td>{escape(c.paper)}</td>"
                f"<td>{escape(c.laptop)}</td><td>{escape(r.ours(self.coarse))}<br><small>rule: {escape(c.rule.describe())}"
                f"</small></td><td>{badge}</td></tr>"
            )
        return f"<table class='claims-table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
