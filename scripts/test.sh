#!/usr/bin/env bash
# test.sh — set everything up and run the whole default test suite (ctest).
# Longer runs (benchmarks, soak) are behind their own ctest labels and scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash examples/mnist/prepare_data.sh
build="${PLINTH_BUILD_DIR:-build}"
ctest --test-dir "$build" --output-on-failure -j 2 -LE 'bench|soak|packaging-deb' "$@"
