"""Chapter 3 (V-JEPA) mechanisms, each on a hand-made input with a known answer: tubelets, tube masks,
the loss (L1/L2, feature and pixel targets, generators), the predictor's mask tokens, the EMA target,
the attentive probe and the supervised ceiling's classifier. ``benchmarks/mutate.py`` breaks each one
(``-k vjepa``) and expects a test here to fail."""

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

from jepabook.blocks.masks import VJEPA_GENERATORS, multiblock3d_collate
from jepabook.blocks.probes import linear_accuracy, train_test_split
from jepabook.vjepa.attentive import AttentiveProbe, ProbeConfig, attentive_accuracy
from jepabook.vjepa.experiment import PROFILES, _tau, loss_spikes
from jepabook.vjepa.model import (VJEPA, Classifier, TubePredictor, classifier_loss, normalised_pixels, tubelets,
                                  update_target, vjepa_loss)
from jepabook.vjepa.tubes import fixed_counts, random_tubes, tube_masks, union_ratio

GRID = (2, 6, 6)
SHORT, LONG = VJEPA_GENERATORS


# --- tubelets -----------------------------------------------------------------------------------------

def test_tubelets_have_the_grid_shape_and_invert_by_hand():
    video = np.random.default_rng(0).standard_normal((2, 4, 24, 24, 1)).astype(np.float32)
    tok = np.array(tubelets(mx.array(video), (2, 4, 4)))
    assert tok.shape == (2, 2 * 6 * 6, 32)
    for t, r, c in [(0, 0, 0), (1, 5, 5), (1, 2, 3)]:
        block = video[:, 2 * t:2 * t + 2, 4 * r:4 * r + 4, 4 * c:4 * c + 4, :]
        assert np.array_equal(tok[:, t * 36 + r * 6 + c], block.reshape(2, -1))
    back = tok.reshape(2, 2, 6, 6, 2, 4, 4, 1).transpose(0, 1, 4, 2, 5, 3, 6, 7).reshape(video.shape)
    assert np.array_equal(back, video)
    with pytest.raises(ValueError, match="video"):
        tubelets(mx.zeros((2, 24, 24, 1)), (2, 4, 4))


# --- masks --------------------------------------------------------------------------------------------

def test_block_origins_have_inclusive_bounds():
    # a block as wide as the grid fits only at origin 0, which an exclusive bound (0 .. cols − w − 1) would forbid;
    # a 2×2 block reaches the last row and column
    wide = {"n_blocks": 1, "spatial_scale": (0.5, 0.5), "aspect": (0.5, 0.5)}  # 18 tokens: h = 3, w = 6
    m = tube_masks(np.random.default_rng(0), 16, GRID, wide, k_ctx=18, k_tgt=18)
    assert m.masked.any(axis=2).all()  # every column of every sample's frames holds the block
    small = {"n_blocks": 1, "spatial_scale": (0.12, 0.12), "aspect": (1.0, 1.0)}  # 4 tokens: 2×2
    m = tube_masks(np.random.default_rng(1), 200, GRID, small, k_ctx=10, k_tgt=4)
    assert m.masked[:, :, -1, :].any() and m.masked[:, :, :, -1].any()


def test_realised_masking_ratios_match_the_issue_and_the_released_sampler():
    rng = np.random.default_rng(0)
    short, long = union_ratio(rng, GRID, SHORT, 3000), union_ratio(rng, GRID, LONG, 3000)
    assert abs(short.mean() - 0.63) < 0.015 and abs(long.mean() - 0.83) < 0.015
    released = {"short": [], "long": []}
    for _ in range(150):
        for g, m in multiblock3d_collate(rng, 24, GRID).items():
            released[g].append(m.masked.mean())
    assert abs(short[short < 1].mean() - np.mean(released["short"])) < 0.02
    assert abs(long[long < 1].mean() - np.mean(released["long"])) < 0.02
    # every block spans both time steps: a masked position is masked in every frame
    m = tube_masks(rng, 32, GRID, SHORT, 18, 36)
    assert np.array_equal(m.masked[:, 0], m.masked[:, 1])


def test_random_tubes_hide_the_released_share_in_every_frame():
    m = random_tubes(np.random.default_rng(0), 16, GRID, 0.9)
    assert m.masked.mean() == pytest.approx(33 / 36)
    assert np.array_equal(m.masked[:, 0], m.masked[:, 1])
    assert m.context.shape == (16, 6) and m.target.shape == (16, 66)
    with pytest.raises(ValueError, match="ratio"):
        random_tubes(np.random.default_rng(0), 2, GRID, 1.0)


def test_fixed_counts_equalise_every_sample_to_a_random_subset():
    rng = np.random.default_rng(3)
    k_ctx, k_tgt = fixed_counts(rng, GRID, SHORT, 0.1)
    assert 1 <= k_ctx < 72 and 1 <= k_tgt < 72 and k_ctx + k_tgt <= 72
    for _ in range(5):
        m = tube_masks(rng, 32, GRID, SHORT, k_ctx, k_tgt)
        assert m.context.shape == (32, k_ctx) and m.target.shape == (32, k_tgt)
        flat = m.masked.reshape(32, -1)
        for b in range(32):
            assert len(set(m.context[b])) == k_ctx and np.all(np.diff(m.context[b]) > 0)
            assert not flat[b, m.context[b]].any() and flat[b, m.target[b]].all()
    # a random subset, not a prefix: the last time step keeps about its share of the context
    m = tube_masks(rng, 256, GRID, SHORT, k_ctx, k_tgt)
    late = (m.context >= 36).mean()
    assert 0.35 < late < 0.65


@pytest.mark.parametrize("kwargs, name", [
    ({"k_ctx": 0}, "k_ctx"), ({"k_tgt": 72}, "k_tgt"), ({"k_ctx": 40, "k_tgt": 40}, "k_ctx \\+ k_tgt"),
    ({"grid": (2, 6)}, "grid"), ({"batch": 0}, "batch"), ({"generator": {"blocks": 8}}, "generator"),
])
def test_bad_mask_arguments_name_the_parameter(kwargs, name):
    args = {"batch": 2, "grid": GRID, "generator": SHORT, "k_ctx": 10, "k_tgt": 10, **kwargs}
    with pytest.raises(ValueError, match=name):
        tube_masks(np.random.default_rng(0), **args)


# --- model, loss, probe -------------------------------------------------------------------------------

def _model(pixels: bool) -> VJEPA:
    return VJEPA(32, GRID, 12, 1, 2, 2.0, 12, 1, 2, 1, pixels, mx.random.key(0))


def test_l1_and_l2_loss_values_on_known_inputs():
    patches = mx.array(np.random.default_rng(0).standard_normal((3, 72, 32)).astype(np.float32))
    ctx = mx.array(np.tile(np.arange(10), (3, 1)))
    tgt = mx.array(np.tile(np.arange(10, 30), (3, 1)))
    model = _model(pixels=True)
    model.predictor = lambda context, cidx, tidx, g: mx.zeros((3, 20, 32))  # predicts zero everywhere
    z = np.array(normalised_pixels(patches))[:, 10:30]
    l1, parts = vjepa_loss(model, patches, ctx, tgt, mx.array(0.9), power=1.0)
    l2, _ = vjepa_loss(model, patches, ctx, tgt, mx.array(0.9), power=2.0)
    assert float(l1) == pytest.approx(np.abs(z).mean(), rel=1e-5)
    assert float(l2) == pytest.approx(0.5, rel=1e-4)  # unit variance per tubelet: mean z² = 1, halved
    assert set(parts) == {"gen0"}


def _layer_norm(x):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-6)


PRED = np.random.default_rng(9).standard_normal((2, 12, 12)).astype(np.float32)  # a fixed, non-zero prediction


def test_feature_targets_are_layer_normalised_target_features():
    model = _model(pixels=False)
    # the ViT ends in a LayerNorm that is the identity at init: give it a scale and shift, so that
    # its output is not already normalised and the loss's own LayerNorm shows
    model.target.norm.weight = 2.0 * mx.ones_like(model.target.norm.weight)
    model.target.norm.bias = 0.5 * mx.ones_like(model.target.norm.bias)
    patches = mx.array(np.random.default_rng(1).standard_normal((2, 72, 32)).astype(np.float32))
    ctx, tgt = mx.array(np.tile(np.arange(8), (2, 1))), mx.array(np.tile(np.arange(8, 20), (2, 1)))
    seen = {}

    def pred(context, cidx, tidx, g):
        seen["g"] = g
        return mx.array(PRED)

    model.predictor = pred
    loss, _ = vjepa_loss(model, patches, ctx, tgt, mx.array(0.9), power=1.0)
    feats = np.array(model.target(patches))[:, 8:20]
    assert float(loss) == pytest.approx(np.abs(PRED - _layer_norm(feats)).mean(), rel=1e-4) and seen["g"] == 0


def test_attentive_probe_shapes_and_that_it_finds_one_informative_token():
    probe = AttentiveProbe(12, 8, 3, 2.0, mx.random.key(0))
    x = mx.zeros((5, 72, 12))
    assert probe(x).shape == (5, 8) and probe.pooled(x).shape == (5, 12)
    # the label is written into one token at a random position; the rest is noise
    rng = np.random.default_rng(0)
    n = 600
    labels = rng.integers(0, 4, n)
    tokens = rng.standard_normal((n, 16, 12)).astype(np.float32)
    where = rng.integers(0, 16, n)
    tokens[np.arange(n), where, :4] += 6 * np.eye(4)[labels]
    tokens[np.arange(n), where, 4] += 6  # a flag the query can attend to
    train, test = train_test_split(n, 0.3, 0)
    acc = attentive_accuracy(tokens, labels, train, test, ProbeConfig(steps=150, batch=64), seed=0)
    pooled = linear_accuracy(tokens.mean(1), labels, train, test)
    assert acc > 0.9 and acc > pooled
    with pytest.raises(ValueError, match="tokens"):
        attentive_accuracy(tokens[:, 0], labels, train, test, ProbeConfig(), 0)


def test_random_tubes_and_blocks_hide_the_same_positions_in_every_frame():
    grid = (4, 4, 4)
    m = random_tubes(np.random.default_rng(2), 8, grid, 0.9)
    assert all(np.array_equal(m.masked[:, 0], m.masked[:, f]) for f in range(4))
    m = tube_masks(np.random.default_rng(2), 8, grid, SHORT, 2, 4)
    assert all(np.array_equal(m.masked[:, 0], m.masked[:, f]) for f in range(4))


def test_targets_come_from_the_ema_target_encoder_not_the_context_encoder():
    model = _model(pixels=False)
    # move the context encoder away from the target (they start equal)
    model.encoder.update(nn.utils.tree_map(lambda p: p + 0.3, model.encoder.parameters()))
    patches = mx.array(np.random.default_rng(4).standard_normal((2, 72, 32)).astype(np.float32))
    ctx, tgt = mx.array(np.tile(np.arange(8), (2, 1))), mx.array(np.tile(np.arange(8, 20), (2, 1)))
    model.predictor = lambda context, cidx, tidx, g: mx.array(PRED)
    loss, _ = vjepa_loss(model, patches, ctx, tgt, mx.array(0.9), power=2.0)
    target = _layer_norm(np.array(model.target(patches))[:, 8:20])
    online = _layer_norm(np.array(model.encoder(patches))[:, 8:20])
    assert float(loss) == pytest.approx(0.5 * ((PRED - target) ** 2).mean(), rel=1e-4)
    assert abs(0.5 * ((PRED - online) ** 2).mean() - float(loss)) > 0.01  # the test can tell them apart


def test_the_loss_is_the_mean_of_the_generators_terms():
    model = VJEPA(32, GRID, 12, 1, 2, 2.0, 12, 1, 2, 2, True, mx.random.key(0))
    patches = mx.array(np.random.default_rng(5).standard_normal((2, 72, 32)).astype(np.float32))
    masks = []
    for lo in (0, 30):
        masks += [mx.array(np.tile(np.arange(lo, lo + 10), (2, 1))), mx.array(np.tile(np.arange(lo + 10, lo + 20), (2, 1)))]
    loss, parts = vjepa_loss(model, patches, *masks, mx.array(0.9), power=1.0)
    assert set(parts) == {"gen0", "gen1"} and float(parts["gen0"]) != pytest.approx(float(parts["gen1"]))
    assert float(loss) == pytest.approx((float(parts["gen0"]) + float(parts["gen1"])) / 2, rel=1e-6)


def test_each_generator_has_its_own_mask_token():
    pred = TubePredictor(12, 12, GRID, 1, 2, 2.0, mx.random.key(1), n_generators=2)
    assert pred.mask_token.shape == (2, 12) and float(mx.abs(pred.mask_token).max()) == 0.0  # zero at init
    context = mx.array(np.random.default_rng(6).standard_normal((1, 5, 12)).astype(np.float32))
    cidx, tidx = mx.array([[0, 1, 2, 3, 4]]), mx.array([[10, 11]])
    same = [np.array(pred(context, cidx, tidx, g)) for g in (0, 1)]
    assert np.allclose(same[0], same[1])
    pred.mask_token = mx.array(np.stack([np.zeros(12), np.linspace(-2, 2, 12)]).astype(np.float32))
    a, b = (np.array(pred(context, cidx, tidx, g)) for g in (0, 1))
    assert not np.allclose(a, b)


def test_update_target_is_the_ema_closed_form():
    model = _model(pixels=False)
    model.encoder.update(nn.utils.tree_map(lambda p: p + 1.0, model.encoder.parameters()))
    before = np.array(model.target.embed.weight)
    online = np.array(model.encoder.embed.weight)
    update_target(model, mx.array(0.75))
    assert np.allclose(np.array(model.target.embed.weight), 0.75 * before + 0.25 * online, atol=1e-6)


def test_the_ema_momentum_rises_linearly_to_one():
    c = PROFILES["full"]
    assert _tau(c, 0) == pytest.approx(c.ema_start)
    assert _tau(c, c.steps // 2) == pytest.approx((c.ema_start + 1) / 2)
    assert _tau(c, c.steps) == pytest.approx(1.0)


def test_a_loss_spike_is_strictly_above_the_factor():
    flat = [1.0] * 30
    assert loss_spikes(flat + [2.0], 20, 2.0)[0] == 0 and loss_spikes(flat + [2.01], 20, 2.0)[0] == 1


def test_the_ceiling_classifier_reads_its_encoder_through_an_attentive_head():
    model = Classifier(16, (4, 4, 4), 12, 1, 2, 2.0, 8, 3, mx.random.key(0))
    x = mx.array(np.random.default_rng(7).standard_normal((3, 64, 16)).astype(np.float32))
    logits = model(x)
    assert logits.shape == (3, 8)
    assert np.allclose(np.array(logits), np.array(model.head(model.encoder(x))))
    y = mx.array([0, 1, 2])
    loss, _ = classifier_loss(model, x, y)
    z = np.array(logits)
    expected = np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(3), [0, 1, 2]])
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_each_arm_trains_at_the_rate_its_arm_names():
    # a vanishing L2 rate leaves the L2 arm's encoder where it started, while L1 (its own rate) moves
    from dataclasses import replace

    from jepabook.vjepa.experiment import train_arm

    c = replace(PROFILES["ci"], n_pretrain=32, n_probe=64, steps=2, batch=8, lr=1e-3, l2_lr=1e-30, spike_lr=1e-30)
    start = np.array(train_arm(c, "untrained", 0)[0].encoder.embed.weight)
    moved = {a: float(np.abs(np.array(train_arm(c, a, 0)[0].encoder.embed.weight) - start).max())
             for a in ("l1", "l2", "l1_fast")}
    assert moved["l1"] > 1e-5 and moved["l2"] < 1e-12 and moved["l1_fast"] < 1e-12


def test_spike_steps_are_the_steps_loss_spikes_counts():
    from jepabook.vjepa.experiment import spike_steps

    curve = [1.0] * 30 + [2.5] + [1.0] * 10 + [3.0, 1.0]
    assert list(spike_steps(curve, 20, 2.0)) == [30, 41]
    assert loss_spikes(curve, 20, 2.0)[0] == 2
    assert spike_steps([1.0] * 5, 20, 2.0).size == 0
