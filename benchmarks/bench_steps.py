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

Columns: ms per step (wall, and the process's CPU time, which other load on a shared machine
disturbs less); GFLOP/s from the analytic FLOPs per step (``benchmarks/flops.py``: matrix
products only, a trained network 3× its forward pass); MFU = that rate over this machine's
single-thread float32 GEMM peak, measured in the first worker (a 1024² ``mx.matmul``, best of every
round, so a busy moment does not lower it).

Configurations: this checkout (``after``); with ``--before DIR`` also the checkout ``DIR`` (for
instance a ``git worktree`` of an older commit) through ``PYTHONPATH=DIR/src``, side by side;
with ``--blas`` MLX's reference BLAS and OpenBLAS with this CPU's own kernels as well (the BLAS
shim's cost and gain); with ``--torch`` PyTorch eager re-implementations of the Chapter 2 and
Chapter 5 steps (``benchmarks/torch_steps.py``: same model, shapes and loss, one thread; needs the
``bench`` extra, and is skipped with a message where PyTorch is not installed), with
``--torch-compile`` also their loss under ``torch.compile``.
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

CHAPTERS = ("basics", "ijepa", "vjepa", "crossjepa", "teacher", "lejepa")  # teacher: Chapter 4's ViT teacher
#: variants, timed only when named in --chapters: the step as it was before a speed change
VARIANTS = ("ijepa+uncompiled", "basics+fast_trig", "lejepa+exact_trig", "lejepa+exact_all")
TORCH_CHAPTERS = ("ijepa", "lejepa")
TORCH_KINDS = ("torch", "torch.compile")  # worker kinds of the PyTorch comparator (benchmarks/torch_steps.py)


def _fit_step(model, loss_fn, optimizer, after_update=None):
    """The update of ``training.fit``, built by the same function."""
    from jepabook.core.training import make_step

    return make_step(model, loss_fn, optimizer, after_update=after_update)


def ijepa_model(cls, c, key):
    """Chapter 2's model (latent targets) of config ``c``: since its redesign ``IJEPA`` takes the sizes
    (``jepabook.ijepa.model``); a ``--before`` checkout's took the config."""
    import inspect

    if "config" in inspect.signature(cls).parameters:
        return cls(c, False, key)
    return cls(c.patch * c.patch, c.grid, c.width, c.depth, c.heads, c.mlp_ratio, c.pred_width, c.pred_depth,
               False, key)


def build(chapter: str):
    """``(run_one_step, description, flops_per_step)`` for ``chapter`` at its full profile."""
    import mlx.core as mx
    import mlx.optimizers as optim

    import flops

    keys = mx.random.split(mx.random.key(0), 8)
    if chapter.endswith("+fast_trig"):  # the same step with SIGReg's cos/sin from fast_cos_sin
        from functools import partial
        from unittest import mock

        import jepabook.basics.experiment
        from jepabook.blocks.sigreg import sigreg

        with mock.patch.object(jepabook.basics.experiment, "sigreg", partial(sigreg, fast_trig=True)):
            run_one, desc, fl = build(chapter.removesuffix("+fast_trig"))
            run_one()  # trace (and compile) with the patch in place
        return run_one, desc + ", fast_cos_sin", fl
    if chapter in ("lejepa+exact_trig", "lejepa+exact_all"):
        # the step before Chapter 5 took blocks.nets.gelu (exact_all) and fast_cos_sin (both)
        from dataclasses import replace
        from unittest import mock

        from jepabook.lejepa import experiment

        full = experiment.PROFILES["full"]
        learner = replace(full.learner, fast_trig=False)
        if chapter == "lejepa+exact_all":
            learner = replace(learner, activation="gelu_exact")
        with mock.patch.dict(experiment.PROFILES, {"full": replace(full, learner=learner)}):
            run_one, desc, fl = build("lejepa")
        return run_one, desc + (", mx.cos/sin" if chapter == "lejepa+exact_trig" else ", mx.cos/sin, mlx.nn.gelu"), fl
    if chapter == "ijepa+uncompiled":  # as Chapter 2 ran before its mask counts were fixed
        from unittest import mock

        import jepabook.core.training as training

        real = training.make_step
        with mock.patch.object(training, "make_step", lambda *a, **k: real(*a, **{**k, "compile": False})):
            run_one, desc, fl = build("ijepa")
        return run_one, desc + ", uncompiled", fl
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
        model = ijepa_model(IJEPA, c, keys[0])
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
        from jepabook.crossjepa import experiment as cx

        c = cx.PROFILES["full"]
        groups = (mx.random.normal((c.batch, c.n_groups, c.group_size, 3), key=keys[1]),
                  mx.random.normal((c.batch, c.n_groups, 3), key=keys[2]), None)
        target = mx.random.normal((c.batch, c.n_views, 256), key=keys[4])  # a 256-d teacher
        if hasattr(cx, "make_student"):  # pose (4) and colour (8) as separate predictor inputs
            model = cx.make_student(c, 4, 8, 256, keys[0])
            side = mx.random.normal((c.batch, c.n_views, 12), key=keys[3])
            inputs = (*groups, side[..., :4], side[..., 4:], target)
        else:  # a checkout before Chapter 4's redesign (--before): pose+colour as one 12-d input
            model = cx.Student(c, 12, 256, keys[0])
            inputs = (*groups, mx.random.normal((c.batch, c.n_views, 12), key=keys[3]), target)
        step, state = _fit_step(model, cx.student_loss, optim.AdamW(learning_rate=c.lr, weight_decay=c.weight_decay))
        desc = (f"point transformer width {c.width} depth {c.depth} heads {c.heads}, "
                f"batch {c.batch}x{c.n_views} views, {c.n_groups} groups")
        fl = flops.crossjepa(c, 12, 256, c.n_groups)
    elif chapter == "teacher":  # Chapter 4's self-trained ViT teacher (its cold-cache training, 600 steps)
        from jepabook.crossjepa.experiment import PROFILES
        from jepabook.crossjepa.vit_teacher import TeacherNet, lejepa_loss

        c = PROFILES["full"]
        s = c.teacher
        model = TeacherNet(s, c.render_size, keys[0])
        optimizer = optim.AdamW(learning_rate=s.lr, weight_decay=s.weight_decay)
        step, state = _fit_step(model, lambda m, x, k: lejepa_loss(m, x, k, s.lam, s.slices), optimizer)
        inputs = (mx.random.uniform(shape=(s.n_aug, s.batch, c.render_size, c.render_size, 3), key=keys[1]), keys[2])
        grid = c.render_size // s.patch
        desc = (f"ViT width {s.width} depth {s.depth} heads {s.heads}, {grid}x{grid} tokens, "
                f"batch {s.batch}x{s.n_aug} copies, SIGReg {s.slices} slices")
        fl = flops.teacher(s, c.render_size)
    elif chapter == "lejepa":
        from jepabook.lejepa.experiment import PROFILES
        from jepabook.lejepa.learner import encoder, lejepa_loss

        c = PROFILES["full"]
        learner = c.learner
        model = encoder(learner, keys[0])
        optimizer = optim.AdamW(learning_rate=learner.lr, weight_decay=learner.weight_decay)
        # a --before checkout may predate the closed-form gradient (its learner has no such field)
        extra = {"closed_form_grad": learner.closed_form_grad} if hasattr(learner, "closed_form_grad") else {}
        step, state = _fit_step(model, lejepa_loss(c.lam, learner.num_slices, fast_trig=learner.fast_trig, **extra),
                                optimizer)
        inputs = (mx.random.normal((learner.batch, 2), key=keys[1]),
                  mx.random.normal((learner.batch, 2), key=keys[2]), keys[3])
        desc = (f"MLP 2-{learner.hidden}x{learner.depth - 1}-2 ({learner.activation}), batch {learner.batch} pairs, "
                f"SIGReg {learner.num_slices} slices")
        fl = flops.lejepa(learner)
    else:
        raise ValueError(f"chapter must be one of {CHAPTERS + VARIANTS}; got {chapter!r}")

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
        if kind in TORCH_KINDS:
            import torch_steps

            for chapter in chapters:
                steps[chapter], descs[chapter] = torch_steps.build(chapter, compiled=kind == "torch.compile")
                fls[chapter] = 0
        else:
            for chapter in chapters:
                steps[chapter], descs[chapter], fls[chapter] = build(chapter)
        for chapter in chapters:
            for _ in range(3):
                steps[chapter]()
        return {"blas": blas_in_use() if kind not in TORCH_KINDS else kind, "desc": descs, "flops": fls}

    def timing(chapter, calls):
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            steps[chapter]()
        return {"s": (time.perf_counter() - start) / calls, "cpu": (time.process_time() - cpu) / calls}

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
    if args.torch or args.torch_compile:
        import torch_steps

        if not torch_steps.available():
            print(f"--torch: {torch_steps.MISSING}", file=sys.stderr)
        else:
            configs["torch"] = ({"PYTHONPATH": src}, "torch")
            if args.torch_compile:
                configs["torch.compile"] = ({"PYTHONPATH": src}, "torch.compile")
    return configs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chapters", default=",".join(CHAPTERS), help=f"comma-separated, from {CHAPTERS + VARIANTS}")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--target-ms", type=float, default=200.0)
    p.add_argument("--before", help="a checkout (e.g. a git worktree of an older commit) to time side by side")
    p.add_argument("--blas", action="store_true", help="also MLX's reference BLAS and OpenBLAS's native kernels")
    p.add_argument("--torch", action="store_true", help="also PyTorch eager (Chapters 2 and 5; the bench extra)")
    p.add_argument("--torch-compile", action="store_true", help="also PyTorch eager and torch.compile (implies --torch)")
    p.add_argument("--no-pair", action="store_true", help="time each configuration alone only")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--kind", default="mlx", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    chapters = args.chapters.split(",")
    unknown = [c for c in chapters if c not in CHAPTERS + VARIANTS]
    if unknown:
        p.error(f"unknown chapters {unknown}; allowed: {CHAPTERS + VARIANTS}")
    if args.worker:
        return worker(args.kind, chapters)

    from jepabook.core.results import platform_info

    configs = configurations(args)
    rows = {name: [c for c in chapters if kind == "mlx" or c in TORCH_CHAPTERS] for name, (_, kind) in configs.items()}
    configs = {name: cfg for name, cfg in configs.items() if rows[name]}  # e.g. --torch without ijepa or lejepa
    pools = {}  # name -> two workers (the second only steps in the "pair" timings)
    try:
        for name, (env, kind) in configs.items():
            wargs = ["--kind", kind, "--chapters", ",".join(rows[name])]
            pools[name] = [Worker(os.path.abspath(__file__), name, env, wargs)
                           for _ in range(1 if args.no_pair else 2)]
        setups = {name: [w.call(cmd="setup") for w in ws][0] for name, ws in pools.items()}
        peak = pools["after"][0].call(cmd="peak")["flops"]  # measured again each round; the best counts
        print(f"platform: {platform_info()}")
        for name, s in setups.items():
            print(f"  {name}: {s['blas']} ({configs[name][0].get('PYTHONPATH', '')})")
        calls = {}
        for name in pools:
            for c in rows[name]:
                probe = pools[name][0].call(cmd="time", chapter=c, calls=1)["s"]
                calls[(name, c)] = max(1, min(500, int(args.target_ms / 1e3 / max(probe, 1e-6))))
        modes = ("alone",) if args.no_pair else ("alone", "pair")
        best = {(n, c, m): float("inf") for n in pools for c in rows[n] for m in modes + ("cpu",)}
        for r in range(args.rounds):  # every row in every round, so all rows share the load conditions
            peak = max(peak, pools["after"][0].call(cmd="peak")["flops"])
            order = list(pools) if r % 2 == 0 else list(pools)[::-1]
            for c in chapters:
                for name in order:
                    if c not in rows[name]:
                        continue
                    request = {"cmd": "time", "chapter": c, "calls": calls[(name, c)]}
                    answer = pools[name][0].call(**request)
                    best[(name, c, "alone")] = min(best[(name, c, "alone")], answer["s"])
                    best[(name, c, "cpu")] = min(best[(name, c, "cpu")], answer["cpu"])
                    if "pair" in modes:
                        for w in pools[name]:  # both start, then both answer
                            w.send(**request)
                        s = max(w.receive()["s"] for w in pools[name])
                        best[(name, c, "pair")] = min(best[(name, c, "pair")], s)
        print(f"single-thread float32 GEMM peak (mx.matmul 1024², best of {args.rounds + 1} rounds): {peak / 1e9:.0f} GFLOP/s")
        print(f"ms per training step (full profile), best of {args.rounds} alternating rounds; "
              f"GFLOP/s and MFU from the analytic FLOPs (benchmarks/flops.py)")
        print(f"  {'chapter':10s} {'config':9s} {'MFLOP':>7s} {'alone':>8s} {'CPU':>8s} {'pair':>8s} {'GFLOP/s':>8s}"
              f" {'MFU':>6s} {'vs after':>9s} {'(CPU)':>6s}  model")
        for c in chapters:
            fl = setups["after"]["flops"][c]
            for name in pools:
                if c not in rows[name]:
                    continue
                t = {m: best[(name, c, m)] for m in modes + ("cpu",)}
                pair = f"{t['pair'] * 1e3:8.2f}" if "pair" in t else f"{'-':>8s}"
                rel, rel_cpu = t["alone"] / best[("after", c, "alone")], t["cpu"] / best[("after", c, "cpu")]
                print(f"  {c:10s} {name:9s} {fl / 1e6:7.1f} {t['alone'] * 1e3:8.2f} {t['cpu'] * 1e3:8.2f} {pair} "
                      f"{fl / t['alone'] / 1e9:8.1f} {100 * fl / t['alone'] / peak:5.1f}% {rel:8.2f}x {rel_cpu:5.2f}x  "
                      f"{setups[name]['desc'][c]}")
        print("alone: wall ms per step, one worker stepping; CPU: its process CPU time per step (all threads; "
              "less sensitive to other load on a shared machine); pair: wall ms of each of two workers stepping "
              "at once (the slower); vs after: time / this checkout's, wall and CPU")
        return 0
    finally:
        for ws in pools.values():
            for w in ws:
                w.close()


if __name__ == "__main__":
    sys.exit(main())
