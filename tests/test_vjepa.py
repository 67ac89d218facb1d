"""Chapter 3 (V-JEPA): the toy clips, tubelets, tube masks, loss, attentive probe and claim rules."""

from dataclasses import replace

import mlx.core as mx
import numpy as np
import pytest

from jepabook.blocks.probes import linear_accuracy, train_test_split
from jepabook.core.rules import NOT_REPRODUCED, REPRODUCED, Greater, evaluate
from jepabook.vjepa import claims as vclaims
from jepabook.vjepa.attentive import AttentiveProbe, ProbeConfig, attentive_accuracy
from jepabook.vjepa.experiment import PROFILES, VJEPAConfig, ema_horizon, loss_spikes, run_arm
from jepabook.vjepa.model import VJEPA, normalised_pixels, tubelets, vjepa_loss
from jepabook.vjepa.tubes import fixed_counts, random_tubes, tube_masks, union_ratio
from jepabook.vjepa.videos import DIRECTIONS, make_clips



# --- clips --------------------------------------------------------------------------------------------

def test_clips_are_deterministic_per_seed_with_the_right_shapes_and_balanced_labels():
    a, b, c = make_clips(64, 3), make_clips(64, 3), make_clips(64, 4)
    assert a.video.shape == (64, 4, 40, 40, 1) and a.video.dtype == np.float32
    assert a.object_mask.shape == (64, 4, 40, 40)
    assert np.array_equal(a.video, b.video) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.video, c.video)
    assert np.array_equal(np.bincount(a.labels, minlength=8), np.full(8, 8))
    assert not np.array_equal(make_clips(64, 3, stream="probe").video, a.video)  # streams differ
    assert abs(a.object_mask.mean() - 0.25) < 0.03
    assert abs(make_clips(64, 3, object_area=0.4).object_mask.mean() - 0.4) < 0.05
    g = make_clips(64, 3, frames=8, size=24, object_area=0.12, speed=1.5, noise=0.05, world="gratings")
    assert g.video.shape == (64, 8, 24, 24, 1) and abs(g.object_mask.mean() - 0.12) < 0.02


def test_the_dots_texture_moves_with_the_object_and_every_pixel_is_standard_normal():
    clips = make_clips(512, 2, noise=0.0)
    v, m = clips.video[..., 0], clips.object_mask
    for i in range(64):
        step = tuple(np.rint(DIRECTIONS[clips.labels[i]]).astype(int))
        for f in range(3):  # inside the object, frame f + 1 is frame f shifted by one step (on the torus)
            assert np.array_equal(np.roll(v[i, f], step, axis=(0, 1))[m[i, f + 1]], v[i, f + 1][m[i, f + 1]])
        still = ~m[i, 0] & ~m[i, 1]  # outside the object in both frames, the background stays
        assert np.array_equal(v[i, 0][still], v[i, 1][still])
    # a pixel's value does not tell object from background: both N(0, 1)
    assert abs(v[m].std() - 1) < 0.02 and abs(v[~m].std() - 1) < 0.02 and abs(v[m].mean()) < 0.02


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
    size = clips.object_mask.shape[-1]
    d = (cen[:, 1] - cen[:, 0] + size / 2) % size - size / 2  # (dy, dx) on the torus
    nearest = np.argmax(d @ DIRECTIONS.T, axis=1)
    assert np.mean(nearest == clips.labels) > 0.97


def test_a_single_frame_carries_no_label():
    # in distribution: the object's position in a frame is uniform whatever the direction, so each
    # direction's mean occupancy map is flat up to sampling noise
    clips = make_clips(4096, 1, frames=4)
    occupancy = np.stack([clips.object_mask[clips.labels == k, 2].mean(0) for k in range(8)])
    spread = occupancy.std(0).mean()
    noise = np.sqrt(0.25 * 0.75 / (4096 / 8))  # binomial sd of one class's per-pixel occupancy
    assert spread < 1.5 * noise
    # and a probe on one frame is at chance, within three standard errors
    train, test = train_test_split(4096, 0.25, 0)
    acc = 100 * linear_accuracy(clips.video[:, 2].reshape(4096, -1), clips.labels, train, test)
    assert acc < vclaims.chance_bound(len(test))


@pytest.mark.parametrize("kwargs, name", [
    ({"frames": 1}, "frames"), ({"n": 0}, "n"), ({"object_area": 1.5}, "object_area"), ({"speed": 0}, "speed"),
    ({"noise": -0.1}, "noise"), ({"size": 2.5}, "size"), ({"world": "stripes"}, "world"), ({"speed": 0.5}, "speed"),
])
def test_bad_clip_arguments_name_the_parameter(kwargs, name):
    args = {"n": 8, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=name):
        make_clips(**args)


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
    assert {"pool", "attn", "rank", "spike", "still_attn"} <= set(a.metrics)
    assert not any(k.endswith("_ctx") for k in a.metrics)  # the context encoder is not read (cost; no claim needs it)


def test_headroom_rows_are_per_seed_and_pilot_rows_fill_defaults(tmp_path):
    from jepabook.vjepa import analysis

    m = {"attn_untrained": [80.0, 70.0], "attn_l1": [75.0, 72.5], "supervised": [60.0, 90.0], "headroom": [-20.0, 20.0]}
    rows = analysis.headroom_rows(m, [0, 1])
    assert rows[0] == {"seed": "0", "untrained": "80.0", "V-JEPA (L1, tubes)": "75.0", "ceiling": "60.0",
                       "headroom": "-20.0"}
    assert rows[1]["ceiling"] == "90.0"
    path = tmp_path / "p.jsonl"
    path.write_text('{"stage": "floor", "attn_clip": 19.72, "lr": 0.0003}\n{"stage": "ceiling", "x": 1}\n')
    recs = analysis.pilot_records(path)
    assert len(recs) == 2
    assert analysis.pilot_rows(recs, "floor", {"attn_clip": "a", "lr": "lr", "world": "w"}, {"world": "direction"}) == [
        {"a": "19.7", "lr": "0.0003", "w": "direction"}]
    assert analysis.pilot_rows(recs, "floor", {"nope": "n"}) == [{"n": "—"}]


def test_the_chapter_runs_each_loss_at_the_rate_its_committed_sweep_picked():
    from pathlib import Path

    from jepabook.vjepa import analysis

    c = PROFILES["full"]
    records = analysis.pilot_records(Path(__file__).resolve().parents[1] / "results" / "pilots" / "vjepa-dots.jsonl")
    assert analysis.sweep_pick(records, c) == {1.0: c.lr, 2.0: c.l2_lr}
    assert analysis.spike_pick(records, c) == c.spike_lr
    floor = analysis.world_rows(records, c, "floor")
    ceiling = analysis.world_rows(records, c, "ceiling")
    assert floor and ceiling  # the world the chapter runs was piloted
    assert analysis.sweep_pick([{"stage": "recipe", "power": 1.0, "lr": 1.0, "attn": 9.0, "steps": c.steps,
                                 "ema_sum": 3.0, "size": c.size, "tubelet": "2,8,8", "object_area": c.object_area,
                                 "speed": c.speed, "noise": c.noise, "n_probe": c.n_probe}], c) == {1.0: 1.0}
    assert analysis.spike_pick([], c) is None


def test_position_share_is_one_for_position_codes_and_near_zero_for_content():
    from jepabook.vjepa.experiment import position_share

    rng = np.random.default_rng(0)
    codes = rng.standard_normal((10, 6))  # 10 positions, 6 features
    assert position_share(np.broadcast_to(codes, (50, 10, 6))) == pytest.approx(1.0)
    assert position_share(rng.standard_normal((4000, 10, 6))) < 0.01
    mixed = codes + rng.standard_normal((4000, 10, 6))  # position codes plus unit-variance content
    between = codes.var(0).sum()
    assert position_share(mixed) == pytest.approx(between / (between + 6), abs=0.01)


def test_where_accuracy_reads_object_tokens_only_when_the_features_carry_them():
    from jepabook.vjepa.experiment import where_accuracy

    rng = np.random.default_rng(1)
    share = (rng.random((400, 20)) < 0.3) * 1.0  # each token all object or all background
    noise = rng.standard_normal((400, 20, 6))
    marked = noise.copy()
    marked[..., 0] += 3.0 * share  # one feature says "object"
    train, test = np.arange(300), np.arange(300, 400)
    assert where_accuracy(marked, share, train, test, 0, per_class=500) > 90
    assert abs(where_accuracy(noise, share, train, test, 0, per_class=500) - 50) < 8


def test_the_compiled_token_pass_gives_the_plain_encoders_bits():
    from jepabook.vjepa.experiment import _tokens

    c = PROFILES["ci"]
    model = VJEPA(c.patch_dim, c.grid, c.width, c.depth, c.heads, c.mlp_ratio, c.pred_width, c.pred_depth,
                  c.pred_heads, 2, False, mx.random.key(3))
    x = mx.array(np.random.default_rng(3).standard_normal((10, int(np.prod(c.grid)), c.patch_dim)).astype(np.float32))
    plain = np.concatenate([np.array(model.target(x[i:i + 4])) for i in range(0, 10, 4)])
    assert np.array_equal(_tokens(model.target, x, chunk=4), plain)
