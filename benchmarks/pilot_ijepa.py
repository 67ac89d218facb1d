"""One-seed pilots for Chapter 2's redesign (issue 30): depth, a world where masking can show, target size.

Not part of the book: a record of what was measured before the design was fixed. Every part trains on
one seed (≥ 1000, never a published or verification seed) with the chapter's own pieces (ViT, predictor,
masks, loss, EMA, probe); a cosine schedule over the longest horizon, read at several points.

  depth   multi-block recipe and supervised ceiling (two widths) out to --steps, probe read at --reads
  world   shapes over a smooth, locally predictable field: random vs multi-block loss and probes,
          and a model-free check (a masked token's pixels from the mean of its visible neighbours)
  pixels  representation vs pixel targets over the field, at several levels of per-cell texture
  ceiling the supervised ceiling trained on 3,200 other labelled images (not the probe's 640), two widths,
          in today's world and over the field
  grid    realised context and target fractions of the target-scale arms on 8×8, 12×12, 16×16 grids
  design  the chapter's own arms (``run_arm``, the chapter's world and config at --steps) on one seed,
          with each arm's CPU seconds (process time: the shared box's wall clock measures the neighbours)

Usage: nice -n 10 python benchmarks/pilot_ijepa.py PART [--seed 1000] [--steps 2000] [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
from scipy.ndimage import gaussian_filter

from jepabook.blocks.masks import context_count, target_count
from jepabook.blocks.probes import effective_rank, linear_accuracy, train_test_split
from jepabook.blocks.vit import patchify
from jepabook.core import streams
from jepabook.core.training import fit, warmup_then_cosine
from jepabook.ijepa.experiment import (ARMS, IJEPA, Arm, IJEPAConfig, Supervised, _context_size, _features,
                                       ijepa_loss, sample_masks, supervised_loss, update_target)
from jepabook.ijepa.images import make_shapes


def field_world(n, seed, size=32, field=0.0, sigma=3.0, texture=0.0, patch=4):
    """Shapes (the label) + a smooth Gaussian random field of correlation length ~``sigma`` px (locally
    predictable detail) + per-cell texture (unpredictable detail); standardised over the set."""
    images, labels = make_shapes(n, seed, size, texture=texture, patch=patch)
    if field:
        noise = streams.rng(seed, "data", "field").standard_normal((n, size, size))
        smooth = np.stack([gaussian_filter(z, sigma, mode="wrap") for z in noise])
        smooth /= smooth.std()
        images = images[..., 0] + field * smooth
        images = ((images - images.mean()) / images.std())[..., None].astype(np.float32)
    return images, labels


def train(config, world, arm: Arm, seed, reads, width=None, depth=None, labelled_set=0):
    """Train ``arm`` for max(reads) steps (cosine over that horizon); probe at every read.

    ``labelled_set``: supervised only, train on that many *other* labelled images of the same world
    (drawn from seed 10⁶ + seed) instead of the probe's labelled images."""
    cfg = dataclasses.replace(config, steps=max(reads), warmup=min(config.warmup, max(reads) // 10),
                              width=width or config.width, depth=depth or config.depth)
    images, labels = field_world(cfg.n_images, seed, cfg.image_size, patch=cfg.patch, **world)
    patches = patchify(mx.array(images), (cfg.patch, cfg.patch))
    tr, te = train_test_split(len(labels), cfg.test_fraction, seed)
    supervised = arm.masking == "supervised"
    pixels = arm.targets == "pixels"
    model = (Supervised(cfg, int(labels.max()) + 1, streams.key(seed, "init")) if supervised
             else IJEPA(cfg, pixels, streams.key(seed, "init")))
    out = {"reads": [], "acc": [], "rank": [], "ctx_acc": [], "loss": [], "seconds": []}

    def probe(step, loss):
        enc = model.encoder if supervised or arm.masking == "none" else model.target
        f = _features(enc, patches)
        out["reads"].append(step)
        out["acc"].append(round(100 * linear_accuracy(f, labels, tr, te), 2))
        out["rank"].append(round(effective_rank(f), 2))
        if not supervised and arm.masking != "none":
            out["ctx_acc"].append(round(100 * linear_accuracy(_features(model.encoder, patches), labels, tr, te), 2))
        out["loss"].append(loss)
    if arm.masking == "none":
        probe(0, None)
        return out
    mask_rng, batch_rng = streams.rng(seed, "masks"), streams.rng(seed, "batches")
    opt = optim.AdamW(learning_rate=warmup_then_cosine(cfg.lr, cfg.steps, cfg.warmup), weight_decay=cfg.weight_decay)
    tau0 = 1.0 - 2.0 * cfg.ema_sum / cfg.steps
    k = _context_size(arm, cfg)
    label_array, sup_patches, sup_pool = mx.array(labels), patches, tr
    if supervised and labelled_set:
        extra, extra_labels = field_world(labelled_set, 10**6 + seed, cfg.image_size, patch=cfg.patch, **world)
        sup_patches, label_array = patchify(mx.array(extra), (cfg.patch, cfg.patch)), mx.array(extra_labels)
        sup_pool = np.arange(labelled_set)
    done, t0 = 0, time.perf_counter()
    for stop in sorted(reads):
        n = stop - done
        if supervised:
            def batch(i):
                rows = mx.array(np.sort(batch_rng.choice(sup_pool, cfg.batch, replace=False)))
                return sup_patches[rows], label_array[rows]
            log = fit(model, supervised_loss, batch, opt, n, log_every=10)
        else:
            def batch(i, lo=done):
                m = sample_masks(arm, mask_rng, cfg.batch, cfg, k)
                rows = mx.array(batch_rng.choice(len(labels), cfg.batch, replace=False))
                tau = tau0 + (1.0 - tau0) * (lo + i) / cfg.steps
                return patches[rows], mx.array(m.context), mx.array(m.targets), mx.array(tau, dtype=mx.float32)
            log = fit(model, lambda mdl, *b: ijepa_loss(mdl, *b, pixels=pixels), batch, opt, n, log_every=10,
                      after_update=update_target)
        done = stop
        probe(stop, round(float(np.mean(log.parts["loss"][-5:])), 4))
        out["seconds"].append(round(time.perf_counter() - t0, 1))
        print(f"  {arm.masking}/{arm.targets} w{cfg.width}d{cfg.depth} step {stop}: acc {out['acc'][-1]} "
              f"rank {out['rank'][-1]} loss {out['loss'][-1]} ({out['seconds'][-1]} s)", file=sys.stderr, flush=True)
    return out


def interpolation_error(world, seed, config, arm: Arm, batches=20):
    """Model-free: mean squared error of predicting each target token's pixels by the mean of its visible
    4-neighbours (zeros when none is visible), relative to the pixels' variance."""
    images, _ = field_world(512, seed, config.image_size, patch=config.patch, **world)
    p = np.asarray(patchify(mx.array(images), (config.patch, config.patch)))
    rows, cols = config.grid
    rng = streams.rng(seed, "interp")
    k = _context_size(arm, config)
    err, var = 0.0, 0.0
    for _ in range(batches):
        m = sample_masks(arm, rng, config.batch, config, k)
        for b in range(config.batch):
            img = p[rng.integers(len(p))]
            visible = np.zeros(rows * cols, bool)
            visible[m.context[b]] = True
            for t in np.unique(np.asarray(m.targets[b]).ravel()):
                r, c = divmod(int(t), cols)
                nb = [rr * cols + cc for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                      if 0 <= rr < rows and 0 <= cc < cols and visible[rr * cols + cc]]
                guess = img[nb].mean(0) if nb else np.zeros_like(img[t])
                err += float(((img[t] - guess) ** 2).mean())
                var += float((img[t] ** 2).mean())
    return round(err / var, 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("part", choices=("depth", "world", "pixels", "grid", "ceiling", "design"))
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--reads", type=str, default="")
    ap.add_argument("--field", type=float, default=1.0)
    ap.add_argument("--sigma", type=float, default=3.0)
    ap.add_argument("--texture", type=str, default="0,0.4,0.8")
    ap.add_argument("--world-texture", type=float, default=0.0)
    ap.add_argument("--arms", type=str, default="untrained,random,multiblock,supervised")
    ap.add_argument("--out", type=str, default="")
    args = ap.parse_args()
    if args.seed < 1000:
        raise SystemExit(f"--seed must be ≥ 1000 (published and verification seeds are 0–9); got {args.seed}")
    config = IJEPAConfig()
    reads = ([int(r) for r in args.reads.split(",")] if args.reads else
             sorted({args.steps // 8, args.steps // 4, args.steps // 2, args.steps}))
    record = {"part": args.part, "seed": args.seed, "command": " ".join(sys.argv), "config": dataclasses.asdict(config)}
    t0 = time.perf_counter()
    if args.part == "depth":
        world = {"texture": config.texture}  # today's world
        record["world"] = world
        record["untrained"] = train(config, world, ARMS["untrained"], args.seed, reads)
        record["multiblock"] = train(config, world, ARMS["multiblock"], args.seed, reads)
        record["supervised_w32d2"] = train(config, world, ARMS["supervised"], args.seed, reads)
        record["supervised_w64d3"] = train(config, world, ARMS["supervised"], args.seed, reads, width=64, depth=3)
    elif args.part == "ceiling":
        worlds = {"texture": {"texture": config.texture},
                  "field": {"field": args.field, "sigma": args.sigma, "texture": 0.0}}
        for name, world in worlds.items():
            record[f"{name}_world"] = world
            for w, d in ((32, 2), (64, 3)):
                record[f"{name}_supervised_3200_w{w}d{d}"] = train(config, world, ARMS["supervised"], args.seed, reads,
                                                                  width=w, depth=d, labelled_set=3200)
    elif args.part == "world":
        world = {"field": args.field, "sigma": args.sigma, "texture": args.world_texture}
        record["world"] = world
        record["interpolation_error"] = {a: interpolation_error(world, args.seed, config, ARMS[a])
                                         for a in ("random", "multiblock", "block", "rasterized")}
        print(record["interpolation_error"], file=sys.stderr, flush=True)
        for a in args.arms.split(","):
            record[a] = train(config, world, ARMS[a], args.seed, reads)
    elif args.part == "pixels":
        for level in [float(t) for t in args.texture.split(",")]:
            world = {"field": args.field, "sigma": args.sigma, "texture": level}
            record[f"texture_{level}"] = {"representations": train(config, world, ARMS["multiblock"], args.seed, reads),
                                          "pixels": train(config, world, ARMS["pixels"], args.seed, reads)}
    elif args.part == "design":
        from jepabook.ijepa.experiment import run_arm

        cfg = dataclasses.replace(config, steps=args.steps, warmup=min(config.warmup, args.steps // 10))
        record["config"] = dataclasses.asdict(cfg)
        for a in args.arms.split(","):
            cpu = time.process_time()
            r = run_arm(cfg, a, args.seed)
            record[a] = {"metrics": {k: round(v, 4) for k, v in r.metrics.items()}, "curve": r.curve,
                         "cpu_seconds": round(time.process_time() - cpu, 1), "wall_seconds": round(r.seconds, 1)}
            print(a, record[a], file=sys.stderr, flush=True)
    else:
        scales = {"small (0.075, 0.2)": (0.075, 0.2), "paper (0.15, 0.2)": (0.15, 0.2), "large (0.2, 0.3)": (0.2, 0.3)}
        record["grid"] = {f"{g}x{g}": {name: {"target": round(target_count((g, g), s) / g**2, 3),
                                              "context": round(context_count((g, g), 4, s, (0.75, 1.5), (0.85, 1.0),
                                                                             config.context_quantile) / g**2, 3)}
                                       for name, s in scales.items()} for g in (8, 12, 16)}
    record["seconds"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(record, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
