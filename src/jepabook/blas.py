"""A fast BLAS under MLX on Linux, pinned to one kernel family and one thread per process.

MLX's Linux CPU wheel (``mlx[cpu]``) multiplies matrices with a bundled reference BLAS, 7–72×
slower than OpenBLAS at this book's shapes. ``libmlx.so`` imports the standard names
(``cblas_sgemm``, ``sgesdd_``, ...) and binds them lazily, so a library loaded into the process's
global scope before MLX's first BLAS call takes them over. The scipy-openblas32 wheel ships such an
OpenBLAS, but under ``scipy_``-prefixed names; ``blas_shim.c`` (about 20 forwarding entries) maps the
standard names onto it.

    python -m jepabook blas install   # compile the shim into this environment (``make venv`` does it)
    python -m jepabook blas status    # which BLAS MLX uses here, and why

``install`` writes ``jepabook_blas.pth`` into site-packages, so every Python process of the
environment (the CLI, papermill's kernels, the seed workers, pytest) calls :func:`activate` at
start-up, before NumPy or MLX load. :func:`activate`:

- sets ``OPENBLAS_NUM_THREADS=1`` (the seeds already run one process per core, and one thread
  gives the same bits run to run) and, on x86-64 CPUs with AVX2 and FMA, ``OPENBLAS_CORETYPE=Haswell``,
  so NumPy's, SciPy's and MLX's OpenBLAS pick the same kernels on every such machine instead of the
  fastest one each CPU offers; a value the user set is kept;
- loads the shim with ``RTLD_GLOBAL`` unless ``JEPABOOK_BLAS=reference``.

If the shim is missing or cannot be loaded (no C compiler at install time, a corrupt file, a wrong
``JEPABOOK_BLAS_LIB``), MLX keeps its reference BLAS, which is slow but right, and one warning per
process tree says how to get the fast one: at start-up when the hook finds the shim broken, or when
a chapter records its platform (:func:`describe`) in an environment where it was never built.

On every platform :func:`activate` also turns off MLX's reduced-precision float32 matmuls
(``MLX_ENABLE_TF32=0``, :func:`pin_precision`): since MLX 0.30, supported hardware (M5-class Macs
on macOS >= 26.2) would otherwise run float32 GEMMs and fused attention on reduced-precision kernels
whose results differ from float32 by far more than rounding (MLX's ``docs/src/usage/precision.rst``).
On macOS the BLAS part does nothing (MLX runs on Metal and Accelerate), and ``install`` writes only
the start-up hook, so that the precision is pinned in every process of the environment before MLX's
first matmul. (Where the hook is missing, importing jepabook pins it, and so does the Makefile.)
"""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings
from pathlib import Path

__all__ = ["MODES", "PRECISION_VAR", "activate", "info", "install", "pin_precision", "precision", "shim_path"]

MODES = ("openblas", "reference")
PINNED_CORETYPE = "Haswell"
PTH_NAME = "jepabook_blas.pth"
PTH_LINE = "import jepabook.blas as _jepabook_blas; _jepabook_blas.activate()\n"
SOURCE = Path(__file__).with_name("blas_shim.c")
#: MLX reads this once, at its first float32 matmul on a GPU (``mlx/utils.h``: ``enable_tf32()``);
#: "0" keeps full float32 precision, as MLX's own tests do
PRECISION_VAR = "MLX_ENABLE_TF32"

_state: dict = {"done": False, "lib": None, "reason": "not activated yet"}


def _mode() -> str:
    mode = os.environ.get("JEPABOOK_BLAS", "openblas").strip().lower() or "openblas"
    if mode not in MODES:
        raise ValueError(f"JEPABOOK_BLAS must be one of {', '.join(map(repr, MODES))}; got {mode!r}")
    return mode


def shim_path() -> Path:
    """``$JEPABOOK_BLAS_LIB`` if set, else ``<environment>/lib/jepabook-blas/libjepabook_blas.so``."""
    env = os.environ.get("JEPABOOK_BLAS_LIB")
    if env:
        return Path(env)
    return Path(sys.prefix) / "lib" / "jepabook-blas" / "libjepabook_blas.so"


def _cpu_has(*flags: str) -> bool:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    have = set(line.split(":", 1)[-1].split())
    return all(f in have for f in flags)


def _pin_environment() -> None:
    """One BLAS thread per process and, where the CPU runs it, one kernel family for every OpenBLAS."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if platform.machine() in ("x86_64", "AMD64") and _cpu_has("avx2", "fma"):
        os.environ.setdefault("OPENBLAS_CORETYPE", PINNED_CORETYPE)


def pin_precision() -> None:
    """Full float32 matmuls in MLX (``MLX_ENABLE_TF32=0``) unless the user set the variable.

    Must run before the process's first matmul: MLX caches the value then. Child processes (the seed
    workers, papermill's kernels) inherit it through the environment.
    """
    os.environ.setdefault(PRECISION_VAR, "0")


def precision() -> str:
    """The precision setting in effect, for a run's platform record: ``MLX_ENABLE_TF32=0``."""
    value = os.environ.get(PRECISION_VAR)
    return f"{PRECISION_VAR}={value}" if value is not None else f"{PRECISION_VAR} unset (MLX's default: TF32 on)"


def _warn(reason: str) -> None:
    if os.environ.get("JEPABOOK_BLAS_WARNED"):
        return  # the parent process said it already
    os.environ["JEPABOOK_BLAS_WARNED"] = "1"
    warnings.warn(
        f"jepabook: MLX uses its bundled reference BLAS (correct, but matmuls are 7-72x slower) because "
        f"{reason}. To get the fast one, run `python -m jepabook blas install` in this environment "
        f"(needs a C compiler and the scipy-openblas32 wheel; `make venv` does both); "
        f"set JEPABOOK_BLAS=reference to silence this.",
        RuntimeWarning,
        stacklevel=3,
    )


def activate(warn: bool = True) -> bool:
    """Pin the BLAS environment and load the shim; True when MLX's BLAS calls go to OpenBLAS.

    Idempotent. Never raises for a missing or broken shim: it returns False and, with ``warn``,
    warns (otherwise :func:`describe` warns later). Raises ``ValueError`` for an unknown
    ``JEPABOOK_BLAS``.
    """
    pin_precision()
    if _state["done"]:
        if warn and _state["lib"] is None and _state.get("failed"):
            _warn(_state["reason"])
        return _state["lib"] is not None
    mode = _mode()  # validated on every platform: a typo is an error on a Mac too
    if sys.platform != "linux":
        _state.update(done=True, reason=f"not needed on {sys.platform}: MLX runs on Metal")
        return False
    _pin_environment()
    _state["done"] = True
    if mode == "reference":
        _state["reason"] = "JEPABOOK_BLAS=reference"
        return False
    path = shim_path()
    try:
        if not path.is_file():
            raise OSError("no such file")
        lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        lib.jepabook_blas_gemm_calls.restype = ctypes.c_uint64
        lib.jepabook_blas_corename.restype = ctypes.c_char_p
        lib.jepabook_blas_config.restype = ctypes.c_char_p
    except (OSError, AttributeError) as err:
        _state.update(failed=True, reason=f"the shim {path} could not be loaded ({err})")
        if warn:
            _warn(_state["reason"])
        return False
    _state.update(lib=lib, reason=f"loaded {path}")
    return True


def info() -> dict:
    """Which BLAS MLX's CPU matmuls use in this process: backend, library, kernel, threads, calls."""
    activate()
    lib = _state["lib"]
    if sys.platform != "linux":
        return {"backend": "metal/accelerate", "reason": _state["reason"]}
    out = {
        "backend": "openblas" if lib is not None else "reference",
        "reason": _state["reason"],
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(auto)"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "(auto)"),
    }
    if lib is not None:
        out.update(
            library=str(shim_path()),
            corename=lib.jepabook_blas_corename().decode(),
            threads=int(lib.jepabook_blas_get_num_threads()),
            config=lib.jepabook_blas_config().decode(),
            gemm_calls=int(lib.jepabook_blas_gemm_calls()),
        )
    return out


def describe() -> str:
    """One line for a run's platform record, e.g. ``openblas Haswell, 1 thread``; warns if slow."""
    activate(warn=True)
    i = info()
    if i["backend"] == "openblas":
        return f"openblas {i['corename']}, {i['threads']} thread{'s' * (i['threads'] != 1)}"
    return i["backend"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


_CHECK = """
import json, numpy as np, mlx.core as mx, jepabook.blas as b
a = np.random.default_rng(0).standard_normal((64, 48)).astype(np.float32)
c = np.array(mx.matmul(mx.array(a), mx.array(a.T)))
print(json.dumps({"info": b.info(), "err": float(np.abs(c - a @ a.T).max())}))
"""


def install(cc: str | None = None, verbose: bool = True) -> Path | None:
    """Compile the shim into this environment and register the start-up hook; None if it can't.

    The shim is written atomically, then checked in a fresh interpreter: MLX's matmul must go
    through it and agree with NumPy. On any failure nothing is left half-installed, the reason is
    printed, and the reference BLAS stays in use.
    """
    say = print if verbose else (lambda *a, **k: None)
    if sys.platform != "linux":
        pth = _site_packages() / PTH_NAME
        pth.write_text(PTH_LINE, encoding="utf-8")
        say(f"jepabook.blas: no BLAS shim on {sys.platform} (MLX uses Metal and Accelerate); wrote the start-up "
            f"hook {pth}, which sets {PRECISION_VAR}=0 in every process of this environment")
        return None
    try:
        import scipy_openblas32
    except ImportError:
        say("jepabook.blas: the scipy-openblas32 wheel is not installed (pip install scipy-openblas32); "
            "MLX keeps its reference BLAS")
        return None
    cc = cc or os.environ.get("CC") or "cc"
    if shutil.which(cc) is None:
        say(f"jepabook.blas: no C compiler ({cc!r} not found; set CC); MLX keeps its reference BLAS")
        return None
    libdir = scipy_openblas32.get_lib_dir()
    libname = scipy_openblas32.get_library(fullname=True)
    target = shim_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".libjepabook_blas.", suffix=".so", dir=target.parent)
    os.close(fd)
    cmd = [cc, "-O2", "-shared", "-fPIC", str(SOURCE), "-o", tmp, f"-L{libdir}", f"-l:{libname}",
           f"-Wl,-rpath,{libdir}"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            say(f"jepabook.blas: compiling the shim failed; MLX keeps its reference BLAS\n{done.stderr}")
            return None
        os.chmod(tmp, 0o755 & ~_umask())  # mkstemp makes 0600; the environment's other users load it too
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    pth = _site_packages() / PTH_NAME
    pth.write_text(PTH_LINE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("JEPABOOK_BLAS", "JEPABOOK_BLAS_WARNED")}
    check = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True, env=env)
    try:
        import json

        result = json.loads(check.stdout.strip().splitlines()[-1])
        ok = result["info"].get("gemm_calls", 0) > 0 and result["err"] < 1e-3
    except (ValueError, IndexError, KeyError):
        ok, result = False, {"stderr": check.stderr[-2000:]}
    if not ok:
        pth.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        say(f"jepabook.blas: the shim did not take over MLX's BLAS ({result}); removed it")
        return None
    i = result["info"]
    say(f"jepabook.blas: MLX now uses OpenBLAS ({i['corename']}, {i['threads']} thread) via {target}")
    return target
