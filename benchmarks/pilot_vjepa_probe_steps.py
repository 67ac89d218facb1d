"""Pilot (issue 28): does the attentive probe read the same with fewer training steps?

    python benchmarks/pilot_vjepa_probe_steps.py --seed 1000 --steps 200,150,100 >> results/pilots/vjepa-probe-steps.jsonl

Chapter 3's ``full`` config; the untrained encoder and the L1 arm (400 steps) of one seed, their
target tokens cached once, the attentive probe trained at each step count on the same split.
Decision rule, written before the run: a count below 200 is used only if, on both encoders, its
held-out accuracy is within one binomial standard error (of the 200-step accuracy, 1,024 clips) of
the 200-step probe's.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

from jepabook.vjepa import experiment as ex
from jepabook.vjepa.analysis import binomial_se
from jepabook.vjepa.attentive import attentive_accuracy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--steps", default="200,150,100")
    a = ap.parse_args()
    # the chapter's first world and tokeniser, on which this pilot ran (the chapter now runs the dots world)
    cfg = replace(ex.PROFILES["full"], world="gratings", size=24, tubelet=(2, 4, 4), object_area=0.12, speed=1.5,
                  noise=0.05, n_probe=3072, test_fraction=1 / 3, lr=2.5e-4, l2_lr=2.5e-4)
    probe, patches, train, test = ex._probe_split(cfg, a.seed)
    for arm in ("untrained", "l1"):
        model, _ = ex.train_arm(cfg, arm, a.seed)
        tokens = ex._tokens(model.target, patches)
        row = {"seed": a.seed, "arm": arm, "n_test": len(test)}
        for s in (int(x) for x in a.steps.split(",")):
            t0 = time.process_time()
            acc = 100 * attentive_accuracy(tokens, probe.labels, train, test, replace(cfg.probe, steps=s), a.seed,
                                           f"{arm}-target")
            row[f"attn_{s}"], row[f"cpu_s_{s}"] = round(acc, 2), round(time.process_time() - t0, 2)
        row["se_200"] = round(binomial_se(row["attn_200"], len(test)), 2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
