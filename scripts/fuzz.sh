#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer targets of tests/fuzz with clang (ASan +
# UBSan, build dir build-fuzz) and run each for the given seconds (default 60),
# printing its exec count. New inputs go to build-fuzz/fuzz-corpus/<target>;
# the committed seeds in tests/fuzz/corpus/<target> are read, never written.
# Usage: scripts/fuzz.sh [seconds] [target...]   (targets: pipeline manifest
# safetensors state idx csv tokens text images). Crash inputs land in build-fuzz/fuzz-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pipeline manifest safetensors state idx csv tokens text images)
build="${PLINTH_FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${PLINTH_JOBS:-2}"

command -v clang++ > /dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
san="-fsanitize=address,undefined"
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
mkdir -p "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$san" -DCMAKE_SHARED_LINKER_FLAGS="$san" -DCMAKE_MODULE_LINKER_FLAGS="$san" \
  -DPLINTH_BUILD_FUZZERS=ON -DPLINTH_BUILD_BENCH=OFF > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
ninja -C "$build" -j"$jobs" "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$build/fuzz-corpus/$t"
  log="$build/fuzz-logs/$t.log"
  echo "== fuzz_$t for ${secs}s"
  if "$build/tests/bin/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/fuzz-artifacts/$t-" "$build/fuzz-corpus/$t" "tests/fuzz/corpus/$t" > "$log" 2>&1; then
    :
  else
    failed+=("$t")
    tail -n 40 "$log"
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
  echo "fuzz_$t: ${execs} execs in ${secs}s, ${cov:-cov: ?}, corpus $(ls "$build/fuzz-corpus/$t" | wc -l) new inputs"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (inputs in $build/fuzz-artifacts/)" >&2
  exit 1
fi
