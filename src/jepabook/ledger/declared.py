"""What each chapter declares about itself, gathered for the ledger: its deviations from the papers
and the official code, what it did not test, and its scale (``jepabook.<chapter>.deviations``)."""

from __future__ import annotations

import importlib
from types import ModuleType

from jepabook.core.deviations import Deviation, Scale, Untested
from jepabook.ledger.table import book_chapters

__all__ = ["declared", "deviations", "scales", "untested"]


def declared(chapter: str) -> ModuleType:
    """``jepabook.<chapter>.deviations``: its ``DEVIATIONS``, ``UNTESTED`` and ``scale()``."""
    if chapter not in book_chapters():
        raise ValueError(f"chapter must be one of {', '.join(map(repr, book_chapters()))}; got {chapter!r}")
    return importlib.import_module(f"jepabook.{chapter}.deviations")


def deviations() -> dict[str, tuple[Deviation, ...]]:
    return {c: declared(c).DEVIATIONS for c in book_chapters()}


def untested() -> dict[str, tuple[Untested, ...]]:
    return {c: declared(c).UNTESTED for c in book_chapters()}


def scales() -> dict[str, Scale]:
    return {c: declared(c).scale() for c in book_chapters()}
