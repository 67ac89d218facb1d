"""Chapter 4's mechanisms pinned by hand computations: standardised targets (training statistics
only), the side information reaching the predictor, masking that drops groups before the encoder,
the batches a run trains on (training objects, the arm's targets and conditioning), and the probe's
held-out split.
"""

from dataclasses import replace

import mlx.core as mx
import numpy as np
import pytest

from jepabook.core.training import TrainLog
from jepabook.crossjepa import data as cd
from jepabook.crossjepa import experiment as cj
from jepabook.crossjepa.model import ConditionedPredictor, PointTransformer, visible_groups
from jepabook.crossjepa.teachers import avg_pool
from reference import spy_probe

CONFIG = replace(cj.PROFILES["ci"], batch=6, steps=3)
G, K, V = CONFIG.n_groups, CONFIG.group_size, 2


def _linear(layer, x):
    bias = np.array(layer.bias, np.float64) if "bias" in layer else 0.0
    return x @ np.array(layer.weight, np.float64).T + bias


# --- targets: standardised on the training objects -----------------------------------------------


def test_targets_are_standardised_with_training_statistics_only():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3, 4)) * np.array([1.0, 5.0, 0.1, 2.0]) + np.array([3.0, -1.0, 0.0, 8.0])
    x[7:] += 100.0  # the held-out objects look nothing like the training ones
    train = np.arange(7)
    out = cd._standardise(x, train)
    mu, sd = x[train].mean(axis=(0, 1)), x[train].std(axis=(0, 1))
    np.testing.assert_allclose(out, (x - mu) / sd, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[train].mean(axis=(0, 1)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out[train].std(axis=(0, 1)), 1.0, rtol=1e-5)
    assert out[7:].mean() > 10  # the test objects are not re-centred on themselves
    assert out.dtype == np.float32


class _FakeTeacher:
    def __init__(self, name, fn):
        self.name, self.fn = name, fn

    def fingerprint(self):
        return self.name

    def embed(self, images):
        return self.fn(images)


def test_prepare_standardises_each_roles_teacher_and_the_pixels():
    config = replace(CONFIG, n_per_class=3, test_per_class=1, n_views=2, render_size=16, n_points=64,
                     n_groups=4, group_size=8, teachers=("lejepa", "lejepa-init"), default_teacher="lejepa")
    # named as the configured roles (default "lejepa", second "lejepa-init")
    teachers = {"lejepa": _FakeTeacher("lejepa", lambda im: 3.0 * im[:, 6:10, 6:10].reshape(len(im), -1) + 7.0),
                "lejepa-init": _FakeTeacher("lejepa-init", lambda im: im.mean(axis=(1, 2)))}
    prep = cd.prepare(config, teachers)
    world, data = prep.world, prep.data
    n, v = world.renders.shape[:2]
    flat = world.renders.reshape((n * v,) + world.renders.shape[2:])

    def standardised(e):
        e = np.asarray(e, np.float64).reshape(n, v, -1)
        mu, sd = e[data.train].mean(axis=(0, 1)), e[data.train].std(axis=(0, 1))
        return (e - mu) / np.where(sd > 1e-8, sd, 1.0)

    assert prep.teachers == {"default": "lejepa", "second": "lejepa-init"}
    for role in ("default", "second"):
        want = standardised(teachers[prep.teachers[role]].embed(flat))
        np.testing.assert_allclose(data.targets[role], want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(data.targets["pixels"], standardised(avg_pool(flat, config.pixel_pool)),
                               rtol=1e-4, atol=1e-4)
    assert not set(data.train) & set(data.test)


class _BindingTeacher(_FakeTeacher):
    def bind(self, images, images_hash=None):
        self.bound, self.bound_hash = np.array(images), images_hash
        return self


def test_a_trained_teacher_is_bound_to_the_training_objects_views_only():
    config = replace(CONFIG, n_per_class=3, test_per_class=1, n_views=2, render_size=16, n_points=64,
                     n_groups=4, group_size=8, teachers=("lejepa", "lejepa-init"), default_teacher="lejepa")
    t = _BindingTeacher("lejepa", lambda im: im.mean(axis=(1, 2)))
    prep = cd.prepare(config, {"lejepa": t, "lejepa-init": _FakeTeacher("lejepa-init", lambda im: 2 * im.mean(axis=(1, 2)))})
    renders = prep.world.renders
    np.testing.assert_array_equal(t.bound, renders[prep.data.train].reshape((-1,) + renders.shape[2:]))
    assert prep.world.fingerprint() in t.bound_hash
    # the pixel target's class share is measured on the training objects, as the teachers' are
    want = cd.class_share(avg_pool(renders.reshape((-1,) + renders.shape[2:]), config.pixel_pool)
                          .reshape(renders.shape[0], renders.shape[1], -1)[prep.data.train], prep.world.labels[prep.data.train])
    assert prep.pixel_class_share == pytest.approx(want)


def test_prepare_refuses_roles_missing_from_the_candidates():
    with pytest.raises(ValueError, match="not among the candidates"):
        cd.prepare(CONFIG, {"lejepa": _FakeTeacher("lejepa", lambda im: im[:, 0, 0])})


# --- the predictor reads the side information -----------------------------------------------------


def test_conditioned_predictor_closed_form_uses_each_side_input():
    pred = ConditionedPredictor(6, 4, 8, 9, 3, mx.random.key(0))
    rng = np.random.default_rng(1)
    feature = rng.normal(size=(5, 2, 6)).astype(np.float32)
    pose = rng.normal(size=(5, 2, 4)).astype(np.float32)
    colour = rng.random(size=(5, 2, 8)).astype(np.float32)
    pre = _linear(pred.fc1, feature) + _linear(pred.pose_in, pose) + _linear(pred.colour_in, colour)
    want = _linear(pred.out, np.maximum(_linear(pred.fc2, np.maximum(pre, 0)), 0))
    got = np.array(pred(mx.array(feature), mx.array(pose), mx.array(colour)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for moved in ((pose + 1.0, colour), (pose, colour[..., ::-1].copy())):  # each input changes the prediction
        other = np.array(pred(mx.array(feature), *map(mx.array, moved)))
        assert np.abs(other - got).max() > 1e-3
    for i in (0, 1):  # the loss's gradient reaches both inputs
        g = mx.grad(lambda x: mx.sum(pred(mx.array(feature), *([x, mx.array(colour)] if i == 0
                                                                 else [mx.array(pose), x])) ** 2))(
            mx.array([pose, colour][i]))
        assert np.abs(np.array(g)).max() > 0


def test_pose_only_predictor_has_no_colour_weights_and_refuses_colour():
    pred = ConditionedPredictor(6, 4, 0, 8, 3, mx.random.key(0))
    assert "colour_in" not in pred and "pose_in" in pred
    with pytest.raises(ValueError, match="takes 0 colour values; got 8"):
        pred(mx.zeros((2, 6)), mx.zeros((2, 4)), mx.zeros((2, 8)))
    with pytest.raises(ValueError, match="takes 4 pose values; got 0"):
        ConditionedPredictor(6, 4, 8, 8, 3, mx.random.key(0))(mx.zeros((2, 6)), None, mx.zeros((2, 8)))
    with pytest.raises(ValueError, match="takes 0 pose values; got 4"):
        ConditionedPredictor(6, 0, 0, 8, 3, mx.random.key(0))(mx.zeros((2, 6)), mx.zeros((2, 4)))


def test_student_loss_is_the_mse_of_the_conditioned_prediction():
    model = cj.make_student(CONFIG, 4, 8, 3, mx.random.key(2))
    rng = np.random.default_rng(3)
    groups = rng.normal(size=(6, G, K, 3)).astype(np.float32)
    centres = rng.normal(size=(6, G, 3)).astype(np.float32)
    pose = rng.normal(size=(6, V, 4)).astype(np.float32)
    colour = rng.random(size=(6, V, 8)).astype(np.float32)
    target = rng.normal(size=(6, V, 3)).astype(np.float32)
    keep = mx.array(visible_groups(np.random.default_rng(0), 6, G, 0.5))
    args = (mx.array(groups), mx.array(centres), keep)
    loss, _ = cj.student_loss(model, *args, mx.array(pose), mx.array(colour), mx.array(target))
    f = np.array(model.encoder.features(*args), np.float64)
    z = (f - f.mean(0)) / np.sqrt(f.var(0) + 1e-5)  # standardised over the batch
    p = model.predictor
    pre = _linear(p.fc1, np.broadcast_to(z[:, None], (6, V, z.shape[1]))) + _linear(p.pose_in, pose) + _linear(
        p.colour_in, colour)
    want = _linear(p.out, np.maximum(_linear(p.fc2, np.maximum(pre, 0)), 0))
    assert loss.item() == pytest.approx(float(np.mean((want - target) ** 2)), rel=1e-4)
    # a different pose for the same objects changes the loss: the conditioning is used
    shifted, _ = cj.student_loss(model, *args, mx.array(pose + 2.0), mx.array(colour), mx.array(target))
    assert abs(shifted.item() - loss.item()) > 1e-4


def test_ceiling_loss_is_the_cross_entropy_of_the_predictor_read_as_a_class_head():
    model = cj.make_student(CONFIG, 0, 0, 5, mx.random.key(4))
    rng = np.random.default_rng(5)
    groups = mx.array(rng.normal(size=(6, G, K, 3)).astype(np.float32))
    centres = mx.array(rng.normal(size=(6, G, 3)).astype(np.float32))
    labels = np.array([0, 1, 2, 3, 4, 0])
    loss, _ = cj.ceiling_loss(model, groups, centres, None, None, None, mx.array(labels))
    logits = np.array(model.predictor(cj.batch_standardise(model.encoder.features(groups, centres))), np.float64)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert loss.item() == pytest.approx(float(-logp[np.arange(6), labels].mean()), rel=1e-5)


# --- masking drops groups before the encoder ----------------------------------------------------


def test_visible_groups_count_and_uniform_coverage():
    for ratio, keep in ((0.0, 16), (0.3, 11), (0.5, 8), (0.75, 4), (0.99, 1)):
        idx = visible_groups(np.random.default_rng(0), 500, 16, ratio)
        assert idx.shape == (500, keep)
        assert all(np.array_equal(np.unique(r), r) for r in idx[:50])  # sorted, distinct
    idx = visible_groups(np.random.default_rng(1), 4000, 16, 0.5)
    np.testing.assert_allclose(np.bincount(idx.ravel(), minlength=16) / 4000, 0.5, atol=0.04)


def test_dropped_groups_never_reach_the_encoder():
    enc = PointTransformer(16, 1, 2, 2.0, mx.random.key(0))
    rng = np.random.default_rng(0)
    groups = rng.normal(size=(2, 8, 5, 3)).astype(np.float32)
    centres = rng.normal(size=(2, 8, 3)).astype(np.float32)
    keep = np.array([[0, 2, 5], [1, 3, 7]])
    dropped = np.ones((2, 8), bool)
    dropped[np.arange(2)[:, None], keep] = False
    g2, c2 = groups.copy(), centres.copy()
    g2[dropped] += 10.0
    c2[dropped] -= 5.0
    k = mx.array(keep)
    a = enc(mx.array(groups), mx.array(centres), k)
    assert a.shape == (2, 3, 16)
    np.testing.assert_allclose(np.array(a), np.array(enc(mx.array(g2), mx.array(c2), k)), atol=1e-5)
    fa = np.array(enc.features(mx.array(groups), mx.array(centres), k))
    np.testing.assert_allclose(fa, np.array(enc.features(mx.array(g2), mx.array(c2), k)), atol=1e-5)
    # and the kept ones do: moving a kept group changes the feature
    g3 = groups.copy()
    g3[0, 2] += 1.0
    assert np.abs(np.array(enc.features(mx.array(g3), mx.array(centres), k)) - fa).max() > 1e-4
    # without a mask every group counts
    assert np.abs(np.array(enc.features(mx.array(g2), mx.array(c2))) - np.array(
        enc.features(mx.array(groups), mx.array(centres)))).max() > 1e-4


# --- what a run trains on and probes ---------------------------------------------------------------


def _sweep_data(n_per_class=8, classes=3, test_per_class=2):
    rng = np.random.default_rng(7)
    n = n_per_class * classes
    labels = np.repeat(np.arange(classes), n_per_class)
    train, test = cd.stratified_split(labels, test_per_class, seed=0)
    f32 = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    return cd.SweepData(labels, train, test, f32(n, G, K, 3), f32(n, G, 3), f32(n, V, 4), f32(n, V, 8),
                        {"default": f32(n, V, 5), "second": f32(n, V, 6), "pixels": f32(n, V, 7)})


class _Captured:
    def __call__(self, model, loss_fn, batch, optimizer, steps, *args, **kwargs):
        self.model, self.loss_fn, self.batch, self.steps = model, loss_fn, batch, steps
        return TrainLog(step=[0], parts={"loss": [1.0]})


def _objects(data, groups):
    rows = {g.tobytes(): i for i, g in enumerate(data.groups)}
    return np.array([rows[g.tobytes()] for g in np.array(groups)])


@pytest.mark.parametrize("arm", ["cond_none", "cond_pose", "cond_pose_colour", "pixels", "mask_0.5", "mask_0.75",
                                 "second_pose", "ceiling"])
def test_training_batches_hold_training_objects_their_targets_and_conditioning(arm, monkeypatch):
    captured = _Captured()
    monkeypatch.setattr(cj, "fit", captured)
    data = _sweep_data()
    cj.run_arm(CONFIG, arm, 0, data)
    recipe = cj.ARMS[arm]
    inputs = cj.CONDITIONING[recipe.conditioning]
    for step in range(captured.steps):
        groups, centres, keep, pose, colour, target = captured.batch(step)
        obj = _objects(data, groups)
        assert len(obj) == CONFIG.batch and len(set(obj)) == CONFIG.batch
        assert set(obj) <= set(data.train), "a held-out object was trained on"
        np.testing.assert_array_equal(np.array(centres), data.centres[obj])
        if recipe.objective == "labels":  # the ceiling reads the training objects' labels, nothing else
            want = data.labels[obj]
        else:
            want = data.targets["pixels" if recipe.objective == "pixels" else recipe.teacher][obj]
        np.testing.assert_array_equal(np.array(target), want)
        for name, given, values in (("pose", pose, data.pose), ("colour", colour, data.colour)):
            if name in inputs:
                np.testing.assert_array_equal(np.array(given), values[obj])
            else:
                assert given is None, f"{arm} was given {name}"
        if recipe.mask == 0:
            assert keep is None
        else:
            assert keep.shape == (CONFIG.batch, G - round(recipe.mask * G))
    out = len(np.unique(data.labels)) if recipe.objective == "labels" else want.shape[-1]
    assert captured.model.predictor.out.weight.shape[0] == out
    assert captured.loss_fn is (cj.ceiling_loss if recipe.objective == "labels" else cj.student_loss)


@pytest.mark.parametrize("arm", ["untrained", "cond_pose_colour"])
def test_probe_is_fitted_on_training_objects_and_scored_on_held_out_ones(arm, monkeypatch):
    monkeypatch.setattr(cj, "fit", _Captured())
    calls = spy_probe(monkeypatch, cj, "linear_accuracy")
    data = _sweep_data()
    result = cj.run_arm(CONFIG, arm, 0, data)
    ((features, labels, train, test, value),) = calls
    np.testing.assert_array_equal(train, data.train)
    np.testing.assert_array_equal(test, data.test)
    np.testing.assert_array_equal(labels, data.labels)
    assert features.shape == (len(data.labels), 2 * CONFIG.width)  # every object's global feature
    assert result.acc == pytest.approx(100 * value)
