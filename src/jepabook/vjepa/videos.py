"""Toy videos whose label lives only in the motion: one object moving in one of 8 directions.

Explained in Chapter 3 (V-JEPA). A clip is ``frames`` grey frames of ``size × size`` pixels. Two worlds:

- ``"dots"`` (the chapter's): a random-dot kinematogram. The background is a static i.i.d. Gaussian
  texture, fresh per clip; the object is a patch of a second, independent Gaussian texture, cut out by
  a random shape (disc, square or diamond, random orientation and size), that moves *with its
  texture* by whole pixels each frame, ``round(speed · direction)`` along each axis, on the torus.
  Every pixel of every frame is N(0, 1) whatever the label, so a single frame shows neither the
  direction nor even where the object is: only the way one frame's pixels recur, shifted, in the
  next reveals the object and its direction (a correlation between frames, second order in the
  pixels).
- ``"gratings"`` (the chapter's first world, kept for its pilots): a static background of three
  random low-frequency gratings and a flat object of random contrast sign and magnitude.

Both add i.i.d. Gaussian noise of standard deviation ``noise`` to every pixel of every frame: detail
no model can predict. The object's start is uniform on the torus, so its position in any one frame
is uniform whatever the direction: a single frame carries no information about the label, in
distribution and not only on average (``tests/test_vjepa.py`` checks it with a probe).

``object_area`` sets the object's mean share of the frame (the background fills the other tokens,
so average pooling dilutes the object); the large-object control uses more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jepabook.core import streams

__all__ = ["Clips", "DIRECTIONS", "SHAPES", "WORLDS", "make_clips"]

#: the 8 compass directions, as unit (dy, dx) steps; class k moves at angle k·45° (0 = right, counter-clockwise)
DIRECTIONS = np.stack([(-np.sin(a), np.cos(a)) for a in np.arange(8) * np.pi / 4])
SHAPES = ("disc", "square", "diamond")
WORLDS = ("dots", "gratings")


@dataclass(frozen=True)
class Clips:
    """``video`` ``(n, frames, size, size, 1)`` float32 and ``labels`` ``(n,)`` direction classes 0..7;
    ``object_mask`` ``(n, frames, size, size)`` bool (where the object is), for figures and checks."""

    video: np.ndarray
    labels: np.ndarray
    object_mask: np.ndarray


def _check(n, frames, size, object_area, speed, noise, background, world):
    for name, v in (("n", n), ("frames", frames), ("size", size)):
        if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1):
            raise ValueError(f"{name} must be a positive integer; got {v!r}")
    if frames < 2:
        raise ValueError(f"frames must be at least 2 (motion needs two frames); got {frames!r}")
    if not (isinstance(object_area, (int, float)) and 0.0 < object_area < 1.0):
        raise ValueError(f"object_area must be a fraction of the frame in (0, 1); got {object_area!r}")
    if not (isinstance(speed, (int, float)) and speed > 0):
        raise ValueError(f"speed must be a positive number of pixels per frame; got {speed!r}")
    if not (isinstance(noise, (int, float)) and noise >= 0):
        raise ValueError(f"noise must be a non-negative standard deviation; got {noise!r}")
    if not (isinstance(background, (int, float)) and background >= 0):
        raise ValueError(f"background must be a non-negative amplitude scale; got {background!r}")
    if world not in WORLDS:
        raise ValueError(f"world must be one of {WORLDS}; got {world!r}")
    if world == "dots" and np.any(np.all(np.rint(speed * DIRECTIONS) == 0, axis=1)):
        raise ValueError(f"speed must move the dots world's object by at least one whole pixel in every direction "
                         f"(speed ≥ 0.71); got {speed!r}")


_CHUNK = 256


def _render(centre, shape, radius, angle, yy, xx, size) -> np.ndarray:
    """``(m, frames, size, size)`` object masks for ``m`` clips: each shape around its centre on the torus."""
    # offsets on the torus, in (-size/2, size/2]
    dy = (yy[None, None] - centre[..., 0, None, None] + size / 2) % size - size / 2
    dx = (xx[None, None] - centre[..., 1, None, None] + size / 2) % size - size / 2
    c, s = np.cos(angle)[:, None, None, None], np.sin(angle)[:, None, None, None]
    u, v = c * dx + s * dy, -s * dx + c * dy
    r = radius[:, None, None, None]
    disc = u**2 + v**2 <= r**2
    half = r * np.sqrt(np.pi) / 2  # same area as the disc
    square = (np.abs(u) <= half) & (np.abs(v) <= half)
    diamond = np.abs(u) + np.abs(v) <= half * np.sqrt(2)
    return np.where((shape == 0)[:, None, None, None], disc,
                    np.where((shape == 1)[:, None, None, None], square, diamond))


def make_clips(n: int, seed: int, frames: int = 4, size: int = 40, object_area: float = 0.25,
               speed: float = 1.0, noise: float = 0.7, stream: str = "clips", background: float = 1.0,
               world: str = "dots") -> Clips:
    """``n`` clips from the stream ``(seed, "videos", stream)`` (``(seed, "videos", "dots", stream)`` for the
    dots world); labels balanced (``n // 8`` per class, the remainder to the first classes) and shuffled.
    Pure NumPy, vectorised over clips.

    Args:
        n, frames, size: number of clips, frames per clip, frame side in pixels.
        object_area: the object's mean share of the frame (its side scales with √area, ± 20 %).
        speed: pixels per frame (the dots world moves by ``round(speed · direction)`` whole pixels per axis).
        noise: standard deviation of the per-frame pixel noise.
        background: gratings world only: scale of the background gratings' amplitudes (0: a flat
            background; the draws are made either way, so the objects of a seed do not depend on it).
        stream: names the draw, so that training and probing sets of one seed differ.
        world: ``"dots"`` (the chapter's) or ``"gratings"`` (see the module's docstring).

    Raises:
        ValueError: naming the parameter, for a non-positive count, fewer than 2 frames, an area
            outside (0, 1), a non-positive speed (or, for dots, one that rounds to no motion), a
            negative noise or background, an unknown world.
    """
    _check(n, frames, size, object_area, speed, noise, background, world)
    if world == "dots":
        return _dots(n, seed, frames, size, object_area, speed, noise, stream)
    rng = streams.rng(seed, "videos", stream)
    labels = rng.permutation(np.arange(n) % 8)
    coords = np.arange(size, dtype=np.float64)

    # background: three gratings of random orientation, frequency and phase, shared by every frame
    k = rng.uniform(0.15, 0.6, (n, 3, 1, 1))
    theta = rng.uniform(0, np.pi, (n, 3, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 3, 1, 1))
    amp = rng.uniform(0.1, 0.25, (n, 3, 1, 1))
    yy, xx = coords[:, None], coords[None, :]
    texture = background * (amp * np.sin(k * (np.cos(theta) * xx + np.sin(theta) * yy) + phase)).sum(1)  # (n, size, size)

    # object: shape, size, orientation, contrast; its start is uniform on the torus
    shape = rng.integers(0, len(SHAPES), n)
    radius = np.sqrt(object_area * size * size / np.pi) * rng.uniform(0.8, 1.2, n)
    angle = rng.uniform(0, np.pi / 2, n)
    contrast = rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 1.0, n)
    start = rng.uniform(0, size, (n, 2))
    velocity = speed * DIRECTIONS[labels]  # (n, 2) as (dy, dx)

    t = np.arange(frames, dtype=np.float64)
    centre = start[:, None, :] + t[None, :, None] * velocity[:, None, :]  # (n, frames, 2)
    video = np.empty((n, frames, size, size))
    mask = np.empty((n, frames, size, size), dtype=bool)
    for lo in range(0, n, _CHUNK):  # rendered in chunks: the same numbers, a fraction of the memory traffic
        sl = slice(lo, lo + _CHUNK)
        mask[sl] = _render(centre[sl], shape[sl], radius[sl], angle[sl], yy, xx, size)
        video[sl] = texture[sl, None] + contrast[sl, None, None, None] * mask[sl]
    z = rng.standard_normal(video.shape)
    out = np.empty((n, frames, size, size, 1), dtype=np.float32)
    for lo in range(0, n, _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        out[sl, ..., 0] = video[sl] + noise * z[sl]
    return Clips(out, labels.astype(np.int64), mask)


def _dots(n, seed, frames, size, object_area, speed, noise, stream) -> Clips:
    """The dots world (see the module's docstring): every pixel N(0, 1) (+ noise) in every frame."""
    rng = streams.rng(seed, "videos", "dots", stream)
    labels = rng.permutation(np.arange(n) % 8)
    coords = np.arange(size, dtype=np.float64)
    yy, xx = coords[:, None], coords[None, :]
    background = rng.standard_normal((n, size, size)).astype(np.float32)
    texture = rng.standard_normal((n, size, size)).astype(np.float32)
    shape = rng.integers(0, len(SHAPES), n)
    radius = np.sqrt(object_area * size * size / np.pi) * rng.uniform(0.8, 1.2, n)
    angle = rng.uniform(0, np.pi / 2, n)
    start = rng.uniform(0, size, (n, 2))
    steps = np.rint(speed * DIRECTIONS).astype(np.int64)  # (8, 2) whole pixels per frame, (dy, dx), per class
    step = steps[labels]
    centre = start[:, None, :] + np.arange(frames)[None, :, None] * step[:, None, :]
    mask = np.empty((n, frames, size, size), dtype=bool)
    for lo in range(0, n, _CHUNK):
        mask[lo:lo + _CHUNK] = _render(centre[lo:lo + _CHUNK], shape[lo:lo + _CHUNK], radius[lo:lo + _CHUNK],
                                       angle[lo:lo + _CHUNK], yy, xx, size)
    video = rng.standard_normal((n, frames, size, size, 1), dtype=np.float32)
    video *= np.float32(noise)
    for k in range(len(DIRECTIONS)):  # the texture moves with the object: frame f shows it rolled by f · step
        rows = np.flatnonzero(labels == k)
        dy, dx = steps[k]
        for f in range(frames):
            moved = np.roll(texture[rows], (f * dy, f * dx), axis=(1, 2))
            video[rows, f, ..., 0] += np.where(mask[rows, f], moved, background[rows])
    return Clips(video, labels.astype(np.int64), mask)
