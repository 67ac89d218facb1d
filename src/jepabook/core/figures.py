"""The book's figure style and the few plotting helpers every chapter shares."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["ARM_COLOURS", "DPI", "INK", "MAX_WIDTH_IN", "SMALLEST_TEXT_PT", "contrast_ratio", "legend_above",
           "mean_arrow", "mean_sd", "panel_grid", "seed_band", "use_book_style"]

#: one colour per recurring role, so a reader can follow an arm from figure to figure
ARM_COLOURS = {
    "raw": "#7f7f7f",
    "predict": "#d95f02",  # prediction alone / collapsed
    "sigreg": "#7570b3",  # SIGReg / healthy
    "axis": "#1b9e77",  # axis-only moments / cigar
    "target": "#2ca02c",  # the Gaussian reference
    "overspread": "#1f78b4",
}


#: the figures' resolution (``use_book_style``): an image's natural width in px is its width in inches × DPI
DPI = 110
#: the widest a figure is drawn, in inches: 880 px at DPI, which the 672 px text column shows at
#: 76 %, so the smallest text (SMALLEST_TEXT_PT) renders at 13 px; wider multi-panel figures are
#: laid out in rows (:func:`panel_grid`)
MAX_WIDTH_IN = 8.0
#: the smallest text a figure uses: the style's "small" (legends, annotations), 0.833 × its 13.8 pt
#: base. The browser check (jepabook.sphinx_site.browser) flags a figure shown so small that text
#: of this size falls under 9 px on screen.
SMALLEST_TEXT_PT = 11.5
#: lines and arrows drawn on a plot without a colour of their own: the style's text colour, dark on
#: the white axes (seaborn's "whitegrid" sets patch edges white, so an arrow left at the default is
#: drawn white on white)
INK = "0.15"


def use_book_style() -> None:
    """Seaborn's white grid, readable sizes, and a figure width that fits the book's column.

    Tick labels are about 12.6 pt, 19 px at the figures' 110 dpi; the smallest text a figure should
    use is "small" (:data:`SMALLEST_TEXT_PT`). The site never shows a figure so narrow that this
    text falls under 9 px (``jepabook.js``); a figure wider than that allows scrolls sideways.
    """
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", font_scale=1.15)
    plt.rcParams.update({"figure.figsize": (7.5, 3.2), "figure.dpi": DPI, "savefig.bbox": "tight",
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


def _luminance(colour) -> float:
    from matplotlib.colors import to_rgb

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in to_rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(colour, background) -> float:
    """The WCAG contrast ratio of two colours, 1 (the same) to 21 (black on white); 3 is the least
    for a graphical element to be seen."""
    hi, lo = sorted((_luminance(colour), _luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def mean_arrow(ax, tip: complex, colour=INK, origin: complex = 0j, lw: float = 2.0):
    """An arrow from ``origin`` to ``tip`` (complex numbers: x + iy in data units), in ``colour``.

    The colour is always set: left to the style, an annotation arrow takes the patch edge colour,
    which seaborn's "whitegrid" makes white, invisible on the white axes. Returns the arrow patch.
    """
    from matplotlib.patches import FancyArrowPatch

    arrow = FancyArrowPatch((origin.real, origin.imag), (tip.real, tip.imag), arrowstyle="-|>",
                            mutation_scale=14, lw=lw, color=colour, zorder=3, shrinkA=0, shrinkB=0)
    ax.add_patch(arrow)
    return arrow


def panel_grid(n: int, ncols: int = 3, panel: tuple[float, float] = (2.6, 2.4), **subplot_kw):
    """``n`` panels in rows of ``ncols`` (fewer if ``n`` is smaller), each ``panel`` inches, no wider
    than :data:`MAX_WIDTH_IN`: a strip of five panels would be shrunk by the column until its text
    is unreadable. Returns the figure and a flat list of the ``n`` axes (spare grid cells removed).
    """
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be a positive number of panels; got {n!r}")
    if not (isinstance(ncols, int) and ncols >= 1):
        raise ValueError(f"ncols must be a positive integer; got {ncols!r}")
    cols = min(ncols, n)
    rows = -(-n // cols)
    width = min(panel[0] * cols, MAX_WIDTH_IN)
    fig, axes = plt.subplots(rows, cols, figsize=(width, panel[1] * rows), squeeze=False, **subplot_kw)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def legend_above(fig, ax, ncol: int | None = None, **kwargs) -> None:
    """Add one legend to ``fig``, from ``ax``'s labelled lines, in a row above the panels, where it
    cannot cover the data (with ``savefig.bbox = "tight"`` the image grows to hold it). Returns
    nothing, so that a notebook cell ending with it shows only the figure (``fig.legends[-1]``)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        raise ValueError("ax has no labelled artists to put in a legend")
    fig.tight_layout()
    options = dict(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=ncol or len(handles),
                   fontsize="small", frameon=False)
    options.update(kwargs)
    fig.legend(handles, labels, **options)
