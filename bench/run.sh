#!/usr/bin/env bash
# run.sh — Plinth against PyTorch on the same machine, same threads, same
# batch, alternating the two (A B A B ...) and reporting medians and the ratio.
# PyTorch runs in its best configuration found on these machines (jemalloc,
# OpenBLAS with OpenMP, AVX-512 kernels; see docs/PERFORMANCE.md).
# Needs: a Release build in ./build, /usr/bin/python3 with python3-torch,
# libjemalloc2 and libopenblas0-openmp (installed by this script when missing).
#   ROUNDS=5 THREADS=2 bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-5}"
threads="${THREADS:-2}"
build="${PLINTH_BUILD_DIR:-build}"
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] ||
   [ ! -d /usr/lib/x86_64-linux-gnu/openblas-openmp ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -q --no-install-recommends python3-torch libjemalloc2 libopenblas0-openmp
fi
torch_env=(env -u OPENBLAS_CORETYPE LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
           LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp ATEN_CPU_CAPABILITY=avx512)
echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, threads=$threads"
echo "# env: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} (unset for PyTorch)"
for config in "128 512,256" "32 512,256" "128 512,512"; do
  set -- $config
  batch=$1 hidden=$2
  a=() b=()
  for ((i = 0; i < rounds; i++)); do
    a+=("$("$build/bench/plinth-bench-mlp" --batch "$batch" --hidden "$hidden" --threads "$threads" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["ms_per_step"])')")
    b+=("$("${torch_env[@]}" /usr/bin/python3 bench/torch_mlp.py --batch "$batch" --hidden "$hidden" --threads "$threads" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["ms_per_step"])')")
  done
  /usr/bin/python3 - "$batch" "$hidden" "${a[*]}" "${b[*]}" <<'PY'
import statistics, sys
batch, hidden, a, b = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
ma, mb = statistics.median(a), statistics.median(b)
print(f"MLP 784-{hidden.replace(',', '-')}-10 batch {batch}: plinth {ma:.3f} ms/step ({int(batch)/ma*1e3:.0f} samples/s), "
      f"pytorch {mb:.3f} ms/step ({int(batch)/mb*1e3:.0f} samples/s), speedup x{mb/ma:.2f}  "
      f"[plinth runs {', '.join(f'{x:.3f}' for x in a)}; pytorch runs {', '.join(f'{x:.3f}' for x in b)}]")
PY
done
