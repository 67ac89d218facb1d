"""Metric names a grep can find, and claims tables in words (verdicts version 3, issue 25).

Every metric a claim or check reads appears literally (quoted, or as a keyword) in the source file
that produces it; display labels are fields of the claim (``label``, ``rule_text``), filled for every
claim and check, and never carry a metric name.
"""

import importlib
import re
from pathlib import Path

import pytest

from jepabook.core.chapters import CHAPTERS

SRC = Path(__file__).resolve().parents[1] / "src" / "jepabook"

#: the files that produce each chapter's metrics (the grid names of Chapter 5 are one literal table
#: in lejepa/names.py; its per-run Theorem 3 values are assembled by lejepa/claims.t3_runs)
PRODUCERS = {
    "basics": ("basics/experiment.py", "basics/diagnostics.py"),
    "ijepa": ("ijepa/experiment.py",),
    "crossjepa": ("crossjepa/experiment.py",),
    "vjepa": ("vjepa/experiment.py",),
    "lejepa": ("lejepa/experiment.py", "lejepa/names.py", "lejepa/claims.py"),
}


def _items(chapter):
    module = importlib.import_module(f"jepabook.{chapter}")
    claims = importlib.import_module(f"jepabook.{chapter}.claims")
    return {(p, item.id): item for p in ("full", "ci") for item in claims.claims_for(module.PROFILES[p])}


def _literal(name: str, text: str) -> bool:
    quoted = re.search(r"[\"']" + re.escape(name) + r"[\"']", text)
    keyword = re.search(r"\b" + re.escape(name) + r"=", text) if name.isidentifier() else None
    return bool(quoted or keyword)


def test_every_chapter_has_its_producers_listed():
    assert set(PRODUCERS) == set(CHAPTERS)


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_every_metric_a_claim_reads_is_written_literally_where_it_is_produced(chapter):
    text = "\n".join((SRC / f).read_text() for f in PRODUCERS[chapter])
    missing = sorted({name for item in _items(chapter).values() for name in item.reads() if not _literal(name, text)})
    assert not missing, f"{chapter}: metric names no grep of {PRODUCERS[chapter]} finds: {missing}"


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_every_claim_and_check_has_a_label_and_a_rule_in_words_without_metric_names(chapter):
    for (profile, id_), item in _items(chapter).items():
        assert item.label.strip() and item.rule_text.strip(), f"{id_} ({profile}) needs label and rule_text"
        assert len(item.label) <= 60, f"{id_}: a label is a few plain words; got {len(item.label)} characters"
        for name in item.reads():
            if "_" in name or "=" in name:  # a plain word such as "supervised" may be both an arm and a word
                assert name not in item.label and name not in item.rule_text, f"{id_} shows metric {name!r}"


def test_the_literal_test_can_fail():
    assert _literal("acc_multiblock", 'x["acc_multiblock"] = 1') and _literal("plan_ratio", "m.update(plan_ratio=1)")
    assert not _literal("acc_multiblock", 'f"acc_{arm}"') and not _literal("ep_push_0.01", 'f"ep_push_{s:g}"')


def test_chapter_5_names_are_the_literal_table():
    from jepabook.lejepa import names
    from jepabook.lejepa.experiment import PROFILES, chapter_specs

    for profile in ("full", "ci"):
        for tag in chapter_specs(PROFILES[profile]):
            if names.kind(tag) == "restart":
                continue  # restarts are not flattened to metrics: t1/coupling is the one kept
            for quantity, name in names.PUBLISHED[tag].items():
                assert names.metric(tag, quantity) == name == f"{tag.replace('/', '_')}_{quantity}"
    assert names.metric("grid/lam=0.3/rho=0.5", "r2") == "grid_lam=0.3_rho=0.5_r2"  # an exploration's grid point
