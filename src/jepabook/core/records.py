"""The one reader of results records: where a chapter's record lives, loading it, and what it stored.

A record is the JSON a chapter run writes (:class:`jepabook.core.results.ChapterRun`); Chapter 6,
``python -m jepabook compare`` and ``python -m jepabook verify`` read records back through this
module only, so that a file name, a check of what a file holds, or the verdict of a stored claim or
check is worked out in one place.

Names: ``results/<chapter>-<profile>.json`` is the published record (the profile's published seeds);
a run on other seeds is ``results/<chapter>-<profile>-seeds-<s1>-<s2>-....json`` and never replaces it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from jepabook.core.chapters import CHAPTERS, STEMS
from jepabook.core.config import PROFILE_NAMES

__all__ = ["REQUIRED", "book_chapters", "item_verdict", "load_record", "load_records", "record_name", "record_path",
           "stored_items"]

#: the keys every record holds (see :meth:`jepabook.core.results.ChapterRun.to_json`)
REQUIRED = ("chapter", "profile", "seeds", "claims")


def book_chapters() -> list[str]:
    """Chapter keys with experiments, in the book's order (by notebook number)."""
    return sorted(CHAPTERS, key=lambda c: STEMS[c])


def _check_names(chapter: str, profile: str, known: bool = True) -> None:
    if not known:  # a record of a chapter the book does not list (a test's toy): any plain key
        if not (isinstance(chapter, str) and re.fullmatch(r"[a-z][a-z0-9_]*", chapter)):
            raise ValueError(f"chapter must be a lower-case key (letters, digits, _); got {chapter!r}")
    elif chapter not in CHAPTERS:
        raise ValueError(f"chapter must be one of {', '.join(map(repr, CHAPTERS))}; got {chapter!r}")
    if profile not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {', '.join(map(repr, PROFILE_NAMES))}; got {profile!r}")


def record_name(chapter: str, profile: str, seeds: Sequence[int] | None = None, known: bool = True) -> str:
    """``"<chapter>-<profile>.json"``, or with ``-seeds-<s1>-<s2>...`` for a run on other ``seeds``;
    ``known=False`` allows a chapter the book does not list (a writer's choice, never a reader's)."""
    _check_names(chapter, profile, known)
    if seeds is not None:
        seeds = list(seeds)
        if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
            raise ValueError(f"seeds must be a non-empty list of integers >= 0; got {seeds!r}")
    return f"{chapter}-{profile}" + ("" if seeds is None else "-seeds-" + "-".join(map(str, seeds))) + ".json"


def record_path(chapter: str, profile: str, seeds: Sequence[int] | None = None,
                results: str | Path | None = None, known: bool = True) -> Path:
    """Where the record of ``chapter`` at ``profile`` lives: ``results/`` (default
    :func:`jepabook.core.results.results_dir`) and :func:`record_name`."""
    if results is None:
        from jepabook.core.results import results_dir

        results = results_dir()
    return Path(results) / record_name(chapter, profile, seeds, known)


def load_record(path: str | Path, chapter: str | None = None, profile: str | None = None,
                seeds: Sequence[int] | None = None) -> dict:
    """The record in ``path``, checked: valid JSON holding :data:`REQUIRED`, and, where given, the
    expected ``chapter``, ``profile`` and ``seeds``. A missing file says how to make it."""
    path = Path(path)
    if not path.is_file():
        how = ""
        if chapter in STEMS and profile is not None:
            seed_arg = "" if seeds is None else f" --seeds {','.join(map(str, seeds))}"
            how = (f": run `make chapter NB={STEMS[chapter]} PROFILE={profile}` "
                   f"(or `python -m jepabook run {chapter} --profile {profile}{seed_arg}`)")
        raise FileNotFoundError(f"{path} is missing{how}")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not a results record: invalid JSON ({err})") from None
    if not isinstance(record, dict) or any(k not in record for k in REQUIRED):
        keys = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise ValueError(f"{path} is not a results record: it needs the keys {', '.join(REQUIRED)}; has {keys}")
    expected = {"chapter": chapter, "profile": profile, "seeds": None if seeds is None else list(seeds)}
    wrong = {k: v for k, v in expected.items() if v is not None and record[k] != v}
    if wrong:
        raise ValueError(f"{path} holds chapter {record['chapter']!r} at profile {record['profile']!r} on seeds "
                         f"{record['seeds']}; expected {chapter or record['chapter']!r} at "
                         f"{profile or record['profile']!r}" + (f" on seeds {list(seeds)}" if seeds is not None else ""))
    return record


def load_records(profile: str = "full", results: str | Path | None = None, chapters: Sequence[str] | None = None,
                 seeds: Sequence[int] | None = None) -> dict[str, dict]:
    """Every chapter's record at ``profile`` (the published one, or the run on ``seeds``), in book order,
    read from ``results`` (default :func:`jepabook.core.results.published_dir`: the checkout's
    ``results/``, or the copies the installed package carries where there is no checkout)."""
    if results is None:
        from jepabook.core.results import published_dir

        results = published_dir()
    return {chapter: load_record(record_path(chapter, profile, seeds, results), chapter, profile, seeds)
            for chapter in (chapters or book_chapters())}


def item_verdict(item: Mapping) -> str:
    """What a stored claim or check concluded: a claim's ``verdict``, a check's ``status``."""
    kind = item.get("kind", "claim")
    key = {"claim": "verdict", "check": "status"}.get(kind)
    if key is None:
        raise ValueError(f"{item.get('id', '?')}: kind must be 'claim' or 'check'; got {kind!r}")
    if key not in item:
        raise ValueError(f"{item.get('id', '?')}: a stored {kind} needs its {key!r}")
    return item[key]


def stored_items(record: Mapping) -> list[dict]:
    """The record's claims, then its checks."""
    return [*record.get("claims", []), *record.get("checks", [])]
