"""Chapter 1's mechanisms pinned by hand computations: the loss and its weighting, the regulariser's
sign, the positive pairs, the probe's input, the energy, and the comparisons the seed assembles.

Every expected value is computed here in float64 NumPy from the model's own weights, so a one-line
change of the mechanism (a dropped factor, a flipped sign, the raw input instead of the embedding)
changes a number these tests compare. Nothing here pins a value that depends on a random draw of
the chapter's ``run``.
"""

import math

import mlx.core as mx
import numpy as np
import pytest

from jepabook.basics import experiment as exp
from jepabook.basics.swissroll import make_swiss_roll, neighbour_table
from jepabook.blocks.sigreg import random_directions
from jepabook.core.training import TrainLog
from reference import np_epps_pulley, spy_probe

SMALL = exp.BasicsConfig(n_points=128, ambient_dim=6, embed_dim=3, hidden=7, predictor_hidden=5, batch=16,
                         steps=2, num_slices=6, log_every=1)


# --- NumPy references ----------------------------------------------------------------------------


def np_mlp(mlp, x):
    """Forward pass of a :class:`~jepabook.blocks.nets.MLP` (ReLU between layers) in float64 NumPy."""
    x = np.asarray(x, np.float64)
    layers = mlp.layers
    for i, layer in enumerate(layers):
        x = x @ np.array(layer.weight, np.float64).T + np.array(layer.bias, np.float64)
        if i < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return x


def np_sigreg(z, key, num_slices):
    a = np.array(random_directions(key, z.shape[1], num_slices), np.float64)
    return float(np_epps_pulley(np.asarray(z, np.float64) @ a).mean())


def np_axis_moments(z):
    return float((z.mean(0) ** 2).sum() + ((z.var(0) - 1.0) ** 2).sum())


def _pair(seed=0, n=40, dim=6):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)).astype(np.float32), rng.normal(size=(n, dim)).astype(np.float32)


# --- the loss ------------------------------------------------------------------------------------


@pytest.mark.parametrize("arm", exp.ARMS)
def test_loss_is_one_minus_lambda_prediction_plus_lambda_regulariser(arm):
    """(1 − λ)·prediction + λ·regulariser, prediction symmetric over the pair, regulariser on both views."""
    lam, slices = 0.3, 6
    model = exp.JEPA(SMALL, mx.random.key(3))
    xa, xb = _pair()
    key = mx.random.key(11)
    loss, parts = exp.make_loss(arm, lam, slices)(model, mx.array(xa), mx.array(xb), key)

    za, zb = np_mlp(model.encoder, xa), np_mlp(model.encoder, xb)
    pa, pb = np_mlp(model.predictor, za), np_mlp(model.predictor, zb)
    pred = 0.5 * (((pa - zb) ** 2).sum(1).mean() + ((pb - za) ** 2).sum(1).mean())
    both = np.concatenate([za, zb])
    reg = {"predict": 0.0, "sigreg": np_sigreg(both, key, slices), "axis": np_axis_moments(both)}[arm]

    assert parts["prediction"].item() == pytest.approx(pred, rel=1e-5)
    assert parts["regulariser"].item() == pytest.approx(reg, rel=1e-4, abs=1e-7)
    assert loss.item() == pytest.approx((1 - lam) * pred + lam * reg, rel=1e-5)
    if arm != "predict":
        # the regulariser is a penalty: positive here, and it raises the loss (λ·reg is not tiny)
        assert reg > 0.05 and lam * reg > 0.05 * loss.item()


def test_regulariser_gradient_pushes_a_shrunken_cloud_towards_unit_variance():
    """Descending the axis regulariser grows a cloud whose variance is below 1 (the sign of the penalty)."""
    z = mx.array(0.1 * np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32))
    g = mx.grad(exp.axis_moments)(z)
    assert mx.sum(-g * (z - mx.mean(z, axis=0))).item() > 0  # the descent direction points outward


def test_axis_moments_closed_form():
    z = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])
    # means (2, 4); biased variances (8/3, 26/3)
    expected = 2.0**2 + 4.0**2 + (8 / 3 - 1) ** 2 + (26 / 3 - 1) ** 2
    assert exp.axis_moments(mx.array(z, dtype=mx.float32)).item() == pytest.approx(expected, rel=1e-6)
    unit = np.array([[1.0, -1.0], [-1.0, 1.0]])  # mean 0, variance 1 on each axis
    assert exp.axis_moments(mx.array(unit, dtype=mx.float32)).item() == pytest.approx(0.0, abs=1e-7)


def test_each_arm_gets_its_own_weight():
    c = exp.BasicsConfig(sigreg_weight=0.05, axis_weight=0.5)
    assert (c.weight("predict"), c.weight("sigreg"), c.weight("axis")) == (0.0, 0.05, 0.5)


def test_energy_is_the_squared_prediction_error():
    model = exp.JEPA(SMALL, mx.random.key(4))
    xa, xb = _pair(1, n=9)
    expected = ((np_mlp(model.predictor, np_mlp(model.encoder, xa)) - np_mlp(model.encoder, xb)) ** 2).sum(1)
    np.testing.assert_allclose(np.array(model.energy(mx.array(xa), mx.array(xb))), expected, rtol=1e-5, atol=1e-7)


# --- training: positive pairs and the arm's loss ---------------------------------------------------


class _Captured:
    def __call__(self, model, loss_fn, batch, optimizer, steps, *args, **kwargs):
        self.model, self.loss_fn, self.batch, self.steps = model, loss_fn, batch, steps
        return TrainLog()


@pytest.mark.parametrize("arm", exp.ARMS)
def test_training_pairs_are_curve_neighbours_and_the_loss_is_the_arms(arm, monkeypatch):
    captured = _Captured()
    monkeypatch.setattr(exp, "fit", captured)
    roll = make_swiss_roll(SMALL.n_points, SMALL.ambient_dim, SMALL.noise, seed=0)
    neighbours = neighbour_table(roll.plane, SMALL.neighbours)
    exp.train_arm(SMALL, roll.x, neighbours, arm, 0)
    row = {r.tobytes(): i for i, r in enumerate(roll.x)}
    xa, xb, key = captured.batch(0)
    assert xa.shape == (SMALL.batch, SMALL.ambient_dim)
    ia = [row[r.tobytes()] for r in np.array(xa)]
    ib = [row[r.tobytes()] for r in np.array(xb)]
    assert all(b in neighbours[a] for a, b in zip(ia, ib)), "a positive partner is not a curve neighbour"
    got = captured.loss_fn(captured.model, xa, xb, key)[0].item()
    want = exp.make_loss(arm, SMALL.weight(arm), SMALL.num_slices)(captured.model, xa, xb, key)[0].item()
    assert got == pytest.approx(want, rel=1e-6)
    assert captured.steps == SMALL.steps


# --- measurements: the probe reads the embedding ------------------------------------------------


def _spy_r2(monkeypatch):
    return spy_probe(monkeypatch, exp, "linear_r2")


def test_arm_probe_reads_the_embedding_of_every_point(monkeypatch):
    calls = _spy_r2(monkeypatch)
    result = exp.run_arm(SMALL, 0, "sigreg")
    assert result.embedding.shape == (SMALL.n_points, SMALL.embed_dim)
    (features, targets, train, test, value) = calls[-1]
    assert len(calls) == 1
    np.testing.assert_array_equal(features, result.embedding)  # the embedding, not the raw 6-D input
    assert result.metrics["sigreg_r2"] == value
    # the probe's target is the hidden coordinate t, and its split is a held-out one
    assert targets.shape == (SMALL.n_points,) and targets.min() >= 1.5 * np.pi and targets.max() <= 4.5 * np.pi
    assert not set(train) & set(test) and len(test) == round(SMALL.test_fraction * SMALL.n_points)


def _arm(arm, embedding):
    return exp.ArmResult(0, arm, embedding, TrainLog(), {exp.ARM_METRICS[arm]["r2"]: float(len(arm))}, 0.0)


def test_seed_comparisons_read_the_right_arm_and_the_raw_input(monkeypatch):
    """Hand-built embeddings: collapsed (predict), Gaussian (sigreg), a cigar (axis)."""
    calls = _spy_r2(monkeypatch)
    n = 4000
    rng = np.random.default_rng(0)
    s = rng.normal(size=n)
    arms = {"predict": _arm("predict", np.zeros((n, 4))), "sigreg": _arm("sigreg", rng.normal(size=(n, 4))),
            "axis": _arm("axis", np.stack([s, s, s, s], 1))}
    m = exp.assemble_seed(SMALL, 0, arms).metrics
    # the raw-input probe reads the ambient input, nothing else
    (raw,) = calls
    assert raw[0].shape == (SMALL.n_points, SMALL.ambient_dim) and m["raw_r2"] == raw[4]
    assert (m["predict_r2"], m["sigreg_r2"], m["axis_r2"]) == (7.0, 6.0, 4.0)  # each arm's own metrics
    assert m["meter_collapsed"] == pytest.approx(1.0, abs=1e-9)
    assert m["meter_healthy"] == pytest.approx(math.exp(-0.5), abs=0.03)
    assert m["axis_variance"] == pytest.approx(1.0, abs=0.05)
    assert m["shadow_along"] == pytest.approx(4.0, rel=0.05) and m["shadow_across"] < 1e-9
    assert m["ema_first_step_pct"] == pytest.approx(0.4) and m["ema_steps_to_63pct"] == 250.0


# --- the probes (Chapter 1 introduces them; every chapter uses them) --------------------------------


def test_r2_is_measured_against_the_training_mean():
    """Features that carry nothing predict the training mean: R² = 0 exactly, even when the held-out
    mean differs (a probe centred on the test mean would read strongly negative)."""
    from jepabook.blocks.probes import linear_r2

    y = np.arange(100.0)
    train, test = np.arange(50), np.arange(50, 100)
    assert linear_r2(np.ones((100, 3)), y, train, test) == pytest.approx(0.0, abs=1e-9)


def test_r2_of_a_perfectly_linear_target_is_one_and_of_its_shuffle_about_zero():
    from jepabook.blocks.probes import linear_r2, train_test_split

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 4))
    y = x @ np.array([2.0, -1.0, 0.0, 0.5]) - 3.0
    train, test = train_test_split(3000, 0.5, seed=0)
    assert linear_r2(x, y, train, test) == pytest.approx(1.0, abs=1e-6)
    assert abs(linear_r2(x, rng.permutation(y), train, test)) < 0.02


def test_probes_are_fitted_on_the_training_rows_only():
    """Many noise features, few training rows: fitted on the training rows the held-out score is poor
    (R² < 0, accuracy near chance); fitted on the test rows it would look good."""
    from jepabook.blocks.probes import linear_accuracy, linear_r2

    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 60))
    train, test = np.arange(100), np.arange(100, 500)
    assert linear_r2(x, rng.normal(size=500), train, test) < -0.2
    labels = rng.integers(0, 2, 300)
    assert linear_accuracy(rng.normal(size=(300, 100)), labels, np.arange(150), np.arange(150, 300)) < 0.7


def test_the_measure_phase_builds_no_neighbour_table(monkeypatch):
    """Issue 26: the measure phase ran on one core after the pool, rebuilding each seed's neighbour table
    (~0.3-0.7 s a seed at full) that only training reads; it now takes the same roll and split alone."""
    roll, neighbours, train, test = exp._world(SMALL, 3)
    alone = exp._roll_and_split(SMALL, 3)
    for a, b in zip((roll.x, roll.t, roll.plane, train, test), (alone[0].x, alone[0].t, alone[0].plane, *alone[1:])):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert np.array_equal(neighbours, neighbour_table(roll.plane, SMALL.neighbours))
    monkeypatch.setattr(exp, "neighbour_table", lambda *a: pytest.fail("the measure phase built a neighbour table"))
    rng = np.random.default_rng(0)
    arms = {a: _arm(a, rng.normal(size=(SMALL.n_points, 3))) for a in exp.ARMS}
    assert np.array_equal(exp.assemble_seed(SMALL, 3, arms).x, roll.x)
