#!/usr/bin/env bash
# compare_losses.sh OLD_PLINTH NEW_PLINTH [STEPS] — trains the models of the
# MNIST, MNIST-CNN and char-GPT examples with both binaries (each with the
# plugins of its own build tree) and fails unless every metrics.jsonl line's
# loss fields (loss, eval.loss, eval.accuracy, grad norm, lr) are the same
# bytes. MNIST data is replaced by `synthetic` 28x28 digits, char-GPT's text
# by a generated file, and each run is cut to STEPS (20) optimizer steps, so
# no download is needed. Wall-clock fields are left out of the comparison.
set -eu
old=$1 new=$2 steps=${3:-20}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A pipeline with its data swapped for local data and its run cut short.
python3 - "$src" "$work" "$steps" <<'PY'
import re, sys
src, work, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
def cut(text):
    text = re.sub(r"(?m)^epochs = \d+\n", f"max_steps = {steps}\n", text)
    text = re.sub(r"(?m)^max_steps = \d+\n", f"max_steps = {steps}\n", text)
    text = re.sub(r"(?m)^eval_every = \d+\n", f"eval_every = {steps // 2}\n", text)
    text = re.sub(r"(?m)^log_every = \d+\n", "log_every = 1\n", text)
    text = re.sub(r"(?m)^warmup_steps = \d+\n", f"warmup_steps = {steps // 4}\n", text)
    return re.sub(r"(?m)^(target_metric|target_value) = .*\n", "", text)
for name in ["mnist", "mnist-cnn"]:
    t = open(f"{src}/examples/{name}/pipeline.toml").read()
    t = re.sub(r'(?m)^source = "idx"\n', 'source = "synthetic"\nshape = [28, 28]\nsamples = 2048\n', t)
    t = re.sub(r"(?m)^(images|labels) = .*\n", "", t)
    open(f"{work}/{name}.toml", "w").write(cut(t))
t = open(f"{src}/examples/char-gpt/pipeline.toml").read()
open(f"{work}/char-gpt.toml", "w").write(cut(t))
import random
random.seed(1)
words = ["plinth", "graph", "layer", "the", "a", "model", "trains", "on", "text", "and", "loss", "falls"]
with open(f"{work}/input.txt", "w") as f:
    for _ in range(4000):
        f.write(" ".join(random.choice(words) for _ in range(8)) + ".\n")
PY
mkdir -p "$work/data" && mv "$work/input.txt" "$work/data/input.txt"

status=0
for p in mnist mnist-cnn char-gpt; do
  for which in old new; do
    bin=$old
    [ "$which" = new ] && bin=$new
    manifests="$(dirname "$bin")/../share/plinth/plugins.d"
    (cd "$work" && "$bin" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
      train --no-progress --out-dir "$work/$which" "$p.toml" > "$work/$p.$which.log" 2>&1) ||
      { echo "$p: $which failed"; tail -5 "$work/$p.$which.log"; status=1; continue 2; }
  done
  run=$(ls "$work/old")
  # Every field but the timed ones (*_s, *_ms, *_per_s, energy), as written, line by line.
  strip() {
    python3 -c 'import json, re, sys
for line in open(sys.argv[1]):
    j = json.loads(line)
    print({k: v for k, v in j.items() if not re.search(r"(_s|_ms|_j)$|^time|breakdown", k)})' "$1"
  }
  if cmp -s <(strip "$work/old/$run/metrics.jsonl") <(strip "$work/new/$run/metrics.jsonl"); then
    echo "$p: $(wc -l < "$work/new/$run/metrics.jsonl") metrics lines, losses bit-identical"
  else
    echo "$p: metrics differ"; diff <(strip "$work/old/$run/metrics.jsonl") <(strip "$work/new/$run/metrics.jsonl") | head -5
    status=1
  fi
  rm -rf "$work/old" "$work/new"
done
exit $status
