"""The chapters' analysis functions: every number the prose quotes, on hand-built inputs with known answers."""

import math
from types import SimpleNamespace

import mlx.core as mx
import numpy as np
import pytest

from jepabook.basics import analysis as basics_analysis
from jepabook.basics.diagnostics import cloud_shape
from jepabook.blocks.probes import linear_fit, linear_predict, linear_r2, train_test_split
from jepabook.core.rules import Greater
from jepabook.core.source import nested_source
from jepabook.crossjepa import analysis as cross_analysis
from jepabook.crossjepa.data import SweepData
from jepabook.crossjepa.experiment import PROFILES as CROSS_PROFILES, encoder_parameters as cross_encoder_parameters
from jepabook.ijepa import analysis as ijepa_analysis
from jepabook.ijepa.experiment import ARMS, PROFILES as IJEPA_PROFILES, build_model
from jepabook.lejepa import analysis as lejepa_analysis
from jepabook.lejepa.learner import Learner


class FakeRun:
    """What the analysis functions read of a chapter run: config, per-seed metrics, seeds."""

    def __init__(self, config=None, metrics=None, seeds=()):
        self.config, self.metrics, self.seeds = config, dict(metrics or {}), list(seeds)

    def per_seed(self, name):
        return self.metrics[name]


# --- blocks.probes: the figure's fit is the quoted R²'s fit ------------------------------------------


@pytest.mark.parametrize("k", [None, 3])
def test_linear_predict_gives_exactly_linear_r2(k):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6)) * rng.uniform(0.1, 10, size=6) + 3.0
    y = np.sin(x[:, 0]) + x[:, 1] + 0.3 * rng.normal(size=400) if k is None else rng.normal(size=(400, k)) + x[:, :k]
    train, test = train_test_split(400, 0.25, seed=4)
    pred = linear_predict(linear_fit(x, y, train), x[test])
    assert pred.shape == y[test].shape
    by_hand = 1.0 - ((y[test] - pred) ** 2).sum() / ((y[test] - y[train].mean(0)) ** 2).sum()
    assert by_hand == linear_r2(x, y, train, test)


def test_linear_fit_recovers_an_exact_linear_map_and_checks_width():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([2.0, -1.0, 0.5]) - 4.0
    train, test = train_test_split(200, 0.25, seed=0)
    fit = linear_fit(x, y, train, ridge=0.0)
    np.testing.assert_allclose(linear_predict(fit, x[test]), y[test], atol=1e-9)
    with pytest.raises(ValueError, match="features must be"):
        linear_predict(fit, x[:, :2])


# --- Chapter 1 ----------------------------------------------------------------------------------------


def test_final_part_reads_each_seeds_last_logged_value():
    seeds = [SimpleNamespace(logs={"sigreg": SimpleNamespace(parts={"regulariser": [9.0, 5.0, v]})}) for v in (1.5, 2.5)]
    assert basics_analysis.final_part(seeds, "sigreg", "regulariser") == [1.5, 2.5]


def test_push_ratio_is_the_mean_of_per_seed_ratios():
    m = {"ep_push_0.01": [2.0, 2.0], "raw_moments_push_0.01": [1.0, 4.0]}
    assert basics_analysis.push_ratio(m, "0.01") == pytest.approx((2.0 + 0.5) / 2)  # not 4 / 5 (ratio of means)


def test_energy_summary_ratio_is_of_the_seed_means():
    m = {"sigreg_energy_neighbour": [1.0, 3.0], "sigreg_energy_random": [10.0, 30.0]}
    e = basics_analysis.energy_summary(m, "sigreg")
    assert e == {"neighbours": 2.0, "random": 20.0, "ratio": 10.0}


def test_shadow_variance_curve_matches_projected_variances():
    rng = np.random.default_rng(2)
    q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    z = (rng.normal(size=(3000, 4)) * np.array([3.0, 1.5, 0.2, 0.1])) @ q.T
    angles = np.array([0.0, np.pi / 2, 0.7])
    out = basics_analysis.shadow_variance_curve(z, angles)
    evals, evecs = np.linalg.eigh(np.cov(z.T))
    assert out["shadow"][0] == pytest.approx(cloud_shape(z)["largest"])
    assert out["shadow"][1] == pytest.approx(evals[-2])
    a = math.cos(0.7) * evecs[:, -1] + math.sin(0.7) * evecs[:, -2]
    assert out["shadow"][2] == pytest.approx(np.var(z @ a, ddof=1))
    np.testing.assert_allclose(out["axis"], np.var(z, axis=0, ddof=1))


# --- Chapter 2 ----------------------------------------------------------------------------------------


def test_flat_patch_loss_equals_a_hand_computation():
    # one patch [0, 0, 0, 4]: mean 1, variance 3, normalised (x − 1)/√(3 + 1e-6)
    s = math.sqrt(3 + 1e-6)
    v = np.array([-1.0, -1.0, -1.0, 3.0]) / s
    by_hand = np.mean(np.where(np.abs(v) < 1, 0.5 * v**2, np.abs(v) - 0.5))  # smooth-L1 to 0, β = 1
    patches = np.array([[[0.0, 0.0, 0.0, 4.0]]], dtype=np.float32)
    assert ijepa_analysis.flat_patch_loss(patches) == pytest.approx(by_hand, rel=1e-6)
    assert by_hand == pytest.approx((3 * 0.5 / 3 + (3 / math.sqrt(3) - 0.5)) / 4, rel=1e-5)


def test_flat_patch_loss_averages_chunks_by_size():
    rng = np.random.default_rng(3)
    patches = rng.normal(size=(5, 6, 4)).astype(np.float32)
    whole = ijepa_analysis.flat_patch_loss(patches, chunk=5)
    assert ijepa_analysis.flat_patch_loss(patches, chunk=2) == pytest.approx(whole, rel=1e-6)
    x = patches.astype(np.float64)
    x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-6)
    assert whole == pytest.approx(np.where(np.abs(x) < 1, 0.5 * x**2, np.abs(x) - 0.5).mean(), rel=1e-5)


def _ijepa_metrics():
    return {"acc_untrained": [50.0, 50.0, 50.0],
            "acc_random": [55.0, 56.0, 57.0],  # +6 every seed: beyond noise
            "acc_block": [51.0, 49.0, 50.5],  # no gain
            "acc_rasterized": [42.0, 41.0, 40.0],  # −9
            "acc_one_target": [50.1, 60.0, 50.1]}  # above on every seed, yet within noise (p ≈ 0.2)


_ABCD = ["random", "block", "rasterized", "one_target"]


def test_gains_and_their_summaries():
    m = _ijepa_metrics()
    arms = _ABCD
    g = ijepa_analysis.gains(m, arms)
    np.testing.assert_allclose(g["random"], [5.0, 6.0, 7.0])
    assert ijepa_analysis.max_abs_gain(m, arms) == pytest.approx(9.0)
    sds = [1.0, np.std([51.0, 49.0, 50.5], ddof=1), 1.0, np.std([50.1, 60.0, 50.1], ddof=1)]
    assert ijepa_analysis.median_seed_sd(m, arms) == pytest.approx(np.median(sds))


def test_arms_beyond_noise_uses_the_claims_rule_not_every_seed():
    m = _ijepa_metrics()
    assert ijepa_analysis.arms_beyond_noise(m, _ABCD) == ["random"]
    assert all(v > 50 for v in m["acc_one_target"])  # an "every seed" count would have counted it
    assert [Greater(f"acc_{a}", "acc_untrained").beyond_noise(m) for a in _ABCD] == [True, False, False, False]


def test_shape_arms_final_loss_and_budget():
    assert ijepa_analysis.shape_arms(["untrained", "multiblock", "pixels", "multiblock_heavy_texture", "random"]) == [
        "multiblock", "random"]
    results = [SimpleNamespace(loss=[3.0, 1.0]), SimpleNamespace(loss=[3.0, 2.0])]
    assert ijepa_analysis.final_loss(results) == 1.5
    c = SimpleNamespace(steps=100, batch=64, n_images=2048, test_fraction=0.25)
    assert ijepa_analysis.training_budget(c) == {"images_seen": 6400, "passes": 3.125, "probe_label_pct": 75.0}


def test_encoder_parameters_is_the_trained_encoders_count():
    from mlx.utils import tree_flatten

    c = IJEPA_PROFILES["ci"]
    model = build_model(c, ARMS["multiblock"], 0, 3)
    assert ijepa_analysis.encoder_parameters(c) == sum(v.size for _, v in tree_flatten(model.encoder.parameters()))


# --- Chapter 4 ----------------------------------------------------------------------------------------


def test_spread_ratio_of_a_constructed_array():
    # column 0: mean 10, sd 1; column 1: mean −20, sd 2 → (10 + 20)/2 over (1 + 2)/2 = 10
    f = np.array([[9.0, -18.0], [11.0, -22.0]])
    assert cross_analysis.spread_ratio(f) == pytest.approx(10.0)
    with pytest.raises(ValueError):
        cross_analysis.spread_ratio(np.ones(3))


class _FirstPixelTeacher:
    """Embeds a view as its first pixel value (one dimension)."""

    def embed(self, images):
        return images.reshape(len(images), -1)[:, :1]


def test_teacher_class_share_of_constructed_embeddings():
    # two classes at ∓1, each object ±d around its class mean: between-class share 1 / (1 + d²)
    d = 0.5
    values = np.array([-1 - d, -1 + d, 1 - d, 1 + d, 50.0])  # the last object is held out
    labels = np.array([0, 0, 1, 1, 0])
    renders = np.broadcast_to(values[:, None, None, None, None], (5, 2, 1, 1, 3)).copy()  # 2 views alike
    share = cross_analysis.teacher_class_share(_FirstPixelTeacher(), renders, labels, np.arange(4))
    assert share == pytest.approx(1 / (1 + d**2))


def test_paired_gain_and_cost_summary():
    m = {"a": [70.0, 80.0, 75.0], "b": [60.0, 78.0, 75.0]}
    assert cross_analysis.paired_gain(m, "a", "b") == pytest.approx(4.0)
    cost = cross_analysis.cost_summary({"ours": 0.02, "laptop size": 0.09}, 0.5, n_views=600)
    assert cost == pytest.approx({"step_ours_ms": 20.0, "step_laptop_ms": 90.0, "step_ratio": 4.5, "dino_pass_min": 5.0})


def test_headroom_table_per_seed():
    m = {"untrained": [80.0, 78.0], "cond_pose_colour": [83.0, 78.0], "ceiling": [90.0, 78.0]}
    rows = cross_analysis.headroom_table(m, [3, 7])
    assert rows[0] == {"seed": 3, "untrained": 80.0, "recipe": 83.0, "ceiling": 90.0, "gain": 3.0, "headroom": 10.0,
                       "closed": pytest.approx(0.3)}
    assert rows[1]["seed"] == 7 and np.isnan(rows[1]["closed"])  # no headroom: nothing to close


def test_pilot_rows_gate_each_candidate_and_skip_the_pixel_projection():
    gates = dict.fromkeys(cross_analysis.PILOT_GATES, True)
    record = {"draws": [{"draw": 1000, "pixel_class_share": 0.2, "arms": {"untrained": {"acc": [79.0, 81.0]}},
                         "teachers": {"labelled": {"class_acc": 90.0, "class_share": 0.6, "pose_r2": 0.4,
                                                   "gates": gates},
                                      "lejepa": {"label": "self-trained", "class_acc": 78.0, "class_share": 0.5,
                                                 "pose_r2": 0.5, "gates": {**gates, "class_acc_above_untrained": False}},
                                      "pixels": {"class_acc": 88.0, "class_share": 0.2, "pose_r2": 0.4,
                                                 "gates": gates}}}]}
    rows = cross_analysis.pilot_rows(record)
    assert [(r["teacher"], r["passes"]) for r in rows] == [("labelled", True), ("self-trained", False)]
    assert rows[0]["untrained"] == 80.0 and rows[0]["pixel_share"] == 0.2


def test_student_parameters_and_fresh_features():
    c = CROSS_PROFILES["ci"]
    sizes = {"width": c.width, "depth": c.depth, "heads": c.heads, "mlp_ratio": c.mlp_ratio}
    params = cross_analysis.student_parameters(c, 4, 8, 40)
    assert params["encoder"] == cross_encoder_parameters(sizes)
    # predictor: 2·width → hidden with a bias, pose (4) and colour (8) → hidden without, → hidden → 40
    h, i = c.pred_hidden, 2 * c.width + 12
    assert params["predictor"] == (i * h + h) + (h * h + h) + (h * 40 + 40)
    assert cross_analysis.student_parameters(c, 0, 0, 40)["predictor"] == params["predictor"] - 12 * h
    rng = np.random.default_rng(0)
    n, g, k, v = 6, c.n_groups, c.group_size, 2
    data = SweepData(np.zeros(n, int), np.arange(4), np.arange(4, 6), rng.normal(size=(n, g, k, 3)).astype(np.float32),
                     rng.normal(size=(n, g, 3)).astype(np.float32), np.zeros((n, v, 4)), np.zeros((n, v, 8)),
                     {"default": np.zeros((n, v, 7), np.float32)})
    f = cross_analysis.fresh_features(c, data, seed=0)
    assert f.shape == (n, 2 * c.width)
    np.testing.assert_array_equal(f, cross_analysis.fresh_features(c, data, seed=0))


# --- Chapter 5 ----------------------------------------------------------------------------------------


def test_alpha_sweep_peak_plateau_and_min():
    config = SimpleNamespace(alphas=(1.0, 2.0, 3.0))
    run = FakeRun(config, {"t2_alpha=1_r2": [0.5, 0.7], "t2_alpha=2_r2": [0.9, 0.95], "t2_alpha=3_r2": [0.93, 0.93]})
    s = lejepa_analysis.alpha_sweep(run, tolerance=0.01)
    np.testing.assert_allclose(s["mean"], [0.6, 0.925, 0.93])
    assert s["peak"] == 3.0 and s["plateau"] == [2.0, 3.0] and s["min"] == pytest.approx(0.6)
    np.testing.assert_allclose(s["sd"], [np.std([0.5, 0.7], ddof=1), np.std([0.9, 0.95], ddof=1), 0.0])


def _run_result(alpha, procrustes, bound, trace_cov=1.0, cov_log=(0.5,)):
    return SimpleNamespace(tag_spec=SimpleNamespace(alpha=alpha), log_parts={"cov_trace": list(cov_log)},
                           metrics={"procrustes_centred": procrustes, "bound": bound, "trace_cov": trace_cov})


def test_alpha_sweep_in_the_copula_world_reads_its_ceiling():
    config = SimpleNamespace(alphas=(1.0, 2.0), copula_alphas=(0.5,))
    # the extension ran on 2 seeds, α = 2 (the shared Gaussian run) on 3: the sweep pairs the first 2
    run = FakeRun(config, {"t2_alpha=2_r2": [0.99, 0.97, 0.5], "t2c_alpha=0.5_r2": [0.70, 0.72],
                           "t2_alpha=1_r2": [0.9, 0.9, 0.9]})
    s = lejepa_analysis.alpha_sweep(run, world="copula")
    assert s["alphas"] == (0.5, 2.0)
    np.testing.assert_allclose(s["mean"], [0.71, 0.98])
    assert s["ceiling"][1] == 1.0 and s["ceiling"][0] == pytest.approx(0.781, abs=0.004)
    assert s["of_ceiling"][0] == pytest.approx(0.71 / s["ceiling"][0])
    with pytest.raises(ValueError, match="world"):
        lejepa_analysis.alpha_sweep(run, world="gaussian")


def test_bound_summary_counts_slack_and_excess():
    runs = [("t1/a", _run_result(2.0, 0.1, 0.2)), ("grid/x", _run_result(2.0, 2.003, 2.0, trace_cov=0.001)),
            ("grid/y", _run_result(2.0, 0.5, 0.3, trace_cov=0.5)), ("t2/b", _run_result(1.0, 0.1, 0.05)),
            ("t2/c", _run_result(3.0, 0.1, 0.2))]
    s = lejepa_analysis.bound_summary(runs, collapsed_below=0.02, slack=0.005)
    assert s == pytest.approx({"t3_ok": 2, "t3_n": 3, "t3_strict": 1, "t3_collapsed": 1, "t3_at_bound": 1,
                               "t3_other_ok": 1, "t3_other_n": 2, "t3_viol_n": 1, "t3_max_excess": 0.2})
    assert lejepa_analysis.bound_summary(runs[:1])["t3_max_excess"] == pytest.approx(-0.1)
    assert lejepa_analysis.bound_summary(runs[1:2], slack=0.0)["t3_at_bound"] == 0


def test_mean_sq_norm_and_start_cov_trace():
    assert lejepa_analysis.mean_sq_norm(np.array([[3.0, 4.0], [1.0, 0.0]])) == pytest.approx(13.0)
    runs = [("grid/a", _run_result(2.0, 0, 0, cov_log=(0.01, 5.0))), ("grid/b", _run_result(2.0, 0, 0, cov_log=(0.03,))),
            ("t1/c", _run_result(2.0, 0, 0, cov_log=(9.0,)))]
    assert lejepa_analysis.start_cov_trace(runs) == pytest.approx(0.02)


def test_grid_means_and_regime_summary():
    config = SimpleNamespace(grid_lams=(1e-5, 1e-2, 0.5), grid_rhos=(0.5, 0.9, 0.99))
    metrics = {}
    for i, lam in enumerate(config.grid_lams):
        for j, r in enumerate(config.grid_rhos):
            metrics[f"grid_lam={lam:g}_rho={r:g}_r2"] = [0.1 * (i + j), 0.1 * (i + j) + 0.02]
            metrics[f"grid_lam={lam:g}_rho={r:g}_cov"] = [10.0 ** (j - 4)] * 2
            metrics[f"grid_lam={lam:g}_rho={r:g}_settle"] = [0.3 if (i, j) == (1, 2) else 0.01] * 2
    run = FakeRun(config, metrics)
    r2 = lejepa_analysis.grid_means(run, "r2")
    assert r2.shape == (3, 3) and r2[2, 1] == pytest.approx(0.31)
    s = lejepa_analysis.regime_summary(run)
    assert s["collapse_cov"] == pytest.approx(1e-2)
    assert s["strong_r2"] == pytest.approx(0.41) and s["strong_cov"] == pytest.approx(1e-4)
    assert s["max_settle"] == pytest.approx(0.3) and s["max_settle_lam"] == 1e-2 and s["max_settle_rho"] == 0.99


def test_t1_mean_run_metric_and_paper_ratio():
    config = SimpleNamespace(mixings=("spiral", "parabolic", "coupling"))
    seeds = [SimpleNamespace(runs={f"t1/{m}": SimpleNamespace(metrics={"epsilon": e + k}) for m, e in
                                   zip(config.mixings, (100.0, 1.0, 3.0))}) for k in (0.0, 2.0)]
    run = FakeRun(config, seeds=seeds)
    assert lejepa_analysis.t1_mean(run, "epsilon") == pytest.approx(3.0)  # (1 + 3 + 3 + 5) / 4; spiral left out
    assert lejepa_analysis.run_metric(run, "t1/spiral", "epsilon") == [100.0, 102.0]
    assert lejepa_analysis.paper_ratio(400) == 50.0


def test_lejepa_encoder_parameters_closed_form_and_costs():
    h = 64
    assert lejepa_analysis.encoder_parameters(Learner(hidden=h)) == (2 * h + h) + 2 * (h * h + h) + (h * 2 + 2)
    cost = lejepa_analysis.cost_summary({"step": 0.004, "sigreg": 0.001}, {"step": 0.03, "sigreg": 0.012},
                                        {"step": 0.003})
    assert cost == pytest.approx({"step_ms": 4.0, "sigreg_share": 25.0, "gelu_share": 25.0, "paper_step_ms": 30.0,
                                  "paper_sigreg_ms": 12.0, "paper_run_min": 10.0})
    with_exact = lejepa_analysis.cost_summary({"step": 0.004, "sigreg": 0.001}, {"step": 0.03, "sigreg": 0.012},
                                              {"step": 0.003}, exact_gelu_cost={"step": 0.006})
    assert with_exact["exact_gelu_ratio"] == pytest.approx(1.5) and with_exact["step_ms"] == pytest.approx(4.0)


# --- core.source --------------------------------------------------------------------------------------


def _outer(x):
    def helper(y):
        return y + 1

    def batch(i):
        # the line a reader should see
        return helper(i) * x

    return batch


def test_nested_source_prints_the_inner_function_only():
    src = nested_source(_outer, "batch")
    assert src.startswith("def batch(i):") and "the line a reader should see" in src and "helper(y)" not in src
    with pytest.raises(LookupError, match="no function 'missing'"):
        nested_source(_outer, "missing")


def test_nested_source_finds_the_chapters_batch_functions():
    from jepabook import crossjepa

    assert "target[r]" in nested_source(crossjepa.train_arm, "batch")


def test_ijepa_recipe_is_top_level_with_no_nested_functions():
    # Chapter 2 prints train_arm and MaskedBatches whole; no batch closure hides inside a loop
    import inspect

    from jepabook import ijepa

    assert "sample_masks(" in inspect.getsource(ijepa.MaskedBatches)
    with pytest.raises(LookupError):
        nested_source(ijepa.train_arm, "batch")


def test_ablation_summary_counts_verdicts_and_reads_the_claims_noise():
    from jepabook.core.claims import Claim, ClaimResult
    from jepabook.core.rules import Greater, Increasing
    from jepabook.ijepa import analysis as ia

    def claim(id_, rule):
        return Claim(id=id_, chapter="ijepa", statement="s", paper="p", laptop="l", metric="m", rule=rule,
                     shown=rule.arms(), digits=1)

    big = {"a": [40.0, 41.0, 42.0, 40.5, 41.5], "b": [30.0, 30.5, 29.0, 31.0, 30.2]}   # clear gap: reproduced
    tie = {"a": [30.3, 30.7, 29.4, 30.4, 29.9], "b": [30.1, 30.9, 29.2, 30.3, 29.6]}   # +0.12, p ≈ 0.12
    flip = {"a": [28.0, 29.0, 27.5, 28.2, 28.8], "b": [30.0, 30.5, 29.0, 31.0, 30.2]}  # wrong way
    rows = [ClaimResult.of(claim("x.1", Greater("a", "b")), big),
            ClaimResult.of(claim("x.2", Greater("a", "b")), tie),
            ClaimResult.of(claim("x.3", Greater("a", "b")), flip),
            ClaimResult.of(claim("x.4", Increasing(("b", "a"))), big)]
    s = ia.ablation_summary(rows, ids=("x.1", "x.2", "x.3", "x.4"))
    assert (s["reproduced"], s["direction"], s["not_reproduced"]) == (2, 1, 1)
    assert s["max_gap"] == pytest.approx(np.mean(big["a"]) - np.mean(big["b"]))
    assert s["median_detectable"] == pytest.approx(np.median([r.detectable for r in rows]))
    with pytest.raises(KeyError, match="x.9"):
        ia.ablation_summary(rows, ids=("x.1", "x.9"))


def test_crossjepa_probe_se_is_the_binomial_standard_error():
    from jepabook.crossjepa.analysis import probe_se

    assert probe_se([80.0, 90.0], 1280) == pytest.approx(100 * (0.85 * 0.15 / 1280) ** 0.5)
    assert probe_se([100.0], 10) == 0.0
    with pytest.raises(ValueError, match="n_test"):
        probe_se([50.0], 0)
    with pytest.raises(ValueError, match="percentages"):
        probe_se([150.0], 10)


def test_crossjepa_teacher_table_marks_roles_and_adds_the_pixel_target():
    from jepabook.crossjepa.analysis import teacher_table

    scores = {"a": {"class_share": 0.5, "class_acc": 70.0, "pose_r2": 0.4, "colour_r2": 0.9},
              "b": {"class_share": 0.2, "class_acc": 60.0, "pose_r2": 0.1, "colour_r2": 0.2}}
    rows = teacher_table(scores, 0.25, {"default": "a", "second": "b"})
    assert [r["teacher"] for r in rows] == ["a", "b", "pixel target (pooled pixels)"]
    assert [r["role"] for r in rows] == ["default", "second", "objective baseline"]
    assert rows[-1]["class_share"] == 0.25 and np.isnan(rows[-1]["pose_r2"])


def test_curve_change_reads_the_moves_over_the_end_of_the_runs():
    runs = [SimpleNamespace(runs={"grid/a": SimpleNamespace(curve_step=[250, 500, 750, 1000], curve_r2=r2)})
            for r2 in ([0.1, 0.5, 0.6, 0.7], [0.2, 0.6, 0.6, 0.4])]
    run = FakeRun(SimpleNamespace(), seeds=runs + [SimpleNamespace(runs={})])  # a seed that did not run it
    steps, r2 = lejepa_analysis.curve(run, "grid/a")
    assert list(steps) == [250, 500, 750, 1000] and r2.shape == (2, 4)
    assert lejepa_analysis.curve_change(run, "grid/a", since=0.5) == pytest.approx((0.2 + 0.2) / 2)
    assert lejepa_analysis.curve_change(run, "grid/a", since=0.75) == pytest.approx((0.1 + 0.2) / 2)
    with pytest.raises(ValueError, match="since"):
        lejepa_analysis.curve_change(run, "grid/a", since=1.0)
    with pytest.raises(ValueError, match="no checkpoint"):
        lejepa_analysis.curve_change(run, "grid/a", since=0.1)


def test_ijepa_arm_table_reads_both_encoders_and_the_realised_context():
    m = {"acc_multiblock": [50.0, 52.0], "ctx_acc_multiblock": [40.0, 44.0], "rank_multiblock": [3.0, 5.0],
         "ctx_rank_multiblock": [2.0, 2.0], "context_multiblock": [0.39, 0.39], "target_multiblock": [0.125, 0.125],
         "acc_untrained": [30.0], "rank_untrained": [9.0], "context_untrained": [1.0], "target_untrained": [0.0]}
    t = ijepa_analysis.arm_table(m, {"multiblock": "recipe", "untrained": "untrained"}, places=1,
                                 nominal={"multiblock": "4 blocks"})
    assert list(t.index) == ["recipe", "untrained"]
    row = t.loc["recipe"]
    assert row["target enc. acc (%)"] == f"51.0 ± {np.std([50.0, 52.0], ddof=1):.1f}"
    assert row["context enc. acc (%)"] == f"42.0 ± {np.std([40.0, 44.0], ddof=1):.1f}"
    assert row["realised context"] == "0.39" and row["seeds"] == 2 and row["nominal"] == "4 blocks"
    assert row["realised target block"] == "0.125"
    # one seed: no sd; an encoder the arm does not have: a dash
    assert t.loc["untrained", "target enc. acc (%)"] == "30.0" and t.loc["untrained", "context enc. acc (%)"] == "—"


def test_alpha_sweep_reads_the_fixed_grid_and_max_drift_the_largest_seed_mean():
    config = SimpleNamespace(alphas=(1.0, 2.0))
    run = FakeRun(config, {"t2_alpha=1_r2": [0.5, 0.5], "t2_alpha=2_r2": [0.9, 0.9],
                           "t2_alpha=1_r2grid": [0.95, 0.97], "t2_alpha=2_r2grid": [0.8, 0.8]})
    s = lejepa_analysis.alpha_sweep(run, quantity="r2grid")
    assert s["peak"] == 1.0 and s["mean"][0] == pytest.approx(0.96)
    assert lejepa_analysis.alpha_sweep(run)["peak"] == 2.0
    with pytest.raises(ValueError, match="quantity"):
        lejepa_analysis.alpha_sweep(run, quantity="r2_grid")
    seeds = [SimpleNamespace(runs={"t2/a": SimpleNamespace(metrics={"drift": d, "grid_drift": 2 * d}),
                                   "t2/b": SimpleNamespace(metrics={"drift": 0.0, "grid_drift": 0.0})})
             for d in (0.01, 0.03)]
    run = FakeRun(config, seeds=seeds)
    assert lejepa_analysis.max_drift(run, ["t2/a", "t2/b"]) == pytest.approx(0.02)
    assert lejepa_analysis.max_drift(run, ["t2/a", "t2/b"], key="grid_drift") == pytest.approx(0.04)


def test_the_control_record_is_read_when_there_and_its_command_given_when_not(tmp_path):
    import json

    assert lejepa_analysis.load_control(tmp_path) is None
    assert lejepa_analysis.CONTROL_COMMAND in lejepa_analysis.control_summary(None)
    record = {"control": {"what": "paper-size control", "command": "python benchmarks/lejepa_control.py",
                          "runs": {"t1/spiral": {"r2_hz": 0.91234}, "restart/coupling/k=1": {"r2_hz": 0.5},
                                   "t2/alpha=2": {"r2_hz": 0.99}},
                          "t2_alphas": [1.0, 2.0], "t2_r2grid": [0.9, 0.95]}}
    (tmp_path / "lejepa-control.json").write_text(json.dumps(record), encoding="utf-8")
    text = lejepa_analysis.control_summary(lejepa_analysis.load_control(tmp_path))
    assert "spiral 0.912" in text and "α = 2: 0.950" in text and "k=1" not in text and "0.990" not in text
