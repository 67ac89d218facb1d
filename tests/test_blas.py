"""The fast BLAS under MLX (jepabook.blas): active when installed, right when it is, safe when it isn't."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

from jepabook import blas
from jepabook.core.parallel import run_tasks

linux = pytest.mark.skipif(sys.platform != "linux", reason="the shim is for MLX's Linux CPU wheel")

PROBE = """
import json, warnings, numpy as np, mlx.core as mx
import jepabook.blas as b
a = np.random.default_rng(1).standard_normal((96, 40)).astype(np.float32)
c = np.array(mx.matmul(mx.array(a), mx.array(a.T)))
i = b.info()
print(json.dumps({"backend": i["backend"], "calls": i.get("gemm_calls"), "err": float(np.abs(c - a @ a.T).max()),
                  "bits": c.tobytes().hex()[:64]}))
"""


def _probe(**env) -> tuple[dict, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("JEPABOOK_BLAS")}
    full.update(env)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=full, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def _installed() -> bool:
    return (Path(sysconfig.get_paths()["purelib"]) / blas.PTH_NAME).is_file()


def _expect_installed() -> bool:
    """`make venv` builds the shim wherever it can: Linux, a C compiler and the wheel present."""
    try:
        import scipy_openblas32  # noqa: F401
    except ImportError:
        return False
    return shutil.which(os.environ.get("CC", "cc")) is not None


@linux
def test_fast_path_is_active_in_an_installed_environment():
    if not _installed():
        assert not _expect_installed(), "a C compiler and scipy-openblas32 are here, but the shim was never built"
        pytest.skip("no shim in this environment (no C compiler or no scipy-openblas32)")
    info = blas.info()
    assert info["backend"] == "openblas", info
    before = info["gemm_calls"]
    a = mx.random.normal((33, 17), key=mx.random.key(0))
    mx.eval(mx.matmul(a, a.T, stream=mx.cpu))
    assert blas.info()["gemm_calls"] > before  # MLX's own matmul went through the shim
    assert info["OPENBLAS_NUM_THREADS"] == "1" and info["threads"] == 1


@linux
def test_a_fresh_interpreter_uses_it_without_importing_jepabook_first():
    if not _installed():
        pytest.skip("no shim in this environment")
    out, _ = _probe()
    assert out["backend"] == "openblas" and out["calls"] > 0 and out["err"] < 1e-4


@linux
def test_worker_processes_use_it_too():
    if not _installed():
        pytest.skip("no shim in this environment")
    got = run_tasks(_worker_backend, [(3,), (5,)], workers=2)
    assert [g[0] for g in got] == ["openblas", "openblas"] and all(g[1] > 0 for g in got)


def _worker_backend(n: int) -> tuple[str, int]:
    a = mx.ones((n, n))
    mx.eval(mx.matmul(a, a, stream=mx.cpu))
    info = blas.info()
    return info["backend"], info.get("gemm_calls", 0)


@linux
@pytest.mark.parametrize("lib", ["missing", "corrupt"])
def test_a_missing_or_corrupt_shim_falls_back_with_one_warning(tmp_path, lib):
    path = tmp_path / "libjepabook_blas.so"
    if lib == "corrupt":
        path.write_bytes(b"\x7fELF but not really a shared library")
    out, err = _probe(JEPABOOK_BLAS_LIB=str(path))
    assert out["backend"] == "reference" and out["calls"] is None
    assert out["err"] < 1e-4  # slow, still right
    assert err.count("reference BLAS") == 1 and "python -m jepabook blas install" in err


@linux
def test_the_escape_hatch_forces_the_reference_blas_quietly():
    out, err = _probe(JEPABOOK_BLAS="reference")
    assert out["backend"] == "reference" and out["err"] < 1e-4
    assert "RuntimeWarning" not in err


def test_an_unknown_mode_is_refused_by_name():
    env = {**os.environ, "JEPABOOK_BLAS": "fastest"}
    done = subprocess.run([sys.executable, "-c", "import jepabook"], capture_output=True, text=True, env=env)
    assert done.returncode != 0
    assert "JEPABOOK_BLAS must be one of 'openblas', 'reference'; got 'fastest'" in done.stderr


@linux
def test_same_bits_run_to_run():
    first, _ = _probe()
    second, _ = _probe()
    assert first["bits"] == second["bits"]


@linux
def test_every_blas_and_lapack_symbol_mlx_imports_is_forwarded():
    nm = shutil.which("nm")
    if nm is None or not _installed():
        pytest.skip("needs nm and the installed shim")
    libmlx = Path(mx.__file__).resolve().parent.parent / "lib" / "libmlx.so"
    if not libmlx.is_file():
        libmlx = next(Path(mx.__file__).resolve().parents[1].rglob("libmlx.so"))

    def symbols(*args) -> set[str]:
        out = subprocess.run([nm, "-D", *args], capture_output=True, text=True, check=True).stdout
        return {line.split()[-1] for line in out.splitlines() if line.strip()}

    wanted = {s for s in symbols("--undefined-only", str(libmlx))
              if s.startswith("cblas_") or (s.endswith("_") and s[:1] in "sdcz" and len(s) <= 8)}
    assert {"cblas_sgemm", "sgesdd_"} <= wanted
    assert wanted <= symbols("--defined-only", str(blas.shim_path()))


@pytest.mark.parametrize("dtype", [np.float32])
def test_mlx_linalg_agrees_with_numpy(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((24, 16)).astype(dtype)
    s = a.T @ a + 16 * np.eye(16, dtype=dtype)  # symmetric positive definite
    cpu = dict(stream=mx.cpu)
    u, sv, vt = (np.array(x) for x in mx.linalg.svd(mx.array(a), **cpu))
    np.testing.assert_allclose(sv, np.linalg.svd(a, compute_uv=False), rtol=1e-4)
    np.testing.assert_allclose((u[:, :16] * sv) @ vt, a, atol=1e-4)
    q, r = (np.array(x) for x in mx.linalg.qr(mx.array(a), **cpu))
    np.testing.assert_allclose(q @ r, a, atol=1e-4)
    np.testing.assert_allclose(np.array(mx.linalg.eigvalsh(mx.array(s), **cpu)), np.linalg.eigvalsh(s), rtol=1e-4)
    np.testing.assert_allclose(np.array(mx.linalg.inv(mx.array(s), **cpu)), np.linalg.inv(s), rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(np.array(mx.linalg.cholesky(mx.array(s), **cpu)), np.linalg.cholesky(s), atol=1e-4)


@linux
@pytest.mark.parametrize("cc", ["no-such-compiler", "false"])
def test_install_without_a_working_compiler_changes_nothing(cc, capsys):
    shim = blas.shim_path()
    before = shim.stat().st_mtime_ns if shim.is_file() else None
    assert blas.install(cc=cc) is None
    out = capsys.readouterr().out
    assert "MLX keeps its reference BLAS" in out
    assert (shim.stat().st_mtime_ns if shim.is_file() else None) == before  # the last good shim survives
    assert not list(shim.parent.glob(".libjepabook_blas.*")) if shim.parent.is_dir() else True  # no temp file left
