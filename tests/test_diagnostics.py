import math

import mlx.core as mx
import numpy as np
import pytest

from jepabook.basics.diagnostics import characteristic_function, cloud_shape, collapse_push, shadow_meter


def test_meter_on_known_clouds():
    rng = np.random.default_rng(0)
    key = mx.random.key(0)
    assert shadow_meter(np.zeros((500, 4)), 1.0, key) == pytest.approx(1.0)
    assert shadow_meter(rng.normal(size=(20000, 4)), 1.0, key) == pytest.approx(math.exp(-0.5), abs=0.02)
    assert shadow_meter(10 * rng.normal(size=(20000, 4)), 1.0, key) < 0.05


def test_characteristic_function_of_gaussian():
    x = np.random.default_rng(1).normal(size=50000)
    t = np.array([0.0, 0.5, 1.0, 2.0])
    phi = characteristic_function(x, t)
    assert np.allclose(phi.real, np.exp(-t**2 / 2), atol=0.01)
    assert np.allclose(phi.imag, 0.0, atol=0.01)


def test_cloud_shape_finds_the_cigar():
    rng = np.random.default_rng(2)
    s = rng.normal(size=20000)
    cigar = np.stack([s, s, s, s], axis=1)  # every axis variance 1, all axes correlated
    shape = cloud_shape(cigar)
    assert shape["axis_variance_mean"] == pytest.approx(1.0, abs=0.03)
    assert shape["largest"] == pytest.approx(4.0, rel=0.03)
    assert shape["smallest"] < 1e-10


def test_collapse_push_signs():
    push = collapse_push(seed=0)
    assert push["ep_grad_norm_at_collapse"] == 0.0
    assert push["ep_push_0.01"] > 0 and push["ep_cos_0.01"] > 0.95
    assert push["ep_push_ratio"] == pytest.approx(10.0, rel=0.02)
    assert push["raw_moments_push_0.01"] > 0
    assert abs(push["std_moments_cos_0.01"]) < 1e-3  # scale-invariant: no outward component
