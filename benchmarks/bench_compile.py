"""Cold vs warm cost of MLX's CPU compilation: each chapter's first compiled training step.

    python benchmarks/bench_compile.py [--chapters basics,ijepa,lejepa] [--steps 5]

On CPU, ``mx.compile`` writes each fused kernel as C++ and builds it with ``g++`` into a cache under
the temp directory (``$TMPDIR``), which later processes reuse. For each chapter this runs, in fresh
subprocesses: a *cold* start with ``TMPDIR`` set to a new empty directory, then a *warm* start
on the same directory, timing the build of the step (model, optimizer), its first call and the
next ``--steps`` calls (as ``bench_steps.py`` builds them). A ``g++`` wrapper put first on
``PATH`` counts the compiler runs of each process. Last, two processes start together on one
fresh cold ``TMPDIR`` (as a chapter's seed workers do) to see whether both compile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(chapter: str, steps: int) -> int:
    start = time.perf_counter()
    import mlx.core as mx  # noqa: F401

    sys.path.insert(0, str(HERE))
    from bench_steps import build

    imported = time.perf_counter()
    run_one = build(chapter)[0]
    built = time.perf_counter()
    run_one()
    first = time.perf_counter()
    later = []
    for _ in range(steps):
        t = time.perf_counter()
        run_one()
        later.append(time.perf_counter() - t)
    print(json.dumps({"import_s": imported - start, "build_s": built - imported, "first_step_s": first - built,
                      "later_step_ms": [1e3 * s for s in later]}))
    return 0


def _gxx_wrapper(folder: Path) -> Path:
    real = shutil.which("g++")
    if real is None:
        raise SystemExit("bench_compile: no g++ on PATH; MLX's CPU compile needs it (and falls back otherwise)")
    log = folder / "gxx.log"
    wrapper = folder / "bin" / "g++"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\ncase "$*" in *-shared*) echo "$BENCH_TAG" >> "{log}";; esac\n'
                       f'exec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return log


def _start(chapter, steps, tmpdir, tag, bin_dir):
    env = dict(os.environ, TMPDIR=str(tmpdir), BENCH_TAG=tag, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return subprocess.Popen([sys.executable, __file__, "--child", chapter, "--steps", str(steps)], env=env,
                            stdout=subprocess.PIPE, text=True)


def _finish(proc) -> dict:
    out, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"child failed (exit {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def _compiles(log: Path, tag: str) -> int:
    return sum(1 for line in log.read_text().splitlines() if line == tag) if log.exists() else 0


def _cache_summary(tmpdir: Path) -> tuple[str, int, int]:
    libs = [p for p in tmpdir.rglob("*.so")]
    folders = sorted({str(p.parent.relative_to(tmpdir)) for p in libs})
    size = sum(p.stat().st_size for p in tmpdir.rglob("*") if p.is_file())
    return ", ".join(f"$TMPDIR/{f}" for f in folders) or "(none)", len(libs), size


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chapters", default="basics,ijepa,lejepa", help="comma-separated; crossjepa adds ~35 s")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--concurrent", default="basics", help="chapter for the two-processes test ('' to skip)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args.child, args.steps)

    from jepabook.core.results import platform_info

    root = Path(tempfile.mkdtemp(prefix="bench_compile_"))
    try:
        log = _gxx_wrapper(root)
        bin_dir = root / "bin"
        print(f"platform: {platform_info()}")
        print(f"seconds; first step = its trace, kernel builds and run; later steps in ms (min / median of {args.steps})")
        print(f"  {'chapter':10s} {'cache':5s} {'import':>7s} {'build':>6s} {'first step':>11s} {'later ms':>15s} "
              f"{'g++ runs':>9s}")
        notes = []
        for chapter in args.chapters.split(","):
            tmp = root / f"tmp-{chapter}"
            tmp.mkdir()
            for state in ("cold", "warm"):
                tag = f"{chapter}-{state}"
                r = _finish(_start(chapter, args.steps, tmp, tag, bin_dir))
                later = sorted(r["later_step_ms"])
                print(f"  {chapter:10s} {state:5s} {r['import_s']:7.2f} {r['build_s']:6.2f} {r['first_step_s']:11.2f} "
                      f"{later[0]:7.2f} / {later[len(later) // 2]:5.2f} {_compiles(log, tag):9d}")
            where, kernels, size = _cache_summary(tmp)
            notes.append(f"  {chapter}: {kernels} kernels ({size / 1e6:.1f} MB of .cpp + .so) in {where}")
        print("cache after the cold run:")
        print("\n".join(notes))

        if args.concurrent:
            tmp = root / "tmp-concurrent"
            tmp.mkdir()
            start = time.perf_counter()
            procs = [_start(args.concurrent, args.steps, tmp, f"together-{i}", bin_dir) for i in (0, 1)]
            results = [_finish(proc) for proc in procs]
            wall = time.perf_counter() - start
            _, kernels, _ = _cache_summary(tmp)
            runs = [_compiles(log, f"together-{i}") for i in (0, 1)]
            print(f"two {args.concurrent} processes started together on one cold TMPDIR: first steps "
                  f"{results[0]['first_step_s']:.2f} s and {results[1]['first_step_s']:.2f} s, g++ runs {runs[0]} and "
                  f"{runs[1]} ({kernels} kernels in the cache), wall {wall:.1f} s")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
