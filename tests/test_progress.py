"""A chapter run's progress: one plain line per finished task off a terminal, nothing when quiet."""

import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from jepabook.core.parallel import run_tasks
from jepabook.core.progress import RunProgress, describe_task, format_seconds, progress_mode


class Pipe(io.StringIO):
    """stderr redirected to a file or a pipe: not a terminal."""

    def isatty(self):
        return False


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_off_a_terminal_each_finished_task_is_one_labelled_line_with_time_left():
    out, clock = Pipe(), Clock()
    with RunProgress("basics (ci, 3 seeds)", 4, "lines", out, clock) as p:
        clock.now += 10
        p.done("sigreg, seed 0")
        clock.now += 20
        p.done("axis, seed 1")
    lines = out.getvalue().splitlines()
    assert lines == ["basics (ci, 3 seeds): 1/4 tasks done (sigreg, seed 0), 10 s elapsed, about 30 s left",
                     "basics (ci, 3 seeds): 2/4 tasks done (axis, seed 1), 30 s elapsed, about 30 s left"]
    assert "\r" not in out.getvalue()  # a log file gets whole lines, never a redrawn bar


def test_quiet_mode_writes_nothing():
    out = Pipe()
    with RunProgress("basics (ci, 3 seeds)", 3, "off", out) as p:
        for _ in range(3):
            p.done("x")
    assert out.getvalue() == "" and p.finished == 3


def test_the_mode_follows_the_stream_and_the_environment(monkeypatch):
    monkeypatch.delenv("JEPABOOK_PROGRESS", raising=False)
    assert progress_mode(None, Pipe()) == "lines"
    assert progress_mode(True, Terminal()) == "bar"
    assert progress_mode(False, Terminal()) == "off"
    assert progress_mode("lines", Terminal()) == "lines"
    # papermill and nbval run with JEPABOOK_PROGRESS=off (the Makefile, tests/conftest.py)
    monkeypatch.setenv("JEPABOOK_PROGRESS", "off")
    assert progress_mode(None, Terminal()) == "off" and progress_mode(True, Terminal()) == "off"
    monkeypatch.setenv("JEPABOOK_PROGRESS", "loud")
    with pytest.raises(ValueError, match="JEPABOOK_PROGRESS must be one of auto, bar, lines, off; got 'loud'"):
        progress_mode(None, Pipe())
    with pytest.raises(ValueError, match="progress must be"):
        progress_mode("verbose", Pipe())
    with pytest.raises(ValueError, match="mode must be"):
        RunProgress("x", 1, "verbose")


def test_the_bar_is_one_labelled_count_of_tasks_with_time_left():
    out = Terminal()
    with RunProgress("lejepa (ci, 2 seeds)", 5, "bar", out) as p:
        p.done()
        p.done()
    text = out.getvalue()
    assert "lejepa (ci, 2 seeds): 2/5 tasks" in text and "elapsed" in text and "left" in text


def test_run_tasks_reports_every_task_once_whatever_runs_it():
    for kwargs in ({"workers": 1}, {"executor": ThreadPoolExecutor(2)}):
        seen = []
        got = run_tasks(pow, [(2, 3), (3, 2), (5, 1)], on_done=seen.append, **kwargs)
        assert got == [8, 9, 5] and sorted(seen) == [0, 1, 2]


def test_a_chapter_run_prints_one_line_per_task_and_nothing_when_quiet(monkeypatch, capsys):
    from jepabook import basics

    monkeypatch.setenv("JEPABOOK_PROGRESS", "lines")
    basics.run("ci", [0], steps=20, n_points=256)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(re.match(r"basics \(ci, 1 seed\): \d/3 tasks done \(\w+, seed 0\)", line)
                                       for line in lines), lines
    monkeypatch.setenv("JEPABOOK_PROGRESS", "off")
    basics.run("ci", [0], steps=20, n_points=256)
    assert capsys.readouterr().err == ""


def test_task_names_and_durations_read_plainly():
    assert describe_task((object(), 3, "sigreg", False)) == "sigreg, seed 3"
    assert [format_seconds(s) for s in (4.4, 65, 3725)] == ["4 s", "1 min 05 s", "1 h 02 min"]
