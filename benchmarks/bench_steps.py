"""One training step of every chapter's model: MLX's reference BLAS vs the fast one (OpenBLAS shim).

    python benchmarks/bench_steps.py [--rounds 5] [--target-ms 200]

Each chapter's model, loss and optimizer at its ``full`` profile, stepped the way
``jepabook.core.training.fit`` steps it (the same compiled update, or uncompiled where the chapter
passes ``compile=False``), on fixed random inputs of the real shapes. Two worker processes,
``JEPABOOK_BLAS=reference`` and unset, timed in alternating rounds after a warm-up (see
``_ab.py``), every row in every round; each time is the fastest round's mean over a batch of
steps sized to ~``target-ms``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _ab import bench_args, blas_in_use, serve, start_workers  # noqa: E402

CHAPTERS = ("basics", "ijepa", "ijepa+uncompiled", "crossjepa", "lejepa", "basics+fast_trig", "lejepa+exact_trig", "lejepa+exact_all")


def _fit_step(model, loss_fn, optimizer, compile=True, after_update=None):
    """The update of ``training.fit``, built by the same function."""
    from jepabook.core.training import make_step

    return make_step(model, loss_fn, optimizer, compile=compile, after_update=after_update)


def build(chapter: str):
    """``(run_one_step, description)`` for ``chapter`` at its full profile."""
    import mlx.core as mx
    import mlx.optimizers as optim

    keys = mx.random.split(mx.random.key(0), 8)
    if chapter.endswith("+fast_trig"):  # the same step with SIGReg's cos/sin from fast_cos_sin
        from functools import partial
        from unittest import mock

        import jepabook.basics.experiment
        from jepabook.blocks.sigreg import sigreg

        base = chapter.removesuffix("+fast_trig")  # Chapter 5 sets fast_trig itself (Learner.fast_trig)
        with mock.patch.object(jepabook.basics.experiment, "sigreg", partial(sigreg, fast_trig=True)):
            run_one, desc = build(base)
            run_one()  # trace (and compile) with the patch in place
        return run_one, desc + ", fast_cos_sin"
    if chapter in ("lejepa+exact_trig", "lejepa+exact_all"):
        # the chapter's step with mx.cos/mx.sin in SIGReg (exact_trig), and also with mlx.nn.gelu (exact_all):
        # the step as it was before the chapter took blocks.nets.gelu and fast_cos_sin
        from dataclasses import replace
        from unittest import mock

        from jepabook.lejepa import experiment

        full = experiment.PROFILES["full"]
        learner = replace(full.learner, fast_trig=False)
        if chapter == "lejepa+exact_all":
            learner = replace(learner, activation="gelu_exact")
        with mock.patch.dict(experiment.PROFILES, {"full": replace(full, learner=learner)}):
            run_one, desc = build("lejepa")
        return run_one, desc + (", mx.cos/sin" if chapter == "lejepa+exact_trig" else ", mx.cos/sin, mlx.nn.gelu")
    if chapter == "basics":
        from jepabook.basics.experiment import JEPA, PROFILES, make_loss

        c = PROFILES["full"]
        model = JEPA(c, keys[0])
        loss = make_loss("sigreg", c.weight("sigreg"), c.num_slices)
        step, state = _fit_step(model, loss, optim.AdamW(learning_rate=c.lr, weight_decay=0.0))
        inputs = (mx.random.normal((c.batch, c.ambient_dim), key=keys[1]),
                  mx.random.normal((c.batch, c.ambient_dim), key=keys[2]), keys[3])
        desc = f"MLP {c.ambient_dim}-{c.hidden}-{c.hidden}-{c.embed_dim}, batch {c.batch} pairs, SIGReg {c.num_slices} slices"
    elif chapter in ("ijepa", "ijepa+uncompiled"):
        from jepabook.ijepa.experiment import ARMS, IJEPA, PROFILES, ijepa_loss, sample_masks, update_target

        c = PROFILES["full"]
        model = IJEPA(c, False, keys[0])
        optimizer = optim.AdamW(learning_rate=c.lr, weight_decay=c.weight_decay)
        compiled = chapter == "ijepa"  # as the chapter runs it (fixed mask counts); "ijepa+uncompiled" as it ran before
        step, state = _fit_step(model, lambda mdl, *b: ijepa_loss(mdl, *b, pixels=False), optimizer,
                                compile=compiled, after_update=update_target)
        m = sample_masks(ARMS["multiblock"], np.random.default_rng(0), c.batch, c)
        patches = mx.random.normal((c.batch, c.grid[0] * c.grid[1], c.patch**2), key=keys[1])
        inputs = (patches, mx.array(m.context), mx.array(m.targets), mx.array(0.99))
        desc = (f"ViT width {c.width} depth {c.depth}, predictor {c.pred_depth}x{c.pred_width}, {c.grid[0]}x{c.grid[1]} "
                f"tokens, batch {c.batch}, {'compiled' if compiled else 'uncompiled'}")
    elif chapter == "crossjepa":
        from jepabook.crossjepa.experiment import PROFILES, Student, student_loss

        c = PROFILES["full"]
        model = Student(c, 12, 256, keys[0])  # pose+colour side information, a 256-d teacher
        optimizer = optim.AdamW(learning_rate=c.lr, weight_decay=c.weight_decay)
        step, state = _fit_step(model, student_loss, optimizer)
        inputs = (mx.random.normal((c.batch, c.n_groups, c.group_size, 3), key=keys[1]),
                  mx.random.normal((c.batch, c.n_groups, 3), key=keys[2]), None,
                  mx.random.normal((c.batch, c.n_views, 12), key=keys[3]),
                  mx.random.normal((c.batch, c.n_views, 256), key=keys[4]))
        desc = (f"point transformer width {c.width} depth {c.depth} heads {c.heads}, "
                f"batch {c.batch}x{c.n_views} views, {c.n_groups} groups")
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
    else:
        raise ValueError(f"chapter must be one of {CHAPTERS}; got {chapter!r}")

    def run_one():
        step(*inputs)
        mx.eval(state)

    return run_one, desc


def worker() -> int:
    steps, descs = {}, {}

    def setup():
        warm = {}
        for chapter in CHAPTERS:
            start = time.perf_counter()
            steps[chapter], descs[chapter] = build(chapter)
            for _ in range(3):
                steps[chapter]()
            warm[chapter] = time.perf_counter() - start
        return {"blas": blas_in_use(), "warmup_s": warm, "desc": descs}

    def timing(chapter, calls):
        start = time.perf_counter()
        for _ in range(calls):
            steps[chapter]()
        return {"s": (time.perf_counter() - start) / calls}

    return serve({"setup": setup, "time": timing})


def main(argv=None) -> int:
    args = bench_args(__doc__, 200.0, argv)
    if args.worker:
        return worker()

    from jepabook.core.results import platform_info

    workers = start_workers(__file__)
    try:
        setups = {w.name: w.call(cmd="setup") for w in workers}
        print(f"platform: {platform_info()}")
        for name, s in setups.items():
            print(f"  {name}: {s['blas']}; build + 3 warm-up steps: "
                  + ", ".join(f"{c} {t:.1f} s" for c, t in s["warmup_s"].items()))
        print(f"ms per training step (full profile), best of {args.rounds} alternating rounds")
        print(f"  {'chapter':18s} {'reference':>10s} {'fast':>9s} {'ratio':>7s} {'native':>9s} {'pin cost':>9s}  model")
        calls = {}
        for chapter in CHAPTERS:
            probe = workers[1].call(cmd="time", chapter=chapter, calls=1)["s"]
            calls[chapter] = max(1, min(500, int(args.target_ms / 1e3 / max(probe, 1e-6))))
        best = {(w.name, c): float("inf") for w in workers for c in CHAPTERS}
        for r in range(args.rounds):  # every row in every round, so all rows share the load conditions
            for chapter in CHAPTERS:
                for w in (workers if r % 2 == 0 else workers[::-1]):
                    s = w.call(cmd="time", chapter=chapter, calls=calls[chapter])["s"]
                    best[(w.name, chapter)] = min(best[(w.name, chapter)], s)
        for chapter in CHAPTERS:
            ref, fast, native = (best[(name, chapter)] for name in ("reference", "fast", "native"))
            print(f"  {chapter:18s} {ref * 1e3:10.2f} {fast * 1e3:9.2f} {ref / fast:6.2f}x {native * 1e3:9.2f} "
                  f"{fast / native:8.2f}x  {setups['reference']['desc'][chapter]}")
        print("ratio = reference / fast; pin cost = fast (pinned Haswell kernels) / native (this CPU's own kernels)")
        return 0
    finally:
        for w in workers:
            w.close()


if __name__ == "__main__":
    sys.exit(main())
