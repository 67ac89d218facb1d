"""The built site, loaded page by page in headless Chromium at a desktop and a 390 px phone width.

Run by ``make browser`` (part of ``make test``) after the strict build; ``make unit`` leaves this
folder out. ``JEPABOOK_SITE`` points it at another build (default ``_build/html``); screenshots stay
in ``_build/browser``. Chromium is the system's (Debian's ``chromium``, which ``.ci/run`` installs).
"""

import os
from pathlib import Path

import pytest

from jepabook.sphinx_site.browser import DESKTOP, PHONE, Browser, check_site, evaluate_at, find_chromium, serve

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("JEPABOOK_SITE", ROOT / "_build" / "html"))


def test_every_page_reads_right_on_desktop_and_phone():
    assert (SITE / "index.html").is_file(), f"no built site at {SITE}: run `make site` (or `make html PROFILE=ci`)"
    reports = check_site(SITE, ROOT / "_build" / "browser")
    problems = [f"{r.page} ({r.width}): {p}" for r in reports for p in r.problems]
    assert not problems, "\n".join(problems)
    chapters = [r for r in reports if "/" in r.page and "references" not in r.page and r.page != "book/intro.html"]
    assert chapters, "no chapter pages were checked"
    # the checks looked at something: every chapter shows a claims table, and the book has math and figures
    assert all(r.tables >= 1 for r in chapters), [r.page for r in chapters if not r.tables]
    assert sum(r.math for r in reports) > 50 and sum(r.images for r in reports) > 10
    assert all(Path(s).is_file() for r in reports for s in r.shots)


BAD_PAGE = """<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"></head><body><main>
<p>Raw math: <span class="math">\\(x^2\\)</span></p>
<img src="missing.png" alt="missing.png">
<img alt="_images/plot.png" src="data:image/svg+xml;utf8,%3Csvg xmlns='http://www.w3.org/2000/svg' width='20' height='20'/%3E">
<div class="cell_output"><img style="max-width: 100%" alt="a wide plot"
 src="data:image/svg+xml;utf8,%3Csvg xmlns='http://www.w3.org/2000/svg' width='900' height='90'/%3E"></div>
<div style="width: 900px">too wide for a phone</div>
<table class="claims-table"><thead><tr><th>claim</th><th>paper</th><th>verdict</th></tr></thead>
<tbody><tr id="claim-toy-a"><td class="claim" style="min-width: 500px">toy.a</td><td>—</td><td class="verdict">reproduced</td></tr></tbody></table>
<script>console.error("boom"); undefined_function();</script>
</main></body></html>"""

GOOD_PAGE = """<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"></head><body><main><p>Nothing to see.</p>
<table class="claims-table"><thead><tr><th>claim</th><th>verdict</th></tr></thead>
<tbody><tr id="claim-toy-a"><td class="claim">toy.a</td><td class="verdict">reproduced</td></tr></tbody></table>
</main></body></html>"""


def test_the_checker_reports_each_kind_of_problem(tmp_path):
    (tmp_path / "index.html").write_text(GOOD_PAGE)
    (tmp_path / "bad.html").write_text(BAD_PAGE)
    good, = check_site(tmp_path, None, sizes=(PHONE,), pages=["index.html"])
    assert good.problems == [] and good.tables == 1
    desktop, phone = check_site(tmp_path, tmp_path / "shots", sizes=(DESKTOP, PHONE), pages=["bad.html"])
    text = "\n".join(phone.problems)
    for expected in ("MathJax did not load", "not typeset", "raw TeX delimiters", "image did not load: missing.png",
                     "HTTP 404", "console error: boom", "uncaught exception: ReferenceError",
                     "scrolls sideways", "second column is 'paper'", "verdict column ends at",
                     "figure shown", "image without alt text (alt='_images/plot.png')"):
        assert expected in text, f"{expected!r} not reported in:\n{text}"
    # the sideways and phone-width checks are the phone's; the desktop view reports the rest
    assert not any("sideways" in p or "ends at" in p or "figure shown" in p for p in desktop.problems)
    assert (tmp_path / "shots" / "bad-phone-claims.png").is_file()


def test_bad_arguments_are_named(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="root must be a built site"):
        check_site(tmp_path, None)
    monkeypatch.setenv("JEPABOOK_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(FileNotFoundError, match="JEPABOOK_CHROMIUM"):
        find_chromium()


def test_a_link_into_a_collapsed_claims_group_opens_it():
    """Chapter 6 links to claim rows (claim_anchor ids); in a long table they sit in collapsed groups.
    The reader must land on an open group with the row in view. (Chromium opens a <details> around a
    fragment's target itself; jepabook.js does it for browsers that do not.)"""
    import re

    pages = sorted(SITE.rglob("*.html"))
    grouped = [(p, re.search(r"<details class=.claims-group.>.*?<tr id=.(claim-[a-z0-9-]+).", p.read_text(), re.S))
               for p in pages]
    grouped = [(p, m.group(1)) for p, m in grouped if m]
    assert grouped, "no page has a grouped claims table (a chapter with more than ClaimsTable.group_above claims)"
    page, anchor = grouped[0]
    server = serve(SITE)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/{page.relative_to(SITE)}"
        probe = (f"new Promise(r => setTimeout(() => {{ const row = document.getElementById({anchor!r}); "
                 "const box = row.getBoundingClientRect(); "
                 "r({open: row.closest('details').open, visible: box.top >= 0 && box.top < window.innerHeight, "
                 "closed: document.querySelectorAll('details.claims-group:not([open])').length}); }, 300))")
        with Browser() as browser:
            plain = evaluate_at(browser, base, probe)
            linked = evaluate_at(browser, f"{base}#{anchor}", probe)
    finally:
        server.shutdown()
        server.server_close()
    assert not plain["open"] and plain["closed"] > 0  # collapsed unless asked for
    assert linked["open"] and linked["visible"], linked
