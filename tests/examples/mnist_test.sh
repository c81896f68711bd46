#!/usr/bin/env bash
# mnist_test.sh PLINTH SOURCE_DIR MANIFESTS [TRAIN ARGS...] — train the MNIST
# example (with any extra `plinth train` arguments, e.g. --set overrides) and
# require at least 95% accuracy on the 2,000 held-out digits. Skips (77) when
# the data has not been prepared (examples/mnist/prepare_data.sh).
set -eu
plinth=$1 src=$2 manifests=$3
shift 3
if [ ! -f "$src/examples/mnist/data/t10k-labels-idx1-ubyte.gz" ]; then
  echo "SKIP: MNIST data not prepared; run examples/mnist/prepare_data.sh"; exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s.%N)
"$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
  train --no-progress --out-dir "$work" "$@" "$src/examples/mnist/pipeline.toml"
end=$(date +%s.%N)
summary="$work/mnist-mlp/summary.json"
cat "$summary"
acc=$(sed -n 's/.*"eval_accuracy": *\([0-9.eE+-]*\).*/\1/p' "$summary")
echo "wall: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s, eval accuracy: $acc"
awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }' || { echo "accuracy $acc < 0.95"; exit 1; }
