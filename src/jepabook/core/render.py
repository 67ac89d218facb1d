"""How claims, checks and verdicts are written: numbers, badges, and the one number that decided a verdict.

Every table of the book (a chapter's claims and checks and its findings box, the ledger, the
deviations) formats its numbers and draws its verdict badges with this module, so that a value or a
badge reads the same everywhere. The tables are built from these pieces in
:mod:`jepabook.core.tables` (:class:`~jepabook.core.tables.ClaimsTable` is what a chapter prints).

Explained in Chapter 1 (JEPA basics); Chapter 6 uses it for the ledger.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from html import escape

import numpy as np

from jepabook.core.rules import (ALPHA, DIRECTION_ONLY, FAIL, NOT_REPRODUCED, NOT_TESTABLE, PASS, REPRODUCED, SKIPPED,
                                 VERDICTS, BoundEveryRun, Greater, SpreadGreater, Within)

__all__ = ["BADGE_COLOURS", "ClaimsTable", "Findings", "Row", "badge", "claim_anchor", "count_line", "decided", "fmt_p",
           "fmt_value", "gate_text", "mean_sd", "rows_html", "rule_number"]

#: the tables themselves live in :mod:`jepabook.core.tables` (which draws them with this module's
#: formatting); they are importable from here as well
_TABLES = ("ClaimsTable", "Findings", "Row", "rows_html")


def __getattr__(name: str):
    if name in _TABLES:
        from jepabook.core import tables

        return getattr(tables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

def claim_anchor(item_id: str) -> str:
    """The HTML id of a claim's or check's row in its chapter's table: ``"ijepa.learns"`` ->
    ``"claim-ijepa-learns"``. Chapter 6 links each ledger row to it."""
    if not isinstance(item_id, str) or not re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", item_id):
        raise ValueError(f"item_id must look like '<chapter>.<name>' (lower case, digits, _); got {item_id!r}")
    return "claim-" + item_id.replace(".", "-").replace("_", "-")

def fmt_value(v: float, digits: int) -> str:
    if not math.isfinite(v):
        return "—"
    if v != 0 and (abs(v) < 10 ** (-digits) or abs(v) >= 1e5):
        return f"{v:.1e}"
    return f"{v:.{digits}f}"


def fmt_p(p: float, coarse: bool) -> str:
    if coarse:  # short runs: only which side of 5 % is stable across CPUs
        return "p < 0.05" if p < ALPHA else "p ≥ 0.05"
    return "p < 0.001" if p < 1e-3 else f"p = {p:.3f}"


def mean_sd(measured: Mapping[str, list[float]], arms: Sequence[str], digits: int, coarse: bool) -> str:
    """``"arm mean ± sd; ..."`` at ``digits``; ``coarse`` (the ci profile): the arms' names alone.

    A ci run is a smoke test of a few short runs. Its numbers mean nothing to a reader, and on a CPU
    with other matrix kernels (``make portability``) training carries the last bits into whole points
    of accuracy, so no rounding of them is the same everywhere (38 against 39 % in Chapter 4). The ci
    tables therefore print words only; the record (``results/<chapter>-ci.json``) keeps the numbers.
    """
    if coarse:
        return ", ".join(arms)
    parts = []
    for arm in arms:
        v = np.asarray(measured[arm])
        sd = v.std(ddof=1) if v.size > 1 else 0.0
        parts.append(f"{arm} {fmt_value(v.mean(), digits)} ± {fmt_value(sd, digits)}")
    return "; ".join(parts)



#: the colour of each verdict's and check status's badge, the same in every table of the book
BADGE_COLOURS = {REPRODUCED: "#1b7837", DIRECTION_ONLY: "#8a6500", NOT_REPRODUCED: "#b2182b", NOT_TESTABLE: "#5a5a8a",
                 SKIPPED: "#666666", PASS: "#1b7837", FAIL: "#b2182b"}


def badge(text: str, colour: str | None = None) -> str:
    """A verdict (or status) as a coloured badge that never breaks across lines; ``colour`` overrides
    :data:`BADGE_COLOURS` for labels that are not verdicts (the deviations' kinds of evidence)."""
    if colour is None:
        if text not in BADGE_COLOURS:
            raise ValueError(f"text must be one of {', '.join(map(repr, BADGE_COLOURS))} (or pass colour=); got {text!r}")
        colour = BADGE_COLOURS[text]
    return (f"<span class='verdict-badge' style='color:white;background:{colour};padding:1px 6px;"
            f"border-radius:4px;white-space:nowrap'>{escape(text)}</span>")


# --- the one number that decided a verdict -------------------------------------------------------

def _get(obj, key, default=None):
    """``obj[key]`` of a stored dict, ``obj.key`` of a live object (a gate is either)."""
    return obj.get(key, default) if isinstance(obj, Mapping) else getattr(obj, key, default)


def _mean(measured: Mapping[str, Sequence[float]], arm: str) -> float:
    return float(np.mean(measured[arm]))


def _deciding_part(rule, measured: Mapping[str, Sequence[float]]):
    """The part of a composite rule that decided: the first part that fails on the means, else the
    part with the largest p-value (the weakest evidence); a simple rule is its own part."""
    parts = getattr(rule, "parts", None)
    if parts is None:
        return rule
    parts = parts()
    failing = [part for part in parts if not part.on_means(measured)]
    return _deciding_part(failing[0] if failing else max(parts, key=lambda part: part.p_value(measured)), measured)


def _decimals(text: str) -> int:
    """Decimal places of a plainly written number (``"0.333"`` -> 3, ``"25"`` -> 0, ``"1e-05"`` -> 0)."""
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def rule_number(rule, measured: Mapping[str, Sequence[float]], digits: int, coarse: bool = False) -> str:
    """The measured quantity ``rule`` tests, without metric names: ``"difference +2.6"`` for a paired
    comparison, ``"0.19 (needs < 0.1)"`` for a threshold, ``"4 of 5 runs within the bound"``; the
    part that decided for a composite rule (:func:`_deciding_part`). ``""`` for a rule it cannot read.
    ``coarse`` (the ci profile, see :func:`mean_sd`): the same in words, with no measured number
    (``"difference positive"``, ``"needs < 0.1"``)."""
    try:
        part = _deciding_part(rule, measured)
        f = lambda v: fmt_value(v, digits)  # noqa: E731
        if isinstance(part, Greater):
            margin = f" (needs > {part.margin:.3g})" if part.margin else ""
            diff = _mean(measured, part.a) - _mean(measured, part.b)
            if coarse:
                return f"difference {'positive' if diff > 0 else 'not positive'}{margin}"
            return f"difference {'+' if diff >= 0 else ''}{f(diff)}{margin}"
        if hasattr(part, "threshold") and hasattr(part, "symbol"):
            needs = f"needs {part.symbol} {part.threshold:.3g}"
            if coarse:
                return needs
            value = _mean(measured, part.arm)
            # at least the threshold's own decimals ("0.30 (needs > 0.333)", not "0.3"), and one more
            # where rounding would print the value equal to it ("0.02 (needs < 0.02)" says no side)
            places = max(digits, _decimals(f"{part.threshold:.3g}"))
            shown = fmt_value(value, places)
            if value != part.threshold and shown == fmt_value(part.threshold, places):
                shown = fmt_value(value, places + 1)
            return f"{shown} ({needs})"
        if isinstance(part, Within):
            needs = f"needs {part.target:.3g} ± {part.tol:.3g}"
            return needs if coarse else f"{f(_mean(measured, part.arm))} ({needs})"
        if isinstance(part, SpreadGreater):
            if coarse:
                return f"spread of {part.a} against {part.b}"
            sd = [float(np.std(measured[arm], ddof=1)) for arm in (part.a, part.b)]
            return f"sd {f(sd[0])} against {f(sd[1])}"
        if isinstance(part, BoundEveryRun):
            ok = np.asarray(measured[part.value]) <= np.asarray(measured[part.bound]) + part.slack
            return f"{int(ok.sum())} of {ok.size} runs within the bound"
    except (KeyError, ValueError, TypeError):
        pass  # a rule this module does not know, or arms not measured: the p-value alone speaks
    return ""


def gate_text(gate, digits: int = 2, coarse: bool = False) -> str:
    """A claim's fair-test gate in words and numbers (``gate`` an object or a stored dict; ``None``:
    "no gate declared"): whether the toy allows an effect the seeds could detect."""
    if gate is None:
        return "no gate declared"
    f = lambda key: _gate_value(gate, key, digits)  # noqa: E731
    state = "fair test" if _get(gate, "holds") else "not a fair test"
    fixed = "; one fixed value for every seed" if _get(gate, "fixed") else ""
    text = _get(gate, "text") or ""
    if coarse:  # words only at ci (see mean_sd); the gate's text carries numbers, so it is left out too
        return f"{state}{fixed}"
    numbers = f"allowed {f('allowed_mean')} (lower bound {f('allowed_lcb')}) against detectable {f('detectable')}"
    return f"{state}: {text + ': ' if text else ''}{numbers}{fixed}"


def _gate_value(gate, key: str, digits: int) -> str:
    value = _get(gate, key)
    return fmt_value(math.nan if value is None else float(value), digits)


def _gate_failing_number(gate, digits: int, coarse: bool) -> str:
    """A failed gate's two numbers: the effect the toy allows (its lower bound) and what the seeds
    detect; at ci (``coarse``) the same in words."""
    if coarse:
        return "toy allows less than the seeds detect"
    return (f"toy allows ≤ {_gate_value(gate, 'allowed_lcb', digits)}, "
            f"seeds detect ≥ {_gate_value(gate, 'detectable', digits)}")


def _precondition_failing(rule, measured: Mapping[str, Sequence[float]], coarse: bool) -> str:
    """``": <number>"`` for a failed precondition, with three decimals (drifts and R²s live there), and
    its p-value where the deciding part holds on the means but not beyond noise (``0.014 (needs <
    0.02)`` alone would read as a pass)."""
    number = rule_number(rule, measured, 3, coarse)
    if not number:
        return ""
    try:
        part = _deciding_part(rule, measured)
        if part.on_means(measured):
            number += f", not beyond noise ({fmt_p(part.p_value(measured), coarse)})"
    except (AttributeError, KeyError, ValueError, TypeError):
        pass  # a rule without on_means/p_value: the number alone
    return f": {number}"


def decided(result, coarse: bool = False) -> str:
    """The one number that decided ``result``'s verdict (a :class:`~jepabook.core.claims.ClaimResult`):
    the effect and p for ``reproduced`` and ``direction only``; the failing gate or precondition for
    ``not testable here``; the effect that went the wrong way for ``not reproduced``."""
    c = result.claim
    digits = c.digits
    if result.verdict == SKIPPED:
        return "not run: " + ", ".join(result.missing)
    gate = getattr(result, "gate", None)
    if result.verdict == NOT_TESTABLE:
        if gate is not None and not _get(gate, "holds"):
            return _gate_failing_number(gate, digits, coarse)
        if c.precondition is not None:
            return "precondition fails" + _precondition_failing(c.precondition, result.measured, coarse)
        return "not testable"
    number = rule_number(c.rule, result.measured, digits, coarse)
    if result.verdict == NOT_REPRODUCED:
        return number or fmt_p(result.p, coarse)
    return f"{number}; {fmt_p(result.p, coarse)}" if number else fmt_p(result.p, coarse)


def count_line(results: Sequence, checks: Sequence) -> str:
    """``"3 claims: 2 reproduced, 0 direction only, 1 not reproduced; 4 of 4 checks pass"``."""
    main = (REPRODUCED, DIRECTION_ONLY, NOT_REPRODUCED)
    shown = [v for v in VERDICTS if v in main or any(r.verdict == v for r in results)]
    n = len(results)
    text = f"{n} claim{'s' if n != 1 else ''}: " + ", ".join(f"{sum(r.verdict == v for r in results)} {v}" for v in shown)
    if checks:
        passed = sum(c.verdict == PASS for c in checks)
        text += f"; {passed} of {len(checks)} check{'s' if len(checks) != 1 else ''} pass"
        skipped = sum(c.verdict == SKIPPED for c in checks)
        if skipped:
            text += f" ({skipped} skipped)"
    return text
