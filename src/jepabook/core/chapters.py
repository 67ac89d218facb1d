"""The chapters the command line and the book know about, and where their experiments live."""

from __future__ import annotations

import importlib

__all__ = ["CHAPTERS", "STEMS", "load"]

#: chapter key -> the module exposing ``run(profile, seeds, progress, workers)``
CHAPTERS = {
    "basics": "jepabook.basics.experiment",
    "ijepa": "jepabook.ijepa.experiment",
    "crossjepa": "jepabook.crossjepa.experiment",
    "lejepa": "jepabook.lejepa.experiment",
}

#: chapter key -> notebook stem in book/
STEMS = {
    "basics": "01_jepa_basics",
    "ijepa": "02_ijepa_masking",
    "crossjepa": "04_crossjepa",
    "lejepa": "05_lejepa_theorems",
}

PLANNED = ("vjepa",)


def load(chapter: str):
    """The experiment module of ``chapter``; a clear error for unknown or not-yet-built chapters."""
    if chapter not in CHAPTERS:
        allowed = ", ".join(repr(c) for c in CHAPTERS)
        extra = f" ('{chapter}' is planned but not built yet)" if chapter in PLANNED else ""
        raise ValueError(f"chapter must be one of {allowed}; got {chapter!r}{extra}")
    return importlib.import_module(CHAPTERS[chapter])
