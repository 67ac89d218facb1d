"""blocks.nets: the rational erf and the GELU built on it, against float64 erf and mlx.nn.gelu."""

import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from scipy.special import erf

from jepabook.blocks.nets import MLP, erf_rational, gelu

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
