"""V-JEPA's attentive probe: one learned query cross-attends to a frozen encoder's tokens.

Explained in Chapter 3 (V-JEPA). As in the released ``AttentiveClassifier`` (one query, one
cross-attention block, then a linear head):

    q ← q + CrossAttention(q, LayerNorm(x));   q ← q + MLP(LayerNorm(q));   logits = Linear(q)

The probe is trained on *cached* tokens ``(n, tokens, width)``: the encoder runs once over the
clips and never again, so a probe costs seconds. The average-pool probe, its counterpart, is a
logistic regression on the tokens' mean (:func:`jepabook.blocks.probes.linear_accuracy`).
"""

from __future__ import annotations

from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from jepabook.blocks.nets import init_linears
from jepabook.blocks.vit import attention
from jepabook.core import streams
from jepabook.core.training import constant_then_cosine, fit

__all__ = ["AttentiveProbe", "ProbeConfig", "attentive_accuracy", "predict", "train_attentive"]


class AttentiveProbe(nn.Module):
    """``(batch, tokens, width)`` → ``(batch, classes)`` logits through one learned query."""

    def __init__(self, width: int, classes: int, heads: int, mlp_ratio: float, key: mx.array):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads={heads}")
        k_lin, k_q = mx.random.split(key)
        self.heads = heads
        self.norm_x, self.norm_q = nn.LayerNorm(width), nn.LayerNorm(width)
        self.q, self.kv, self.proj = nn.Linear(width, width), nn.Linear(width, 2 * width), nn.Linear(width, width)
        hidden = int(width * mlp_ratio)
        self.fc1, self.fc2 = nn.Linear(width, hidden), nn.Linear(hidden, width)
        self.head = nn.Linear(width, classes)
        init_linears(self, k_lin)
        self.query = 0.02 * mx.random.truncated_normal(-2.0, 2.0, (1, 1, width), key=k_q)
        self._shift, self._scale = mx.zeros((width,)), mx.ones((width,))  # fixed input standardisation

    def pooled(self, x: mx.array) -> mx.array:
        """The query after the cross-attention block: ``(batch, width)``."""
        b, n, d = x.shape
        h = self.heads
        q = self.q(self.query).reshape(1, h, 1, d // h)  # one query for every clip: projected once
        k, v = self.kv(self.norm_x(x)).reshape(b, n, 2, h, d // h).transpose(2, 0, 3, 1, 4)
        att = attention(q, k, v, (d // h) ** -0.5)  # (b, h, 1, d/h): heads in order, no transpose needed
        z = self.query + self.proj(att.reshape(b, 1, d))
        z = z + self.fc2(nn.relu(self.fc1(self.norm_q(z))))  # ReLU: GELU is slow on MLX CPU (see blocks.vit.Block)
        return z[:, 0]

    def __call__(self, x: mx.array) -> mx.array:
        return self.head(self.pooled((x - self._shift) / self._scale))


@dataclass(frozen=True)
class ProbeConfig:
    """The attentive probe's training: AdamW, ``steps`` minibatches of ``batch`` cached clips."""

    heads: int = 3
    mlp_ratio: float = 2.0
    steps: int = 200
    batch: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.01

    def __post_init__(self):
        for name in ("heads", "steps", "batch"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive; got {self.lr!r}")


def train_attentive(tokens: np.ndarray, labels: np.ndarray, train: np.ndarray, config: ProbeConfig, seed: int,
                    name: str = "probe") -> AttentiveProbe:
    """An attentive probe trained on ``tokens[train]`` ``(n, tokens, width)``, with the training rows'
    per-feature mean and spread folded into it (it standardises its input, as logistic regression does).

    Its weights and minibatches come from the streams ``(seed, "attentive", name, ...)``.
    """
    x = np.asarray(tokens, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"tokens must be (n, tokens, width); got shape {x.shape}")
    y = np.asarray(labels)
    if len(y) != len(x):
        raise ValueError(f"labels has {len(y)} rows, tokens has {len(x)}")
    mu, sd = x[train].mean((0, 1)), x[train].std((0, 1))
    probe = AttentiveProbe(x.shape[-1], int(y.max()) + 1, config.heads, config.mlp_ratio,
                           streams.key(seed, "attentive", name, "init"))
    probe._shift, probe._scale = mx.array(mu), mx.array(np.where(sd > 0, sd, 1.0))
    xs, ys = mx.array(x), mx.array(y.astype(np.int32))
    rng = streams.rng(seed, "attentive", name, "batches")
    batch = min(config.batch, len(train))

    def minibatch(i):
        rows = mx.array(rng.choice(train, batch, replace=False))
        return xs[rows], ys[rows]

    def loss(model, xb, yb):
        return nn.losses.cross_entropy(model(xb), yb, reduction="mean"), {}

    opt = optim.AdamW(learning_rate=constant_then_cosine(config.lr, config.steps, 0.5),
                      weight_decay=config.weight_decay)
    fit(probe, loss, minibatch, opt, config.steps, log_every=config.steps)
    return probe


def predict(model, inputs: mx.array, chunk: int = 512) -> np.ndarray:
    """Class predictions ``(n,)`` of ``model`` (logits out) over ``inputs``, in chunks."""
    return np.concatenate([np.array(mx.argmax(model(inputs[i:i + chunk]), axis=1))
                           for i in range(0, len(inputs), chunk)])


def attentive_accuracy(tokens: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray,
                       config: ProbeConfig, seed: int, name: str = "probe") -> float:
    """Held-out accuracy on ``tokens[test]`` of the probe :func:`train_attentive` fits on ``tokens[train]``."""
    probe = train_attentive(tokens, labels, train, config, seed, name)
    return float((predict(probe, mx.array(np.asarray(tokens, dtype=np.float32)[test])) == np.asarray(labels)[test]).mean())
