import math

import mlx.core as mx
import numpy as np
import pytest

from jepabook.sigreg import (EP_GAUSSIAN_FLOOR, epps_pulley, epps_pulley_1983, epps_pulley_direct,
                             epps_pulley_exact, random_directions, sigreg)

SAMPLES = {
    "normal": lambda r: r.normal(size=512),
    "narrow": lambda r: 0.3 * r.normal(size=512),
    "wide": lambda r: 3.0 * r.normal(size=512),
    "student-t3": lambda r: r.standard_t(3, size=512),
    "uniform": lambda r: r.uniform(-2, 2, size=512),
    "shifted": lambda r: r.normal(size=512) + 0.7,
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_quadrature_matches_closed_form(name):
    x = SAMPLES[name](np.random.default_rng(0)).astype(np.float32)
    quad = epps_pulley(mx.array(x)).item()
    exact = epps_pulley_exact(x)
    # the [0, 3] x 17 rule drops the tail t > 3 and so reads low, by a few per cent at most
    assert quad <= exact * (1 + 1e-5)
    assert quad == pytest.approx(exact, rel=0.05)


def test_recurrence_equals_direct_evaluation():
    x = mx.array(np.random.default_rng(1).normal(size=(512, 64)).astype(np.float32) * 1.7)
    a, b = epps_pulley(x), epps_pulley_direct(x)
    assert np.allclose(np.array(a), np.array(b), rtol=1e-5, atol=1e-5)
    ga = mx.grad(lambda v: mx.sum(epps_pulley(v)))(x)
    gb = mx.grad(lambda v: mx.sum(epps_pulley_direct(v)))(x)
    assert np.abs(np.array(ga) - np.array(gb)).max() <= 1e-5 * np.abs(np.array(gb)).max()


def test_epps_pulley_1983_worked_example():
    data = np.array([147, 186, 141, 183, 190, 123, 155, 164, 183, 150, 134, 170, 144, 99, 156,
                     176, 160, 174, 153, 162, 167, 179, 78, 173, 168], dtype=float)
    assert epps_pulley_1983(data) == pytest.approx(0.6115, abs=5e-4)
    assert epps_pulley_1983(np.log(204 - data)) == pytest.approx(0.0058, abs=5e-4)


def test_gaussian_floor():
    assert EP_GAUSSIAN_FLOOR == pytest.approx(math.sqrt(2 * math.pi) * (1 - 1 / math.sqrt(3)))
    rng = np.random.default_rng(2)
    values = np.array([epps_pulley_exact(rng.normal(size=400)) for _ in range(400)])
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert abs(values.mean() - EP_GAUSSIAN_FLOOR) < 4 * se
    # the floor does not grow with N: same expectation at a larger sample (the statistic is
    # heavy-tailed, sd ≈ 0.9, so the check is in standard errors)
    big = np.array([epps_pulley_exact(rng.normal(size=800)) for _ in range(200)])
    assert abs(big.mean() - EP_GAUSSIAN_FLOOR) < 4 * big.std(ddof=1) / math.sqrt(big.size)


def test_sigreg_on_gaussian_cloud_sits_near_floor():
    z = mx.array(np.random.default_rng(3).normal(size=(4096, 16)).astype(np.float32))
    value = sigreg(z, mx.random.key(0), num_slices=256).item()
    assert 0.9 < value < 1.25  # ~1.05 expected; the quadrature reads a few per cent under 1.059


def test_total_collapse_value_and_zero_gradient():
    n = 256
    expected = n * math.sqrt(2 * math.pi) * (1 - math.sqrt(2) + 1 / math.sqrt(3))  # ≈ 0.409 n
    assert epps_pulley_exact(np.zeros(n)) == pytest.approx(expected, rel=1e-12)
    zero = mx.zeros((n,))
    assert epps_pulley(zero).item() == pytest.approx(expected, rel=0.03)
    grad = np.array(mx.grad(epps_pulley)(zero))
    assert np.all(grad == 0.0)


def test_near_collapse_gradient_points_outward_and_grows_linearly():
    u = mx.array(np.random.default_rng(4).normal(size=512).astype(np.float32))
    pushes = []
    for s in (1e-3, 1e-2):
        g = mx.grad(epps_pulley)(s * u)
        descent = -g
        cos = (mx.sum(descent * u) / (mx.linalg.norm(descent) * mx.linalg.norm(u))).item()
        assert cos > 0.95
        pushes.append(mx.sum(descent * u).item())
    assert pushes[1] / pushes[0] == pytest.approx(10.0, rel=0.02)


def test_directions_are_unit_and_seeded():
    a = np.array(random_directions(mx.random.key(5), 8, 32))
    assert a.shape == (8, 32)
    assert np.allclose(np.linalg.norm(a, axis=0), 1.0, atol=1e-6)
    assert np.array_equal(a, np.array(random_directions(mx.random.key(5), 8, 32)))
    assert not np.array_equal(a, np.array(random_directions(mx.random.key(6), 8, 32)))


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="n_points"):
        epps_pulley(mx.zeros((8,)), n_points=1)
    with pytest.raises(ValueError, match="t_max"):
        epps_pulley(mx.zeros((8,)), t_max=-1.0)
    with pytest.raises(ValueError, match="z must be"):
        sigreg(mx.zeros((8,)), mx.random.key(0))
    with pytest.raises(ValueError, match="num_slices"):
        sigreg(mx.zeros((8, 2)), mx.random.key(0), num_slices=0)
    with pytest.raises(ValueError, match="constant"):
        epps_pulley_1983([3.0, 3.0, 3.0])
