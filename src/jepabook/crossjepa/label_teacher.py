"""Chapter 4's default teacher: a small network trained with class labels on renders of other objects.

Explained in Chapter 4 (CrossJEPA). CrossJEPA distils a 2-D model that already knows what things
are (DINOv2, trained on 142 M curated images) into a 3-D student. A teacher that knows less about
the class than the student knows at initialisation cannot stand in for it (the self-trained LeJEPA
ViT of :mod:`jepabook.crossjepa.vit_teacher` reads about as well as the untrained student on
held-out objects). So this teacher gets its semantics the way a toy can afford: from labels, on
renders of its *own* objects.

- **Its own objects.** The teacher's views are renders of objects numbered after the student's
  (:func:`jepabook.crossjepa.shapes3d.make_world`'s ``first_index``): the same classes and the
  same render settings, but not one object the student trains or is probed on. The student never
  sees a label; the teacher never sees a point cloud.
- **Network.** An MLP on the view average-pooled ``pool``× (``hidden`` ReLU layers) with a linear
  class head, trained by cross-entropy, no augmentation. (A ViT of the self-trained teacher's size,
  trained the same way for as many steps, learned the classes far more slowly: see the pilot record,
  ``results/pilots/crossjepa-teacher-pilot.json``.) The MLP trains in seconds.
- **Embedding.** Every hidden layer's output, concatenated: the last is what the head reads (the
  class), the first stays closer to the pixels, where the shading that moves with the camera lies
  (on a small trial world the last layer alone read the pose less well than both together). The
  head is not part of the embedding.
- **Once, then cached.** Trained on the first :meth:`LabelledTeacher.embed`; its weights are stored
  under a fingerprint of its settings and its views, its embeddings go through
  :func:`~jepabook.crossjepa.teachers.embed_cached` like any teacher's.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from jepabook.blocks.nets import init_linears
from jepabook.core import streams
from jepabook.core.training import constant_then_cosine, fit
from jepabook.crossjepa.trained_teacher import TrainedTeacher, check_views

__all__ = ["LabelledNet", "LabelledSpec", "LabelledTeacher", "label_loss"]


@dataclass(frozen=True)
class LabelledSpec:
    """Everything the labelled teacher depends on besides its views: its own objects, its sizes, its training."""

    objects_per_class: int = 128
    pool: int = 4
    hidden: tuple[int, ...] = (512, 256)
    steps: int = 600
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    seed: int = 0

    def __post_init__(self):
        for name in ("objects_per_class", "pool", "steps", "batch"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if not (isinstance(self.hidden, tuple) and self.hidden
                and all(isinstance(h, int) and h >= 1 for h in self.hidden)):
            raise ValueError(f"hidden must be a non-empty tuple of positive integers; got {self.hidden!r}")


class LabelledNet(nn.Module):
    """The labelled teacher's MLP and its class head (the head is not part of the embedding).

    Args:
        pool: the view is average-pooled ``pool``× first (``(H/pool)·(W/pool)·3`` inputs).
        hidden: widths of the ReLU layers; the embedding is all of them, concatenated.
        image_size, n_classes: the views' side and the number of classes.
        key: PRNG key for the initialisation.
    """

    def __init__(self, pool: int, hidden: tuple[int, ...], image_size: int, n_classes: int, key: mx.array):
        super().__init__()
        if image_size % pool:
            raise ValueError(f"image size {image_size} must be divisible by pool={pool}")
        self.pool = pool
        dims = ((image_size // pool) ** 2 * 3,) + tuple(hidden)
        self.layers = [nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])]
        self.head = nn.Linear(dims[-1], n_classes)
        init_linears(self, key)

    def hidden(self, images: mx.array) -> list[mx.array]:
        """``(n, H, W, 3)`` → every hidden layer's output, first to last."""
        n, h, w, _ = images.shape
        p = self.pool
        x = (images - 0.5).reshape(n, h // p, p, w // p, p, 3).mean(axis=(2, 4)).reshape(n, -1)
        out = []
        for layer in self.layers:
            x = nn.relu(layer(x))
            out.append(x)
        return out

    def logits(self, images: mx.array) -> mx.array:
        """Class logits ``(n, n_classes)`` from the last hidden layer."""
        return self.head(self.hidden(images)[-1])

    def embed(self, images: mx.array) -> mx.array:
        """The frozen teacher's embedding ``(n, Σ hidden)``: every hidden layer, concatenated."""
        return mx.concatenate(self.hidden(images), axis=-1)


def label_loss(model: LabelledNet, images: mx.array, labels: mx.array):
    """Mean cross-entropy of the class head on ``images`` ``(n, H, W, 3)``; also logs the batch accuracy."""
    logits = model.logits(images)
    loss = mx.mean(nn.losses.cross_entropy(logits, labels))
    return loss, {"accuracy": mx.mean(mx.argmax(logits, axis=-1) == labels)}


class LabelledTeacher(TrainedTeacher):
    """A teacher (``name``, ``fingerprint()``, ``embed(images)``) trained with labels on the views it is bound to.

    :meth:`bind` gives it its own labelled views; training happens on the first :meth:`embed` (or is
    read back from the weight cache) and is timed in ``train_seconds``.
    """

    needs_labelled_views = True  # prepare() renders its own objects for it
    bind_hint = "call bind(images, labels) first"

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
        images = check_views(images)
        labels = np.asarray(labels)
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
            raise RuntimeError(f"teacher {self.name!r} has no training views yet: {self.bind_hint}")
        return hashlib.sha256(repr(("labelled-mlp-v1", asdict(self.spec), self._views_hash,
                                    self.images.shape[1:])).encode()).hexdigest()

    def _is_bound(self) -> bool:
        return self.images is not None

    def _init_model(self) -> LabelledNet:
        s = self.spec
        return LabelledNet(s.pool, s.hidden, self.images.shape[1], int(self.labels.max()) + 1,
                           streams.key(s.seed, "teacher", "labelled_init"))

    def _fit(self, model: LabelledNet) -> None:
        s = self.spec
        rng = streams.rng(s.seed, "teacher", "labelled_batches")
        images, labels = self.images, mx.array(self.labels)

        def batch(i):
            pick = rng.choice(len(images), s.batch, replace=False)
            return mx.array(images[pick]), labels[mx.array(pick)]

        optimizer = optim.AdamW(learning_rate=constant_then_cosine(s.lr, s.steps, 0.3), weight_decay=s.weight_decay)
        self.log = fit(model, label_loss, batch, optimizer, s.steps, log_every=max(1, s.steps // 20),
                       hint=f"Lower the labelled teacher's lr (now {s.lr}).")
