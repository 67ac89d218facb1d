"""Grouping and the point transformer of Chapter 4: closed forms, equivariance and invariances."""

import mlx.core as mx
import numpy as np
import pytest

from jepabook.crossjepa.groups import farthest_point_sample, group_points
from jepabook.crossjepa.model import ConditionedPredictor, PointTransformer, visible_groups


def test_farthest_point_sample_on_a_line():
    # points 0..9 on a line: the centroid is 4.5, so the start is the first farthest point (0), then 9,
    # then the point farthest from both (4 or 5; argmax takes the first)
    pts = np.zeros((1, 10, 3))
    pts[0, :, 0] = np.arange(10)
    assert farthest_point_sample(pts, 3).tolist() == [[0, 9, 4]]
    assert sorted(farthest_point_sample(pts, 10)[0].tolist()) == list(range(10))


def test_farthest_point_sample_rejects_bad_m():
    with pytest.raises(ValueError, match="m must be"):
        farthest_point_sample(np.zeros((1, 5, 3)), 6)
    with pytest.raises(ValueError, match="shape"):
        farthest_point_sample(np.zeros((5, 3)), 2)


def _cloud(seed=0, b=2, n=64):
    return np.random.default_rng(seed).normal(size=(b, n, 3))


def test_groups_are_recentred_nearest_neighbours():
    pts = _cloud()
    neigh, centres = group_points(pts, 8, 5)
    assert neigh.shape == (2, 8, 5, 3) and centres.shape == (2, 8, 3)
    # the centre is its own nearest neighbour: the first offset is zero
    np.testing.assert_allclose(neigh[:, :, 0], 0.0, atol=1e-6)
    # every other point of the cloud is at least as far from the centre as the group's farthest member
    for b in range(2):
        for g in range(8):
            d_all = np.sort(np.linalg.norm(pts[b] - centres[b, g], axis=1))
            d_grp = np.linalg.norm(neigh[b, g], axis=1)
            np.testing.assert_allclose(np.sort(d_grp), d_all[:5], rtol=1e-5, atol=1e-6)


def test_grouping_is_rotation_equivariant():
    pts = _cloud(1)
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))
    n1, c1 = group_points(pts, 6, 4)
    n2, c2 = group_points(pts @ q.T, 6, 4)
    np.testing.assert_allclose(n2, n1 @ q.T.astype(np.float32), atol=1e-5)
    np.testing.assert_allclose(c2, c1 @ q.T.astype(np.float32), atol=1e-5)


def test_visible_groups_counts_and_bad_ratio():
    rng = np.random.default_rng(0)
    keep = visible_groups(rng, 5, 16, 0.75)
    assert keep.shape == (5, 4)
    assert all(len(set(row)) == 4 and list(row) == sorted(row) for row in keep.tolist())
    assert visible_groups(rng, 2, 16, 0.0).tolist() == [list(range(16))] * 2
    with pytest.raises(ValueError, match="ratio must be in"):
        visible_groups(rng, 2, 16, 1.0)


def _model(width=16):
    return PointTransformer(width, 2, 2, 2.0, mx.random.key(0))


def test_features_are_invariant_to_group_and_point_order():
    neigh, centres = group_points(_cloud(3), 8, 6)
    model = _model()
    f = np.array(model.features(mx.array(neigh), mx.array(centres)))
    assert f.shape == (2, 32)
    perm_g = np.random.default_rng(4).permutation(8)
    perm_p = np.random.default_rng(5).permutation(6)
    f2 = np.array(model.features(mx.array(neigh[:, perm_g][:, :, perm_p]), mx.array(centres[:, perm_g])))
    np.testing.assert_allclose(f2, f, atol=1e-5)


def test_keep_equals_running_on_the_kept_groups():
    neigh, centres = group_points(_cloud(6), 8, 6)
    model = _model()
    keep = np.array([[0, 2, 5], [1, 3, 7]])
    a = np.array(model(mx.array(neigh), mx.array(centres), mx.array(keep)))
    rows = np.arange(2)[:, None]
    b = np.array(model(mx.array(neigh[rows, keep]), mx.array(centres[rows, keep])))
    np.testing.assert_allclose(a, b, atol=1e-5)
    # and masking changes the features (the encoder really sees fewer groups)
    full = np.array(model.features(mx.array(neigh), mx.array(centres)))
    part = np.array(model.features(mx.array(neigh), mx.array(centres), mx.array(keep)))
    assert np.abs(full - part).max() > 1e-3


def test_predictor_checks_its_side_information():
    pred = ConditionedPredictor(8, 4, 0, 16, 5, mx.random.key(1))
    assert pred(mx.zeros((3, 8)), mx.ones((3, 4))).shape == (3, 5)
    with pytest.raises(ValueError, match="takes 4 pose values; got 0"):
        pred(mx.zeros((3, 8)))
    with pytest.raises(ValueError, match="takes 0 colour values; got 8"):
        pred(mx.zeros((3, 8)), mx.ones((3, 4)), mx.ones((3, 8)))
    with pytest.raises(ValueError, match="colour_dim must be an integer >= 0"):
        ConditionedPredictor(8, 4, -1, 16, 5, mx.random.key(1))
    # the side input matters: a different pose gives a different prediction
    assert np.abs(np.array(pred(mx.zeros((1, 8)), mx.ones((1, 4))) - pred(mx.zeros((1, 8)), -mx.ones((1, 4))))).max() > 0
