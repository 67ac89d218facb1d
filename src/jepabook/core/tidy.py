"""Strip run-to-run noise (timestamps, durations, random cell ids) from an executed notebook so commits diff cleanly.

    python -m jepabook.core.tidy [--repository URL] NOTEBOOK.ipynb [...]

Outputs are left as they are: nbval needs them, and timing cells are marked ``nbval-ignore-output``.
Cell ids, which jupytext draws at random on every conversion, are replaced by ids derived from each
cell's type and source (see :func:`cell_ids`), so an unchanged chapter re-executed is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from jepabook.core.results import write_json_atomic

_NOISY = ("start_time", "end_time", "duration", "exception")

#: what the committed copy of papermill's injected cell says in place of its ``profile = ...`` line
LAUNCH_NOTE = ("# `make` ran this copy with papermill at the profile below (the notebook's metadata records it).\n"
               "# A copy run by hand (Binder, Colab, JupyterLab) keeps the parameters cell's small \"ci\" profile;\n"
               "# uncomment the line to repeat the published run.\n")


def launchable(source: str) -> str:
    """Papermill's injected parameters with the ``profile = ...`` line commented out (idempotent).

    ``make`` executes every chapter at the profile it injects, and the outputs show that run; a reader
    who launches the notebook (Binder, Colab) should start from the small ``ci`` profile, the
    parameters cell's default, and not from a 10-minute ``full`` run. Other parameters stay active.
    """
    if LAUNCH_NOTE in source:
        return source
    lines = source.splitlines(keepends=True)
    if not any(line.startswith("profile = ") for line in lines):
        return source
    out = []
    for line in lines:
        if line.startswith("profile = "):
            out.append(LAUNCH_NOTE + "# " + line)
        else:
            out.append(line)
    return "".join(out)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def cell_ids(cells: list[dict]) -> list[str]:
    """Deterministic nbformat cell ids: the first 12 hex digits of SHA-1 of the cell's type and source.

    A cell whose type and source repeat an earlier cell's gets ``-2``, ``-3``, ... in order of appearance,
    so ids are unique. An id depends only on the cell's own content (and on how many identical cells
    precede it), not on its position: inserting or editing another cell leaves it unchanged. The ids
    match nbformat's ``^[a-zA-Z0-9-_]+$`` and are at most 64 characters long.
    """
    seen: dict[str, int] = {}
    ids = []
    for cell in cells:
        digest = hashlib.sha1(f"{cell.get('cell_type', '')}\0{_source(cell)}".encode()).hexdigest()[:12]
        seen[digest] = seen.get(digest, 0) + 1
        ids.append(digest if seen[digest] == 1 else f"{digest}-{seen[digest]}")
    return ids


def record_repository(nb: dict, repository: str) -> dict:
    """Write the GitHub repository the notebook was executed for into ``metadata.jepabook.repository``.

    ``make chapter`` records it ("" when it knew none); the site turns Colab's launch button on only
    when every notebook it renders names the repository the site is built for, since the chapter's
    install cell on Colab installs the package from that URL (:func:`lacking_repository`).
    """
    if not isinstance(repository, str):
        raise ValueError(f"repository must be a string (a GitHub URL or empty); got {repository!r}")
    nb.setdefault("metadata", {}).setdefault("jepabook", {})["repository"] = repository
    return nb


def lacking_repository(notebooks, repository: str) -> list[str]:
    """The notebooks (paths) whose recorded repository is not ``repository``: none when Colab's
    button can be shown for a site built for ``repository``."""
    bad = []
    for path in notebooks:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        if not repository or nb.get("metadata", {}).get("jepabook", {}).get("repository") != repository:
            bad.append(str(path))
    return bad


def tidy(nb: dict) -> dict:
    """The notebook without papermill's timestamps and durations or Jupyter's execution times.

    Papermill's injected parameters cell is also tagged ``remove-cell`` so the site does not show it twice,
    and its ``profile`` line is commented out (:func:`launchable`), so that a launched copy runs at ``ci``.
    Cell ids are replaced by :func:`cell_ids` where the notebook format has them (nbformat ≥ 4.5).
    """
    pm = nb.get("metadata", {}).get("papermill", {})
    for key in _NOISY + ("input_path", "output_path", "environment_variables", "version"):
        pm.pop(key, None)
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        tags = meta.get("tags", [])
        if "injected-parameters" in tags:
            if "remove-cell" not in tags:
                tags.append("remove-cell")  # the site shows the chapter's own parameters cell instead
            cell["source"] = launchable(_source(cell))
        meta.pop("execution", None)
        for key in _NOISY + ("status",):
            meta.get("papermill", {}).pop(key, None)
    cells = nb.get("cells", [])
    if (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5) or any("id" in c for c in cells):
        for cell, cell_id in zip(cells, cell_ids(cells)):
            cell["id"] = cell_id
    return nb


def main(args: list[str]) -> int:
    repository = None
    if args[:1] == ["--repository"]:
        if len(args) < 2:
            raise SystemExit("--repository needs a value (a GitHub URL, or \"\" for none)")
        repository, args = args[1], args[2:]
    for path in args:
        nb = tidy(json.loads(Path(path).read_text(encoding="utf-8")))
        if repository is not None:
            record_repository(nb, repository)
        write_json_atomic(path, nb, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
