"""How claims, checks and verdicts are written: numbers, badges and the claims table.

Every table of the book (a chapter's claims and checks, the ledger, the deviations) formats its
numbers and draws its verdict badges with this module, so that a value or a badge reads the same
everywhere. :class:`ClaimsTable` is what a chapter prints: plain text for terminals and nbval, HTML
on the site.

Explained in Chapter 1 (JEPA basics); Chapter 6 uses it for the ledger.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from html import escape

import numpy as np

from jepabook.core.rules import (ALPHA, DIRECTION_ONLY, FAIL, NOT_REPRODUCED, NOT_TESTABLE, PASS, REPRODUCED, SKIPPED,
                                 VERDICTS, BoundEveryRun)

__all__ = ["BADGE_COLOURS", "ClaimsTable", "badge", "claim_anchor", "count_line", "fmt_p", "fmt_value", "mean_sd"]

def claim_anchor(item_id: str) -> str:
    """The HTML id of a claim's or check's row in its chapter's table: ``"ijepa.learns"`` ->
    ``"claim-ijepa-learns"``. Chapter 6 links each ledger row to it."""
    if not isinstance(item_id, str) or not re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", item_id):
        raise ValueError(f"item_id must look like '<chapter>.<name>' (lower case, digits, _); got {item_id!r}")
    return "claim-" + item_id.replace(".", "-").replace("_", "-")

def fmt_value(v: float, digits: int, coarse: bool = False) -> str:
    if not math.isfinite(v):
        return "—"
    if v != 0 and (abs(v) < 10 ** (-digits) or abs(v) >= 1e5):
        return f"{v:.0e}" if coarse else f"{v:.1e}"
    return f"{v:.{digits}f}"


def fmt_p(p: float, coarse: bool) -> str:
    if coarse:  # short runs: only which side of 5 % is stable across CPUs
        return "p < 0.05" if p < ALPHA else "p ≥ 0.05"
    return "p < 0.001" if p < 1e-3 else f"p = {p:.3f}"


def mean_sd(measured: Mapping[str, list[float]], arms: Sequence[str], digits: int, coarse: bool) -> str:
    parts = []
    for arm in arms:
        v = np.asarray(measured[arm])
        sd = v.std(ddof=1) if v.size > 1 else 0.0
        # coarse: the spread at fixed decimals, since a 1-digit exponent form of a small sd
        # flips with the last bits of the runs (5e-02 against 4e-02)
        spread = f"{sd:.{digits}f}" if coarse else fmt_value(sd, digits)
        parts.append(f"{arm} {fmt_value(v.mean(), digits, coarse)} ± {spread}")
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

    def __init__(self, results: Sequence, checks: Sequence = (), coarse: bool = False):
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

    #: a table with more claims than this is shown in groups (:meth:`groups`), each collapsed under a
    #: line with its verdict counts
    group_above = 8

    def summary(self) -> str:
        """One line of counts: ``"3 claims: 2 reproduced, 0 direction only, 1 not reproduced; 4 of 4
        checks pass"``. The three main verdicts are always named; the others only when they occur."""
        return count_line(self.results, self.checks)

    def _claim_rows(self, results) -> str:
        rows = []
        for r in results:
            c = r.claim
            pre = r.precondition_text(self.coarse)
            pre = f"<br><small class='precondition'>{escape(pre)}</small>" if pre else ""
            rows.append(
                f"<tr id='{claim_anchor(c.id)}'><td class='claim'><b>{escape(c.id)}</b><br>{escape(c.statement)}{pre}</td>"
                f"<td class='verdict'>{badge(r.verdict)}</td>"
                f"<td class='ours'>{escape(r.ours(self.coarse))}</td>"
                f"<td class='rule'><small>{escape(c.rule.describe())}</small></td>"
                f"<td class='noise'><small>{escape(r.noise_text(self.coarse))}</small></td>"
                f"<td class='paper'>{escape(c.paper)}</td><td class='laptop'>{escape(c.laptop)}</td></tr>")
        return "".join(rows)

    def _table(self, cls: str, columns, body: str) -> str:
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
        parts = [f"<p class='claims-summary'><b>Verdicts</b>: {escape(self.summary())}</p>"]
        if len(self.results) > self.group_above:
            for key, results in self.groups():
                parts.append(f"<details class='claims-group'><summary><b>{escape(key)}</b>: "
                             f"{escape(count_line(results, ()))}</summary>"
                             f"{self._table('claims-table', self.columns, self._claim_rows(results))}</details>")
        elif self.results:
            parts.append(self._table("claims-table", self.columns, self._claim_rows(self.results)))
        if self.checks:
            rows = "".join(
                f"<tr id='{claim_anchor(c.check.id)}'><td class='claim'><b>{escape(c.check.id)}</b><br>"
                f"{escape(c.check.statement)}</td><td class='verdict'>{badge(c.status)}</td>"
                f"<td class='ours'>{escape(c.ours(self.coarse))}</td>"
                f"<td class='rule'><small>{escape(c.check.rule.describe())} (every seed)</small></td>"
                f"<td class='paper'>{escape(c.check.reference)}</td></tr>" for c in self.checks)
            parts.append("<p><b>Checks</b>: properties of the code or of a constructed example; they pass or fail "
                         "and are not counted as reproductions.</p>")
            parts.append(self._table("checks-table", self.check_columns, rows))
        return f"<div class='claims'>{''.join(parts)}</div>"



def count_line(results: Sequence, checks: Sequence) -> str:
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
