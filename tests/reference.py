"""Helpers several test files share: a NumPy reference of SIGReg's statistic, and a probe spy."""

import numpy as np


def np_epps_pulley(x):
    """The official half-line quadrature: t = linspace(0, 3, 17), end weights dt, interior 2·dt,
    window e^{−t²/2}; integrand (mean cos − e^{−t²/2})² + (mean sin)²; times N. ``x`` (N, S) → (S,)."""
    x = np.asarray(x, np.float64)
    t = np.linspace(0.0, 3.0, 17)
    dt = t[1] - t[0]
    w = np.full(17, 2 * dt)
    w[[0, -1]] = dt
    phi = np.exp(-0.5 * t**2)
    tx = t[:, None, None] * x[None]
    err = (np.cos(tx).mean(1) - phi[:, None]) ** 2 + np.sin(tx).mean(1) ** 2
    return len(x) * (err * (w * phi)[:, None]).sum(0)


def spy_probe(monkeypatch, module, name: str) -> list:
    """Replace the probe ``module.name(features, targets, train, test, ...)`` by a wrapper that records
    ``(features, targets, train, test, value)`` of every call (as arrays) and returns the real value."""
    calls = []
    real = getattr(module, name)

    def spy(features, targets, train, test, *a, **k):
        value = real(features, targets, train, test, *a, **k)
        calls.append((np.array(features), np.array(targets), np.array(train), np.array(test), value))
        return value

    monkeypatch.setattr(module, name, spy)
    return calls
