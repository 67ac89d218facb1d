import math

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
import pytest

from jepabook.blocks.ema import ema_step_response, ema_time_constant, ema_update, linear_momentum
from jepabook.blocks.nets import MLP
from jepabook.core.training import NonFiniteLossError, constant_then_cosine, fit


def _regression(seed, steps=200, lr=1e-2):
    model = MLP([3, 16, 1], mx.random.key(seed))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -1.0, 2.0], dtype=np.float32))[:, None]
    data = (mx.array(x), mx.array(y))

    def loss_fn(m, xb, yb):
        loss = mx.mean((m(xb) - yb) ** 2)
        return loss, {"mse": loss}

    log = fit(model, loss_fn, lambda i: data, optim.Adam(learning_rate=lr), steps, log_every=20)
    return model, log


def test_fit_learns_and_is_deterministic():
    model_a, log_a = _regression(0)
    model_b, log_b = _regression(0)
    assert log_a.parts["loss"][-1] < 0.05 * log_a.parts["loss"][0]
    assert log_a.parts["loss"] == log_b.parts["loss"]
    assert log_a.step[0] == 0 and log_a.step[-1] == 199
    w_a = np.array(model_a.layers[0].weight)
    assert np.array_equal(w_a, np.array(model_b.layers[0].weight))
    assert not np.array_equal(w_a, np.array(_regression(1, steps=1)[0].layers[0].weight))


def test_non_finite_loss_stops_with_a_clear_error():
    model = MLP([2, 2], mx.random.key(0))

    def loss_fn(m, x):
        return mx.log(mx.mean(m(x)) - 1e6), {}  # log of a negative number: NaN

    with pytest.raises(NonFiniteLossError, match=r"loss is nan at step 0 .*finite.*Lower lr"):
        fit(model, loss_fn, lambda i: (mx.ones((4, 2)),), optim.SGD(0.1), 5, hint="Lower lr.")


def test_fit_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps must be"):
        fit(MLP([2, 2], mx.random.key(0)), None, None, optim.SGD(0.1), 0)


def test_constant_then_cosine():
    sched = constant_then_cosine(1e-3, 100, 0.5)
    assert sched(mx.array(0)).item() == pytest.approx(1e-3)
    assert sched(mx.array(49)).item() == pytest.approx(1e-3)
    assert sched(mx.array(75)).item() == pytest.approx(0.5e-3, rel=1e-3)
    assert sched(mx.array(100)).item() == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="constant_fraction"):
        constant_then_cosine(1e-3, 100, 1.5)


def test_mlp_bad_dims():
    with pytest.raises(ValueError, match="dims"):
        MLP([4], mx.random.key(0))


def test_ema_update_and_worked_example():
    target = {"w": mx.zeros((2,)), "b": [mx.array(1.0)]}
    online = {"w": mx.ones((2,)), "b": [mx.array(0.0)]}
    new = ema_update(target, online, 0.996)
    assert np.allclose(np.array(new["w"]), 0.004)
    assert new["b"][0].item() == pytest.approx(0.996)
    response = ema_step_response(0.996, 1000)
    assert response[0] == pytest.approx(0.004)
    assert response[249] == pytest.approx(1 - 0.996**250)
    assert int(np.argmax(response >= 1 - math.exp(-1))) + 1 == 250
    assert ema_time_constant(0.996) == pytest.approx(249.5, abs=0.01)
    with pytest.raises(ValueError, match="tau"):
        ema_time_constant(1.0)
    with pytest.raises(ValueError, match="tau"):
        ema_update(target, online, 1.5)


def test_linear_momentum_schedule():
    assert linear_momentum(0.996, 1.0, 0, 100) == 0.996
    assert linear_momentum(0.996, 1.0, 50, 100) == pytest.approx(0.998)
    assert linear_momentum(0.996, 1.0, 500, 100) == 1.0
