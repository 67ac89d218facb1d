"""The chapters' analysis functions: every number the prose quotes, on hand-built inputs with known answers."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from jepabook.basics import analysis as basics_analysis
from jepabook.basics.diagnostics import cloud_shape
from jepabook.blocks.probes import linear_fit, linear_predict, linear_r2, train_test_split
from jepabook.core.source import nested_source


# --- blocks.probes: the figure's fit is the quoted R²'s fit ------------------------------------------


@pytest.mark.parametrize("k", [None, 3])
def test_linear_predict_gives_exactly_linear_r2(k):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6)) * rng.uniform(0.1, 10, size=6) + 3.0
    y = np.sin(x[:, 0]) + x[:, 1] + 0.3 * rng.normal(size=400) if k is None else rng.normal(size=(400, k)) + x[:, :k]
    train, test = train_test_split(400, 0.25, seed=4)
    pred = linear_predict(linear_fit(x, y, train), x[test])
    assert pred.shape == y[test].shape
    by_hand = 1.0 - ((y[test] - pred) ** 2).sum() / ((y[test] - y[train].mean(0)) ** 2).sum()
    assert by_hand == linear_r2(x, y, train, test)


def test_linear_fit_recovers_an_exact_linear_map_and_checks_width():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([2.0, -1.0, 0.5]) - 4.0
    train, test = train_test_split(200, 0.25, seed=0)
    fit = linear_fit(x, y, train, ridge=0.0)
    np.testing.assert_allclose(linear_predict(fit, x[test]), y[test], atol=1e-9)
    with pytest.raises(ValueError, match="features must be"):
        linear_predict(fit, x[:, :2])


# --- Chapter 1 ----------------------------------------------------------------------------------------


def test_final_part_reads_each_seeds_last_logged_value():
    seeds = [SimpleNamespace(logs={"sigreg": SimpleNamespace(parts={"regulariser": [9.0, 5.0, v]})}) for v in (1.5, 2.5)]
    assert basics_analysis.final_part(seeds, "sigreg", "regulariser") == [1.5, 2.5]


def test_push_ratio_is_the_mean_of_per_seed_ratios():
    m = {"ep_push_0.01": [2.0, 2.0], "raw_moments_push_0.01": [1.0, 4.0]}
    assert basics_analysis.push_ratio(m, "0.01") == pytest.approx((2.0 + 0.5) / 2)  # not 4 / 5 (ratio of means)


def test_energy_summary_ratio_is_of_the_seed_means():
    m = {"sigreg_energy_neighbour": [1.0, 3.0], "sigreg_energy_random": [10.0, 30.0]}
    e = basics_analysis.energy_summary(m, "sigreg")
    assert e == {"neighbours": 2.0, "random": 20.0, "ratio": 10.0}


def test_shadow_variance_curve_matches_projected_variances():
    rng = np.random.default_rng(2)
    q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    z = (rng.normal(size=(3000, 4)) * np.array([3.0, 1.5, 0.2, 0.1])) @ q.T
    angles = np.array([0.0, np.pi / 2, 0.7])
    out = basics_analysis.shadow_variance_curve(z, angles)
    evals, evecs = np.linalg.eigh(np.cov(z.T))
    assert out["shadow"][0] == pytest.approx(cloud_shape(z)["largest"])
    assert out["shadow"][1] == pytest.approx(evals[-2])
    a = math.cos(0.7) * evecs[:, -1] + math.sin(0.7) * evecs[:, -2]
    assert out["shadow"][2] == pytest.approx(np.var(z @ a, ddof=1))
    np.testing.assert_allclose(out["axis"], np.var(z, axis=0, ddof=1))


# --- core.source --------------------------------------------------------------------------------------


def _outer(x):
    def helper(y):
        return y + 1

    def batch(i):
        # the line a reader should see
        return helper(i) * x

    return batch


def test_nested_source_prints_the_inner_function_only():
    src = nested_source(_outer, "batch")
    assert src.startswith("def batch(i):") and "the line a reader should see" in src and "helper(y)" not in src
    with pytest.raises(LookupError, match="no function 'missing'"):
        nested_source(_outer, "missing")


def test_nested_source_finds_the_chapters_batch_functions():
    from jepabook import crossjepa, ijepa

    assert "sample_masks(" in nested_source(ijepa.run_arm, "batch")
    assert "target_mx[r]" in nested_source(crossjepa.run_arm, "batch")
