"""Numbers for the prose: seed means and spreads, glued at the precision the text prints.

A chapter's prose reads its numbers from ``myst_nb.glue``, which stores each value's ``repr`` in the
executed notebook, and nbval compares those with the committed baseline. A float's ``repr`` carries
all 17 significant digits, so a different BLAS or CPU that moves the 13th digit fails the test
although no reader could see the change. The helpers here round before glueing, to the precision
of the format spec the prose uses (``places`` for ``:.3f``, ``sig`` for ``:.2g`` or ``:.1e``), so
the glued value carries what the reader needs and no more. Used by every chapter notebook.

At the small ``ci`` profile (:func:`set_profile`) every glued number carries one digit fewer. Its
short runs are regression tests, read by nbval rather than by readers, and training turns another
CPU's last-bit differences into relative changes of ~1e-4; one digit less keeps those out of what
is compared. The published ``full`` profile keeps the precision the prose prints.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["digits", "glue_metrics", "glue_num", "mean_of", "rounded", "sd_of", "set_profile"]

_PROFILES = ("full", "ci")
_coarse = False


def set_profile(profile: str) -> None:
    """Glue at the prose's precision (``"full"``) or one digit coarser (``"ci"``); notebooks call it once."""
    global _coarse
    if profile not in _PROFILES:
        raise ValueError(f"profile must be one of {', '.join(map(repr, _PROFILES))}; got {profile!r}")
    _coarse = profile == "ci"


def rounded(x, sig: int = 3, places: int | None = None):
    """``x`` rounded to ``sig`` significant digits, or to ``places`` decimal places when given.

    Integers (Python or NumPy) come back as ``int`` unchanged, bools as ``bool``; NaN and ±inf pass
    through; ``-0.0`` becomes ``0.0`` so a sign that rounding erased does not show. The rounding is
    correctly rounded on the float's exact value, as ``format`` does, so ``f"{rounded(x, places=3):.3f}"``
    prints the same as ``f"{x:.3f}"``.
    """
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, numbers.Integral):
        return int(x)
    x = float(x)
    if not math.isfinite(x):
        return x
    if places is not None:
        if not isinstance(places, int):
            raise TypeError(f"places must be an integer; got {places!r}")
        r = round(x, places)
    else:
        if not (isinstance(sig, int) and sig >= 1):
            raise ValueError(f"sig must be a positive integer; got {sig!r}")
        r = float(f"{x:.{sig - 1}e}")
    return r + 0.0  # -0.0 + 0.0 == 0.0


def digits(n: int) -> int:
    """How many digits a printed table or line should use where the prose would use ``n``.

    ``n`` at the ``full`` profile, one fewer (at least 0) at ``ci``, as for glued numbers.
    """
    if not (isinstance(n, int) and n >= 0):
        raise ValueError(f"n must be a non-negative integer; got {n!r}")
    return max(n - 1, 0) if _coarse else n


def _values(source, name: str) -> list[float]:
    """Per-seed values of ``name`` from a run with ``per_seed`` or a ``{name: [values]}`` mapping."""
    if isinstance(source, Mapping):
        return [float(v) for v in source[name]]
    return [float(v) for v in source.per_seed(name)]


def mean_of(source, name: str) -> float:
    """Seed mean of ``name``; ``source`` is a run (``run.per_seed``) or a metrics mapping (``run.metrics``)."""
    return float(np.mean(_values(source, name)))


def sd_of(source, name: str) -> float:
    """Seed standard deviation of ``name`` (ddof=1; 0.0 for a single seed)."""
    v = _values(source, name)
    return float(np.std(v, ddof=1)) if len(v) > 1 else 0.0


def glue_num(name: str, value, sig: int = 3, places: int | None = None) -> None:
    """Glue ``value`` (a number) under ``name``, rounded by :func:`rounded`, without displaying it.

    Returns None, so a call that ends a cell shows nothing either.
    """
    from myst_nb import glue

    if isinstance(value, str | bytes) or not isinstance(value, numbers.Number | np.generic):
        raise TypeError(f"glue_num({name!r}) needs a number; got {type(value).__name__}")
    if _coarse:
        sig, places = max(sig - 1, 1), (None if places is None else max(places - 1, 0))
    v = rounded(value, sig, places)
    glue(name, v, display=False)


def glue_metrics(source, names: Iterable[str] | Sequence[str], sig: int = 3, places: int | None = None,
                 prefix: str = "") -> None:
    """Glue each metric's seed mean as ``prefix + name`` and its seed sd as ``prefix + name + "_sd"``.

    ``source`` is a run with ``per_seed(name)`` or a ``{name: [per-seed values]}`` mapping; both
    numbers are rounded the same way (``sig`` significant digits, or ``places`` decimals).
    """
    for name in names:
        glue_num(prefix + name, mean_of(source, name), sig, places)
        glue_num(prefix + name + "_sd", sd_of(source, name), sig, places)
