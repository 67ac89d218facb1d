"""Do two runs of a chapter agree? Claim by claim: same bits, same printed values, same verdict.

    python -m jepabook compare results/crossjepa-full.json /tmp/crossjepa-other-machine.json

Used to check that published results travel: rerun a chapter with the same seeds on another
machine (or with ``OPENBLAS_CORETYPE`` set to another kernel family, to play one) and compare the
record with the committed one. The exit status is 0 when every verdict agrees, 1 otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from jepabook.core import records

__all__ = ["ClaimAgreement", "compare_records", "load_record", "printed", "unmatched"]


@dataclass(frozen=True)
class ClaimAgreement:
    """How one claim of two records compares."""

    id: str
    identical: bool  # every per-seed value is the same float
    same_printed: bool  # mean and sd of every arm agree at the precision the claims table prints
    verdict_a: str
    verdict_b: str
    max_rel_diff: float  # largest relative difference over all per-seed values
    only_in_one: tuple[str, ...] = ()  # arms one record measures and the other does not (not compared)

    @property
    def same_verdict(self) -> bool:
        return self.verdict_a == self.verdict_b


def load_record(path: str | Path) -> dict:
    """The record in ``path``, checked by :func:`jepabook.core.records.load_record`."""
    return records.load_record(path)


def printed(values: list[float], sig: int = 3) -> str:
    """Mean ± sd of ``values`` at ``sig`` significant digits: what a reader compares by eye."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return f"{mean:.{sig}g} ± {sd:.{max(sig - 1, 1)}g}"


def _rel(a: float, b: float) -> float:
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale > 0 else math.inf


def compare_records(a: dict, b: dict, sig: int = 3) -> list[ClaimAgreement]:
    """Claim-by-claim agreement of two records of the same chapter, profile and seeds.

    Records made by different versions of a chapter may hold different claims, or read a claim on
    different arms: the claims both hold are compared on the arms both measure, and
    :func:`unmatched` names the rest (a comparison that silently dropped them would overstate it)."""
    for key in ("chapter", "profile", "seeds"):
        if a.get(key) != b.get(key):
            raise ValueError(f"records differ in {key!r}: {a.get(key)!r} vs {b.get(key)!r}; compare like with like")
    by_id_b = {c["id"]: c for c in records.stored_items(b)}
    out = []
    for ca in records.stored_items(a):
        cb = by_id_b.get(ca["id"])
        if cb is None:
            continue
        ma, mb = ca["measured"], cb["measured"]
        arms = [arm for arm in ma if arm in mb]
        pairs = [(x, y) for arm in arms for x, y in zip(ma[arm], mb[arm], strict=True)]
        out.append(ClaimAgreement(
            id=ca["id"],
            identical=all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in pairs),
            same_printed=all(printed(ma[arm], sig) == printed(mb[arm], sig) for arm in arms),
            verdict_a=records.item_verdict(ca),  # a check's is its status (pass/fail)
            verdict_b=records.item_verdict(cb),
            max_rel_diff=max((_rel(x, y) for x, y in pairs), default=0.0),
            only_in_one=tuple(sorted(set(ma) ^ set(mb))),
        ))
    return out


def unmatched(a: dict, b: dict) -> tuple[list[str], list[str]]:
    """The claim ids only ``a`` holds and those only ``b`` holds."""
    ids_a = [c["id"] for c in records.stored_items(a)]
    ids_b = [c["id"] for c in records.stored_items(b)]
    return [i for i in ids_a if i not in ids_b], [i for i in ids_b if i not in ids_a]


def report(rows: list[ClaimAgreement], only_a: list[str] = (), only_b: list[str] = ()) -> str:
    lines = [f"{'claim':40s} {'bits':9s} {'printed':8s} {'max rel diff':>12s}  verdicts"]
    for r in rows:
        verdicts = r.verdict_a if r.same_verdict else f"{r.verdict_a} -> {r.verdict_b}  CHANGED"
        arms = f"  (not compared, in one record only: {', '.join(r.only_in_one)})" if r.only_in_one else ""
        lines.append(f"{r.id:40s} {'same' if r.identical else 'differ':9s} "
                     f"{'same' if r.same_printed else 'differ':8s} {r.max_rel_diff:12.1e}  {verdicts}{arms}")
    n = len(rows)
    lines.append(f"{sum(r.identical for r in rows)}/{n} claims bit-identical, "
                 f"{sum(r.same_printed for r in rows)}/{n} the same at the printed precision, "
                 f"{sum(r.same_verdict for r in rows)}/{n} with the same verdict")
    for name, ids in (("first", only_a), ("second", only_b)):
        if ids:
            lines.append(f"only in the {name} record (not compared): {', '.join(ids)}")
    return "\n".join(lines)


def main(paths: list[str]) -> int:
    """Exit status 0 when every claim both records hold has the same verdict and neither holds a
    claim the other lacks, else 1."""
    a, b = load_record(paths[0]), load_record(paths[1])
    rows = compare_records(a, b)
    only_a, only_b = unmatched(a, b)
    print(report(rows, only_a, only_b))
    return 0 if all(r.same_verdict for r in rows) and not only_a and not only_b else 1
