"""Load the built site in headless Chromium and check what a reader sees.

``make browser`` runs ``tests/browser`` (pytest, one test per page and width, so a failure names
both); ``python -m jepabook.sphinx_site.browser _build/html`` prints the same report. Each page is
served from 127.0.0.1 and opened at 1280 px and at a 390 px phone width. Problems reported:

- math that MathJax did not typeset, MathJax errors, and raw TeX delimiters left in the text;
- console errors, uncaught exceptions, failed requests and HTTP errors;
- images that did not load, or whose alt text is empty or a file name;
- figure text shown under :data:`LEAST_TEXT_PX` (the smallest text a figure uses,
  ``jepabook.core.figures.SMALLEST_TEXT_PT``, scaled by the image's shown over natural width);
- on the phone, a figure cut off at its box's edge without the "scroll sideways" cue, and a page
  wider than the screen;
- a claims or checks table wider than the text column, whose verdict is not the second column, or
  (on the phone) not within the first screen width; a verdict badge broken across lines.

Chromium is the system's, driven by Playwright (``executable_path``: Playwright downloads nothing);
every host but 127.0.0.1 is unresolvable, so a page that needs the network fails.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DESKTOP", "LEAST_TEXT_PX", "PHONE", "PageReport", "browser", "check_page", "find_chromium", "judge",
           "main", "pages", "serve"]

#: (name, width, height, mobile)
DESKTOP = ("desktop", 1280, 900, False)
PHONE = ("phone", 390, 844, True)
#: figure text under this many CSS px is too small to read
LEAST_TEXT_PX = 9.0

#: where Chrome and Chromium live on macOS (also under ~/Applications)
MACOS_APPS = ("Google Chrome.app/Contents/MacOS/Google Chrome", "Chromium.app/Contents/MacOS/Chromium",
              "Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing")
#: the names Chromium and Chrome have on a Linux PATH
LINUX_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
         "--disable-component-update", "--disable-dev-shm-usage", "--hide-scrollbars",
         # nothing but the local server resolves: a page that needs a CDN fails the check
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def find_chromium(platform: str | None = None, environ=None, which=shutil.which, app_dirs=None) -> str:
    """The Chrome or Chromium binary: ``$JEPABOOK_CHROMIUM``, else the usual places of the platform
    (macOS: ``app_dirs``, default /Applications and ~/Applications, then the PATH; elsewhere: the
    PATH). The error says how to get one on that platform."""
    platform = sys.platform if platform is None else platform
    environ = os.environ if environ is None else environ
    named = environ.get("JEPABOOK_CHROMIUM")
    if named:
        found = which(named) or (named if Path(named).is_file() else None)
        if not found:
            raise FileNotFoundError(f"JEPABOOK_CHROMIUM={named!r} is not an executable Chrome or Chromium")
        return found
    if platform == "darwin":
        for folder in app_dirs or (Path("/Applications"), Path.home() / "Applications"):
            for app in MACOS_APPS:
                if (folder / app).is_file():
                    return str(folder / app)
    for name in LINUX_NAMES:
        found = which(name)
        if found:
            return found
    if platform == "darwin":
        how = ("install Google Chrome (https://www.google.com/chrome/) or Chromium "
               "(`brew install --cask chromium`) into /Applications")
    else:
        how = ("on Debian or Ubuntu: `sudo apt-get install chromium` (Ubuntu's snap: chromium-browser); "
               "elsewhere install Chromium or Google Chrome so that it is on the PATH")
    raise FileNotFoundError(f"no Chrome or Chromium found: {how}; or set JEPABOOK_CHROMIUM to a Chrome or "
                            f"Chromium binary")


@contextmanager
def browser(binary: str | None = None):
    """A headless Chromium (the system's) under Playwright, closed on exit."""
    from playwright.sync_api import sync_playwright

    path = binary or find_chromium()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def serve(root: str | os.PathLike):
    """``root`` over HTTP on 127.0.0.1 (a free port) in a thread; yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def pages(root: str | os.PathLike) -> list[str]:
    """Every content page of a built site: not Sphinx's index and search pages, not a redirect (the
    root ``index.html`` forwards to the first page, which is checked itself)."""
    root = Path(root)
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"root must be a built site with an index.html; {root} has none (run `make site`)")
    out = []
    for p in sorted(root.rglob("*.html")):
        rel = p.relative_to(root)
        if p.name in ("genindex.html", "search.html") or any(part.startswith("_") for part in rel.parts):
            continue
        head = p.read_text(encoding="utf-8", errors="replace")[:2000].lower()
        if 'http-equiv="refresh"' in head:
            target = re.search(r'url=([^"\'>]+)', head)
            if not target or not (p.parent / target.group(1).split("#")[0]).is_file():
                raise FileNotFoundError(f"{rel} redirects to a page that does not exist: {target and target.group(1)!r}")
            continue
        out.append(rel.as_posix())
    return out


@dataclass
class PageReport:
    """What one page showed at one width."""

    page: str
    width: str
    problems: list[str] = field(default_factory=list)
    math: int = 0
    images: int = 0
    tables: int = 0
    shots: list[str] = field(default_factory=list)


_PROBE = (Path(__file__).resolve().parent / "probe.js").read_text()


def _smallest_text_px() -> float:
    from jepabook.core.figures import DPI, SMALLEST_TEXT_PT

    return SMALLEST_TEXT_PT / 72 * DPI


def judge(probe: dict, mobile: bool, smallest_text_px: float | None = None) -> list[str]:
    """The problems in what :data:`_PROBE` (``probe.js``) found on one page; pure, so it is tested
    on hand-written probes as well as on pages."""
    text_px = _smallest_text_px() if smallest_text_px is None else smallest_text_px
    p = []
    if probe["math"] and not probe["mathjax"]:
        p.append(f"{probe['math']} math elements but MathJax did not load")
    for key, what in (("untypeset", "math elements not typeset"), ("merrors", "MathJax errors"),
                      ("rawtex", "raw TeX delimiters left")):
        if probe[key]:
            p.append(f"{len(probe[key])} {what}, e.g. {probe[key][0]!r}")
    for img in probe["images"]:
        if not img["ok"]:
            p.append(f"image did not load: {img['src']}")
            continue
        alt = (img["alt"] or "").strip()
        if img["content"] and (not alt or alt == img["src"] or alt.lower().endswith((".png", ".jpg", ".jpeg", ".svg", ".gif"))):
            p.append(f"image without alt text (alt={alt!r}): {img['src']}")
        if img["figure"] and img["natural"]:
            shown_text = text_px * img["shown"] / img["natural"]
            if shown_text < LEAST_TEXT_PX:
                p.append(f"figure text shown at {shown_text:.1f} px (under {LEAST_TEXT_PX:g}): drawn {img['natural']} px "
                         f"wide, shown {img['shown']:.0f} px: {img['src']}")
            if mobile and img["clipped"] and not img["cue"]:
                p.append(f"figure cut off on the phone with no cue to scroll ({img['visible']:.0f} of "
                         f"{img['shown']:.0f} px in view): {img['src']}")
    if mobile and probe["pageWidth"] > probe["viewWidth"] + 1:
        p.append(f"the page scrolls sideways: {probe['pageWidth']} px wide on a {probe['viewWidth']} px screen"
                 + (f" (widest: {', '.join(probe['wide'])})" if probe["wide"] else ""))
    for t in probe["tables"]:
        where = f"{t['cls']} at #{t['id']}" if t["id"] else t["cls"]
        if t["second"] not in ("verdict", "result"):
            p.append(f"{where}: the second column is {t['second']!r}, not the verdict")
        if t["verdicts"] != t["rows"]:
            p.append(f"{where}: {t['verdicts']} verdict cells for {t['rows']} rows")
        if t["width"] > t["column"] + 1:
            p.append(f"{where}: {t['width']:.0f} px wide in a {t['column']:.0f} px text column")
        if mobile and t["right"] > probe["viewWidth"] + 1:
            p.append(f"{where}: the verdict column ends at {t['right']:.0f} px, off a {probe['viewWidth']} px screen")
    for badge in probe["brokenBadges"]:
        p.append(f"a verdict badge is broken across lines: {badge!r}")
    return p


def check_page(chromium, base: str, page: str, size: tuple = DESKTOP, shots: Path | None = None,
               timeout_s: float = 30.0) -> PageReport:
    """Load ``base/page`` at ``size`` (:data:`DESKTOP` or :data:`PHONE`) and report its problems."""
    name, width, height, mobile = size
    report = PageReport(page, name)
    context = chromium.new_context(viewport={"width": width, "height": height}, is_mobile=mobile,
                                   has_touch=mobile, device_scale_factor=1)
    tab = context.new_page()
    events: list[str] = []
    tab.on("console", lambda m: m.type in ("error", "assert") and events.append(f"console error: {m.text}"))
    tab.on("pageerror", lambda e: events.append(f"uncaught exception: {e.name}: {e.message}".split("\n")[0]))
    tab.on("requestfailed", lambda r: not r.url.startswith(("data:", "blob:", "about:"))
           and events.append(f"request failed ({r.failure}): {r.url}"))
    tab.on("response", lambda r: r.status >= 400 and events.append(f"HTTP {r.status}: {r.url}"))
    try:
        try:
            tab.goto(f"{base}/{page}", wait_until="load", timeout=timeout_s * 1000)
        except Exception as err:  # Playwright's TimeoutError and navigation errors
            report.problems.append(f"did not load within {timeout_s:g} s: {str(err).splitlines()[0]}")
            return report
        probe = tab.evaluate(_PROBE)
        tab.wait_for_timeout(200)  # late console messages and requests
        probe["viewWidth"] = min(probe["viewWidth"], width)
        report.math, report.images, report.tables = probe["math"], len(probe["images"]), len(probe["tables"])
        # a console message that repeats a failed request's error is kept once
        report.problems = list(dict.fromkeys(judge(probe, mobile) + events))
        if shots is not None:
            report.shots = _screenshots(tab, shots, f"{page.replace('/', '_').removesuffix('.html')}-{name}")
    finally:
        context.close()
    return report


def _screenshots(tab, shots: Path, stem: str) -> list[str]:
    shots.mkdir(parents=True, exist_ok=True)
    out = []
    tab.evaluate("window.scrollTo(0, 0)")
    for suffix, selector in (("", None), ("-figure", "div.cell_output figure"),
                             ("-claims", ".claims, table.claims-table, table.checks-table")):
        if selector is not None:
            found = tab.query_selector(selector)
            if found is None:
                continue
            found.scroll_into_view_if_needed()
        path = shots / f"{stem}{suffix}.png"
        tab.screenshot(path=str(path))
        out.append(str(path))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jepabook.sphinx_site.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default="_build/html", help="the built site (default _build/html)")
    parser.add_argument("--shots", default="_build/browser", help="where screenshots go (default _build/browser)")
    args = parser.parse_args(argv)
    start, todo = time.monotonic(), pages(args.root)
    with serve(args.root) as base, browser() as chromium:
        reports = [check_page(chromium, base, page, size, Path(args.shots)) for page in todo for size in (DESKTOP, PHONE)]
    for r in reports:
        print(f"{'BAD' if r.problems else 'ok '} {r.page} ({r.width}): {r.math} math, {r.images} images, {r.tables} tables")
        for problem in r.problems:
            print(f"      {problem}")
    bad = sum(bool(r.problems) for r in reports)
    print(f"browser: {len(reports) - bad} of {len(reports)} page views clean in {time.monotonic() - start:.0f} s; "
          f"screenshots in {args.shots}/")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
