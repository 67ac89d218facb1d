"""The ledger's claims table and verdict counts, read from the chapters' committed results records.

Nothing here runs an experiment or types a verdict: every row is a record's stored claim, with the
verdict its chapter computed. A chapter that is planned but not built shows as such.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np

from jepabook.core.chapters import CHAPTERS, STEMS, TITLES
from jepabook.core.render import badge, claim_anchor, count_line, fmt_p, fmt_value, mean_sd
from jepabook.core.rules import DIRECTION_ONLY, FAIL, NOT_REPRODUCED, NOT_TESTABLE, PASS, REPRODUCED, SKIPPED
from jepabook.core.config import PROFILE_NAMES
from jepabook.core.results import published_dir

__all__ = ["COUNTED", "CheckRow", "ClaimRow", "LedgerTable", "book_chapters", "check_rows", "claim_rows",
           "counts", "counts_figure", "load_records", "record_path"]

#: the verdicts the ledger counts, in the order it shows them (skipped claims are counted apart)
COUNTED = (REPRODUCED, DIRECTION_ONLY, NOT_REPRODUCED, NOT_TESTABLE)


def book_chapters() -> list[str]:
    """Chapter keys with experiments, in the book's order (by notebook number)."""
    return sorted(CHAPTERS, key=lambda c: STEMS[c])


def record_path(chapter: str, profile: str, seeds: Sequence[int] | None = None,
                results: str | Path | None = None) -> Path:
    """``results/<chapter>-<profile>.json``, or the record of a run on other ``seeds``."""
    if chapter not in CHAPTERS:
        raise ValueError(f"chapter must be one of {', '.join(map(repr, CHAPTERS))}; got {chapter!r}")
    if profile not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {', '.join(map(repr, PROFILE_NAMES))}; got {profile!r}")
    name = f"{chapter}-{profile}" + ("" if seeds is None else "-seeds-" + "-".join(map(str, seeds)))
    return Path(results or published_dir()) / f"{name}.json"


def load_records(profile: str = "full", results: str | Path | None = None,
                 chapters: Sequence[str] | None = None) -> dict[str, dict]:
    """Every chapter's published record at ``profile``, in book order; a missing one is an error that
    says how to make it."""
    out = {}
    for chapter in chapters or book_chapters():
        path = record_path(chapter, profile, results=results)
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run `make chapter NB={STEMS[chapter]} PROFILE={profile}` "
                                    f"(or `python -m jepabook run {chapter} --profile {profile}`)")
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("chapter") != chapter or record.get("profile") != profile:
            raise ValueError(f"{path} holds chapter {record.get('chapter')!r} at profile {record.get('profile')!r}; "
                             f"expected {chapter!r} at {profile!r}")
        out[chapter] = record
    return out


def _fmt(v: float | None, digits: int) -> str:
    """A stored number as the chapters' claims tables print it (a missing one as "—")."""
    return fmt_value(math.nan if v is None else float(v), digits)


def _ours(item: Mapping, coarse: bool) -> str:
    """``arm mean ± sd`` for the arms the chapter's table shows, at its digits (one fewer if ``coarse``),
    formatted by the same code as the chapter's own table."""
    measured = item["measured"]
    digits = int(item.get("digits", 2))
    digits = max(digits - 1, 0) if coarse else digits
    return mean_sd(measured, [a for a in item.get("shown", measured) if a in measured], digits, coarse)


@dataclass(frozen=True)
class ClaimRow:
    """One claim of one chapter, as its record stores it."""

    chapter: str
    id: str
    statement: str
    paper: str
    laptop: str
    ours: str
    n: int
    se: float | None
    detectable: float | None
    p: float | None
    digits: int
    verdict: str
    precondition: str

    @property
    def link(self) -> str:
        """The claim's row in its chapter's table, relative to the ledger's page."""
        return f"{STEMS[self.chapter]}.html#{claim_anchor(self.id)}"

    def noise(self, coarse: bool = False) -> str:
        if self.verdict == SKIPPED:
            return "—"
        p = "—" if self.p is None else fmt_p(self.p, coarse)
        if coarse:
            return p
        return f"SE {_fmt(self.se, self.digits)}; detectable ≥ {_fmt(self.detectable, self.digits)}; {p}"


@dataclass(frozen=True)
class CheckRow:
    chapter: str
    id: str
    statement: str
    reference: str
    measured: str
    rule: str
    status: str

    @property
    def link(self) -> str:
        return f"{STEMS[self.chapter]}.html#{claim_anchor(self.id)}"


def claim_rows(records: Mapping[str, Mapping], coarse: bool = False) -> list[ClaimRow]:
    rows = []
    for chapter, record in records.items():
        n = len(record["seeds"])
        for c in record["claims"]:
            pre = c.get("precondition")
            pre_text = ""
            if pre is not None:
                pre_text = f"precondition ({pre.get('text') or pre['rule']}): {'holds' if pre['holds'] else 'FAILS'}"
            rows.append(ClaimRow(
                chapter=chapter, id=c["id"], statement=c["statement"], paper=c["paper"], laptop=c["laptop"],
                ours="" if c["verdict"] == SKIPPED else _ours(c, coarse), n=n, se=c.get("se"),
                detectable=c.get("detectable"), p=c.get("p"), digits=int(c.get("digits", 2)),
                verdict=c["verdict"], precondition=pre_text))
    return rows


def check_rows(records: Mapping[str, Mapping], coarse: bool = False) -> list[CheckRow]:
    return [CheckRow(chapter=chapter, id=c["id"], statement=c["statement"], reference=c["reference"],
                     measured="" if c["status"] == SKIPPED else _ours(c, coarse), rule=c["rule"], status=c["status"])
            for chapter, record in records.items() for c in record.get("checks", [])]


def counts(records: Mapping[str, Mapping]) -> dict[str, dict[str, int]]:
    """Per chapter and ``"all"``: how many claims got each verdict (``COUNTED`` and ``skipped``), how
    many claims in all, and how many checks passed and failed. Checks are never counted as claims."""
    out: dict[str, dict[str, int]] = {}
    for chapter, record in records.items():
        verdicts = [c["verdict"] for c in record["claims"]]
        unknown = set(verdicts) - set(COUNTED) - {SKIPPED}
        if unknown:
            raise ValueError(f"{chapter}: unknown verdicts {sorted(unknown)} in its record")
        row = {v: verdicts.count(v) for v in (*COUNTED, SKIPPED)}
        row["claims"] = len(verdicts)
        statuses = [c["status"] for c in record.get("checks", [])]
        row["checks pass"] = statuses.count(PASS)
        row["checks fail"] = statuses.count(FAIL)
        out[chapter] = row
    keys = (*COUNTED, SKIPPED, "claims", "checks pass", "checks fail")
    out["all"] = {k: sum(row[k] for row in out.values()) for k in keys}
    return out


class LedgerTable:
    """Every claim of the book (and, apart, every check): plain text for nbval, HTML for the site."""

    def __init__(self, records: Mapping[str, Mapping], coarse: bool = False):
        self.records = dict(records)
        self.coarse = coarse
        self.claims = claim_rows(records, coarse)
        self.checks = check_rows(records, coarse)

    def summary(self) -> str:
        """One line of counts over every chapter, worded as each chapter's own table words it."""
        return count_line(self.claims, self.checks)

    def __repr__(self) -> str:
        lines = []
        for r in self.claims:
            lines.append(f"[{r.verdict}] {r.id}: paper {r.paper} | laptop {r.laptop}")
            if r.verdict != SKIPPED:
                lines.append(f"    ours ({r.n} seeds): {r.ours}")
                lines.append(f"    noise: {r.noise(self.coarse)}")
            if r.precondition:
                lines.append(f"    {r.precondition}")
        if self.checks:
            lines.append("checks (not counted as reproductions):")
            lines += [f"[{c.status}] {c.id}: {c.measured}" for c in self.checks]
        return "\n".join(lines)

    _COLS = "<colgroup><col style='width:26%'><col style='width:19%'><col style='width:20%'><col style='width:21%'>" \
            "<col style='width:14%'></colgroup>"

    def _chapter_html(self, chapter: str) -> str:
        rows = [r for r in self.claims if r.chapter == chapter]
        c = counts({chapter: self.records[chapter]})[chapter]
        tally = " · ".join(f"{c[v]} {v}" for v in (*COUNTED, SKIPPED) if c[v])
        n = len(self.records[chapter]["seeds"])
        head = "".join(f"<th>{h}</th>" for h in ("claim", "verdict", "paper · laptop", "ours (mean ± sd)", "noise"))
        body = []
        for r in rows:
            pre = f"<br>{escape(r.precondition)}" if r.precondition else ""
            ours = "<br>".join(escape(part) for part in r.ours.split("; "))
            body.append(
                f"<tr><td><a href='{r.link}'><b>{escape(r.id.split('.', 1)[1])}</b></a><br>"
                f"<small>{escape(r.statement)}</small></td><td class='verdict'>{badge(r.verdict)}</td>"
                f"<td><small><b>paper</b> {escape(r.paper)}<br><b>laptop</b> {escape(r.laptop)}</small></td>"
                f"<td style='overflow-wrap:anywhere'><small>{ours}{pre}</small></td>"
                f"<td style='overflow-wrap:anywhere'><small>{escape(r.noise(self.coarse))}</small></td></tr>")
        return (f"<details open><summary><b>{escape(TITLES.get(chapter, chapter))}</b>: {escape(tally)} "
                f"(n = {n} seeds)</summary>"
                f"<table class='ledger-table claims-table' style='table-layout:fixed;width:100%'>{self._COLS}"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></details>")

    def _repr_html_(self) -> str:
        html = "".join(self._chapter_html(chapter) for chapter in self.records)
        if self.checks:
            head = "".join(f"<th>{h}</th>" for h in ("check", "result", "reference", "measured", "rule (every seed)"))
            rows = [f"<tr><td><a href='{c.link}'><b>{escape(c.id)}</b></a><br><small>{escape(c.statement)}</small></td>"
                    f"<td class='verdict'>{badge(c.status)}</td><td><small>{escape(c.reference)}</small></td>"
                    f"<td style='overflow-wrap:anywhere'><small>{'<br>'.join(map(escape, c.measured.split('; ')))}</small></td>"
                    f"<td style='overflow-wrap:anywhere'><small>{escape(c.rule)}</small></td></tr>" for c in self.checks]
            html += ("<p><b>Checks</b>: properties of the code or of a constructed example. They pass or fail and "
                     "are never counted as reproductions.</p>"
                     f"<table class='ledger-table checks-table' style='table-layout:fixed;width:100%'>{self._COLS}"
                     f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        return html


_COLOURS = {REPRODUCED: "#1b7837", DIRECTION_ONLY: "#dfb23b", NOT_REPRODUCED: "#b2182b", NOT_TESTABLE: "#7b7bb0"}


def counts_figure(table: Mapping[str, Mapping[str, int]], titles: Mapping[str, str] | None = None):
    """Stacked horizontal bars: per chapter (and overall), how many claims got each verdict."""
    import matplotlib.pyplot as plt

    names = [k for k in table if k != "all"] + ["all"]
    labels = [(titles or {}).get(k, k) for k in names]
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(names) + 1.2))
    y = np.arange(len(names))[::-1]
    left = np.zeros(len(names))
    for verdict in COUNTED:
        width = np.array([table[k][verdict] for k in names], dtype=float)
        ax.barh(y, width, left=left, color=_COLOURS[verdict], label=verdict, edgecolor="white")
        for yi, li, wi in zip(y, left, width):
            if wi > 0:
                ax.text(li + wi / 2, yi, f"{int(wi)}", ha="center", va="center", color="white", fontsize=9)
        left += width
    ax.set_yticks(y, labels)
    ax.set_xlabel("claims")
    ax.legend(ncols=2, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(names) < 5 else -0.2),
              frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
