"""Chapter 4 pilot (issue 29): does a teacher trained with labels on other objects know more than the student?

For each world draw (seeds >= 1000, never the chapter's published world), at the ``full`` profile:

1. the teacher gates, on the student world's held-out objects: the teacher's single-view class
   accuracy against the untrained student's (probe of the frozen random point transformer), its
   class share against the pixel target's, and its pose R² against 0.3;
2. the headroom: the untrained student, the full recipe distilling the candidate teacher, and the
   supervised ceiling (the same student trained with labels on the probe's labelled objects), on
   run seeds; the paired recipe − untrained differences give the noise a 10-seed test must beat;
3. each phase's cost (seconds, this box, shared CPU), to size 10 seeds at ``full``.

Usage (writes the record given by --out; the command is stored in it). One process per draw uses
both cores; ``--combine`` then joins the per-draw records (and, under ``rejected``, the records of
candidates measured earlier with the command and commit that measured them) into one:

    for d in 1000 1001 1002; do nice -n 10 python benchmarks/pilot_crossjepa_teacher.py --draws $d \\
        --seeds 1000 1001 --out /tmp/pilot-$d.json & done; wait
    python benchmarks/pilot_crossjepa_teacher.py --combine /tmp/pilot-100[012].json \\
        --rejected /tmp/earlier.json --out results/pilots/crossjepa-teacher-pilot.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, replace

import numpy as np
from scipy import stats

from jepabook.crossjepa.data import candidate_teachers, prepare
from jepabook.crossjepa.experiment import PROFILES, run_arm

GATE_POSE_R2 = 0.3


def detectable(diffs: np.ndarray, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest mean paired difference a one-sided paired t-test at ``n`` seeds detects with ``power``,
    at the spread of ``diffs``."""
    sd = float(np.std(diffs, ddof=1))
    return (stats.t.ppf(1 - alpha, n - 1) + stats.t.ppf(power, n - 1)) * sd / np.sqrt(n)


def pilot_draw(draw: int, seeds: list[int], teachers: tuple[str, ...], arms: tuple[str, ...]) -> dict:
    config = replace(PROFILES["full"], world_seed=draw, teachers=teachers, default_teacher=teachers[0],
                     second_teacher=teachers[-1])
    start, cpu = time.perf_counter(), time.process_time()
    prep = prepare(config, candidate_teachers(config.teachers, labelled_spec=config_labelled(config)))
    prepare_s, prepare_cpu = time.perf_counter() - start, time.process_time() - cpu
    runs, cpu_s = {a: [] for a in arms}, {a: [] for a in arms}
    for a in arms:
        for s in seeds:
            cpu = time.process_time()  # CPU seconds: on a shared box the wall clock measures the neighbours
            runs[a].append(run_arm(config, a, s, prep.data))
            cpu_s[a].append(time.process_time() - cpu)
    untrained = np.array([r.acc for r in runs["untrained"]])
    row = {"draw": draw, "seeds": seeds, "prepare_s": prepare_s, "prepare_cpu_s": prepare_cpu, "timing": prep.timing,
           "pixel_class_share": prep.pixel_class_share, "teachers": {}, "arms": {}}
    for name in teachers:
        d = prep.decodability[name]
        row["teachers"][name] = {
            **d, "gates": {"class_acc_above_untrained": bool(d["class_acc"] > untrained.mean()),
                           "class_share_above_pixels": bool(d["class_share"] > prep.pixel_class_share),
                           "pose_r2_at_least_0.3": bool(d["pose_r2"] >= GATE_POSE_R2)},
            "train_seconds": prep.cache[name].train_seconds}
    for a, rs in runs.items():
        row["arms"][a] = {"acc": [r.acc for r in rs], "seconds": [r.seconds for r in rs], "cpu_seconds": cpu_s[a],
                          "final_loss": [r.final_loss for r in rs]}
    return row


def _commit() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def config_labelled(config):
    from jepabook.crossjepa.label_teacher import LabelledSpec

    return getattr(config, "labelled", LabelledSpec())


def summarise(draws: list[dict]) -> dict:
    """The recipe's paired gain over untrained across every (draw, seed), the detectable effect at 10
    seeds, the headroom to the ceiling, and the CPU seconds per phase and arm."""
    pairs = lambda a, b: np.concatenate([np.subtract(r["arms"][a]["acc"], r["arms"][b]["acc"])  # noqa: E731
                                         for r in draws])
    gain, headroom = pairs("cond_pose_colour", "untrained"), pairs("ceiling", "untrained")
    out = {"recipe_minus_untrained": {"values": gain.tolist(), "mean": float(gain.mean()),
                                      "sd": float(gain.std(ddof=1)), "detectable_at_10_seeds": detectable(gain, 10)},
           "ceiling_minus_untrained": {"values": headroom.tolist(), "mean": float(headroom.mean()),
                                       "sd": float(headroom.std(ddof=1)),
                                       "detectable_at_10_seeds": detectable(headroom, 10)}}
    cpu = {a: float(np.mean([x for r in draws for x in r["arms"][a].get("cpu_seconds", [])] or [np.nan]))
           for a in draws[0]["arms"]}
    out["cpu_seconds"] = {"prepare_per_draw": float(np.mean([r.get("prepare_cpu_s", np.nan) for r in draws])),
                          "per_arm_run": cpu}
    return out


def combine(paths: list[str], rejected: list[str]) -> dict:
    records = [json.load(open(p)) for p in paths]
    draws = [d for r in records for d in r["draws"]]
    for d in draws:  # the candidate this pilot measured, named for the table beside the rejected ones
        d["teachers"]["labelled"]["label"] = "MLP trained with labels"
    out = {"commands": [r["command"] for r in records], **{k: records[0][k] for k in ("platform", "cpu_count",
                                                                                       "labelled_spec")},
           "draws": draws, **summarise(draws), "rejected": [json.load(open(p)) for p in rejected]}
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, nargs="+", default=[1000, 1001, 1002])
    p.add_argument("--seeds", type=int, nargs="+", default=[1000])
    p.add_argument("--teachers", nargs="+", default=["labelled", "pixels"])
    p.add_argument("--arms", nargs="+", default=["untrained", "cond_pose_colour", "ceiling"])
    p.add_argument("--out", default="results/pilots/crossjepa-teacher-pilot.json")
    p.add_argument("--combine", nargs="+", help="join these per-draw records into --out instead of running")
    p.add_argument("--rejected", nargs="*", default=[], help="records of earlier, rejected candidates")
    args = p.parse_args(argv)
    if args.combine:
        record = combine(args.combine, args.rejected)
        with open(args.out, "w") as f:
            json.dump(record, f, indent=1, default=float)
        return record
    if "JEPABOOK_CACHE" not in os.environ:  # a cold teacher cache, as the budget demands
        os.environ["JEPABOOK_CACHE"] = tempfile.mkdtemp(prefix="jepabook-pilot-")
    record = {"command": " ".join(["python"] + sys.argv), "commit": _commit(), "platform": platform.platform(),
              "cpu_count": os.cpu_count(), "labelled_spec": asdict(config_labelled(PROFILES["full"])), "draws": []}
    for draw in args.draws:
        row = pilot_draw(draw, args.seeds, tuple(args.teachers), tuple(args.arms))
        record["draws"].append(row)
        print(json.dumps({k: row[k] for k in ("draw", "teachers", "pixel_class_share")}, default=float), flush=True)
        print(json.dumps({a: v["acc"] for a, v in row["arms"].items()}), flush=True)
    if sum(len(r["seeds"]) for r in record["draws"]) >= 2 and {"cond_pose_colour", "ceiling"} <= set(args.arms):
        record.update(summarise(record["draws"]))
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1, default=float)
    return record


if __name__ == "__main__":
    main()
