"""The committed book: executed notebooks match their sources, results match their rules."""

import importlib
import json
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from jepabook.core.chapters import CHAPTERS, STEMS, load
from jepabook.core.claims import CheckResult, ClaimResult
from jepabook.core.rules import SKIPPED
from jepabook.core.config import published_seeds

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))
EXECUTED = {"full": ROOT / "book" / "executed", "ci": ROOT / "tests" / "notebooks"}


def _cells(nb):
    """(type, source) of every cell except the one papermill injects."""
    return [(c.cell_type, c.source.strip()) for c in nb.cells
            if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]


def test_every_chapter_is_in_the_toc_and_registered():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    executed = [f for f in files if f.startswith("book/executed/")]
    assert executed == [f"book/executed/{s.stem}" for s in SOURCES]
    assert files[-1] == "book/references"
    assert sorted(STEMS.values()) == [s.stem for s in SOURCES]


@pytest.mark.parametrize("profile", ["full", "ci"])
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_executed_notebook_is_fresh(source, profile):
    executed = EXECUTED[profile] / f"{source.stem}.ipynb"
    assert executed.is_file(), f"{executed} is missing: run `make chapter NB={source.stem} PROFILE={profile}`"
    nb = nbformat.read(executed, as_version=4)
    stale = _cells(jupytext.read(source)) != _cells(nb)
    assert not stale, f"{executed} is stale: its cells differ from {source}; re-run `make book PROFILE={profile}`"
    injected = [c for c in nb.cells if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    # papermill ran it at this profile; the committed copy comments the line out (jepabook.core.tidy),
    # so that a copy launched by hand runs at the parameters cell's "ci"
    assert nb.metadata.get("papermill", {}).get("parameters", {}).get("profile") == profile
    assert injected and f'\n# profile = "{profile}"' in injected[0].source
    assert "\nprofile = " not in "\n" + injected[0].source
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_published_results_verdicts_follow_from_their_measurements(chapter):
    path = ROOT / "results" / f"{chapter}-full.json"
    assert path.is_file(), f"{path} missing: run `make chapter NB={STEMS[chapter]}`"
    data = json.loads(path.read_text())
    assert data["chapter"] == chapter and data["profile"] == "full"
    assert tuple(data["seeds"]) == published_seeds("full", chapter)
    module = load(chapter)
    items = importlib.import_module(f"jepabook.{chapter}.claims").claims_for(module.PROFILES["full"])
    claims = {c.id: c for c in items if c.kind == "claim"}
    checks = {c.id: c for c in items if c.kind == "check"}
    assert [c["id"] for c in data["claims"]] == list(claims)
    assert [c["id"] for c in data["checks"]] == list(checks)
    for stored in data["claims"]:
        assert stored["verdict"] != SKIPPED, f"{stored['id']} was not run in the published record"
        assert len(set(map(len, stored["measured"].values()))) == 1
        again = ClaimResult.of(claims[stored["id"]], stored["measured"])
        assert again.verdict == stored["verdict"], stored["id"]
    for stored in data["checks"]:
        assert CheckResult.of(checks[stored["id"]], stored["measured"]).status == stored["status"], stored["id"]


def test_every_registered_chapter_has_a_title_and_planned_ones_are_not_built():
    from jepabook.core.chapters import LEDGER, PLANNED, TITLES

    assert set(TITLES) == set(STEMS)
    assert LEDGER in STEMS and LEDGER not in CHAPTERS
    assert not set(PLANNED) & set(STEMS)
    for number, title in zip(sorted(STEMS.values()), (TITLES[k] for k in sorted(STEMS, key=STEMS.get))):
        assert title.startswith(str(int(number[:2])) + ". ")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_a_launched_chapter_starts_small_and_can_install_itself(source):
    """Binder and Colab run the committed notebook by hand: the parameters cell must say "ci", and
    on Colab the next cell installs MLX and the package from the injected repository."""
    nb = jupytext.read(source)
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = code[0]
    assert "parameters" in params.metadata.get("tags", [])
    namespace = {}
    exec(params.source, namespace)
    assert namespace["profile"] == "ci" and namespace["repository"] == "" and namespace["seeds"] is None
    assert "google.colab" in code[1].source and '"jepabook @ git+{repository}"' in code[1].source  # tests/test_launch.py runs it
    assert "remove-cell" in code[1].metadata.get("tags", [])


def test_the_ledger_opens_with_the_books_verdict_count():
    opening = jupytext.read(ROOT / "book" / f"{STEMS['ledger']}.md").cells[0].source.split("\n\n")
    assert opening[1].startswith("# ") and "{glue:md}`verdict_count`" in opening[2]


@pytest.mark.parametrize("source", [s for s in SOURCES if s.stem != STEMS["ledger"]], ids=lambda p: p.stem)
def test_a_chapter_opens_with_its_findings_box_and_captions_its_figures(source):
    nb = jupytext.read(source)
    opening = nb.cells[0].source.split("\n\n")  # the label the intro links to, the title, the findings
    assert opening[0].startswith("(ch-") and opening[1].startswith("# ") and opening[2] == "```{glue} findings\n```"
    glued = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any('glue("findings", run.record.findings()' in c for c in glued)
    figures = [c for c in nb.cells if c.cell_type == "code" and ("plt.subplots" in c.source or "_figure(" in c.source)]
    assert figures
    for cell in figures:
        meta = cell.metadata.get("mystnb", {})
        assert meta.get("figure", {}).get("caption") and meta["figure"].get("name", "").startswith("fig-"), cell.source[:80]
        assert meta.get("image", {}).get("alt"), cell.source[:80]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_no_prose_line_starts_a_myst_comment(source):
    # a Markdown line that begins with "%" is a MyST comment: the site silently drops it, mid-sentence
    # (a reflowed "… reaches 24.0\n% against …" lost its second line)
    for cell in jupytext.read(source).cells:
        if cell.cell_type == "markdown":
            bad = [line for line in cell.source.splitlines() if line.startswith("%")]
            assert not bad, f"{source.name}: a prose line starts with '%' and would vanish: {bad[0][:80]!r}"
