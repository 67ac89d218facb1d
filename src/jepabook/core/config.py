"""Profiles and seeds: the two parameters every chapter takes, validated in one place."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

__all__ = ["CHAPTER_SEEDS", "PROFILE_NAMES", "PUBLISHED_SEEDS", "parse_seeds", "pick_profile", "published_seeds"]

PROFILE_NAMES = ("ci", "full")
#: the seeds of the published records, ``results/<chapter>-<profile>.json``; runs on other seeds are
#: written under a name that carries their seeds, so they never replace a published record
#: (five at ``full``, where every chapter's budget allows it; three for the short ``ci`` regression runs)
PUBLISHED_SEEDS = {"ci": (0, 1, 2), "full": (0, 1, 2, 3, 4)}
#: chapters whose claims need more seeds than :data:`PUBLISHED_SEEDS` and can afford them, by profile
#: (Chapter 4: its arms cost seconds, and its paired gains of a point or two need ten seeds to be seen)
CHAPTER_SEEDS = {"crossjepa": {"full": tuple(range(10))}}
T = TypeVar("T")


def published_seeds(profile: str, chapter: str | None = None) -> tuple[int, ...]:
    """The seeds a chapter runs by default at ``profile``, and the only ones written to its record
    (:data:`CHAPTER_SEEDS` for ``chapter`` where it has an entry, else :data:`PUBLISHED_SEEDS`)."""
    default = pick_profile(PUBLISHED_SEEDS, profile)
    return CHAPTER_SEEDS.get(chapter, {}).get(profile, default)


def pick_profile(profiles: Mapping[str, T], profile: str) -> T:
    """The config registered for ``profile``; a clear error for anything else."""
    if profile not in profiles:
        allowed = ", ".join(repr(p) for p in profiles)
        raise ValueError(f"profile must be one of {allowed}; got {profile!r}")
    return profiles[profile]


def parse_seeds(seeds: str | int | Iterable[int]) -> list[int]:
    """Seeds from ``"0,1,2"``, ``7`` or ``[0, 1, 2]``: distinct non-negative integers, in the given order."""
    usage = "seeds must be distinct non-negative integers, e.g. '0,1,2' or [0, 1, 2]"
    if isinstance(seeds, bool):
        raise ValueError(f"{usage}; got {seeds!r}")
    if isinstance(seeds, int):
        items: list = [seeds]
    elif isinstance(seeds, str):
        items = [s.strip() for s in seeds.split(",")]
    else:
        try:
            items = list(seeds)
        except TypeError:
            raise ValueError(f"{usage}; got {seeds!r}") from None
    out = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"{usage}; got {seeds!r}")
        if isinstance(item, str):
            if not item.isdigit():
                raise ValueError(f"{usage}; got {seeds!r}")
            item = int(item)
        if not isinstance(item, int) or item < 0:
            raise ValueError(f"{usage}; got {seeds!r}")
        out.append(item)
    if not out or len(set(out)) != len(out):
        raise ValueError(f"{usage}; got {seeds!r}")
    return out
