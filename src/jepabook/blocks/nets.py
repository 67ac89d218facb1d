"""Small networks shared by the chapters, initialised from explicit keys (no global RNG state)."""

from __future__ import annotations

import math
from collections.abc import Callable

import mlx.core as mx
import mlx.nn as nn

__all__ = ["MLP", "erf_rational", "gelu", "init_linear", "init_linears"]


# erf(x) ≈ x·P(x²)/Q(x²) on [−4, 4] (outside, erf is ±1 in float32): the float32 rational
# approximation that Eigen and XLA use for erf. Absolute error ≤ 5e-7 against float64 erf.
_ERF_P = (-1.60960333262415e-02, -2.95459980854025e-03, -7.34990630326855e-04, -5.69250639462346e-05,
          -2.10102402082508e-06, 2.77068142495902e-08, -2.72614225801306e-10)
_ERF_Q = (-1.42647390514189e-02, -7.37332916720468e-03, -1.68282697438203e-03, -2.13374055278905e-04,
          -1.45660718464996e-05)


def _horner(coefficients: tuple[float, ...], x: mx.array) -> mx.array:
    out = coefficients[-1]
    for c in coefficients[-2::-1]:
        out = out * x + c
    return out


def erf_rational(x: mx.array) -> mx.array:
    """erf from multiplications, additions and one division, which ``mx.compile`` vectorises.

    MLX's CPU build computes ``mx.erf`` one element at a time; inside a compiled training step this
    rational form is about 3× cheaper forward and backward (gradients flow through the polynomials).
    """
    x = mx.clip(x, -4.0, 4.0)
    x2 = x * x
    return x * _horner(_ERF_P, x2) / _horner(_ERF_Q, x2)


def gelu(x: mx.array) -> mx.array:
    """The exact GELU, ``x·Φ(x) = x·(1 + erf(x/√2))/2``, with :func:`erf_rational` for erf.

    Within 2e-6 of ``mlx.nn.gelu`` (and its gradient within 2e-5) in float32; used where GELU sits in
    a hot loop (Chapter 5's encoder, where ``nn.gelu`` took about half of a training step).
    """
    return 0.5 * x * (1.0 + erf_rational(x * 0.7071067811865476))


def init_linear(layer: nn.Linear, key: mx.array) -> None:
    """Re-draw a Linear layer's parameters with PyTorch's default law, from ``key``."""
    out_dim, in_dim = layer.weight.shape
    bound = 1.0 / math.sqrt(in_dim)
    kw, kb = mx.random.split(key)
    layer.weight = mx.random.uniform(-bound, bound, (out_dim, in_dim), key=kw)
    if "bias" in layer:
        layer.bias = mx.random.uniform(-bound, bound, (out_dim,), key=kb)


def init_linears(module: nn.Module, key: mx.array) -> None:
    """Re-draw every Linear in ``module`` from ``key`` (explicit-key init; no global RNG)."""
    linears = [m for _, m in module.named_modules() if isinstance(m, nn.Linear)]
    for layer, k in zip(linears, mx.random.split(key, max(len(linears), 1))):
        init_linear(layer, k)


class MLP(nn.Module):
    """Fully connected network ``dims[0] → … → dims[-1]``, activation between layers, none at the end.

    Args:
        dims: layer widths, at least two.
        key: PRNG key for the initialisation.
        activation: elementwise nonlinearity. ReLU by default: on MLX's CPU build ``nn.gelu`` costs
            ~100× a ReLU per element (:func:`gelu` about 30×), which matters in the small, fast chapters.
    """

    def __init__(self, dims: list[int], key: mx.array, activation: Callable = nn.relu):
        super().__init__()
        if len(dims) < 2 or any((not isinstance(d, int)) or d < 1 for d in dims):
            raise ValueError(f"dims must be >= 2 positive integers, got {dims!r}")
        keys = mx.random.split(key, len(dims) - 1)
        self.layers = [nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])]
        for layer, k in zip(self.layers, keys):
            init_linear(layer, k)
        self.activation = activation

    def __call__(self, x: mx.array) -> mx.array:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)
