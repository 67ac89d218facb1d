"""Deviations, untested items and the scale gap: every chapter declares them, and they stay true to the code."""

import dataclasses
import importlib
import re
from pathlib import Path

import mlx.core as mx
import pytest
from mlx.utils import tree_flatten

from jepabook.core.chapters import CHAPTERS
from jepabook.core.deviations import (EVIDENCE, SOURCES, Deviation, Scale, Untested, deviations_table, format_ratio,
                                      format_si, scale_table, untested_list)

ROOT = Path(__file__).resolve().parents[1]
BIB_KEYS = set(re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "book" / "references.bib").read_text(), flags=re.M))


def _module(chapter):
    return importlib.import_module(f"jepabook.{chapter}.deviations")


def _claim_ids(chapter) -> set[str]:
    """Every claim and check id of a chapter, as tests/test_book.py enumerates them."""
    config = importlib.import_module(CHAPTERS[chapter]).PROFILES["full"]
    return {c.id for c in importlib.import_module(f"jepabook.{chapter}.claims").claims_for(config)}


def _dev(**kw):
    base = dict(id="basics.example", what="w", theirs="t", ours="o", source="paper", why="y",
                consequence="c", evidence="expected", claims=())
    base.update(kw)
    return Deviation(**base)


def _scale(**kw):
    base = dict(chapter="basics", model="m", params=100, steps=10, batch=4, tokens_per_sample=8, data="d",
                hardware="h", paper_model="pm", paper_params=1000, paper_steps=100, paper_batch=8,
                paper_tokens_per_sample=16, paper_data="pd", paper_hardware="ph", citation="assran2023ijepa")
    base.update(kw)
    return Scale(**base)


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_every_chapter_declares_deviations_untested_and_scale(chapter):
    m = _module(chapter)
    assert len(m.DEVIATIONS) >= 3 and all(isinstance(d, Deviation) for d in m.DEVIATIONS)
    assert len(m.UNTESTED) >= 1 and all(isinstance(u, Untested) for u in m.UNTESTED)
    s = m.scale()
    assert isinstance(s, Scale) and s.chapter == chapter
    assert s.citation in BIB_KEYS, f"{chapter}: citation {s.citation!r} is not a key of book/references.bib"


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_records_name_consequence_evidence_and_existing_claims(chapter):
    m = _module(chapter)
    ids = _claim_ids(chapter)
    for d in m.DEVIATIONS:
        assert d.consequence.strip() and d.evidence in EVIDENCE and d.source in SOURCES
        assert d.chapter == chapter
        missing = [c for c in d.claims if c not in ids]
        assert not missing, f"{d.id} names claims that {chapter}.claims does not define: {missing}"
        if d.evidence == "measured":
            assert d.claims
    for u in m.UNTESTED:
        assert u.chapter == chapter and u.why.strip() and u.would_take.strip()


def test_record_ids_are_unique_across_the_book():
    ids = [r.id for c in CHAPTERS for r in (*_module(c).DEVIATIONS, *_module(c).UNTESTED)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_scale_params_are_a_direct_count_of_the_chapter_model():
    # closed check on Chapter 1: build the encoder independently and count every weight and bias
    from jepabook.basics.experiment import JEPA, PROFILES

    c = PROFILES["full"]
    encoder = JEPA(c, mx.random.key(123)).encoder
    direct = sum(v.size for _, v in tree_flatten(encoder.parameters()))
    dims = [c.ambient_dim, c.hidden, c.hidden, c.embed_dim]
    by_hand = sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))
    s = _module("basics").scale()
    assert s.params == direct == by_hand
    assert (s.steps, s.batch) == (c.steps, c.batch)


def test_scale_our_side_follows_the_full_profile():
    from jepabook.ijepa.experiment import PROFILES as IJ
    from jepabook.lejepa.experiment import PROFILES as LJ
    from jepabook.lejepa.learner import Learner

    s = _module("ijepa").scale()
    assert (s.steps, s.batch, s.tokens_per_sample) == (IJ["full"].steps, IJ["full"].batch, 64)
    s = _module("lejepa").scale()
    assert (s.steps, s.batch) == (LJ["full"].steps, LJ["full"].learner.batch)
    # the paper's encoder 2 → 256 → 256 → 256 → 2, counted by hand
    assert s.paper_params == (2 * 256 + 256) + 2 * (256 * 256 + 256) + (256 * 2 + 2) == 132_866
    assert Learner().hidden == 256


def test_compute_properties_follow_the_formula():
    s = _scale()
    assert s.samples_seen == 40 and s.paper_samples_seen == 800
    assert s.compute == 6 * 100 * 8 * 40
    assert s.paper_compute == 6 * 1000 * 16 * 800
    assert s.compute_ratio == pytest.approx((6 * 1000 * 16 * 800) / (6 * 100 * 8 * 40))
    for missing in ("paper_params", "paper_steps", "paper_batch", "paper_tokens_per_sample"):
        t = _scale(**{missing: None})
        assert t.paper_compute is None and t.compute_ratio is None
    assert _scale(paper_batch=None).paper_samples_seen is None
    for chapter in CHAPTERS:
        s = _module(chapter).scale()
        assert s.compute == 6 * s.params * s.tokens_per_sample * s.steps * s.batch
        if s.compute_ratio is not None:
            assert s.compute_ratio == pytest.approx(s.paper_compute / s.compute)


@pytest.mark.parametrize("field, value", [
    ("id", "Basics.x"), ("id", "nodot"), ("id", "basics.has space"), ("source", "blog"), ("evidence", "likely"),
    ("consequence", ""), ("consequence", "   "), ("what", ""), ("claims", ["basics.collapse"]),
    ("claims", ("ijepa.learns",)), ("claims", ("notanid",)),
])
def test_bad_deviation_raises_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        _dev(**{field: value})


def test_measured_needs_the_claims_that_measured_it():
    with pytest.raises(ValueError, match="claims"):
        _dev(evidence="measured")
    assert _dev(evidence="measured", claims=("basics.collapse",)).claims == ("basics.collapse",)


@pytest.mark.parametrize("field, value", [("id", "x"), ("why", ""), ("would_take", "")])
def test_bad_untested_raises_naming_the_field(field, value):
    base = dict(id="basics.x", what="w", why="y", would_take="t")
    base[field] = value
    with pytest.raises(ValueError, match=field):
        Untested(**base)


@pytest.mark.parametrize("field, value", [
    ("params", 0), ("params", 1.5), ("steps", None), ("batch", True), ("paper_params", 0), ("paper_steps", 2.0),
    ("chapter", "Basics"), ("citation", ""), ("paper_data", ""), ("notes", None),
])
def test_bad_scale_raises_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        _scale(**{field: value})


def test_records_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        _dev().what = "other"


def test_number_formatting():
    assert format_si(132_866) == "130 k"
    assert format_si(632_000_000, "FLOP") == "630 MFLOP"
    assert format_si(999_600) == "1.0 M"
    assert format_si(256) == "256" and format_si(None) == "—"
    assert format_si(3.7e21, "FLOP") == "3.7e21 FLOP"
    assert format_ratio(1.23e6) == "1.2e6×" and format_ratio(None) == "—"
    with pytest.raises(ValueError, match="x"):
        format_si(-1)


def test_render_helpers_are_deterministic_and_name_every_record():
    devs = [d for c in CHAPTERS for d in _module(c).DEVIATIONS]
    untested = [u for c in CHAPTERS for u in _module(c).UNTESTED]
    scales = [_module(c).scale() for c in CHAPTERS]
    for make, records, key in ((deviations_table, devs, "id"), (untested_list, untested, "id"),
                               (scale_table, scales, "chapter")):
        first, again = make(records), make(list(records))
        assert repr(first) == repr(again) and first._repr_html_() == again._repr_html_()
        text, html = repr(first), first._repr_html_()
        for r in records:
            assert getattr(r, key) in text and getattr(r, key) in html
        assert "0x" not in text  # no object addresses in what nbval compares
    table = deviations_table(devs)
    assert all(e in table._repr_html_() for e in EVIDENCE)
    assert "<script" not in deviations_table([_dev(what="<script>")])._repr_html_()
    with pytest.raises(ValueError, match="Deviation"):
        deviations_table([_scale()])
