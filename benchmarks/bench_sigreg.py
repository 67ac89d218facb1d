"""SIGReg speed: one cos/sin per element plus the Chebyshev recurrence vs cos/sin at every knot.

    python benchmarks/bench_sigreg.py [--n 512] [--slices 256] [--knots 17] [--repeats 20]

Both variants are timed side by side in this process, forward and gradient, plain and compiled;
the script fails (exit 1) if they disagree by more than 1e-5 (relative) in value or gradient.
"""

from __future__ import annotations

import argparse
import sys
import time

import mlx.core as mx
import numpy as np

from jepabook.results import platform_info
from jepabook.sigreg import epps_pulley, epps_pulley_direct


def _time(fn, x, repeats: int) -> float:
    mx.eval(fn(x))  # warm-up (and compilation)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            mx.eval(fn(x))
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--slices", type=int, default=256)
    p.add_argument("--knots", type=int, default=17)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)

    x = mx.array(np.random.default_rng(0).normal(size=(args.n, args.slices)).astype(np.float32))
    variants = {
        "direct": lambda v: mx.mean(epps_pulley_direct(v, 3.0, args.knots)),
        "recurrence": lambda v: mx.mean(epps_pulley(v, 3.0, args.knots)),
    }
    value_and_grad = {k: mx.value_and_grad(f) for k, f in variants.items()}

    (v_d, g_d), (v_r, g_r) = value_and_grad["direct"](x), value_and_grad["recurrence"](x)
    value_err = abs(v_r.item() - v_d.item()) / abs(v_d.item())
    grad_err = mx.abs(g_r - g_d).max().item() / mx.abs(g_d).max().item()

    print(f"platform: {platform_info()}")
    print(f"N={args.n}, slices={args.slices}, knots={args.knots}; forward + gradient, best of 3 x {args.repeats}")
    times = {}
    for name, fn in value_and_grad.items():
        times[name] = _time(fn, x, args.repeats)
        times[name + " (compiled)"] = _time(mx.compile(fn), x, args.repeats)
    for name, seconds in times.items():
        print(f"  {name:24s} {seconds * 1e3:8.2f} ms")
    print(f"speed-up, recurrence vs direct: {times['direct'] / times['recurrence']:.1f}x plain, "
          f"{times['direct (compiled)'] / times['recurrence (compiled)']:.1f}x compiled, "
          f"{times['direct'] / times['recurrence (compiled)']:.1f}x compiled recurrence vs plain direct")
    print(f"agreement: value {value_err:.1e}, gradient {grad_err:.1e} (relative; must be <= 1e-5)")
    return 0 if value_err <= 1e-5 and grad_err <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
