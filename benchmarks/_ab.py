"""Side-by-side timing across processes: one long-lived worker per configuration, timed in turns.

A configuration that must be fixed at process start (``JEPABOOK_BLAS=reference`` vs unset, which
decides whether MLX's BLAS calls go to the bundled reference BLAS or to OpenBLAS) needs its own
process. Each worker warms up once and then answers timing requests; the parent asks the workers
in alternation, round after round, and keeps each one's fastest round, so a load spike on a shared
machine falls on all configurations alike instead of on whichever ran last.

Protocol: one JSON object per line on the worker's stdin, one JSON answer per line on its stdout
(the worker's own prints go to stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable

#: environment overrides per BLAS configuration (None: remove the variable)
BLAS_CONFIGS: dict[str, dict[str, str | None]] = {
    "reference": {"JEPABOOK_BLAS": "reference"},
    "fast": {"JEPABOOK_BLAS": None},  # OpenBLAS with the Haswell kernels jepabook.blas pins
    # OpenBLAS with the kernels it picks for this CPU (an empty OPENBLAS_CORETYPE is not overridden
    # by the pin and lets OpenBLAS choose): what the pin costs in speed
    "native": {"JEPABOOK_BLAS": None, "OPENBLAS_CORETYPE": ""},
}

#: one thread everywhere, so the numbers compare kernels, not core counts
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


def blas_in_use() -> str:
    """Which BLAS this process's MLX calls: the jepabook shim (OpenBLAS) if it is mapped, else the reference."""
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as f:
            maps = f.read()
    except OSError:
        return "unknown (no /proc/self/maps)"
    return "OpenBLAS via jepabook shim" if "jepabook_blas" in maps else "MLX bundled reference BLAS"


class Worker:
    """A child process running ``script --worker <name>`` with ``env`` overrides."""

    def __init__(self, script: str, name: str, env: dict[str, str | None] | None = None, args=()):
        full_env = dict(os.environ)
        full_env.update(ONE_THREAD)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        self.name = name
        self.proc = subprocess.Popen([sys.executable, script, "--worker", name, *args], env=full_env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def call(self, **request):
        self.send(**request)
        return self.receive()

    def send(self, **request) -> None:
        """Send a request without waiting (then :meth:`receive`): lets two workers run at once."""
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name!r} died (exit code {self.proc.wait()}); see its stderr above")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"worker {self.name!r}: {answer['error']}")
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def serve(handlers: dict[str, Callable[..., dict]]) -> int:
    """Worker loop: answer each request ``{"cmd": name, **kwargs}`` with ``handlers[name](**kwargs)``."""
    out = sys.stdout
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = handlers[request.pop("cmd")](**request)
        except Exception as exc:  # report, keep serving
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 0


def alternate(workers: list[Worker], rounds: int, request: dict) -> dict[str, list[dict]]:
    """Send ``request`` to each worker in turn, ``rounds`` times; every answer, by worker name."""
    answers: dict[str, list[dict]] = {w.name: [] for w in workers}
    for r in range(rounds):
        order = workers if r % 2 == 0 else workers[::-1]  # no worker always first
        for w in order:
            answers[w.name].append(w.call(**request))
    return answers


def bench_args(doc: str, target_ms: float, argv=None) -> argparse.Namespace:
    """The options every A/B script takes: rounds, the time per timing call, and the worker flag."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--target-ms", type=float, default=target_ms)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def start_workers(script: str) -> list[Worker]:
    """One worker of ``script`` per configuration in :data:`BLAS_CONFIGS`, in that order."""
    return [Worker(os.path.abspath(script), name, env) for name, env in BLAS_CONFIGS.items()]
