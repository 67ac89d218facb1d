"""A chapter run's record: the JSON every chapter writes to ``results/`` and Chapter 6 reads back.

Read back with :mod:`jepabook.core.records` (file names, loading, the verdict of a stored item).
Schema (one object): ``chapter``, ``profile``, ``seeds``, ``platform`` (device, mlx version, ...),
``timing_s`` (named phases, seconds), ``claims`` (see :meth:`jepabook.core.claims.ClaimResult.to_json`,
plus ``decided``: the one number that decided the verdict, as the tables print it),
``checks`` (:meth:`jepabook.core.claims.CheckResult.to_json`) and ``config``.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from jepabook.core.claims import CheckResult, ClaimResult
from jepabook.core.render import decided
from jepabook.core.tables import ClaimsTable, Findings

__all__ = ["ChapterRun", "checkout_path", "platform_info", "published_dir", "results_dir", "write_atomic",
           "write_json_atomic"]

#: the published records shipped inside the package (a link to the checkout's results/, resolved into
#: copies when a wheel is built), for an install without a checkout: Colab, ``pip install git+...``
PACKAGED_RESULTS = Path(__file__).resolve().parents[1] / "published"


def platform_info() -> dict:
    """Where a run happened: MLX device, version, BLAS and matmul precision, OS, CPU architecture and core count."""
    import mlx.core as mx

    from jepabook import blas

    return {
        "device": str(mx.default_device()),
        "mlx": mx.__version__,
        "blas": blas.describe(),
        "precision": blas.precision(),
        "system": platform.system(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def checkout_path(env_var: str, folder: str) -> Path:
    """``$env_var`` if set, else ``folder`` in the source checkout (an editable install), else ``./folder``."""
    env = os.environ.get(env_var)
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    if (repo / "_toc.yml").is_file():
        return repo / folder
    return Path.cwd() / folder


def results_dir() -> Path:
    """``$JEPABOOK_RESULTS`` if set, else ``results/`` of the source checkout, else ``./results``."""
    return checkout_path("JEPABOOK_RESULTS", "results")


def published_dir() -> Path:
    """Where the published records are read from: :func:`results_dir` when it holds any ``*-full.json``,
    else the copy shipped in the package (an install from the repository without a checkout, such as
    a chapter launched on Colab), else :func:`results_dir` (whose absence the reader reports)."""
    here = results_dir()
    if any(here.glob("*-full.json")):
        return here
    if any(PACKAGED_RESULTS.glob("*-full.json")):
        return PACKAGED_RESULTS
    return here


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Write ``path`` through ``write(file)`` so that readers see the old file or the new one, never half.

    ``write`` fills a temporary binary file in the same folder; it is flushed to disk, then renamed
    over ``path`` (an atomic replace on POSIX and Windows). An interruption leaves the last good file
    and no temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are for the group to read
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, obj, indent: int = 2) -> Path:
    """Write ``obj`` as JSON (UTF-8) to ``path`` atomically (see :func:`write_atomic`)."""
    text = json.dumps(obj, indent=indent, ensure_ascii=False) + "\n"
    return write_atomic(path, lambda f: f.write(text.encode("utf-8")))


@dataclass
class ChapterRun:
    """The outcome of one chapter at one profile: its claims, timings and where it ran."""

    chapter: str
    profile: str
    seeds: list[int]
    claims: list[ClaimResult]
    checks: list[CheckResult] = field(default_factory=list)
    timing_s: dict[str, float] = field(default_factory=dict)
    platform: dict = field(default_factory=platform_info)
    config: dict = field(default_factory=dict)

    def table(self) -> ClaimsTable:
        """The claims table; one digit coarser at the ``ci`` profile (see :class:`ClaimsTable`)."""
        return ClaimsTable(self.claims, self.checks, coarse=self.profile == "ci")

    def findings(self) -> Findings:
        """The box the chapter opens with: each claim in plain words, its verdict and the one number
        that decided it (:class:`jepabook.core.render.Findings`)."""
        return self.table().findings()

    def to_json(self) -> dict:
        return {
            "chapter": self.chapter,
            "profile": self.profile,
            "seeds": list(self.seeds),
            "platform": self.platform,
            "timing_s": {k: round(v, 3) for k, v in self.timing_s.items()},
            "claims": [{**c.to_json(), "decided": decided(c)} for c in self.claims],
            "checks": [c.to_json() for c in self.checks],
            "config": self.config,
        }

    def default_path(self, publish: bool = False) -> Path:
        """``results/<chapter>-<profile>.json`` for the published seeds (or with ``publish``), else
        ``results/<chapter>-<profile>-seeds-<s1>-<s2>....json``: a run on other seeds never replaces
        the record that the tests and the book read."""
        from jepabook.core.config import published_seeds
        from jepabook.core.records import record_path

        other = not publish and tuple(self.seeds) != published_seeds(self.profile, self.chapter)
        return record_path(self.chapter, self.profile, self.seeds if other else None, known=False)

    def save(self, path: str | os.PathLike | None = None, publish: bool = False) -> Path:
        """Write the record to ``path`` (default :meth:`default_path`), atomically."""
        target = Path(path) if path is not None else self.default_path(publish)
        return write_json_atomic(target, self.to_json())
