"""SIGReg speed: one cos/sin per element plus the Chebyshev recurrence vs cos/sin at every knot,
each with MLX's cos/sin or with the polynomial ``fast_cos_sin`` (``fast_trig=True``).

    python benchmarks/bench_sigreg.py [--n 512] [--slices 256] [--knots 17] [--repeats 20]

All variants are timed side by side in this process, forward and gradient, plain and compiled, in
alternating rounds (so a load spike on a shared machine hits them alike); the script fails (exit 1)
if any disagrees with the direct one by more than 1e-5 (relative) in value or gradient.
"""

from __future__ import annotations

import argparse
import sys
import time

import mlx.core as mx
import numpy as np

from jepabook.core.results import platform_info
from jepabook.blocks.sigreg import epps_pulley, epps_pulley_direct


def _time_once(fn, x, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        mx.eval(fn(x))
    return (time.perf_counter() - start) / repeats


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--slices", type=int, default=256)
    p.add_argument("--knots", type=int, default=17)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)

    x = mx.array(np.random.default_rng(0).normal(size=(args.n, args.slices)).astype(np.float32))
    k = args.knots
    variants = {
        "direct": lambda v: mx.mean(epps_pulley_direct(v, 3.0, k)),
        "direct, fast trig": lambda v: mx.mean(epps_pulley_direct(v, 3.0, k, fast_trig=True)),
        "recurrence": lambda v: mx.mean(epps_pulley(v, 3.0, k)),
        "recurrence, fast trig": lambda v: mx.mean(epps_pulley(v, 3.0, k, fast_trig=True)),
    }
    fns = {}
    for name, f in variants.items():
        fns[name] = mx.value_and_grad(f)
        fns[name + " (compiled)"] = mx.compile(mx.value_and_grad(f))

    v_ref, g_ref = fns["direct"](x)
    errors = {}
    for name, fn in fns.items():
        v, g = fn(x)  # also the warm-up (and compilation)
        errors[name] = (abs(v.item() - v_ref.item()) / abs(v_ref.item()),
                        mx.abs(g - g_ref).max().item() / mx.abs(g_ref).max().item())

    print(f"platform: {platform_info()}")
    print(f"N={args.n}, slices={args.slices}, knots={k}; forward + gradient, "
          f"best of 3 alternating rounds x {args.repeats}")
    times = {name: float("inf") for name in fns}
    for _ in range(3):
        for name, fn in fns.items():
            times[name] = min(times[name], _time_once(fn, x, args.repeats))
    base = times["direct"]
    print(f"  {'variant':34s} {'ms':>8s} {'vs direct':>10s} {'value err':>10s} {'grad err':>10s}")
    for name, seconds in times.items():
        ve, ge = errors[name]
        print(f"  {name:34s} {seconds * 1e3:8.2f} {base / seconds:9.1f}x {ve:10.1e} {ge:10.1e}")
    print(f"fast trig vs MLX cos/sin: direct {times['direct (compiled)'] / times['direct, fast trig (compiled)']:.2f}x, "
          f"recurrence {times['recurrence (compiled)'] / times['recurrence, fast trig (compiled)']:.2f}x (compiled)")
    worst = max(max(e) for e in errors.values())
    print(f"agreement with direct: worst relative error {worst:.1e} (must be <= 1e-5)")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
