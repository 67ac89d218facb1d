"""Pilot 3 for Chapter 3 (issue 28): a random-dot world, where motion is the only thing that shows the object.

    PYTHONPATH=src python benchmarks/pilot_vjepa_dots.py floor|ceiling|recipe [--seed 1000] [overrides]

World (``dot_clips``): each clip's background is a fresh i.i.d. Gaussian texture, static; the object
is a patch of a second, independent Gaussian texture, cut by the chapter's shapes, that moves *with
its texture* by ``speed`` whole pixels a frame in one of 8 directions on the torus. Every pixel of
every frame is N(0, 1) whatever the label, so a single frame carries nothing: not the label, not
even where the object is. The direction lives only in how pixels of one frame recur, shifted, in
the next (a correlation between frames: second order in the pixels).

Stages (one JSON line each, as in ``pilot_vjepa.py``): ``floor`` (untrained encoder: attentive and
pooled probes on clips and on motionless clips), ``ceiling`` (the chapter's ``supervised`` arm: the
same ViT + attentive head trained from scratch on the labelled clips), ``recipe`` (a V-JEPA arm at
the given loss power, rate, steps and EMA movement, read by both probes). Everything runs the
chapter's code (:mod:`jepabook.vjepa.experiment`) with its clips swapped for ``dot_clips``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import mlx.core as mx
import numpy as np

from jepabook.core import streams
from jepabook.vjepa import experiment as ex
from jepabook.vjepa.attentive import ProbeConfig
from jepabook.vjepa.model import tubelets
from jepabook.vjepa.videos import DIRECTIONS, Clips, _render


def dot_clips(n, seed, frames, size, object_area, speed, noise, stream="clips", background=1.0):
    rng = streams.rng(seed, "videos", "dots", stream)
    labels = rng.permutation(np.arange(n) % 8)
    coords = np.arange(size, dtype=np.float64)
    yy, xx = coords[:, None], coords[None, :]
    back = rng.standard_normal((n, size, size))
    tex = rng.standard_normal((n, size, size))
    step = np.rint(speed * DIRECTIONS[labels]).astype(int)  # (n, 2) whole pixels (dy, dx)
    if object_area >= 1:
        mask = np.ones((n, frames, size, size), dtype=bool)
    else:
        shape = rng.integers(0, 3, n)
        radius = np.sqrt(object_area * size * size / np.pi) * rng.uniform(0.8, 1.2, n)
        angle = rng.uniform(0, np.pi / 2, n)
        start = rng.uniform(0, size, (n, 2))
        t = np.arange(frames, dtype=np.float64)
        centre = start[:, None, :] + t[None, :, None] * step[:, None, :]
        mask = _render(centre, shape, radius, angle, yy, xx, size)
    video = np.empty((n, frames, size, size), dtype=np.float32)
    for i in range(n):
        for f in range(frames):
            moved = np.roll(tex[i], tuple(f * step[i]), axis=(0, 1))
            video[i, f] = np.where(mask[i, f], moved, back[i])
    video += noise * rng.standard_normal(video.shape).astype(np.float32)
    return Clips(video[..., None], labels.astype(np.int64), mask)


def install():
    def _clips(config, seed, large, stream, n):
        area = config.large_area if large else config.object_area
        return dot_clips(n, seed, config.frames, config.size, area, config.speed, config.noise,
                         stream=f"{stream}-large" if large else stream)
    ex._clips = _clips


def floor(config, seed):
    model, _ = ex.train_arm(config, "untrained", seed)
    probe, patches, train, test = ex._probe_split(config, seed)
    pool, attn, rank = ex._probe(model.target, patches, probe.labels, train, test, config, seed, "untrained-target")
    still = np.repeat(probe.video[:, config.frames // 2][:, None], config.frames, axis=1)
    spool, sattn, _ = ex._probe(model.target, tubelets(mx.array(still), config.tubelet), probe.labels, train, test,
                                config, seed, "untrained-still")
    return {"attn": attn, "pool": pool, "rank": rank, "still_attn": sattn, "still_pool": spool}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("stage", choices=["floor", "ceiling", "recipe"])
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--tubelet", default="2,4,4")
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--size", type=int, default=24)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--object-area", type=float, default=0.25)
    p.add_argument("--noise", type=float, default=0.0)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--lr", type=float, default=2.5e-4)
    p.add_argument("--ceiling-lr", type=float, default=1e-3)
    p.add_argument("--ceiling-batch", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--ema-sum", type=float, default=3.0)
    p.add_argument("--power", type=float, default=1.0)
    p.add_argument("--masking", default="tubes")
    p.add_argument("--targets", default="features")
    p.add_argument("--probe-steps", type=int, default=200)
    p.add_argument("--n-probe", type=int, default=3072)
    p.add_argument("--n-pretrain", type=int, default=4096)
    p.add_argument("--test-fraction", type=float, default=1 / 3)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--pred-width", type=int, default=24)
    p.add_argument("--pred-depth", type=int, default=1)
    args = p.parse_args()
    install()
    tubelet = tuple(int(v) for v in args.tubelet.split(","))
    config = replace(ex.PROFILES["full"], tubelet=tubelet, frames=args.frames, size=args.size, speed=args.speed,
                     object_area=args.object_area, noise=args.noise, steps=args.steps, lr=args.lr, l2_lr=args.lr,
                     ceiling_lr=args.ceiling_lr, ceiling_batch=args.ceiling_batch, batch=args.batch,
                     ema_start=1.0 - 2.0 * args.ema_sum / args.steps,
                     n_probe=args.n_probe, n_pretrain=args.n_pretrain, test_fraction=args.test_fraction,
                     depth=args.depth, pred_width=args.pred_width, pred_depth=args.pred_depth, probe=replace(ex.PROFILES["full"].probe, steps=args.probe_steps))
    t0 = time.perf_counter()
    if args.stage == "floor":
        out = floor(config, args.seed)
    elif args.stage == "ceiling":
        r = ex.run_arm(config, "supervised", args.seed)
        out = {"supervised": r.metrics["acc"], "loss_first": float(np.mean(r.loss[:10])),
               "loss_last": float(np.mean(r.loss[-10:]))}
    else:
        ex.ARMS["pilot"] = ex.Arm(targets=args.targets, masking=args.masking, power=args.power)
        r = ex.run_arm(config, "pilot", args.seed)
        out = dict(r.metrics) | {"loss_first": float(np.mean(r.loss[:10])), "loss_last": float(np.mean(r.loss[-10:])),
                                 "train_s_per_step": r.train_seconds / config.steps}
    out = {"stage": args.stage, **{k: v for k, v in vars(args).items() if k != "stage"},
           **{k: round(float(v), 3) for k, v in out.items()}, "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
