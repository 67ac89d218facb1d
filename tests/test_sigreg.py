import math

import mlx.core as mx
import numpy as np
import pytest

from jepabook.blocks.sigreg import (EP_GAUSSIAN_FLOOR, epps_pulley, epps_pulley_1983, epps_pulley_direct,
                             epps_pulley_exact, fast_cos_sin, random_directions, sigreg)

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


@pytest.mark.parametrize("compiled", [False, True])
def test_fast_cos_sin_matches_mlx_on_a_dense_grid(compiled):
    # SIGReg sees t·x with t <= 3 and |x| up to ~10; the grid goes far beyond, to |x| = 1e4,
    # and includes the reduction's seams (multiples of π/2) and the float32 edge cases 0 and ±0
    x = np.concatenate([np.linspace(-1e4, 1e4, 2_000_001), np.linspace(-31, 31, 620_001),
                        np.arange(-600, 601) * (np.pi / 2), [0.0, -0.0, 1e-30, -1e-30]]).astype(np.float32)
    xm = mx.array(x)
    fn = mx.compile(fast_cos_sin) if compiled else fast_cos_sin
    cos, sin = fn(xm)
    assert np.abs(np.array(cos) - np.array(mx.cos(xm))).max() <= 1e-6
    assert np.abs(np.array(sin) - np.array(mx.sin(xm))).max() <= 1e-6
    # and against float64 truth
    assert np.abs(np.array(cos) - np.cos(x.astype(np.float64))).max() <= 1e-6
    assert np.abs(np.array(sin) - np.sin(x.astype(np.float64))).max() <= 1e-6


def test_fast_cos_sin_stays_bounded_and_propagates_nan():
    x = mx.array(np.array([1e7, -3e8, 1e20, 3e38, np.inf, -np.inf, np.nan], dtype=np.float32))
    cos, sin = fast_cos_sin(x)
    cos, sin = np.array(cos), np.array(sin)
    assert np.all(np.abs(cos[:4]) <= 1) and np.all(np.abs(sin[:4]) <= 1)
    assert np.all(np.isnan(cos[4:])) and np.all(np.isnan(sin[4:]))  # as mx.cos and mx.sin


def test_fast_cos_sin_gradient_is_the_exact_derivative():
    x = mx.array(np.random.default_rng(3).uniform(-40, 40, size=4096).astype(np.float32))
    a, b = mx.array(0.3), mx.array(-1.7)

    def loss(trig):
        return lambda v: mx.sum(a * trig(v)[0] + b * trig(v)[1])

    g_fast = mx.grad(loss(fast_cos_sin))(x)
    g_ref = mx.grad(loss(lambda v: (mx.cos(v), mx.sin(v))))(x)
    assert np.abs(np.array(g_fast) - np.array(g_ref)).max() <= 1e-6
    g_compiled = mx.compile(mx.grad(loss(fast_cos_sin)))(x)
    assert np.abs(np.array(g_compiled) - np.array(g_ref)).max() <= 1e-6


@pytest.mark.parametrize("fn", [epps_pulley, epps_pulley_direct])
def test_fast_trig_epps_pulley_agrees(fn):
    x = mx.array(np.random.default_rng(1).normal(size=(512, 64)).astype(np.float32) * 1.7)
    assert np.allclose(np.array(fn(x, fast_trig=True)), np.array(epps_pulley_direct(x)), rtol=1e-5, atol=1e-5)
    g_fast = mx.grad(lambda v: mx.sum(fn(v, fast_trig=True)))(x)
    g_ref = mx.grad(lambda v: mx.sum(epps_pulley_direct(v)))(x)
    assert np.abs(np.array(g_fast) - np.array(g_ref)).max() <= 1e-5 * np.abs(np.array(g_ref)).max()
    z = mx.array(np.random.default_rng(2).normal(size=(256, 8)).astype(np.float32))
    key = mx.random.key(0)
    assert sigreg(z, key, 64, fast_trig=True).item() == pytest.approx(sigreg(z, key, 64).item(), rel=1e-5)


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


@pytest.mark.parametrize("fast_trig", [False, True])
@pytest.mark.parametrize("shape", [(512,), (256, 7)])
def test_closed_form_gradient_equals_autodiff_through_the_recurrence(fast_trig, shape):
    """The hand-written gradient (module docstring) against MLX's autodiff of the same statistic,
    compiled and not, on samples far from normal too (a wrong sign or weight moves it by O(1))."""
    rng = np.random.default_rng(11)
    x = mx.array((rng.standard_t(3, size=shape) * 1.5 + 0.3).astype(np.float32))
    w = mx.array(rng.normal(size=shape[1:]).astype(np.float32))  # a cotangent that differs per slice

    def loss(closed):
        return lambda x: mx.sum(epps_pulley(x, fast_trig=fast_trig, closed_form_grad=closed) * w)

    v_ref, g_ref = mx.value_and_grad(loss(False))(x)
    for fn in (mx.value_and_grad(loss(True)), mx.compile(mx.value_and_grad(loss(True)))):
        v, g = fn(x)
        assert v.item() == pytest.approx(v_ref.item(), rel=1e-5)
        np.testing.assert_allclose(np.array(g), np.array(g_ref), rtol=1e-4, atol=1e-5 * float(mx.abs(g_ref).max()))


def test_closed_form_gradient_through_sigreg_and_at_collapse():
    z = mx.array(np.random.default_rng(2).normal(size=(300, 3)).astype(np.float32) * 0.5)
    key = mx.random.key(3)
    g_ref = mx.grad(lambda z: sigreg(z, key, num_slices=16))(z)
    g = mx.grad(lambda z: sigreg(z, key, num_slices=16, closed_form_grad=True))(z)
    np.testing.assert_allclose(np.array(g), np.array(g_ref), rtol=1e-4, atol=1e-6)
    assert np.all(np.array(mx.grad(lambda x: epps_pulley(x, closed_form_grad=True))(mx.zeros((64,)))) == 0.0)
