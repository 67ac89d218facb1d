"""Strip run-to-run noise (timestamps, durations) from an executed notebook so commits diff cleanly.

    python -m jepabook.tidy NOTEBOOK.ipynb [...]

Outputs are left as they are: nbval needs them, and timing cells are marked ``nbval-ignore-output``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .results import write_json_atomic

_NOISY = ("start_time", "end_time", "duration", "exception")


def tidy(nb: dict) -> dict:
    """The notebook with papermill's timestamps and durations and Jupyter's execution times removed."""
    pm = nb.get("metadata", {}).get("papermill", {})
    for key in _NOISY + ("input_path", "output_path", "environment_variables", "version"):
        pm.pop(key, None)
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        meta.pop("execution", None)
        for key in _NOISY + ("status",):
            meta.get("papermill", {}).pop(key, None)
    return nb


def main(paths: list[str]) -> int:
    for path in paths:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        write_json_atomic(path, tidy(nb), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
