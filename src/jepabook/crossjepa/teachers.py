"""Frozen 2-D teachers for Chapter 4 (CrossJEPA), and the one-time embedding cache.

Explained in Chapter 4. A *teacher* is anything with a ``name``, a ``fingerprint()`` (a string that
changes whenever its weights or preprocessing change) and ``embed(images) -> (n, d)`` for images
``(n, H, W, 3)`` in [0, 1]. The teacher is frozen, so its embedding of a view never changes: one
pass over every rendered view is stored on disk by :func:`embed_cached`, keyed by a hash of the
data and the teacher, and training reads the stored array. Training never calls a teacher.

Offline teachers (nothing to download):

- :class:`RandomConvTeacher`: a three-stage ReLU convolutional network with frozen random weights
  (He initialisation from a seed), read out as the global mean and max of its last feature map.
  "Random teachers are good teachers" (Sarnthein et al., 2023): a random network's features already
  carry shape. Written in NumPy (im2col + matmul): MLX's CPU build would take ~19 ms per 48×48
  view for the same network, NumPy's BLAS well under 1 ms.
- :class:`PixelTeacher`: the view averaged down to a coarse grid and projected by a fixed random
  matrix: a linear function of the pixels, a deliberately weak teacher.

The DINOv2 ViT-S/14 teacher (:class:`jepabook.crossjepa.dinov2.DinoV2Teacher`) loads a local checkpoint.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from jepabook.core import streams
from jepabook.core.results import checkout_path, write_atomic

__all__ = ["CacheInfo", "PixelTeacher", "RandomConvTeacher", "Teacher", "avg_pool", "cache_dir", "embed_cached"]


class Teacher(Protocol):
    name: str

    def fingerprint(self) -> str: ...

    def embed(self, images: np.ndarray) -> np.ndarray: ...


def _check_images(images) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape (n, H, W, 3); got {images.shape}")
    return images


LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # Rec. 601 luma weights


def _conv3x3_relu(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Same-padded 3×3 convolution + ReLU: ``x`` ``(n, H, W, c)``, ``w`` ``(9·c, c_out)``."""
    n, h, wd, c = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))  # (n, H, W, c, 3, 3)
    cols = cols.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * wd, 9 * c)
    return np.maximum(cols @ w, 0.0).reshape(n, h, wd, -1)


def avg_pool(x: np.ndarray, f: int) -> np.ndarray:
    """``(n, H, W, c)`` averaged over non-overlapping ``f``×``f`` blocks → ``(n, H/f, W/f, c)``."""
    n, h, w, c = x.shape
    if h % f or w % f:
        raise ValueError(f"image size {h}×{w} must be divisible by {f}")
    return x.reshape(n, h // f, f, w // f, f, c).mean(axis=(2, 4))


@dataclass(frozen=True)
class RandomConvTeacher:
    """Frozen random ConvNet: channels per stage, 3×3 kernels, ReLU, 2×2 average pooling between stages.

    With ``grey=True`` it sees only the luminance of the view (one input channel), so hue reaches it
    only through brightness.

    The embedding is ``[mean ‖ max]`` of the last feature map over positions: ``2·channels[-1]`` values.
    Input images must have sides divisible by ``2**(len(channels) − 1)``.
    """

    channels: tuple[int, ...] = (32, 64, 128)
    seed: int = 0
    grey: bool = False
    batch_size: int = 128
    name: str = "random-conv"

    def _weights(self) -> list[np.ndarray]:
        rng = streams.rng(self.seed, "teacher", "random_conv")
        dims = (1 if self.grey else 3,) + tuple(self.channels)
        return [rng.normal(0.0, np.sqrt(2.0 / (9 * a)), (9 * a, b)).astype(np.float32)
                for a, b in zip(dims[:-1], dims[1:])]

    def fingerprint(self) -> str:
        h = hashlib.sha256(repr(("random-conv-v2", self.channels, self.seed, self.grey)).encode())
        for w in self._weights():
            h.update(w.tobytes())
        return h.hexdigest()

    def embed(self, images: np.ndarray) -> np.ndarray:
        images = _check_images(images)
        weights = self._weights()
        out = []
        for lo in range(0, len(images), self.batch_size):
            x = images[lo:lo + self.batch_size] - 0.5
            if self.grey:  # luminance only: blind to hue, as a colour-jitter-trained network nearly is
                x = x @ LUMA[:, None]
            for i, w in enumerate(weights):
                if i:
                    x = avg_pool(x, 2)
                x = _conv3x3_relu(x, w)
            out.append(np.concatenate([x.mean(axis=(1, 2)), x.max(axis=(1, 2))], axis=1))
        return np.concatenate(out).astype(np.float32)


@dataclass(frozen=True)
class PixelTeacher:
    """The view average-pooled by ``pool``, flattened and multiplied by a fixed Gaussian matrix to ``dim`` values."""

    dim: int = 256
    pool: int = 4
    seed: int = 0
    name: str = "pixels"

    def fingerprint(self) -> str:
        # v2: the projection comes from the named stream (seed, "teacher", "pixel_projection"); it is
        # not hashed here, so the version must change whenever its derivation does
        return hashlib.sha256(repr(("pixels-v2", self.dim, self.pool, self.seed)).encode()).hexdigest()

    def embed(self, images: np.ndarray) -> np.ndarray:
        images = _check_images(images)
        flat = avg_pool(images, self.pool).reshape(len(images), -1) - 0.5
        proj = streams.rng(self.seed, "teacher", "pixel_projection").normal(0.0, 1.0 / np.sqrt(flat.shape[1]),
                                                                            (flat.shape[1], self.dim))
        return (flat @ proj).astype(np.float32)


def cache_dir() -> Path:
    """``$JEPABOOK_CACHE`` if set, else ``.cache/`` of the source checkout, else ``./.cache``."""
    return checkout_path("JEPABOOK_CACHE", ".cache")


@dataclass(frozen=True)
class CacheInfo:
    """What :func:`embed_cached` did: ``hit`` (read from disk) or not, the file, and the teacher pass's
    one-time cost in seconds (measured now on a miss, read from the file on a hit)."""

    hit: bool
    path: Path
    teacher_seconds: float
    n_images: int
    train_seconds: float = 0.0  #: a trained teacher's one-time training, part of ``teacher_seconds``


def _hash_images(images: np.ndarray) -> str:
    h = hashlib.sha256(repr((images.shape, str(images.dtype))).encode())
    h.update(np.ascontiguousarray(images).tobytes())
    return h.hexdigest()


def cache_path(teacher: Teacher, data_hash: str, directory: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Where :func:`embed_cached` keeps ``teacher``'s pass over the images hashed ``data_hash``, and its key."""
    key = hashlib.sha256(f"{data_hash}:{teacher.fingerprint()}".encode()).hexdigest()
    folder = Path(directory) if directory is not None else cache_dir()
    return folder / f"{teacher.name}-{key[:20]}.npz", key


def embed_cached(teacher: Teacher, images: np.ndarray, data_hash: str | None = None,
                 directory: str | os.PathLike | None = None) -> tuple[np.ndarray, CacheInfo]:
    """The teacher's embeddings of ``images`` ``(n, H, W, 3)``, computed once and then read from disk.

    The cache file is named by ``sha256(data_hash, teacher.fingerprint())``; ``data_hash`` defaults to
    a hash of the image bytes. A changed data set or teacher gives a new key, hence a fresh pass. The
    file is written atomically (temporary file, then rename); a file that cannot be read, or whose
    stored key or shape disagrees, is recomputed.
    """
    images = _check_images(images)
    data_hash = data_hash or _hash_images(images)
    path, key = cache_path(teacher, data_hash, directory)
    if path.is_file():
        try:
            with np.load(path) as f:
                if str(f["key"]) == key and f["embeddings"].shape[0] == len(images):
                    trained = float(f["train_seconds"]) if "train_seconds" in f.files else 0.0
                    return f["embeddings"], CacheInfo(True, path, float(f["seconds"]), len(images), trained)
        except (OSError, ValueError, KeyError):
            pass  # unreadable or foreign file: recompute and overwrite
    start = time.perf_counter()
    embeddings = np.asarray(teacher.embed(images), dtype=np.float32)
    seconds = time.perf_counter() - start
    if embeddings.ndim != 2 or len(embeddings) != len(images):
        raise ValueError(f"teacher {teacher.name!r} returned shape {embeddings.shape} for {len(images)} images; "
                         "expected (n_images, dim)")
    # a teacher trained on first use (jepabook.crossjepa.vit_teacher) reports its training time
    trained = float(getattr(teacher, "train_seconds", 0.0))
    write_atomic(path, lambda f: np.savez(f, embeddings=embeddings, key=np.array(key), seconds=np.array(seconds),
                                          train_seconds=np.array(trained), teacher=np.array(teacher.name)))
    return embeddings, CacheInfo(False, path, seconds, len(images), trained)
