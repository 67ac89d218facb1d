"""The site's build configuration with the repository filled in, and JupyterLab's settings for `make lab`.

    python -m jepabook.sphinx_site.config --repository URL [--branch main] -o _build/_config_site.yml
    python -m jepabook.sphinx_site.config --guess-repository
    python -m jepabook.sphinx_site.config --lab-settings PATH

No repository URL is written into the book: ``make site`` takes it from ``REPOSITORY`` (the GitHub
Pages workflow passes ``${{ github.server_url }}/${{ github.repository }}``; locally it defaults to
the GitHub URL of ``git remote origin``, if that is one). With a URL the site gets the repository,
issue and launch (Binder, Colab) buttons; without one it gets none.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
_GITHUB = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def github_url(remote: str) -> str:
    """``https://github.com/<owner>/<repo>`` for a GitHub remote (https or ssh, with or without
    ``.git``), else ``""``."""
    remote = remote.strip()
    m = re.fullmatch(r"(?:git@github\.com:|ssh://git@github\.com/|https://github\.com/)([\w.-]+)/([\w.-]+?)(?:\.git)?/?", remote)
    return f"https://github.com/{m.group(1)}/{m.group(2)}" if m else ""


def guess_repository(root: Path = ROOT) -> str:
    """The GitHub URL of ``git remote origin`` in ``root``, or ``""``."""
    try:
        out = subprocess.run(["git", "-C", str(root), "config", "--get", "remote.origin.url"],
                             capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""
    return github_url(out)


def site_config(base: dict, repository: str, branch: str = "main", colab: bool = True) -> dict:
    """``base`` (the parsed ``_config.yml``) with the repository and its buttons when ``repository``
    is given: Binder (``binder/``: the package with ``mlx[cpu]``, pinned) and, with ``colab``, Colab
    (the chapter's install cell installs the package there from the repository the notebook names)
    launch the page's notebook, which then runs at ``profile = "ci"``."""
    if not isinstance(repository, str) or (repository and not _GITHUB.fullmatch(repository)):
        raise ValueError(f"repository must be empty or https://github.com/<owner>/<repo>; got {repository!r}")
    if not isinstance(branch, str) or not re.fullmatch(r"[\w./-]+", branch):
        raise ValueError(f"branch must be a git branch name; got {branch!r}")
    config = json.loads(json.dumps(base))  # a deep copy
    if not repository:
        return config
    config["repository"] = {"url": repository, "branch": branch, "path_to_book": ""}
    config.setdefault("parse", {}).setdefault("myst_substitutions", {})["repository"] = f"[{repository}]({repository})"
    html = config.setdefault("html", {})
    html.update(use_repository_button=True, use_issues_button=True)
    config["launch_buttons"] = {"notebook_interface": "jupyterlab", "binderhub_url": "https://mybinder.org"}
    if colab:
        config["launch_buttons"]["colab_url"] = "https://colab.research.google.com"
    return config


def ledger_counts() -> dict[str, str]:
    """The introduction's counts of claims by verdict, as MyST substitutions (``{{ n_claims }}``, …),
    from the published records, as the ledger counts them: computed here, not glued from the ledger's
    notebook, so that a site built from either set of notebooks (``book/executed`` or the ci ones in
    ``tests/notebooks``) has them."""
    from jepabook.core.rules import DIRECTION_ONLY, NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED
    from jepabook.ledger import table

    everything = table.counts(table.load_records("full"))["all"]
    return {"n_claims": str(everything["claims"]), "n_reproduced": str(everything[REPRODUCED]),
            "n_direction": str(everything[DIRECTION_ONLY]), "n_not_reproduced": str(everything[NOT_REPRODUCED]),
            "n_not_testable": str(everything[NOT_TESTABLE])}


def lab_settings() -> dict:
    """JupyterLab defaults for this book: MyST Markdown files open as notebooks (jupytext)."""
    return {"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook",
                                                                           "myst": "Jupytext Notebook"}}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jepabook.sphinx_site.config", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repository", help="https://github.com/<owner>/<repo>, or empty for no buttons")
    parser.add_argument("--branch", default="main", help="the branch the launch buttons open (default main)")
    parser.add_argument("-o", "--output", help="where to write the site configuration")
    parser.add_argument("--base", default=str(ROOT / "_config.yml"), help="the configuration to start from")
    parser.add_argument("--guess-repository", action="store_true", help="print the GitHub URL of git's origin")
    parser.add_argument("--lab-settings", metavar="PATH", help="write JupyterLab's overrides.json there")
    parser.add_argument("--notebooks", default=str(ROOT / "book" / "executed"),
                        help="the executed notebooks the site renders: Colab's button only if all name --repository")
    args = parser.parse_args(argv)
    if args.guess_repository:
        print(guess_repository())
        return 0
    if args.lab_settings:
        path = Path(args.lab_settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        current = json.loads(path.read_text()) if path.is_file() else {}
        path.write_text(json.dumps({**current, **lab_settings()}, indent=2) + "\n")
        return 0
    if args.repository is None or not args.output:
        parser.error("--repository (may be empty) and -o are needed to write a site configuration")
    from jepabook.core.tidy import lacking_repository

    stale = lacking_repository(sorted(Path(args.notebooks).glob("*.ipynb")), args.repository) if args.repository else []
    if stale:
        print(f"site: no Colab button: {len(stale)} notebook(s) in {args.notebooks} were executed without "
              f"REPOSITORY={args.repository} (their install cell would not know where to install from); "
              f"re-execute them with `make book REPOSITORY={args.repository}`", file=sys.stderr)
    try:
        config = site_config(yaml.safe_load(Path(args.base).read_text()), args.repository, args.branch,
                             colab=not stale)
    except ValueError as e:
        parser.error(str(e))
    config.setdefault("parse", {}).setdefault("myst_substitutions", {}).update(ledger_counts())
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# written by `python -m jepabook.sphinx_site.config` from _config.yml; do not edit\n"
                   + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
