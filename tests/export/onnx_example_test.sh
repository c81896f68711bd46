#!/usr/bin/env bash
# onnx_example_test.sh PLINTH SOURCE_DIR MANIFESTS NODE_MODULES EXAMPLE|FILE.toml
# — the model of examples/EXAMPLE/pipeline.toml trained for 3 steps on
# synthetic data (its [data.*], [run], [train] and [schedule] replaced), or
# the pipeline FILE.toml of this folder as it is (run name "onnx-<stem>",
# reading text.txt if a text source), exported with
# `plinth export --onnx --test-data`, checked by python3-onnx's checker and
# run in ONNX Runtime (onnx_run.cjs) against Plinth's outputs at a batch size
# other than the training one. Skips (77) when onnxruntime-node could not be
# installed (no npm registry).
set -eu
plinth=$1 src=$2 manifests=$3 modules=$4 example=$5
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$modules/onnxruntime-node" ]; then
  echo "SKIP: onnxruntime-node is not installed in $modules (npm could not reach its registry; see onnx.npm_install)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
P=("$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests")

# Text for a character source: a few thousand characters of varied lines.
awk 'BEGIN { for (i = 0; i < 300; ++i) printf "line %d: the quick brown fox %s\n", i, (i % 3 ? "jumps" : "naps") }' \
  >"$work/text.txt"
meta=()
prefix=()
case $example in
  *.toml)
    cp "$here/$example" "$work/pipeline.toml"
    example=${example%.toml}
    [ "$example" = layers_tokens ] && meta=(vocabulary)
    ;;
  *)
# The example's model, loss and optimizer; everything about data and length replaced.
awk '/^\[/ { skip = ($0 ~ /^\[data\./ || $0 ~ /^\[train\]/ || $0 ~ /^\[run\]/ || $0 ~ /^\[schedule\]/) } !skip' \
  "$src/examples/$example/pipeline.toml" >"$work/pipeline.toml"
case $example in
  char-gpt)
    data='source = "text"
path = "text.txt"
block_size = 64'
    meta=(vocabulary)
    prefix=(--prefix 17)
    ;;
  mnist | mnist-cnn) data='source = "synthetic"
samples = 64
shape = [28, 28]
num_classes = 10' ;;
  fashion-resnet) data='source = "synthetic"
samples = 64
shape = [1, 28, 28]
num_classes = 10' ;;
  *) echo "unknown example '$example'"; exit 2 ;;
esac
cat >>"$work/pipeline.toml" <<TOML

[run]
name = "onnx-$example"
seed = 5

[data.train]
$data

[train]
max_steps = 3
batch_size = 8
log_every = 1
TOML
    ;;
esac

"${P[@]}" train --no-progress --out-dir "$work" "$work/pipeline.toml" >"$work/train.log" 2>&1 ||
  { cat "$work/train.log"; exit 1; }
run="$work/onnx-$example"
"${P[@]}" export "$run" --onnx "$work/model.onnx" --test-data "$work/td" --samples 3
/usr/bin/python3 "$here/onnx_check.py" "$work/model.onnx" "${meta[@]}"
node "$here/onnx_run.cjs" "$modules" "$work/model.onnx" "$work/td" "${prefix[@]}"
