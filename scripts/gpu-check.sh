#!/usr/bin/env bash
# gpu-check.sh — the GPU backends' checks that need a real device
# (backends/gpu/README.md, "Needs a real GPU"), for a machine with an NVIDIA
# or AMD GPU and a build tree made by scripts/setup.sh (or any build with the
# tests). For each of cuda and hip whose plugin is built and scores > 0 here:
#   1. plinth-plugin-check against the CPU backend (all API checks, every
#      op case; JSON in $out/plugin-check-<backend>.json);
#   2. tests/backends/gpu/train_test.sh with that backend: an MLP and a tiny
#      character GPT, each logged loss within 1e-3 (relative) of the CPU run;
# then `ctest -R gpu_`, which asserts score > 0 and a working create there.
# Usage: scripts/gpu-check.sh [build dir] [output dir]. Exit 1 on any failure,
# 77 when no GPU backend can run here.
set -uo pipefail
cd "$(dirname "$0")/.."
build="$(cd "${1:-build}" && pwd)"
out="${2:-$build/gpu-check}"
mkdir -p "$out"
plinth="$build/bin/plinth"
check="$build/bin/plinth-plugin-check"
manifests="$build/share/plinth/plugins.d"
fail=0 ran=0
for b in cuda hip; do
  lib="$build/lib/plinth/plugins/libplinth-backend-$b.so"
  [ -f "$lib" ] || { echo "== $b: not built"; continue; }
  score=$("$plinth" --plugin-path "$manifests" plugins inspect "plinth-backend-$b" 2>/dev/null | awk '/^score:/ {print $2}')
  if [ "${score:-0}" = 0 ]; then
    echo "== $b: score 0 here:"
    "$plinth" --plugin-path "$manifests" plugins inspect "plinth-backend-$b" 2>/dev/null | grep 'devices:'
    continue
  fi
  ran=1
  echo "== $b: plinth-plugin-check"
  if "$check" --json "$lib" --reference-manifest "$manifests" > "$out/plugin-check-$b.json"; then
    echo "pass ($out/plugin-check-$b.json)"
  else
    echo "FAILED:"
    "$check" "$lib" --reference-manifest "$manifests" | grep -E 'fail|^ '
    fail=1
  fi
  echo "== $b: training against the CPU backend"
  bash tests/backends/gpu/train_test.sh "$plinth" "$manifests" "$manifests" tests/examples/determinism.toml \
    tests/examples/tiny_gpt.toml "$b" 1e-3 || fail=1
done
[ "$ran" = 1 ] || { echo "no GPU backend can run here"; exit 77; }
echo "== ctest -R gpu_"
ctest --test-dir "$build" --output-on-failure -R gpu_ || fail=1
exit $fail
