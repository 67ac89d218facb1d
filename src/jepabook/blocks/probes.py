"""Linear probes on frozen features: the book's one yardstick for "is the information there".

Explained in Chapter 1 (JEPA basics); used by every chapter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jepabook.core import streams

__all__ = ["effective_rank", "LinearFit", "train_test_split", "linear_r2", "linear_accuracy", "linear_fit", "linear_predict"]


def effective_rank(features: np.ndarray) -> float:
    """exp(entropy of the normalised singular values) of centred ``(n, d)`` features: 1 (collapse) … d."""
    s = np.linalg.svd(features - features.mean(0), compute_uv=False)
    p = s / max(s.sum(), 1e-12)
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def train_test_split(n: int, test_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random disjoint index sets ``(train, test)`` over ``range(n)``, from the stream ``(seed, "split")``."""
    if not (0.0 < test_fraction < 1.0):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    n_test = int(round(n * test_fraction))
    if n_test < 1 or n - n_test < 2:
        raise ValueError(f"n={n} is too small for test_fraction={test_fraction}")
    order = streams.rng(seed, "split").permutation(n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _as_features(features, targets) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(targets)
    if x.ndim != 2:
        raise ValueError(f"features must be (n, dim), got shape {x.shape}")
    if len(y) != len(x):
        raise ValueError(f"targets has {len(y)} rows, features has {len(x)}")
    if not np.all(np.isfinite(x)):
        raise ValueError("features contain NaN or infinite values")
    return x, y


def linear_r2(features, targets, train: np.ndarray, test: np.ndarray, ridge: float = 1e-6) -> float:
    """Held-out R² of a least-squares linear map with bias from ``features`` to ``targets``.

    Args:
        features: ``(n, dim)``.
        targets: ``(n,)`` or ``(n, k)``; for several targets R² pools their residuals
            (1 − Σ residual² / Σ centred²), the "fraction of variance explained".
        train, test: index arrays.
        ridge: a tiny ridge, relative to the feature scale, keeps collapsed (near-constant)
            features from producing huge, meaningless weights.

    Returns:
        R² on ``test``; 0 means no better than predicting the training mean, and it can be negative.
    """
    fit = linear_fit(features, targets, train, ridge)  # the fit a figure draws with linear_predict
    x, y = _as_features(features, targets)
    y = y.astype(np.float64).reshape(len(y), -1)
    residual = y[test] - linear_predict(fit, x[test]).reshape(len(test), -1)
    centred = y[test] - fit.mean_target
    return float(1.0 - (residual**2).sum() / (centred**2).sum())


def linear_accuracy(features, labels, train: np.ndarray, test: np.ndarray, c: float = 1.0) -> float:
    """Held-out accuracy of a multinomial logistic-regression probe (L2 strength 1/c) on standardised features."""
    from sklearn.linear_model import LogisticRegression

    x, y = _as_features(features, labels)
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"c must be a positive number, got {c!r}")
    mu, sd = x[train].mean(0), x[train].std(0)
    sd = np.where(sd > 0, sd, 1.0)
    z = (x - mu) / sd
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit(z[train], y[train])
    return float((clf.predict(z[test]) == y[test]).mean())


@dataclass(frozen=True)
class LinearFit:
    """A least-squares linear map with bias on standardised features, as :func:`linear_fit` returns it.

    ``mu`` and ``sd``: the training rows' feature mean and (non-zero) standard deviation; ``weights``:
    ``(dim + 1, k)``, the last row the bias; ``mean_target``: the training rows' target mean ``(k,)``;
    ``vector``: whether the targets were ``(n,)`` (predictions then come back ``(n,)`` too).
    """

    mu: np.ndarray
    sd: np.ndarray
    weights: np.ndarray
    mean_target: np.ndarray
    vector: bool

    def design(self, features) -> np.ndarray:
        """``[(features − mu) / sd ‖ 1]``, the rows the weights multiply."""
        x = np.asarray(features, dtype=np.float64)
        z = (x - self.mu) / self.sd
        return np.concatenate([z, np.ones((len(z), 1))], axis=1)


def linear_fit(features, targets, train: np.ndarray, ridge: float = 1e-6) -> LinearFit:
    """The probe :func:`linear_r2` scores, fitted on the ``train`` rows (same standardisation, ridge, bias).

    A figure that draws a probe's predictions (:func:`linear_predict`) thus draws the very fit whose
    held-out R² the prose quotes.
    """
    x, y = _as_features(features, targets)
    vector = y.ndim == 1
    y = y.astype(np.float64).reshape(len(y), -1)
    mu, sd = x[train].mean(0), x[train].std(0)
    sd = np.where(sd > 0, sd, 1.0)
    z = (x - mu) / sd
    a = np.concatenate([z, np.ones((len(z), 1))], axis=1)
    gram = a[train].T @ a[train]
    reg = ridge * len(train) * np.eye(gram.shape[0])
    reg[-1, -1] = 0.0  # never shrink the bias
    w = np.linalg.solve(gram + reg, a[train].T @ y[train])
    return LinearFit(mu, sd, w, y[train].mean(0), vector)


def linear_predict(fit: LinearFit, features) -> np.ndarray:
    """The fitted probe's predictions for ``features`` ``(n, dim)``: ``(n,)`` or ``(n, k)`` like its targets."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(fit.mu):
        raise ValueError(f"features must be (n, {len(fit.mu)}), got shape {x.shape}")
    out = fit.design(x) @ fit.weights
    return out[:, 0] if fit.vector else out
