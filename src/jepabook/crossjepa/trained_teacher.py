"""What Chapter 4's two self-made teachers share: weights cached under a fingerprint, embeddings in chunks.

Explained in Chapter 4 (CrossJEPA). The labelled MLP (:mod:`jepabook.crossjepa.label_teacher`) and
the self-trained LeJEPA ViT (:mod:`jepabook.crossjepa.vit_teacher`) are trained here once and then
frozen. Each subclass says how to build its network (``_init_model``), whether it has been given its
training views (``_is_bound``) and how to train (``_fit``); this base class reads the weights back
from the cache when a run with the same fingerprint stored them, stores them after training (written
atomically, so an interrupted run leaves no half-written file), and embeds views in chunks.
"""

from __future__ import annotations

import time
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten, tree_unflatten

from jepabook.core.results import write_atomic

__all__ = ["TrainedTeacher", "check_views"]


def check_views(images) -> np.ndarray:
    """``images`` as float32 ``(n, H, W, 3)``, or a ValueError naming the shape it got."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape (n, H, W, 3); got {images.shape}")
    return images


class TrainedTeacher:
    """Base of a teacher trained on the views it is bound to (``name``, ``fingerprint()``, ``embed``).

    Subclasses set ``name``, ``model = None``, ``train_seconds = 0.0`` and ``log = None`` in their
    ``__init__`` and define ``bind``, ``fingerprint``, ``_is_bound``, ``_init_model`` and ``_fit``.
    """

    #: what the error for an unbound teacher tells the caller to do
    bind_hint = "call bind(images) first"
    #: a teacher trained for no steps (the ViT's random twin) is its initialisation, never cached
    trains = True

    def _is_bound(self) -> bool:
        raise NotImplementedError

    def _init_model(self) -> nn.Module:
        raise NotImplementedError

    def _fit(self, model: nn.Module) -> None:
        raise NotImplementedError

    def _weights_path(self) -> Path:
        from jepabook.crossjepa.teachers import cache_dir

        return cache_dir() / f"{self.name}-weights-{self.fingerprint()[:20]}.npz"

    def _train(self) -> nn.Module:
        """The trained network: read back from the weight cache, or trained now (timed) and stored."""
        model = self._init_model()
        if not self.trains:
            return model
        path = self._weights_path()
        if path.is_file():
            try:
                with np.load(path) as f:
                    weights = [(k, mx.array(f[k])) for k in f.files if k != "seconds"]
                    seconds = float(f["seconds"])
                model.update(tree_unflatten(weights))
                self.train_seconds = seconds
                return model
            except (OSError, ValueError, KeyError):
                pass  # unreadable: train again
        start = time.perf_counter()
        self._fit(model)
        self.train_seconds = time.perf_counter() - start
        flat = {k: np.array(v) for k, v in tree_flatten(model.parameters())}
        write_atomic(path, lambda f: np.savez(f, seconds=np.array(self.train_seconds), **flat))
        return model

    def embed(self, images: np.ndarray, chunk: int = 256) -> np.ndarray:
        """The frozen teacher's embedding of ``images`` ``(n, H, W, 3)``, as float32 ``(n, d)``."""
        images = check_views(images)
        if self.model is None:
            if not self._is_bound():
                raise RuntimeError(f"teacher {self.name!r} has no training views yet: {self.bind_hint}")
            self.model = self._train()
        return np.concatenate([np.array(self.model.embed(mx.array(images[i:i + chunk])))
                               for i in range(0, len(images), chunk)]).astype(np.float32)
