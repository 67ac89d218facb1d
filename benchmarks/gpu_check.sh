#!/usr/bin/env bash
# The MLX GPU path, prepared for the day a Linux machine with an NVIDIA GPU is at hand (no GPU has run
# this book yet). From the repository root:
#
#   benchmarks/gpu_check.sh [FULL_CHAPTER]      # FULL_CHAPTER: which chapter to time at full (default basics)
#   MLX_CUDA_EXTRA=cuda13 benchmarks/gpu_check.sh   # CUDA 13 drivers (default `cuda`, MLX's CUDA 12 build)
#
# 1. builds a scratch environment, _build/gpuvenv, from the Linux pins (constraints-linux.txt) and
#    swaps MLX's CPU build for its CUDA build at the pinned MLX version (`mlx[cuda]==<pin>`);
# 2. prints the platform line (it must say Device(gpu, 0) and MLX_ENABLE_TF32=0: full float32);
# 3. runs every chapter at `ci` on the GPU (one in-process worker: jepabook.core.parallel runs one
#    on a GPU) and compares each claim with the committed CPU ci record, tests/records/<chapter>-ci.json,
#    with `python -m jepabook compare` (bits, printed values, verdicts);
# 4. times one chapter at `full` (not saved, so results/ keeps the published CPU records).
#
# Everything goes to _build/gpu-check/ (records, report.txt); nothing committed is rewritten. Expect
# other bits on the GPU (other kernels, other reduction orders); what should hold is the verdicts.
# Exit status: 0 when every chapter's verdicts agree with the CPU records, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
full_chapter=${1:-basics}
extra=${MLX_CUDA_EXTRA:-cuda}
out=_build/gpu-check
venv=_build/gpuvenv
python=${PYTHON:-python3.11}
# records and Chapter 4's teacher cache of this run stay apart from the CPU ones (the cache is keyed by
# views and settings, not by device: a GPU-trained teacher must not be reused by a CPU run)
export MLX_ENABLE_TF32=0 JEPABOOK_RESULTS="$PWD/$out/results" JEPABOOK_CACHE="$PWD/$out/cache"
mkdir -p "$out"
exec > >(tee "$out/report.txt") 2>&1

mlx_version=$(sed -n 's/^mlx==//p' constraints-linux.txt)
[ -n "$mlx_version" ] || { echo "gpu_check: no mlx pin in constraints-linux.txt"; exit 2; }
echo "== gpu_check $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null), mlx[$extra]==$mlx_version"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" || { echo "gpu_check: cannot create a venv with $python (set PYTHON)"; exit 2; }
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -c constraints-linux.txt -e ".[distributed]" || exit 2
# the CUDA build replaces the CPU one (both ship libmlx); the BLAS shim is for the CPU build only
"$venv/bin/python" -m pip install --quiet "mlx[$extra]==$mlx_version" || exit 2
"$venv/bin/python" -m pip uninstall --quiet -y mlx-cpu
"$venv/bin/python" -m jepabook.core.platforms line
"$venv/bin/python" -c "import mlx.core as mx, sys; sys.exit(0 if mx.default_device() == mx.gpu else 1)" \
  || { echo "gpu_check: MLX does not see a GPU here (is the driver installed? MLX_CUDA_EXTRA=cuda13?)"; exit 2; }

status=0
summary=()
chapters=$("$venv/bin/python" -c "from jepabook.core.chapters import CHAPTERS; print(*CHAPTERS)")
for chapter in $chapters; do
  echo "== $chapter at ci on the GPU"
  start=$SECONDS
  if ! "$venv/bin/python" -m jepabook run "$chapter" --profile ci --no-save --json "$out/$chapter-ci-gpu.json" | tail -n 2; then
    summary+=("$chapter: FAILED to run"); status=1; continue
  fi
  seconds=$((SECONDS - start))
  if [ ! -f "tests/records/$chapter-ci.json" ]; then
    summary+=("$chapter: ran in ${seconds} s; no CPU record tests/records/$chapter-ci.json to compare with"); status=1; continue
  fi
  if "$venv/bin/python" -m jepabook compare "tests/records/$chapter-ci.json" "$out/$chapter-ci-gpu.json"; then
    summary+=("$chapter: ${seconds} s, verdicts agree with the CPU record")
  else
    summary+=("$chapter: ${seconds} s, verdicts DIFFER from the CPU record"); status=1
  fi
done

echo "== $full_chapter at full on the GPU (timed, not saved)"
start=$SECONDS
"$venv/bin/python" -m jepabook run "$full_chapter" --profile full --no-save --json "$out/$full_chapter-full-gpu.json" | tail -n 2
summary+=("$full_chapter at full: $((SECONDS - start)) s wall (the published CPU record's timings are in results/$full_chapter-full.json)")
"$venv/bin/python" -m jepabook compare "results/$full_chapter-full.json" "$out/$full_chapter-full-gpu.json" >/dev/null \
  && summary+=("$full_chapter at full: verdicts agree with the published record") \
  || summary+=("$full_chapter at full: verdicts DIFFER from the published record")

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
