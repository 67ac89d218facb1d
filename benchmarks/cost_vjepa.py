"""Where one seed of Chapter 3's ``full`` profile spends its CPU time, component by component, in one process.

    python benchmarks/cost_vjepa.py [--seed 0] [--train-steps 60] [--out FILE.json]

Every component is timed as the chapter runs it, in wall seconds and in the process's CPU seconds
(``time.process_time``: the worker is single-threaded, so on an idle core CPU ≈ wall, and other load
on a shared box disturbs it far less than wall). Each arm's training runs 10 steps (compile, clips)
and then ``--train-steps`` steps; the difference gives the steady-state step, projected to the
profile's ``steps``. A fixed reference, the L1 pre-training step
(:func:`jepabook.vjepa.experiment.step_seconds`, 4 frames, whose idle value the executed chapter
prints), is timed at the start and the end to scale wall times to another load.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

import mlx.core as mx
import numpy as np

from jepabook.blocks.probes import effective_rank, linear_accuracy
from jepabook.vjepa import experiment as ex
from jepabook.vjepa.attentive import attentive_accuracy, predict
from jepabook.vjepa.model import tubelets

ROWS: dict[str, dict[str, float]] = {}


def timed(name: str, fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    ROWS[name] = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "load": os.getloadavg()[0]}
    print(f"{name:32s} wall {ROWS[name]['wall']:8.3f}  cpu {ROWS[name]['cpu']:8.3f}  load {ROWS[name]['load']:.1f}",
          flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-steps", type=int, default=60)
    ap.add_argument("--arms", default="l1,pixels,random,l2,supervised")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    cfg, seed = ex.PROFILES["full"], a.seed
    ROWS["reference_step_start"] = {"wall": ex.step_seconds(cfg, frames=(4,), repeats=20)[4]}
    print("reference step (start)", ROWS["reference_step_start"], flush=True)
    timed("clips_pretrain", lambda: ex._clips(cfg, seed, False, "pretrain", cfg.n_pretrain))
    probe, patches, train, test = timed("clips_probe", lambda: ex._probe_split(cfg, seed))
    labels = probe.labels
    for name in a.arms.split(","):
        timed(f"train_{name}_10", lambda: ex.train_arm(replace(cfg, steps=10), name, seed))
        model, _ = timed(f"train_{name}_{a.train_steps}", lambda: ex.train_arm(replace(cfg, steps=a.train_steps), name, seed))
        row = {}
        for k in ("wall", "cpu"):
            per = (ROWS[f"train_{name}_{a.train_steps}"][k] - ROWS[f"train_{name}_10"][k]) / (a.train_steps - 10)
            row[k + "_per_step"] = per
            row[k] = ROWS[f"train_{name}_10"][k] + per * (cfg.steps - 10)
        ROWS[f"train_{name}_projected_{cfg.steps}"] = row
        print(f"  -> projected {cfg.steps} steps: {row}", flush=True)
        if name == "supervised":
            timed("ceiling_predict", lambda: predict(model, patches[mx.array(test)], 256))
            continue
        tokens = timed(f"tokens_{name}", lambda: ex._tokens(model.target, patches))
        timed(f"pool_probe_{name}", lambda: linear_accuracy(tokens.mean(1), labels, train, test))
        timed(f"attn_probe_{name}", lambda: attentive_accuracy(tokens, labels, train, test, cfg.probe, seed, f"{name}-target"))
        timed(f"rank_{name}", lambda: effective_rank(tokens.mean(1)))
        if name == "l1":  # the context-encoder and motionless-clip reads (L1 only)
            timed("l1_context_read", lambda: ex._probe(model.encoder, patches, labels, train, test, cfg, seed, "l1-context"))
            still = np.repeat(probe.video[:, cfg.frames // 2][:, None], cfg.frames, axis=1)
            timed("l1_still_read", lambda: ex._probe(model.target, tubelets(mx.array(still), cfg.tubelet), labels, train,
                                                      test, cfg, seed, "l1-still"))
    timed("untrained_run_arm", lambda: ex.run_arm(cfg, "untrained", seed))
    timed("large_untrained_run_arm", lambda: ex.run_arm(cfg, "large_untrained", seed))
    timed("mask_statistics", lambda: ex.mask_statistics(cfg, seed))
    ROWS["reference_step_end"] = {"wall": ex.step_seconds(cfg, frames=(4,), repeats=20)[4]}
    print("reference step (end)", ROWS["reference_step_end"], flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(ROWS, f, indent=1)


if __name__ == "__main__":
    main()
