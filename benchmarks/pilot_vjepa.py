"""Pilot for Chapter 3 (issue 28): is there a fair V-JEPA toy at ci-like size, and where does the recipe learn?

    PYTHONPATH=src python benchmarks/pilot_vjepa.py floor   [--seed 1000] [--tubelet 1,4,4] ...
    PYTHONPATH=src python benchmarks/pilot_vjepa.py ceiling [--seed 1000] [--steps 300] [--lr 1e-3]
    PYTHONPATH=src python benchmarks/pilot_vjepa.py recipe  [--seed 1000] --power 1 --lr 1e-3 --steps 300 --ema-sum 3
    python benchmarks/pilot_vjepa.py table results/pilots/vjepa-tubelets.jsonl   # the record's tables

Each stage prints one JSON line (append them to a record under ``results/pilots/``):

- ``floor``: the untrained encoder's average-pool and attentive probes on its frozen tokens, and the
  single-frame check (the attentive probe on clips whose every frame is the middle frame);
- ``ceiling``: the same ViT plus an attentive head trained end to end *from scratch* on the probe's
  labelled training clips, ``--steps`` steps at ``--lr`` (the recipe's budget);
- ``recipe``: the V-JEPA recipe (multi-block tubes, feature targets, L1 or L2) at one learning rate,
  step count and EMA total movement Σ(1 − τ) (τ₀ = 1 − 2·Σ/steps, Chapter 2's setting), then both
  probes on its target and context encoders.

Every stage uses the chapter's code (:mod:`jepabook.vjepa.experiment`) with the config overrides given;
the world is the chapter's (``make_clips``) unless ``--world turning`` (:func:`turning_clips`, floor
and ceiling only), the tokeniser is ``--tubelet``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from jepabook.blocks.probes import linear_accuracy, train_test_split
from jepabook.blocks.vit import ViT
from jepabook.core import streams
from jepabook.core.training import constant_then_cosine, fit
from jepabook.vjepa import experiment as ex
from jepabook.vjepa.attentive import AttentiveProbe, ProbeConfig, attentive_accuracy, predict
from jepabook.vjepa.model import tubelets
from jepabook.vjepa.videos import SHAPES, Clips, _render


def config_from(args) -> ex.VJEPAConfig:
    tubelet = tuple(int(v) for v in args.tubelet.split(","))
    steps = args.steps
    return replace(ex.PROFILES["full"], tubelet=tubelet, frames=args.frames, n_pretrain=args.n_pretrain,
                   n_probe=args.n_probe, test_fraction=args.test_fraction, steps=steps, lr=args.lr, l2_lr=args.lr,
                   world="gratings",  # this pilot's world: the chapter's first (see jepabook.vjepa.videos)
                   batch=args.batch, ema_start=1.0 - 2.0 * args.ema_sum / steps, speed=args.speed,
                   size=args.size, object_area=args.object_area, noise=args.noise, depth=args.depth,
                   probe=ProbeConfig(steps=args.probe_steps, batch=128), arms=("untrained",))


def turning_clips(n: int, seed: int, config, stream: str) -> Clips:
    """Clips whose object turns 90° left (label 0) or right (label 1) half-way, its first heading uniform
    on the circle: each half's velocity alone, and the *unordered* pair of them, carry no label (the pair
    of a left turn from heading a is the pair of a right turn from a + 90°), only their order does.
    Background, shapes, contrast and noise are drawn as :func:`make_clips` draws them."""
    rng = streams.rng(seed, "videos", "turning", stream)
    size, frames = config.size, config.frames
    labels = rng.permutation(np.arange(n) % 2)
    coords = np.arange(size, dtype=np.float64)
    yy, xx = coords[:, None], coords[None, :]
    k, theta = rng.uniform(0.15, 0.6, (n, 3, 1, 1)), rng.uniform(0, np.pi, (n, 3, 1, 1))
    phase, amp = rng.uniform(0, 2 * np.pi, (n, 3, 1, 1)), rng.uniform(0.1, 0.25, (n, 3, 1, 1))
    background = (amp * np.sin(k * (np.cos(theta) * xx + np.sin(theta) * yy) + phase)).sum(1)
    shape = rng.integers(0, len(SHAPES), n)
    radius = np.sqrt(config.object_area * size * size / np.pi) * rng.uniform(0.8, 1.2, n)
    angle = rng.uniform(0, np.pi / 2, n)
    contrast = rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 1.0, n)
    heading = rng.uniform(0, 2 * np.pi, n)
    turned = heading + np.where(labels == 0, np.pi / 2, -np.pi / 2)
    v1 = config.speed * np.stack([-np.sin(heading), np.cos(heading)], 1)
    v2 = config.speed * np.stack([-np.sin(turned), np.cos(turned)], 1)
    half = frames // 2
    steps = np.concatenate([np.repeat(v1[:, None], half, 1), np.repeat(v2[:, None], frames - half, 1)], 1)
    steps[:, half] = (v1 + v2) / 2  # the turn itself: between the last frame of one heading and the first of the next
    steps[:, 0] = 0.0
    centre = rng.uniform(0, size, (n, 1, 2)) + np.cumsum(steps, 1)
    mask = _render(centre, shape, radius, angle, yy, xx, size)
    video = background[:, None] + contrast[:, None, None, None] * mask + config.noise * rng.standard_normal(mask.shape)
    return Clips(video[..., None].astype(np.float32), labels.astype(np.int64), mask)


WORLDS = ("direction", "turning")


def probe_set(config, seed, world="direction"):
    probe = (ex._clips(config, seed, False, "probe", config.n_probe) if world == "direction"
             else turning_clips(config.n_probe, seed, config, "probe"))
    train, test = train_test_split(len(probe.labels), config.test_fraction, seed)
    return probe, train, test


def floor(config, seed, world):
    probe, train, test = probe_set(config, seed, world)
    encoder = ViT(config.patch_dim, config.grid, config.width, config.depth, config.heads, config.mlp_ratio,
                  streams.key(seed, "init"))
    out = {}
    for name, video in (("clip", probe.video),
                        ("frame", np.repeat(probe.video[:, config.frames // 2][:, None], config.frames, axis=1))):
        tokens = ex._tokens(encoder, tubelets(mx.array(video), config.tubelet))
        out[f"pool_{name}"] = 100 * linear_accuracy(tokens.mean(1), probe.labels, train, test)
        out[f"attn_{name}"] = 100 * attentive_accuracy(tokens, probe.labels, train, test, config.probe, seed, name)
    return out


class Classifier(nn.Module):
    def __init__(self, encoder, head):
        super().__init__()
        self.encoder, self.head = encoder, head

    def __call__(self, x):
        return self.head(self.encoder(x))


def ceiling(config, seed, world):
    probe, train, test = probe_set(config, seed, world)
    patches = tubelets(mx.array(probe.video), config.tubelet)
    encoder = ViT(config.patch_dim, config.grid, config.width, config.depth, config.heads, config.mlp_ratio,
                  streams.key(seed, "supervised", "init"))
    head = AttentiveProbe(config.width, int(probe.labels.max()) + 1, config.probe.heads, config.probe.mlp_ratio,
                          streams.key(seed, "supervised", "head"))
    model = Classifier(encoder, head)
    rng = streams.rng(seed, "supervised", "batches")
    ys = mx.array(probe.labels.astype(np.int32))

    def batch(i):
        rows = mx.array(rng.choice(train, config.batch, replace=False))
        return patches[rows], ys[rows]

    def loss(m, x, y):
        return nn.losses.cross_entropy(m(x), y, reduction="mean"), {}

    opt = optim.AdamW(learning_rate=constant_then_cosine(config.lr, config.steps, 0.5), weight_decay=config.weight_decay)
    log = fit(model, loss, batch, opt, config.steps, log_every=max(config.steps // 10, 1))
    acc = 100 * float((predict(model, patches[mx.array(test)], 256) == probe.labels[test]).mean())
    tr = 100 * float((predict(model, patches[mx.array(train)], 256) == probe.labels[train]).mean())
    return {"supervised": acc, "supervised_train": tr, "final_loss": float(log.parts["loss"][-1])}


def recipe(config, seed, power):
    # run_arm looks its arm up by name; a name of its own skips the l1 arm's motionless-clip probes
    ex.ARMS["pilot"] = ex.Arm(power=power)
    r = ex.run_arm(config, "pilot", seed)
    return {k: v for k, v in r.metrics.items()} | {"train_s_per_step": r.train_seconds / config.steps,
                                                   "loss_first": float(np.mean(r.loss[:10])),
                                                   "loss_last": float(np.mean(r.loss[-10:]))}


def _cell(v) -> str:
    """Accuracies to 0.1 point, small settings (rates, fractions, losses) to 3 significant digits."""
    if isinstance(v, float):
        return f"{v:.1f}" if abs(v) >= 10 else f"{v:.3g}"
    return str(v)


def table(path: str) -> str:
    """Markdown tables of a record's JSON lines: one per stage, the world's settings and the accuracies (%)."""
    rows = [{"world": "direction"} | json.loads(line) for line in open(path) if line.strip()]
    world = ["world", "tubelet", "size", "speed", "object_area", "noise", "n_probe", "test_fraction"]
    columns = {"floor": world + ["attn_clip", "pool_clip", "attn_frame", "pool_frame"],
               "ceiling": world + ["steps", "batch", "lr", "supervised", "supervised_train", "final_loss"],
               "recipe": world + ["n_pretrain", "power", "lr", "steps", "ema_sum", "attn", "pool", "attn_ctx", "rank",
                                  "loss_first", "loss_last", "spikes", "train_s_per_step"]}
    out = []
    for stage, cols in columns.items():
        rs = [r for r in rows if r["stage"] == stage]
        if not rs:
            continue
        out += [f"\n{stage} (seed {rs[0]['seed']})\n", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        out += ["| " + " | ".join(_cell(r.get(c, "")) for c in cols) + " |" for r in rs]
    return "\n".join(out)


def main():
    import sys

    if sys.argv[1:2] == ["table"]:
        print(table(sys.argv[2]))
        return
    p = argparse.ArgumentParser()
    p.add_argument("stage", choices=["floor", "ceiling", "recipe"])
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--tubelet", default="1,4,4")
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--speed", type=float, default=1.5)
    p.add_argument("--size", type=int, default=24)
    p.add_argument("--object-area", type=float, default=0.12)
    p.add_argument("--noise", type=float, default=0.05)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--world", choices=WORLDS, default="direction")
    p.add_argument("--n-pretrain", type=int, default=2048)
    p.add_argument("--n-probe", type=int, default=1536)
    p.add_argument("--test-fraction", type=float, default=1 / 3)
    p.add_argument("--probe-steps", type=int, default=200)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--ema-sum", type=float, default=3.0)
    p.add_argument("--power", type=float, default=1.0)
    args = p.parse_args()
    config = config_from(args)
    if args.world != "direction" and args.stage == "recipe":
        raise SystemExit("--world turning: floor and ceiling only (the recipe stage runs the chapter's clips)")
    t0 = time.perf_counter()
    if args.stage == "floor":
        out = floor(config, args.seed, args.world)
    elif args.stage == "ceiling":
        out = ceiling(config, args.seed, args.world)
    else:
        out = recipe(config, args.seed, args.power)
    out = {"stage": args.stage, **{k: v for k, v in vars(args).items() if k != "stage"},
           **{k: round(float(v), 3) for k, v in out.items()}, "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
