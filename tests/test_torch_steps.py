"""The optional PyTorch comparator (benchmarks/torch_steps.py): skipped cleanly without PyTorch, and,
where PyTorch is installed, the same loss and gradients as the book's MLX steps on the same weights."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)
import torch_steps  # noqa: E402


def _hide_torch(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))


def test_without_torch_the_comparator_says_how_to_get_it(monkeypatch):
    _hide_torch(monkeypatch)
    assert not torch_steps.available()
    with pytest.raises(ImportError, match=r"pip install -e '\.\[bench\]'"):
        torch_steps.build("ijepa")


def test_bench_steps_skips_the_torch_rows_with_a_message_when_torch_is_absent(monkeypatch, capsys):
    import bench_steps

    _hide_torch(monkeypatch)
    args = bench_steps.argparse.Namespace(before=None, blas=False, torch=True, torch_compile=False)
    assert list(bench_steps.configurations(args)) == ["after"]
    assert "PyTorch is not installed" in capsys.readouterr().err


def test_the_book_never_imports_torch():
    code = ("import sys, jepabook.ijepa.experiment, jepabook.lejepa.experiment, jepabook.core.training; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_unknown_chapter_is_refused():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="ijepa"):
        torch_steps.build("vjepa")


def _grads_close(torch_model, mlx_grads, rtol):
    from mlx.utils import tree_flatten

    ours = {n: p.grad for n, p in torch_model.named_parameters() if p.requires_grad}
    theirs = dict(tree_flatten(mlx_grads))
    for name, g in ours.items():
        ref = np.array(theirs[name])
        scale = np.abs(ref).max() + 1e-12
        assert np.abs(g.numpy() - ref).max() <= rtol * scale, name


def test_ijepa_step_computes_the_chapters_loss_and_gradients():
    torch = pytest.importorskip("torch")
    import mlx.core as mx
    import mlx.nn as nn

    from jepabook.ijepa.experiment import ARMS, IJEPA, PROFILES, ijepa_loss, sample_masks

    c = PROFILES["ci"]
    import bench_steps

    ours = bench_steps.ijepa_model(IJEPA, c, mx.random.key(3))
    m = sample_masks(ARMS["multiblock"], np.random.default_rng(1), 4, c)
    patches = np.random.default_rng(2).normal(size=(4, c.grid[0] * c.grid[1], c.patch**2)).astype(np.float32)
    (loss, _), grads = nn.value_and_grad(ours, lambda mdl, *b: ijepa_loss(mdl, *b, pixels=False))(
        ours, mx.array(patches), mx.array(m.context), mx.array(m.targets), mx.array(0.99))

    theirs = torch_steps.ijepa_model(c)
    torch_steps.load_from_mlx(theirs, ours)
    t_loss = torch_steps.ijepa_loss(theirs, torch.from_numpy(patches), torch.from_numpy(m.context.astype(np.int64)),
                                    torch.from_numpy(m.targets.astype(np.int64)))
    t_loss.backward()
    assert abs(t_loss.item() - loss.item()) <= 1e-5 * abs(loss.item())
    _grads_close(theirs, grads, 1e-4)


def test_lejepa_step_computes_the_chapters_loss_and_gradients():
    torch = pytest.importorskip("torch")
    import mlx.core as mx
    import mlx.nn as nn

    from jepabook.blocks.sigreg import random_directions
    from jepabook.lejepa.experiment import PROFILES
    from jepabook.lejepa.learner import encoder, lejepa_loss

    c = PROFILES["full"]
    learner = c.learner
    ours = encoder(learner, mx.random.key(5))
    rng = np.random.default_rng(6)
    x, x_next = (rng.normal(size=(learner.batch, 2)).astype(np.float32) for _ in range(2))
    key = mx.random.key(7)
    (loss, parts), grads = nn.value_and_grad(ours, lejepa_loss(c.lam, learner.num_slices, fast_trig=learner.fast_trig))(
        ours, mx.array(x), mx.array(x_next), key)

    theirs = torch_steps.lejepa_model(learner)
    torch_steps.load_from_mlx(theirs, ours)
    directions = torch.from_numpy(np.array(random_directions(key, 2, learner.num_slices)))
    t_loss, cov_trace = torch_steps.lejepa_loss(theirs, torch.from_numpy(x), torch.from_numpy(x_next), directions, c.lam)
    t_loss.backward()
    assert abs(t_loss.item() - loss.item()) <= 1e-5 * abs(loss.item())
    assert abs(cov_trace.item() - parts["cov_trace"].item()) <= 1e-5 * abs(parts["cov_trace"].item())
    _grads_close(theirs, grads, 1e-4)


def test_load_from_mlx_refuses_a_different_model():
    pytest.importorskip("torch")
    import mlx.core as mx

    from jepabook.lejepa.experiment import PROFILES
    from jepabook.lejepa.learner import Learner, encoder

    ours = encoder(Learner(hidden=8, depth=3), mx.random.key(0))
    with pytest.raises(ValueError, match="parameter names differ"):
        torch_steps.load_from_mlx(torch_steps.lejepa_model(PROFILES["full"].learner), ours)


@pytest.mark.parametrize("chapter", torch_steps.CHAPTERS)
def test_a_torch_step_runs_on_one_thread(chapter):
    torch = pytest.importorskip("torch")
    step, desc = torch_steps.build(chapter)
    assert "eager" in desc and torch.get_num_threads() == 1
    step()
    step()
