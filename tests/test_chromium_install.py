""".ci/chromium, make test's first step towards the browser check: a Chromium found is used, a
missing one is installed with apt-get when the user may (root or sudo), and otherwise one message
says what to do. Run here against fake commands on a PATH of their own."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "chromium"
APT = """#!/bin/sh
echo "apt-get $*" >> "$LOG"
case "$*" in *"install -y -q $PACKAGE"*) printf '#!/bin/sh\\n' > "$BIN/chromium-browser"; chmod +x "$BIN/chromium-browser";; esac
case "$*" in *install*) case "$*" in *"$PACKAGE"*) exit 0;; esac; exit 100;; esac
exit 0
"""


def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(body)
    path.chmod(0o755)


@pytest.fixture
def sandbox(tmp_path):
    """A PATH holding only bash and the fakes each test adds (no real chromium, apt-get or sudo)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "cat", "chmod", "printf"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    _fake(bin_dir, "uname", "#!/bin/sh\necho Linux\n")
    _fake(bin_dir, "id", "#!/bin/sh\necho 0\n")
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path / "home"), "BIN": str(bin_dir), "LOG": str(tmp_path / "apt.log")}
    return bin_dir, env


def _run(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which("bash"), str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)


def test_a_chromium_on_path_is_used_as_it_is(sandbox):
    bin_dir, env = sandbox
    _fake(bin_dir, "google-chrome", "#!/bin/sh\n")
    done = _run(env)
    assert done.returncode == 0 and done.stderr == ""


def test_jepabook_chromium_names_another_binary(sandbox):
    bin_dir, env = sandbox
    _fake(bin_dir, "my-chrome", "#!/bin/sh\n")
    assert _run({**env, "JEPABOOK_CHROMIUM": "my-chrome"}).returncode == 0


@pytest.mark.parametrize("package", ["chromium", "chromium-browser"])
def test_as_root_it_installs_debians_or_ubuntus_package(sandbox, package):
    bin_dir, env = sandbox
    _fake(bin_dir, "apt-get", APT)
    done = _run({**env, "PACKAGE": package})
    assert done.returncode == 0, done.stderr
    assert f"installed {package}" in done.stderr
    assert f"install -y -q {package}" in Path(env["LOG"]).read_text()


def test_without_root_or_sudo_it_says_what_to_do_once(sandbox):
    bin_dir, env = sandbox
    _fake(bin_dir, "apt-get", APT)
    _fake(bin_dir, "id", "#!/bin/sh\necho 1000\n")
    done = subprocess.run([shutil.which("bash"), str(SCRIPT)], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("make test:") == 1 and "sudo apt-get install chromium" in done.stderr
    assert not Path(env["LOG"]).exists()  # nothing was tried


def test_when_apt_cannot_install_it_says_so(sandbox):
    bin_dir, env = sandbox
    _fake(bin_dir, "apt-get", APT)
    done = _run({**env, "PACKAGE": "no-such-package"})
    assert done.returncode == 1 and "apt-get could not install chromium or chromium-browser" in done.stderr


def test_without_apt_or_on_a_mac_it_names_what_to_install(sandbox):
    bin_dir, env = sandbox
    linux = _run(env)
    assert linux.returncode == 1 and "distribution's chromium package" in linux.stderr
    _fake(bin_dir, "uname", "#!/bin/sh\necho Darwin\n")
    mac = _run(env)
    assert mac.returncode == 1 and "brew install --cask chromium" in mac.stderr
    (Path(env["HOME"]) / "Applications" / "Google Chrome.app").mkdir(parents=True)
    assert _run(env).returncode == 0  # Chrome.app in ~/Applications counts as found
