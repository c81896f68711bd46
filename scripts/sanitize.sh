#!/usr/bin/env bash
# sanitize.sh — configure (CMakePresets.json: asan or tsan), build and run the
# default ctest suite under a sanitizer, in build-asan / build-tsan. Labels
# bench, soak, packaging and packaging-deb are left out. Extra arguments go to
# ctest (e.g. -R 'core_data|plugins_data'). Suppressions: scripts/*.supp.
# Usage: scripts/sanitize.sh asan|tsan [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-}"
case "$kind" in
  asan | tsan) shift ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [ctest args...]" >&2
    exit 2
    ;;
esac
root="$(pwd)"
cmake --preset "$kind"
ninja -C "build-$kind" -j"${PLINTH_JOBS:-2}"
if [ "$kind" = asan ]; then
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:suppressions=$root/scripts/asan.supp"
  export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0:use_tls=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/tsan.supp"
  # oneDNN's own OpenMP regions (matmul) on one thread: libgomp is not built
  # with TSan (see threadpool.cpp; the backend's loops use std::thread there).
  export OMP_NUM_THREADS=1
fi
ctest --test-dir "build-$kind" --output-on-failure -j "${PLINTH_JOBS:-2}" -LE 'bench|soak|packaging|packaging-deb' "$@"
