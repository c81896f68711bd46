#!/usr/bin/env bash
# embed_test.sh BUILD_DIR SOURCE_DIR CXX GENERATOR [CXX_FLAGS [EXE_LINKER_FLAGS]] — builds examples/embed
# the way an application would (find_package(Plinth) against the Plinth
# build tree's export, nothing from core/src), and trains with it for a few
# steps: the MNIST example when its digits are prepared, else the same
# model on synthetic data (embed_synthetic.toml). The run must finish and
# write its folder; the program's own step lines come from the callbacks.
# The flags are the Plinth build's own, so that a sanitizer build (whose
# libplinth needs the sanitizer runtime) links the application the same way.
set -eu
build=$1 src=$2 cxx=$3 generator=$4 cxxflags=${5:-} ldflags=${6:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake -S "$src/examples/embed" -B "$work/build" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$cxxflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DCMAKE_PREFIX_PATH="$build" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
grep -q "Plinth_DIR:PATH=$build/lib/cmake/Plinth" "$work/build/CMakeCache.txt" ||
  { echo "examples/embed did not find the build tree's PlinthConfig.cmake"; exit 1; }
cmake --build "$work/build" -j 2
if [ -f "$src/examples/mnist/data/t10k-labels-idx1-ubyte.gz" ]; then
  pipeline="$src/examples/mnist/pipeline.toml" name=mnist-mlp
else
  echo "MNIST data not prepared: the MNIST model on synthetic data instead"
  pipeline="$src/tests/examples/embed_synthetic.toml" name=embed-synthetic
fi
export PLINTH_PLUGIN_PATH="$build/share/plinth/plugins.d"
"$work/build/plinth-embed" "$pipeline" --steps 6 --out-dir "$work/runs" | tee "$work/out.txt"
grep -q "^trained 6 steps" "$work/out.txt" || { echo "expected 'trained 6 steps'"; exit 1; }
[ -s "$work/runs/$name/metrics.jsonl" ] || { echo "no $work/runs/$name/metrics.jsonl"; exit 1; }
[ -s "$work/runs/$name/summary.json" ] || { echo "no $work/runs/$name/summary.json"; exit 1; }
echo "examples/embed built against the build tree and trained 6 steps"
