#!/usr/bin/env bash
# fashion_resnet_test.sh PLINTH SOURCE_DIR MANIFESTS MODE — the Fashion-MNIST
# ResNet example (examples/fashion-resnet).
#   smoke: the first 400 training and 400 test images written as a PNG/JPEG
#          folder (write_folder.py --limit), then pipeline.toml and
#          progressive.toml for 3 epochs at batch 32 on it; each must beat
#          chance (10 classes) clearly: eval accuracy >= 0.30.
#   full:  pipeline.toml as shipped on the prepared folder: >= 0.93.
# Skips (77) when /usr/share/datasets/fashion-mnist (dataset-fashion-mnist) or
# /usr/bin/python3 with PIL is missing, or, for full, the folder is not prepared.
set -eu
plinth=$1 src=$2 manifests=$3 mode=$4
example="$src/examples/fashion-resnet"
idx=/usr/share/datasets/fashion-mnist
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# $1: pipeline, $2: run name, $3: minimum accuracy; other arguments: sed edits.
train_and_check() {
  local pipeline=$1 run=$2 min=$3
  shift 3
  sed "$@" "$pipeline" >"$work/$run.toml"
  "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
    train --no-progress --out-dir "$work/runs" "$work/$run.toml"
  local summary="$work/runs/$run/summary.json"
  local acc
  acc=$(sed -n 's/.*"eval_accuracy": *\([0-9.eE+-]*\).*/\1/p' "$summary")
  echo "$run: eval accuracy $acc (minimum $min)"
  awk -v a="$acc" -v m="$min" 'BEGIN { exit !(a >= m) }' || { echo "$run: accuracy $acc < $min"; exit 1; }
}

if [ "$mode" = full ]; then
  [ -f "$example/data/.complete" ] || { echo "SKIP: run examples/fashion-resnet/prepare_data.sh first"; exit 77; }
  train_and_check "$example/pipeline.toml" fashion-resnet 0.93 -e "s|root = \"data/|root = \"$example/data/|"
  exit 0
fi

[ -f "$idx/t10k-labels-idx1-ubyte.gz" ] || { echo "SKIP: $idx missing (dataset-fashion-mnist)"; exit 77; }
/usr/bin/python3 -c 'import PIL' 2>/dev/null || { echo "SKIP: /usr/bin/python3 has no PIL (python3-pil)"; exit 77; }
/usr/bin/python3 "$example/write_folder.py" --limit 400 "$idx" "$work/data"
[ "$(find "$work/data" -name '*.jpg' | wc -l)" -eq 200 ] || { echo "expected 200 JPEG files"; exit 1; }
small=(-e "s|root = \"data/|root = \"$work/data/|" -e 's/^epochs = .*/epochs = 3/' -e 's/^batch_size = .*/batch_size = 32/'
       -e 's/^lr = .*/lr = 3e-3/' -e 's/^log_every = .*/log_every = 5/')
train_and_check "$example/pipeline.toml" fashion-resnet 0.30 "${small[@]}"
train_and_check "$example/progressive.toml" fashion-resnet-progressive 0.30 "${small[@]}"
grep -q "epoch 0: training at 20x20" "$work/runs/fashion-resnet-progressive/log.txt" ||
  { echo "the progressive run did not log its first resolution (log.txt)"; exit 1; }
