"""Chapter 4's self-trained 2-D teacher: a small LeJEPA ViT trained on the chapter's own renders, no labels.

Explained in Chapter 4 (CrossJEPA). The frozen random ConvNets of the first version of the chapter
knew neither the camera pose (held-out R² ≈ 0.05) nor more about the class than a random
projection of the pixels, so two of the paper's claims could not be tested. This teacher is trained
here, once, and then frozen like any other:

- **Network.** Chapter 2's :class:`~jepabook.blocks.vit.ViT` over ``patch``×``patch`` patches of the
  view (fixed sin-cos positions, pre-norm blocks, final LayerNorm).
- **Objective (LeJEPA).** Each training view is augmented ``n_aug`` times (a random shift of up to
  ``shift`` pixels, a random brightness and per-channel gain); the projected mean token of every
  copy is pulled towards the mean over its copies (the prediction term) while SIGReg
  (:func:`jepabook.blocks.sigreg.sigreg`) keeps the batch of embeddings close to an isotropic
  Gaussian, so they cannot collapse: ``loss = (1 − λ)·pred + λ·SIGReg``. No labels, no camera
  poses: the copies of a view share its pose, so nothing asks the network to forget it.
- **Embedding (the teacher's output).** The output tokens average-pooled to a ``pool``×``pool`` map
  and flattened (``pool²·width`` values): a coarse spatial map, so where the silhouette's mass lies,
  which moves with the camera, survives the pooling.
- **Once, then cached.** The teacher trains only on the views of the *training* objects
  (:meth:`ViTTeacher.bind`); its fingerprint hashes its settings and those views, so its
  embeddings go through :func:`~jepabook.crossjepa.teachers.embed_cached` like any teacher's, and
  its weights are stored next to them. ``steps=0`` is the same network at its initialisation: the
  *random* teacher of the extension row, which differs from the trained one only in training.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from jepabook.blocks.nets import init_linears
from jepabook.blocks.sigreg import sigreg
from jepabook.blocks.vit import ViT, patchify
from jepabook.core import streams
from jepabook.core.training import constant_then_cosine, fit
from jepabook.crossjepa.trained_teacher import TrainedTeacher, check_views

__all__ = ["TeacherSpec", "TeacherNet", "ViTTeacher", "augment", "lejepa_loss", "pooled_map"]


@dataclass(frozen=True)
class TeacherSpec:
    """Everything the self-trained teacher depends on besides its training views."""

    patch: int = 8
    width: int = 64
    depth: int = 3
    heads: int = 4
    mlp_ratio: float = 2.0
    proj_dim: int = 64
    pool: int = 2
    steps: int = 600
    batch: int = 64
    n_aug: int = 2
    lr: float = 2e-3
    weight_decay: float = 0.05
    lam: float = 0.05
    slices: int = 128
    shift: int = 4
    seed: int = 0

    def __post_init__(self):
        for name in ("patch", "width", "depth", "heads", "proj_dim", "pool", "batch", "slices"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if not (isinstance(self.steps, int) and self.steps >= 0):
            raise ValueError(f"steps must be an integer >= 0 (0: the untrained network); got {self.steps!r}")
        if not (isinstance(self.n_aug, int) and self.n_aug >= 2):
            raise ValueError(f"n_aug must be an integer >= 2 (copies to agree); got {self.n_aug!r}")
        if not (0.0 < self.lam < 1.0):
            raise ValueError(f"lam must be in (0, 1); got {self.lam!r}")
        if not (isinstance(self.shift, int) and self.shift >= 0):
            raise ValueError(f"shift must be an integer >= 0; got {self.shift!r}")


def augment(images: np.ndarray, rng: np.random.Generator, shift: int) -> np.ndarray:
    """One random copy of each view ``(n, H, W, 3)``: shifted by up to ``shift`` pixels (zero fill), its
    colour channels randomly permuted, turned grey with probability 0.2, brightness ×U(0.7, 1.3) and
    each channel ×U(0.85, 1.15), clipped to [0, 1]. The colour jitter makes hue a nuisance the
    copies disagree on, so the embedding keeps shape and shading (pose) rather than paint."""
    n, h, w, _ = images.shape
    padded = np.pad(images, ((0, 0), (shift, shift), (shift, shift), (0, 0)))
    dy, dx = rng.integers(0, 2 * shift + 1, n), rng.integers(0, 2 * shift + 1, n)
    rows = dy[:, None] + np.arange(h)[None]  # (n, H)
    cols = dx[:, None] + np.arange(w)[None]  # (n, W)
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    perm = np.argsort(rng.random((n, 3)), axis=1)  # a random channel order per copy
    out = np.take_along_axis(out, perm[:, None, None, :], axis=3)
    grey = rng.random(n) < 0.2
    out[grey] = out[grey].mean(axis=-1, keepdims=True)
    gain = rng.uniform(0.7, 1.3, (n, 1, 1, 1)) * rng.uniform(0.85, 1.15, (n, 1, 1, 3))
    return np.clip(out * gain, 0.0, 1.0).astype(np.float32)


def _batch_standardise(z: mx.array, eps: float = 1e-5) -> mx.array:
    mu = mx.mean(z, axis=0, keepdims=True)
    return (z - mu) / mx.sqrt(mx.var(z, axis=0, keepdims=True) + eps)


def pooled_map(tokens: mx.array, grid: int, pool: int) -> mx.array:
    """Tokens ``(b, grid², d)`` (row-major grid) averaged over ``pool``×``pool`` regions → ``(b, pool²·d)``."""
    b, n, d = tokens.shape
    if n != grid * grid or grid % pool:
        raise ValueError(f"{n} tokens are not a {grid}×{grid} grid divisible into {pool}×{pool} regions")
    f = grid // pool
    x = tokens.reshape(b, pool, f, pool, f, d).mean(axis=(2, 4))
    return x.reshape(b, pool * pool * d)


class TeacherNet(nn.Module):
    """The teacher's ViT and the projector its training loss reads (the projector is not part of the embedding)."""

    def __init__(self, spec: TeacherSpec, image_size: int, key: mx.array):
        super().__init__()
        if image_size % spec.patch or (image_size // spec.patch) % spec.pool:
            raise ValueError(f"image size {image_size} must be divisible by patch={spec.patch} into a grid "
                             f"divisible by pool={spec.pool}")
        k_vit, k_proj = mx.random.split(key)
        self.grid = image_size // spec.patch
        self.patch, self.pool = spec.patch, spec.pool
        self.vit = ViT(spec.patch * spec.patch * 3, (self.grid, self.grid), spec.width, spec.depth, spec.heads,
                       spec.mlp_ratio, k_vit)
        self.proj1, self.proj2 = nn.Linear(spec.width, 4 * spec.width), nn.Linear(4 * spec.width, spec.proj_dim)
        init_linears(self.proj1, k_proj)
        init_linears(self.proj2, mx.random.split(k_proj)[1])

    def tokens(self, images: mx.array) -> mx.array:
        return self.vit(patchify(images - 0.5, (self.patch, self.patch)))

    def project(self, images: mx.array) -> mx.array:
        """``(n, H, W, 3)`` → the projected mean token ``(n, proj_dim)`` that the loss reads.

        The mean token and the hidden layer are standardised over the batch (LeJEPA's projector has
        BatchNorm layers): a fresh ViT's pooled tokens differ across images far less than their
        shared mean, and without this SIGReg starts at a flat, collapsed point and never leaves it.
        """
        h = _batch_standardise(mx.mean(self.tokens(images), axis=1))
        return self.proj2(nn.relu(_batch_standardise(self.proj1(h))))

    def embed(self, images: mx.array) -> mx.array:
        """The frozen teacher's embedding ``(n, pool²·width)`` (:func:`pooled_map` of the output tokens)."""
        return pooled_map(self.tokens(images), self.grid, self.pool)


def lejepa_loss(model: TeacherNet, copies: mx.array, key: mx.array, lam: float, slices: int):
    """LeJEPA's loss on ``copies`` ``(A, n, H, W, 3)`` (``A`` augmented copies of ``n`` views).

    ``pred``: mean squared distance of each copy's projection from the mean over its copies;
    ``sigreg``: SIGReg of each copy's batch of projections, averaged over copies (one key per step).
    """
    a, n = copies.shape[:2]
    z = model.project(copies.reshape((a * n,) + copies.shape[2:])).reshape(a, n, -1)
    centre = mx.mean(z, axis=0, keepdims=True)
    pred = mx.mean(mx.sum((z - centre) ** 2, axis=-1))
    reg = mx.mean(mx.stack([sigreg(z[i], key, num_slices=slices) for i in range(a)]))
    return (1 - lam) * pred + lam * reg, {"pred": pred, "sigreg": reg}


def _hash_array(x: np.ndarray) -> str:
    h = hashlib.sha256(repr((x.shape, str(x.dtype))).encode())
    h.update(np.ascontiguousarray(x).tobytes())
    return h.hexdigest()


class ViTTeacher(TrainedTeacher):
    """A teacher (``name``, ``fingerprint()``, ``embed(images)``) trained by LeJEPA on the views it is bound to.

    :meth:`bind` gives it its training views (the training objects' views, no labels); training
    happens on the first :meth:`embed` (or is read back from the weight cache) and is timed in
    ``train_seconds``. ``steps=0`` leaves the network at its initialisation.
    """

    def __init__(self, spec: TeacherSpec = TeacherSpec(), name: str = "lejepa"):
        self.spec, self.name = spec, name
        self.train_images: np.ndarray | None = None
        self._train_hash: str | None = None
        self.model: TeacherNet | None = None
        self.train_seconds = 0.0
        self.log = None

    @property
    def trains(self) -> bool:
        return self.spec.steps > 0

    def bind(self, images: np.ndarray, images_hash: str | None = None) -> "ViTTeacher":
        """Set the views it trains on, ``(n, H, W, 3)`` in [0, 1]; ``images_hash`` (default: of the bytes)
        enters the fingerprint."""
        images = check_views(images)
        if len(images) < self.spec.batch and self.spec.steps:
            raise ValueError(f"{len(images)} training views is fewer than the batch ({self.spec.batch})")
        self.train_images, self._train_hash = images, images_hash or _hash_array(images)
        self.model = None
        return self

    def fingerprint(self) -> str:
        if self._train_hash is None:
            raise RuntimeError(f"teacher {self.name!r} has no training views yet: {self.bind_hint}")
        # v2: the ViT's attention computes its softmax with blocks.nets.softmax (other last bits), so
        # weights and embeddings cached by v1 are not reused
        return hashlib.sha256(repr(("vit-teacher-v2", asdict(self.spec), self._train_hash,
                                    self.train_images.shape[1:])).encode()).hexdigest()

    def _is_bound(self) -> bool:
        return self.train_images is not None

    def _init_model(self) -> TeacherNet:
        return TeacherNet(self.spec, self.train_images.shape[1], streams.key(self.spec.seed, "teacher", "vit_init"))

    def _fit(self, model: TeacherNet) -> None:
        s = self.spec
        rng = streams.rng(s.seed, "teacher", "vit_batches")
        aug_rng = streams.rng(s.seed, "teacher", "vit_augment")
        keys = streams.keys(s.seed, "teacher", "vit_sigreg", num=s.steps)
        images = self.train_images

        def batch(i):
            pick = images[rng.choice(len(images), s.batch, replace=False)]
            copies = np.stack([augment(pick, aug_rng, s.shift) for _ in range(s.n_aug)])
            return mx.array(copies), keys[i]

        optimizer = optim.AdamW(learning_rate=constant_then_cosine(s.lr, s.steps, 0.3), weight_decay=s.weight_decay)
        self.log = fit(model, lambda m, x, k: lejepa_loss(m, x, k, s.lam, s.slices), batch, optimizer, s.steps,
                       log_every=max(1, s.steps // 20), hint=f"Lower the teacher's lr (now {s.lr}).")
