"""make portability's nbval masks numbers (trained values move on other kernels) and nothing else."""

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _sections(name: str) -> dict[str, tuple[str, str]]:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "tests" / name, encoding="utf-8")
    return {s: (cfg[s]["regex"], cfg[s]["replace"]) for s in cfg.sections()}


def _apply(sections, text: str) -> str:
    for regex, replace in sections.values():
        text = re.sub(regex, replace, text)
    return text


def test_numbers_are_masked_words_and_verdicts_are_not():
    port = _sections("nbval_portability.cfg")
    a = "<td>38 ± 4</td> untrained 38.0; p &lt; 0.05 −1.5e−02 reproduced 3 claims"
    b = "<td>39 ± 3</td> untrained 39.0; p &lt; 0.05 +2.5e-03 reproduced 3 claims"
    assert _apply(port, a) == _apply(port, b)
    assert _apply(port, a.replace("reproduced", "not reproduced")) != _apply(port, a)
    assert "untrained" in _apply(port, a) and "38" not in _apply(port, a)


def test_the_portability_sanitizer_keeps_every_section_of_the_ordinary_one_that_is_not_about_numbers():
    """A mask added to tests/nbval_sanitize.cfg must reach make portability too."""
    plain, port = _sections("nbval_sanitize.cfg"), _sections("nbval_portability.cfg")
    assert "numbers" in port and "numbers" not in plain
    for name, section in plain.items():
        if name != "negative zero":  # a sign on 0.0 is masked with the number
            assert port.get(name) == section, name
