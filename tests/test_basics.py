import numpy as np
import pytest

from jepabook.basics import experiment as basics
from jepabook.basics.claims import CLAIMS
from jepabook.core.rules import PASS, REPRODUCED
from jepabook.basics.swissroll import make_swiss_roll, neighbour_table

TINY = dict(n_points=256, steps=30, log_every=10, batch=64, num_slices=16)


def test_swiss_roll_shapes_range_and_lift():
    roll = make_swiss_roll(n=300, ambient_dim=20, noise=0.0, seed=0)
    assert roll.x.shape == (300, 20) and roll.plane.shape == (300, 2) and roll.t.shape == (300,)
    assert roll.t.min() >= 1.5 * np.pi and roll.t.max() <= 4.5 * np.pi
    assert np.allclose(roll.lift @ roll.lift.T, np.eye(2), atol=1e-10)
    # without noise the lift is exactly undone by its transpose
    back = roll.x @ roll.lift.T
    standardised = (roll.plane - roll.plane.mean(0)) / roll.plane.std(0)
    assert np.allclose(back, standardised, atol=1e-5)


def test_swiss_roll_is_seeded():
    a, b, c = (make_swiss_roll(n=64, seed=s) for s in (1, 1, 2))
    assert np.array_equal(a.x, b.x) and not np.array_equal(a.x, c.x)


def test_neighbours_are_close_along_the_curve():
    roll = make_swiss_roll(n=2000, seed=0)
    nb = neighbour_table(roll.plane, k=8)
    assert nb.shape == (2000, 8)
    assert not np.any(nb == np.arange(2000)[:, None])
    dt = np.abs(roll.t[nb] - roll.t[:, None])
    assert np.median(dt) < 0.05 and dt.max() < 0.5  # never a jump to the next arm (Δt ≈ 2π)


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="noise"):
        make_swiss_roll(noise=-1.0)
    with pytest.raises(ValueError, match="n must be"):
        make_swiss_roll(n=3)
    with pytest.raises(ValueError, match="sigreg_weight"):
        basics.BasicsConfig(sigreg_weight=1.5)
    with pytest.raises(ValueError, match="steps"):
        basics.BasicsConfig(steps=0)
    with pytest.raises(ValueError, match="profile must be one of 'full', 'ci'; got 'huge'"):
        basics.run("huge", "0")
    with pytest.raises(ValueError, match="seeds must be"):
        basics.run("ci", "0,zero")
    with pytest.raises(ValueError, match="arm must be"):
        basics.make_loss("nothing", 0.1, 8)


def test_tiny_run_is_deterministic_and_complete():
    first = basics.run("ci", "3", workers=1, **TINY)
    second = basics.run("ci", "3", workers=1, **TINY)
    assert first.seeds[0].metrics == second.seeds[0].metrics
    record = first.record.to_json()
    assert record["chapter"] == "basics" and record["profile"] == "ci" and record["seeds"] == [3]
    assert [c["id"] for c in record["claims"]] == [c.id for c in CLAIMS]
    # one seed is never beyond noise, so no claim can be reproduced from it
    assert [c["verdict"] for c in record["claims"] if c["verdict"] == REPRODUCED] == []
    # the EMA check is arithmetic and the collapse-gradient check an identity of the tests: both pass at any size
    status = {c["id"]: c["status"] for c in record["checks"]}
    assert status["basics.ema"] == PASS and status["basics.collapse_gradient"] == PASS
    z = first.seeds[0].embeddings["sigreg"]
    assert z.shape == (256, basics.PROFILES["ci"].embed_dim) and np.all(np.isfinite(z))


def test_divergence_names_the_parameter():
    from jepabook.core.training import NonFiniteLossError

    with pytest.raises(NonFiniteLossError, match="Lower lr"):
        basics.run("ci", "0", workers=1, **{**TINY, "lr": 1e30})


def test_parallel_workers_give_the_same_numbers_as_one_process():
    one = basics.run("ci", "0,1", workers=1, **TINY)
    two = basics.run("ci", "0,1", workers=2, **TINY)
    assert [s.metrics for s in one.seeds] == [s.metrics for s in two.seeds]
    assert [c.verdict for c in one.record.claims] == [c.verdict for c in two.record.claims]
