"""Pilot 2 for Chapter 3 (issue 28): which world and tokeniser let a small ViT learn direction from labels?

    PYTHONPATH=src python benchmarks/pilot_vjepa_world.py ceiling --wrap 0 --background 0 --lr 1e-3 --steps 400
    PYTHONPATH=src python benchmarks/pilot_vjepa_world.py floor   --wrap 0 --background 0

The first pilot (``pilot_vjepa.py``) found that with 1×4×4 tubelets the untrained attentive probe is
at chance but a ViT trained from scratch with labels stays at chance too at the chapter's budget.
This one varies the world (wrap-around, background texture, speed, object size) and the encoder's
fixed position code (``--pos sincos``: the chapter's; ``periodic``: spatial frequencies that are
whole turns of the token grid, so a displacement reads the same across the torus's seam), and
prints the held-out accuracy of the from-scratch classifier along its training (one JSON line).

World without wrap-around (``--wrap 0``): the object's centre at the middle frame is uniform over the
frame extended by a margin (object radius + the largest displacement), the object is drawn clipped,
so every single frame's image has the same law for every direction (the margin covers each frame's
shift), at the cost of clips whose object is partly or wholly outside the frame.
"""

from __future__ import annotations

import argparse
import json
import time

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from jepabook.blocks.probes import linear_accuracy, train_test_split
from jepabook.blocks.vit import ViT, sincos_positions
from jepabook.core import streams
from jepabook.core.training import warmup_then_cosine, fit
from jepabook.vjepa.attentive import AttentiveProbe, ProbeConfig, attentive_accuracy, predict
from jepabook.vjepa.model import tubelets
from jepabook.vjepa.videos import DIRECTIONS, _render


def clips(n, seed, a, stream):
    rng = streams.rng(seed, "pilot2", stream)
    S, F = a.size, a.frames
    labels = rng.permutation(np.arange(n) % 8)
    coords = np.arange(S, dtype=np.float64)
    yy, xx = coords[:, None], coords[None, :]
    k, theta = rng.uniform(0.15, 0.6, (n, 3, 1, 1)), rng.uniform(0, np.pi, (n, 3, 1, 1))
    phase, amp = rng.uniform(0, 2 * np.pi, (n, 3, 1, 1)), rng.uniform(0.1, 0.25, (n, 3, 1, 1))
    background = a.background * (amp * np.sin(k * (np.cos(theta) * xx + np.sin(theta) * yy) + phase)).sum(1)
    shape = rng.integers(0, 3, n)
    radius = np.sqrt(a.object_area * S * S / np.pi) * rng.uniform(0.8, 1.2, n)
    angle = rng.uniform(0, np.pi / 2, n)
    contrast = rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 1.0, n)
    v = a.speed * DIRECTIONS[labels]
    t = np.arange(F, dtype=np.float64) - F // 2
    if a.wrap:
        mid = rng.uniform(0, S, (n, 2))
        centre = mid[:, None] + t[None, :, None] * v[:, None]
        mask = _render(centre, shape, radius, angle, yy, xx, S)
    else:
        reach = a.speed * max(F // 2, F - 1 - F // 2)
        margin = (radius.max() * np.sqrt(2) + reach) if a.margin < 0 else a.margin
        mid = rng.uniform(-margin, S + margin, (n, 2))
        centre = mid[:, None] + t[None, :, None] * v[:, None]
        mask = _render(centre, shape, radius, angle, yy, xx, 10 ** 6)  # a torus too large to wrap
    video = background[:, None] + contrast[:, None, None, None] * mask + a.noise * rng.standard_normal(mask.shape)
    return video[..., None].astype(np.float32), labels.astype(np.int64), mask


def periodic_positions(grid, dim):
    """Time axis as the chapter's; each spatial axis sin/cos of 2π·j·x/g for j = 1.. (whole turns of the grid)."""
    k = len(grid)
    per = dim // k
    coords = np.stack(np.meshgrid(*[np.arange(g) for g in grid], indexing="ij"), -1).reshape(-1, k)
    base = np.array(sincos_positions(grid, dim))
    parts = [base[:, :per]]
    for i in range(1, k):
        g = grid[i]
        j = np.arange(per // 2) % max(g // 2, 1) + 1
        ang = 2 * np.pi * coords[:, i, None] * j[None] / g
        parts.append(np.concatenate([np.sin(ang), np.cos(ang)], 1))
    return mx.array(np.concatenate(parts, 1).astype(np.float32))


def encoder(a, key):
    tub = tuple(int(x) for x in a.tubelet.split(","))
    grid = (a.frames // tub[0], a.size // tub[1], a.size // tub[2])
    e = ViT(int(np.prod(tub)), grid, a.width, a.depth, 3, 2.0, key)
    if a.pos == "periodic":
        e._pos = periodic_positions(grid, a.width)
    e._pos = e._pos * a.pos_scale
    return e, tub


def data(a):
    v, y, mask = clips(a.n_probe, a.seed, a, "probe")
    train, test = train_test_split(len(y), a.test_fraction, a.seed)
    return v, y, mask, train, test


class Classifier(nn.Module):
    def __init__(self, enc, head):
        super().__init__()
        self.encoder, self.head = enc, head

    def __call__(self, x):
        return self.head(self.encoder(x))


def ceiling(a):
    v, y, _, train, test = data(a)
    enc, tub = encoder(a, streams.key(a.seed, "pilot2", "init"))
    patches = tubelets(mx.array(v), tub)
    head = AttentiveProbe(a.width, 8, 3, 2.0, streams.key(a.seed, "pilot2", "head"))
    model = Classifier(enc, head)
    rng = streams.rng(a.seed, "pilot2", "batches")
    ys = mx.array(y.astype(np.int32))

    def batch(i):
        rows = mx.array(rng.choice(train, a.batch, replace=False))
        return patches[rows], ys[rows]

    def loss(m, x, yb):
        return nn.losses.cross_entropy(m(x), yb, reduction="mean"), {}

    opt = optim.AdamW(learning_rate=warmup_then_cosine(a.lr, a.steps, a.warmup), weight_decay=a.wd)
    curve = []
    done = 0
    for chunk in np.array_split(np.arange(a.steps), a.evals):
        # one fit per chunk would restart the schedule: instead fit step-by-step with the global schedule
        log = fit(model, loss, batch, opt, len(chunk), log_every=len(chunk))
        done += len(chunk)
        acc = 100 * float((predict(model, patches[mx.array(test)], 256) == y[test]).mean())
        curve.append((done, round(acc, 1), round(float(log.parts["loss"][-1]), 3)))
    tr = 100 * float((predict(model, patches[mx.array(train)], 256) == y[train]).mean())
    return {"supervised": curve[-1][1], "supervised_train": tr, "curve": curve}


def floor(a):
    v, y, mask, train, test = data(a)
    enc, tub = encoder(a, streams.key(a.seed, "pilot2", "floor-init"))
    out = {"visible_all_frames": 100 * float(mask.any((2, 3)).all(1).mean())}
    pc = ProbeConfig(steps=a.probe_steps, batch=128)
    for name, video in (("clip", v), ("frame", np.repeat(v[:, a.frames // 2][:, None], a.frames, 1)),
                        ("frame0", np.repeat(v[:, 0][:, None], a.frames, 1))):
        p = tubelets(mx.array(video), tub)
        tok = np.concatenate([np.array(enc(p[i:i + 256])) for i in range(0, len(p), 256)])
        out[f"pool_{name}"] = 100 * linear_accuracy(tok.mean(1), y, train, test)
        out[f"attn_{name}"] = 100 * attentive_accuracy(tok, y, train, test, pc, a.seed, name)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("stage", choices=["floor", "ceiling"])
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--tubelet", default="1,4,4")
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--speed", type=float, default=2.0)
    p.add_argument("--object-area", type=float, default=0.12)
    p.add_argument("--noise", type=float, default=0.05)
    p.add_argument("--background", type=float, default=1.0)
    p.add_argument("--wrap", type=int, default=1)
    p.add_argument("--margin", type=float, default=-1.0, help="no-wrap start margin in px (-1: radius + reach)")
    p.add_argument("--pos", choices=["sincos", "periodic"], default="sincos")
    p.add_argument("--pos-scale", type=float, default=1.0)
    p.add_argument("--width", type=int, default=48)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--n-probe", type=int, default=3072)
    p.add_argument("--test-fraction", type=float, default=1 / 3)
    p.add_argument("--probe-steps", type=int, default=200)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--wd", type=float, default=0.04)
    p.add_argument("--evals", type=int, default=4)
    a = p.parse_args()
    t0 = time.perf_counter()
    out = floor(a) if a.stage == "floor" else ceiling(a)
    out = {"stage": a.stage, **vars(a)} | {k: (round(v, 1) if isinstance(v, float) else v) for k, v in out.items()}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
