"""The browser check's parts that need no browser: finding Chrome or Chromium on each platform
(the platform forced), and judging what a page's probe found."""

from pathlib import Path

import pytest

from jepabook.sphinx_site.browser import LEAST_TEXT_PX, MACOS_APPS, judge, pages


def _app(folder: Path, app: str) -> Path:
    path = folder / app
    path.parent.mkdir(parents=True)
    path.write_text("")
    return path


def test_chrome_is_found_in_the_macos_applications_folders(tmp_path):
    from jepabook.sphinx_site.browser import find_chromium

    for app in MACOS_APPS[:2]:  # Google Chrome, Chromium
        folder = tmp_path / app.split(".")[0].replace(" ", "_")
        path = _app(folder, app)
        assert find_chromium("darwin", environ={}, which=lambda name: None, app_dirs=[folder]) == str(path)


def test_on_linux_the_path_is_searched_and_applications_are_not(tmp_path):
    from jepabook.sphinx_site.browser import find_chromium

    _app(tmp_path, MACOS_APPS[0])
    which = {"chromium-browser": "/snap/bin/chromium-browser"}.get
    assert find_chromium("linux", environ={}, which=which, app_dirs=[tmp_path]) == "/snap/bin/chromium-browser"
    with pytest.raises(FileNotFoundError, match="no Chrome or Chromium found: on Debian or Ubuntu: `sudo apt-get install chromium`"):
        find_chromium("linux", environ={}, which=lambda name: None, app_dirs=[tmp_path])


def test_the_error_on_a_mac_says_to_install_chrome(tmp_path):
    from jepabook.sphinx_site.browser import find_chromium

    with pytest.raises(FileNotFoundError, match="install Google Chrome .* into /Applications") as err:
        find_chromium("darwin", environ={}, which=lambda name: None, app_dirs=[tmp_path])
    assert "apt-get" not in str(err.value)


def test_a_named_binary_must_exist(tmp_path):
    from jepabook.sphinx_site.browser import find_chromium

    with pytest.raises(FileNotFoundError, match="JEPABOOK_CHROMIUM='.*nope' is not an executable"):
        find_chromium("linux", environ={"JEPABOOK_CHROMIUM": str(tmp_path / "nope")}, which=lambda name: None)
    binary = tmp_path / "chrome"
    binary.write_text("")
    assert find_chromium("darwin", environ={"JEPABOOK_CHROMIUM": str(binary)}, which=lambda n: None) == str(binary)


def test_pages_need_a_built_site(tmp_path):
    with pytest.raises(FileNotFoundError, match="root must be a built site"):
        pages(tmp_path)
    (tmp_path / "index.html").write_text('<meta http-equiv="refresh" content="0; url=gone.html">')
    with pytest.raises(FileNotFoundError, match="redirects to a page that does not exist"):
        pages(tmp_path)


def _probe(**changes) -> dict:
    probe = {"math": 0, "mathjax": True, "untypeset": [], "merrors": [], "rawtex": [], "images": [], "tables": [],
             "brokenBadges": [], "pageWidth": 390, "viewWidth": 390, "wide": []}
    probe.update(changes)
    return probe


def _figure(natural, shown, visible=None, cue=False):
    visible = shown if visible is None else visible
    return {"src": "fig.png", "ok": True, "alt": "a plot", "content": True, "figure": True, "natural": natural,
            "shown": shown, "visible": visible, "clipped": visible < shown - 1, "cue": cue}


def test_figure_text_size_follows_natural_and_shown_width():
    text_px = 18.0  # the figure's smallest text at its natural size
    at = lambda shown: judge(_probe(images=[_figure(1000, shown)]), False, text_px)  # noqa: E731
    assert at(1000 * LEAST_TEXT_PX / text_px + 1) == []
    (problem,) = at(400)
    assert problem.startswith("figure text shown at 7.2 px (under 9): drawn 1000 px wide, shown 400 px")


def test_a_clipped_figure_needs_a_cue_on_the_phone():
    clipped = _figure(900, 600, visible=350)
    assert "cut off on the phone with no cue" in judge(_probe(images=[clipped]), True, 18.0)[0]
    assert judge(_probe(images=[{**clipped, "cue": True}]), True, 18.0) == []
    assert judge(_probe(images=[clipped]), False, 18.0) == []  # the desktop has no such box


def test_tables_wider_than_the_column_and_broken_badges_are_named():
    table = {"cls": "claims-table", "id": "claim-toy-a", "second": "verdict", "rows": 2, "verdicts": 2,
             "right": 300, "width": 800, "column": 688}
    problems = judge(_probe(tables=[table], brokenBadges=["direction only"]), False, 18.0)
    assert problems == ["claims-table at #claim-toy-a: 800 px wide in a 688 px text column",
                        "a verdict badge is broken across lines: 'direction only'"]
    assert judge(_probe(tables=[{**table, "width": 688}]), False, 18.0) == []
