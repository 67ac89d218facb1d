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
