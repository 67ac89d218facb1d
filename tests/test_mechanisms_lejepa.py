"""Chapter 5's mechanisms pinned by hand computations: the loss's (1 − λ)/λ weighting with its
alignment scale, SIGReg on both views and the optional moment term; the training pairs; what a run
measures (the embedding of the *observation* against the true latent); Theorem 3's bound terms; the
SIGReg reading at collapse and on a Gaussian.
"""

import math

import mlx.core as mx
import numpy as np
import pytest

from jepabook.blocks.sigreg import random_directions
from jepabook.core.training import TrainLog
from jepabook.lejepa import experiment as lx
from jepabook.lejepa import identifiability as ident
from jepabook.lejepa import learner as ll
from jepabook.lejepa import worlds
from reference import np_epps_pulley

W = np.array([[1.3, -0.4], [0.2, 0.7]], np.float32)
BIAS = np.array([0.5, -0.25], np.float32)


def _linear_model(x):
    return x @ mx.array(W) + mx.array(BIAS)


@pytest.mark.parametrize("moment_weight", [0.0, 0.7])
def test_loss_closed_form(moment_weight):
    lam, slices = 0.3, 16
    rng = np.random.default_rng(0)
    x, x_next = rng.normal(size=(2, 200, 2)).astype(np.float32)
    key = mx.random.key(4)
    loss, parts = ll.lejepa_loss(lam, slices, moment_weight)(_linear_model, mx.array(x), mx.array(x_next), key)
    h, h_next = x @ W + BIAS, x_next @ W + BIAS
    align = float((((h - h_next) / 2.0) ** 2).mean())
    both = np.concatenate([h, h_next]).astype(np.float64)
    proj = both @ np.array(random_directions(key, 2, slices), np.float64)
    sig = float(np_epps_pulley(proj).mean())
    moments = float((proj.mean(0) ** 2 + (proj.var(0) - 1.0) ** 2).mean())
    assert parts["alignment"].item() == pytest.approx(align, rel=1e-5)
    assert parts["sigreg"].item() == pytest.approx(sig, rel=1e-4)
    assert parts["cov_trace"].item() == pytest.approx(float(both.var(0).sum()), rel=1e-5)
    # the moment term sits on SIGReg's scale: × N, the 2·200 stacked embeddings
    want = (1 - lam) * align + lam * (sig + moment_weight * len(both) * moments)
    assert loss.item() == pytest.approx(want, rel=1e-5)
    if moment_weight:
        assert parts["moments"].item() == pytest.approx(moments, rel=1e-5)
        assert lam * moment_weight * moments > 1e-3 * want  # far above the tolerance: the term is seen
    else:
        assert "moments" not in parts


def test_moment_matching_closed_form():
    p = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 11.0]])
    # column 0: mean 2, biased variance 8/3; column 1: mean 5, variance 56/3
    want = ((2.0**2 + (8 / 3 - 1) ** 2) + (5.0**2 + (56 / 3 - 1) ** 2)) / 2
    assert ll.moment_matching(mx.array(p, dtype=mx.float32)).item() == pytest.approx(want, rel=1e-6)


class _Captured:
    def __call__(self, model, loss_fn, batch, optimizer, steps, *args, **kwargs):
        self.model, self.loss_fn, self.batch, self.steps = model, loss_fn, batch, steps
        return TrainLog()


def test_training_sees_fresh_mixed_ou_pairs_and_the_specs_loss(monkeypatch):
    captured = _Captured()
    monkeypatch.setattr(ll, "fit", captured)
    learner = ll.Learner(hidden=8, batch=4000, num_slices=8)
    spec = ll.TrainSpec(mixing="parabolic", rho=0.6, lam=0.2, moment_weight=0.5, steps=3)
    ll.train(learner, spec, 0)
    x, x_next, key = captured.batch(0)
    z, z_next = worlds.unmix("parabolic", np.array(x, np.float64)), worlds.unmix("parabolic", np.array(x_next, np.float64))
    for j in range(2):  # the learner sees g(z) and g(z′) of an OU pair with correlation ρ
        assert np.corrcoef(z[:, j], z_next[:, j])[0, 1] == pytest.approx(0.6, abs=0.05)
        assert z[:, j].std() == pytest.approx(1.0, abs=0.05)
    assert np.abs(np.array(x) - z).max() > 1.0  # what it sees is mixed
    x1 = np.array(captured.batch(1)[0])
    assert not np.allclose(x1, np.array(x))  # fresh samples every step
    args = (mx.array(x[:256]), mx.array(x_next[:256]), key)
    got = captured.loss_fn(_linear_model, *args)[0].item()
    want = ll.lejepa_loss(0.2, 8, 0.5, fast_trig=True)(_linear_model, *args)[0].item()
    assert got == pytest.approx(want, rel=1e-6)
    # and fast_trig is only a faster cos/sin: the exact loss agrees to float32 rounding
    exact = ll.lejepa_loss(0.2, 8, 0.5)(_linear_model, *args)[0].item()
    assert got == pytest.approx(exact, rel=1e-5)


# --- what a run measures ------------------------------------------------------------------------


def _unmix_parabolic(x):
    return mx.stack([x[:, 0], x[:, 1] - x[:, 0] ** 2], axis=1)


def test_a_run_measures_the_embedding_of_the_observation_against_the_latent(monkeypatch):
    """An encoder that exactly undoes the mixing recovers z: R² 1, Procrustes 0, the OU pair loss."""
    monkeypatch.setattr(lx, "train", lambda *args, **kwargs: (_unmix_parabolic, TrainLog()))
    c = lx.PROFILES["ci"]
    spec = ll.TrainSpec("parabolic", 2.0, 0.95, 1e-3, 0.0, 1)
    m = lx.run_one(c, spec, 0).metrics
    assert m["r2_hz"] > 1 - 1e-6 and m["procrustes"] < 1e-6 and m["orth_err"] < 1e-3
    # h(z′) is the embedding of the second view: mean ‖h(z′) − h(z)‖² = 2(1 − ρ)·2
    assert m["L_h"] == pytest.approx(2 * (1 - 0.95) * 2, rel=0.1)
    assert m["trace_cov"] == pytest.approx(2.0, rel=0.1)
    # an encoder that ignores the mixing does not recover it
    monkeypatch.setattr(lx, "train", lambda *args, **kwargs: (lambda x: x, TrainLog()))
    assert lx.run_one(c, spec, 0).metrics["r2_hz"] < 0.9


def test_bound_terms_closed_form():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(500, 2)) * np.array([1.5, 0.5]) + 0.1
    rho = 0.8
    for noise in (0.3, 3.0):  # a pair loss below Theorem 1's floor (δ = 0) and far above it (δ > 0)
        h_next = h + noise * rng.normal(size=(500, 2))
        cov = np.cov(h.T)
        eps = np.linalg.norm(cov - np.eye(2))
        loss = ((h_next - h) ** 2).sum(1).mean()
        delta = max(loss - 2 * (1 - rho) * np.trace(cov), 0.0)
        d = delta / (2 * rho * (1 - rho))
        got = ident.bound_terms(h, h_next, rho)
        assert got["epsilon"] == pytest.approx(eps) and got["L_h"] == pytest.approx(loss)
        assert got["trace_cov"] == pytest.approx(np.trace(cov)) and got["delta"] == pytest.approx(delta)
        assert got["D"] == pytest.approx(d) and got["bound"] == pytest.approx(d + (eps + d) ** 2)
        assert (delta > 1.0) == (noise > 1)


# --- SIGReg as the chapter reads it ---------------------------------------------------------------


def test_sigreg_level_at_collapse_and_on_a_gaussian():
    t = np.linspace(0.0, 3.0, 17)
    dt = t[1] - t[0]
    w = np.full(17, 2 * dt)
    w[[0, -1]] = dt
    phi = np.exp(-0.5 * t**2)
    n = 128
    collapsed = n * float((w * phi * (1 - phi) ** 2).sum())  # every projection is 0: φ̂ ≡ 1
    assert collapsed == pytest.approx(0.409 * n, rel=0.05)
    assert lx.sigreg_level(np.zeros((4 * n, 2)), n, 4, 8, 0) == pytest.approx(collapsed, rel=1e-5)
    gauss = np.random.default_rng(0).standard_normal((20 * 512, 2))
    assert 0.9 < lx.sigreg_level(gauss, 512, 20, 64, 0) < 1.2  # ≈ 1.05, the quadrature's floor
    assert 0.9 < lx.gaussian_floor(lx.PROFILES["ci"], 0) < 1.2


# --- the paper's worlds and encoders (issue: "test what the paper claims, in the paper's worlds") ---


def test_matched_encoder_is_the_coupling_flows_exact_inverse_at_its_gains():
    enc = ll.MatchedCoupling(8, mx.random.key(0))
    enc.w = mx.array(worlds.coupling_weights(), dtype=mx.float32)
    z = np.random.default_rng(0).normal(size=(2000, 2))
    h = np.array(enc(mx.array(worlds.coupling_flow(z), dtype=mx.float32)), np.float64)
    np.testing.assert_allclose(h, z, atol=2e-5)
    # at its random initial gains it is not: the run has something to learn
    h0 = ll.embed(ll.encoder(ll.Learner(), ll.init_key(0), kind="matched"), worlds.coupling_flow(z))
    assert ident.r2_linear(h0, z) < 0.9
    with pytest.raises(ValueError, match="mixing must be 'coupling'"):
        ll.TrainSpec("spiral", encoder="matched")
    with pytest.raises(ValueError, match="encoder must be one of"):
        ll.TrainSpec("coupling", encoder="flow")


def test_additive_pairs_are_the_official_codes_and_the_ou_pair_at_alpha_two():
    a = worlds.additive_pairs(np.random.default_rng(5), 1000, 0.7)
    b = worlds.ou_pairs(np.random.default_rng(5), 1000, 0.7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12)
    z, z2 = worlds.additive_pairs(np.random.default_rng(6), 200_000, 0.9, 1, 0.5)
    eta = (z2 - 0.9 * z) / np.sqrt(1 - 0.9**2)
    # the noise is drawn from the latents' own law (unit variance, heavy tails: kurtosis 25.2 at α = 0.5)
    assert eta.var() == pytest.approx(1.0, abs=0.03)
    kurt = lambda v: float(((v - v.mean()) ** 4).mean() / v.var() ** 2)  # noqa: E731
    assert kurt(eta) == pytest.approx(kurt(z), rel=0.15) and kurt(z) > 15
    # and the second view is not on that law: the sum is lighter-tailed than z
    assert kurt(z2) < 0.85 * kurt(z)
    assert np.corrcoef(z[:, 0], z2[:, 0])[0, 1] == pytest.approx(0.9, abs=0.005)
    # the two kinds agree exactly at α = 2, so a spec stores the one kind there
    assert ll.TrainSpec(alpha=2.0, pairs="copula") == ll.TrainSpec(alpha=2.0)
    with pytest.raises(ValueError, match="pairs"):
        worlds.pairs(np.random.default_rng(0), 10, 0.5, kind="gaussian")


def test_evaluation_points_are_whitened_so_collapse_sits_exactly_at_the_bound():
    c = lx.PROFILES["ci"]
    spec = ll.TrainSpec("parabolic", 2.0, 0.95, 1e-3, 0.0, 1)
    z, z_next = lx.eval_world(c, spec)
    assert (z**2).sum(1).mean() == pytest.approx(2.0, abs=1e-12)
    np.testing.assert_allclose(z.T @ z / len(z), np.eye(2), atol=1e-12)
    assert np.corrcoef(z[:, 0], z_next[:, 0])[0, 1] == pytest.approx(0.95, abs=0.01)
    # a collapsed encoder (a constant, here not at the origin): centred error n, bound n
    h = np.full_like(z, 0.3) + 1e-7 * np.random.default_rng(0).normal(size=z.shape)
    m = ident.identifiability_metrics(z, h, h + 1e-7, 0.95)
    assert m["procrustes_centred"] == pytest.approx(2.0, abs=1e-6)
    assert m["bound"] == pytest.approx(2.0, abs=1e-5)
    assert m["procrustes"] == pytest.approx(2.0 + 2 * 0.3**2, abs=1e-6)  # the code's uncentred error is above it
    from jepabook.lejepa.claims import T3_SLACK
    assert m["procrustes_centred"] <= m["bound"] + T3_SLACK < m["procrustes"]
    with pytest.raises(ValueError, match="full-rank"):
        worlds.whiten(np.zeros((10, 2)))


def test_copula_ceiling_is_the_correlation_of_the_gaussian_behind_it():
    # computed independently in the issue on 200 k samples: 0.781 / 0.963 at α = 0.5 / 1
    assert worlds.copula_ceiling(2.0) == 1.0
    assert worlds.copula_ceiling(0.5) == pytest.approx(0.781, abs=0.004)
    assert worlds.copula_ceiling(1.0) == pytest.approx(0.963, abs=0.003)
    assert worlds.copula_ceiling(5.0) == pytest.approx(0.981, abs=0.003)


def test_expected_sigreg_matches_monte_carlo_and_gives_the_shrinkage():
    from jepabook.blocks.sigreg import EP_GAUSSIAN_FLOOR, expected_sigreg
    from jepabook.lejepa.claims import analytic_shrinkage
    assert expected_sigreg(1.0, 512) == pytest.approx(1.0525, abs=5e-4)
    assert expected_sigreg(1.0, 512, t_max=12.0, n_points=4001) == pytest.approx(EP_GAUSSIAN_FLOOR, abs=1e-3)
    rng = np.random.default_rng(0)
    for s in (0.5, 0.9):
        reads = [np_epps_pulley(s * rng.standard_normal((512, 1)))[0] for _ in range(400)]
        se = np.std(reads) / np.sqrt(len(reads))
        assert np.mean(reads) == pytest.approx(expected_sigreg(s, 512), abs=4 * se)
    # the combined loss's optimum: a Gaussian shrunk to s = 0.913 at the paper's λ, 0.988 at 10× it
    assert analytic_shrinkage(1e-3, 0.95, 512) == pytest.approx(0.913, abs=1e-3)
    assert analytic_shrinkage(1e-2, 0.95, 512) == pytest.approx(0.988, abs=1e-3)
    assert expected_sigreg(analytic_shrinkage(1e-3, 0.95, 512), 512) == pytest.approx(2.94, abs=0.01)
    with pytest.raises(ValueError, match="scale"):
        expected_sigreg(-1.0, 512)


def test_checkpoints_leave_the_run_unchanged_and_trace_its_curve():
    learner = ll.Learner(hidden=8, num_slices=8, log_every=5)
    spec = ll.TrainSpec("parabolic", steps=12)
    one, log1 = ll.train(learner, spec, 3)
    seen = []
    four, log4 = ll.train(learner, spec, 3, checkpoints=4, on_checkpoint=lambda m, done: seen.append(done))
    assert seen == [3, 6, 9, 12]
    x = mx.array(np.random.default_rng(0).normal(size=(50, 2)), dtype=mx.float32)
    np.testing.assert_array_equal(np.array(one(x)), np.array(four(x)))
    assert log1.parts["loss"][-1] == log4.parts["loss"][-1]
    with pytest.raises(ValueError, match="checkpoints"):
        ll.train(learner, spec, 3, checkpoints=13)
