"""Other seeds: rerun a chapter on seeds disjoint from the published ones and say which verdicts agree.

    python -m jepabook verify ijepa                      # full profile, seeds 5,6,7,8,9
    python -m jepabook verify ijepa --seeds 10,11,12 --profile ci
    python -m jepabook verify ijepa --record results/ijepa-full-seeds-5-6-7-8-9.json   # no rerun

The run's record is written next to the published one as ``results/<chapter>-<profile>-seeds-....json``
(never over it). Chapter 6 reads those records; it reruns nothing at build time.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jepabook.core.config import PROFILE_NAMES, pick_profile
from jepabook.core.results import published_dir
from jepabook.core.records import item_verdict, load_record, load_records, record_path

__all__ = ["VERIFY_SEEDS", "Agreement", "agreement", "control_report", "load_controls", "load_verification", "report",
           "summary", "verify_seeds"]

#: the seeds Chapter 6's verification runs use: disjoint from the published ones, as many at ``full``
VERIFY_SEEDS = {"full": (5, 6, 7, 8, 9), "ci": (3, 4, 5)}
#: chapters with more published seeds (:data:`jepabook.core.config.CHAPTER_SEEDS`) verify on as many others
CHAPTER_VERIFY_SEEDS = {"crossjepa": {"full": tuple(range(10, 20))}}


def verify_seeds(profile: str, chapter: str | None = None) -> tuple[int, ...]:
    """The verification seeds of ``profile`` for ``chapter`` (disjoint from its published seeds: tested)."""
    default = pick_profile(VERIFY_SEEDS, profile)
    return CHAPTER_VERIFY_SEEDS.get(chapter, {}).get(profile, default)


@dataclass(frozen=True)
class Agreement:
    """One claim (or check) of a chapter: its published verdict and the one on other seeds."""

    id: str
    kind: str  # "claim" or "check"
    published: str
    other: str
    p_published: float | None = None
    p_other: float | None = None

    @property
    def agrees(self) -> bool:
        return self.published == self.other


def unmatched(published: Mapping, other: Mapping) -> list[str]:
    """The claims and checks that only one of the two records holds (one was made by older code)."""
    ids = [{c["id"] for c in r.get(f, [])} for r in (published, other) for f in ("claims", "checks")]
    return sorted((ids[0] | ids[1]) ^ (ids[2] | ids[3]))


def agreement(published: Mapping, other: Mapping, strict: bool = True) -> list[Agreement]:
    """Claim by claim, then check by check: the two records' verdicts. The records must be the same
    chapter at the same profile and come from different runs (any seeds); with ``strict`` they must
    also hold the same claims, otherwise only the items both hold are compared (:func:`unmatched`
    names the rest)."""
    for key in ("chapter", "profile"):
        if published.get(key) != other.get(key):
            raise ValueError(f"records differ in {key!r}: {published.get(key)!r} vs {other.get(key)!r}")
    out = []
    for field in ("claims", "checks"):
        a, b = published.get(field, []), other.get(field, [])
        ids_a, ids_b = [c["id"] for c in a], [c["id"] for c in b]
        if not strict:
            common = set(ids_a) & set(ids_b)
            a = [c for c in a if c["id"] in common]
            b = sorted((c for c in b if c["id"] in common), key=lambda c: [x["id"] for x in a].index(c["id"]))
        elif ids_a != ids_b:
            raise ValueError(f"the records hold different {field}: {sorted(set(ids_a) ^ set(ids_b))}; "
                             "rerun the chapter on the current code")
        for ca, cb in zip(a, b):
            out.append(Agreement(ca["id"], "claim" if field == "claims" else "check", item_verdict(ca), item_verdict(cb),
                                 ca.get("p"), cb.get("p")))
    return out


def summary(rows: Sequence[Agreement]) -> dict[str, int]:
    claims = [r for r in rows if r.kind == "claim"]
    checks = [r for r in rows if r.kind == "check"]
    return {"claims": len(claims), "claims agree": sum(r.agrees for r in claims),
            "checks": len(checks), "checks agree": sum(r.agrees for r in checks)}


def _p(p: float | None) -> str:
    return "" if p is None else (" (p < 0.001)" if p < 1e-3 else f" (p = {p:.3f})")


def report(rows: Sequence[Agreement], published_seeds: Sequence[int], other_seeds: Sequence[int]) -> str:
    lines = [f"{'claim':34s} {'seeds ' + ','.join(map(str, published_seeds)):>30s}   "
             f"{'seeds ' + ','.join(map(str, other_seeds))}"]
    for r in rows:
        flag = "" if r.agrees else "   FLIPS"
        lines.append(f"{r.id:34s} {r.published + _p(r.p_published):>30s}   {r.other + _p(r.p_other)}{flag}")
    s = summary(rows)
    lines.append(f"{s['claims agree']}/{s['claims']} claim verdicts agree, {s['checks agree']}/{s['checks']} checks")
    overlap = sorted(set(published_seeds) & set(other_seeds))
    if overlap:
        lines.append(f"note: seeds {overlap} are in both runs, so these runs are not independent")
    return "\n".join(lines)


def load_verification(chapter: str, profile: str = "full", results: str | Path | None = None):
    """(published record, verification record, agreement rows) from ``results/``, or ``None`` for the
    verification when its record is missing."""
    if results is None:
        results = published_dir()
    published = load_records(profile, results, [chapter])[chapter]
    seeds = verify_seeds(profile, chapter)
    path = record_path(chapter, profile, seeds, results)
    if not path.is_file():
        return published, None, None
    other = load_record(path, chapter, profile, seeds)
    return published, other, agreement(published, other, strict=False)


def load_controls(results: str | Path | None = None) -> dict[str, dict]:
    """Every committed control run, ``results/<chapter>-control.json`` (a chapter's run once at its
    paper's size, made by a stated command, never by ``make book``), by chapter."""
    from jepabook.core.results import published_dir

    folder = published_dir() if results is None else Path(results)
    return {path.name.removesuffix("-control.json"): json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob("*-control.json"))}


def control_summary(chapter: str, record: Mapping) -> str | None:
    """The chapter's own one-line summary of its control run (``jepabook.<chapter>.analysis.
    control_summary``, where the chapter defines one), else None."""
    try:
        analysis = importlib.import_module(f"jepabook.{chapter}.analysis")
    except ModuleNotFoundError:
        return None
    summary = getattr(analysis, "control_summary", None)
    return summary(record) if summary is not None else None


def control_report(record: Mapping) -> str:
    """What a control run was, the command that made it, and each claim it could judge with its
    verdict and measured values (one seed: values, not a test)."""
    ctl = record.get("control", {})
    lines = [f"{ctl.get('what', record.get('chapter', '?'))}", f"  made by: {ctl.get('command', '?')}"]
    for item in record.get("claims", []):
        if item.get("verdict") == "skipped":
            continue
        values = ", ".join(f"{k} {v[0]:.3f}" for k, v in item.get("measured", {}).items()
                           if isinstance(v, list) and len(v) == 1 and isinstance(v[0], (int, float)))
        lines.append(f"  {item['id']}: {item['verdict']}" + (f" ({values})" if values else ""))
    return "\n".join(lines)


def main(chapter: str, profile: str, seeds: str | None, record: str | None, workers: int | None) -> int:
    """The ``verify`` command: run (or read) the other-seeds record, compare it with the published one."""
    from jepabook.core.chapters import load
    from jepabook.core.config import parse_seeds

    if profile not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {', '.join(map(repr, PROFILE_NAMES))}; got {profile!r}")
    module = load(chapter)
    published = load_records(profile, chapters=[chapter])[chapter]
    if record is not None:
        if seeds is not None:
            raise ValueError("give --seeds or --record, not both: --record compares a run already made")
        other = load_record(record, chapter, profile)
    else:
        run_seeds = parse_seeds(verify_seeds(profile, chapter) if seeds is None else seeds)
        result = module.run(profile, run_seeds, workers=workers)
        print(f"wrote {result.record.save()}")
        other = result.record.to_json()
    rows = agreement(published, other)
    print(report(rows, published["seeds"], other["seeds"]))
    return 0

