"""The book's figure style keeps tick labels legible when a phone shows a figure at 600 px."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.font_manager as fm
import matplotlib.pyplot as plt

from jepabook.core import figures


def test_tick_labels_stay_legible_on_a_phone():
    figures.use_book_style()
    dpi = plt.rcParams["figure.dpi"]
    tick_pt = fm.FontProperties(size=plt.rcParams["xtick.labelsize"]).get_size_in_points()
    widest_in = 9.5  # the widest three-panel figures; a phone shows them at 600 px (jepabook.css)
    shown_px = tick_pt / 72 * dpi * 600 / (widest_in * dpi)
    assert shown_px >= 10.5, f"tick labels would be {shown_px:.1f} px on a phone"


def test_seed_band_log_sets_a_log_axis():
    # a log band on a linear axis once sat under a caption that said "log scale" (Chapter 2)
    fig, (ax_log, ax_lin) = plt.subplots(1, 2)
    figures.seed_band(ax_log, [1, 2, 3], [[1.0, 0.1, 0.01], [2.0, 0.2, 0.02]], "loss", log=True)
    figures.seed_band(ax_lin, [1, 2, 3], [[1.0, 0.1, 0.01], [2.0, 0.2, 0.02]], "loss")
    assert ax_log.get_yscale() == "log" and ax_lin.get_yscale() == "linear"
    plt.close(fig)
