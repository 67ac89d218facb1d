"""Small networks shared by the chapters, initialised from explicit keys (no global RNG state)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import mlx.core as mx
import mlx.nn as nn

__all__ = ["EXP_MAX_RELATIVE_ERROR", "MLP", "erf_rational", "fast_exp", "gelu", "init_linear", "init_linears",
           "softmax"]


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


# exp(x) = 2^k · exp(r), k = round(x / ln 2), r = x − k·ln 2 in [−ln2/2, ln2/2] with ln 2 split in two
# (Cody–Waite: k·_LN2_HI is exact in float32 for |k| < 2**9), exp(r) by Cephes' expf polynomial
# (1 + r + r²·P(r), P of degree 5), and 2^k built from its bits ((k + 127) << 23) instead of a call.
_LOG2E = 1.4426950408889634
_LN2_HI, _LN2_LO = 0.693359375, -2.12194440e-4
_EXP_P = (5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3, 1.9875691500e-4)
_EXP_LO, _EXP_HI = -87.0, 88.0  # inputs are clipped here: 2^k stays a normal float32 (k in [−126, 127])
# (v + _ROUND) − _ROUND rounds a float32 |v| < 2**22 to the nearest integer with two additions (mx.round
# is a scalar call in MLX's compiled CPU kernels); the same trick as blocks.sigreg.fast_cos_sin.
_ROUND = 12582912.0  # 1.5 · 2**23

#: :func:`fast_exp`'s largest relative error against float64 ``exp`` on [−87, 88] (measured 1.2e-7, ~1 ulp);
#: ``tests/test_blocks.py`` checks it on a dense grid. ``mx.exp`` itself is within 4e-6 of float64 there.
EXP_MAX_RELATIVE_ERROR = 2e-7


def _exp_forward(x: mx.array) -> mx.array:
    x = mx.clip(x, _EXP_LO, _EXP_HI)
    k = (x * _LOG2E + _ROUND) - _ROUND
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 + r + r * r * _horner(_EXP_P, r)
    two_k = ((k.astype(mx.int32) + 127) << 23).view(mx.float32)
    return p * two_k


@mx.custom_function
def fast_exp(x: mx.array) -> mx.array:
    """``exp(x)`` from multiplications, additions and integer bit operations, which ``mx.compile`` vectorises.

    MLX's CPU build computes ``mx.exp`` one element at a time (~15 ns per element); compiled, this form
    costs ~2 ns. Relative error ≤ :data:`EXP_MAX_RELATIVE_ERROR` against float64 ``exp`` for x in
    [−87, 88]; outside, x is clipped to that range (so ``fast_exp(−inf)`` is ~1.6e-38, not 0, and
    large x saturate near 1.7e38 instead of overflowing). Its gradient is its output (``d exp = exp``),
    not the polynomial's derivative, so forward and backward have the same accuracy (gradient zero
    outside the range, where the clip holds x). Reverse mode only: ``mx.jvp`` fails on the bit cast
    (MLX 0.32 does not apply a custom JVP), and nothing in the book uses forward mode.
    """
    return _exp_forward(x)


@fast_exp.vjp
def _fast_exp_vjp(primals, cotangent, output):
    x = primals[0] if isinstance(primals, (list, tuple)) else primals
    inside = (x >= _EXP_LO) & (x <= _EXP_HI)
    return mx.where(inside, cotangent * output, 0.0)


def softmax(x: mx.array, axis: int = -1, scale: float = 1.0) -> mx.array:
    """``softmax(scale · x)`` along ``axis`` with the polynomial exp of :func:`fast_exp`: the softmax of
    every attention in ``blocks`` (ViTs of Chapters 2–4, the attentive probe).

    ``scale`` (> 0) is applied inside, in the same fused kernel as the exp (attention's 1/√d, which
    would otherwise cost a pass over q or over the scores, forward and backward). The row maximum is
    subtracted first, so every exponent is ≤ 0 and a row's largest term is exactly 1. Relative error
    per entry ≤ 3e-7 + 6e-8·scale·(max − x) against a float64 softmax of the same float32 input (two
    exp errors and one division, plus the float32 rounding of ``x − max``, which ``mx.softmax``
    shares); ``tests/test_nets.py`` checks it. The gradient is written out, ``scale · s ⊙ (g − Σ g ⊙ s)``,
    from the output ``s``: cheaper than differentiating through the max, the exp and the division
    (2.5 ms against 3.4 ms forward and backward on a Chapter 3 attention, and 8 ms for ``mx.softmax``).
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive; got {scale!r}")
    return _softmax_along(axis, float(scale))(x)


def softmax_forward(x: mx.array, axis: int, scale: float) -> mx.array:
    """The values of :func:`softmax` without its custom gradient (for callers that write their own)."""
    shifted = x - mx.max(x, axis=axis, keepdims=True)
    e = _exp_forward(shifted * scale if scale != 1.0 else shifted)
    return e / mx.sum(e, axis=axis, keepdims=True)


def softmax_backward(s: mx.array, cotangent: mx.array, axis: int, scale: float) -> mx.array:
    """The gradient of :func:`softmax` from its output ``s``: ``scale · s ⊙ (g − Σ g ⊙ s)``."""
    g = s * (cotangent - mx.sum(cotangent * s, axis=axis, keepdims=True))
    return g * scale if scale != 1.0 else g


@functools.lru_cache(maxsize=None)
def _softmax_along(axis: int, scale: float):
    @mx.custom_function
    def f(x):
        return softmax_forward(x, axis, scale)

    @f.vjp
    def f_vjp(primals, cotangent, s):
        return softmax_backward(s, cotangent, axis, scale)

    return f


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
