"""Chapter 2's training step compiled (fixed mask counts, as it runs now) against uncompiled (as the earlier
design had to run it, its mask sizes changing from batch to batch), side by side in one process.

    python benchmarks/bench_ijepa_compile.py

Both steps see the same inputs; each time is the fastest of 6 alternating rounds of 20 steps.
"""
import time, numpy as np, mlx.core as mx, mlx.optimizers as optim
from jepabook.ijepa.experiment import ARMS, IJEPA, PROFILES, ijepa_loss, sample_masks, update_target
from jepabook.core.training import make_step
c = PROFILES["full"]
steps = {}
for compiled in (True, False):
    model = IJEPA(c, False, mx.random.key(0))
    opt = optim.AdamW(learning_rate=c.lr, weight_decay=c.weight_decay)
    step, state = make_step(model, lambda mdl, *b: ijepa_loss(mdl, *b, pixels=False), opt, compile=compiled, after_update=update_target)
    m = sample_masks(ARMS["multiblock"], np.random.default_rng(0), c.batch, c)
    inputs = (mx.random.normal((c.batch, 64, 16), key=mx.random.key(1)), mx.array(m.context), mx.array(m.targets), mx.array(0.99))
    for _ in range(5):
        step(*inputs); mx.eval(state)
    steps[compiled] = (step, state, inputs)
best = {True: [], False: []}
for r in range(6):
    for compiled, (step, state, inputs) in steps.items():
        t = time.perf_counter()
        for _ in range(20):
            step(*inputs); mx.eval(state)
        best[compiled].append(1000 * (time.perf_counter() - t) / 20)
a, b = min(best[True]), min(best[False])
print(f"compiled {a:.1f} ms, uncompiled {b:.1f} ms, ratio {b / a:.2f}x (fastest of 6 alternating rounds of 20 steps)")
