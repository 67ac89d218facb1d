import math

import numpy as np
import pytest

from jepabook.core import report
from jepabook.core.report import glue_metrics, glue_num, mean_of, rounded, sd_of


@pytest.fixture
def glued(monkeypatch):
    """What glue would store: name -> (text/plain, mime keys) in the notebook."""
    import myst_nb.ext.glue as g

    store = {}

    def capture(bundle, raw, metadata):
        store[metadata["scrapbook"]["name"]] = (bundle["application/papermill.record/text/plain"], sorted(bundle))

    monkeypatch.setattr(g, "ipy_display", capture)
    return store


@pytest.mark.parametrize("x, sig, expected", [
    (0.123456, 3, 0.123), (123456.0, 3, 123000.0), (-0.006652944531588563, 3, -0.00665),
    (9.996, 3, 10.0), (1.51e-7, 1, 2e-7), (2 / 3, 2, 0.67), (-1234.5, 2, -1200.0), (0.0, 3, 0.0),
])
def test_rounded_to_significant_digits(x, sig, expected):
    assert rounded(x, sig) == expected


@pytest.mark.parametrize("x, places, expected", [
    (56.249999, 1, 56.2), (56.25000001, 1, 56.3), (0.98765, 3, 0.988), (1.0204, 3, 1.02), (123.456, 0, 123.0),
])
def test_rounded_to_places_matches_the_prose_format(x, places, expected):
    assert rounded(x, places=places) == expected
    assert f"{rounded(x, places=places):.{places}f}" == f"{x:.{places}f}"


def test_rounding_to_places_never_changes_the_printed_text():
    rng = np.random.default_rng(0)
    for x in rng.normal(size=2000) * 10.0 ** rng.integers(-4, 4, size=2000):
        for places in (0, 1, 2, 3):
            raw = f"{x:.{places}f}"
            if raw.strip("-0.") == "":  # a negative zero, "-0.00", is printed as "0.00" instead
                raw = raw.lstrip("-")
            assert f"{rounded(x, places=places):.{places}f}" == raw


def test_ints_nan_inf_and_negative_zero():
    assert rounded(7) == 7 and type(rounded(7)) is int
    assert type(rounded(np.int64(123456789))) is int and rounded(np.int64(123456789)) == 123456789
    assert rounded(True) is True
    assert math.isnan(rounded(float("nan"))) and math.isnan(rounded(np.float32("nan"), places=1))
    assert rounded(float("inf")) == float("inf") and rounded(-np.inf, places=2) == -np.inf
    assert str(rounded(-0.0004, places=3)) == "0.0"
    assert type(rounded(np.float32(0.5))) is float


def test_bad_precision_is_refused():
    with pytest.raises(ValueError, match="sig"):
        rounded(1.0, sig=0)
    with pytest.raises(TypeError, match="places"):
        rounded(1.0, places=1.5)


def test_values_differing_in_the_15th_digit_glue_identically(glued):
    glue_num("a", -0.006652944531588563)
    glue_num("b", -0.006652944531589193)
    assert glued["a"] == glued["b"]
    assert glued["a"][0] == "-0.00665"
    glue_num("c", 56.24999999999, places=1)
    glue_num("d", 56.25000000001 - 1e-9, places=1)
    assert glued["c"][0] == glued["d"][0] == "56.2"


def test_glue_num_keeps_ints_and_is_not_displayed(glued):
    assert glue_num("n", 4096) is None  # nothing for a cell's last line to display
    text, keys = glued["n"]
    assert text == "4096" and all(k.startswith("application/papermill.record/") for k in keys)
    with pytest.raises(TypeError, match="number"):
        glue_num("s", "3.1")


class _Run:
    def __init__(self, m):
        self.m = m

    def per_seed(self, name):
        return self.m[name]


def test_mean_and_sd_against_hand_values():
    m = {"acc": [2, 4, 4, 4, 5, 5, 7, 9], "one": [0.25]}
    for source in (m, _Run(m)):
        assert mean_of(source, "acc") == 5.0
        assert sd_of(source, "acc") == pytest.approx(math.sqrt(32 / 7))  # squared deviations sum to 32, ddof=1
        assert mean_of(source, "one") == 0.25 and sd_of(source, "one") == 0.0


def test_glue_metrics_glues_mean_and_sd_rounded(glued):
    m = {"acc": [50.0, 46.875, 37.5], "r2": [0.91234, 0.91236]}
    glue_metrics(m, ["acc"], places=1, prefix="acc_")
    glue_metrics(_Run(m), ["r2"])
    assert glued["acc_acc"][0] == "44.8" and glued["acc_acc_sd"][0] == "6.5"
    assert glued["r2"][0] == "0.912" and glued["r2_sd"][0] == "1.41e-05"
    assert set(glued) == {"acc_acc", "acc_acc_sd", "r2", "r2_sd"}


def test_every_helper_is_exported():
    assert sorted(report.__all__) == ["digits", "glue_metrics", "glue_num", "mean_of", "rounded", "sd_of",
                                      "set_profile"]


def test_the_ci_profile_glues_one_digit_coarser(glued):
    report.set_profile("ci")
    try:
        assert (report.digits(2), report.digits(0)) == (1, 0)
        glue_num("r2", 0.71412, places=2)
        glue_num("loss", -37.4049, sig=3)
        glue_num("acc", 56.75, places=0)
        glue_num("n", 4096)
    finally:
        report.set_profile("full")
    assert [glued[k][0] for k in ("r2", "loss", "acc", "n")] == ["0.7", "-37.0", "57.0", "4096"]
    glue_num("r2_full", 0.71412, places=2)  # back at the prose's precision
    assert report.digits(2) == 2
    assert glued["r2_full"][0] == "0.71"
    with pytest.raises(ValueError, match="profile must be one of 'full', 'ci'; got 'fast'"):
        report.set_profile("fast")
