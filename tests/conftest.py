import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# no progress display in tests, nor in the kernels nbval starts (they inherit this environment), so
# that outputs compare with the stored ones (jepabook.core.progress)
os.environ.setdefault("JEPABOOK_PROGRESS", "off")


@pytest.fixture(autouse=True)
def _results_in_tmp(tmp_path, monkeypatch):
    """No test writes into the repository's results/ or teacher cache."""
    monkeypatch.setenv("JEPABOOK_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("JEPABOOK_WORKERS", "1")
    monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path / "cache"))
