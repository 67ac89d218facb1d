"""Chapter 4's default teacher: trained with labels on its own objects, never on the student's.

Pinned here: its objects are disjoint from the student's (numbered after them, same draw), its loss is
the cross-entropy of its head, its embedding is the pooled map of its tokens (not the head), its
bad inputs, its fingerprint and its weight cache.
"""

from dataclasses import replace

import mlx.core as mx
import numpy as np
import pytest

from jepabook.core import streams
from jepabook.crossjepa import data as cd
from jepabook.crossjepa import experiment as cj
from jepabook.crossjepa import label_teacher as lt
from jepabook.crossjepa.shapes3d import make_world

SPEC = lt.LabelledSpec(objects_per_class=2, pool=2, hidden=(12, 6), steps=3, batch=4)


def _views(n=8, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, size, size, 3)).astype(np.float32), np.arange(n) % 3


def test_first_index_gives_the_same_draws_objects_after_the_students():
    both = make_world(3, n_points=16, n_views=1, size=8, seed=5, dense_points=64)
    later = make_world(1, n_points=16, n_views=1, size=8, seed=5, dense_points=64, first_index=2)
    per_class = both.labels.reshape(-1, 3)  # class-major: object 2 of each class is at column 2
    rows = np.arange(len(both.labels)).reshape(-1, 3)[:, 2]
    np.testing.assert_array_equal(later.labels, per_class[:, 2])
    np.testing.assert_array_equal(later.clouds, both.clouds[rows])
    np.testing.assert_array_equal(later.renders, both.renders[rows])
    student = make_world(2, n_points=16, n_views=1, size=8, seed=5, dense_points=64)
    flat = lambda w: {c.tobytes() for c in w.clouds}  # noqa: E731
    assert not flat(student) & flat(later)  # no object in both
    with pytest.raises(ValueError, match="first_index"):
        make_world(1, n_points=16, n_views=1, size=8, first_index=-1)


def _net(key=0):
    return lt.LabelledNet(SPEC.pool, SPEC.hidden, 16, 3, mx.random.key(key))


def test_hidden_layers_are_relu_layers_on_the_pooled_view():
    model = _net()
    images = _views(3)[0]
    x = images.reshape(3, 8, 2, 8, 2, 3).mean(axis=(2, 4)).reshape(3, -1) - 0.5  # pooled 2×, centred
    want = []
    for layer in model.layers:
        x = np.maximum(x @ np.array(layer.weight).T + np.array(layer.bias), 0)
        want.append(x)
    got = model.hidden(mx.array(images))
    assert [g.shape[-1] for g in got] == list(SPEC.hidden)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.array(g), w, rtol=1e-4, atol=1e-5)


def test_label_loss_is_the_cross_entropy_of_the_head_on_the_last_hidden_layer():
    model = _net()
    images, labels = _views()
    x = mx.array(images)
    loss, parts = lt.label_loss(model, x, mx.array(labels))
    logits = np.array(model.head(model.hidden(x)[-1]), np.float64)
    np.testing.assert_allclose(np.array(model.logits(x)), logits, rtol=1e-5, atol=1e-6)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert float(loss) == pytest.approx(float(-logp[np.arange(len(labels)), labels].mean()), rel=1e-5)
    assert float(parts["accuracy"]) == pytest.approx(float((logits.argmax(1) == labels).mean()))


def test_embedding_is_every_hidden_layer_not_the_head():
    model = _net()
    x = mx.array(_views(3)[0])
    e = np.array(model.embed(x))
    assert e.shape == (3, sum(SPEC.hidden))
    np.testing.assert_allclose(e, np.concatenate([np.array(h) for h in model.hidden(x)], -1), atol=1e-6)


def test_bad_inputs_are_refused_by_name():
    with pytest.raises(ValueError, match="objects_per_class must be a positive integer"):
        lt.LabelledSpec(objects_per_class=0)
    with pytest.raises(ValueError, match="hidden must be a non-empty tuple"):
        lt.LabelledSpec(hidden=())
    with pytest.raises(ValueError, match="hidden must be a non-empty tuple"):
        lt.LabelledSpec(hidden=[8])
    with pytest.raises(ValueError, match="divisible by pool=3"):
        lt.LabelledNet(3, (4,), 16, 3, mx.random.key(0))
    images, labels = _views()
    teacher = lt.LabelledTeacher(SPEC)
    with pytest.raises(RuntimeError, match="bind"):
        teacher.fingerprint()
    with pytest.raises(RuntimeError, match="bind"):
        teacher.embed(images)
    with pytest.raises(ValueError, match="labels must be 8 non-negative integers"):
        teacher.bind(images, labels[:5])
    with pytest.raises(ValueError, match="labels must be 8 non-negative integers"):
        teacher.bind(images, labels.astype(float))
    with pytest.raises(ValueError, match="images must have shape"):
        teacher.bind(images[..., 0], labels)
    with pytest.raises(ValueError, match="fewer than the batch"):
        teacher.bind(images[:2], labels[:2])


def test_fingerprint_follows_the_spec_the_views_and_the_labels():
    images, labels = _views()
    a = lt.LabelledTeacher(SPEC).bind(images, labels).fingerprint()
    assert a == lt.LabelledTeacher(SPEC).bind(images, labels).fingerprint()
    assert a != lt.LabelledTeacher(replace(SPEC, steps=4)).bind(images, labels).fingerprint()
    assert a != lt.LabelledTeacher(SPEC).bind(_views(seed=1)[0], labels).fingerprint()
    assert a != lt.LabelledTeacher(SPEC).bind(images, labels[::-1].copy()).fingerprint()


def test_training_happens_once_then_its_weights_are_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path))
    images, labels = _views()
    first = lt.LabelledTeacher(SPEC).bind(images, labels)
    e1 = first.embed(images[:3])
    assert first.train_seconds > 0 and first.log is not None
    start = lt.LabelledNet(SPEC.pool, SPEC.hidden, 16, 3, streams.key(SPEC.seed, "teacher", "labelled_init"))
    assert np.abs(np.array(start.embed(mx.array(images[:3]))) - e1).max() > 1e-4  # training changed it
    monkeypatch.setattr(lt, "fit", lambda *a, **k: pytest.fail("trained again"))
    second = lt.LabelledTeacher(SPEC).bind(images, labels)
    np.testing.assert_array_equal(second.embed(images[:3]), e1)
    assert second.train_seconds == pytest.approx(first.train_seconds)


def test_training_lowers_the_loss_on_a_separable_toy(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path))
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(2), 16)
    images = np.zeros((32, 16, 16, 3), np.float32)
    images[labels == 0, 4:12, 4:12] = 0.9  # class 0 shows an object, class 1 is empty
    images += rng.random(images.shape).astype(np.float32) * 0.05
    t = lt.LabelledTeacher(replace(SPEC, steps=40, batch=16)).bind(images, labels)
    t.embed(images[:1])
    loss = t.log.parts["loss"]
    assert loss[-1] < 0.5 * loss[0]


class _Recorder:
    needs_labelled_views = True
    name = "labelled"
    spec = SPEC

    def bind(self, images, labels, views_hash=None):
        self.images, self.labels = images, labels
        return self

    def fingerprint(self):
        return "recorder"

    def embed(self, images):
        return images.mean(axis=(1, 2))


def test_prepare_gives_the_labelled_teacher_objects_numbered_after_the_students():
    config = replace(cj.PROFILES["ci"], n_per_class=3, test_per_class=1, n_views=2, render_size=16, n_points=64,
                     n_groups=4, group_size=8, teachers=("labelled", "pixels"), default_teacher="labelled",
                     second_teacher="pixels")
    recorder = _Recorder()
    prep = cd.prepare(config, {"labelled": recorder, "pixels": cd.OFFLINE_TEACHERS["pixels"]()})
    own = make_world(SPEC.objects_per_class, config.n_points, config.n_views, config.render_size, config.world_seed,
                     config.colour_bias, light=config.light, first_index=config.n_per_class)
    np.testing.assert_array_equal(recorder.images, own.renders.reshape((-1, 16, 16, 3)))
    np.testing.assert_array_equal(recorder.labels, np.repeat(own.labels, config.n_views))
    student_views = {v.tobytes() for v in prep.world.renders.reshape((-1, 16, 16, 3))}
    assert not student_views & {v.tobytes() for v in recorder.images}  # not one of the student's views
    assert prep.timing["teacher_world"] > 0
