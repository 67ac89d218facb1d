"""The built site, loaded page by page in headless Chromium at 1280 px and at a 390 px phone width.

Run by ``make browser`` (part of ``make test``) after the strict build; ``make unit`` leaves this
folder out. One test per page and width, so a failure names both. ``JEPABOOK_SITE`` points it at
another build (default ``_build/html``); screenshots go to ``_build/browser``. Chromium is the
system's (jepabook.sphinx_site.browser.find_chromium), driven by Playwright.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from jepabook.sphinx_site.browser import DESKTOP, PHONE, browser, check_page, pages, serve

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("JEPABOOK_SITE", ROOT / "_build" / "html"))
SHOTS = ROOT / "_build" / "browser"
SIZES = [pytest.param(DESKTOP, id="desktop-1280"), pytest.param(PHONE, id="phone-390")]
PAGES = pages(SITE) if (SITE / "index.html").is_file() else []
REPORTS = {}


@pytest.fixture(scope="module")
def chromium():
    with browser() as b:
        yield b


@pytest.fixture(scope="module")
def site():
    shutil.rmtree(SHOTS, ignore_errors=True)
    with serve(SITE) as base:
        yield base


def test_there_is_a_built_site():
    assert PAGES, f"no built site at {SITE}: run `make site` (or `make html PROFILE=ci`)"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("page", PAGES)
def test_the_page_reads_right(chromium, site, page, size):
    report = check_page(chromium, site, page, size, SHOTS)
    REPORTS[page, size[0]] = report
    assert not report.problems, f"{page} at {size[1]} px:\n  " + "\n  ".join(report.problems)


def test_the_checks_looked_at_something():
    """Every chapter shows a claims table, and the book has math and figures (so an empty page, or a
    probe that found nothing, does not pass)."""
    if len(REPORTS) < 2 * len(PAGES):
        pytest.skip("run with the per-page tests")
    reports = list(REPORTS.values())
    chapters = [r for r in reports if re.search(r"/\d\d_", r.page) and "ledger" not in r.page]
    assert chapters, "no chapter pages were checked"
    assert all(r.tables >= 1 for r in chapters), [r.page for r in chapters if not r.tables]
    assert sum(r.math for r in reports) > 50 and sum(r.images for r in reports) > 10
    assert all(Path(s).is_file() for r in reports for s in r.shots)


_SVG = "data:image/svg+xml;utf8,%3Csvg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}'/%3E"
_HEAD = ('<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">'
         '<link rel="icon" href="data:,"></head><body><main>')

BAD_PAGE = _HEAD + f"""
<p>Raw math: <span class="math">\\(x^2\\)</span></p>
<img src="missing.png" alt="missing.png">
<img alt="_images/plot.png" src="{_SVG.format(w=20, h=20)}">
<div class="cell_output"><figure><img style="max-width: 100%" alt="a very wide plot" src="{_SVG.format(w=2400, h=90)}"></figure></div>
<div class="cell_output"><figure style="overflow-x: auto"><img style="min-width: 600px" alt="a clipped plot"
 src="{_SVG.format(w=900, h=90)}"></figure></div>
<div style="width: 900px">too wide for a phone</div>
<table class="claims-table" style="min-width: 1400px"><thead><tr><th>claim</th><th>paper</th><th>verdict</th></tr></thead>
<tbody><tr id="claim-toy-a"><td class="claim" style="min-width: 500px">toy.a</td><td>—</td>
<td class="verdict"><span class="verdict-badge" style="display: inline-block; width: 3em">direction only</span></td></tr></tbody></table>
<script>console.error("boom"); undefined_function();</script>
</main></body></html>"""

GOOD_PAGE = _HEAD + f"""<p>Nothing to see.</p>
<div class="cell_output"><figure class="scrolls-sideways" style="overflow-x: auto"><img style="min-width: 600px"
 alt="a wide plot that says it scrolls" src="{_SVG.format(w=900, h=90)}"></figure></div>
<table class="claims-table"><thead><tr><th>claim</th><th>verdict</th></tr></thead>
<tbody><tr id="claim-toy-a"><td class="claim">toy.a</td>
<td class="verdict"><span class="verdict-badge" style="white-space: nowrap">direction only</span></td></tr></tbody></table>
</main></body></html>"""


def test_the_checker_reports_each_kind_of_problem(chromium, tmp_path):
    (tmp_path / "index.html").write_text(GOOD_PAGE)
    (tmp_path / "bad.html").write_text(BAD_PAGE)
    with serve(tmp_path) as base:
        good = check_page(chromium, base, "index.html", PHONE)
        desktop = check_page(chromium, base, "bad.html", DESKTOP)
        phone = check_page(chromium, base, "bad.html", PHONE, tmp_path / "shots")
    assert good.problems == [] and good.tables == 1
    both = ("MathJax did not load", "not typeset", "raw TeX delimiters", "image did not load: missing.png",
            "HTTP 404", "console error: boom", "uncaught exception: ReferenceError",
            "second column is 'paper'", "image without alt text (alt='_images/plot.png')",
            "figure text shown at", "px wide in a", "verdict badge is broken across lines: 'direction only'")
    phone_only = ("scrolls sideways", "verdict column ends at", "figure cut off on the phone with no cue")
    for report, expected in ((phone, both + phone_only), (desktop, both)):
        text = "\n".join(report.problems)
        for what in expected:
            assert what in text, f"{what!r} not reported at {report.width}:\n{text}"
    assert not any(what in p for p in desktop.problems for what in phone_only)
    assert (tmp_path / "shots" / "bad-phone-claims.png").is_file()


def test_a_link_into_a_collapsed_claims_group_opens_it(chromium, site):
    """Chapter 6 links to claim rows (claim_anchor ids); in a long table they sit in collapsed groups.
    The reader must land on an open group with the row in view. (Chromium opens a <details> around a
    fragment's target itself; jepabook.js does it for browsers that do not.)"""
    grouped = [(p, re.search(r"<details class=.claims-group.>.*?<tr id=.(claim-[a-z0-9-]+).", (SITE / p).read_text(), re.S))
               for p in PAGES]
    grouped = [(p, m.group(1)) for p, m in grouped if m]
    if not grouped:
        pytest.skip("no page has a grouped claims table (a chapter with more than ClaimsTable.group_above claims)")
    page, anchor = grouped[0]
    probe = (f"() => new Promise(r => setTimeout(() => {{ const row = document.getElementById({anchor!r}); "
             "const box = row.getBoundingClientRect(); "
             "r({open: row.closest('details').open, visible: box.top >= 0 && box.top < window.innerHeight, "
             "closed: document.querySelectorAll('details.claims-group:not([open])').length}); }, 300))")
    tab = chromium.new_page(viewport={"width": DESKTOP[1], "height": DESKTOP[2]})
    try:
        tab.goto(f"{site}/{page}")
        plain = tab.evaluate(probe)
        tab.goto(f"{site}/{page}#{anchor}")
        tab.reload()
        linked = tab.evaluate(probe)
    finally:
        tab.close()
    assert not plain["open"] and plain["closed"] > 0  # collapsed unless asked for
    assert linked["open"] and linked["visible"], linked
