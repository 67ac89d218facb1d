"""The LeJEPA learner of Chapter 5: an encoder (an MLP, or the coupling flow's matched inverse) trained by
alignment + SIGReg on positive pairs of a world (OU pairs; additive or copula pairs for α ≠ 2).

Explained in Chapter 5 (LeJEPA's world-model theorems). Loss, in LeJEPA's form,

    (1 − λ)·alignment + λ·SIGReg,

alignment = mean over pairs and coordinates of ((h − h′)/2)², which is the official code's
"(h − mean over the two views)²" (a quarter of the theory's per-coordinate ‖h(z′) − h(z)‖², so our λ
sits on the code's scale), and SIGReg on the 2B stacked embeddings of both views. Optionally a
moment-matching term (per slice: mean² + (variance − 1)²), the addition the laptop validation made,
is added to SIGReg with weight ``moment_weight``, on SIGReg's own scale: SIGReg is an Epps–Pulley
statistic times the sample size N, so the moment term is multiplied by N too (without it the term's
gradient is hundreds of times weaker than SIGReg's and adding it changes nothing).

Two encoders: the chapter's MLP, and for the coupling-flow world the official code's *matched*
encoder (:class:`MatchedCoupling`), the coupling flow's own architecture run backwards with learnable
gains.

Where the paper and its code differ we follow: the paper's pairs (the two views are an OU step apart,
correlation ρ; the code draws two OU steps from a shared anchor, so its views correlate at ρ²); the
paper's weight decay 0 (code: 0.01); the paper's 4 linear layers (code: 5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from jepabook.blocks.nets import MLP, gelu
from jepabook.core import streams
from jepabook.blocks.sigreg import epps_pulley, random_directions
from jepabook.core.training import TrainLog, constant_then_cosine, fit
from jepabook.lejepa.worlds import check_alpha, check_kind, check_rho, mixing, pairs

__all__ = ["ENCODERS", "Learner", "MatchedCoupling", "TrainSpec", "encoder", "init_key", "lejepa_loss",
           "moment_matching", "train"]

# "gelu" is the exact GELU with erf computed by a vectorisable rational form (blocks.nets.gelu,
# within 2e-6 of nn.gelu): MLX's CPU erf is scalar and took about half of a training step here.
# "gelu_exact" is nn.gelu itself, for comparison.
ACTIVATIONS = {"gelu": gelu, "gelu_exact": nn.gelu, "relu": nn.relu}
ENCODERS = ("mlp", "matched")  # the chapter's MLP; the coupling flow's inverse with learnable gains


@dataclass(frozen=True)
class Learner:
    """Hyper-parameters shared by every run of the chapter (the paper's, except where noted)."""

    hidden: int = 256
    depth: int = 4  # linear layers: 2 → 256 → 256 → 256 → 2 (the paper's 4; ~133 k parameters)
    activation: str = "gelu"
    batch: int = 256  # pairs per step, so SIGReg sees 2·batch embeddings
    lr: float = 3e-3
    weight_decay: float = 0.0
    constant_fraction: float = 0.5
    num_slices: int = 256
    log_every: int = 100
    # SIGReg's cos/sin in training from blocks.sigreg.fast_cos_sin (within 2e-7 of mx.cos/mx.sin),
    # which the compiled step vectorises; MLX's CPU cos/sin are scalar. Evaluation reads stay exact.
    fast_trig: bool = True
    # SIGReg's gradient in closed form (blocks.sigreg, module docstring) rather than by autodiff through
    # its knot recurrence: the same gradient to float32 rounding, and a step about 1.4× faster here
    closed_form_grad: bool = True

    def __post_init__(self):
        for name in ("hidden", "batch", "num_slices", "log_every"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if not (isinstance(self.depth, int) and self.depth >= 2):
            raise ValueError(f"depth (linear layers) must be an integer >= 2; got {self.depth!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}; got {self.activation!r}")
        for name in ("fast_trig", "closed_form_grad"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False; got {getattr(self, name)!r}")
        if not (self.lr > 0 and self.weight_decay >= 0):
            raise ValueError(f"lr must be > 0 and weight_decay >= 0; got {self.lr!r}, {self.weight_decay!r}")


@dataclass(frozen=True)
class TrainSpec:
    """One training run: the world (mixing, α, ρ, pair kind), the encoder, the loss weights (λ, moment
    term) and its length. At α = 2 both pair kinds are the OU pair, so ``pairs`` is stored as
    ``"additive"`` there and equal runs compare equal."""

    mixing: str = "parabolic"
    alpha: float = 2.0
    rho: float = 0.95
    lam: float = 1e-3
    moment_weight: float = 0.0
    steps: int = 2000
    pairs: str = "additive"
    encoder: str = "mlp"
    restart: int = 0  # which of a seed's restarts (0: the seed's own streams; k > 0: streams named restart=k)
    continue_steps: int = 0  # the convergence test: steps at the constant peak rate after the run (0: none)

    def __post_init__(self):
        mixing(self.mixing)
        check_alpha(self.alpha)
        check_rho(self.rho)
        check_kind(self.pairs)
        if self.alpha == 2.0 and self.pairs != "additive":
            object.__setattr__(self, "pairs", "additive")
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}; got {self.encoder!r}")
        if self.encoder == "matched" and self.mixing != "coupling":
            raise ValueError(f"the matched encoder inverts the coupling flow; mixing must be 'coupling', "
                             f"got {self.mixing!r}")
        if not (0.0 < self.lam < 1.0):
            raise ValueError(f"lam (λ) must lie strictly between 0 and 1; got {self.lam!r}")
        if not (self.moment_weight >= 0):
            raise ValueError(f"moment_weight must be >= 0; got {self.moment_weight!r}")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise ValueError(f"steps must be a positive integer; got {self.steps!r}")
        for name in ("restart", "continue_steps"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
                raise ValueError(f"{name} must be an integer >= 0; got {v!r}")


class MatchedCoupling(nn.Module):
    """The official code's matched encoder in 2-D: the coupling flow's layers undone in reverse order,
    layer i subtracting ``tanh(wᵢ·x_a)`` from the other coordinate (a = 0 for even i, 1 for odd), with
    learnable gains ``w`` drawn N(0, 1) (the code's ``randn / √half`` with half = 1). At the flow's own
    gains it is the flow's exact inverse."""

    def __init__(self, layers: int, key: mx.array):
        super().__init__()
        if not (isinstance(layers, int) and layers >= 1):
            raise ValueError(f"layers must be a positive integer; got {layers!r}")
        self.w = mx.random.normal((layers,), key=key)

    def __call__(self, x: mx.array) -> mx.array:
        a, b = x[..., 0], x[..., 1]
        for i in range(self.w.shape[0] - 1, -1, -1):
            if i % 2 == 0:
                b = b - mx.tanh(self.w[i] * a)
            else:
                a = a - mx.tanh(self.w[i] * b)
        return mx.stack([a, b], axis=-1)


def encoder(learner: Learner, key: mx.array, dim: int = 2, kind: str = "mlp", layers: int = 8) -> nn.Module:
    """The encoder ``f``: the MLP ``dim → hidden → … → dim`` with ``learner.depth`` linear layers, or
    (``kind="matched"``) a :class:`MatchedCoupling` of ``layers`` couplings."""
    if kind == "matched":
        if dim != 2:
            raise ValueError(f"the matched encoder is 2-D; got dim={dim!r}")
        return MatchedCoupling(layers, key)
    if kind != "mlp":
        raise ValueError(f"kind must be one of {ENCODERS}; got {kind!r}")
    dims = [dim] + [learner.hidden] * (learner.depth - 1) + [dim]
    return MLP(dims, key, activation=ACTIVATIONS[learner.activation])


def _stream(restart: int, *names: str) -> tuple[str, ...]:
    """A stream's names for restart ``restart``: restart 0 is the seed's own stream (unchanged bits),
    restart k > 0 appends ``restart=k`` (independent draws, the official code's ``seed + 1000·k``)."""
    return names if restart == 0 else (*names, f"restart={restart}")


def init_key(seed: int, restart: int = 0) -> mx.array:
    """The key of a run's initial weights (stream ``(seed, "init")``, restart k: ``(seed, "init",
    "restart=k")``): :func:`train` starts from ``encoder(learner, init_key(seed, spec.restart))``, and
    so does any untrained control of the same run."""
    return streams.key(seed, *_stream(restart, "init"))


def moment_matching(projections: mx.array) -> mx.array:
    """Mean over slices of mean² + (variance − 1)² of ``projections`` (N, slices)."""
    mean = mx.mean(projections, axis=0)
    var = mx.mean((projections - mean) ** 2, axis=0)
    return mx.mean(mean**2 + (var - 1.0) ** 2)


def lejepa_loss(lam: float, num_slices: int, moment_weight: float = 0.0, fast_trig: bool = False,
                closed_form_grad: bool = False):
    """The loss ``(model, x, x_next, key) -> (loss, parts)``; ``parts`` logs each term and tr Cov(h).

    ``fast_trig``: SIGReg's cos/sin from :func:`~jepabook.blocks.sigreg.fast_cos_sin`;
    ``closed_form_grad``: SIGReg differentiated by its closed form (training sets both from the
    :class:`Learner`)."""

    def loss_fn(model, x, x_next, key):
        # one pass over both views (half the encoder's ops of two passes; the rows are independent)
        both = model(mx.concatenate([x, x_next]))
        h, h_next = both[:x.shape[0]], both[x.shape[0]:]
        align = mx.mean(((h - h_next) / 2.0) ** 2)
        proj = both @ random_directions(key, both.shape[1], num_slices)
        reg = mx.mean(epps_pulley(proj, fast_trig=fast_trig, closed_form_grad=closed_form_grad))
        parts = {"alignment": align, "sigreg": reg,
                 "cov_trace": mx.sum(mx.var(mx.stop_gradient(both), axis=0))}
        if moment_weight > 0:
            moments = moment_matching(proj)
            reg = reg + moment_weight * both.shape[0] * moments  # × N: SIGReg's scale
            parts["moments"] = moments
        return (1.0 - lam) * align + lam * reg, parts

    return loss_fn


def train(learner: Learner, spec: TrainSpec, seed: int, progress: bool = False, checkpoints: int = 1,
          on_checkpoint=None, on_trained=None) -> tuple[nn.Module, TrainLog]:
    """Train an encoder from ``seed`` on fresh pairs of the world ``spec`` every step.

    Streams: ``init`` (:func:`init_key`), ``batches`` (the pairs), ``directions`` (SIGReg's slices);
    every spec trained from one seed shares them (a restart k > 0 has its own, named ``restart=k``).
    ``checkpoints`` > 1 splits the run into that many equal pieces (the schedule and the streams run
    on unchanged) and calls ``on_checkpoint(model, steps_done)`` after each: a convergence curve at no
    change to the training (the log also records each piece's last step).

    ``spec.continue_steps`` > 0 is the convergence test: after the run, ``on_trained(model)`` is called
    (measure the trained encoder there), then training goes on for that many steps at the constant
    peak rate ``learner.lr``, the optimizer's state kept, the pairs from the same stream and SIGReg's
    slices from ``continuation_directions``. The returned model is then the continued one and the log
    covers the run only. A flat end under an annealed rate shows nothing (the rate is near zero); a
    continuation at a rate that can move the weights shows whether more training would change them.
    """
    if not (isinstance(checkpoints, int) and 1 <= checkpoints <= spec.steps):
        raise ValueError(f"checkpoints must be an integer in [1, {spec.steps}]; got {checkpoints!r}")
    model = encoder(learner, init_key(seed, spec.restart), kind=spec.encoder)
    annealed = constant_then_cosine(learner.lr, spec.steps, learner.constant_fraction)
    if spec.continue_steps:
        # the optimizer's step counter runs on past spec.steps, where the annealed rate is 0: hold lr there
        schedule = lambda step: mx.where(mx.array(step) < spec.steps, annealed(step), learner.lr)  # noqa: E731
    else:
        schedule = annealed
    optimizer = optim.AdamW(learning_rate=schedule, weight_decay=learner.weight_decay)
    rng = streams.rng(seed, *_stream(spec.restart, "batches"))
    g = mixing(spec.mixing)
    direction_keys = streams.keys(seed, *_stream(spec.restart, "directions"), num=spec.steps)
    loss_fn = lejepa_loss(spec.lam, learner.num_slices, spec.moment_weight, learner.fast_trig,
                          learner.closed_form_grad)
    hint = f"Lower lr (now {learner.lr})."

    def batches(keys, offset: int):
        def batch(step: int):
            z, z_next = pairs(rng, learner.batch, spec.rho, 2, spec.alpha, spec.pairs)
            return mx.array(g(z), dtype=mx.float32), mx.array(g(z_next), dtype=mx.float32), keys[offset + step]
        return batch

    bounds = np.linspace(0, spec.steps, checkpoints + 1).astype(int)
    log = TrainLog()
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        piece = fit(model, loss_fn, batches(direction_keys, int(lo)), optimizer, int(hi - lo), learner.log_every,
                    progress, hint=hint)
        for i, step in enumerate(piece.step):
            log.record(int(lo) + step, {k: v[i] for k, v in piece.parts.items()})
        if on_checkpoint is not None:
            on_checkpoint(model, int(hi))
    if spec.continue_steps:
        if on_trained is not None:
            on_trained(model)
        keys = streams.keys(seed, *_stream(spec.restart, "continuation_directions"), num=spec.continue_steps)
        fit(model, loss_fn, batches(keys, 0), optimizer, spec.continue_steps, learner.log_every, progress, hint=hint)
    return model, log


def embed(model: nn.Module, x: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """``(n, 2)`` embeddings of ``(n, 2)`` observations, in chunks (float64 out)."""
    out = [np.array(model(mx.array(x[i:i + chunk], dtype=mx.float32))) for i in range(0, len(x), chunk)]
    return np.concatenate(out).astype(np.float64)


def step_seconds(learner: Learner, steps: int = 20, seed: int = 0, repeats: int = 3) -> dict[str, float]:
    """Measured wall seconds per training step, and per SIGReg forward+backward alone (both compiled).

    The step time is the difference between a run of ``5 + steps`` and one of 5 steps, so the
    one-off compilation cancels; each is the fastest of ``repeats`` timings, to damp the noise of a
    shared machine.
    """
    import time

    def timed(n):
        best = math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            train(learner, TrainSpec(steps=n), seed)
            best = min(best, time.perf_counter() - start)
        return best

    long, short = timed(5 + steps), timed(5)
    step = (long - short) / steps
    if step <= 0:  # a busy shared machine can time the short run slower than the long one: bound from above
        step = long / (5 + steps)
    x = mx.random.normal((2 * learner.batch, 2), key=streams.key(seed, "inputs"))
    fn = mx.compile(mx.grad(lambda z, k: mx.mean(epps_pulley(z @ random_directions(k, 2, learner.num_slices),
                                                             fast_trig=learner.fast_trig))))
    keys = streams.keys(seed, "directions", num=steps + 3)
    for i in range(3):
        mx.eval(fn(x, keys[i]))
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            mx.eval(fn(x, keys[3 + i]))
        best = min(best, (time.perf_counter() - start) / steps)
    return {"step": step, "sigreg": best}
