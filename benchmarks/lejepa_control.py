"""Chapter 5's paper-size control run: T1 and T2 at the paper's width and length, one seed, run once.

    PYTHONPATH=src nice -n 10 python benchmarks/lejepa_control.py [--seed 0] [--workers 2]

Trains the chapter's T1 runs (the four mixings; the coupling flow as the best of its restarts) and its
T2 sweep (additive world) with the paper's learner (width 256, 256 SIGReg slices) for the paper's
20,000 steps (the convergence test's continuation included), on one seed, and writes
``results/lejepa-control.json``: the chapter's record of that run (claims it could judge; the others
read ``skipped``), the command that made it, and the seed's per-run numbers. ``make book`` never runs
it; Chapter 5 reads the record when it is there, to say how much of the gap to the paper is our budget.

Cost (measured step times, see Chapter 5's budget cell): about 27 ms a step on the 2-core AMD box, so
the 8 MLP runs of 25,000 steps are about 90 CPU-minutes; on 2 cores about 50 minutes.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from jepabook import lejepa
from jepabook.core.results import results_dir
from jepabook.lejepa import names
from jepabook.lejepa.analysis import PAPER_STEPS
from jepabook.lejepa.learner import Learner

#: the paper's learner: width 256, 256 slices (its depth, 4 linear layers, is the chapter's too)
PAPER_LEARNER = Learner(hidden=256, num_slices=256, log_every=100)
CONTROL = {"learner": PAPER_LEARNER, "steps": PAPER_STEPS, "spiral_steps": PAPER_STEPS,
           "include": ("t1", "restart", "t2"), "checkpoints": 8}


def per_run(run) -> dict[str, dict[str, float]]:
    """The seed's T1 and T2 numbers by tag: R² on the evaluation points and on the fixed grid, the
    continuation's change, tr Cov(h) and the final loss."""
    s = run.seeds[0]
    keys = ("r2_hz", "r2_hz_grid", "settle", "grid_settle", "trace_cov", "final_loss")
    return {tag: {k: float(r.metrics[k]) for k in keys if k in r.metrics} for tag, r in s.runs.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", default=str(results_dir() / "lejepa-control.json"))
    p.add_argument("--steps", type=int, default=PAPER_STEPS, help="a smoke test only: fewer steps than the paper's")
    a = p.parse_args(argv)
    start = time.perf_counter()
    control = dict(CONTROL, steps=a.steps, spiral_steps=a.steps)
    run = lejepa.run("full", seeds=[a.seed], workers=a.workers, **control)
    record = run.record.to_json()
    record.update(control={"what": f"paper-size control: width {PAPER_LEARNER.hidden}, {PAPER_LEARNER.num_slices} "
                           f"slices, {a.steps:,} steps, seed {a.seed}; T1 and T2 only",
                           "steps": a.steps,
                           "command": "PYTHONPATH=src python " + " ".join(shlex.quote(x) for x in sys.argv),
                           "wall_s": round(time.perf_counter() - start, 1),
                           "runs": per_run(run),
                           "t2_alphas": list(run.config.alphas),
                           "t2_r2grid": [run.per_seed(names.t2_metric(x, "r2grid"))[0] for x in run.config.alphas]})
    out = Path(a.out)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)
    print(run.record.table())
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
