"""Named random streams: one generator (or MLX key) per ``(seed, name, ...)``, independent of every other.

Every random draw of the book comes from a stream named for what it draws: ``rng(seed, "data")``
samples a seed's world, ``rng(seed, "split")`` its train/test split, ``rng(seed, "batches")`` its
batch order, ``key(seed, "init")`` its initial weights. A stream nested under an arm or a purpose
takes more names: ``rng(seed, "masks", "crop")``.

A stream is ``numpy.random.SeedSequence(seed, spawn_key=words(names))``, where each name contributes
two 32-bit words, the first 8 bytes of its UTF-8 SHA-256 (big-endian). So a stream depends only on its
seed and its own names: not on Python's per-process ``hash()``, nor the Python or NumPy version's
hashing, nor which other streams were drawn, or in which order. Adding a stream never shifts
another, and the same ``(seed, names)`` gives the same bits in any process.

NumPy generators are ``PCG64`` seeded by that sequence (what ``np.random.default_rng`` builds); MLX
keys are its first two 32-bit state words as the 64-bit seed of ``mx.random.key``. Use a name for a
generator or for a key, not both (they start from the same entropy pool).
"""

from __future__ import annotations

import hashlib

import mlx.core as mx
import numpy as np

__all__ = ["key", "keys", "rng", "seed_sequence", "spawn_key"]


def _check_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return int(seed)


def spawn_key(*names: str) -> tuple[int, ...]:
    """The ``SeedSequence`` spawn key of ``names``: two 32-bit words per name, from its SHA-256."""
    if not names:
        raise ValueError("names must name at least one stream (e.g. 'data', 'batches')")
    words = []
    for name in names:
        if not (isinstance(name, str) and name):
            raise ValueError(f"names must be non-empty strings; got {name!r} in {names!r}")
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        words += [int.from_bytes(digest[0:4], "big"), int.from_bytes(digest[4:8], "big")]
    return tuple(words)


def seed_sequence(seed: int, *names: str) -> np.random.SeedSequence:
    """The ``SeedSequence`` of the stream ``(seed, *names)``."""
    return np.random.SeedSequence(_check_seed(seed), spawn_key=spawn_key(*names))


def rng(seed: int, *names: str) -> np.random.Generator:
    """A NumPy generator for the stream ``(seed, *names)``, e.g. ``rng(seed, "batches")``."""
    return np.random.default_rng(seed_sequence(seed, *names))


def key(seed: int, *names: str) -> mx.array:
    """An MLX PRNG key for the stream ``(seed, *names)``, e.g. ``key(seed, "init")``."""
    hi, lo = seed_sequence(seed, *names).generate_state(2, np.uint32)
    return mx.random.key((int(hi) << 32) | int(lo))


def keys(seed: int, *names: str, num: int) -> mx.array:
    """``(num, 2)`` MLX keys split from :func:`key` ``(seed, *names)``: one per step, say."""
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ValueError(f"num must be a positive integer; got {num!r}")
    return mx.random.split(key(seed, *names), num)
