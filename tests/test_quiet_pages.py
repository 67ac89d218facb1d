"""Quiet pages: what the site shows of each chapter's bookkeeping, its config, its numbering and title.

The rule for code cells (CONTRIBUTING.md): the parameters cell and bookkeeping (saving the record)
are removed from the page (``remove-cell``; their source stays in the notebook); a cell that only
displays a result shows the result without its code (``hide-input``).
"""

import dataclasses
import html
import re
from pathlib import Path

import jupytext
import pytest
import yaml

from jepabook.core.config import ShownAsTable, config_rows

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))


def _code_cells(source: Path):
    nb = jupytext.read(source)
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_parameters_and_bookkeeping_are_removed_and_result_cells_hide_their_code(source):
    for cell in _code_cells(source):
        tags = cell.metadata.get("tags", [])
        text = cell.source.strip()
        if "parameters" in tags or text.startswith("results_file = run.record.save()"):
            assert "remove-cell" in tags, f"{source.name}: shown on the site: {text[:60]!r}"
        if text in ("run.record.table()", "ledger"):
            assert "hide-input" in tags, f"{source.name}: the code of a result-only cell is shown: {text!r}"
        assert not ("remove-cell" in tags and "hide-input" in tags), f"{source.name}: two tags that contradict"


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_titles_carry_no_typed_number(source):
    title = next(line for line in source.read_text().splitlines() if line.startswith("# "))
    assert not re.match(r"# \d+\.", title), f"{source.name}: the number comes from the TOC, not the title: {title!r}"


def test_the_toc_numbers_the_chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = next(p for p in toc["parts"] if p["caption"] == "Chapters")
    assert chapters.get("numbered") is True
    assert all(not p.get("numbered") for p in toc["parts"] if p["caption"] != "Chapters")


def test_the_intro_prints_its_numbers_as_text():
    intro = (ROOT / "book" / "intro.md").read_text()
    assert "{glue}`" not in intro, "a bare {glue} renders a number as a code chip; use {glue:text}"
    # its counts are substitutions the site's configuration computes from the published records (a
    # cross-notebook glue from book/executed could not resolve in the ci site, built from tests/notebooks)
    assert "06_ledger.ipynb::" not in intro
    names = {"n_claims", "n_reproduced", "n_direction", "n_not_reproduced", "n_not_testable"}
    assert names <= set(re.findall(r"\{\{ (\w+) \}\}", intro))
    from jepabook.sphinx_site.config import ledger_counts

    counts = ledger_counts()
    assert set(counts) == names and all(v.isdigit() for v in counts.values())
    assert int(counts["n_claims"]) == sum(int(counts[k]) for k in names - {"n_claims"})


@dataclasses.dataclass(frozen=True)
class Inner:
    hidden: int = 64
    lr: float = 3e-3


@dataclasses.dataclass(frozen=True)
class Toy(ShownAsTable):
    arms: tuple = ("sigreg", "axis")
    inner: Inner = Inner()
    name: str = "<b>"


def test_a_config_is_a_small_table_of_its_settings():
    cfg = Toy()
    assert config_rows(cfg) == [("arms", "sigreg, axis"), ("inner.hidden", "64"), ("inner.lr", "0.003"),
                                ("name", "<b>")]
    page = cfg._repr_html_()
    assert page.startswith('<details class="config-table"><summary>Toy: 4 settings</summary><table>')
    assert page.count("<tr>") == 5 and html.escape("<b>") in page and "<b>" not in page.split("</summary>")[1]
    assert repr(cfg).startswith("Toy(arms=")  # the plain text (what nbval compares) is the dataclass's
    with pytest.raises(ValueError, match="config must be a dataclass instance"):
        config_rows({"a": 1})


def test_every_chapter_config_is_shown_as_a_table():
    from jepabook.core.chapters import CHAPTERS as KEYS, load

    for key in KEYS:
        cfg = load(key).PROFILES["ci"]
        assert isinstance(cfg, ShownAsTable), key
        assert cfg._repr_html_().count("<tr>") == len(config_rows(cfg)) + 1


def test_the_root_page_title_is_not_doubled():
    layout = (ROOT / "src" / "jepabook" / "sphinx_site" / "templates" / "layout.html").read_text()
    assert 'extends "!layout.html"' in layout and "block htmltitle" in layout
