"""The launch buttons: a chapter opened on Colab installs the book from the repository it was built
for, the site offers Colab only when the notebooks know that repository, and the ledger reads the
published records where there is no checkout (the copies shipped in the package)."""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import jupytext
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from jepabook.core import results, tidy
from jepabook.ledger import table
from jepabook.sphinx_site.config import site_config

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "book").glob("0*.md"))
URL = "https://github.com/someone/jepa-book"


class FakeIPython:
    """Records the line magics a cell runs (``%pip install ...``) instead of running them."""

    def __init__(self, namespace: dict):
        self.namespace = namespace
        self.magics: list[tuple[str, str]] = []

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1):
        # IPython expands {name} in a magic's line from the caller's namespace
        self.magics.append((name, line.format(**self.namespace)))


def _run_install_cell(source: Path, repository: str, on_colab: bool, monkeypatch) -> list[tuple[str, str]]:
    nb = jupytext.read(source)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "google.colab" in c.source)
    code = TransformerManager().transform_cell(cell.source)  # %pip -> get_ipython().run_line_magic(...)
    namespace: dict = {"repository": repository}
    shell = FakeIPython(namespace)
    namespace["get_ipython"] = lambda: shell
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(code, str(source), "exec"), namespace)
    return shell.magics


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_on_colab_the_install_cell_installs_the_book_from_the_repository(source, monkeypatch):
    assert _run_install_cell(source, URL, True, monkeypatch) == [("pip", f'install --quiet "jepabook @ git+{URL}"')]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_elsewhere_the_install_cell_does_nothing(source, monkeypatch):
    assert _run_install_cell(source, "", False, monkeypatch) == []


@pytest.mark.parametrize("repository", ["", "someone/jepa-book", "http://github.com/someone/jepa-book"])
def test_on_colab_without_a_repository_the_cell_says_where_to_set_it(repository, monkeypatch):
    with pytest.raises(RuntimeError, match="set it in the parameters cell") as err:
        _run_install_cell(SOURCES[0], repository, True, monkeypatch)
    assert repr(repository) in str(err.value)


def test_make_never_injects_an_empty_repository_over_the_parameters_cell():
    makefile = (ROOT / "Makefile").read_text()
    papermill = next(line for line in makefile.splitlines() if "-p profile $(PROFILE)" in line)
    assert '$(if $(REPOSITORY),-p repository "$(REPOSITORY)")' in papermill
    assert '-p repository "$(REPOSITORY)" ' not in papermill.replace("$(if $(REPOSITORY),", "")


def _notebook(path: Path, repository: str | None) -> Path:
    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    if repository is not None:
        tidy.record_repository(nb, repository)
    path.write_text(json.dumps(nb))
    return path


def test_tidy_records_the_repository_in_the_notebook_metadata(tmp_path):
    path = _notebook(tmp_path / "a.ipynb", None)
    assert tidy.main(["--repository", URL, str(path)]) == 0
    assert json.loads(path.read_text())["metadata"]["jepabook"]["repository"] == URL
    assert tidy.main([str(path)]) == 0  # without the option the recorded one stays
    assert json.loads(path.read_text())["metadata"]["jepabook"]["repository"] == URL
    with pytest.raises(ValueError, match="repository must be a string"):
        tidy.record_repository({}, None)


def test_colab_is_offered_only_when_every_notebook_names_the_sites_repository(tmp_path):
    good = [_notebook(tmp_path / f"{i}.ipynb", URL) for i in range(2)]
    assert tidy.lacking_repository(good, URL) == []
    assert tidy.lacking_repository(good, "https://github.com/fork/jepa-book") == [str(p) for p in good]
    stale = _notebook(tmp_path / "old.ipynb", "")
    unrecorded = _notebook(tmp_path / "older.ipynb", None)
    assert tidy.lacking_repository([*good, stale, unrecorded], URL) == [str(stale), str(unrecorded)]
    base = {"title": "t"}
    assert "colab_url" in site_config(base, URL)["launch_buttons"]
    without = site_config(base, URL, colab=False)["launch_buttons"]
    assert "colab_url" not in without and "binderhub_url" in without  # Binder builds from the repository itself


def test_the_ledger_reads_the_packaged_records_where_there_is_no_checkout(tmp_path, monkeypatch):
    packaged = tmp_path / "package" / "published"
    packaged.mkdir(parents=True)
    for path in (ROOT / "results").glob("*-full*.json"):
        shutil.copy(path, packaged)
    monkeypatch.setattr(results, "PACKAGED_RESULTS", packaged)
    monkeypatch.setenv("JEPABOOK_RESULTS", str(tmp_path / "nowhere"))  # Colab: no results/ of its own
    assert results.published_dir() == packaged
    records = table.load_records("full")
    assert set(records) == set(table.book_chapters())
    assert records["basics"] == json.loads((ROOT / "results" / "basics-full.json").read_text())
    # a results/ folder of the reader's own, once it holds records, wins over the packaged copies
    own = tmp_path / "nowhere"
    own.mkdir()
    shutil.copy(ROOT / "results" / "basics-full.json", own)
    assert results.published_dir() == own
    # and with neither, the error names the missing file and how to make it
    monkeypatch.setattr(results, "PACKAGED_RESULTS", tmp_path / "empty")
    monkeypatch.setenv("JEPABOOK_RESULTS", str(tmp_path / "none"))
    with pytest.raises(FileNotFoundError, match="basics-full.json is missing: run `make chapter"):
        table.load_records("full")


def test_the_package_ships_the_published_records():
    """src/jepabook/published links to results/, and pyproject.toml's package data takes its JSON files
    into the wheel that Colab installs (setuptools copies the files behind the link into the wheel)."""
    link = ROOT / "src" / "jepabook" / "published"
    assert link.is_symlink() and link.resolve() == (ROOT / "results").resolve()
    assert results.PACKAGED_RESULTS.resolve() == link.resolve()
    assert '"published/*.json"' in (ROOT / "pyproject.toml").read_text()
