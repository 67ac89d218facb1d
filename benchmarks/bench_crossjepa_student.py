"""Chapter 4: CPU seconds per training step of the full recipe at several student widths (depth 4), to choose
the student size: python benchmarks/bench_crossjepa_student.py"""
import time
from dataclasses import replace
from jepabook.crossjepa.experiment import PROFILES, Student, student_loss, encoder_parameters
from jepabook.core.training import fit
import mlx.core as mx, mlx.optimizers as optim
c0 = PROFILES["full"]
for w, d, g, k in [(64,4,16,24),(96,4,16,24),(128,4,16,24),(192,4,16,24)]:
    c = replace(c0, width=w, depth=d)
    model = Student(c, 12, 256, mx.random.key(0))
    inputs = (mx.random.normal((c.batch, g, k, 3)), mx.random.normal((c.batch, g, 3)), None,
              mx.random.normal((c.batch, c.n_views, 12)), mx.random.normal((c.batch, c.n_views, 256)))
    opt = optim.AdamW(learning_rate=1e-3)
    fit(model, student_loss, lambda i: inputs, opt, 3)
    t=time.process_time(); fit(model, student_loss, lambda i: inputs, opt, 20, log_every=20); dt=(time.process_time()-t)/20
    print(w, d, encoder_parameters({"width":w,"depth":d,"heads":4,"mlp_ratio":2.0}), f"{dt*1000:.1f} ms", flush=True)
