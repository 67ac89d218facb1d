"""Chapter 4's default teacher: a small ViT trained with class labels on renders of other objects.

Explained in Chapter 4 (CrossJEPA). CrossJEPA distils a 2-D model that already knows what things
are (DINOv2, trained on 142 M curated images) into a 3-D student. A teacher that knows less about
the class than the student knows at initialisation cannot stand in for it (the self-trained LeJEPA
ViT of :mod:`jepabook.crossjepa.vit_teacher` reads below the untrained student on held-out objects).
So this teacher gets its semantics the way a toy can afford: from labels, on renders of its *own*
objects.

- **Its own objects.** The teacher's views are renders of objects numbered after the student's
  (:func:`jepabook.crossjepa.shapes3d.make_world`'s ``first_index``): the same classes and the
  same render settings, but not one object the student trains or is probed on. The student never
  sees a label; the teacher never sees a point cloud.
- **Network.** Chapter 2's :class:`~jepabook.blocks.vit.ViT` over ``patch``×``patch`` patches (the
  same network as the self-trained teacher), a linear class head on the mean output token,
  cross-entropy, and the self-trained teacher's augmentations (shift, channel order, grey, gain),
  so hue is a nuisance to it as colour jitter makes it one to DINOv2.
- **Embedding.** As for the self-trained teacher, the output tokens average-pooled to a
  ``pool``×``pool`` map (``pool²·width`` values), so where the silhouette's mass and its shading
  lie, which move with the camera, survive; the head is not part of the embedding.
- **Once, then cached.** Trained on the first :meth:`LabelledTeacher.embed`; its weights are stored
  under a fingerprint of its settings and its views, its embeddings go through
  :func:`~jepabook.crossjepa.teachers.embed_cached` like any teacher's.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np
from mlx.utils import tree_flatten, tree_unflatten

from jepabook.blocks.nets import init_linears
from jepabook.blocks.vit import ViT, patchify
from jepabook.core import streams
from jepabook.core.results import write_atomic
from jepabook.core.training import constant_then_cosine, fit
from jepabook.crossjepa.vit_teacher import augment, pooled_map

__all__ = ["LabelledNet", "LabelledSpec", "LabelledTeacher", "label_loss"]


@dataclass(frozen=True)
class LabelledSpec:
    """Everything the labelled teacher depends on besides its views: its own objects and its training."""

    objects_per_class: int = 128
    patch: int = 8
    width: int = 64
    depth: int = 3
    heads: int = 4
    mlp_ratio: float = 2.0
    pool: int = 2
    steps: int = 600
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    shift: int = 4
    seed: int = 0

    def __post_init__(self):
        for name in ("objects_per_class", "patch", "width", "depth", "heads", "pool", "steps", "batch"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if not (isinstance(self.shift, int) and self.shift >= 0):
            raise ValueError(f"shift must be an integer >= 0; got {self.shift!r}")


class LabelledNet(nn.Module):
    """The labelled teacher's ViT and its class head (the head is not part of the embedding)."""

    def __init__(self, spec: LabelledSpec, image_size: int, n_classes: int, key: mx.array):
        super().__init__()
        if image_size % spec.patch or (image_size // spec.patch) % spec.pool:
            raise ValueError(f"image size {image_size} must be divisible by patch={spec.patch} into a grid "
                             f"divisible by pool={spec.pool}")
        k_vit, k_head = mx.random.split(key)
        self.grid, self.patch, self.pool = image_size // spec.patch, spec.patch, spec.pool
        self.vit = ViT(spec.patch * spec.patch * 3, (self.grid, self.grid), spec.width, spec.depth, spec.heads,
                       spec.mlp_ratio, k_vit)
        self.head = nn.Linear(spec.width, n_classes)
        init_linears(self.head, k_head)

    def tokens(self, images: mx.array) -> mx.array:
        return self.vit(patchify(images - 0.5, (self.patch, self.patch)))

    def logits(self, images: mx.array) -> mx.array:
        """``(n, H, W, 3)`` → class logits ``(n, n_classes)`` from the mean output token."""
        return self.head(mx.mean(self.tokens(images), axis=1))

    def embed(self, images: mx.array) -> mx.array:
        """The frozen teacher's embedding ``(n, pool²·width)`` (:func:`pooled_map` of the output tokens)."""
        return pooled_map(self.tokens(images), self.grid, self.pool)


def label_loss(model: LabelledNet, images: mx.array, labels: mx.array):
    """Mean cross-entropy of the class head on ``images`` ``(n, H, W, 3)``; also logs the batch accuracy."""
    logits = model.logits(images)
    loss = mx.mean(nn.losses.cross_entropy(logits, labels))
    return loss, {"accuracy": mx.mean(mx.argmax(logits, axis=-1) == labels)}


class LabelledTeacher:
    """A teacher (``name``, ``fingerprint()``, ``embed(images)``) trained with labels on the views it is bound to.

    :meth:`bind` gives it its own labelled views; training happens on the first :meth:`embed` (or is
    read back from the weight cache) and is timed in ``train_seconds``.
    """

    needs_labelled_views = True  # prepare() renders its own objects for it

    def __init__(self, spec: LabelledSpec = LabelledSpec(), name: str = "labelled"):
        self.spec, self.name = spec, name
        self.images: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self._views_hash: str | None = None
        self.model: LabelledNet | None = None
        self.train_seconds = 0.0
        self.log = None

    def bind(self, images: np.ndarray, labels: np.ndarray, views_hash: str | None = None) -> "LabelledTeacher":
        """Set its training views ``(n, H, W, 3)`` in [0, 1] and their class labels ``(n,)``."""
        images = np.asarray(images, dtype=np.float32)
        labels = np.asarray(labels)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must have shape (n, H, W, 3); got {images.shape}")
        if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
            raise ValueError(f"labels must be {len(images)} non-negative integers; got shape {labels.shape}, "
                             f"dtype {labels.dtype}")
        if len(images) < self.spec.batch:
            raise ValueError(f"{len(images)} training views is fewer than the batch ({self.spec.batch})")
        if views_hash is None:
            h = hashlib.sha256(np.ascontiguousarray(images).tobytes())
            h.update(np.ascontiguousarray(labels).tobytes())
            views_hash = h.hexdigest()
        self.images, self.labels, self._views_hash, self.model = images, labels.astype(np.int32), views_hash, None
        return self

    def fingerprint(self) -> str:
        if self._views_hash is None:
            raise RuntimeError(f"teacher {self.name!r} has no training views yet: call bind(images, labels) first")
        return hashlib.sha256(repr(("labelled-vit-v1", asdict(self.spec), self._views_hash,
                                    self.images.shape[1:])).encode()).hexdigest()

    def _train(self) -> LabelledNet:
        from jepabook.crossjepa.teachers import cache_dir

        s = self.spec
        n_classes = int(self.labels.max()) + 1
        model = LabelledNet(s, self.images.shape[1], n_classes, streams.key(s.seed, "teacher", "labelled_init"))
        path = cache_dir() / f"{self.name}-weights-{self.fingerprint()[:20]}.npz"
        if path.is_file():
            try:
                with np.load(path) as f:
                    model.update(tree_unflatten([(k, mx.array(f[k])) for k in f.files if k != "seconds"]))
                    self.train_seconds = float(f["seconds"])
                return model
            except (OSError, ValueError, KeyError):
                pass  # unreadable: train again
        start = time.perf_counter()
        rng = streams.rng(s.seed, "teacher", "labelled_batches")
        aug_rng = streams.rng(s.seed, "teacher", "labelled_augment")
        images, labels = self.images, mx.array(self.labels)

        def batch(i):
            pick = rng.choice(len(images), s.batch, replace=False)
            return mx.array(augment(images[pick], aug_rng, s.shift)), labels[mx.array(pick)]

        optimizer = optim.AdamW(learning_rate=constant_then_cosine(s.lr, s.steps, 0.3), weight_decay=s.weight_decay)
        self.log = fit(model, label_loss, batch, optimizer, s.steps, log_every=max(1, s.steps // 20),
                       hint=f"Lower the labelled teacher's lr (now {s.lr}).")
        self.train_seconds = time.perf_counter() - start
        flat = {k: np.array(v) for k, v in tree_flatten(model.parameters())}
        write_atomic(path, lambda f: np.savez(f, seconds=np.array(self.train_seconds), **flat))
        return model

    def embed(self, images: np.ndarray, chunk: int = 256) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must have shape (n, H, W, 3); got {images.shape}")
        if self.model is None:
            if self.images is None:
                raise RuntimeError(f"teacher {self.name!r} has no training views yet: call bind(images, labels) first")
            self.model = self._train()
        return np.concatenate([np.array(self.model.embed(mx.array(images[i:i + chunk])))
                               for i in range(0, len(images), chunk)]).astype(np.float32)
