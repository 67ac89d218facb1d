"""Which claims' verdicts cannot move? Simulate each rule's values from the committed records.

For every claim of every chapter (the current rules, on the measurements pooled from
``results/<chapter>-full.json`` as ``python -m jepabook rejudge`` pools them), three simulations:

- **seeds**: resample the seeds (jointly over arms, so pairs stay paired; runs, for a bound every
  run obeys) 2,000 times and judge the rule each time: the share of each verdict;
- **fixed**: the arms whose value is the same in every seed (a fixed world, a constant of the code):
  the rule decides those without noise, so only a change of construction moves them;
- **control**: replace every trained arm the rule reads by its untrained control in the same record
  (the chapter's own untrained arm) and judge again: a rule that still holds with no training holds
  by construction, and one that fails there too cannot separate the recipe from its control.

A verdict is flagged *cannot move* when the seed resampling never changes it (≥ 99 % the same) and
either every arm the rule reads is fixed, or it holds with the untrained controls as it does with
training; or when its precondition is one fixed value that fails, or its gate's ceiling is fixed.
Checks are simulated too (they are meant to hold by construction: there "cannot move" is expected). Run from the repository root:

    python benchmarks/rule_power.py [--draws 2000] > rule_power.md
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from jepabook.core.chapters import CHAPTERS, load  # noqa: E402
from jepabook.core.rules import BoundEveryRun, evaluate  # noqa: E402
from jepabook.rejudge import pooled_metrics  # noqa: E402

#: a trained arm → its untrained control in the same record (same seeds, same data, same probe)
CONTROLS = {
    "ijepa": lambda a: "acc_untrained" if a.startswith("acc_") and "digits" not in a else
    ("acc_digits_untrained" if a.startswith("acc_digits") else None),
    "vjepa": lambda a: {"attn_l1": "attn_untrained", "pool_l1": "pool_untrained", "gain_l1": "gain_untrained",
                        "attn_pixels": "attn_untrained", "attn_random": "attn_untrained",
                        "attn_l2": "attn_untrained", "rank_l1": "rank_untrained", "rank_l2": "rank_untrained"}.get(a),
    "crossjepa": lambda a: "untrained" if a.startswith(("cond_", "mask_", "second_")) or a == "pixels" else None,
    "basics": lambda a: {"sigreg_r2": "raw_r2", "predict_r2": "raw_r2"}.get(a),
    "lejepa": lambda a: {"plan_ratio": "untrained_plan_ratio", "t1_r2": "untrained_r2"}.get(a),
}


def _resample(m: dict, rng, per_run: bool) -> dict:
    n = len(next(iter(m.values())))
    idx = rng.integers(0, n, n)
    return {k: [v[i] for i in idx] for k, v in m.items()}


def simulate(chapter: str, draws: int, seed: int = 0) -> list[dict]:
    record = json.loads((ROOT / "results" / f"{chapter}-full.json").read_text())
    config = load(chapter).PROFILES["full"]
    pool = pooled_metrics(record, config)
    items = importlib.import_module(f"jepabook.{chapter}.claims").claims_for(config)
    rng = np.random.default_rng(seed)
    rows = []
    for item in items:
        arms = item.rule.arms()
        if any(a not in pool for a in arms):
            rows.append({"id": item.id, "kind": item.kind, "verdict": "—", "note": "not in record: " +
                         ", ".join(a for a in arms if a not in pool)})
            continue
        m = {a: pool[a] for a in arms}
        if len(set(map(len, m.values()))) != 1:
            rows.append({"id": item.id, "kind": item.kind, "verdict": "—", "note": "arms of different lengths"})
            continue
        verdict = evaluate(item.rule, m)
        boot = Counter(evaluate(item.rule, _resample(m, rng, isinstance(item.rule, BoundEveryRun)))
                       for _ in range(draws))
        same = boot[verdict] / draws
        fixed = [a for a, v in m.items() if len(v) > 1 and len(set(v)) == 1]
        control = CONTROLS.get(chapter, lambda a: None)
        names = {a: control(a) or a for a in arms}
        # a swap is read only when it keeps the rule's arms distinct and every control was measured
        swap_ok = (names != {a: a for a in arms} and len(set(names.values())) == len(arms)
                   and all(n in pool and len(pool[n]) == len(m[a]) for a, n in names.items()))
        control_verdict = evaluate(item.rule, {a: pool[n] for a, n in names.items()}) if swap_ok else ""
        holds = verdict in ("reproduced", "direction only")
        by_fixed = len(fixed) == len(arms)
        by_control = holds and control_verdict == verdict
        pre = ""
        if getattr(item, "precondition", None) is not None and all(a in pool for a in item.precondition.arms()):
            parr = item.precondition.arms()
            if all(len(set(pool[a])) == 1 for a in parr):
                ok = item.precondition.on_means({a: pool[a] for a in parr})
                pre = f"precondition fixed: always {'holds' if ok else 'fails'}"
        gate_note = ""
        if getattr(item, "gate", None) is not None:
            gates = item.gate if isinstance(item.gate, tuple) else (item.gate,)
            for g in gates:
                if all(a in pool for a in g.arms()) and g.fixed_fails() and len(set(pool[g.fixed_arm()])) == 1:
                    gate_note = f"gate: {g.fixed_arm()} fixed, always fails"
        stuck = same >= 0.99 and (by_fixed or by_control) or pre.endswith("fails") or bool(gate_note)
        reasons = [r for r in (("fixed: " + ", ".join(fixed)) if fixed else "",
                               f"with untrained controls: {control_verdict}" if control_verdict else "",
                               pre, gate_note) if r]
        rows.append({"id": item.id, "kind": item.kind, "verdict": verdict, "seeds_same": same,
                     "spread": ", ".join(f"{k} {v / draws:.0%}" for k, v in boot.most_common()),
                     "note": "; ".join(reasons), "cannot_move": stuck})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--draws", type=int, default=2000)
    args = p.parse_args(argv)
    print("| item | kind | rule's verdict | seeds resampled | fixed arms, controls, precondition, gate | cannot move |")
    print("|---|---|---|---|---|---|")
    for chapter in CHAPTERS:
        for r in simulate(chapter, args.draws):
            print(f"| `{r['id']}` | {r['kind']} | {r['verdict']} | {r.get('spread', '')} | {r['note']} | "
                  f"{'**yes**' if r.get('cannot_move') else ''} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
