"""blocks.nets: the rational erf and the GELU built on it, against float64 erf and mlx.nn.gelu; the
polynomial exp and the softmax built on it, against float64 exp, mx.exp and mx.softmax."""

import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from scipy.special import erf

from jepabook.blocks.nets import EXP_MAX_RELATIVE_ERROR, MLP, erf_rational, fast_exp, gelu, softmax

X = np.linspace(-7.0, 7.0, 140_001).astype(np.float32)


def test_erf_rational_matches_float64_erf():
    got = np.array(erf_rational(mx.array(X)), dtype=np.float64)
    assert np.abs(got - erf(X.astype(np.float64))).max() < 6e-7
    # odd, saturated beyond the clip, and the closed values at 0 and ±1
    assert np.array_equal(got[::-1], -got)
    assert np.all(np.abs(got[np.abs(X) >= 4.0]) > 1 - 1e-6)
    assert float(erf_rational(mx.array(0.0))) == 0.0
    assert float(erf_rational(mx.array(1.0))) == pytest.approx(math.erf(1.0), abs=5e-7)


def test_gelu_and_its_gradient_match_nn_gelu():
    x = mx.array(X)
    assert np.abs(np.array(gelu(x)) - np.array(nn.gelu(x))).max() < 2e-6
    g = np.array(mx.grad(lambda v: gelu(v).sum())(x))
    g0 = np.array(mx.grad(lambda v: nn.gelu(v).sum())(x))
    assert np.abs(g - g0).max() < 2e-5
    # GELU, not its tanh or sigmoid approximations (those differ by ~1e-3 and ~2e-2)
    assert np.abs(np.array(gelu(x)) - np.array(nn.gelu_approx(x))).max() > 1e-4


def test_gelu_inside_a_compiled_mlp_equals_the_uncompiled_one():
    net = MLP([2, 16, 16, 2], mx.random.key(3), activation=gelu)
    z = mx.random.normal((64, 2), key=mx.random.key(4))
    assert np.allclose(np.array(mx.compile(net)(z)), np.array(net(z)), atol=1e-6)


# --- the polynomial exp and softmax -------------------------------------------------------------------


def test_fast_exp_meets_its_stated_error_bound_against_float64_exp():
    x = np.linspace(-87.0, 88.0, 3_500_001).astype(np.float32)
    got = np.array(fast_exp(mx.array(x)), dtype=np.float64)
    exact = np.exp(x.astype(np.float64))
    worst = np.max(np.abs(got - exact) / exact)
    assert worst <= EXP_MAX_RELATIVE_ERROR
    assert worst > EXP_MAX_RELATIVE_ERROR / 10  # the bound is tight, not a blanket
    # as accurate as mx.exp (which is itself within ~4e-6 here), and exact where exp is a power of two
    assert np.max(np.abs(got - np.array(mx.exp(mx.array(x)))) / exact) < 5e-6
    assert float(fast_exp(mx.array(0.0))) == 1.0
    # clipped outside [-87, 88]: tiny, not zero, for -inf; finite for large inputs
    tails = np.array(fast_exp(mx.array([-np.inf, -1000.0, 1000.0])))
    assert 0 < tails[0] < 1e-37 and tails[0] == tails[1] and np.isfinite(tails[2])


def test_fast_exp_gradient_is_its_output_inside_the_range_and_zero_outside():
    x = mx.array([-100.0, -30.0, -1.5, 0.0, 0.7, 20.0, 100.0])
    g = np.array(mx.grad(lambda v: fast_exp(v).sum())(x))
    inside = np.array([False, True, True, True, True, True, False])
    assert np.allclose(g[inside], np.exp(np.array(x, dtype=np.float64))[inside], rtol=3e-7)
    assert np.all(g[~inside] == 0)


def test_fast_exp_compiles_to_the_same_values():
    x = mx.random.normal((1000,), key=mx.random.key(1)) * 20
    assert np.array_equal(np.array(mx.compile(fast_exp)(x)), np.array(fast_exp(x)))


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_matches_float64_and_mx_softmax(axis):
    x = mx.random.normal((6, 9, 17), key=mx.random.key(2)) * 8
    got = np.array(softmax(x, axis=axis), dtype=np.float64)
    x64 = np.array(x, dtype=np.float64)
    e = np.exp(x64 - x64.max(axis=axis, keepdims=True))
    exact = e / e.sum(axis=axis, keepdims=True)
    # the stated bound: two exp errors and a division, plus the rounding of x − max in float32
    gap = x64.max(axis=axis, keepdims=True) - x64
    assert np.all(np.abs(got - exact) / exact <= 3e-7 + 6e-8 * gap)
    ref = np.array(mx.softmax(x, axis=axis, precise=True), dtype=np.float64)
    assert np.all(np.abs(got - ref) / ref <= 5e-6 + 1.2e-7 * gap)
    assert np.allclose(got.sum(axis=axis), 1.0, atol=1e-6)
    # shift invariance, and a very large entry does not overflow
    assert np.allclose(np.array(softmax(x + 50.0, axis=axis)), got, atol=1e-6)
    big = np.array(softmax(mx.array([[1000.0, 0.0]])))
    assert big[0, 0] == 1.0 and big[0, 1] < 1e-37


def test_softmax_gradient_matches_mx_softmax_and_finite_differences():
    x = mx.random.normal((4, 11), key=mx.random.key(3)) * 3
    w = mx.random.normal((4, 11), key=mx.random.key(4))

    def loss(f):
        return lambda v: (f(v) * w).sum() + (f(v) ** 2).sum()

    g = np.array(mx.grad(loss(softmax))(x))
    g_ref = np.array(mx.grad(loss(lambda v: mx.softmax(v, axis=-1, precise=True)))(x))
    assert np.abs(g - g_ref).max() < 1e-6
    # central differences in float64 on one row
    x64, w64 = np.array(x, dtype=np.float64), np.array(w, dtype=np.float64)

    def f64(v):
        e = np.exp(v - v.max(-1, keepdims=True))
        s = e / e.sum(-1, keepdims=True)
        return (s * w64).sum() + (s**2).sum()

    eps = 1e-6
    fd = np.array([(f64(x64 + eps * np.eye(44)[i].reshape(4, 11)) - f64(x64 - eps * np.eye(44)[i].reshape(4, 11)))
                   / (2 * eps) for i in range(44)]).reshape(4, 11)
    assert np.abs(g - fd).max() < 2e-6
    # compiled, the gradient is the same
    assert np.allclose(np.array(mx.compile(mx.grad(loss(softmax)))(x)), g, atol=1e-7)


def test_softmax_scale_is_softmax_of_the_scaled_input_and_its_gradient():
    x = mx.random.normal((5, 13), key=mx.random.key(6)) * 4
    w = mx.random.normal((5, 13), key=mx.random.key(7))
    for scale in (0.25, 1.0, 3.0):
        assert np.allclose(np.array(softmax(x, scale=scale)), np.array(softmax(x * scale)), rtol=1e-6, atol=1e-9)
        g = mx.grad(lambda v: (softmax(v, scale=scale) * w).sum())(x)
        g_ref = mx.grad(lambda v: (mx.softmax(v * scale, axis=-1, precise=True) * w).sum())(x)
        assert np.abs(np.array(g) - np.array(g_ref)).max() < 2e-6
    with pytest.raises(ValueError, match="scale"):
        softmax(x, scale=0.0)
