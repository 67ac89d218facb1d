"""Chapter 3 (V-JEPA): the toy clips, tubelets, tube masks, loss, attentive probe and claim rules."""

from dataclasses import replace

import mlx.core as mx
import numpy as np
import pytest

from jepabook.blocks.masks import VJEPA_GENERATORS, multiblock3d_collate
from jepabook.blocks.probes import linear_accuracy, train_test_split
from jepabook.core.rules import NOT_REPRODUCED, REPRODUCED, Greater, evaluate
from jepabook.vjepa import claims as vclaims
from jepabook.vjepa.attentive import AttentiveProbe, ProbeConfig, attentive_accuracy
from jepabook.vjepa.experiment import PROFILES, VJEPAConfig, ema_horizon, loss_spikes, run_arm
from jepabook.vjepa.model import VJEPA, normalised_pixels, tubelets, vjepa_loss
from jepabook.vjepa.tubes import fixed_counts, random_tubes, tube_masks, union_ratio
from jepabook.vjepa.videos import DIRECTIONS, make_clips

GRID = (2, 6, 6)
SHORT, LONG = VJEPA_GENERATORS


# --- clips --------------------------------------------------------------------------------------------

def test_clips_are_deterministic_per_seed_with_the_right_shapes_and_balanced_labels():
    a, b, c = make_clips(64, 3), make_clips(64, 3), make_clips(64, 4)
    assert a.video.shape == (64, 8, 24, 24, 1) and a.video.dtype == np.float32
    assert a.object_mask.shape == (64, 8, 24, 24)
    assert np.array_equal(a.video, b.video) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.video, c.video)
    assert np.array_equal(np.bincount(a.labels, minlength=8), np.full(8, 8))
    assert not np.array_equal(make_clips(64, 3, stream="probe").video, a.video)  # streams differ
    assert abs(a.object_mask.mean() - 0.12) < 0.02
    assert abs(make_clips(64, 3, object_area=0.4).object_mask.mean() - 0.4) < 0.05


def _centroids(mask: np.ndarray) -> np.ndarray:
    """Circular (torus) centroid ``(n, frames, 2)`` of each frame's object mask, in pixels."""
    size = mask.shape[-1]
    ang = 2 * np.pi * np.arange(size) / size
    out = []
    for axis in (-2, -1):
        w = mask.sum(axis=-1 if axis == -2 else -2).astype(float)  # (n, frames, size) marginal along the axis
        z = (w * np.exp(1j * ang)).sum(-1)
        out.append(np.angle(z) % (2 * np.pi) * size / (2 * np.pi))
    return np.stack(out, -1)


def test_the_label_is_the_direction_of_the_object_displacement():
    clips = make_clips(256, 0, frames=4)
    cen = _centroids(clips.object_mask)
    d = (cen[:, 1] - cen[:, 0] + 12) % 24 - 12  # (dy, dx) on the torus
    nearest = np.argmax(d @ DIRECTIONS.T, axis=1)
    assert np.mean(nearest == clips.labels) > 0.97


def test_a_single_frame_carries_no_label():
    # in distribution: the object's position in a frame is uniform whatever the direction, so each
    # direction's mean occupancy map is flat up to sampling noise
    clips = make_clips(4096, 1, frames=4)
    occupancy = np.stack([clips.object_mask[clips.labels == k, 2].mean(0) for k in range(8)])
    spread = occupancy.std(0).mean()
    noise = np.sqrt(0.12 * 0.88 / (4096 / 8))  # binomial sd of one class's per-pixel occupancy
    assert spread < 1.5 * noise
    # and a probe on one frame is at chance, within three standard errors
    train, test = train_test_split(4096, 0.25, 0)
    acc = 100 * linear_accuracy(clips.video[:, 2].reshape(4096, -1), clips.labels, train, test)
    assert acc < vclaims.chance_bound(len(test))


@pytest.mark.parametrize("kwargs, name", [
    ({"frames": 1}, "frames"), ({"n": 0}, "n"), ({"object_area": 1.5}, "object_area"), ({"speed": 0}, "speed"),
    ({"noise": -0.1}, "noise"), ({"size": 2.5}, "size"),
])
def test_bad_clip_arguments_name_the_parameter(kwargs, name):
    args = {"n": 8, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=name):
        make_clips(**args)


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


def test_feature_targets_are_layer_normalised_target_features():
    model = _model(pixels=False)
    patches = mx.array(np.random.default_rng(1).standard_normal((2, 72, 32)).astype(np.float32))
    ctx, tgt = mx.array(np.tile(np.arange(8), (2, 1))), mx.array(np.tile(np.arange(8, 20), (2, 1)))
    seen = {}

    def pred(context, cidx, tidx, g):
        seen["g"] = g
        return mx.zeros((2, 12, 12))

    model.predictor = pred
    loss, _ = vjepa_loss(model, patches, ctx, tgt, mx.array(0.9), power=1.0)
    feats = np.array(model.target(patches))[:, 8:20]
    normed = (feats - feats.mean(-1, keepdims=True)) / np.sqrt(feats.var(-1, keepdims=True) + 1e-6)
    assert float(loss) == pytest.approx(np.abs(normed).mean(), rel=1e-4) and seen["g"] == 0


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


def test_loss_spikes_on_a_constructed_curve():
    flat = [1.0] * 30
    assert loss_spikes(flat, 20, 2.0) == (0, 1.0)
    spikes, worst = loss_spikes(flat + [3.0] + [1.0] * 5, 20, 2.0)
    assert spikes == 1 and worst == pytest.approx(3.0)
    assert loss_spikes(flat + [1.9], 20, 2.0)[0] == 0
    with pytest.raises(ValueError, match="window"):
        loss_spikes(flat, 0, 2.0)


def test_ema_horizon_closed_form():
    c = PROFILES["full"]
    # Σ_{i<S} (1 − τ0)(1 − i/S) = (1 − τ0)(S + 1)/2
    assert ema_horizon(c) == pytest.approx((1 - c.ema_start) * (c.steps + 1) / 2)
    lo, hi = vclaims.EMA_HORIZON
    assert lo <= ema_horizon(c) <= hi and lo <= ema_horizon(PROFILES["ci"]) <= hi


@pytest.mark.parametrize("kwargs, name", [
    ({"width": 50}, "width"), ({"arms": ("l1", "nope")}, "unknown arms"), ({"steps": 0}, "steps"),
    ({"tubelet": (3, 4, 4)}, "tubelet"), ({"ema_start": 1.0}, "ema_start"),
])
def test_bad_config_names_the_field(kwargs, name):
    with pytest.raises(ValueError, match=name):
        replace(PROFILES["ci"], **kwargs)
    with pytest.raises(ValueError, match="steps"):
        ProbeConfig(steps=0)


# --- claims -------------------------------------------------------------------------------------------

def test_every_paired_rule_can_pass_and_fail():
    items = vclaims.claims_for(PROFILES["full"])
    rules = [c.rule for c in items if isinstance(c.rule, Greater)]
    assert len(rules) >= 8
    for r in rules:
        base = [50.0, 52.0, 49.0, 51.0, 50.5]
        up = {r.a: [v + 10 + i for i, v in enumerate(base)], r.b: base}
        down = {r.a: [v - 10 for v in base], r.b: base}
        assert evaluate(r, up) == REPRODUCED and evaluate(r, down) == NOT_REPRODUCED


def test_claims_read_only_what_the_experiment_names():
    ids = [c.id for c in vclaims.claims_for(PROFILES["ci"])]
    assert len(ids) == len(set(ids)) and all(i.startswith("vjepa.") for i in ids)
    assert vclaims.chance_bound(1024) == pytest.approx(100 * (0.125 + 3 * np.sqrt(0.125 * 0.875 / 1024)))


def test_an_arm_run_is_bit_identical_for_a_seed():
    c = replace(PROFILES["ci"], n_probe=256, n_pretrain=64, steps=3, probe=ProbeConfig(steps=5, batch=32))
    a, b = run_arm(c, "l1", 0), run_arm(c, "l1", 0)
    assert a.metrics == b.metrics and a.loss == b.loss
    assert {"pool", "attn", "rank", "pool_ctx", "attn_ctx", "spike", "still_attn"} <= set(a.metrics)
