"""Chapter 2: the tiny ViT, the predictor, the data sets and one I-JEPA step."""

from dataclasses import replace

import mlx.core as mx
import numpy as np
import pytest

from jepabook.ijepa import experiment as ij
from jepabook.ijepa.experiment import PROFILES, IJEPAConfig, effective_rank, ijepa_loss, run_arm
from jepabook.ijepa.images import SHAPES, load_digits, make_shapes
from jepabook.ijepa.model import IJEPA, Supervised
from jepabook.blocks.vit import Predictor, ViT, patchify, sincos_positions

KEY = mx.random.key(0)
SIZES = dict(patch_dim=16, grid=(8, 8), width=32, depth=2, heads=1, mlp_ratio=2.0)


def _jepa(pixels=False, key=KEY):
    return IJEPA(**SIZES, pred_width=16, pred_depth=2, pixels=pixels, key=key)


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
    model = _jepa()
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
    with pytest.raises(ValueError, match="patch"):
        make_shapes(10, seed=0, texture=0.5, patch=5)


def test_texture_is_independent_per_patch_and_says_nothing_of_the_label():
    # texture alone (no object contrast is possible to remove, so compare with and without texture)
    plain, y = make_shapes(200, seed=1)
    textured, y2 = make_shapes(200, seed=1, texture=0.8)
    np.testing.assert_array_equal(y, y2)
    diff = (textured - plain * plain.std() / plain.std()).squeeze(-1)
    # the texture differs between neighbouring cells: correlation of a cell's pixels with the next cell's ~ 0
    a = textured[:, :4, :4, 0].reshape(200, -1) - textured[:, :4, :4, 0].reshape(200, -1).mean(1, keepdims=True)
    b = textured[:, :4, 4:8, 0].reshape(200, -1) - textured[:, :4, 4:8, 0].reshape(200, -1).mean(1, keepdims=True)
    assert abs(np.mean([np.corrcoef(u, v)[0, 1] for u, v in zip(a, b)])) < 0.1
    assert diff.std() > 0.3  # the texture is a large part of every image's variance


def test_digits_load_offline_at_the_model_size():
    x, y = load_digits(32)
    assert x.shape == (1797, 32, 32, 1) and set(y) == set(range(10))


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="divisible by patch"):
        IJEPAConfig(image_size=30)
    with pytest.raises(ValueError, match="unknown arms"):
        IJEPAConfig(arms=("multiblock", "mae"))
    with pytest.raises(ValueError, match="ema_sum"):
        IJEPAConfig(ema_sum=0.0)
    with pytest.raises(ValueError, match="warmup"):
        IJEPAConfig(steps=10, warmup=10)
    with pytest.raises(ValueError, match="test_fraction"):
        IJEPAConfig(test_fraction=1.0)


def test_ema_target_update_inside_the_training_step():
    import mlx.optimizers as optim
    from mlx.utils import tree_flatten

    from jepabook.ijepa.experiment import update_target
    from jepabook.core.training import fit

    model = _jepa()
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


def test_one_arm_trains_and_both_encoders_are_probed():
    config = replace(PROFILES["ci"], n_images=64, steps=2, warmup=1)
    result = run_arm(config, "multiblock", seed=0)
    # logged at the first and the last step (log_every=10 > steps), every value a finite positive loss
    assert result.loss_steps == [0, 1] and all(np.isfinite(result.loss)) and min(result.loss) > 0
    assert set(result.metrics) == {"acc", "rank", "ctx_acc", "ctx_rank", "se", "context", "target", "loss"}
    assert result.train_seconds > 0 and result.metrics["loss"] == pytest.approx(np.mean(result.loss[-5:]))
    # the probed features are spread over many directions (a collapsed encoder gives rank 1)
    assert 4 < result.metrics["rank"] <= config.width and 4 < result.metrics["ctx_rank"] <= config.width
    # the realised context is the arm's fixed count over the 64-token grid
    assert result.metrics["context"] == pytest.approx(ij.context_fraction(ij.ARMS["multiblock"], config))
    # the probe's binomial standard error on the held-out images
    n_test = 64 - int(round(64 * (1 - config.test_fraction)))
    p = result.metrics["acc"] / 100
    assert result.metrics["se"] == pytest.approx(100 * np.sqrt(p * (1 - p) / n_test), rel=0.2)


def test_untrained_and_supervised_arms_probe_one_encoder_and_supervised_learns_labels():
    config = replace(PROFILES["ci"], n_images=96, steps=30, warmup=3, lr=3e-3)
    untrained = run_arm(config, "untrained", seed=0)
    supervised = run_arm(config, "supervised", seed=0)
    assert set(untrained.metrics) == {"acc", "rank", "se", "context", "target"}
    assert set(supervised.metrics) == {"acc", "rank", "se", "context", "target", "loss"}
    assert untrained.train_seconds == 0 and supervised.train_seconds > 0
    assert untrained.metrics["context"] == 1.0
    # cross-entropy falls on its labelled images
    assert supervised.loss[-1] < supervised.loss[0] - 0.1


def test_supervised_encoder_starts_as_the_jepa_encoder():
    config = PROFILES["ci"]
    jepa, sup = _jepa(), Supervised(**SIZES, n_classes=6, key=KEY)
    patches = mx.random.normal((2, 64, 16), key=mx.random.key(3))
    np.testing.assert_array_equal(np.array(jepa.encoder(patches)), np.array(sup.encoder(patches)))


def test_supervised_model_depends_on_its_key_alone():
    """Workers run tasks in any order, so no model may draw from MLX's global generator."""
    mx.random.seed(1)
    a = Supervised(**SIZES, n_classes=6, key=KEY)
    mx.random.seed(2)
    b = Supervised(**SIZES, n_classes=6, key=KEY)
    np.testing.assert_array_equal(np.array(a.head.weight), np.array(b.head.weight))
    np.testing.assert_array_equal(np.array(a.head.bias), np.array(b.head.bias))


def test_ema_schedule_total_movement():
    config = replace(PROFILES["full"], steps=800, ema_sum=3.0)
    tau0 = ij.ema_start(config)
    taus = tau0 + (1 - tau0) * np.arange(config.steps) / config.steps  # the schedule MaskedBatches feeds the step
    assert (1 - taus).sum() == pytest.approx(3.0, rel=0.01)
    assert tau0 == pytest.approx(1 - 6 / 800)


def test_masked_batches_feed_the_ema_schedule_across_chunks():
    config = replace(PROFILES["ci"], n_images=64, steps=10, warmup=1)
    batches = ij.MaskedBatches(ij.ARMS["multiblock"], config, mx.zeros((64, 64, 16)), seed=0)
    tau0 = ij.ema_start(config)
    assert batches(0)[-1].item() == pytest.approx(tau0)
    batches.offset = 5  # the second of two chunks
    assert batches(2)[-1].item() == pytest.approx(tau0 + (1 - tau0) * 7 / 10)


def test_the_ceiling_trains_on_its_own_labelled_images():
    # the same world from another stream: not one of the probe's images, same law
    config = replace(PROFILES["ci"], n_images=64)
    probe = ij.load_world(config, config.texture, 0)
    own = ij.load_world(config, config.texture, 0, stream="shapes_labelled")
    assert not np.allclose(np.array(probe.patches), np.array(own.patches))
    assert sorted(np.bincount(own.labels)) == sorted(np.bincount(probe.labels))


def test_train_arm_is_top_level_and_reads_after_every_chunk():
    import inspect

    config = replace(PROFILES["ci"], n_images=64, steps=4, warmup=1)
    model, log, reads = ij.train_arm(config, "pixels", 0, chunks=2, read=lambda m: m.predictor.out.weight.shape[0])
    # two reads, each of the pixel predictor's output width; the log runs on across the chunks
    assert reads == [16, 16] and log.step == [0, 1, 2, 3]
    # no function defined inside train_arm (closures in a loop were the old page's problem)
    assert "def " not in inspect.getsource(ij.train_arm).split('"""')[-1]


def test_realised_context_of_each_masking():
    config = PROFILES["full"]
    fr = {a: ij.context_fraction(ij.ARMS[a], config) for a in ("random", "block", "rasterized", "untrained")}
    assert fr == {"random": 26 / 64, "block": 28 / 64, "rasterized": 16 / 64, "untrained": 1.0}
    # a smaller context scale and more targets each shrink the multi-block context
    mb, c40, t1 = (ij.context_fraction(ij.ARMS[a], config) for a in ("multiblock", "small_context", "one_target"))
    assert c40 < mb < t1


def test_realised_target_block_of_each_masking():
    config = PROFILES["full"]
    fr = {a: ij.target_fraction(ij.ARMS[a], config) for a in ("multiblock", "random", "block", "rasterized",
                                                              "one_target", "untrained", "supervised")}
    # the fixed-count sampler cuts each (0.15, 0.2) block to the smallest such block on 8×8: 8 tokens
    assert fr == {"multiblock": 8 / 64, "random": 38 / 64, "block": 36 / 64, "rasterized": 16 / 64,
                  "one_target": 8 / 64, "untrained": 0.0, "supervised": 0.0}


def test_probe_se_closed_form():
    assert ij.probe_se(50.0, 2500) == pytest.approx(1.0)
    assert ij.probe_se(100.0, 10) == 0.0


def test_the_field_is_locally_predictable_and_absent_by_default():
    # neighbouring patches share the smooth field, distant ones do not; field=0 keeps the old world's bits
    plain, _ = make_shapes(200, seed=2, texture=0.4)
    again, _ = make_shapes(200, seed=2, texture=0.4, field=0.0)
    np.testing.assert_array_equal(plain, again)
    field, _ = make_shapes(200, seed=2, field=3.0, field_sigma=4.0)
    x = field[..., 0]
    near = np.corrcoef(x[:, 8, 8], x[:, 8, 12])[0, 1]  # one patch apart
    far = np.corrcoef(x[:, 8, 8], x[:, 8, 24])[0, 1]  # four patches apart
    assert near > 0.5 and abs(far) < 0.2
    with pytest.raises(ValueError, match="field"):
        make_shapes(10, seed=0, field=-1.0)


@pytest.mark.parametrize("heads", [1, 3])
def test_self_attention_and_its_written_out_gradient_match_autodiff_of_mlx_attention(heads):
    """blocks.vit.self_attention (polynomial softmax, hand-written backward) against MLX's own attention
    differentiated automatically: values and the gradient with respect to the fused qkv projection."""
    from jepabook.blocks.vit import self_attention

    b, n, d = 3, 7, 12
    qkv = mx.random.normal((b, n, 3 * d), key=mx.random.key(0)) * 2
    w = mx.random.normal((b, n, d), key=mx.random.key(1))
    scale = (d // heads) ** -0.5

    def reference(t):
        q, k, v = t.reshape(b, n, 3, heads, d // heads).transpose(2, 0, 3, 1, 4)
        o = mx.fast.scaled_dot_product_attention(q, k, v, scale=scale)
        return o.transpose(0, 2, 1, 3).reshape(b, n, d)

    def ours(t):
        return self_attention(t, heads, scale)

    assert np.allclose(np.array(ours(qkv)), np.array(reference(qkv)), rtol=1e-5, atol=1e-6)
    g = mx.grad(lambda t: (ours(t) * w).sum())(qkv)
    g_ref = mx.grad(lambda t: (reference(t) * w).sum())(qkv)
    assert np.allclose(np.array(g), np.array(g_ref), rtol=1e-5, atol=2e-6)
    # q, k and v each get their own, non-zero gradient (the stacking puts each in its place)
    for part in np.split(np.array(g), 3, axis=-1):
        assert np.abs(part).max() > 1e-3
    compiled = mx.compile(mx.grad(lambda t: (ours(t) * w).sum()))
    assert np.abs(np.array(compiled(qkv)) - np.array(g)).max() < 1e-6
