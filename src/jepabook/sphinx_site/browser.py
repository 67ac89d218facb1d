"""Load the built site in headless Chromium and check what a reader sees.

``python -m jepabook.sphinx_site.browser _build/html`` (what ``make browser`` runs after the strict
build) serves the folder on 127.0.0.1, opens every page at a desktop width and at a 390 px phone
width, and reports, per page and width:

- math that MathJax did not typeset (a ``.math`` element without an ``mjx-container``), MathJax
  errors (``mjx-merror``), and raw TeX delimiters (``\\(``, ``\\[``, ``$$``) left in the text;
- console errors, uncaught exceptions, failed requests and HTTP errors (a favicon 404 included);
- images that did not load, images whose alt text is empty or a file name, and, on the phone, wide
  figures shrunk below :data:`MIN_FIGURE_PX` (their tick labels would be unreadable);
- a page wider than the phone's screen (it would scroll sideways);
- a claims or checks table whose verdict column is not the second one, or does not show within the
  phone's first screen width.

Screenshots of each page's first screen and of its claims table go to ``--shots`` (default
``_build/browser``). Chromium comes from the system (Debian's ``chromium``; ``JEPABOOK_CHROMIUM``
names another binary); nothing is downloaded, and every host but 127.0.0.1 is unresolvable, so a page
that needs the network fails.

The browser is driven over Chrome's DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages ending in a NUL byte on file descriptors 3 and 4), which needs no client library.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DESKTOP", "PHONE", "Browser", "PageReport", "check_site", "evaluate_at", "find_chromium", "main", "serve"]

#: a wide figure (drawn over 700 px) must show at least this wide on the phone: at the book style's
#: tick size (jepabook.core.figures) its labels then stay about 11 px tall
MIN_FIGURE_PX = 600

#: (name, width, height, mobile)
DESKTOP = ("desktop", 1280, 900, False)
PHONE = ("phone", 390, 844, True)

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
          "--disable-features=Translate,MediaRouter,OptimizationHints",
          # nothing but the local server resolves: a page that needs a CDN fails the check
          "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def find_chromium() -> str:
    """The Chromium (or Chrome) binary: ``$JEPABOOK_CHROMIUM``, else the first of chromium,
    chromium-browser, google-chrome, google-chrome-stable on the PATH."""
    named = os.environ.get("JEPABOOK_CHROMIUM")
    if named:
        if not (shutil.which(named) or Path(named).is_file()):
            raise FileNotFoundError(f"JEPABOOK_CHROMIUM={named!r} is not an executable")
        return shutil.which(named) or named
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError("no Chromium found: install Debian's `chromium` (`apt-get install chromium`; "
                            ".ci/run does it) or set JEPABOOK_CHROMIUM to a Chromium or Chrome binary")


def _high_fd(fd: int) -> int:
    import fcntl

    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class CDPError(RuntimeError):
    """Chromium answered a DevTools command with an error, or did not answer in time."""


class Browser:
    """One headless Chromium driven over ``--remote-debugging-pipe``. Use as a context manager."""

    def __init__(self, binary: str | None = None, timeout: float = 30.0):
        if timeout <= 0:
            raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
        self.binary = binary or find_chromium()
        self.timeout = timeout
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._events: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        self._profile = tempfile.mkdtemp(prefix="jepabook-chromium-")
        # the pipes' ends are moved above fd 9, so that putting them on 3 and 4 in the child never
        # overwrites one with the other, and dup2 always makes a fresh, inheritable copy
        to_chrome_r, self._to_chrome = map(_high_fd, os.pipe())
        self._from_chrome, from_chrome_w = map(_high_fd, os.pipe())

        def child_fds():  # Chromium reads commands on fd 3 and writes replies on fd 4
            os.dup2(to_chrome_r, 3)  # dup2's copies are inheritable; os.pipe's own ends are not
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen([self.binary, *_FLAGS, f"--user-data-dir={self._profile}",
                                      "--remote-debugging-pipe", "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=child_fds, close_fds=False)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buf = b""
        while True:
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                with self._cond:
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._cond:
                        self._replies[msg["id"]] = msg
                        self._cond.notify_all()
                else:
                    self._events.put(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and wait for its result."""
        self._next_id += 1
        msg_id = self._next_id
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while msg_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise CDPError(f"{method}: no answer from Chromium within {self.timeout:g} s")
                self._cond.wait(min(left, 0.5))
            reply = self._replies.pop(msg_id)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def events(self, timeout: float = 0.0):
        """Drain the events received so far (waiting up to ``timeout`` for the first)."""
        out = []
        try:
            out.append(self._events.get(timeout=timeout) if timeout else self._events.get_nowait())
            while True:
                out.append(self._events.get_nowait())
        except queue.Empty:
            pass
        return out

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (CDPError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


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


# Runs in the page once it has loaded; returns what the checks need. Every image is made eager and
# awaited, MathJax's start-up promise is awaited, and every collapsed claims group is opened.
_PROBE = r"""
(async () => {
  const out = {};
  for (const img of document.images) { img.loading = "eager"; }
  await Promise.all([...document.images].map(img => img.decode().catch(() => null)));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  out.mathjax = !!(window.MathJax && MathJax.version);
  const maths = [...document.querySelectorAll("span.math, div.math")];
  out.math = maths.length;
  out.untypeset = maths.filter(m => !m.querySelector("mjx-container")).map(m => m.textContent.slice(0, 60));
  out.merrors = [...document.querySelectorAll("mjx-merror")].map(e => e.textContent.slice(0, 60));
  const walker = document.createTreeWalker(document.querySelector("main") || document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest("script, style, pre, code, mjx-container, mjx-assistive-mml, textarea, .highlight")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT });
  out.rawtex = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent;
    for (const d of ["\\(", "\\[", "$$"]) {
      const i = t.indexOf(d);
      if (i >= 0) out.rawtex.push(t.slice(Math.max(0, i - 20), i + 40).replace(/\s+/g, " "));
    }
  }
  out.images = [...document.images].map(img => ({
    src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0, alt: img.getAttribute("alt"),
    content: !!img.closest("main") && !img.closest(".navbar-brand, .logo"),
    figure: !!img.closest(".cell_output"), natural: img.naturalWidth, shown: img.getBoundingClientRect().width}));
  document.querySelectorAll("details.claims-group").forEach(d => { d.open = true; });
  document.querySelectorAll(".claims-scroll").forEach(s => { s.scrollLeft = 0; });
  out.pageWidth = document.documentElement.scrollWidth;
  // the layout viewport: a mobile browser zooms out to fit a page that is too wide, so innerWidth
  // would grow with the overflow; clientWidth stays the screen's width
  out.viewWidth = document.documentElement.clientWidth;
  out.wide = [];
  if (out.pageWidth > out.viewWidth + 1) {
    for (const el of document.querySelectorAll("main *")) {
      const r = el.getBoundingClientRect();
      if (r.right > out.viewWidth + 1 && !el.closest(".claims-scroll, .cell_output .output, .math-wrapper, pre, .highlight")) {
        out.wide.push(el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "") + " " + Math.round(r.right) + "px");
        if (out.wide.length > 5) break;
      }
    }
  }
  out.tables = [...document.querySelectorAll("table.claims-table, table.checks-table")].map(t => {
    const heads = [...t.querySelectorAll("thead th")].map(th => th.textContent.trim());
    const cells = [...t.querySelectorAll("tbody td.verdict")];
    const right = Math.max(0, ...cells.map(c => c.getBoundingClientRect().right), t.querySelector("thead th:nth-child(2)")
      ? t.querySelector("thead th:nth-child(2)").getBoundingClientRect().right : 0);
    const left = t.getBoundingClientRect().left;
    return {cls: t.className, second: heads[1] || "", rows: t.querySelectorAll("tbody tr").length,
            verdicts: cells.length, right: right, left: left,
            id: (t.closest(".claims") || t).querySelector("tr[id]") ? (t.closest(".claims") || t).querySelector("tr[id]").id : ""};
  });
  return out;
})()
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve(root: Path):
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _pages(root: Path) -> list[str]:
    """Every content page: not Sphinx's generated index and search pages, not a redirect (the root
    ``index.html`` only forwards to the first chapter page, which is checked itself)."""
    skip = {"genindex.html", "search.html"}
    out = []
    for p in sorted(root.rglob("*.html")):
        rel = p.relative_to(root)
        if p.name in skip or any(part.startswith("_") for part in rel.parts):
            continue
        head = p.read_text(encoding="utf-8", errors="replace")[:2000].lower()
        if 'http-equiv="refresh"' in head:
            target = re.search(r'url=([^"\'>]+)', head)
            if not target or not (p.parent / target.group(1).split("#")[0]).is_file():
                raise FileNotFoundError(f"{rel} redirects to a page that does not exist: {target and target.group(1)!r}")
            continue
        out.append(str(rel))
    return out


def _is_problem_request(url: str) -> bool:
    return not url.startswith(("data:", "about:", "blob:"))


def evaluate_at(browser: Browser, url: str, expression: str, size: tuple = DESKTOP):
    """Open ``url`` at ``size``, wait for its load event, and return the value of ``expression``
    (awaited if it is a promise)."""
    name, width, height, mobile = size
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    try:
        browser.send("Page.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, session=session)
        browser.events()
        browser.send("Page.navigate", {"url": url}, session=session)
        deadline = time.monotonic() + browser.timeout
        while not any(ev.get("sessionId") == session and ev["method"] == "Page.loadEventFired"
                      for ev in browser.events(timeout=0.5)):
            if time.monotonic() > deadline:
                raise CDPError(f"{url} did not load within {browser.timeout:g} s")
        result = browser.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                   "returnByValue": True}, session=session)
        if "exceptionDetails" in result:
            raise CDPError(f"{expression[:60]!r} failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")
    finally:
        browser.send("Target.closeTarget", {"targetId": target})


def serve(root: str | os.PathLike):
    """An HTTP server for ``root`` on 127.0.0.1 (a free port) in a thread; ``server.server_address``."""
    return _serve(Path(root))


def check_page(browser: Browser, base: str, page: str, size: tuple, shots: Path | None) -> PageReport:
    """Load ``base/page`` at ``size`` (one of :data:`DESKTOP`, :data:`PHONE`) and report its problems."""
    name, width, height, mobile = size
    report = PageReport(page, name)
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, session=session)
        browser.events()  # forget what came before this page
        browser.send("Page.navigate", {"url": f"{base}/{page}"}, session=session)
        seen, loaded, deadline = [], False, time.monotonic() + browser.timeout
        while not loaded and time.monotonic() < deadline:
            for ev in browser.events(timeout=0.5):
                if ev.get("sessionId") != session:
                    continue
                seen.append(ev)
                loaded = loaded or ev["method"] == "Page.loadEventFired"
        if not loaded:
            report.problems.append(f"did not finish loading within {browser.timeout:g} s")
            return report
        result = browser.send("Runtime.evaluate", {"expression": _PROBE, "awaitPromise": True, "returnByValue": True},
                              session=session)
        if "exceptionDetails" in result:
            report.problems.append(f"the page probe failed: {result['exceptionDetails'].get('text')}")
            return report
        probe = result["result"]["value"]
        time.sleep(0.2)  # let late console messages and requests arrive
        seen += [ev for ev in browser.events() if ev.get("sessionId") == session]
        probe["viewWidth"] = min(probe["viewWidth"], width)
        _judge(report, probe, seen, mobile)
        if shots is not None:
            _screenshots(browser, session, report, shots)
    finally:
        browser.send("Target.closeTarget", {"targetId": target})
    return report


def _judge(report: PageReport, probe: dict, events: list[dict], mobile: bool) -> None:
    p = report.problems
    report.math, report.images, report.tables = probe["math"], len(probe["images"]), len(probe["tables"])
    if probe["math"] and not probe["mathjax"]:
        p.append(f"{probe['math']} math elements but MathJax did not load")
    if probe["untypeset"]:
        p.append(f"{len(probe['untypeset'])} math elements not typeset, e.g. {probe['untypeset'][0]!r}")
    if probe["merrors"]:
        p.append(f"{len(probe['merrors'])} MathJax errors, e.g. {probe['merrors'][0]!r}")
    if probe["rawtex"]:
        p.append(f"{len(probe['rawtex'])} raw TeX delimiters left, e.g. {probe['rawtex'][0]!r}")
    for img in probe["images"]:
        if not img["ok"]:
            p.append(f"image did not load: {img['src']}")
        elif mobile and img["figure"] and img["natural"] > 700 and img["shown"] < min(img["natural"], MIN_FIGURE_PX) - 1:
            p.append(f"figure shown {img['shown']:.0f} px wide on the phone (drawn {img['natural']} px; at least "
                     f"{MIN_FIGURE_PX} keeps its tick labels legible): {img['src']}")
        if img["ok"] and img["content"]:
            alt = (img["alt"] or "").strip()
            if not alt or alt == img["src"] or alt.lower().endswith((".png", ".jpg", ".jpeg", ".svg", ".gif")):
                p.append(f"image without alt text (alt={alt!r}): {img['src']}")
    if mobile and probe["pageWidth"] > probe["viewWidth"] + 1:
        p.append(f"the page scrolls sideways: {probe['pageWidth']} px wide on a {probe['viewWidth']} px screen"
                 + (f" (widest: {', '.join(probe['wide'])})" if probe["wide"] else ""))
    for t in probe["tables"]:
        where = f"{t['cls']} at #{t['id']}" if t["id"] else t["cls"]
        if t["second"] not in ("verdict", "result"):
            p.append(f"{where}: the second column is {t['second']!r}, not the verdict")
        if t["verdicts"] != t["rows"]:
            p.append(f"{where}: {t['verdicts']} verdict cells for {t['rows']} rows")
        if mobile and t["right"] > probe["viewWidth"] + 1:
            p.append(f"{where}: the verdict column ends at {t['right']:.0f} px, off a {probe['viewWidth']} px screen")
    for ev in events:
        method, params = ev["method"], ev.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = params["exceptionDetails"]
            p.append("uncaught exception: " + (d.get("exception", {}).get("description") or d.get("text", "")).split("\n")[0])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            p.append("console error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            p.append(f"console error ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".rstrip())
        elif method == "Network.responseReceived" and params["response"].get("status", 200) >= 400:
            p.append(f"HTTP {params['response']['status']}: {params['response']['url']}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            p.append(f"request failed ({params.get('errorText')})")
    # one failure can show as a network event and a console entry: keep each message once
    report.problems[:] = list(dict.fromkeys(p))


def _screenshots(browser: Browser, session: str, report: PageReport, shots: Path) -> None:
    shots.mkdir(parents=True, exist_ok=True)
    stem = report.page.replace("/", "_").removesuffix(".html") + "-" + report.width

    def shot(suffix: str) -> None:
        data = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        path = shots / f"{stem}{suffix}.png"
        path.write_bytes(base64.b64decode(data))
        report.shots.append(str(path))

    browser.send("Runtime.evaluate", {"expression": "window.scrollTo(0, 0)"}, session=session)
    shot("")
    for suffix, selector in (("-figure", "div.cell_output figure"), ("-claims", ".claims, table.claims-table, table.checks-table")):
        found = browser.send("Runtime.evaluate", {"expression": f"(e => e ? (e.scrollIntoView(), true) : false)"
                                                                f"(document.querySelector({selector!r}))",
                                                  "returnByValue": True}, session=session)
        if found.get("result", {}).get("value"):
            shot(suffix)


def check_site(root: str | os.PathLike, shots: str | os.PathLike | None = "_build/browser",
               sizes=(DESKTOP, PHONE), pages: list[str] | None = None, binary: str | None = None,
               timeout: float = 30.0) -> list[PageReport]:
    """Check every page of the built site ``root`` (or only ``pages``, paths relative to it)."""
    root = Path(root)
    if not (root / "index.html").is_file() and not pages:
        raise FileNotFoundError(f"root must be a built site with an index.html; {root} has none (run `make site`)")
    todo = pages if pages is not None else _pages(root)
    if not todo:
        raise ValueError(f"no pages to check under {root}")
    shots_dir = Path(shots) if shots is not None else None
    if shots_dir is not None and shots_dir.exists():
        shutil.rmtree(shots_dir)
    server = _serve(root)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with Browser(binary, timeout) as browser:
            return [check_page(browser, base, page, size, shots_dir) for page in todo for size in sizes]
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jepabook.sphinx_site.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default="_build/html", help="the built site (default _build/html)")
    parser.add_argument("--shots", default="_build/browser", help="where screenshots go (default _build/browser)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a page may take to load (default 30)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    reports = check_site(args.root, args.shots, timeout=args.timeout)
    bad = [r for r in reports if r.problems]
    for r in reports:
        state = "ok " if not r.problems else "BAD"
        print(f"{state} {r.page} ({r.width}): {r.math} math, {r.images} images, {r.tables} claims tables")
        for problem in r.problems:
            print(f"      {problem}")
    print(f"browser: {len(reports) - len(bad)} of {len(reports)} page views clean in {time.monotonic() - start:.0f} s; "
          f"screenshots in {args.shots}/")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
