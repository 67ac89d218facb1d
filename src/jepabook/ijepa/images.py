"""Small image sets for Chapter 2 (I-JEPA): a procedural one built for the question, and a real one.

Explained in Chapter 2. Both return ``(images (n, size, size, 1) float32, labels (n,) int)``,
standardised to zero mean and unit variance over the set.

- :func:`make_shapes`: the label is the *shape* of one large object (a disk, a square, ...) spanning
  several patches, drawn at a random place, size and contrast, over two kinds of label-free detail:
  a smooth random field, which a patch's neighbours predict (so hiding scattered patches can be
  undone by interpolation, as on natural images), and an independent grating in every patch-sized
  cell, which nothing else in the image predicts.
- :func:`load_digits`: scikit-learn's bundled 8×8 handwritten digits (offline), upsampled bilinearly
  to the same size so that the same ViT and patch grid apply.
"""

from __future__ import annotations

import numpy as np

from jepabook.core import streams

__all__ = ["SHAPES", "load_digits", "make_shapes", "shape_mask"]

SHAPES = ("disk", "square", "triangle", "cross", "ring", "bars")


def shape_mask(shape: str, size: int, radius: float, cy: float, cx: float) -> np.ndarray:
    """``(size, size)`` boolean silhouette of ``shape`` with half-extent ``radius`` pixels centred at ``(cy, cx)``."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    dy, dx = (y - cy) / radius, (x - cx) / radius
    if shape == "disk":
        return dy**2 + dx**2 <= 1
    if shape == "square":
        return (np.abs(dy) <= 0.8) & (np.abs(dx) <= 0.8)
    if shape == "triangle":  # apex up
        return (dy <= 0.8) & (dy >= -1) & (np.abs(dx) <= (dy + 1) / 1.8 * 0.9)
    if shape == "cross":
        return ((np.abs(dy) <= 0.3) & (np.abs(dx) <= 1)) | ((np.abs(dx) <= 0.3) & (np.abs(dy) <= 1))
    if shape == "ring":
        r2 = dy**2 + dx**2
        return (r2 <= 1) & (r2 >= 0.45)
    if shape == "bars":
        return (np.abs(dy) <= 1) & (np.abs(np.abs(dx) - 0.6) <= 0.25)
    raise ValueError(f"shape must be one of {SHAPES}; got {shape!r}")


def make_shapes(n: int, seed: int, size: int = 32, grating: float = 0.0, noise: float = 0.05, texture: float = 0.0,
                patch: int = 4, field: float = 0.0, field_sigma: float = 4.0,
                stream: str = "shapes") -> tuple[np.ndarray, np.ndarray]:
    """``n`` images of one large labelled shape over a random oriented grating (see the module docstring).

    Args:
        n: number of images; labels are balanced up to rounding and shuffled.
        seed: the seed; images are drawn from its stream ``(seed, "data", "shapes")``.
        size: image side in pixels.
        grating: amplitude of one image-wide grating relative to the object's contrast range
            (0.6–1.2): *predictable* detail, since every patch's neighbours continue it.
        noise: per-pixel Gaussian noise.
        texture: amplitude of an independent grating in every ``patch × patch`` cell (random
            orientation, period and phase per cell): *unpredictable* detail, since no other cell
            says anything about it.
        patch: the texture's cell size in pixels (the ViT's patch, so one token holds one cell).
        field: amplitude, in standard deviations of the standardised image without it, of a smooth
            Gaussian random field (the pilots' convention, ``results/pilots/ijepa.md``), white noise
            blurred by a Gaussian of ``field_sigma`` pixels: *locally predictable* detail, since
            neighbouring patches share it and distant ones do not.
        stream: the name of the random stream ``(seed, "data", stream)``; another name draws another
            set of the same world (the supervised ceiling's own labelled images).
    """
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be a positive integer; got {n!r}")
    if not (isinstance(patch, int) and patch >= 1 and size % patch == 0):
        raise ValueError(f"patch must be a positive integer dividing size={size}; got {patch!r}")
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels for the shapes to span several patches; got {size}")
    if not (field >= 0 and field_sigma > 0):
        raise ValueError(f"field must be ≥ 0 and field_sigma > 0; got field={field!r}, field_sigma={field_sigma!r}")
    rng = streams.rng(seed, "data", stream)
    labels = rng.permutation(np.arange(n) % len(SHAPES))
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    images = np.empty((n, size, size), dtype=np.float64)
    for i, label in enumerate(labels):
        theta, period, phase = rng.uniform(0, np.pi), rng.uniform(3.0, 5.0), rng.uniform(0, 2 * np.pi)
        wave = grating * np.sin(2 * np.pi * (x * np.cos(theta) + y * np.sin(theta)) / period + phase)
        radius = rng.uniform(0.22, 0.32) * size
        cy, cx = rng.uniform(radius, size - radius, 2)
        contrast = rng.uniform(0.6, 1.2) * rng.choice([-1.0, 1.0])
        images[i] = wave + contrast * shape_mask(SHAPES[label], size, radius, cy, cx)
    if texture:
        cells = size // patch
        py, px = np.mgrid[0:patch, 0:patch].astype(np.float64)
        theta = rng.uniform(0, np.pi, (n, cells, cells, 1, 1))
        period = rng.uniform(2.0, 4.0, (n, cells, cells, 1, 1))
        phase = rng.uniform(0, 2 * np.pi, (n, cells, cells, 1, 1))
        cell = texture * np.sin(2 * np.pi * (px * np.cos(theta) + py * np.sin(theta)) / period + phase)
        images += cell.transpose(0, 1, 3, 2, 4).reshape(n, size, size)
    images += noise * rng.standard_normal(images.shape)
    images = (images - images.mean()) / images.std()
    if field:  # drawn last, so that a world without it keeps its bits; relative to the standardised image
        from scipy.ndimage import gaussian_filter

        smooth = gaussian_filter(rng.standard_normal((n, size, size)), (0, field_sigma, field_sigma), mode="wrap")
        images = images + field * smooth / smooth.std()
        images = (images - images.mean()) / images.std()
    return images[..., None].astype(np.float32), labels.astype(np.int64)


def load_digits(size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 bundled 8×8 digits (offline), bilinearly upsampled to ``size × size``."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits as sklearn_digits

    if size % 8:
        raise ValueError(f"size must be a multiple of 8; got {size}")
    data = sklearn_digits()
    images = zoom(data.images / 16.0, (1, size / 8, size / 8), order=1)
    images = (images - images.mean()) / images.std()
    return images[..., None].astype(np.float32), data.target.astype(np.int64)
