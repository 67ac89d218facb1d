"""The claims tables and the findings box, drawn with :mod:`jepabook.core.render`'s formatting.

A :class:`Row` is one claim or check as every table shows it, built from a live result (a chapter
run) or from a stored record (the ledger); :func:`rows_html` draws rows as three columns (the claim
in plain words, its verdict, the one number that decided it) with every other fact folded into a
``<details>`` row below, so that a table fits the text column and a phone. :class:`ClaimsTable` is
what a chapter prints (plain text for terminals and nbval, HTML on the site); :class:`Findings` is
the box a chapter opens with.

Explained in Chapter 1 (JEPA basics); Chapter 6 draws the ledger with the same rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from jepabook.core.records import item_verdict
from jepabook.core.render import (badge, claim_anchor, count_line, decided, fmt_p, fmt_value, gate_text, mean_sd,
                                  rule_number)
from jepabook.core.rules import FAIL, NOT_TESTABLE, PASS, SKIPPED, VERDICTS

__all__ = ["ClaimsTable", "Findings", "Row", "rows_html"]


@dataclass(frozen=True)
class Row:
    """One claim (or check) as every table of the book shows it: the three main cells (label and
    statement, verdict, the one number) and the facts that fold into its detail row."""

    id: str
    label: str
    statement: str
    verdict: str
    decided: str
    measured: str = ""
    rule: str = ""
    metric: str = ""
    noise: str = ""
    paper: str = ""
    laptop: str = ""
    gate: str = ""
    precondition: str = ""
    href: str = ""
    kind: str = "claim"
    extra: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of_result(cls, r, coarse: bool = False) -> Row:
        """From a :class:`~jepabook.core.claims.ClaimResult`; the claim's ``label`` and ``rule_text``
        where it has them, else its id and the rule's formula."""
        c = r.claim
        gate = getattr(r, "gate", None)
        return cls(id=c.id, label=getattr(c, "label", "") or c.id, statement=c.statement, verdict=r.verdict,
                   decided=decided(r, coarse), measured=r.ours(coarse), rule=getattr(c, "rule_text", "") or
                   c.rule.describe(), metric=c.metric, noise=r.noise_text(coarse), paper=c.paper, laptop=c.laptop,
                   gate=gate_text(gate, c.digits, coarse) if r.verdict != SKIPPED else "—",
                   precondition=r.precondition_text(coarse))

    @classmethod
    def of_check(cls, r, coarse: bool = False) -> Row:
        """From a :class:`~jepabook.core.claims.CheckResult`."""
        c = r.check
        number = ("not run: " + ", ".join(r.missing) if r.status == SKIPPED
                  else rule_number(c.rule, r.measured, c.digits, coarse))
        return cls(id=c.id, label=getattr(c, "label", "") or c.id, statement=c.statement, verdict=r.status,
                   decided=number or r.ours(coarse), measured=r.ours(coarse),
                   rule=(getattr(c, "rule_text", "") or c.rule.describe()) + " (every seed)", metric=c.metric,
                   paper=c.reference, kind="check")

    @classmethod
    def of_stored(cls, item: Mapping, coarse: bool = False, href: str = "", n: int | None = None) -> Row:
        """From a claim or check as a results record stores it (``decided`` where the record has it)."""
        verdict = item_verdict(item)
        kind = item.get("kind", "claim")
        measured = item.get("measured", {})
        digits = int(item.get("digits", 2))
        ours = ""
        if verdict != SKIPPED and measured:
            arms = [a for a in item.get("shown", measured) if a in measured]
            n = n if n is not None else len(next(iter(measured.values())))
            ours = mean_sd(measured, arms, digits, coarse) + f" (n={n})"
        rule = item.get("rule_text") or item.get("rule", "")
        if kind == "check":
            return cls(id=item["id"], label=item.get("label") or item["id"], statement=item["statement"],
                       verdict=verdict, decided=item.get("decided") or ("not run" if verdict == SKIPPED else ours),
                       measured=ours, rule=rule + " (every seed)", metric=item.get("metric", ""),
                       paper=item.get("reference", ""), href=href, kind="check")
        pre = item.get("precondition")
        pre_text = ""
        if pre is not None and verdict != SKIPPED:
            pre_text = f"precondition ({pre.get('text') or pre['rule']}): {'holds' if pre['holds'] else 'FAILS'}"
        p = item.get("p")
        noise = "—"
        if verdict != SKIPPED:
            ptext = "—" if p is None else fmt_p(p, coarse)
            f = lambda v: fmt_value(math.nan if v is None else float(v), digits)  # noqa: E731
            noise = ptext if coarse else f"SE {f(item.get('se'))}; detectable ≥ {f(item.get('detectable'))}; {ptext}"
        fallback = {SKIPPED: "not run", NOT_TESTABLE: "precondition fails" if pre_text else "not testable"}
        decided_text = item.get("decided") or fallback.get(verdict) or ("—" if p is None else fmt_p(p, coarse))
        return cls(id=item["id"], label=item.get("label") or item["id"], statement=item["statement"],
                   verdict=verdict, decided=decided_text, measured=ours, rule=rule, metric=item.get("metric", ""),
                   noise=noise, paper=item.get("paper", ""), laptop=item.get("laptop", ""),
                   gate="—" if verdict == SKIPPED else gate_text(item.get("gate"), digits, coarse),
                   precondition=pre_text, href=href)

    def facts(self) -> list[tuple[str, str]]:
        """The detail row's entries, in order; empty ones are left out."""
        if self.kind == "check":
            pairs = [("statement", self.statement), ("rule", self.rule), ("measured", self.measured),
                     ("metric", self.metric), ("reference", self.paper)]
        else:
            pairs = [("statement", self.statement), ("rule", self.rule), ("fair test?", self.gate),
                     ("precondition", self.precondition), ("measured", self.measured), ("metric", self.metric),
                     ("noise", self.noise), ("paper", self.paper), ("laptop", self.laptop)]
        return [(k, v) for k, v in (*pairs, *self.extra) if v]


#: between a word and a number, a space that never breaks ("p = 0.05" stays on one line)
_GLUE = re.compile(r"(?<=\S) ([=<>≤≥±]) (?=\S)")


#: a hyphen used as a minus sign (``-1.2``, ``1.3e-02``): a browser may break a line after a hyphen
_MINUS = re.compile(r"(?:(?<![^\s(])|(?<=\de))-(?=\d)")  # after a space, "(" or the start; in an exponent


def _cell(text: str) -> str:
    """Escaped text whose relations (``p = 0.05``, ``> 0.9``) and numbers (``-1.3e-02``, written with
    the minus sign U+2212, after which no line breaks) never break across lines."""
    return escape(_MINUS.sub("\u2212", _GLUE.sub("\u00a0\\1\u00a0", text)))


def _code(text: str) -> str:
    """Escaped text that may break after ``_`` or ``,`` (metric names), never inside a word."""
    return escape(text).replace("_", "_<wbr>").replace(",", ",<wbr>")


def rows_html(rows: Sequence[Row], heads: Sequence[str] = ("claim", "verdict", "ours"), cls: str = "claims-table",
              anchors: bool = True) -> str:
    """The table every chapter and the ledger print: three columns (the claim in plain words, its
    verdict, the one number that decided it) and under each claim a folded detail row with the
    rest (statement, rule, fair test, measurements, noise, paper, laptop)."""
    head = "".join(f"<th class='{c}'>{escape(h)}</th>" for c, h in zip(("claim", "verdict", "ours"), heads))
    body = []
    for r in rows:
        rid = f" id='{claim_anchor(r.id)}'" if anchors else ""  # the id first: links and checks look for "<tr id="
        label = _code(r.label) if r.label == r.id else escape(r.label)  # an id may break after "_"
        label = f"<a href='{escape(r.href)}'>{label}</a>" if r.href else label
        ident = f"<br><small class='claim-id'>{_code(r.id)}</small>" if r.label != r.id else ""
        body.append(f"<tr{rid} class='claim-row'><td class='claim'><b>{label}</b>{ident}</td>"
                    f"<td class='verdict'>{badge(r.verdict)}</td>"
                    f"<td class='ours'>{_cell(r.decided)}</td></tr>")
        facts = "".join(f"<dt>{escape(k)}</dt><dd>{_code(v) if k in ('rule', 'metric', 'measured') else _cell(v)}</dd>"
                        for k, v in r.facts())
        folded = "rule, measurements, reference" if r.kind == "check" else "rule, fair test, noise, paper, laptop"
        body.append(f"<tr class='claim-detail'><td colspan='3'><details><summary>{folded}</summary>"
                    f"<dl class='claim-facts'>{facts}</dl></details></td></tr>")
    return (f"<table class='{cls}'><colgroup><col class='claim'><col class='verdict'><col class='ours'></colgroup>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


class Findings:
    """The box a chapter opens with: each claim in plain words, its verdict, and the one number
    that decided it, linked to its row in the claims table; computed from the chapter's run."""

    def __init__(self, rows: Sequence[Row], summary: str):
        self.rows = list(rows)
        self.summary = summary

    def __repr__(self) -> str:
        return "\n".join([f"Findings: {self.summary}"] +
                         [f"[{r.verdict}] {r.label}: {r.decided}" for r in self.rows])

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{badge(r.verdict)} <a href='#{claim_anchor(r.id)}'>{escape(r.label)}</a>: "
                        f"<span class='finding-number'>{_cell(r.decided)}</span></li>" for r in self.rows)
        return (f"<div class='findings'><p class='findings-title'><b>Findings</b>: {escape(self.summary)}</p>"
                f"<ul class='findings-list'>{items}</ul></div>")


class ClaimsTable:
    """The claims table a chapter prints (and its checks, apart): plain text for terminals and nbval,
    HTML in the book.

    ``coarse`` prints every value one digit shorter, p only as the side of 5 % it falls on, and no
    standard error or detectable effect (see :meth:`ClaimResult.noise_text`). The small ``ci``
    profile uses it: its short runs are regression tests, and one digit less keeps what they print
    the same on CPUs whose BLAS kernels round differently (training turns last-bit differences into
    ~1e-4 relative ones, a few per cent on an unstable run); nothing is published from them.
    """

    columns = ("claim", "verdict", "ours")
    check_columns = ("check", "result", "measured")

    def __init__(self, results: Sequence, checks: Sequence = (), coarse: bool = False):
        self.results = list(results)
        self.checks = list(checks)
        self.coarse = coarse

    def rows(self) -> list[Row]:
        """One :class:`Row` per claim."""
        return [Row.of_result(r, self.coarse) for r in self.results]

    def check_rows(self) -> list[Row]:
        return [Row.of_check(c, self.coarse) for c in self.checks]

    def findings(self) -> Findings:
        """The chapter's findings box (:class:`Findings`)."""
        return Findings(self.rows(), self.summary())

    def counts(self) -> dict[str, int]:
        """How many claims got each verdict, and how many checks passed and failed."""
        out = {v: sum(r.verdict == v for r in self.results) for v in VERDICTS}
        out.update({f"checks {s}": sum(c.status == s for c in self.checks) for s in (PASS, FAIL)})
        return out

    def __repr__(self) -> str:
        """Short plain text (nbval compares it): per claim its verdict, label and deciding number,
        then the measurements and the rule in words."""
        lines = []
        for r in self.rows():
            words = r.label if r.label != r.id else r.statement  # the claim in words, once
            lines += [f"[{r.verdict}] {r.id}: {words}", f"    decided by: {r.decided}"]
            if r.verdict != SKIPPED:
                lines.append(f"    ours: {r.measured}")
            lines.append(f"    rule: {r.rule}")
            if r.precondition:
                lines.append(f"    {r.precondition}")
        if self.checks:
            lines.append("checks (properties of the code or a construction; not reproductions):")
            lines += [f"[{r.verdict}] {r.id}: {r.measured} | rule: {r.rule}" for r in self.check_rows()]
        return "\n".join(lines)

    #: a table with more claims than this is shown in groups (:meth:`groups`), each collapsed under a
    #: line with its verdict counts
    group_above = 8

    def summary(self) -> str:
        """One line of counts: ``"3 claims: 2 reproduced, 0 direction only, 1 not reproduced; 4 of 4
        checks pass"``. The three main verdicts are always named; the others only when they occur."""
        return count_line(self.results, self.checks)

    def groups(self) -> list[tuple[str, list]]:
        """The claims in runs of the same group, in table order: the first word of their name
        (``lejepa.t1_spiral`` -> ``t1``), or their chapter when the table spans several (a ledger)."""
        out: list[tuple[str, list]] = []
        by_chapter = len({r.claim.id.split(".", 1)[0] for r in self.results}) > 1
        for r in self.results:
            key = r.claim.id.split(".", 1)[0] if by_chapter else r.claim.id.split(".", 1)[-1].split("_", 1)[0]
            if out and out[-1][0] == key:
                out[-1][1].append(r)
            else:
                out.append((key, [r]))
        return out

    def _table(self, rows: Sequence[Row], heads=columns, cls: str = "claims-table") -> str:
        return f"<div class='claims-scroll'>{rows_html(rows, heads, cls)}</div>"

    def _repr_html_(self) -> str:
        """Three columns (claim, verdict, the deciding number); every other fact folds into the row
        below each claim. A table longer than :attr:`group_above` claims comes in collapsed groups,
        each under its counts; every row keeps its ``claim_anchor`` id."""
        parts = [f"<p class='claims-summary'><b>Verdicts</b>: {escape(self.summary())}</p>"]
        if len(self.results) > self.group_above:
            for key, results in self.groups():
                parts.append(f"<details class='claims-group'><summary><b>{escape(key)}</b>: "
                             f"{escape(count_line(results, ()))}</summary>"
                             f"{self._table([Row.of_result(r, self.coarse) for r in results])}</details>")
        elif self.results:
            parts.append(self._table(self.rows()))
        if self.checks:
            parts.append("<p><b>Checks</b>: properties of the code or of a constructed example; they pass or fail "
                         "and are not counted as reproductions.</p>")
            parts.append(self._table(self.check_rows(), self.check_columns, "checks-table"))
        return f"<div class='claims'>{''.join(parts)}</div>"
