"""Deviations, untested claims and the scale gap, as records: what a chapter did differently from the
paper and its official code, what it never tested, and how much smaller it is.

Rendered by every chapter (its "Where this differs from the paper" section) and assembled by the
closing chapter. Each chapter package declares ``DEVIATIONS``, ``UNTESTED`` and ``scale()`` in its
``deviations`` module; ``tests/test_deviations.py`` checks that every chapter does.

- :class:`Deviation`: one choice that differs from the paper, the official code or both, why we made
  it, and its consequence, either *measured* (the chapter's claims show it: ``claims`` names them)
  or *expected* (argued, not measured).
- :class:`Untested`: a claim or setting the chapter does not test, why, and what testing it would take.
- :class:`Scale`: one training run of the chapter's main recipe against the paper's, with the usual
  dense-transformer estimate of training compute.

:func:`deviations_table`, :func:`untested_list` and :func:`scale_table` render them as HTML (the book)
and as deterministic plain text (what nbval compares).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape
from typing import Sequence

from jepabook.core.render import badge

__all__ = ["EVIDENCE", "SOURCES", "Deviation", "Scale", "Untested", "deviations_table", "format_ratio", "format_si",
           "scale_table", "untested_list"]

SOURCES = ("paper", "official code", "both")
EVIDENCE = ("measured", "expected")
_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$")
_CHAPTER = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_id(value, name: str = "id") -> None:
    if not (isinstance(value, str) and _ID.match(value)):
        raise ValueError(f"{name} must look like '<chapter>.<name>' (lowercase letters, digits, _); got {value!r}")


def _check_text(obj, names: Sequence[str]) -> None:
    for name in names:
        v = getattr(obj, name)
        if not (isinstance(v, str) and v.strip()):
            raise ValueError(f"{name} must be a non-empty string; got {v!r}")


@dataclass(frozen=True)
class Deviation:
    """One way a chapter differs from the paper (``source="paper"``), its official code, or ``both``.

    ``theirs`` is what the paper and/or code do, ``ours`` what the chapter does, ``why`` the reason,
    ``consequence`` what it changes. ``evidence`` is ``"measured"`` when the chapter's results show
    the consequence (then ``claims`` must name the claims or checks that show it) and ``"expected"``
    when it is argued (the consequence says why). ``claims``: ids of the chapter's claims and checks
    the deviation bears on.
    """

    id: str
    what: str
    theirs: str
    ours: str
    source: str
    why: str
    consequence: str
    evidence: str
    claims: tuple[str, ...] = ()

    def __post_init__(self):
        _check_id(self.id)
        _check_text(self, ("what", "theirs", "ours", "why", "consequence"))
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}; got {self.source!r} (in {self.id})")
        if self.evidence not in EVIDENCE:
            raise ValueError(f"evidence must be one of {EVIDENCE}; got {self.evidence!r} (in {self.id})")
        if not isinstance(self.claims, tuple):
            raise ValueError(f"claims must be a tuple of claim ids; got {self.claims!r} (in {self.id})")
        for c in self.claims:
            _check_id(c, "claims")
            if c.split(".")[0] != self.chapter:
                raise ValueError(f"claims must belong to the deviation's chapter {self.chapter!r}; got {c!r}")
        if self.evidence == "measured" and not self.claims:
            raise ValueError(f"claims must name the claims or checks that measured the consequence when "
                             f"evidence is 'measured' (in {self.id})")

    @property
    def chapter(self) -> str:
        return self.id.split(".")[0]


@dataclass(frozen=True)
class Untested:
    """Something a chapter does not test: ``what``, ``why`` not, and what it ``would_take`` (compute, data)."""

    id: str
    what: str
    why: str
    would_take: str

    def __post_init__(self):
        _check_id(self.id)
        _check_text(self, ("what", "why", "would_take"))

    @property
    def chapter(self) -> str:
        return self.id.split(".")[0]


_OURS_INTS = ("params", "steps", "batch", "tokens_per_sample")
_PAPER_INTS = ("paper_params", "paper_steps", "paper_batch", "paper_tokens_per_sample")


@dataclass(frozen=True)
class Scale:
    """One training run of a chapter's main recipe against the paper's.

    ``params`` counts the encoder (the network the probe or the metric reads; predictors, heads and
    EMA copies are left out on both sides). ``steps`` are optimiser steps, ``batch`` samples per step,
    ``tokens_per_sample`` the tokens (or vectors) one sample puts through the encoder. A paper figure
    that our sources do not state is ``None`` (never guessed); ``notes`` says where derived figures
    come from. ``citation`` is a key of ``book/references.bib``.
    """

    chapter: str
    model: str
    params: int
    steps: int
    batch: int
    tokens_per_sample: int
    data: str
    hardware: str
    paper_model: str
    paper_params: int | None
    paper_steps: int | None
    paper_batch: int | None
    paper_tokens_per_sample: int | None
    paper_data: str
    paper_hardware: str
    citation: str
    notes: str = ""

    def __post_init__(self):
        if not (isinstance(self.chapter, str) and _CHAPTER.match(self.chapter)):
            raise ValueError(f"chapter must be a chapter key (lowercase letters, digits, _); got {self.chapter!r}")
        for name in _OURS_INTS:
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        for name in _PAPER_INTS:
            v = getattr(self, name)
            if not (v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)):
                raise ValueError(f"{name} must be a positive integer or None (not stated); got {v!r}")
        _check_text(self, ("model", "data", "hardware", "paper_model", "paper_data", "paper_hardware", "citation"))
        if not isinstance(self.notes, str):
            raise ValueError(f"notes must be a string; got {self.notes!r}")

    @property
    def samples_seen(self) -> int:
        """Samples through training: ``steps · batch``."""
        return self.steps * self.batch

    @property
    def paper_samples_seen(self) -> int | None:
        if self.paper_steps is None or self.paper_batch is None:
            return None
        return self.paper_steps * self.paper_batch

    @staticmethod
    def _compute(params, tokens, samples) -> float | None:
        if params is None or tokens is None or samples is None:
            return None
        return 6.0 * params * tokens * samples

    @property
    def compute(self) -> float:
        """Training FLOPs ≈ 6 · params · tokens_per_sample · samples_seen.

        The usual dense-transformer estimate (2 FLOPs per parameter per token forward, 4 backward). It
        ignores attention's quadratic term, the predictor, an EMA target's forward pass, masking that
        shortens the context, per-point layers before tokenisation, and anything run once (teacher
        passes, probes): an order of magnitude, for comparing runs, not a cost.
        """
        return self._compute(self.params, self.tokens_per_sample, self.samples_seen)

    @property
    def paper_compute(self) -> float | None:
        """The same estimate for the paper's run; ``None`` when a figure it needs is not stated."""
        return self._compute(self.paper_params, self.paper_tokens_per_sample, self.paper_samples_seen)

    @property
    def compute_ratio(self) -> float | None:
        """``paper_compute / compute``: how many times our run's compute the paper's is (``None`` if unknown)."""
        paper = self.paper_compute
        return None if paper is None else paper / self.compute


# --- rendering ---------------------------------------------------------------------------------------

_SI = ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _sig2(x: float) -> str:
    """``x`` (≥ 0) at two significant digits, without exponent: 1.2, 12, 130, 0.12."""
    if x == 0:
        return "0"
    digits = 1 - math.floor(math.log10(x))
    rounded = round(x, digits)
    if math.floor(math.log10(rounded)) != math.floor(math.log10(x)):
        digits -= 1  # 9.96 → 10, not 10.0
        rounded = round(x, digits)
    return f"{rounded:.{max(digits, 0)}f}"


def format_si(x: float | int | None, unit: str = "") -> str:
    """Two significant digits with an SI suffix: 132866 → "130 k", 6.3e8 → "630 M", whole numbers
    below 1000 as they are ("256"), beyond the exa range in e-notation ("3.7e21"); ``None`` → "—"."""
    if x is None:
        return "—"
    if x < 0:
        raise ValueError(f"x must be non-negative; got {x!r}")
    if float(x).is_integer() and x < 1000:
        return f"{int(x)} {unit}".rstrip()
    r = float(f"{x:.1e}")  # rounded to two significant digits first, so 999.6 k reads 1.0 M
    if r >= 1e21:
        mantissa, exponent = f"{x:.1e}".split("e")
        return f"{mantissa}e{int(exponent)} {unit}".rstrip()
    for scale, suffix in _SI:
        if r >= scale:
            return f"{_sig2(r / scale)} {suffix}{unit}".rstrip()
    return f"{_sig2(r)} {unit}".rstrip()


def format_ratio(r: float | None) -> str:
    """A ratio at two significant digits in e-notation: 1.2e6×; ``None`` → "—" (not stated)."""
    if r is None:
        return "—"
    mantissa, exponent = f"{r:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}×"


_DIFFERS = {"paper": "the paper", "official code": "the official code", "both": "the paper and the official code"}
_EVIDENCE_COLOUR = {"measured": "#1b7837", "expected": "#5a5a8a"}


def _anchor(record_id: str, prefix: str) -> str:
    return f"{prefix}-" + record_id.replace(".", "-").replace("_", "-")


class _Rendered:
    """A list of records shown as an HTML table in the book and as plain text elsewhere."""

    def __init__(self, records, title: str):
        self.records = tuple(records)
        self.title = title

    def __len__(self) -> int:
        return len(self.records)

    def _lines(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        return "\n".join([f"{self.title} ({len(self.records)})"] + self._lines())


class DeviationsTable(_Rendered):
    def _lines(self) -> list[str]:
        out = []
        for d in self.records:
            out += [f"[{d.evidence}] {d.id}: {d.what}",
                    f"    theirs: {d.theirs}",
                    f"    ours: {d.ours}",
                    f"    differs from: {_DIFFERS[d.source]}",
                    f"    why: {d.why}",
                    f"    consequence: {d.consequence}"]
            if d.claims:
                out.append(f"    claims: {', '.join(d.claims)}")
        return out

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                       ("what", "theirs → ours", "why", "consequence"))
        rows = []
        for d in self.records:
            claims = (f"<br><small>claims: {', '.join(f'<code>{escape(c)}</code>' for c in d.claims)}</small>"
                      if d.claims else "")
            rows.append(
                f"<tr id='{_anchor(d.id, 'deviation')}'><td><b>{escape(d.what)}</b><br><small><code>{escape(d.id)}"
                f"</code></small></td><td><i>theirs:</i> {escape(d.theirs)}<br><i>ours:</i> {escape(d.ours)}"
                f"<br><small>differs from {escape(_DIFFERS[d.source])}</small></td><td>{escape(d.why)}</td>"
                f"<td>{badge(d.evidence, _EVIDENCE_COLOUR[d.evidence])} {escape(d.consequence)}{claims}</td></tr>")
        return f"<table class='deviations-table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


class UntestedList(_Rendered):
    def _lines(self) -> list[str]:
        out = []
        for u in self.records:
            out += [f"- {u.id}: {u.what}", f"    why not: {u.why}", f"    would take: {u.would_take}"]
        return out

    def _repr_html_(self) -> str:
        items = "".join(
            f"<li id='{_anchor(u.id, 'untested')}'><b>{escape(u.what)}</b> <small><code>{escape(u.id)}</code></small>"
            f"<br><i>Why not:</i> {escape(u.why)}<br><i>What it would take:</i> {escape(u.would_take)}</li>"
            for u in self.records)
        return f"<ul class='untested-list'>{items}</ul>"


_SCALE_ROWS = (
    ("model", lambda s: s.model, lambda s: s.paper_model),
    ("encoder parameters", lambda s: format_si(s.params), lambda s: format_si(s.paper_params)),
    ("optimiser steps", lambda s: format_si(s.steps), lambda s: format_si(s.paper_steps)),
    ("batch (samples per step)", lambda s: format_si(s.batch), lambda s: format_si(s.paper_batch)),
    ("tokens per sample", lambda s: format_si(s.tokens_per_sample), lambda s: format_si(s.paper_tokens_per_sample)),
    ("samples seen", lambda s: format_si(s.samples_seen), lambda s: format_si(s.paper_samples_seen)),
    ("training compute (≈ 6·N·T·S)", lambda s: format_si(s.compute, "FLOP"),
     lambda s: format_si(s.paper_compute, "FLOP")),
    ("data", lambda s: s.data, lambda s: s.paper_data),
    ("hardware", lambda s: s.hardware, lambda s: s.paper_hardware),
)


class ScaleTable(_Rendered):
    def _lines(self) -> list[str]:
        out = []
        for s in self.records:
            out.append(f"{s.chapter}: compute ratio (paper / ours) {format_ratio(s.compute_ratio)} [{s.citation}]")
            out += [f"    {label}: ours {mine(s)} | paper {theirs(s)}" for label, mine, theirs in _SCALE_ROWS]
            if s.notes:
                out.append(f"    notes: {s.notes}")
        return out

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("", "ours", "paper"))
        blocks = []
        for s in self.records:
            rows = "".join(f"<tr><td>{escape(label)}</td><td>{escape(mine(s))}</td><td>{escape(theirs(s))}</td></tr>"
                           for label, mine, theirs in _SCALE_ROWS)
            rows += (f"<tr><td><b>compute ratio</b> (paper / ours)</td><td colspan='2'><b>"
                     f"{escape(format_ratio(s.compute_ratio))}</b></td></tr>")
            notes = f"<p><small>{escape(s.notes)}</small></p>" if s.notes else ""
            blocks.append(f"<div id='scale-{escape(s.chapter)}'><p><b>{escape(s.chapter)}</b> "
                          f"<small>(paper: <code>{escape(s.citation)}</code>)</small></p>"
                          f"<table class='scale-table'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
                          f"{notes}</div>")
        return "".join(blocks)


def _typed(records, kind, name: str) -> tuple:
    records = tuple(records)
    bad = [r for r in records if not isinstance(r, kind)]
    if bad:
        raise ValueError(f"{name} takes {kind.__name__} records; got {type(bad[0]).__name__}")
    return records


def deviations_table(records: Sequence[Deviation]) -> DeviationsTable:
    """The deviations as a table: what, theirs vs ours, why, consequence with its evidence badge."""
    return DeviationsTable(_typed(records, Deviation, "deviations_table"), "deviations from the paper and its code")


def untested_list(records: Sequence[Untested]) -> UntestedList:
    """What was never tested, each with why not and what it would take."""
    return UntestedList(_typed(records, Untested, "untested_list"), "not tested here")


def scale_table(scales: Sequence[Scale]) -> ScaleTable:
    """Ours against the paper's, one block per chapter, with the compute ratio."""
    return ScaleTable(_typed(scales, Scale, "scale_table"), "scale: one run of ours against the paper's")
