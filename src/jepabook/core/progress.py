"""One progress display per chapter run: tasks done of total, time elapsed, time left.

A chapter's tasks (arms × seeds) run in parallel workers, so the display lives here, in the process
that hands them out, never in the workers: one labelled bar, or one plain line per finished task.
Which one is decided by :func:`progress_mode`:

- ``"bar"``: a tqdm bar, on a terminal and in a notebook run by a person;
- ``"lines"``: one line per finished task on stderr, when it is not a terminal (a log file, a pipe);
- ``"off"``: nothing, under papermill and nbval (the Makefile and the tests set
  ``JEPABOOK_PROGRESS=off``), so that executed notebooks keep no progress output.

``JEPABOOK_PROGRESS`` (``auto``, ``bar``, ``lines`` or ``off``) overrides the automatic choice.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

__all__ = ["MODES", "RunProgress", "describe_task", "format_seconds", "progress_mode"]

#: the values ``JEPABOOK_PROGRESS`` and ``progress_mode``'s ``progress`` accept as strings
MODES = ("auto", "bar", "lines", "off")


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where stderr is never a terminal but a person may watch)."""
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    ip = shell.get_ipython()
    return ip is not None and hasattr(ip, "kernel")


def progress_mode(progress: bool | str | None = None, stream: TextIO | None = None) -> str:
    """``"bar"``, ``"lines"`` or ``"off"`` for a run asked for ``progress`` on ``stream`` (stderr).

    ``False``/``"off"`` is off; ``"bar"`` and ``"lines"`` are taken as given; ``True``, ``None`` and
    ``"auto"`` follow ``$JEPABOOK_PROGRESS`` if set, else a bar on a terminal or in a notebook and
    lines elsewhere.
    """
    if progress is False:
        return "off"
    if isinstance(progress, str) and progress not in MODES:
        raise ValueError(f"progress must be True, False, None or one of {', '.join(map(repr, MODES))}; "
                         f"got {progress!r}")
    if progress not in (True, None, "auto"):
        return progress
    env = os.environ.get("JEPABOOK_PROGRESS", "auto").strip().lower() or "auto"
    if env not in MODES:
        raise ValueError(f"JEPABOOK_PROGRESS must be one of {', '.join(MODES)}; got {env!r}")
    if env != "auto":
        return env
    stream = sys.stderr if stream is None else stream
    if _in_notebook():
        return "bar"
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "lines"


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``: what a person reads at a glance."""
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def describe_task(args: tuple) -> str:
    """A short name for one task from its plain arguments: its strings (arm names) and its integers,
    which in every chapter's tasks are seeds; never configs or data, nor the booleans that are flags."""
    names = [a for a in args if isinstance(a, str)]
    seeds = [f"seed {a}" for a in args if isinstance(a, int) and not isinstance(a, bool)]
    return ", ".join(names + seeds)


class RunProgress:
    """Progress of one chapter run's ``total`` tasks, shown as ``mode`` (see :func:`progress_mode`).

    Call :meth:`done` once per finished task (in the order they finish), then :meth:`close`; or use
    it as a context manager.
    """

    def __init__(self, label: str, total: int, mode: str = "lines", stream: TextIO | None = None,
                 clock=time.monotonic):
        if mode not in ("bar", "lines", "off"):
            raise ValueError(f"mode must be 'bar', 'lines' or 'off'; got {mode!r}")
        if not (isinstance(total, int) and total >= 0):
            raise ValueError(f"total must be a non-negative integer; got {total!r}")
        self.label, self.total, self.mode = label, total, mode
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock
        self.start = clock()
        self.finished = 0
        self._bar = None
        if mode == "bar":
            self._bar = self._make_bar()

    def _make_bar(self):
        kwargs = dict(total=self.total, desc=self.label, unit="task", file=self.stream, leave=True,
                      bar_format="{desc}: {n_fmt}/{total_fmt} tasks |{bar}| {elapsed} elapsed, {remaining} left")
        if _in_notebook():
            try:  # a widget where ipywidgets is installed, else the text bar (JupyterLab honours \r)
                import ipywidgets  # noqa: F401
                from tqdm.notebook import tqdm

                kwargs.pop("file")
                return tqdm(**kwargs)
            except ImportError:
                pass
        from tqdm.std import tqdm

        return tqdm(**kwargs)

    def done(self, task: str = "") -> None:
        """One task has finished; ``task`` names it in the plain line."""
        self.finished += 1
        if self.mode == "bar":
            self._bar.update(1)
        elif self.mode == "lines":
            elapsed = self.clock() - self.start
            left = elapsed / self.finished * (self.total - self.finished)
            what = f" ({task})" if task else ""
            print(f"{self.label}: {self.finished}/{self.total} tasks done{what}, {format_seconds(elapsed)} "
                  f"elapsed, about {format_seconds(left)} left", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
