"""The book's figure style and helpers: legible text in the column, arrows that show, legends
that cover nothing, panels in rows."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.font_manager as fm
import matplotlib.pyplot as plt

from jepabook.core import figures

STATIC = Path(figures.__file__).resolve().parents[1] / "sphinx_site" / "static"


def test_the_sites_legibility_rule_uses_the_styles_smallest_text():
    """jepabook.js keeps every figure wide enough that text of SMALLEST_TEXT_PT stays >= 9 px, and
    the browser check measures against the same size: both must be the style's "small" text."""
    figures.use_book_style()
    small_pt = fm.FontProperties(size="small").get_size_in_points()
    tick_pt = fm.FontProperties(size=plt.rcParams["xtick.labelsize"]).get_size_in_points()
    assert abs(small_pt - figures.SMALLEST_TEXT_PT) < 0.05 and tick_pt > figures.SMALLEST_TEXT_PT
    assert plt.rcParams["figure.dpi"] == figures.DPI
    js = (STATIC / "jepabook.js").read_text()
    px = float(re.search(r"SMALLEST_TEXT_PX = ([0-9.]+)", js).group(1))
    assert abs(px - figures.SMALLEST_TEXT_PT / 72 * figures.DPI) < 0.1


def _pixel_contrast(fig, ax, xy) -> float:
    """The contrast between what the rendered figure shows at data point ``xy`` and the axes' background."""
    import numpy as np

    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    x, y = ax.transData.transform(xy)
    row, col = int(round(rgba.shape[0] - y)), int(round(x))
    patch = rgba[row - 1:row + 2, col - 1:col + 2, :3].reshape(-1, 3) / 255
    darkest = patch[np.argmin(patch.sum(axis=1))]
    return figures.contrast_ratio(tuple(darkest), ax.get_facecolor())


def test_the_mean_arrow_is_drawn_and_visible_against_the_axes():
    """Fig. 6's alt text and caption describe a mean arrow; under seaborn's whitegrid an arrow left
    at the default colour was white on white. The helper's arrow must show in the rendered pixels."""
    figures.use_book_style()
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.set(xlim=(-1.2, 1.2), ylim=(-1.2, 1.2), aspect="equal", xticks=[], yticks=[])
    arrow = figures.mean_arrow(ax, 0.8 + 0.2j)
    assert arrow in ax.patches and arrow.get_visible()
    assert figures.contrast_ratio(arrow.get_edgecolor(), ax.get_facecolor()) >= 3
    assert _pixel_contrast(fig, ax, (0.4, 0.1)) >= 3  # halfway along the shaft
    plt.close(fig)

    # the check can fail: the annotation arrow the chapter drew before is white on the white axes
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.set(xlim=(-1.2, 1.2), ylim=(-1.2, 1.2), aspect="equal", xticks=[], yticks=[])
    ax.annotate("", xy=(0.8, 0.2), xytext=(0, 0), arrowprops=dict(arrowstyle="->", lw=2))
    assert _pixel_contrast(fig, ax, (0.4, 0.1)) < 1.5
    plt.close(fig)


def test_contrast_ratio_has_its_closed_form_ends():
    assert abs(figures.contrast_ratio("black", "white") - 21) < 1e-9
    assert figures.contrast_ratio("white", "white") == 1


def test_panels_go_in_rows_that_fit_the_column():
    figures.use_book_style()
    fig, axes = figures.panel_grid(5, ncols=3)
    assert len(axes) == 5 and len(fig.axes) == 5
    assert fig.get_figwidth() <= figures.MAX_WIDTH_IN
    rows = sorted({round(ax.get_position().y0, 3) for ax in axes})
    assert len(rows) == 2
    plt.close(fig)
    # drawn at MAX_WIDTH_IN and shown in the 672 px column, the smallest text stays above 9 px
    assert figures.SMALLEST_TEXT_PT / 72 * figures.DPI * 672 / (figures.MAX_WIDTH_IN * figures.DPI) > 9
    import pytest

    with pytest.raises(ValueError, match="n must be a positive number of panels"):
        figures.panel_grid(0)


def test_the_legend_above_sits_outside_every_panel():
    figures.use_book_style()
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].plot([0, 1], [0, 1], label="a")
    axes[0].plot([0, 1], [1, 0], label="b")
    assert figures.legend_above(fig, axes[0]) is None  # a cell ending with it shows only the figure
    legend = fig.legends[-1]
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert all(box.y0 >= ax.get_window_extent().y1 - 1 for ax in axes)
    plt.close(fig)


def test_no_figure_in_the_book_asks_for_text_below_small():
    """The site sizes figures for SMALLEST_TEXT_PT ("small"); text asked smaller would read under 9 px."""
    book = Path(figures.__file__).resolve().parents[3] / "book"
    too_small = re.compile(r"""(fontsize|labelsize|size)\s*=\s*["'](x-small|xx-small)["']|fontsize\s*=\s*[0-7](\.\d+)?\b""")
    found = [f"{md.name}:{i}: {line.strip()}" for md in sorted(book.glob("*.md"))
             for i, line in enumerate(md.read_text().splitlines(), 1) if too_small.search(line)]
    assert not found, "text below the book's smallest size:\n" + "\n".join(found)


def test_seed_band_log_sets_a_log_axis():
    # a log band on a linear axis once sat under a caption that said "log scale" (Chapter 2)
    fig, (ax_log, ax_lin) = plt.subplots(1, 2)
    figures.seed_band(ax_log, [1, 2, 3], [[1.0, 0.1, 0.01], [2.0, 0.2, 0.02]], "loss", log=True)
    figures.seed_band(ax_lin, [1, 2, 3], [[1.0, 0.1, 0.01], [2.0, 0.2, 0.02]], "loss")
    assert ax_log.get_yscale() == "log" and ax_lin.get_yscale() == "linear"
    plt.close(fig)
