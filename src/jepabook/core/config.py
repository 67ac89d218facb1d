"""Profiles and seeds: the two parameters every chapter takes, validated in one place."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable, Mapping
from typing import TypeVar

__all__ = ["CHAPTER_SEEDS", "PROFILE_NAMES", "PUBLISHED_SEEDS", "ShownAsTable", "config_rows", "parse_seeds",
           "pick_profile", "published_seeds"]

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


def _value_text(value) -> str:
    if isinstance(value, (tuple, list)):
        return ", ".join(_value_text(v) for v in value) if value else "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config_rows(config, prefix: str = "") -> list[tuple[str, str]]:
    """``(setting, value)`` for every field of the dataclass ``config``, nested dataclasses
    flattened to dotted names (``learner.hidden``), values as a reader writes them (``0.001``,
    ``sigreg, axis``)."""
    if not dataclasses.is_dataclass(config):
        raise ValueError(f"config must be a dataclass instance; got {type(config).__name__}")
    rows = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            rows += config_rows(value, f"{prefix}{f.name}.")
        else:
            rows.append((prefix + f.name, _value_text(value)))
    return rows


class ShownAsTable:
    """A config dataclass that a notebook shows as a small two-column table, folded under a one-line
    summary (its one-line repr was thousands of pixels wide); the plain-text repr is unchanged."""

    def _repr_html_(self) -> str:
        rows = config_rows(self)
        body = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return (f'<details class="config-table"><summary>{html.escape(type(self).__name__)}: '
                f"{len(rows)} settings</summary><table><thead><tr><th>setting</th><th>value</th></tr></thead>"
                f"<tbody>{body}</tbody></table></details>")
