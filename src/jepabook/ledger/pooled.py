"""The published and the verification seeds pooled: each claim's rule judged again on all of them.

A chapter's published record holds seeds 0–4 and its verification record seeds 5–9 (both at the
``full`` profile, same code and configuration). Pooled, each claim has ten seeds: its own rule (and
precondition, and gate where it declares one) decides a verdict on them, with the noise of ten seeds.
This is a second analysis, shown beside the verdicts and never replacing them: the published
verdicts were registered on seeds 0–4 before the verification runs were made.

Nothing reruns: the per-seed values are the records' stored ones; the claim objects come from the
chapter's code (``claims_for`` of the profile's configuration), so a record made by other code is
reported as such, by name, rather than judged by rules it was not made with.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jepabook.core.claims import ClaimResult
from jepabook.core.records import item_verdict

__all__ = ["Pooled", "chapter_claims", "pool", "pooled_counts"]


@dataclass(frozen=True)
class Pooled:
    """One claim: its published verdict, the verification's, and the verdict on the pooled seeds
    (``None`` with a ``reason`` when it cannot be pooled)."""

    id: str
    published: str
    other: str
    pooled: str | None
    n: int = 0
    p: float = math.nan
    reason: str = ""

    @property
    def moved(self) -> bool:
        """The pooled verdict differs from the published one."""
        return self.pooled is not None and self.pooled != self.published


def chapter_claims(chapter: str, profile: str = "full") -> tuple[dict, dict]:
    """``(claims by id, the configuration as a record stores it)`` for ``chapter`` at ``profile``,
    from the chapter's code (its experiment module's profiles and its ``claims_for``)."""
    from jepabook.core.chapters import load
    from jepabook.core.experiment import configure

    module = load(chapter)
    config = configure(module.CHAPTER.profiles, profile, {})
    items = importlib.import_module(f"jepabook.{chapter}.claims").claims_for(config)
    stored_config = json.loads(json.dumps(dataclasses.asdict(config)))  # tuples → lists, as in a record
    return {c.id: c for c in items if c.kind == "claim"}, stored_config


def pool(published: Mapping, other: Mapping, claims: Mapping | None = None,
         config: Mapping | None = None) -> list[Pooled]:
    """Each claim of ``published`` judged by its rule on the seeds of both records together.

    ``claims`` maps ids to claim objects (default: the chapter's code, :func:`chapter_claims`); a
    record whose configuration differs from ``config`` (when given), whose seeds overlap, or a
    claim the code no longer has or whose arms a record lacks, gets ``pooled = None`` and says why.
    """
    for key in ("chapter", "profile"):
        if published.get(key) != other.get(key):
            raise ValueError(f"records differ in {key!r}: {published.get(key)!r} vs {other.get(key)!r}")
    if claims is None:
        claims, config = chapter_claims(published["chapter"], published["profile"])
    overlap = sorted(set(published["seeds"]) & set(other["seeds"]))
    stale = ""
    if overlap:
        stale = f"seeds {overlap} are in both records"
    elif config is not None and (published.get("config") != config or other.get("config") != config):
        stale = "a record was made with another configuration than the code's; rerun it"
    theirs = {c["id"]: c for c in other.get("claims", [])}
    out = []
    for item in published.get("claims", []):
        cid, mine = item["id"], item_verdict(item)
        twin = theirs.get(cid)
        their = item_verdict(twin) if twin is not None else "—"
        claim = claims.get(cid)
        reason = stale or ("not in the verification record" if twin is None else
                           "the code no longer has this claim" if claim is None else "")
        if not reason:
            missing = [a for a in claim.reads() if a not in item["measured"] or a not in twin["measured"]]
            if missing:
                reason = f"not measured in both records: {', '.join(missing)}"
        if reason:
            out.append(Pooled(cid, mine, their, None, reason=reason))
            continue
        measured = {a: [*item["measured"][a], *twin["measured"][a]] for a in claim.reads()}
        result = ClaimResult.of(claim, measured)
        out.append(Pooled(cid, mine, their, result.verdict, result.n, result.p))
    return out


def pooled_counts(rows: Sequence[Pooled]) -> dict[str, int]:
    """How many claims were pooled, and how many of those the pooled seeds judge differently."""
    done = [r for r in rows if r.pooled is not None]
    return {"claims": len(rows), "pooled": len(done), "moved": sum(r.moved for r in done)}
