"""The book's figure style and the few plotting helpers every chapter shares."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["ARM_COLOURS", "mean_sd", "seed_band", "use_book_style"]

#: one colour per recurring role, so a reader can follow an arm from figure to figure
ARM_COLOURS = {
    "raw": "#7f7f7f",
    "predict": "#d95f02",  # prediction alone / collapsed
    "sigreg": "#7570b3",  # SIGReg / healthy
    "axis": "#1b9e77",  # axis-only moments / cigar
    "target": "#2ca02c",  # the Gaussian reference
    "overspread": "#1f78b4",
}


def use_book_style() -> None:
    """Seaborn's white grid, readable sizes, and a figure width that fits the book's column.

    Tick labels are about 12.6 pt, 19 px at the figures' 110 dpi: a 9.5-inch figure, which a phone
    shows at no less than 600 px (``jepabook.css``), keeps them at about 11 px.
    """
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", font_scale=1.15)
    plt.rcParams.update({"figure.figsize": (7.5, 3.2), "figure.dpi": 110, "savefig.bbox": "tight",
                         "axes.titlesize": "medium", "legend.frameon": False})


def mean_sd(values: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation over seeds: ``values`` is ``(seeds, points)``."""
    v = np.asarray(values, dtype=np.float64)
    sd = v.std(axis=0, ddof=1) if v.shape[0] > 1 else np.zeros(v.shape[1:])
    return v.mean(axis=0), sd


def seed_band(ax, x, values: Sequence[Sequence[float]], label: str, colour: str | None = None, log: bool = False):
    """Plot the mean over seeds with a ±1 sd band; ``values`` is ``(seeds, len(x))``.

    With ``log`` the band is drawn in log space (geometric mean × / ÷ geometric sd), for quantities
    such as losses that span decades, and the y axis is set to a log scale (a log band on a linear
    axis would contradict a caption that says "log scale").
    """
    v = np.asarray(values, dtype=np.float64)
    if log:
        m, sd = mean_sd(np.log10(np.maximum(v, 1e-30)))
        centre, lo, hi = 10**m, 10 ** (m - sd), 10 ** (m + sd)
    else:
        centre, sd = mean_sd(v)
        lo, hi = centre - sd, centre + sd
    line = ax.plot(x, centre, label=label, color=colour)[0]
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    if log:
        ax.set_yscale("log")
    return line
