import numpy as np
import pytest

from jepabook.blocks.probes import linear_accuracy, linear_r2, train_test_split


def test_split_is_disjoint_and_complete():
    train, test = train_test_split(100, 0.25, seed=0)
    assert len(test) == 25 and len(train) == 75
    assert set(train).isdisjoint(test) and set(train) | set(test) == set(range(100))
    assert np.array_equal(train, train_test_split(100, 0.25, seed=0)[0])
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(100, 1.5)


def test_r2_on_exact_linear_target_is_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 5))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 7.0  # the bias must be fitted too
    train, test = train_test_split(500, 0.3, seed=1)
    assert linear_r2(x, y, train, test) == pytest.approx(1.0, abs=1e-6)


def test_r2_on_independent_target_is_about_zero():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(2000, 5)), rng.normal(size=2000)
    train, test = train_test_split(2000, 0.5, seed=2)
    assert abs(linear_r2(x, y, train, test)) < 0.02


def test_r2_is_invariant_to_feature_scale():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 3))
    y = np.sin(x[:, 0]) + 0.1 * rng.normal(size=400)
    train, test = train_test_split(400, 0.25, seed=3)
    assert linear_r2(1e-4 * x, y, train, test) == pytest.approx(linear_r2(x, y, train, test), abs=1e-6)


def test_r2_of_nonlinear_target_is_partial():
    # y = x²: no linear readout exists, R² ≈ 0 although y is a function of x
    x = np.linspace(-1, 1, 401)[:, None]
    train, test = train_test_split(401, 0.25, seed=4)
    assert linear_r2(x, x[:, 0] ** 2, train, test) < 0.05


def test_accuracy_separable_and_chance():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 600)
    centres = np.array([[0, 0], [5, 0], [0, 5]])
    x = centres[labels] + 0.3 * rng.normal(size=(600, 2))
    train, test = train_test_split(600, 0.25, seed=5)
    assert linear_accuracy(x, labels, train, test) == 1.0
    noise = rng.normal(size=(600, 2))
    assert linear_accuracy(noise, labels, train, test) < 0.5


def test_bad_features_are_rejected():
    train, test = np.arange(5), np.arange(5, 10)
    with pytest.raises(ValueError, match="features must be"):
        linear_r2(np.zeros(10), np.zeros(10), train, test)
    with pytest.raises(ValueError, match="targets has 9 rows"):
        linear_r2(np.zeros((10, 2)), np.zeros(9), train, test)
    with pytest.raises(ValueError, match="NaN"):
        linear_r2(np.full((10, 2), np.nan), np.zeros(10), train, test)
