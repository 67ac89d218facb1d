"""One training step of every chapter's model: time, FLOPs, share of the GEMM peak, alone and in pairs.

    python benchmarks/bench_steps.py [--chapters basics,ijepa,...] [--rounds 5] [--target-ms 200]
                                     [--before DIR] [--blas] [--torch]

Each chapter's model, loss and optimizer at its ``full`` profile, stepped the way
``jepabook.core.training.fit`` steps it (``make_step``: the same compiled update), on fixed random
inputs of the real shapes (real masks for Chapters 2 and 3). Workers are long-lived processes, one
thread each (see ``_ab.py``), timed in alternating rounds after a warm-up; each time is the fastest
round's mean over a batch of steps sized to ~``target-ms``.

Every configuration is timed twice: **alone** (one worker steps, the others wait) and **pair** (two
workers of the same configuration step at the same time, as the 2-worker pool runs a chapter's
tasks; on a 2-core box this is the number a chapter's training actually sees).

Columns: ms per step; GFLOP/s from the analytic FLOPs per step (``benchmarks/flops.py``: matrix
products only, a trained network 3× its forward pass); MFU = that rate over this machine's
single-thread float32 GEMM peak, measured in the first worker (a 1024² ``mx.matmul``).

Configurations: this checkout (``after``); with ``--before DIR`` also the checkout ``DIR`` (for
instance a ``git worktree`` of an older commit) through ``PYTHONPATH=DIR/src``, side by side;
with ``--blas`` MLX's reference BLAS and OpenBLAS with this CPU's own kernels as well (the BLAS
shim's cost and gain); with ``--torch`` PyTorch eager re-implementations of the Chapter 2 and
Chapter 5 steps (``benchmarks/torch_steps.py``; needs the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _ab import BLAS_CONFIGS, Worker, blas_in_use, serve  # noqa: E402

CHAPTERS = ("basics", "ijepa", "vjepa", "crossjepa", "lejepa")
TORCH_CHAPTERS = ("ijepa", "lejepa")


def _fit_step(model, loss_fn, optimizer, after_update=None):
    """The update of ``training.fit``, built by the same function."""
    from jepabook.core.training import make_step

    return make_step(model, loss_fn, optimizer, after_update=after_update)


def build(chapter: str):
    """``(run_one_step, description, flops_per_step)`` for ``chapter`` at its full profile."""
    import mlx.core as mx
    import mlx.optimizers as optim

    import flops

    keys = mx.random.split(mx.random.key(0), 8)
    if chapter == "basics":
        from jepabook.basics.experiment import JEPA, PROFILES, make_loss

        c = PROFILES["full"]
        model = JEPA(c, keys[0])
        loss = make_loss("sigreg", c.weight("sigreg"), c.num_slices)
        step, state = _fit_step(model, loss, optim.AdamW(learning_rate=c.lr, weight_decay=0.0))
        inputs = (mx.random.normal((c.batch, c.ambient_dim), key=keys[1]),
                  mx.random.normal((c.batch, c.ambient_dim), key=keys[2]), keys[3])
        desc = f"MLP {c.ambient_dim}-{c.hidden}-{c.hidden}-{c.embed_dim}, batch {c.batch} pairs, SIGReg {c.num_slices} slices"
        fl = flops.basics(c)
    elif chapter == "ijepa":
        from jepabook.ijepa.experiment import ARMS, IJEPA, PROFILES, ijepa_loss, sample_masks, update_target

        c = PROFILES["full"]
        model = IJEPA(c, False, keys[0])
        optimizer = optim.AdamW(learning_rate=c.lr, weight_decay=c.weight_decay)
        step, state = _fit_step(model, lambda mdl, *b: ijepa_loss(mdl, *b, pixels=False), optimizer,
                                after_update=update_target)
        m = sample_masks(ARMS["multiblock"], np.random.default_rng(0), c.batch, c)
        patches = mx.random.normal((c.batch, c.grid[0] * c.grid[1], c.patch**2), key=keys[1])
        inputs = (patches, mx.array(m.context), mx.array(m.targets), mx.array(0.99))
        desc = (f"ViT width {c.width} depth {c.depth}, predictor {c.pred_depth}x{c.pred_width}, {c.grid[0]}x{c.grid[1]} "
                f"tokens ({m.context.shape[1]} context, {m.targets.shape[1]}x{m.targets.shape[2]} target), batch {c.batch}")
        fl = flops.ijepa(c, m.context.shape[1], m.targets.shape[1], m.targets.shape[2])
    elif chapter == "vjepa":
        from jepabook.core import streams
        from jepabook.vjepa.experiment import ARMS, PROFILES, _generators, _sample
        from jepabook.vjepa.model import VJEPA, tubelets, update_target, vjepa_loss

        c = PROFILES["full"]
        gens = _generators(ARMS["l1"], c, 0)
        model = VJEPA(c.patch_dim, c.grid, c.width, c.depth, c.heads, c.mlp_ratio, c.pred_width, c.pred_depth,
                      c.pred_heads, len(gens), False, keys[0])
        clips = tubelets(mx.random.normal((c.batch, c.frames, c.size, c.size, 1), key=keys[1]), c.tubelet)
        masks = _sample(gens, streams.rng(0, "masks"), c)
        inputs = (clips, *masks, mx.array(0.99))
        step, state = _fit_step(model, vjepa_loss, optim.AdamW(learning_rate=c.lr, weight_decay=c.weight_decay),
                                after_update=update_target)
        counts = [(masks[i].shape[1], masks[i + 1].shape[1]) for i in range(0, len(masks), 2)]
        desc = (f"tubelet ViT width {c.width} depth {c.depth} heads {c.heads}, predictor {c.pred_depth}x{c.pred_width}, "
                f"{'x'.join(map(str, c.grid))} tokens, (context, target) {counts}, batch {c.batch}")
        fl = flops.vjepa(c, counts)
    elif chapter == "crossjepa":
        from jepabook.crossjepa.experiment import PROFILES, Student, student_loss

        c = PROFILES["full"]
        model = Student(c, 12, 256, keys[0])  # pose+colour side information, a 256-d teacher
        step, state = _fit_step(model, student_loss, optim.AdamW(learning_rate=c.lr, weight_decay=c.weight_decay))
        inputs = (mx.random.normal((c.batch, c.n_groups, c.group_size, 3), key=keys[1]),
                  mx.random.normal((c.batch, c.n_groups, 3), key=keys[2]), None,
                  mx.random.normal((c.batch, c.n_views, 12), key=keys[3]),
                  mx.random.normal((c.batch, c.n_views, 256), key=keys[4]))
        desc = (f"point transformer width {c.width} depth {c.depth} heads {c.heads}, "
                f"batch {c.batch}x{c.n_views} views, {c.n_groups} groups")
        fl = flops.crossjepa(c, 12, 256, c.n_groups)
    elif chapter == "lejepa":
        from jepabook.lejepa.experiment import PROFILES
        from jepabook.lejepa.learner import encoder, lejepa_loss

        c = PROFILES["full"]
        learner = c.learner
        model = encoder(learner, keys[0])
        optimizer = optim.AdamW(learning_rate=learner.lr, weight_decay=learner.weight_decay)
        step, state = _fit_step(model, lejepa_loss(c.lam, learner.num_slices, fast_trig=learner.fast_trig), optimizer)
        inputs = (mx.random.normal((learner.batch, 2), key=keys[1]),
                  mx.random.normal((learner.batch, 2), key=keys[2]), keys[3])
        desc = (f"MLP 2-{learner.hidden}x{learner.depth - 1}-2 ({learner.activation}), batch {learner.batch} pairs, "
                f"SIGReg {learner.num_slices} slices")
        fl = flops.lejepa(learner)
    else:
        raise ValueError(f"chapter must be one of {CHAPTERS}; got {chapter!r}")

    def run_one():
        step(*inputs)
        mx.eval(state)

    return run_one, desc, fl


def gemm_peak(n: int = 1024, seconds: float = 1.0) -> float:
    """Single-thread float32 GEMM rate (FLOP/s) of ``mx.matmul`` on ``n × n`` matrices, best of 5."""
    import mlx.core as mx

    a, b = mx.random.normal((n, n)), mx.random.normal((n, n))
    mx.eval(a @ b)
    best = 0.0
    for _ in range(5):
        start, calls = time.perf_counter(), 0
        while time.perf_counter() - start < seconds / 5:
            mx.eval(a @ b)
            calls += 1
        best = max(best, 2 * n**3 * calls / (time.perf_counter() - start))
    return best


def worker(kind: str, chapters: list[str]) -> int:
    steps, descs, fls = {}, {}, {}

    def setup():
        if kind == "torch":
            import torch_steps

            for chapter in chapters:
                steps[chapter], descs[chapter] = torch_steps.build(chapter)
                fls[chapter] = 0
        else:
            for chapter in chapters:
                steps[chapter], descs[chapter], fls[chapter] = build(chapter)
        for chapter in chapters:
            for _ in range(3):
                steps[chapter]()
        return {"blas": blas_in_use() if kind != "torch" else "PyTorch", "desc": descs, "flops": fls}

    def timing(chapter, calls):
        start = time.perf_counter()
        for _ in range(calls):
            steps[chapter]()
        return {"s": (time.perf_counter() - start) / calls}

    return serve({"setup": setup, "time": timing, "peak": lambda: {"flops": gemm_peak()}})


def configurations(args) -> dict[str, tuple[dict, str]]:
    """Name → (environment overrides, worker kind) of every configuration this run compares."""
    src = os.path.join(os.path.dirname(HERE), "src")
    configs = {"after": ({"PYTHONPATH": src, "JEPABOOK_BLAS": None}, "mlx")}
    if args.before:
        configs["before"] = ({"PYTHONPATH": os.path.join(os.path.abspath(args.before), "src"), "JEPABOOK_BLAS": None}, "mlx")
    if args.blas:
        for name in ("reference", "native"):
            configs[name] = ({"PYTHONPATH": src, **BLAS_CONFIGS[name]}, "mlx")
    if args.torch:
        configs["torch"] = ({"PYTHONPATH": src}, "torch")
    return configs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chapters", default=",".join(CHAPTERS), help=f"comma-separated, from {CHAPTERS}")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--target-ms", type=float, default=200.0)
    p.add_argument("--before", help="a checkout (e.g. a git worktree of an older commit) to time side by side")
    p.add_argument("--blas", action="store_true", help="also MLX's reference BLAS and OpenBLAS's native kernels")
    p.add_argument("--torch", action="store_true", help="also PyTorch eager (Chapters 2 and 5; the bench extra)")
    p.add_argument("--no-pair", action="store_true", help="time each configuration alone only")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--kind", default="mlx", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    chapters = args.chapters.split(",")
    unknown = [c for c in chapters if c not in CHAPTERS]
    if unknown:
        p.error(f"unknown chapters {unknown}; allowed: {CHAPTERS}")
    if args.worker:
        return worker(args.kind, chapters)

    from jepabook.core.results import platform_info

    configs = configurations(args)
    rows = {name: [c for c in chapters if kind == "mlx" or c in TORCH_CHAPTERS] for name, (_, kind) in configs.items()}
    pools = {}  # name -> two workers (the second only steps in the "pair" timings)
    try:
        for name, (env, kind) in configs.items():
            wargs = ["--kind", kind, "--chapters", ",".join(rows[name])]
            pools[name] = [Worker(os.path.abspath(__file__), name, env, wargs)
                           for _ in range(1 if args.no_pair else 2)]
        setups = {name: [w.call(cmd="setup") for w in ws][0] for name, ws in pools.items()}
        peak = pools["after"][0].call(cmd="peak")["flops"]
        print(f"platform: {platform_info()}")
        print(f"single-thread float32 GEMM peak (mx.matmul 1024²): {peak / 1e9:.0f} GFLOP/s")
        for name, s in setups.items():
            print(f"  {name}: {s['blas']} ({configs[name][0].get('PYTHONPATH', '')})")
        calls = {}
        for name in pools:
            for c in rows[name]:
                probe = pools[name][0].call(cmd="time", chapter=c, calls=1)["s"]
                calls[(name, c)] = max(1, min(500, int(args.target_ms / 1e3 / max(probe, 1e-6))))
        modes = ("alone",) if args.no_pair else ("alone", "pair")
        best = {(n, c, m): float("inf") for n in pools for c in rows[n] for m in modes}
        for r in range(args.rounds):  # every row in every round, so all rows share the load conditions
            order = list(pools) if r % 2 == 0 else list(pools)[::-1]
            for c in chapters:
                for name in order:
                    if c not in rows[name]:
                        continue
                    request = {"cmd": "time", "chapter": c, "calls": calls[(name, c)]}
                    s = pools[name][0].call(**request)["s"]
                    best[(name, c, "alone")] = min(best[(name, c, "alone")], s)
                    if "pair" in modes:
                        for w in pools[name]:  # both start, then both answer
                            w.send(**request)
                        s = max(w.receive()["s"] for w in pools[name])
                        best[(name, c, "pair")] = min(best[(name, c, "pair")], s)
        print(f"ms per training step (full profile), best of {args.rounds} alternating rounds; "
              f"GFLOP/s and MFU from the analytic FLOPs (benchmarks/flops.py)")
        print(f"  {'chapter':10s} {'config':9s} {'MFLOP':>7s} {'alone':>8s} {'pair':>8s} {'GFLOP/s':>8s} {'MFU':>6s}"
              f" {'vs after':>9s}  model")
        for c in chapters:
            fl = setups["after"]["flops"][c]
            for name in pools:
                if c not in rows[name]:
                    continue
                t = {m: best[(name, c, m)] for m in modes}
                pair = f"{t['pair'] * 1e3:8.2f}" if "pair" in t else f"{'-':>8s}"
                rel = t["alone"] / best[("after", c, "alone")]
                print(f"  {c:10s} {name:9s} {fl / 1e6:7.1f} {t['alone'] * 1e3:8.2f} {pair} {fl / t['alone'] / 1e9:8.1f} "
                      f"{100 * fl / t['alone'] / peak:5.1f}% {rel:8.2f}x  {setups[name]['desc'][c]}")
        print("vs after = this configuration's time / this checkout's (alone); pair = each of two workers "
              "stepping at once (the slower of the two)")
        return 0
    finally:
        for ws in pools.values():
            for w in ws:
                w.close()


if __name__ == "__main__":
    sys.exit(main())
