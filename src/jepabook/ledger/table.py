"""The ledger's claims table and verdict counts, read from the chapters' committed results records.

Nothing here runs an experiment or types a verdict: every row is a record's stored claim, with the
verdict its chapter computed. A chapter that is planned but not built shows as such.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from html import escape

import numpy as np

from jepabook.core.chapters import STEMS, TITLES
from jepabook.core.claims import ClaimResult
from jepabook.core.records import book_chapters, load_records, record_path
from jepabook.core.render import claim_anchor, count_line, decided, fmt_p
from jepabook.core.tables import Row, rows_html
from jepabook.core.rules import DIRECTION_ONLY, FAIL, NOT_REPRODUCED, NOT_TESTABLE, PASS, REPRODUCED, SKIPPED
from jepabook.ledger.pooled import Pooled

# book_chapters, load_records and record_path live in jepabook.core.records; kept here for the chapters' code
__all__ = ["COUNTED", "LedgerTable", "book_chapters", "check_rows", "claim_rows", "counts", "counts_figure",
           "load_records", "record_path"]

#: the verdicts the ledger counts, in the order it shows them (skipped claims are counted apart)
COUNTED = (REPRODUCED, DIRECTION_ONLY, NOT_REPRODUCED, NOT_TESTABLE)


def claim_rows(records: Mapping[str, Mapping], coarse: bool = False, pooled: Mapping[str, Pooled] | None = None,
               claims: Mapping | None = None) -> list[Row]:
    """Every stored claim as the chapters' tables show it (:class:`jepabook.core.render.Row`), linked
    to its row in its chapter's table; with ``pooled``, the verification seeds' verdict and the
    pooled one are facts of its detail row. A record written before records stored the deciding
    number gets it from ``claims`` (id → the code's claim), when the code judges the stored values
    as the record did."""
    rows = []
    for chapter, record in records.items():
        for c in record["claims"]:
            if "decided" not in c and claims and c["id"] in claims:
                c = {**c, **_deciding_number(claims[c["id"]], c, coarse)}
            row = Row.of_stored(c, coarse, href=_link(chapter, c["id"]), n=len(record["seeds"]))
            if pooled and c["id"] in pooled:
                row = dataclasses.replace(row, extra=_pooled_facts(pooled[c["id"]], coarse))
            rows.append(row)
    return rows


def _deciding_number(claim, item: Mapping, coarse: bool) -> dict:
    """``{"decided": ...}`` computed by ``claim`` from the stored values, or ``{}`` when the code's
    verdict on them is not the stored one (the record was made by other rules)."""
    if item["verdict"] == SKIPPED or any(a not in item["measured"] for a in claim.reads()):
        return {}
    result = ClaimResult.of(claim, {a: item["measured"][a] for a in claim.reads()})
    return {"decided": decided(result, coarse)} if result.verdict == item["verdict"] else {}


def check_rows(records: Mapping[str, Mapping], coarse: bool = False) -> list[Row]:
    return [Row.of_stored(c, coarse, href=_link(chapter, c["id"]), n=len(record["seeds"]))
            for chapter, record in records.items() for c in record.get("checks", [])]


def _link(chapter: str, item_id: str) -> str:
    """The claim's row in its chapter's table, relative to the ledger's page."""
    return f"{STEMS[chapter]}.html#{claim_anchor(item_id)}"


def _pooled_facts(p: Pooled, coarse: bool) -> tuple[tuple[str, str], ...]:
    if p.pooled is None:
        return (("other seeds", p.other), ("pooled seeds", f"not pooled: {p.reason}"))
    return (("other seeds", p.other), ("pooled seeds", f"{p.pooled} ({fmt_p(p.p, coarse)}, n = {p.n}); "
                                                       "a second analysis, not the verdict"))


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
    """Every claim of the book (and, apart, every check): plain text for nbval, HTML for the site.
    The same three columns as a chapter's table (claim, verdict, the number that decided it); the
    fair test, rule, noise, paper, laptop and, with ``pooled``, the other and pooled seeds' verdicts
    fold into each claim's detail row."""

    def __init__(self, records: Mapping[str, Mapping], coarse: bool = False,
                 pooled: Mapping[str, Pooled] | None = None, claims: Mapping | None = None):
        self.records = dict(records)
        self.coarse = coarse
        self.by_chapter = {chapter: claim_rows({chapter: record}, coarse, pooled, claims)
                           for chapter, record in records.items()}
        self.claims = [row for rows in self.by_chapter.values() for row in rows]
        self.checks = check_rows(records, coarse)

    def summary(self) -> str:
        """One line of counts over every chapter, worded as each chapter's own table words it."""
        return count_line(self.claims, self.checks)

    def __repr__(self) -> str:
        lines = []
        for r in self.claims:
            lines.append(f"[{r.verdict}] {r.id}: {r.decided}")
            if r.verdict != SKIPPED:
                lines.append(f"    fair test? {r.gate}")
            if r.precondition.endswith("FAILS"):  # a precondition that holds is in the detail row only
                lines.append(f"    {r.precondition}")
        if self.checks:
            lines.append("checks (not counted as reproductions):")
            lines += [f"[{c.verdict}] {c.id}: {c.measured}" for c in self.checks]
        return "\n".join(lines)

    def _chapter_html(self, chapter: str) -> str:
        rows = self.by_chapter[chapter]
        c = counts({chapter: self.records[chapter]})[chapter]
        tally = " · ".join(f"{c[v]} {v}" for v in (*COUNTED, SKIPPED) if c[v])
        n = len(self.records[chapter]["seeds"])
        return (f"<details open class='ledger-chapter'><summary><b>{escape(TITLES.get(chapter, chapter))}</b>: "
                f"{escape(tally)} (n = {n} seeds)</summary>"
                f"<div class='claims-scroll'>{rows_html(rows, cls='claims-table ledger-table', anchors=False)}</div>"
                f"</details>")

    def _repr_html_(self) -> str:
        html = "".join(self._chapter_html(chapter) for chapter in self.records)
        if self.checks:
            html += ("<p><b>Checks</b>: properties of the code or of a constructed example. They pass or fail and "
                     "are never counted as reproductions.</p><div class='claims-scroll'>"
                     f"{rows_html(self.checks, ('check', 'result', 'measured'), 'checks-table ledger-table', False)}"
                     "</div>")
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
