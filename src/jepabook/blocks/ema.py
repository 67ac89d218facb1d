"""Exponential moving average (EMA) of parameters: the slow target encoder of I-JEPA and V-JEPA.

Worked example in Chapter 1 (JEPA basics); the target encoders of Chapters 2 and 3 use
:func:`ema_update`.
"""

from __future__ import annotations

import math

import numpy as np
from mlx.utils import tree_map

__all__ = ["ema_update", "ema_time_constant", "ema_step_response", "linear_momentum"]


def _check_tau(tau: float) -> None:
    if not (0.0 <= tau < 1.0):
        raise ValueError(f"tau (EMA momentum) must be in [0, 1); got {tau!r}")


def ema_update(target, online, tau: float):
    """``tau·target + (1 − tau)·online`` leaf by leaf over two parameter trees of the same shape.

    ``tau`` is a number (checked to lie in [0, 1]) or a scalar ``mx.array``, as a compiled step passes
    it so that a changing momentum does not retrace the step (not checked: it is not known while tracing).
    """
    if isinstance(tau, (int, float)) and not (0.0 <= tau <= 1.0):
        raise ValueError(f"tau (EMA momentum) must be in [0, 1]; got {tau!r}")
    return tree_map(lambda t, o: tau * t + (1.0 - tau) * o, target, online)


def ema_time_constant(tau: float) -> float:
    """Steps for the target to cover 1 − 1/e ≈ 63 % of a gap: −1 / ln(tau) (≈ 1 / (1 − tau))."""
    _check_tau(tau)
    return 0.0 if tau == 0 else -1.0 / math.log(tau)


def ema_step_response(tau: float, steps: int) -> np.ndarray:
    """Target value after each of ``steps`` updates when the online weight jumps from 0 to 1 at step 0.

    Computed by running the update itself, ``target ← tau·target + (1 − tau)·1``.
    """
    _check_tau(tau)
    out = np.empty(steps)
    target = 0.0
    for i in range(steps):
        target = tau * target + (1.0 - tau) * 1.0
        out[i] = target
    return out


def linear_momentum(start: float, end: float, step: int, total: int) -> float:
    """I-JEPA's momentum schedule: linear from ``start`` to ``end`` over ``total`` steps."""
    if total < 1:
        raise ValueError(f"total must be a positive integer; got {total!r}")
    frac = min(max(step / total, 0.0), 1.0)
    return start + (end - start) * frac
