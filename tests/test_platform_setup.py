"""Set-up on other machines, checked here by forcing the platform: the matmul precision pin, the
macOS branches of jepabook.blas, make venv's Python check, and the platform the records name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jepabook import blas
from jepabook import venvcheck as vc
from jepabook.core import platforms
from jepabook.core.parallel import run_tasks
from jepabook.core.results import platform_info

ROOT = Path(__file__).resolve().parents[1]
LINUX = {"device": "Device(cpu, 0)", "mlx": "0.32.4", "blas": "openblas Haswell, 1 thread", "system": "Linux",
         "machine": "x86_64", "cpu_count": 2, "python": "3.11.7"}
MAC = {"device": "Device(gpu, 0)", "mlx": "0.32.4", "blas": "metal/accelerate", "precision": "MLX_ENABLE_TF32=0",
       "system": "Darwin", "machine": "arm64", "cpu_count": 10, "python": "3.11.7"}


def _env_without(*names: str) -> dict:
    return {k: v for k, v in os.environ.items() if k not in names}


# --- MLX_ENABLE_TF32=0 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["import jepabook", "import mlx.core, jepabook.core.results"])
def test_importing_the_package_turns_reduced_precision_matmuls_off(code):
    done = subprocess.run([sys.executable, "-c", f"{code}; import os; print(os.environ['MLX_ENABLE_TF32'])"],
                          capture_output=True, text=True, env=_env_without("MLX_ENABLE_TF32"), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0"]


def test_a_value_the_user_set_is_kept_and_recorded():
    code = "import jepabook.core.results as r; print(r.platform_info()['precision'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "MLX_ENABLE_TF32": "1"}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "MLX_ENABLE_TF32=1"


def test_the_start_up_hook_sets_it_before_anything_is_imported():
    """The hook make venv installs runs in every process of the environment, jepabook imported or not."""
    if not (Path(blas._site_packages()) / blas.PTH_NAME).is_file():
        pytest.skip("no start-up hook in this environment (make venv installs it)")
    done = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('MLX_ENABLE_TF32'))"],
                          capture_output=True, text=True, env=_env_without("MLX_ENABLE_TF32"), timeout=120)
    assert done.stdout.split() == ["0"], done.stderr


def _worker_precision(_: int) -> str:
    return os.environ.get("MLX_ENABLE_TF32", "unset")


def test_worker_processes_run_at_full_precision_too(monkeypatch):
    monkeypatch.delenv("MLX_ENABLE_TF32", raising=False)
    blas.pin_precision()  # what importing jepabook did in this process
    assert run_tasks(_worker_precision, [(0,), (1,)], workers=2) == ["0", "0"]


def test_every_run_records_the_precision_setting():
    assert platform_info()["precision"] == "MLX_ENABLE_TF32=0"
    assert blas.precision() == "MLX_ENABLE_TF32=0"


def test_the_makefile_exports_it():
    assert "export MLX_ENABLE_TF32 ?= 0" in (ROOT / "Makefile").read_text().splitlines()


# --- jepabook.blas on macOS (forced) ---------------------------------------------------------------

@pytest.fixture
def fresh_blas(monkeypatch):
    monkeypatch.setattr(blas, "_state", {"done": False, "lib": None, "reason": "not activated yet"})
    monkeypatch.setattr(sys, "platform", "darwin")
    for name in ("JEPABOOK_BLAS", "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "MLX_ENABLE_TF32"):
        monkeypatch.delenv(name, raising=False)
    return blas


def test_on_macos_an_unknown_mode_is_refused_by_name(fresh_blas, monkeypatch):
    monkeypatch.setenv("JEPABOOK_BLAS", "fastest")
    with pytest.raises(ValueError, match="JEPABOOK_BLAS must be one of 'openblas', 'reference'; got 'fastest'"):
        fresh_blas.activate()


def test_on_macos_activate_pins_only_the_precision(fresh_blas):
    assert fresh_blas.activate() is False
    assert os.environ["MLX_ENABLE_TF32"] == "0"
    assert "OPENBLAS_CORETYPE" not in os.environ and "OPENBLAS_NUM_THREADS" not in os.environ
    assert fresh_blas.info() == {"backend": "metal/accelerate", "reason": "not needed on darwin: MLX runs on Metal"}
    assert fresh_blas.describe() == "metal/accelerate"


def test_on_macos_install_writes_only_the_start_up_hook(fresh_blas, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(fresh_blas, "_site_packages", lambda: tmp_path)
    monkeypatch.setattr(fresh_blas, "shim_path", lambda: tmp_path / "lib" / "libjepabook_blas.so")
    assert fresh_blas.install() is None
    assert (tmp_path / blas.PTH_NAME).read_text() == blas.PTH_LINE
    assert not (tmp_path / "lib").exists()
    assert "MLX_ENABLE_TF32=0" in capsys.readouterr().out


# --- make venv's Python check (src/jepabook/venvcheck.py) -----------------------------------------

@pytest.mark.parametrize("version, system, machine, macos, problem", [
    ((3, 11, 7), "Linux", "x86_64", "", None),
    ((3, 13, 1), "Darwin", "arm64", "15.1", None),
    ((3, 10, 12), "Linux", "x86_64", "", "Python 3.10.12 cannot install the pinned dependencies"),
    ((3, 9, 6), "Darwin", "arm64", "14.5", "python.org or Homebrew"),
    ((3, 12, 0), "Darwin", "x86_64", "14.5", "Apple silicon (arm64) only"),
    ((3, 12, 0), "Darwin", "arm64", "13.6.1", "macOS 13.6.1 is too old"),
])
def test_the_python_check_names_what_is_wrong(version, system, machine, macos, problem):
    got = vc.python_problem(version, system, machine, macos)
    assert (got is None) if problem is None else (problem in got)


def _venv(tmp_path: Path, version: str | None) -> Path:
    venv = tmp_path / ".venv"
    venv.mkdir()
    lines = ["home = /usr/bin", "include-system-site-packages = false"] + ([f"version = {version}"] if version else [])
    (venv / "pyvenv.cfg").write_text("\n".join(lines) + "\n")
    return venv


def test_a_venv_made_by_an_old_python_is_rebuilt_with_a_new_one(tmp_path):
    state = vc.venv_python_version(str(_venv(tmp_path, "3.10.12")))
    assert state == ((3, 10, 12), True)
    status, message = vc.decide((3, 11, 7), state, "Linux", "x86_64")
    assert status == vc.REBUILD and "made with Python 3.10.12" in message and "building it again" in message


def test_an_old_venv_and_an_old_python_stop_with_both_named(tmp_path):
    status, message = vc.decide((3, 9, 6), ((3, 9, 6), True), "Darwin", "arm64", "14.5")
    assert status == vc.STOP and "made with Python 3.9.6" in message and "PYTHON=python3.12" in message


def test_a_good_venv_goes_on_whatever_python_is_named(tmp_path):
    state = vc.venv_python_version(str(_venv(tmp_path, "3.11.7")))
    assert vc.decide((3, 9, 6), state, "Darwin", "arm64", "14.5") == (vc.GO, "")
    assert vc.decide((3, 11, 7), None, "Linux", "x86_64") == (vc.GO, "")  # nothing yet: make creates it
    assert vc.decide((3, 10, 0), None, "Linux", "x86_64")[0] == vc.STOP


def test_a_conda_environment_is_never_deleted(tmp_path):
    status, message = vc.decide((3, 12, 0), ((3, 10, 4), False), "Linux", "x86_64")
    assert status == vc.STOP and "environment.yml" in message


def test_the_script_runs_under_the_system_python_and_reports_by_exit_status(tmp_path):
    script = ROOT / "src" / "jepabook" / "venvcheck.py"
    ok = subprocess.run([sys.executable, str(script), "--venv", str(tmp_path / "none")], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stderr == ""
    old = subprocess.run([sys.executable, str(script), "--venv", str(_venv(tmp_path, "3.10.12"))],
                         capture_output=True, text=True)
    assert old.returncode == vc.REBUILD and "deleting it and building it again" in old.stderr


def test_the_makefile_rebuilds_only_on_the_rebuild_status():
    text = (ROOT / "Makefile").read_text()
    assert "venv: venv-check $(VENV)/.installed" in text
    assert 'if [ $$status -eq 3 ]; then rm -rf "$(VENV)"; elif [ $$status -ne 0 ]; then exit $$status; fi' in text
    assert vc.REBUILD == 3


def test_the_stated_python_is_the_checked_one():
    assert f'requires-python = ">={vc.MINIMUM[0]}.{vc.MINIMUM[1]}"' in (ROOT / "pyproject.toml").read_text()


# --- the platform a record names --------------------------------------------------------------------

def test_the_hardware_comes_from_the_record():
    assert platforms.describe(LINUX) == "2-core Linux x86_64 CPU, MLX 0.32.4 (openblas Haswell, 1 thread)"
    assert platforms.describe(MAC) == ("10-core Darwin arm64 Metal GPU, MLX 0.32.4 "
                                       "(metal/accelerate; MLX_ENABLE_TF32=0)")
    assert platforms.describe({}) == "not recorded"
    assert platforms.device_kind({**LINUX, "device": "Device(gpu, 0)"}) == "CUDA GPU"


def test_the_scale_tables_name_the_published_records_hardware(tmp_path):
    from jepabook.ledger.declared import declared

    for chapter in ("basics", "ijepa", "vjepa", "crossjepa", "lejepa"):
        record = platforms.published_platforms()[chapter]
        assert declared(chapter).scale().hardware == platforms.describe(record)
    assert platforms.published_hardware("basics", results=tmp_path) == "no published run yet"


def test_another_kind_of_machine_is_warned_before_it_overwrites():
    published = {"basics": LINUX, "ijepa": LINUX}
    assert platforms.overwrite_warning({**LINUX, "cpu_count": 64}, published) is None  # an AMD box, a bigger one
    warning = platforms.overwrite_warning(MAC, published)
    assert "basics, ijepa" in warning and "2-core Linux x86_64 CPU" in warning and "Metal GPU" in warning


def test_the_full_profile_says_what_it_costs_before_it_starts(tmp_path):
    from jepabook.__main__ import _parser, full_run_cost

    assert _parser().parse_args(["run", "basics"]).profile == "ci"
    (tmp_path / "basics-full.json").write_text(
        '{"seeds": [0, 1, 2, 3, 4], "platform": {"system": "Linux", "machine": "x86_64", "device": "Device(cpu, 0)"},'
        ' "timing_s": {"plan_wall": 30, "tasks_wall": 570, "measure_wall": 0, "other": 999}}')
    said = full_run_cost("basics", 10, results=tmp_path)
    assert "took 10.0 min" in said and "about 20 min" in said and "Linux x86_64 CPU" in said
    assert "no published record" in full_run_cost("basics", 5, results=tmp_path / "none")


# --- the macOS pins ----------------------------------------------------------------------------------

def _pins(name: str) -> dict[str, str]:
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        if line and not line.startswith("#"):
            package, version = line.split("==")
            out[package.lower().replace("_", "-")] = version
    return out


def test_the_macos_pins_match_the_linux_ones_and_pin_the_darwin_only_packages():
    linux, mac = _pins("constraints-linux.txt"), _pins("constraints-macos.txt")
    assert {"mlx-cpu", "scipy-openblas32"} <= set(linux) and not {"mlx-cpu", "scipy-openblas32"} & set(mac)
    assert mac["mlx-metal"] == mac["mlx"] == linux["mlx"]  # MLX's Metal library at MLX's own version
    assert "appnope" in mac  # ipykernel's Darwin-only dependency
    assert {k: v for k, v in mac.items() if k in linux and linux[k] != v} == {}
    assert set(linux) - set(mac) == {"mlx-cpu", "scipy-openblas32"}
    assert "--python-version 3.11.7" in (ROOT / "constraints-macos.txt").read_text()


def test_every_chapter_has_a_committed_cpu_ci_record_to_compare_other_platforms_with():
    import json

    from jepabook.core.chapters import CHAPTERS
    from jepabook.core.config import published_seeds

    for chapter in CHAPTERS:
        path = ROOT / "tests" / "records" / f"{chapter}-ci.json"
        assert path.is_file(), f"{path} is missing: run `make book PROFILE=ci` (it copies results/*-ci.json there)"
        record = json.loads(path.read_text())
        assert (record["chapter"], record["profile"], tuple(record["seeds"])) == (chapter, "ci", published_seeds("ci"))
        assert platforms.kind(record["platform"]) == ("Linux", "x86_64", "CPU")
