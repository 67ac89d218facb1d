"""The chapters the command line and the book know about, and where their experiments live."""

from __future__ import annotations

import importlib

__all__ = ["CHAPTERS", "LEDGER", "PLANNED", "STEMS", "TITLES", "load"]

#: chapter key -> the module exposing ``run(profile, seeds, progress, workers)``
CHAPTERS = {
    "basics": "jepabook.basics.experiment",
    "ijepa": "jepabook.ijepa.experiment",
    "vjepa": "jepabook.vjepa.experiment",
    "crossjepa": "jepabook.crossjepa.experiment",
    "lejepa": "jepabook.lejepa.experiment",
}

#: chapter key -> notebook stem in book/
STEMS = {
    "basics": "01_jepa_basics",
    "ijepa": "02_ijepa_masking",
    "vjepa": "03_vjepa_tubes",
    "crossjepa": "04_crossjepa",
    "lejepa": "05_lejepa_theorems",
    "ledger": "06_ledger",
}

#: chapter key -> the short title tables and figures use
TITLES = {
    "basics": "1. JEPA basics",
    "ijepa": "2. I-JEPA",
    "vjepa": "3. V-JEPA",
    "crossjepa": "4. CrossJEPA",
    "lejepa": "5. LeJEPA world models",
    "ledger": "6. The ledger",
}

#: the closing chapter: it runs no experiment and reads the others' results records (jepabook.ledger)
LEDGER = "ledger"

#: chapters the book plans but has not built; the ledger lists them as such
PLANNED: dict[str, str] = {}


def load(chapter: str):
    """The experiment module of ``chapter``; a clear error for unknown or not-yet-built chapters."""
    if chapter not in CHAPTERS:
        allowed = ", ".join(repr(c) for c in CHAPTERS)
        extra = f" ('{chapter}' is planned but not built yet)" if chapter in PLANNED else ""
        if chapter == LEDGER:
            extra = " (the ledger runs no experiment: it reads the others' results; see jepabook.ledger)"
        raise ValueError(f"chapter must be one of {allowed}; got {chapter!r}{extra}")
    return importlib.import_module(CHAPTERS[chapter])
