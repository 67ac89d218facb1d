"""Chapter 5: worlds, mixings, identifiability metrics, the learner's loss, and bad parameters."""

import math

import mlx.core as mx
import numpy as np
import pytest
from scipy import stats

from jepabook.lejepa import identifiability as ident
from jepabook.lejepa import worlds
from jepabook.lejepa.experiment import PROFILES, LeJEPAConfig, chapter_specs, latent_grid
from jepabook.lejepa.claims import claims_for
from jepabook.blocks.sigreg import sigreg
from jepabook.lejepa.learner import Learner, TrainSpec, encoder, lejepa_loss, moment_matching, train


def _z(n=5000, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 2))


# --- mixings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", worlds.MIXINGS)
def test_mixings_are_invertible(name):
    z = _z(2000) * 1.5
    x = worlds.mixing(name)(z)
    assert not np.allclose(x, z, atol=1e-2)  # it really mixes
    np.testing.assert_allclose(worlds.unmix(name, x), z, atol=1e-9)


def test_spiral_keeps_radii_and_preserves_the_gaussian():
    z = _z(20000, seed=1)
    x = worlds.spiral(z)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), np.linalg.norm(z, axis=1), rtol=1e-12)
    # each output coordinate is still N(0, 1) and they are uncorrelated, although x is far from z
    for j in range(2):
        assert stats.kstest(x[:, j], "norm").pvalue > 1e-3
    assert abs(np.corrcoef(x.T)[0, 1]) < 0.03
    assert np.mean(np.sum((x - z) ** 2, axis=1)) > 1.0


def test_spiral_angle_is_pi_times_radius():
    z = np.array([[1.0, 0.0], [0.5, 0.0]])
    np.testing.assert_allclose(worlds.spiral(z), [[-1.0, 0.0], [0.0, 0.5]], atol=1e-12)


def test_shears_closed_form():
    z = np.array([[2.0, 1.0]])
    np.testing.assert_allclose(worlds.parabolic_shear(z), [[2.0, 5.0]])
    np.testing.assert_allclose(worlds.sinusoidal_shear(z), [[2.0 + math.sin(1.5), 1.0]])


def test_coupling_flow_uses_gains_of_two():
    w = worlds.coupling_weights()
    assert w.shape == (8,) and set(np.abs(w)) == {2.0}
    z = np.array([[0.3, -0.2]])
    one = worlds.coupling_flow(z, weights=np.array([2.0]))
    np.testing.assert_allclose(one, [[0.3, -0.2 + math.tanh(0.6)]])


def test_unknown_mixing_is_refused():
    with pytest.raises(ValueError, match="mixing must be one of"):
        worlds.mixing("swirl")


# --- latents and pairs ---------------------------------------------------------------------------


def test_ou_pairs_gaussian_correlation_and_marginals():
    z, z2 = worlds.ou_pairs(np.random.default_rng(0), 100_000, 0.8)
    assert abs(np.corrcoef(z[:, 0], z2[:, 0])[0, 1] - 0.8) < 0.01
    assert abs(z2.std() - 1.0) < 0.01 and abs(np.corrcoef(z2.T)[0, 1]) < 0.01


@pytest.mark.parametrize("alpha", [0.5, 1.0, 3.0])
def test_generalised_gaussian_law_and_unit_variance(alpha):
    z, z2 = worlds.ou_pairs(np.random.default_rng(1), 100_000, 0.9, 1, alpha)
    beta = math.exp(0.5 * (math.lgamma(1 / alpha) - math.lgamma(3 / alpha)))
    for v in (z[:, 0], z2[:, 0]):  # both views follow GG(α): the copula keeps the law
        assert stats.kstest(v, "gennorm", args=(alpha, 0, beta)).pvalue > 1e-3
        assert abs(v.var() - 1.0) < 0.05


def test_alpha_two_is_the_identity_map():
    u = np.random.default_rng(2).standard_normal(10)
    np.testing.assert_array_equal(worlds.gennorm_from_gaussian(u, 2.0), u)
    assert worlds.pair_correlation(0.9, 2.0, n=50_000) == pytest.approx(0.9, abs=0.01)


@pytest.mark.parametrize("rho", [0.0, 1.0, -0.3, 1.5])
def test_rho_outside_unit_interval_is_refused(rho):
    with pytest.raises(ValueError, match="rho .* strictly between 0 and 1"):
        worlds.ou_pairs(np.random.default_rng(0), 10, rho)
    with pytest.raises(ValueError, match="rho"):
        TrainSpec(rho=rho)


@pytest.mark.parametrize("alpha", [0.0, -1.0, float("nan")])
def test_nonpositive_alpha_is_refused(alpha):
    with pytest.raises(ValueError, match="alpha .* > 0"):
        worlds.sample_latents(np.random.default_rng(0), 10, 2, alpha)
    with pytest.raises(ValueError, match="alpha"):
        TrainSpec(alpha=alpha)


def test_bad_config_values_are_refused():
    with pytest.raises(ValueError, match="lam"):
        TrainSpec(lam=0.0)
    with pytest.raises(ValueError, match="activation"):
        Learner(activation="tanh")
    with pytest.raises(ValueError, match="alphas must include 2.0"):
        LeJEPAConfig(alphas=(1.0, 3.0))
    with pytest.raises(ValueError, match="rho"):
        LeJEPAConfig(grid_rhos=(0.5, 1.0))


# --- metrics on known cases ----------------------------------------------------------------------


def _rotation(theta):
    return np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])


def test_rotation_of_the_latents_is_perfect_recovery():
    rho = 0.9
    z, z2 = worlds.ou_pairs(np.random.default_rng(3), 10_000, rho)
    q = _rotation(0.7)
    m = ident.identifiability_metrics(z, z @ q.T, z2 @ q.T, rho)
    assert m["r2_hz"] == pytest.approx(1.0, abs=1e-12)
    assert m["orth_err"] == pytest.approx(0.0, abs=1e-10)
    assert m["procrustes"] == pytest.approx(0.0, abs=1e-20)
    # δ ≈ 0: the pair loss meets Theorem 1's floor 2(1−ρ)n up to sampling noise
    assert m["delta"] < 0.01 and m["L_h"] == pytest.approx(2 * (1 - rho) * 2, rel=0.03)
    assert m["epsilon"] < 0.05 and m["bound"] < 0.02


def test_collapse_and_nonlinear_maps_are_penalised():
    rho = 0.9
    z, z2 = worlds.ou_pairs(np.random.default_rng(4), 10_000, rho)
    const = ident.identifiability_metrics(z, np.zeros_like(z), np.zeros_like(z), rho)
    assert const["procrustes"] == pytest.approx((z**2).sum(1).mean())
    assert const["epsilon"] == pytest.approx(math.sqrt(2))
    bent = worlds.spiral(z)  # Gaussian, whitened, but not a rotation of z
    m = ident.identifiability_metrics(z, bent, worlds.spiral(z2), rho)
    assert m["r2_hz"] < 0.5 and m["delta"] > 0.1 and m["procrustes"] <= m["bound"]


def test_scaled_map_has_orthogonality_error():
    z = _z()
    assert ident.orthogonality_error(z, 2 * z) == pytest.approx(math.sqrt(2) * 3, rel=1e-6)


def test_path_length_ratio_is_one_for_a_rotation_and_large_for_a_scramble():
    z = _z(10_000, seed=5)
    h = z @ _rotation(1.1).T
    decode = ident.knn_decoder(h, z, k=5)
    rng = np.random.default_rng(0)
    a, b = rng.choice(len(z), (2, 30), replace=False)
    ratio = ident.path_length_ratio(decode, h[a], h[b], z[a], z[b], 15)
    assert ratio.shape == (30,) and np.median(ratio) < 1.1 and ratio.min() > 0.9
    hs = worlds.spiral(z * 1.5)
    ratio_s = ident.path_length_ratio(ident.knn_decoder(hs, z), hs[a], hs[b], z[a], z[b], 15)
    assert np.median(ratio_s) > 1.5
    with pytest.raises(ValueError, match="steps"):
        ident.path_length_ratio(decode, h[a], h[b], z[a], z[b], 1)


# --- the learner ---------------------------------------------------------------------------------


def test_encoder_shape_and_paper_parameter_count():
    model = encoder(Learner(), mx.random.key(0))  # the paper's 2 → 256 → 256 → 256 → 2
    n_params = sum(v.size for _, v in __import__("mlx.utils", fromlist=["x"]).tree_flatten(model.parameters()))
    assert n_params == 132_866
    assert encoder(Learner(hidden=16), mx.random.key(0))(mx.zeros((5, 2))).shape == (5, 2)


def test_loss_terms_on_a_whitened_rotation():
    rho, lam = 0.9, 0.2
    z, z2 = worlds.ou_pairs(np.random.default_rng(6), 4096, rho)
    identity = lambda x: x  # noqa: E731
    loss, parts = lejepa_loss(lam, 256)(identity, mx.array(z, dtype=mx.float32), mx.array(z2, dtype=mx.float32),
                                        mx.random.key(0))
    # alignment on the code's scale: ((h − h′)/2)² per coordinate = 2(1−ρ)/4
    assert parts["alignment"].item() == pytest.approx(2 * (1 - rho) / 4, rel=0.05)
    # SIGReg on the 2·B stacked embeddings of both views, with the step's directions
    both = mx.array(np.concatenate([z, z2]), dtype=mx.float32)
    assert parts["sigreg"].item() == pytest.approx(sigreg(both, mx.random.key(0), 256).item(), rel=1e-5)
    assert parts["cov_trace"].item() == pytest.approx(2.0, rel=0.05)
    assert loss.item() == pytest.approx((1 - lam) * parts["alignment"].item() + lam * parts["sigreg"].item(), rel=1e-5)


def test_moment_matching_is_zero_for_standardised_slices():
    x = mx.array(np.random.default_rng(0).standard_normal((1000, 3)), dtype=mx.float32)
    x = (x - mx.mean(x, axis=0)) / mx.sqrt(mx.var(x, axis=0))
    assert moment_matching(x).item() == pytest.approx(0.0, abs=1e-6)
    assert moment_matching(mx.zeros((10, 3))).item() == pytest.approx(1.0)


def test_training_is_seeded_and_logs_the_covariance():
    learner = Learner(hidden=16, batch=32, num_slices=8, log_every=5)
    spec = TrainSpec(steps=10)
    (m1, log1), (m2, _) = train(learner, spec, 3), train(learner, spec, 3)
    x = mx.array(_z(8), dtype=mx.float32)
    np.testing.assert_array_equal(np.array(m1(x)), np.array(m2(x)))
    assert log1.step == [0, 5, 9] and "cov_trace" in log1.parts


def test_the_untrained_control_starts_from_trains_initial_weights(monkeypatch):
    import jepabook.lejepa.learner as learner_module
    from jepabook.core.training import TrainLog
    from jepabook.lejepa.learner import init_key

    learner, seen = Learner(hidden=16, batch=32, num_slices=8), []
    monkeypatch.setattr(learner_module, "fit", lambda model, *a, **k: seen.append(model) or TrainLog())
    model, _ = train(learner, TrainSpec(steps=3), 4)
    x = mx.array(_z(8), dtype=mx.float32)
    assert seen == [model]  # fit never ran: these are the initial weights
    np.testing.assert_array_equal(np.array(model(x)), np.array(encoder(learner, init_key(4))(x)))
    assert not np.array_equal(np.array(model(x)), np.array(encoder(learner, init_key(5))(x)))


# --- the chapter's configuration -----------------------------------------------------------------


def test_chapter_runs_and_claims_cover_what_the_issue_asks():
    full = PROFILES["full"]
    specs = chapter_specs(full)
    gaussian_runs = {s for s in specs.values() if s.alpha == 2.0}
    assert len(gaussian_runs) * 3 >= 30  # Theorem 3 checked on at least 30 runs over three seeds
    assert len(full.grid_lams) >= 5 and min(full.grid_lams) <= 1e-5 and max(full.grid_lams) >= 0.5
    assert len(full.grid_rhos) >= 3
    assert set(full.alphas) == {0.5, 1.0, 1.5, 2.0, 3.0, 5.0}
    ids = {c.id for c in claims_for(full)}
    assert {"lejepa.t3_bound", "lejepa.regime_collapse", "lejepa.moments_needed", "lejepa.sigreg_floor",
            "lejepa.sigreg_shrinkage"} <= ids
    # the paper's worlds: the map on the spiral at the views' correlations of its columns (ρ² of 0.5, 0.9,
    # 0.99), T2 in the additive world, the coupling flow learned by the matched encoder
    assert full.grid_mixing == "spiral"
    assert full.grid_rhos == pytest.approx((0.5**2, 0.9**2, 0.99**2), abs=1e-4)
    assert specs["t2/alpha=0.5"].pairs == "additive" and specs["t2c/alpha=0.5"].pairs == "copula"
    assert specs["t1/coupling"].encoder == "matched" and specs["t1x/coupling"].encoder == "mlp"
    assert latent_grid(5, 7).shape == (10, 7, 2)


# --- metric names: built in one place (lejepa.names), read by the claims ----------------------

def test_metric_names_are_the_stored_ones():
    from jepabook.lejepa import names
    assert names.t1_metric("spiral") == "t1_spiral_r2"
    assert names.t2_metric(2.0) == "t2_alpha=2_r2"
    assert names.grid_metric(1e-3, 0.9, "cov") == "grid_lam=0.001_rho=0.9_cov"
    assert names.moment_metric("pure", 1e-5) == "pure_lam=1e-05_r2"
    assert names.kind(names.grid_tag(0.5, 0.99)) == "grid"
    with pytest.raises(ValueError, match="quantity"):
        names.metric("t1/spiral", "R2")
    with pytest.raises(ValueError, match="arm"):
        names.moment_tag("moment", 1e-5)
    with pytest.raises(ValueError, match="tag"):
        names.kind("grids/lam=1")


def test_every_metric_a_claim_reads_is_produced():
    """Feed seed_metrics fake runs for every spec of both profiles; each claim's measured_for must find
    every name it asks for (a renamed producer or reader raises MissingMetric here)."""
    from types import SimpleNamespace

    from jepabook.core.experiment import ChapterResult
    from jepabook.lejepa import claims as lclaims, experiment as lexp
    for profile in ("ci", "full"):
        c = lexp.PROFILES[profile]
        fake = {"r2_hz": 0.5, "trace_cov": 0.1, "plan_ratio": 1.1, "untrained_plan_ratio": 3.0,
                "untrained_r2": 0.2, "sigreg_eval": 1.05, "untrained_r2_hz": 0.2, "procrustes": 0.1, "bound": 0.2,
                "settle": 0.0, "sigreg_zscored": 1.05, "shrinkage": 0.9, "r2_hz_grid": 0.5, "drift": 0.0,
                "grid_drift": 0.0}
        runs = {tag: SimpleNamespace(metrics=fake, tag_spec=spec) for tag, spec in c.specs().items()}
        m = lexp.seed_metrics(c, runs)
        m["sigreg_gaussian"] = 1.05
        result = lexp.LeJEPARun(c, {k: [v] for k, v in m.items()}, seeds=[])
        assert isinstance(result, ChapterResult)
        for item in lclaims.claims_for(c):
            if item.id.endswith("t3_bound"):
                continue  # per run, read from run.all_runs()
            measured = lclaims.measured_for(item, result)
            assert set(item.reads()) <= set(measured), item.id


def test_learner_rejects_a_non_boolean_fast_trig():
    from jepabook.lejepa.learner import Learner
    with pytest.raises(ValueError, match="fast_trig"):
        Learner(fast_trig="yes")


# --- issue 31: restarts, the convergence test, the fixed grid ------------------------------------

def test_restart_zero_keeps_the_seeds_streams_and_a_restart_draws_new_ones():
    from jepabook.lejepa.learner import init_key
    learner, x = Learner(hidden=16, batch=32, num_slices=8), mx.array(_z(8), dtype=mx.float32)
    same = [np.array(encoder(learner, k)(x)) for k in (init_key(3), init_key(3, 0))]
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(same[0], np.array(encoder(learner, init_key(3, 1))(x)))
    with pytest.raises(ValueError, match="restart"):
        TrainSpec(restart=-1)
    with pytest.raises(ValueError, match="continue_steps"):
        TrainSpec(continue_steps=1.5)


def test_the_continuation_measures_the_trained_run_then_moves_it():
    """on_trained sees exactly the run without a continuation; the continuation, at a rate above 0,
    then moves the weights (an annealed rate at its end would not)."""
    learner, x = Learner(hidden=16, batch=32, num_slices=8, log_every=5), mx.array(_z(8), dtype=mx.float32)
    plain, _ = train(learner, TrainSpec(steps=12), 3)
    seen = []
    continued, log = train(learner, TrainSpec(steps=12, continue_steps=6), 3,
                           on_trained=lambda m: seen.append(np.array(m(x))))
    np.testing.assert_array_equal(seen[0], np.array(plain(x)))
    assert not np.array_equal(seen[0], np.array(continued(x)))
    assert max(log.step) == 11  # the log covers the run only


def test_pick_restart_keeps_the_lowest_final_loss_and_final_loss_reads_the_last_quarter():
    from types import SimpleNamespace

    from jepabook.lejepa import names
    from jepabook.lejepa.experiment import final_loss, fixed_grid, pick_restart

    c = PROFILES["ci"]
    runs = {names.restart_tag("coupling", k): SimpleNamespace(metrics={"final_loss": v})
            for k, v in enumerate((0.3, 0.1, 0.2))}
    assert pick_restart(c, runs)[names.t1_tag("coupling")] is runs[names.restart_tag("coupling", 1)]
    spec = TrainSpec(steps=100, lam=0.5)
    # logged at 0, 50, 80, 99: the last quarter is 80 and 99; loss = ½·alignment + ½·SIGReg
    assert final_loss([0, 50, 80, 99], {"alignment": [9, 9, 1, 3], "sigreg": [9, 9, 1, 1]}, spec, 4) == pytest.approx(1.5)
    g = fixed_grid(c)
    assert g.shape == (c.grid_points**2, 2) and g.min() == -c.grid_extent and g.max() == c.grid_extent


def test_the_gaussian_floor_is_read_in_the_pool_with_the_same_bits(monkeypatch):
    """Issue 26: each seed's floor reading is a pool task (not ~1.7 s a seed on one core after the pool);
    a worker process reads the same float as this one, and the measure phase uses the task's value."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from jepabook.lejepa import experiment as lx

    c = PROFILES["ci"]
    plan = lx._plan(c, [0, 1], False)
    floors = [t for t in plan.tasks if t[1] == lx.FLOOR_TASK]
    assert [t[2] for t in floors] == [0, 1] and plan.tasks[-2:] == floors  # one per seed, after the runs
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        in_worker = pool.submit(lx._task, *floors[1]).result()
    assert in_worker == lx.gaussian_floor(c, 1)  # bit for bit

    from types import SimpleNamespace

    monkeypatch.setattr(lx, "gaussian_floor", lambda *a: pytest.fail("the measure phase read a floor itself"))
    monkeypatch.setattr(lx, "_run_seed_from", lambda config, s, results, floor: SimpleNamespace(metrics={"floor": floor}))
    outputs = [0.5 + t[2] if t[1] == lx.FLOOR_TASK else SimpleNamespace(seconds=1.0) for t in plan.tasks]
    assert lx._measure(c, [0, 1], plan, outputs).metrics["floor"] == [0.5, 1.5]
    assert plan.timing_s["runs"] == len(plan.tasks) - 3  # the floors and the ReLU check are not counted as runs


def test_the_relu_check_is_one_pool_task_on_the_first_seed(monkeypatch):
    """The page's activation check (the first seed's spiral run retrained with ReLU) is trained in the
    pool, among the runs by length, without the continuation (its R² is read where GELU's is), and the
    measure phase hands it to the page as ``relu_run``."""
    from types import SimpleNamespace

    from jepabook.lejepa import experiment as lx

    c = PROFILES["ci"]
    plan = lx._plan(c, [3, 4], False)
    relu = [i for i, t in enumerate(plan.tasks) if t[1] == lx.RELU_TASK]
    assert len(relu) == 1 and plan.tasks[relu[0]][2:] == (3,)
    steps = [t[1].steps for t in plan.tasks[:relu[0]]] + [t[1].steps for t in plan.tasks[relu[0] + 1:] if t[1] != lx.FLOOR_TASK]
    spec = lx.relu_spec(c)
    assert spec.mixing == "spiral" and spec.continue_steps == 0 and spec.steps == c.spiral_steps
    assert all(s >= spec.steps for s in steps[:relu[0]]) and all(s <= spec.steps for s in steps[relu[0]:])
    seen = {}
    monkeypatch.setattr(lx, "run_one", lambda config, spec, *a: seen.update(learner=config.learner, spec=spec, args=a))
    lx._task(*plan.tasks[relu[0]])
    assert seen["learner"].activation == "relu" and seen["spec"] == spec and seen["args"] == (3,)
    monkeypatch.setattr(lx, "_run_seed_from", lambda config, s, results, floor: SimpleNamespace(metrics={}))
    outputs = ["relu" if t[1] == lx.RELU_TASK else SimpleNamespace(seconds=1.0) for t in plan.tasks]
    assert lx._measure(c, [3, 4], plan, outputs).relu_run == "relu"
