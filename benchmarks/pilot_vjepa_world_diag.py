"""Pilot 2b for Chapter 3 (issue 28): quick from-scratch classifiers in the worlds of ``pilot_vjepa_world.py``.

    PYTHONPATH=src:benchmarks python benchmarks/pilot_vjepa_world_diag.py '{"label":"direction","wrap":1,"steps":400,"batch":128}' ...

Each JSON argument is one run: a ViT of the chapter's size (width 48, depth 2) plus a head (``attn``:
the attentive probe's architecture; ``mean``: mean-pool then linear) trained from scratch with AdamW
(weight decay 0.04) on the labelled clips of ``pilot_vjepa_world.clips`` (seed 1000 unless
``seed``; 2,048 train, 1,024 held out), ``steps`` steps of ``batch`` clips at ``lr`` (constant, or a
linear warm-up over ``warmup`` steps then cosine). ``label``: ``direction`` (8 classes) or
``quadrant`` (where the object is in frame 0: a single-frame task, a check that the training works).
Other keys override the world (``wrap``, ``margin``, ``background``, ``noise``, ``tubelet``, ``pos``).
Prints one JSON line per run: held-out accuracy and the loss every 50 steps.
"""
import sys, json
import numpy as np, mlx.core as mx, mlx.nn as nn, mlx.optimizers as optim
sys.path.insert(0, __import__("os").path.dirname(__file__))
import pilot_vjepa_world as pw
from jepabook.core import streams
from jepabook.core.training import warmup_then_cosine, fit
from jepabook.vjepa.attentive import AttentiveProbe, predict
from jepabook.vjepa.model import tubelets

class Mean(nn.Module):
    def __init__(s, w): super().__init__(); s.l = nn.Linear(w, 8)
    def __call__(s, x): return s.l(x.mean(1))

def run(label, head="attn", steps=300, lr=1e-3, batch=32, warmup=0, **kw):
    p = pw.argparse.ArgumentParser()
    a = pw.argparse.Namespace(seed=1000, tubelet="1,4,4", frames=4, size=16, speed=2.0, object_area=0.12, noise=0.0,
        background=0.0, wrap=0, margin=-1.0, pos="sincos", pos_scale=1.0, width=48, depth=2, n_probe=3072, test_fraction=1/3)
    for k, v in kw.items(): setattr(a, k, v)
    v, y, mask, train, test = pw.data(a)
    if label == "quadrant":  # where the object is in frame 0: a single-frame task
        cy = (mask[:, 0].any(2).argmax(1) >= a.size // 2); cx = (mask[:, 0].any(1).argmax(1) >= a.size // 2)
        y = (2 * cy + cx).astype(np.int64)
    enc, tub = pw.encoder(a, streams.key(a.seed, "x"))
    patches = tubelets(mx.array(v), tub)
    h = AttentiveProbe(a.width, 8, 3, 2.0, streams.key(1, "h")) if head == "attn" else Mean(a.width)
    m = pw.Classifier(enc, h)
    rng = np.random.default_rng(0); ys = mx.array(y.astype(np.int32))
    bsz = batch
    def batch(i):
        r = mx.array(rng.choice(train, bsz, replace=False)); return patches[r], ys[r]
    def loss(m, x, yb): return nn.losses.cross_entropy(m(x), yb, reduction="mean"), {}
    opt = optim.AdamW(learning_rate=warmup_then_cosine(lr, steps, warmup) if warmup else lr, weight_decay=0.04)
    log = fit(m, loss, batch, opt, steps, log_every=50)
    acc = 100 * float((predict(m, patches[mx.array(test)], 256) == y[test]).mean())
    print(json.dumps(dict(label=label, head=head, lr=lr, steps=steps, batch=bsz, warmup=warmup, **kw, acc=round(acc,1), loss=[round(x,3) for x in log.parts["loss"]])), flush=True)

for spec in sys.argv[1:]:
    run(**json.loads(spec))
