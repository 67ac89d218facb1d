"""Chapter 2: the tiny ViT, the predictor, the data sets and one I-JEPA step."""

from dataclasses import replace

import mlx.core as mx
import numpy as np
import pytest

from jepabook.ijepa.experiment import IJEPA, PROFILES, IJEPAConfig, effective_rank, ijepa_loss, run_arm
from jepabook.ijepa.images import SHAPES, load_digits, make_shapes
from jepabook.blocks.vit import Predictor, ViT, patchify, sincos_positions

KEY = mx.random.key(0)


def test_patchify_2d_and_3d():
    x = mx.arange(2 * 8 * 8).reshape(2, 8, 8, 1).astype(mx.float32)
    p = patchify(x, (4, 4))
    assert p.shape == (2, 4, 16)
    np.testing.assert_array_equal(np.array(p[0, 1]), np.array(x[0, :4, 4:8, 0]).ravel())  # row-major grid
    clip = mx.zeros((1, 4, 8, 8, 3))
    assert patchify(clip, (2, 4, 4)).shape == (1, 2 * 2 * 2, 2 * 4 * 4 * 3)
    with pytest.raises(ValueError, match="not divisible"):
        patchify(x, (3, 4))


def test_sincos_positions_factor_over_axes():
    table = np.array(sincos_positions((8, 8), 32))
    assert table.shape == (64, 32)
    np.testing.assert_allclose(table[0:8, :16], np.repeat(table[:1, :16], 8, 0))  # first half: row only
    np.testing.assert_allclose(table[0::8, 16:], np.repeat(table[:1, 16:], 8, 0))  # second half: column only
    assert np.array(sincos_positions((4, 8, 8), 48)).shape == (256, 48)
    with pytest.raises(ValueError, match="divisible by 6"):
        sincos_positions((4, 8, 8), 32)


def test_context_encoder_sees_only_context_tokens():
    vit = ViT(16, (8, 8), 32, 2, 1, 2.0, KEY)
    patches = mx.random.normal((2, 64, 16), key=mx.random.key(1))
    keep = mx.array(np.tile(np.arange(0, 64, 3), (2, 1)))
    changed = mx.where(mx.arange(64)[None, :, None] % 3 == 0, patches, 5.0)  # alter every dropped token
    out = vit(patches, keep)
    assert out.shape == (2, keep.shape[1], 32)
    np.testing.assert_allclose(np.array(out), np.array(vit(changed, keep)), atol=1e-5)
    assert not np.allclose(np.array(vit.pooled(patches)), np.array(vit.pooled(changed)))


def test_each_target_block_is_its_own_sequence():
    pred = Predictor(32, 16, (8, 8), 1, 1, 2.0, KEY)
    context = mx.random.normal((2, 10, 32), key=mx.random.key(2))
    ctx_idx = mx.array(np.tile(np.arange(10), (2, 1)))
    targets = mx.array(np.tile(np.array([[20, 21, 22], [40, 41, 42]]), (2, 1, 1)))
    moved = mx.array(np.tile(np.array([[20, 21, 22], [50, 51, 60]]), (2, 1, 1)))
    a, b = pred(context, ctx_idx, targets), pred(context, ctx_idx, moved)
    assert a.shape == (2, 2, 3, 32)
    np.testing.assert_allclose(np.array(a[:, 0]), np.array(b[:, 0]), atol=1e-5)  # block 0 never sees block 1
    assert not np.allclose(np.array(a[:, 1]), np.array(b[:, 1]))


def test_target_encoder_is_frozen_and_gets_no_gradient():
    model = IJEPA(PROFILES["ci"], pixels=False, key=KEY)
    trainable = {k for k, _ in __import__("mlx.utils").utils.tree_flatten(model.trainable_parameters())}
    assert trainable and not any(k.startswith("target.") for k in trainable)
    patches = mx.random.normal((2, 64, 16))
    ctx, tgt = mx.array([[0, 1, 2, 3]] * 2), mx.array([[[10, 11]]] * 2)
    loss, _ = ijepa_loss(model, patches, ctx, tgt, 0.99, pixels=False)
    assert np.isfinite(loss.item()) and loss.item() > 0


def test_effective_rank_closed_forms():
    rng = np.random.default_rng(0)
    assert effective_rank(np.outer(rng.standard_normal(500), rng.standard_normal(8))) == pytest.approx(1.0, abs=1e-6)
    iso = np.linalg.qr(rng.standard_normal((500, 8)))[0]  # orthonormal columns: equal singular values
    assert effective_rank(iso - iso.mean(0) + iso.mean(0)) == pytest.approx(8.0, rel=0.05)


def test_shapes_dataset_is_balanced_standardised_and_seeded():
    x, y = make_shapes(60, seed=4)
    assert x.shape == (60, 32, 32, 1) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [10] * len(SHAPES)
    assert abs(x.mean()) < 1e-4 and abs(x.std() - 1) < 1e-3
    np.testing.assert_array_equal(make_shapes(60, seed=4)[0], x)
    with pytest.raises(ValueError, match="size"):
        make_shapes(10, seed=0, size=8)


def test_digits_load_offline_at_the_model_size():
    x, y = load_digits(32)
    assert x.shape == (1797, 32, 32, 1) and set(y) == set(range(10))


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="divisible by patch"):
        IJEPAConfig(image_size=30)
    with pytest.raises(ValueError, match="unknown arms"):
        IJEPAConfig(arms=("multiblock", "mae"))
    with pytest.raises(ValueError, match="ema_start"):
        IJEPAConfig(ema_start=1.5)


def test_ema_target_update_inside_the_training_step():
    import mlx.optimizers as optim
    from mlx.utils import tree_flatten

    from jepabook.ijepa.experiment import update_target
    from jepabook.core.training import fit

    model = IJEPA(PROFILES["ci"], pixels=False, key=KEY)
    before = dict(tree_flatten(model.target.parameters()))
    patches = mx.random.normal((2, 64, 16))
    ctx, tgt = mx.array([[0, 1, 2, 3]] * 2), mx.array([[[10, 11]]] * 2)
    fit(model, lambda m, *b: ijepa_loss(m, *b, pixels=False), lambda i: (patches, ctx, tgt, 0.25),
        optim.SGD(learning_rate=0.5), steps=1, compile=False, after_update=update_target)
    online = dict(tree_flatten(model.encoder.parameters()))
    after = dict(tree_flatten(model.target.parameters()))
    key = "blocks.0.fc1.weight"
    assert not np.allclose(np.array(online[key]), np.array(before[key]))  # the online net moved
    np.testing.assert_allclose(np.array(after[key]), 0.25 * np.array(before[key]) + 0.75 * np.array(online[key]),
                               atol=1e-6)


def test_one_arm_trains_and_is_probed():
    config = replace(PROFILES["ci"], n_images=64, steps=2)
    result = run_arm(config, "multiblock", seed=0)
    # logged at the first and the last step (log_every=10 > steps), every value a finite positive loss
    assert result.loss_steps == [0, 1] and all(np.isfinite(result.loss)) and min(result.loss) > 0
    # the probed features are spread over many directions (a collapsed encoder gives rank 1; seeds 0-3 read 12-14)
    assert 4 < result.metrics["rank"] <= config.width and result.metrics["spread"] > 0
    assert set(result.metrics) == {"acc", "rank", "spread"} and result.train_seconds > 0
