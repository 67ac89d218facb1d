"""One training loop for every chapter: a compiled step, a learning-rate schedule, a divergence guard.

Each chapter supplies a model (an ``nn.Module`` holding every trained part), a loss and a batch
sampler; nothing else about training is written twice.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim

__all__ = ["NonFiniteLossError", "TrainLog", "constant_then_cosine", "fit", "make_step", "warmup_then_cosine"]


class NonFiniteLossError(FloatingPointError):
    """Raised when the training loss stops being a finite number."""


@dataclass
class TrainLog:
    """Losses recorded every ``log_every`` steps: ``step[i]`` and each named loss part ``parts[name][i]``."""

    step: list[int] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)

    def record(self, step: int, values: dict[str, float]) -> None:
        self.step.append(step)
        for name, value in values.items():
            self.parts.setdefault(name, []).append(value)


def constant_then_cosine(lr: float, steps: int, constant_fraction: float = 0.5) -> Callable:
    """Learning rate held at ``lr`` for the first ``constant_fraction`` of ``steps``, then cosine to 0."""
    if not (0.0 <= constant_fraction <= 1.0):
        raise ValueError(f"constant_fraction must be in [0, 1], got {constant_fraction!r}")
    hold = int(round(constant_fraction * steps))
    decay = max(steps - hold, 1)

    def schedule(step):
        progress = mx.clip((mx.array(step, dtype=mx.float32) - hold) / decay, 0.0, 1.0)
        return lr * 0.5 * (1.0 + mx.cos(math.pi * progress))

    return schedule


def warmup_then_cosine(lr: float, steps: int, warmup: int) -> Callable:
    """Learning rate rising linearly from ``lr / warmup`` to ``lr`` over the first ``warmup`` steps, then
    cosine to 0 at ``steps`` (the shape of I-JEPA's released schedule, without its floor)."""
    if not (isinstance(warmup, int) and 0 <= warmup < steps):
        raise ValueError(f"warmup must be an integer in [0, steps={steps}); got {warmup!r}")

    def schedule(step):
        step = mx.array(step, dtype=mx.float32)
        rise = mx.minimum((step + 1) / max(warmup, 1), 1.0)
        progress = mx.clip((step - warmup) / max(steps - warmup, 1), 0.0, 1.0)
        return lr * mx.where(step < warmup, rise, 0.5 * (1.0 + mx.cos(math.pi * progress)))

    return schedule


def make_step(model: nn.Module, loss_fn: Callable, optimizer: optim.Optimizer, compile: bool = True,
              after_update: Callable[..., None] | None = None) -> tuple[Callable, list]:
    """The update :func:`fit` runs: ``step(*inputs) -> (loss, parts)`` and the ``state`` to evaluate.

    One gradient step of ``loss_fn`` through ``optimizer``, then ``after_update``; compiled with the
    model's and the optimizer's state as implicit inputs and outputs unless ``compile`` is False.
    ``benchmarks/bench_steps.py`` times exactly this.
    """
    state = [model.state, optimizer.state]
    grad_fn = nn.value_and_grad(model, loss_fn)

    def step(*inputs):
        (loss, parts), grads = grad_fn(model, *inputs)
        optimizer.update(model, grads)
        if after_update is not None:
            after_update(model, *inputs)
        return loss, parts

    if compile:
        step = mx.compile(step, inputs=state, outputs=state)
    return step, state


def fit(
    model: nn.Module,
    loss_fn: Callable[..., tuple[mx.array, dict[str, mx.array]]],
    batch: Callable[[int], Sequence[mx.array]],
    optimizer: optim.Optimizer,
    steps: int,
    log_every: int = 50,
    progress: bool = False,
    hint: str = "",
    after_update: Callable[..., None] | None = None,
    compile: bool = True,
) -> TrainLog:
    """Train ``model`` in place for ``steps`` steps of a compiled update.

    Args:
        model: every trained parameter lives here (wrap several networks in one module).
        loss_fn: ``loss_fn(model, *batch) -> (loss, parts)``, ``parts`` a dict of named scalars to log.
        batch: ``batch(step)`` returns the step's inputs (arrays, PRNG keys included).
        optimizer: an MLX optimizer; its state is compiled with the step.
        steps: number of updates.
        log_every: how often losses are read back (each read synchronises the device).
        progress: show a tqdm bar.
        hint: appended to the divergence error, e.g. which setting to lower.
        after_update: ``after_update(model, *inputs)`` runs inside the step after the optimizer,
            e.g. an EMA target update (Chapter 2); it may change frozen parameters of ``model``.
        compile: compile the step; pass False when input shapes change from step to step (each
            new shape would be traced again).

    Raises:
        NonFiniteLossError: when a logged loss is NaN or infinite.
    """
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not (isinstance(log_every, int) and log_every >= 1):
        raise ValueError(f"log_every must be a positive integer, got {log_every!r}")
    step, state = make_step(model, loss_fn, optimizer, compile=compile, after_update=after_update)
    log = TrainLog()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, leave=False, file=sys.stderr)
    for i in range(steps):
        loss, parts = step(*batch(i))
        mx.eval(state)
        last = i == steps - 1
        if i % log_every == 0 or last:
            value = loss.item()
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"training diverged: the loss is {value} at step {i} of {steps}; "
                    f"a finite loss is required. {hint}".strip()
                )
            log.record(i, {"loss": value, **{k: v.item() for k, v in parts.items()}})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return log
