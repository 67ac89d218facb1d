"""SIGReg forward + backward: ours (MLX) vs a transcription of the official LeJEPA PyTorch module.

    pip install -e '.[bench]'        # PyTorch 2.13.0, for this benchmark only
    python benchmarks/bench_sigreg_torch.py [--n 512,2048] [--dim 64] [--slices 256] [--repeats 10]

Same quantity on both sides: z (N, dim) projected on ``slices`` random unit directions drawn in
the call, the Epps–Pulley statistic of each projection on the knots ``linspace(0, 3, 17)`` (trapezoid
weights on the half-line times the window e^{−t²/2}, times N), averaged over slices; then the
gradient with respect to z. One thread everywhere (OMP/MKL/OpenBLAS and torch.set_num_threads(1)).

Configurations run as long-lived worker processes timed in alternating rounds (see ``_ab.py``):
MLX with ``JEPABOOK_BLAS=reference`` and with it unset (the fast BLAS, where built), and PyTorch
eager and ``torch.compile``. Before timing, every variant's value and gradient on one fixed set of
directions are checked against PyTorch eager's (exit 1 beyond 1e-5 relative).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _ab import BLAS_CONFIGS, Worker, blas_in_use, serve  # noqa: E402

KNOTS, T_MAX = 17, 3.0


def _data(n: int, dim: int, slices: int):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(n, dim)).astype(np.float32)
    a = rng.normal(size=(dim, slices)).astype(np.float32)
    return z, a / np.linalg.norm(a, axis=0, keepdims=True)


def _timed(fn, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


# --------------------------------------------------------------------------- PyTorch worker

def torch_worker() -> int:
    import torch

    torch.set_num_threads(1)

    class SIGReg(torch.nn.Module):
        """The minimal SIGReg of rbalestr-lab/lejepa (MINIMAL.md), line for line, except the slice
        count (256 there) is an argument and the directions live on ``proj``'s device, not "cuda"."""

        def __init__(self, knots: int = KNOTS, num_slices: int = 256):
            super().__init__()
            t = torch.linspace(0, T_MAX, knots, dtype=torch.float32)
            dt = T_MAX / (knots - 1)
            weights = torch.full((knots,), 2 * dt, dtype=torch.float32)
            weights[[0, -1]] = dt
            window = torch.exp(-t.square() / 2.0)
            self.num_slices = num_slices
            self.register_buffer("t", t)
            self.register_buffer("phi", window)
            self.register_buffer("weights", weights * window)

        def forward(self, proj, A=None):
            if A is None:
                A = torch.randn(proj.size(-1), self.num_slices, device=proj.device)
                A = A.div_(A.norm(p=2, dim=0))
            x_t = (proj @ A).unsqueeze(-1) * self.t
            err = (x_t.cos().mean(-3) - self.phi).square() + x_t.sin().mean(-3).square()
            statistic = (err @ self.weights) * proj.size(-2)
            return statistic.mean()

    state: dict = {}

    def setup(n, dim, slices, torch_compile=True):
        z_np, a_np = _data(n, dim, slices)
        module = SIGReg(KNOTS, slices)
        z = torch.from_numpy(z_np).requires_grad_(True)
        a = torch.from_numpy(a_np)
        fns = {"eager": module}
        if torch_compile:
            fns["torch.compile"] = torch.compile(module, dynamic=False)
        checks, warmup = {}, {}
        for name, m in fns.items():
            start = time.perf_counter()
            loss = m(z, a)
            (g,) = torch.autograd.grad(loss, z)
            checks[name] = {"value": loss.item(), "grad": g.numpy().ravel().tolist()}
            loss = m(z)  # the timed form, directions drawn inside (compiles it, too)
            torch.autograd.grad(loss, z)
            warmup[name] = time.perf_counter() - start

        def step(m):
            loss = m(z)
            torch.autograd.grad(loss, z)

        state["steps"] = {name: (lambda m=m: step(m)) for name, m in fns.items()}
        return {"checks": checks, "warmup_s": warmup}

    def timing(variant, repeats):
        return {"s": _timed(state["steps"][variant], repeats)}

    def info():
        return {"torch": torch.__version__, "threads": torch.get_num_threads(),
                "compiler": "inductor (torch.compile default)"}

    return serve({"setup": setup, "time": timing, "info": info})


# --------------------------------------------------------------------------- MLX worker

def mlx_worker() -> int:
    import mlx.core as mx

    from jepabook.blocks.sigreg import epps_pulley, sigreg

    state: dict = {}

    def setup(n, dim, slices, torch_compile=True):
        z_np, a_np = _data(n, dim, slices)
        z, a, key = mx.array(z_np), mx.array(a_np), mx.random.key(1)
        variants = {
            "plain": (False, False), "mx.compile": (True, False), "mx.compile, fast trig": (True, True),
        }
        checks, warmup, steps = {}, {}, {}
        for name, (compiled, fast) in variants.items():
            fixed = mx.value_and_grad(lambda v, fast=fast: mx.mean(epps_pulley(v @ a, T_MAX, KNOTS, fast)))
            timed = mx.value_and_grad(lambda v, k, fast=fast: sigreg(v, k, slices, T_MAX, KNOTS, fast))
            if compiled:
                fixed, timed = mx.compile(fixed), mx.compile(timed)
            value, grad = fixed(z)
            checks[name] = {"value": value.item(), "grad": np.array(grad).ravel().tolist()}
            start = time.perf_counter()
            mx.eval(timed(z, key))
            warmup[name] = time.perf_counter() - start
            steps[name] = lambda timed=timed: mx.eval(timed(z, key))
        state["steps"] = steps
        return {"checks": checks, "warmup_s": warmup}

    def timing(variant, repeats):
        return {"s": _timed(state["steps"][variant], repeats)}

    def info():
        from jepabook.core.results import platform_info

        return {**platform_info(), "blas": blas_in_use()}

    return serve({"setup": setup, "time": timing, "info": info})


# --------------------------------------------------------------------------- parent

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", default="512,2048", help="comma-separated sample counts")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--slices", type=int, default=256)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-torch-compile", action="store_true", help="skip torch.compile (slow first call)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return torch_worker() if args.worker == "torch" else mlx_worker()
    if importlib.util.find_spec("torch") is None:
        print("bench_sigreg_torch: PyTorch is not installed. It is a benchmark-only extra:\n"
              "    pip install -e '.[bench]'    (torch==2.13.0)", file=sys.stderr)
        return 2

    script = os.path.abspath(__file__)
    workers = [Worker(script, f"mlx/{name}", env) for name, env in BLAS_CONFIGS.items()]
    workers.append(Worker(script, "torch"))
    try:
        infos = {w.name: w.call(cmd="info") for w in workers}
        print(f"platform: {platform.system()} {platform.machine()}, {_cpu_model()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")
        for name, info in infos.items():
            print(f"  {name}: {info}")
        print(f"dim={args.dim}, slices={args.slices}, knots={KNOTS}; ms per forward+backward (directions drawn "
              f"in the call), best of {args.rounds} alternating rounds x {args.repeats}; one thread")
        ok = True
        for n in (int(v) for v in args.n.split(",")):
            setups = {w.name: w.call(cmd="setup", n=n, dim=args.dim, slices=args.slices,
                                     torch_compile=not args.no_torch_compile) for w in workers}
            ref = setups["torch"]["checks"]["eager"]
            ref_g = np.array(ref["grad"])
            rows = []
            for w in workers:
                for variant, check in setups[w.name]["checks"].items():
                    v_err = abs(check["value"] - ref["value"]) / abs(ref["value"])
                    g_err = np.abs(np.array(check["grad"]) - ref_g).max() / np.abs(ref_g).max()
                    ok &= v_err <= 1e-5 and g_err <= 1e-5
                    rows.append((w, variant, v_err, g_err, setups[w.name]["warmup_s"][variant]))
            best = {(w.name, v): float("inf") for w, v, *_ in rows}
            for r in range(args.rounds):
                for w, variant, *_ in (rows if r % 2 == 0 else rows[::-1]):
                    s = w.call(cmd="time", variant=variant, repeats=args.repeats)["s"]
                    best[(w.name, variant)] = min(best[(w.name, variant)], s)
            base = best[("torch", "eager")]
            print(f"\nN = {n}")
            print(f"  {'worker':15s} {'variant':22s} {'ms':>8s} {'torch eager/this':>17s} {'first call s':>13s} "
                  f"{'value err':>10s} {'grad err':>9s}")
            for w, variant, v_err, g_err, warm in rows:
                ms = best[(w.name, variant)] * 1e3
                print(f"  {w.name:15s} {variant:22s} {ms:8.2f} {base * 1e3 / ms:16.2f}x {warm:13.2f} "
                      f"{v_err:10.1e} {g_err:9.1e}")
        print(f"\nagreement with PyTorch eager, same directions (relative, must be <= 1e-5): "
              f"{'ok' if ok else 'FAILED'}")
        return 0 if ok else 1
    finally:
        for w in workers:
            w.close()


if __name__ == "__main__":
    sys.exit(main())
