"""Whole chapters, before and after a change, side by side in one run: wall and CPU time of a `full` run.

    python benchmarks/bench_chapters.py --before DIR --after DIR [--chapters ijepa,vjepa]
                                        [--profile full] [--out results/bench/chapters.json]

Each chapter runs as ``python -m jepabook run CHAPTER --profile PROFILE --no-save --json …`` with
``PYTHONPATH=DIR/src``, once from each checkout, before then after, chapter by chapter (so a drift in
the machine's speed during the run touches both sides of a chapter alike). Each row gives the wall
seconds of the whole command, the CPU seconds of it and its pool workers (``getrusage`` of the
children), the chapter's own ``tasks_wall``, and the ratio before/after. ``--before`` and ``--after``
are checkouts of the same models (for instance ``git worktree add DIR COMMIT``): the ratio is then the
code's speed, not a design's cost. The records both sides write are kept next to ``--out``, so their
claims can be compared (``python -m jepabook compare A B``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def run_once(tree: Path, chapter: str, profile: str, record: Path) -> dict[str, float]:
    """One chapter run from checkout ``tree``: its wall and children's CPU seconds and its timings."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"), JEPABOOK_RESULTS=str(record.parent))
    cmd = [sys.executable, "-m", "jepabook", "run", chapter, "--profile", profile, "--no-save", "--json", str(record)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=tree, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    timing = json.loads(record.read_text(encoding="utf-8")).get("timing_s", {})
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "tasks_wall_s": round(float(timing.get("tasks_wall", float("nan"))), 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", required=True, type=Path, help="checkout of the code before the change")
    p.add_argument("--after", required=True, type=Path, help="checkout of the code after the change")
    p.add_argument("--chapters", default="ijepa,vjepa")
    p.add_argument("--profile", default="full", choices=("ci", "full"))
    p.add_argument("--out", default="results/bench/chapters.json", type=Path)
    a = p.parse_args(argv)
    for side in (a.before, a.after):
        if not (side / "src" / "jepabook").is_dir():
            raise SystemExit(f"--before/--after must be checkouts of this book (no src/jepabook in {side})")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    rows = {}
    for chapter in a.chapters.split(","):
        rows[chapter] = {}
        for side, tree in (("before", a.before), ("after", a.after)):
            record = a.out.parent / f"{chapter}-{a.profile}-{side}.json"
            rows[chapter][side] = run_once(tree.resolve(), chapter, a.profile, record.resolve())
            print(chapter, side, rows[chapter][side], flush=True)
    out = {"command": " ".join(["python", "benchmarks/bench_chapters.py", *(argv or sys.argv[1:])]),
           "profile": a.profile, "cpu_count": os.cpu_count(), "rows": rows}
    tmp = a.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    tmp.replace(a.out)
    print(f"\n| chapter | before wall (s) | after wall (s) | ratio | before CPU (s) | after CPU (s) | ratio |")
    print("|---|---|---|---|---|---|---|")
    for chapter, r in rows.items():
        b, f = r["before"], r["after"]
        print(f"| {chapter} | {b['wall_s']:.0f} | {f['wall_s']:.0f} | {b['wall_s'] / f['wall_s']:.2f}× "
              f"| {b['cpu_s']:.0f} | {f['cpu_s']:.0f} | {b['cpu_s'] / f['cpu_s']:.2f}× |")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
