"""Chapter 2's mechanisms pinned by hand computations: where the targets come from (the EMA target
encoder, LayerNorm-ed, selected after the encoder), the stop-gradient, the smooth-L1 loss, the
per-patch pixel normalisation, the EMA step and its momentum schedule, what the probe reads, and the
masks' statistics.
"""

from dataclasses import replace

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from mlx.utils import tree_flatten

from jepabook.blocks import masks as mk
from jepabook.blocks.nets import init_linears
from jepabook.blocks.vit import Predictor, ViT
from jepabook.core.training import TrainLog
from jepabook.ijepa import experiment as ij

CONFIG = ij.PROFILES["ci"]
B, N, D = 2, 64, 16  # batch, tokens of the 8×8 grid, values per 4×4 patch


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    patches = rng.normal(size=(B, N, D)).astype(np.float32)
    ctx = np.stack([np.arange(0, 32, 2), np.arange(1, 33, 2)])  # 16 context tokens per image
    tgt = np.array([[[40, 41, 48, 49], [54, 55, 62, 63]], [[36, 37, 44, 45], [50, 51, 58, 59]]])  # 2 blocks of 4
    return patches, ctx, tgt


def _select(x, tgt):
    """(b, n, d) at (b, t, k) → (b, t, k, d), in NumPy."""
    return np.stack([x[i][tgt[i]] for i in range(len(x))])


def _smooth_l1(d):
    a = np.abs(d)
    return float(np.where(a < 1.0, 0.5 * d**2, a - 0.5).mean())


def _layer_norm(x, eps=1e-6):
    x = np.asarray(x, np.float64)
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)


def _model(pixels, seed=0):
    """A model whose target encoder differs from its context encoder (as after training)."""
    model = ij.build_model(CONFIG, ij.ARMS["pixels" if pixels else "multiblock"], 0, seed)
    init_linears(model.target, mx.random.key(seed + 100))
    k1, k2 = mx.random.split(mx.random.key(seed + 200))
    # a trained final LayerNorm has its own scale and shift, so its output is not already normalised
    model.target.norm.weight = 1.0 + 0.5 * mx.random.normal(model.target.norm.weight.shape, key=k1)
    model.target.norm.bias = 0.5 * mx.random.normal(model.target.norm.bias.shape, key=k2)
    model.target.freeze()
    return model


def _prediction(model, patches, ctx, tgt):
    p, c, t = mx.array(patches), mx.array(ctx), mx.array(tgt)
    return np.array(model.predictor(model.encoder(p, c), c, t), np.float64)


# --- representation targets ---------------------------------------------------------------------


def test_targets_are_the_target_encoders_layer_normed_features_at_the_target_tokens():
    model = _model(pixels=False)
    patches, ctx, tgt = _inputs()
    loss, _ = ij.ijepa_loss(model, mx.array(patches), mx.array(ctx), mx.array(tgt), 0.99, pixels=False)
    pred = _prediction(model, patches, ctx, tgt)
    full_target = np.array(model.target(mx.array(patches)))  # the whole image, then select
    expected = _smooth_l1(pred - _select(_layer_norm(full_target), tgt))
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # the two encoders really differ, so the context encoder's features would give another loss
    online = _smooth_l1(pred - _select(_layer_norm(np.array(model.encoder(mx.array(patches)))), tgt))
    assert abs(online - expected) > 1e-3 * expected
    # and the LayerNorm matters: raw features give another loss
    assert abs(_smooth_l1(pred - _select(full_target, tgt)) - expected) > 1e-3 * expected


def test_loss_is_smooth_l1_with_beta_one():
    """Large errors count linearly, small ones as ½·d²: shift the prediction by known amounts."""
    model = _model(pixels=False)
    patches, ctx, tgt = _inputs()
    target = _select(_layer_norm(np.array(model.target(mx.array(patches)))), tgt)
    pred = _prediction(model, patches, ctx, tgt)
    # the closed form on the actual errors, both branches present
    d = pred - target
    assert (np.abs(d) < 1).any() and (np.abs(d) >= 1).any()
    loss, _ = ij.ijepa_loss(model, mx.array(patches), mx.array(ctx), mx.array(tgt), 0.99, pixels=False)
    assert loss.item() == pytest.approx(float(np.mean(np.where(np.abs(d) < 1, 0.5 * d**2, np.abs(d) - 0.5))),
                                        rel=1e-5)
    assert loss.item() != pytest.approx(float(np.mean(d**2)), rel=1e-2)


def test_no_gradient_reaches_the_target_encoder_even_when_unfrozen():
    """The stop-gradient on the target branch, independently of the freeze."""
    model = _model(pixels=False)
    model.target.unfreeze()
    patches, ctx, tgt = (mx.array(a) for a in _inputs())
    _, grads = nn.value_and_grad(model, lambda m: ij.ijepa_loss(m, patches, ctx, tgt, 0.99, pixels=False)[0])(model)
    flat = dict(tree_flatten(grads))
    target = [k for k in flat if k.startswith("target.")]
    assert target and all(np.all(np.array(flat[k]) == 0.0) for k in target)
    assert any(np.abs(np.array(v)).max() > 0 for k, v in flat.items() if k.startswith("encoder."))
    assert any(np.abs(np.array(v)).max() > 0 for k, v in flat.items() if k.startswith("predictor."))


def test_frozen_target_is_not_in_the_gradient_tree():
    model = _model(pixels=False)
    patches, ctx, tgt = (mx.array(a) for a in _inputs())
    _, grads = nn.value_and_grad(model, lambda m: ij.ijepa_loss(m, patches, ctx, tgt, 0.99, pixels=False)[0])(model)
    assert not any(k.startswith("target.") for k, _ in tree_flatten(grads))


# --- pixel targets --------------------------------------------------------------------------------


def _affine_patches(seed=1):
    """Patches with very different offsets and scales per patch, so normalisation is visible."""
    patches, ctx, tgt = _inputs(seed)
    rng = np.random.default_rng(seed + 1)
    scale = rng.uniform(0.2, 4.0, size=(B, N, 1))
    shift = rng.uniform(-3.0, 3.0, size=(B, N, 1))
    return (patches * scale + shift).astype(np.float32), ctx, tgt


def test_pixel_targets_are_normalised_per_patch():
    """MAE's normalisation, per patch over its pixels: (x − mean) / √(var + 1e-6), biased variance."""
    model = _model(pixels=True)
    patches, ctx, tgt = _affine_patches()
    loss, _ = ij.ijepa_loss(model, mx.array(patches), mx.array(ctx), mx.array(tgt), 0.99, pixels=True)
    pred = _prediction(model, patches, ctx, tgt)
    normalised = _layer_norm(patches)
    np.testing.assert_allclose(normalised.mean(-1), 0.0, atol=1e-9)
    np.testing.assert_allclose(normalised.var(-1), 1.0, rtol=1e-4)
    assert loss.item() == pytest.approx(_smooth_l1(pred - _select(normalised, tgt)), rel=1e-5)
    assert loss.item() != pytest.approx(_smooth_l1(pred - _select(patches, tgt)), rel=1e-2)


def test_pixel_loss_ignores_a_per_patch_affine_change_of_the_target_patches():
    model = _model(pixels=True)
    patches, ctx, tgt = _affine_patches()
    changed = patches.copy()
    rng = np.random.default_rng(5)
    for i in range(B):  # rescale and shift only the target patches (the context encoder never sees them)
        idx = tgt[i].ravel()
        changed[i, idx] = changed[i, idx] * rng.uniform(0.3, 3.0, (len(idx), 1)) + rng.uniform(-2, 2, (len(idx), 1))
    args = (mx.array(ctx), mx.array(tgt), 0.99)
    a = ij.ijepa_loss(model, mx.array(patches), *args, pixels=True)[0].item()
    b = ij.ijepa_loss(model, mx.array(changed), *args, pixels=True)[0].item()
    assert a == pytest.approx(b, rel=1e-4)


# --- the EMA step and its schedule ----------------------------------------------------------------


def test_update_target_is_the_ema_towards_the_context_encoder():
    model = _model(pixels=False)
    before_t = {k: np.array(v) for k, v in tree_flatten(model.target.parameters())}
    online = {k: np.array(v) for k, v in tree_flatten(model.encoder.parameters())}
    ij.update_target(model, "unused", 0.9)
    after = {k: np.array(v) for k, v in tree_flatten(model.target.parameters())}
    for k in after:
        np.testing.assert_allclose(after[k], 0.9 * before_t[k] + 0.1 * online[k], rtol=1e-5, atol=1e-7)
    after_online = {k: np.array(v) for k, v in tree_flatten(model.encoder.parameters())}
    assert all(np.array_equal(after_online[k], online[k]) for k in online)  # the online net is not pulled back


class _Captured:
    def __init__(self):
        self.calls = []

    def __call__(self, model, loss_fn, batch, optimizer, steps, *args, **kwargs):
        self.calls.append(dict(model=model, loss_fn=loss_fn, batch=batch, steps=steps, **kwargs))
        return TrainLog(step=[0], parts={"loss": [1.0]})


def test_training_batches_carry_the_linear_momentum_schedule_and_the_ema_hook(monkeypatch):
    captured = _Captured()
    monkeypatch.setattr(ij, "fit", captured)
    config = replace(CONFIG, n_images=64, steps=10, warmup=1, chunks=1, ema_sum=0.5)  # τ₀ = 1 − 2·0.5/10 = 0.9
    ij.run_arm(config, "multiblock", 0)
    (call,) = captured.calls
    assert call["after_update"] is ij.update_target and call["steps"] == 10
    taus = [call["batch"](i)[-1].item() for i in range(10)]  # an mx.array, so the compiled step never retraces
    np.testing.assert_allclose(taus, 0.9 + 0.1 * np.arange(10) / 10, rtol=1e-6)
    patches, ctx, tgt, _ = call["batch"](0)
    assert patches.shape == (config.batch, 64, 16) and tgt.shape[:2] == (config.batch, 4)
    for c, t in zip(np.array(ctx), np.array(tgt)):
        assert not set(c) & set(t.ravel())


# --- what the probe reads ---------------------------------------------------------------------------


@pytest.mark.parametrize("arm, frozen", [("multiblock", (True, False)), ("pixels", (True, False)), ("untrained", (False,)),
                                         ("supervised", (False,))])
def test_probe_reads_the_target_then_the_context_encoder(arm, frozen, monkeypatch):
    monkeypatch.setattr(ij, "fit", _Captured())
    seen = []
    real = ij._features

    def spy(encoder, patches, *a, **k):
        seen.append(encoder)
        return real(encoder, patches, *a, **k)

    monkeypatch.setattr(ij, "_features", spy)
    ij.run_arm(replace(CONFIG, n_images=64, steps=2, warmup=1, chunks=1), arm, 0)
    # trained JEPA arms (pixel targets too: an EMA copy is kept) read the frozen target encoder, then the
    # context encoder; the untrained and supervised arms have one encoder, the trainable one
    assert tuple(len(tree_flatten(e.trainable_parameters())) == 0 for e in seen) == frozen


# --- the masks' statistics --------------------------------------------------------------------------


def test_released_blocks_all_have_the_same_shape_but_corrected_blocks_vary():
    """The released sampler draws one block size per batch; the corrected one per block. A wide scale
    range on the paper's 14×14 grid makes different draws give visibly different blocks."""
    def shapes(variant):
        m = mk.multiblock_masks(np.random.default_rng(1), 16, (14, 14), target_scale=(0.1, 0.4), min_keep=10,
                                variant=variant)
        return {(np.ptp(t // 14) + 1, np.ptp(t % 14) + 1) for sample in m.targets for t in sample}

    for seed in range(3):
        m = mk.multiblock_masks(np.random.default_rng(seed), 16, (14, 14), target_scale=(0.1, 0.4), min_keep=10)
        blocks = {(np.ptp(t // 14) + 1, np.ptp(t % 14) + 1, len(t)) for sample in m.targets for t in sample}
        assert len(blocks) == 1, blocks  # one (h, w) for every target block of the batch
        (h, w, size), = blocks
        assert h * w == size  # and each block is a full rectangle
    assert len(shapes("corrected")) > 3


def test_multiblock_context_is_large_and_excludes_every_target():
    m = mk.multiblock_masks(np.random.default_rng(2), 64, (8, 8), variant="corrected", n_targets=2)
    for ctx, tgt in zip(m.context, m.targets):
        assert not set(ctx) & set(tgt.ravel())
    # with two targets of ≤ 20 % each, the context (≥ 85 % block minus targets) keeps at least a third
    assert m.context.shape[1] >= 64 // 3


def test_random_mask_ratio_and_uniform_coverage():
    m = mk.random_masks(np.random.default_rng(3), 2000, (8, 8), 0.6)
    assert m.targets.shape == (2000, 1, 38) and m.context.shape == (2000, 26)
    hidden = np.bincount(m.targets.ravel(), minlength=64) / 2000
    np.testing.assert_allclose(hidden, 38 / 64, atol=0.05)  # every patch hidden ~60 % of the time


def test_block_mask_target_is_one_square_block():
    m = mk.block_masks(np.random.default_rng(4), 16, (8, 8), 0.6)
    for t in m.targets[:, 0]:
        assert np.ptp(t // 8) + 1 == 6 and np.ptp(t % 8) + 1 == 6 and len(t) == 36


# --- positions: added before any token is dropped, and given to every mask token ------------------


def test_kept_tokens_know_where_they_are():
    """Identical patches at different grid positions: only the fixed sin-cos positions tell them apart,
    in the context encoder (added before the tokens are dropped) and in the predictor's mask tokens."""
    vit = ViT(D, (8, 8), 32, 1, 1, 2.0, mx.random.key(0))
    same = mx.broadcast_to(mx.array(np.random.default_rng(0).normal(size=(1, 1, D)).astype(np.float32)), (1, N, D))
    top, bottom = mx.array([[0, 1, 2, 3]]), mx.array([[60, 61, 62, 63]])
    assert np.abs(np.array(vit(same, top)) - np.array(vit(same, bottom))).max() > 1e-3
    pred = Predictor(32, 16, (8, 8), 1, 1, 2.0, mx.random.key(1))
    context = mx.array(np.random.default_rng(1).normal(size=(1, 4, 32)).astype(np.float32))
    out = np.array(pred(context, top, mx.array([[[20, 21, 40, 41]]])))
    assert np.abs(out[0, 0, :2] - out[0, 0, 2:]).max() > 1e-3  # mask tokens at other places predict other things


def test_supervised_ceiling_never_trains_on_the_probes_images(monkeypatch):
    captured = _Captured()
    monkeypatch.setattr(ij, "fit", captured)
    config = replace(CONFIG, n_images=96, steps=4, warmup=1, chunks=1)
    probe = np.array(ij.load_world(config, config.texture, 0).patches).reshape(96, -1)
    ij.run_arm(config, "supervised", 0)
    (call,) = captured.calls
    assert call["after_update"] is None
    for i in range(4):  # no batch image is one of the probe's images (its labelled or its held-out ones)
        x, _ = call["batch"](i)
        x = np.array(x).reshape(len(x), -1)
        assert np.abs(x[:, None, :] - probe[None, :, :]).max(-1).min() > 1e-3


def test_ema_sum_sets_the_first_momentum_the_step_sees(monkeypatch):
    captured = _Captured()
    monkeypatch.setattr(ij, "fit", captured)
    for total, tau0 in ((0.5, 0.9), (2.0, 0.6)):
        ij.run_arm(replace(CONFIG, n_images=64, steps=10, warmup=1, chunks=1, ema_sum=total), "multiblock", 0)
        assert captured.calls[-1]["batch"](0)[-1].item() == pytest.approx(tau0)
