"""Small networks shared by the chapters, initialised from explicit keys (no global RNG state)."""

from __future__ import annotations

import math
from collections.abc import Callable

import mlx.core as mx
import mlx.nn as nn

__all__ = ["MLP", "init_linear", "init_linears"]


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
        activation: elementwise nonlinearity. ReLU by default: on MLX's CPU build GELU costs ~100×
            a ReLU per element, which matters in the small, fast chapters.
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
