"""Can this Python, and the one an existing environment was made with, install the book's pins?

    python3 src/jepabook/venvcheck.py --venv .venv      # `make venv` runs this first

It runs as a plain script under whatever ``python3`` a machine has (a Mac's stock 3.9 included),
before any environment exists, so it imports nothing from jepabook and only the standard library.
Exit status: 0 go on; 2 stop (the message says what to install or run); 3 the environment at
``--venv`` is a virtual environment made by a Python too old for the pins, and the Python given can
make a new one: the Makefile deletes it and builds it again.

The pins (``constraints-*.txt``: NumPy 2.4, SciPy 1.17, ...) need Python >= 3.11. MLX has wheels for
Linux and for macOS >= 14 on Apple silicon only (none for Intel Macs).
"""

import argparse
import os
import platform
import re
import subprocess
import sys

MINIMUM = (3, 11)
MINIMUM_MACOS = (14, 0)
GO, STOP, REBUILD = 0, 2, 3


def version_text(version):
    return ".".join(str(v) for v in version)


def parse_version(text):
    """``(3, 11, 7)`` from ``"3.11.7"`` or ``"3.11.7.final.0"``; None if it does not start with digits."""
    m = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not m:
        return None
    return tuple(int(g) for g in m.groups() if g is not None)


def python_problem(version, system, machine, macos=""):
    """Why a Python of ``version`` on ``system``/``machine`` cannot build the book's environment, or None."""
    if tuple(version[:2]) < MINIMUM:
        hint = ("on a Mac: install one from python.org or Homebrew (`brew install python@3.12`)" if system == "Darwin"
                else "on Debian or Ubuntu: `sudo apt-get install python3.11-venv` (Ubuntu 22.04: from the "
                     "deadsnakes PPA), or use conda/mamba with environment.yml")
        return (f"Python {version_text(version)} cannot install the pinned dependencies, which need Python >= "
                f"{version_text(MINIMUM)}. Get a newer one ({hint}), then run make with it, "
                f"e.g. `make venv PYTHON=python3.12`.")
    if system == "Darwin":
        if machine != "arm64":
            return (f"this Mac has an {machine} CPU; MLX publishes wheels for Apple silicon (arm64) only. "
                    f"(If this is an Apple-silicon Mac, this Python runs under Rosetta: use an arm64 Python.)")
        mac = parse_version(macos)
        if mac is not None and mac[:2] < MINIMUM_MACOS:
            return f"macOS {macos} is too old: MLX's wheels need macOS >= {version_text(MINIMUM_MACOS)}."
    return None


def venv_python_version(venv):
    """(version, is_virtualenv) of the environment at ``venv``: from ``pyvenv.cfg`` for a virtual
    environment, else from its ``bin/python`` (a conda environment); None if there is no environment."""
    cfg = os.path.join(venv, "pyvenv.cfg")
    if os.path.isfile(cfg):
        with open(cfg, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() in ("version", "version_info"):
                    return parse_version(value), True
        return None, True
    python = os.path.join(venv, "bin", "python")
    if os.access(python, os.X_OK):
        out = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             capture_output=True, text=True).stdout
        return parse_version(out), False
    return None


def decide(here, venv_state, system, machine, macos=""):
    """(exit status, message) for this Python ``here`` and the environment's ``venv_state``
    (see :func:`venv_python_version`)."""
    own = python_problem(here, system, machine, macos)
    if venv_state is None:
        return (STOP, own) if own else (GO, "")
    version, is_venv = venv_state
    if version is not None and tuple(version[:2]) >= MINIMUM:
        return GO, ""
    made = f"Python {version_text(version)}" if version else "a Python whose version it does not record"
    if not is_venv:
        return STOP, (f"the environment VENV names was made with {made}; the pins need Python >= "
                      f"{version_text(MINIMUM)}. Create a new one (e.g. `mamba env create -f environment.yml`).")
    if own:
        return STOP, f"the existing virtual environment was made with {made}, and {own}"
    return REBUILD, (f"the existing virtual environment was made with {made}, which cannot install the pins "
                     f"(Python >= {version_text(MINIMUM)}); deleting it and building it again with Python "
                     f"{version_text(here)}.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", default=".venv", help="the environment make uses (VENV)")
    args = parser.parse_args(argv)
    status, message = decide(sys.version_info[:3], venv_python_version(args.venv), platform.system(),
                             platform.machine(), platform.mac_ver()[0])
    if message:
        print(("make venv: " if status == REBUILD else "make venv: error: ") + message, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
