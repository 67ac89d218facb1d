"""The repository's ecosystem files: licences, citation, the CI workflows and Binder's environment."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
#: the oldest major accepted for each action; all of these run on Node 24 (GitHub retired Node 20 from its runners)
NODE24_MAJOR = {"actions/checkout": 5, "actions/setup-python": 6, "actions/upload-artifact": 6,
                "actions/upload-pages-artifact": 5, "actions/deploy-pages": 5}


def _workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def test_the_licences_and_the_citation_agree():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "Attribution 4.0 International Public License" in (ROOT / "LICENSE-CC-BY-4.0").read_text()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert {"cff-version", "message", "title", "authors", "license"} <= set(cff)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == " AND ".join(cff["license"]) == "MIT AND CC-BY-4.0"
    assert cff["version"] == project["version"]
    assert set(project["license-files"]) == {"LICENSE", "LICENSE-CC-BY-4.0"}


def test_every_action_is_on_a_node24_major():
    for path in WORKFLOWS.glob("*.yml"):
        for action, major in re.findall(r"uses:\s*([\w-]+/[\w-]+)@v(\d+)", path.read_text()):
            assert action in NODE24_MAJOR, f"{path.name}: {action} is not known here; check its Node runtime"
            assert int(major) >= NODE24_MAJOR[action], f"{path.name}: {action}@v{major} runs on Node 20"


def test_pages_deploys_only_after_the_tests_pass_on_the_default_branch():
    pages = _workflow("pages.yml")
    assert pages["on"] == {"workflow_run": {"workflows": ["test"], "types": ["completed"]}}
    guard = pages["jobs"]["build"]["if"]
    for condition in ("github.event.workflow_run.conclusion == 'success'", "github.event.workflow_run.event == 'push'",
                      "github.event.workflow_run.head_branch == github.event.repository.default_branch"):
        assert condition in guard
    checkout = next(s for s in pages["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["ref"] == "${{ github.event.workflow_run.head_sha }}"  # the commit that was tested
    assert pages["jobs"]["deploy"]["needs"] == "build"
    assert _workflow("test.yml")["name"] == "test"
    for name in ("pages.yml", "test.yml"):
        for job, spec in _workflow(name)["jobs"].items():
            assert 0 < spec["timeout-minutes"] <= 30, f"{name}: job {job} has no timeout"


def test_binder_has_a_c_compiler():
    packages = [line.strip() for line in (ROOT / "binder" / "apt.txt").read_text().splitlines() if line.strip()]
    assert "build-essential" in packages
