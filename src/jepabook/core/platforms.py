"""Where runs happened, in words: the hardware a record names, and whether this machine is the same kind.

    python -m jepabook.core.platforms line                 # this machine's platform line (mac-check prints it)
    python -m jepabook.core.platforms check-overwrite      # before `make book`/`make lock` replace the records

A record's ``platform`` (:func:`jepabook.core.results.platform_info`) is the only source of the
hardware the book names: the ledger's scale table formats it (:func:`describe`), and nothing types it.
The published records and notebooks come from one kind of machine (Linux, x86-64, MLX's CPU build);
a run on another kind (a Mac's Metal GPU, a CUDA GPU) computes other last bits, and training turns
them into other numbers, so ``make book`` says so before it replaces them (:func:`overwrite_warning`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["describe", "device_kind", "kind", "overwrite_warning", "published_hardware", "published_platforms"]


def device_kind(platform: Mapping) -> str:
    """``"CPU"``, ``"Metal GPU"``, ``"CUDA GPU"`` or ``"GPU"`` from a record's ``device`` and ``system``."""
    device = str(platform.get("device", "")).lower()
    if "gpu" in device:
        return {"Darwin": "Metal GPU", "Linux": "CUDA GPU"}.get(platform.get("system"), "GPU")
    if "cpu" in device:
        return "CPU"
    return "unknown device"


def describe(platform: Mapping) -> str:
    """One record's hardware in words, e.g. ``2-core Linux x86_64 CPU, MLX 0.32.4 (openblas Haswell, 1 thread)``.

    Only what the record stores: core count, system, architecture, the MLX device, MLX's version, the
    BLAS (:func:`jepabook.blas.describe`) and, when recorded, the matmul precision setting.
    """
    if not isinstance(platform, Mapping) or not platform:
        return "not recorded"
    cores = platform.get("cpu_count")
    where = " ".join(str(x) for x in (platform.get("system"), platform.get("machine")) if x)
    head = f"{cores}-core {where}" if cores else where or "unknown machine"
    extras = [str(platform[k]) for k in ("blas", "precision") if platform.get(k)]
    mlx = f", MLX {platform['mlx']}" if platform.get("mlx") else ""
    return f"{head} {device_kind(platform)}{mlx}" + (f" ({'; '.join(extras)})" if extras else "")


def kind(platform: Mapping) -> tuple[str, str, str]:
    """What decides the bits a run computes, coarsely: system, architecture and device kind.

    Two x86-64 Linux CPUs count as one kind (the BLAS pins one kernel family on both), a Mac's GPU
    and a Linux CPU do not.
    """
    return (str(platform.get("system")), str(platform.get("machine")), device_kind(platform))


def published_platforms(results: str | Path | None = None, profile: str = "full") -> dict[str, dict]:
    """Chapter -> the ``platform`` of its published record at ``profile`` (records that exist only)."""
    from jepabook.core.chapters import CHAPTERS
    from jepabook.core.results import published_dir

    folder = Path(results) if results is not None else published_dir()
    out = {}
    for chapter in CHAPTERS:
        path = folder / f"{chapter}-{profile}.json"
        if path.is_file():
            out[chapter] = json.loads(path.read_text(encoding="utf-8")).get("platform", {})
    return out


def published_hardware(chapter: str, results: str | Path | None = None) -> str:
    """The hardware of ``chapter``'s published ``full`` run, from its record (``"no published run"`` if none)."""
    platform = published_platforms(results).get(chapter)
    return describe(platform) if platform is not None else "no published run yet"


def overwrite_warning(here: Mapping, published: Mapping[str, Mapping]) -> str | None:
    """None when ``here`` is the same kind of machine as every published record; else what would change."""
    others = {chapter: p for chapter, p in published.items() if kind(p) != kind(here)}
    if not others:
        return None
    theirs = sorted({describe(p) for p in others.values()})
    return (f"The published records and notebooks ({', '.join(sorted(others))}) were made on "
            f"{' and '.join(theirs)}; this machine is {describe(here)}. Its runs compute other last bits, "
            f"and training turns them into other numbers, so re-executing here replaces the published "
            f"outputs with numbers nobody else will reproduce, and the nbval baselines will fail.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jepabook.core.platforms", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["line", "check-overwrite"])
    parser.add_argument("--results", default=None, help="the folder of published records (default results/)")
    args = parser.parse_args(argv)
    from jepabook.core.results import platform_info

    here = platform_info()
    if args.action == "line":
        print("platform: " + ", ".join(f"{k} {v}" for k, v in here.items()))
        print(f"hardware: {describe(here)}")
        return 0
    warning = overwrite_warning(here, published_platforms(args.results))
    if warning is None:
        return 0
    print(f"warning: {warning}\nTo read the book, `make site` renders the committed notebooks without "
          f"re-executing them. To re-execute here anyway, run again with OTHER_PLATFORM=1 and do not commit "
          f"book/executed/, tests/notebooks/, results/ or the constraints file it writes.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
