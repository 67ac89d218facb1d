"""float32 matmul at the chapters' real shapes: MLX's reference BLAS vs the fast one (OpenBLAS shim).

    python benchmarks/bench_matmul.py [--rounds 5] [--target-ms 20]

Two worker processes, ``JEPABOOK_BLAS=reference`` and unset, timed in alternating rounds (see
``_ab.py``); each time is the fastest of the rounds of ``mx.eval(a @ b)`` per call, in batches of
calls sized to ~``target-ms`` in the reference worker. Each worker's product is also checked
against NumPy float64 (exit 1 beyond 1e-4 relative).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _ab import alternate, bench_args, blas_in_use, serve, start_workers  # noqa: E402

# (label, batch shape, M, K, N, transpose a): a is (*batch, M, K) (stored (K, M) when transposed,
# as in a weight gradient xᵀ·dy), b is (*batch, K, N)
SHAPES = [
    ("ch1 encoder layer (512x50)@(50x64)", (), 512, 50, 64, False),
    ("ch2 qkv (2048x32)@(32x96)", (), 2048, 32, 96, False),
    ("ch2 qkv weight grad (32x2048)@(2048x96)", (), 32, 2048, 96, True),
    ("ch2 attention (32x64x32)@(32x32x64)", (32,), 64, 32, 64, False),
    ("ch4 tokens (12288x32)@(32x64)", (), 12288, 32, 64, False),
    ("ch4 attention 16x16 (128x16x16)@(128x16x16)", (128,), 16, 16, 16, False),
    ("ch4 predictor (128x256)@(256x256)", (), 128, 256, 256, False),
    ("ch5 hidden (256x256)@(256x256)", (), 256, 256, 256, False),
    ("ch5 hidden (512x64)@(64x64)", (), 512, 64, 64, False),
    ("sigreg projection (512x64)@(64x256)", (), 512, 64, 256, False),
]


def worker() -> int:
    import mlx.core as mx

    arrays = {}
    rng = np.random.default_rng(0)
    for label, batch, m, k, n, trans in SHAPES:
        a = rng.normal(size=(*batch, k, m) if trans else (*batch, m, k)).astype(np.float32)
        b = rng.normal(size=(*batch, k, n)).astype(np.float32)
        a_mx, b_mx = mx.array(a), mx.array(b)
        arrays[label] = (a_mx, b_mx, trans, np.swapaxes(a, -1, -2) if trans else a, b)

    def product(label):
        a, b, trans, *_ = arrays[label]
        return (mx.swapaxes(a, -1, -2) if trans else a) @ b

    def check():
        errors = {}
        for label, (*_, a, b) in arrays.items():
            ref = a.astype(np.float64) @ b.astype(np.float64)
            errors[label] = float(np.abs(np.array(product(label)) - ref).max() / np.abs(ref).max())
        return {"errors": errors, "blas": blas_in_use()}

    def timing(label, calls):
        mx.eval(product(label))
        start = time.perf_counter()
        for _ in range(calls):
            mx.eval(product(label))
        return {"s": (time.perf_counter() - start) / calls}

    return serve({"check": check, "time": timing})


def main(argv=None) -> int:
    args = bench_args(__doc__, 20.0, argv)
    if args.worker:
        return worker()

    from jepabook.core.results import platform_info

    workers = start_workers(__file__)
    try:
        checks = {w.name: w.call(cmd="check") for w in workers}
        print(f"platform: {platform_info()}")
        for name, c in checks.items():
            print(f"  {name}: {c['blas']}")
        print(f"float32, ms per matmul (mx.eval each), best of {args.rounds} alternating rounds")
        print(f"  {'shape':46s} {'reference':>10s} {'fast':>9s} {'ratio':>7s} {'GFLOP/s ref':>12s} {'fast':>7s} "
              f"{'max rel err ref / fast':>23s} {'native':>9s} {'pin cost':>9s}")
        ok = True
        for label, batch, m, k, n, _ in SHAPES:
            probe = workers[0].call(cmd="time", label=label, calls=2)["s"]
            calls = max(1, min(2000, int(args.target_ms / 1e3 / max(probe, 1e-7))))
            answers = alternate(workers, args.rounds, {"cmd": "time", "label": label, "calls": calls})
            best = {name: min(a["s"] for a in ans) for name, ans in answers.items()}
            flops = 2.0 * m * k * n * int(np.prod(batch))
            err = [checks[w.name]["errors"][label] for w in workers]
            ok &= max(err) <= 1e-4
            ref, fast = best["reference"], best["fast"]
            native = best["native"]
            print(f"  {label:46s} {ref * 1e3:10.4f} {fast * 1e3:9.4f} {ref / fast:6.1f}x {flops / ref / 1e9:12.2f} "
                  f"{flops / fast / 1e9:7.2f} {err[0]:11.1e} / {err[1]:.1e} {native * 1e3:9.4f} {fast / native:8.2f}x")
        print(f"ratio = reference / fast; pin cost = fast (pinned Haswell kernels) / native (this CPU's own "
              f"kernels); accuracy vs NumPy float64 (must be <= 1e-4): {'ok' if ok else 'FAILED'}")
        return 0 if ok else 1
    finally:
        for w in workers:
            w.close()


if __name__ == "__main__":
    sys.exit(main())
