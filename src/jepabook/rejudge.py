"""Re-judge a committed results record with the current claims, and say what moved each verdict.

    python -m jepabook rejudge results/ijepa-full.json [--json moved.json]

The record's measurements are pooled from every item's ``measured`` (claims and checks alike), and
every current claim and check of the chapter is judged on that pool: a claim whose metrics the
record lacks (a measurement added since) reads ``skipped``, by name. Each row says what moved the
verdict: ``gate`` (the fair-test gate failed), ``precondition`` (judged beyond noise now), ``rule``
(the rule or its test changed), ``now a check`` / ``now a claim``, ``not in record`` (skipped), or
nothing. Nothing is written to ``results/``: the chapters are re-executed for that.

Records written before verdicts version 3 named Chapter 5's measurements for display ("α=2",
"z-scored", ...); :func:`legacy_names` maps those back to the names the runs produce.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from jepabook.core.chapters import CHAPTERS, load
from jepabook.core.claims import CheckResult, ClaimResult
from jepabook.core.rules import NOT_TESTABLE, SKIPPED, evaluate

__all__ = ["legacy_names", "main", "pooled_metrics", "rejudge"]

#: Chapter 5's whitened evaluation latents are 2-D, so h = 0 has Procrustes error 2 (``trivial_error``)
_LEJEPA_TRIVIAL = 2.0


def legacy_names(chapter: str, item: dict, config) -> dict[str, list[float]]:
    """An old record item's ``measured`` under the names the runs produce now (Chapter 5 only)."""
    measured = item["measured"]
    if chapter != "lejepa":
        return dict(measured)
    from jepabook.lejepa import names

    c, name = config, item["id"].split(".", 1)[1]
    lo, hi = min(c.grid_lams), max(c.grid_lams)
    fixed = {"trained": "plan_ratio", "untrained": "untrained_plan_ratio", "R² trained": "t1_r2",
             "R² untrained": "untrained_r2", "z-scored": "sigreg_zscored", "as trained": "sigreg_trained",
             "s": "shrinkage", "N(0,I)": "sigreg_gaussian"}
    lam_m = min(c.moment_lams)
    fixed.update({"trCov pure": names.moment_metric("pure", lam_m, "cov"),
                  "trCov +moments": names.moment_metric("moments", lam_m, "cov"),
                  "R² pure": names.moment_metric("pure", lam_m), "R² +moments": names.moment_metric("moments", lam_m)})
    fixed.update({m: names.t1_metric(m) for m in c.mixings})
    fixed.update({f"α={a:g}": names.t2_metric(a) for a in c.alphas})
    lam = lo if name == "regime_collapse" else hi
    for r in c.grid_rhos:
        fixed[f"R² ρ={r:g}"] = names.grid_metric(lam, r, "r2")
        fixed[f"trCov ρ={r:g}"] = names.grid_metric(lam, r, "cov")
        fixed[f"ρ={r:g}"] = names.grid_metric(0.1, r)
        fixed[f"|ΔR²| ρ={r:g}"] = names.grid_metric(0.1, r, "drift")
        for g in c.grid_lams:
            fixed[f"λ={g:g} ρ={r:g}"] = names.grid_metric(g, r)
            fixed[f"|ΔR²| λ={g:g} ρ={r:g}"] = names.grid_metric(g, r, "drift")
    if name == "t3_bound":  # only the informative runs, as the current claim reads them
        keep = [i for i, b in enumerate(measured["bound"]) if b < _LEJEPA_TRIVIAL]
        err, bnd = [measured["error"][i] for i in keep], [measured["bound"][i] for i in keep]
        return {"t3_error": err, "t3_bound": bnd, "t3_tightness": [e / b for e, b in zip(err, bnd)]}
    return {fixed.get(k, k): v for k, v in measured.items()}


def pooled_metrics(record: dict, config=None) -> dict[str, list[float]]:
    """Every metric any item of ``record`` stored, under its produced name (the first copy wins)."""
    pool: dict[str, list[float]] = {}
    for item in record["claims"] + record["checks"]:
        if item.get("verdict") == SKIPPED or item.get("status") == SKIPPED:
            continue
        for k, v in legacy_names(record["chapter"], item, config).items():
            pool.setdefault(k, list(v))
    return pool


def _why(old: dict | None, new) -> str:
    old_v = None if old is None else old.get("verdict", old.get("status"))
    new_v = new.verdict
    if old is None:
        return "new item"
    if old["kind"] != new_kind(new):
        return f"now a {new_kind(new)}"
    if new_v == SKIPPED:
        return "not in record: " + ", ".join(new.missing)
    if old_v == new_v:
        return ""
    if new_kind(new) == "check":
        return "rule"
    if new_v == NOT_TESTABLE:
        if new.gate is not None and not new.gate.holds:
            return "gate"
        return "precondition"
    if old_v == NOT_TESTABLE:
        return "precondition or gate lifted"
    return "rule"


def new_kind(result) -> str:
    return "check" if isinstance(result, CheckResult) else "claim"


def rejudge(record: dict) -> list[dict]:
    """One row per item (old and current): id, kind, old verdict, new verdict, what moved it, the
    gate's reason where there is one."""
    chapter = record["chapter"]
    if chapter not in CHAPTERS:
        raise ValueError(f"record chapter must be one of {', '.join(CHAPTERS)}; got {chapter!r}")
    module = load(chapter)
    config = module.PROFILES[record["profile"]]
    items = importlib.import_module(f"jepabook.{chapter}.claims").claims_for(config)
    pool = pooled_metrics(record, config)
    old = {i["id"]: i for i in record["claims"] + record["checks"]}
    rows = []
    for item in items:
        measured = {k: pool[k] for k in item.reads() if k in pool}
        res = (CheckResult if item.kind == "check" else ClaimResult).of(item, measured)
        before = old.get(item.id)
        rows.append({"id": item.id, "kind": item.kind,
                     "old": None if before is None else before.get("verdict", before.get("status")),
                     "new": res.verdict, "moved_by": _why(before, res),
                     "rule_alone": (evaluate(item.rule, res.measured) if item.kind == "claim" and res.verdict != SKIPPED
                                    else ""),
                     "gate": "" if getattr(res, "gate", None) is None else res.gate.text})
    current = {i.id for i in items}
    rows += [{"id": i, "kind": old[i]["kind"], "old": old[i].get("verdict", old[i].get("status")), "new": "removed",
              "moved_by": "removed", "rule_alone": "", "gate": ""} for i in old if i not in current]
    return rows


def table(rows: list[dict]) -> str:
    """The rows as a markdown table."""
    out = ["| item | kind | was | now | moved by | fair test |", "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| `{r['id']}` | {r['kind']} | {r['old']} | {r['new']} | {r['moved_by'] or '—'} | {r['gate'] or ''} |")
    return "\n".join(out)


def main(paths: list[str], json_path: str | None = None) -> int:
    everything = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise ValueError(f"record not found: {p}")
        record = json.loads(path.read_text())
        rows = rejudge(record)
        everything += [{"record": str(path), **r} for r in rows]
        moved = sum(1 for r in rows if r["old"] != r["new"])
        print(f"## {path.name}: {moved} of {len(rows)} items moved\n")
        print(table(rows) + "\n")
    if json_path:
        Path(json_path).write_text(json.dumps(everything, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
