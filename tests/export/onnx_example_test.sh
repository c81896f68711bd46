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
# example_pipeline EXAMPLE: the example's model, loss and optimizer, its
# data, run name, length and schedule replaced (3 steps of batch 8).
example_pipeline() {
  local data
  case $1 in
    char-gpt) data=$'source = "text"\npath = "text.txt"\nblock_size = 64' ;;
    mnist | mnist-cnn) data=$'source = "synthetic"\nsamples = 64\nshape = [28, 28]\nnum_classes = 10' ;;
    fashion-resnet) data=$'source = "synthetic"\nsamples = 64\nshape = [1, 28, 28]\nnum_classes = 10' ;;
    *) echo "unknown example '$1'" >&2; return 1 ;;
  esac
  awk '/^\[/ { skip = ($0 ~ /^\[data\./ || $0 ~ /^\[train\]/ || $0 ~ /^\[run\]/ || $0 ~ /^\[schedule\]/) } !skip' \
    "$src/examples/$1/pipeline.toml"
  printf '\n[run]\nname = "onnx-%s"\nseed = 5\n\n[data.train]\n%s\n\n[train]\nmax_steps = 3\nbatch_size = 8\nlog_every = 1\n' \
    "$1" "$data"
}

meta=()    # metadata keys the model must carry besides plinth_version and pipeline
prefix=()  # a causal token model: also compare the first 17 positions alone
case $example in
  *.toml)
    cp "$here/$example" "$work/pipeline.toml"
    example=${example%.toml}
    if [ "$example" = layers_tokens ]; then meta=(vocabulary); fi
    if [ "$example" = layers_image ]; then
      # An images folder of three classes, six random 8x8 grey PNGs each.
      /usr/bin/python3 - "$work/imgs" <<'PY'
import os, random, sys
from PIL import Image
random.seed(3)
for c in ["cat", "dog", "owl"]:
    os.makedirs(f"{sys.argv[1]}/{c}")
    for i in range(6):
        Image.frombytes("L", (8, 8), bytes(random.randrange(256) for _ in range(64))).save(f"{sys.argv[1]}/{c}/{i}.png")
PY
      meta=('classes=["cat","dog","owl"]')
    fi
    ;;
  *)
    example_pipeline "$example" >"$work/pipeline.toml"
    if [ "$example" = char-gpt ]; then meta=(vocabulary) prefix=(--prefix 17); fi
    ;;
esac

"${P[@]}" train --no-progress --out-dir "$work" "$work/pipeline.toml" >"$work/train.log" 2>&1 ||
  { cat "$work/train.log"; exit 1; }
run="$work/onnx-$example"
"${P[@]}" export "$run" --onnx "$work/model.onnx" --test-data "$work/td" --samples 3
/usr/bin/python3 "$here/onnx_check.py" "$work/model.onnx" "${meta[@]}"
node "$here/onnx_run.cjs" "$modules" "$work/model.onnx" "$work/td" "${prefix[@]}"
