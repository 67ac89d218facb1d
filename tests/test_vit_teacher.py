"""Chapter 4's self-trained teacher: its pooled map, augmentation, LeJEPA loss, fingerprint and weight cache."""

from dataclasses import replace

import mlx.core as mx
import numpy as np
import pytest

from jepabook.blocks.sigreg import sigreg
from jepabook.crossjepa import vit_teacher as vt
from jepabook.crossjepa.teachers import embed_cached

SPEC = vt.TeacherSpec(width=16, depth=1, heads=2, proj_dim=8, steps=2, batch=4, slices=8)


def _images(n=8, size=16, seed=0):
    return np.random.default_rng(seed).random((n, size, size, 3)).astype(np.float32)


def test_pooled_map_averages_each_quadrant_of_the_token_grid():
    tokens = np.random.default_rng(0).normal(size=(2, 16, 3)).astype(np.float32)  # a 4×4 grid, row-major
    grid = tokens.reshape(2, 4, 4, 3)
    want = np.concatenate([grid[:, :2, :2].mean((1, 2)), grid[:, :2, 2:].mean((1, 2)),
                           grid[:, 2:, :2].mean((1, 2)), grid[:, 2:, 2:].mean((1, 2))], axis=1)
    np.testing.assert_allclose(np.array(vt.pooled_map(mx.array(tokens), 4, 2)), want, rtol=1e-6, atol=1e-6)
    # pool 1 is the mean token
    np.testing.assert_allclose(np.array(vt.pooled_map(mx.array(tokens), 4, 1)), tokens.mean(1), atol=1e-6)
    with pytest.raises(ValueError, match="grid"):
        vt.pooled_map(mx.array(tokens), 4, 3)


def test_augment_moves_a_pixel_by_at_most_the_shift_and_keeps_the_range():
    img = np.zeros((50, 9, 9, 3), np.float32)
    img[:, 4, 4] = [0.9, 0.5, 0.1]
    out = vt.augment(img, np.random.default_rng(0), shift=2)
    assert out.shape == img.shape and out.min() >= 0 and out.max() <= 1
    for o in out:
        ys, xs = np.nonzero(o.max(-1))
        assert len(ys) == 1 and abs(ys[0] - 4) <= 2 and abs(xs[0] - 4) <= 2
    moved = [tuple(np.argwhere(o.max(-1))[0]) for o in out]
    assert len(set(moved)) > 1  # the shift is random
    np.testing.assert_array_equal(vt.augment(img, np.random.default_rng(0), 0).max(-1) > 0, img.max(-1) > 0)


def test_lejepa_loss_prediction_term_is_zero_for_identical_copies_and_sigreg_is_the_blocks():
    model = vt.TeacherNet(SPEC, 16, mx.random.key(0))
    x = mx.array(_images())
    key = mx.random.key(3)
    loss, parts = vt.lejepa_loss(model, mx.stack([x, x]), key, 0.05, 8)
    assert float(parts["pred"]) == pytest.approx(0.0, abs=1e-9)
    assert float(parts["sigreg"]) == pytest.approx(float(sigreg(model.project(x), key, num_slices=8)), rel=1e-5)
    assert float(loss) == pytest.approx(0.95 * float(parts["pred"]) + 0.05 * float(parts["sigreg"]), rel=1e-6)
    y = mx.array(_images(seed=1))
    _, parts2 = vt.lejepa_loss(model, mx.stack([x, y]), key, 0.05, 8)
    assert float(parts2["pred"]) > 0


def test_embedding_is_the_pooled_map_of_the_tokens():
    model = vt.TeacherNet(SPEC, 16, mx.random.key(0))
    x = mx.array(_images(3))
    e = np.array(model.embed(x))
    assert e.shape == (3, SPEC.pool ** 2 * SPEC.width)
    np.testing.assert_allclose(e, np.array(vt.pooled_map(model.tokens(x), 2, 2)), atol=1e-6)


def test_spec_and_image_size_are_validated():
    with pytest.raises(ValueError, match="steps must be"):
        vt.TeacherSpec(steps=-1)
    with pytest.raises(ValueError, match="n_aug"):
        vt.TeacherSpec(n_aug=1)
    with pytest.raises(ValueError, match="divisible"):
        vt.TeacherNet(SPEC, 20, mx.random.key(0))
    with pytest.raises(RuntimeError, match="bind"):
        vt.ViTTeacher(SPEC).fingerprint()


def test_fingerprint_follows_the_spec_and_the_training_views(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path))
    a = vt.ViTTeacher(SPEC).bind(_images())
    assert a.fingerprint() == vt.ViTTeacher(SPEC).bind(_images()).fingerprint()
    assert a.fingerprint() != vt.ViTTeacher(replace(SPEC, steps=3)).bind(_images()).fingerprint()
    assert a.fingerprint() != vt.ViTTeacher(SPEC).bind(_images(seed=1)).fingerprint()


def test_training_happens_once_then_its_weights_are_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path))
    views = _images()
    first = vt.ViTTeacher(SPEC).bind(views)
    e1 = first.embed(views[:3])
    assert first.train_seconds > 0 and first.log is not None
    untrained = vt.ViTTeacher(replace(SPEC, steps=0)).bind(views)
    assert np.abs(untrained.embed(views[:3]) - e1).max() > 1e-4  # training changed the network
    monkeypatch.setattr(vt, "fit", lambda *a, **k: pytest.fail("trained again"))
    second = vt.ViTTeacher(SPEC).bind(views)
    np.testing.assert_array_equal(second.embed(views[:3]), e1)
    assert second.train_seconds == pytest.approx(first.train_seconds)


def test_embed_cached_stores_the_training_time(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPABOOK_CACHE", str(tmp_path / "w"))
    views = _images()
    t = vt.ViTTeacher(SPEC).bind(views)
    _, info = embed_cached(t, views, directory=tmp_path)
    assert not info.hit and info.train_seconds == pytest.approx(t.train_seconds) and info.train_seconds > 0
    _, again = embed_cached(vt.ViTTeacher(SPEC).bind(views), views, directory=tmp_path)
    assert again.hit and again.train_seconds == pytest.approx(info.train_seconds)
