#!/usr/bin/env bash
# run.sh — the benchmark suite: Plinth against PyTorch on the same machine,
# same threads, same batch, alternating the two (A B A B ...) and reporting
# every run, the medians and the ratios, then a summary against the targets
# (bench/run.py says what each section measures). Not part of the test run.
# PyTorch runs in its best configuration found on these machines (jemalloc,
# OpenBLAS with OpenMP, AVX-512 kernels, OPENBLAS_CORETYPE unset; see
# docs/PERFORMANCE.md).
# Needs: a Release build in ./build (PLINTH_BUILD_DIR), /usr/bin/python3 with
# python3-torch and python3-numpy, libjemalloc2 and libopenblas0-openmp
# (installed by this script when missing).
#   ROUNDS=5 THREADS=2 bash bench/run.sh
#   SECTIONS="mlp gpt" ROUNDS=3 bash bench/run.sh     # some sections only
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] ||
   [ ! -d /usr/lib/x86_64-linux-gnu/openblas-openmp ] || [ ! -x /usr/bin/time ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -q --no-install-recommends python3-torch python3-numpy libjemalloc2 libopenblas0-openmp time
fi
exec /usr/bin/python3 bench/run.py
