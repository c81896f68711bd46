#!/usr/bin/env bash
# compare_losses.sh BASE_BUILD NEW_BUILD [MNIST_DATA_DIR] — train the same
# short pipelines with two builds of plinth (each with its own plugins) and
# check that every loss and evaluation figure in metrics.jsonl is identical
# to the last bit: a refactoring of the trainer must not change the numbers.
# Pipelines: the determinism, resume (paused at step 9 and resumed) and
# tiny-GPT test pipelines; the MNIST MLP, MNIST CNN and char-GPT examples
# paused after a few dozen steps, logging every 5 steps (MNIST ones only with
# MNIST_DATA_DIR, the folder of the four *-ubyte.gz files). Timing fields are
# not compared.
set -u
base=$1 new=$2 mnist=${3:-}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

# train <build> <out> <pipeline> [args...]
train() {
  local build=$1 out=$2 pipeline=$3
  shift 3
  "$build/bin/plinth" --no-system-plugins --no-install-plugins --plugin-path "$build/share/plinth/plugins.d" \
    train --no-progress --out-dir "$out" "$@" "$pipeline" >> "$out.log" 2>&1
}
# The figures of every metrics.jsonl line: step, loss, lr, grad_norm, eval_*.
figures() {
  grep -ho '"\(step\|loss\|lr\|grad_norm\|loss_scale\|skipped_steps\|eval_loss\|eval_accuracy\)":[^,}]*' "$1"
}
# compare <name> <pipeline> [args...]: both builds, then their metrics.
compare() {
  local name=$1 pipeline=$2
  shift 2
  for b in base new; do
    local build=$base
    [ "$b" = new ] && build=$new
    train "$build" "$work/$b-$name" "$pipeline" "$@" || { echo "$name: $b run failed"; tail "$work/$b-$name.log"; fail=1; }
  done
}
check() {  # check <name>
  local a b
  a=$(figures "$work"/base-"$1"/*/metrics.jsonl) b=$(figures "$work"/new-"$1"/*/metrics.jsonl)
  if [ -z "$a" ]; then
    echo "$1: no metrics"
    fail=1
  elif [ "$a" != "$b" ]; then
    echo "$1: DIFFERENT"
    diff <(echo "$a") <(echo "$b") | head
    fail=1
  else
    echo "$1: $(echo "$a" | grep -c '"loss"') loss and $(echo "$a" | grep -c '"eval_loss"') eval lines identical;" \
      "last loss $(echo "$a" | grep '"loss"' | tail -n1)"
  fi
}

compare determinism "$src/tests/examples/determinism.toml"
check determinism
# Resume: paused at step 9, then continued from its checkpoint to the end.
compare resume "$src/tests/examples/resume.toml" --stop-at-step 9
for b in base new; do
  build=$base
  [ "$b" = new ] && build=$new
  train "$build" "$work/$b-resume" "$src/tests/examples/resume.toml" --resume || { echo "resume: $b failed"; fail=1; }
done
check resume

cp "$src/tests/examples/tiny_gpt.toml" "$work/tiny_gpt.toml"
for _ in $(seq 400); do printf 'abcd efgh '; done > "$work/text.txt"
compare tiny_gpt "$work/tiny_gpt.toml"
check tiny_gpt

# char-GPT: the example's model and optimizer on this repository's docs as text.
mkdir -p "$work/char-gpt/data"
cat "$src"/README.md "$src"/docs/*.md > "$work/char-gpt/data/input.txt"
sed 's/^log_every = .*/log_every = 5/' "$src/examples/char-gpt/pipeline.toml" > "$work/char-gpt/pipeline.toml"
compare char_gpt "$work/char-gpt/pipeline.toml" --stop-at-step 30
check char_gpt

if [ -n "$mnist" ]; then
  for ex in mnist mnist-cnn; do
    mkdir -p "$work/$ex"
    ln -s "$(cd "$mnist" && pwd)" "$work/$ex/data"
    sed 's|"\.\./mnist/data/|"data/|; s/^log_every = .*/log_every = 5/' "$src/examples/$ex/pipeline.toml" > "$work/$ex/pipeline.toml"
  done
  compare mnist_mlp "$work/mnist/pipeline.toml" --stop-at-step 120
  check mnist_mlp
  compare mnist_cnn "$work/mnist-cnn/pipeline.toml" --stop-at-step 40
  check mnist_cnn
fi
exit $fail
