#!/usr/bin/env bash
# mnist_compression_test.sh PLINTH MANIFESTS bf16|powersgd — the MNIST
# example (examples/mnist/pipeline.toml: its model, data and optimizer) on
# `mpirun -np 2` with [distributed] compression = bf16 or powersgd, on a
# schedule short enough for CI: per-rank batch 32 (global 64), lr 2e-3, at
# most 6 epochs, evaluated every 50 steps and stopped at the example's target
# (95% on the 2,000 held-out digits). Checks that the target is reached, that
# the run's log and metrics give the bytes all-reduced per step, and that
# they are the bytes computed here from the model's shapes. Also: a run
# folder of the same name already exists, so every rank must use rank 0's
# runs/<name>-2, and only rank 0 reports `done:`. Skips (77) without mpirun
# or the MNIST data.
set -eu
plinth=$1 manifests=$2 mode=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/mnist_common.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case $mode in
  bf16) dist='compression = "bf16"' ;;
  powersgd) dist=$'compression = "powersgd"\npowersgd_rank = 4\npowersgd_warmup_steps = 10' ;;
  *) echo "usage: $0 PLINTH MANIFESTS bf16|powersgd"; exit 2 ;;
esac
# The example, with the short schedule, run as "mnist" under $work/runs.
mnist_short_pipeline 6 > "$work/example.toml"
sed "s#^name = \"mnist-mlp\"#name = \"mnist\"\nout_dir = \"$work/runs\"#" "$work/example.toml" > "$work/p.toml"
grep -q '^out_dir' "$work/p.toml" || { echo "FAIL: the example changed: no run name to replace"; exit 1; }
printf '\n[distributed]\ntimeout = 60\n%s\n' "$dist" >> "$work/p.toml"
mkdir -p "$work/runs/mnist"  # taken: the run goes to runs/mnist-2

start=$(date +%s.%N)
bash "$here/run_mpi.sh" 2 "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
  train --no-progress "$work/p.toml" > "$work/out" 2>&1 || { cat "$work/out"; echo "FAIL: training failed"; exit 1; }
end=$(date +%s.%N)
grep -v '^epoch ' "$work/out"
run=$work/runs/mnist-2
fail=0
[ "$(grep -c '^done:' "$work/out")" = 1 ] || { echo "FAIL: 'done:' should be printed once (by rank 0)"; fail=1; }
grep -q "^done: .*; run: $run\$" "$work/out" || { echo "FAIL: the report should name $run"; fail=1; }
[ ! -e "$work/runs/mnist-3" ] || { echo "FAIL: a rank used runs/mnist-3"; fail=1; }

acc=$(sed -n 's/.*"eval_accuracy": *\([0-9.eE+-]*\).*/\1/p' "$run/summary.json")
steps=$(sed -n 's/.*"steps": *\([0-9]*\).*/\1/p' "$run/summary.json")
echo "wall: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s, $steps steps, eval accuracy: $acc"
awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }' || { echo "FAIL: accuracy $acc < 0.95"; fail=1; }

# Bytes per step, from the shapes: 784-512-256-10 weights and biases in fp32.
full=$((4 * (784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10)))
last=$(grep '"allreduce_bytes_per_step"' "$run/metrics.jsonl" | tail -1 |
  sed 's/.*"allreduce_bytes_per_step":\([0-9]*\).*/\1/')
echo "full gradient: $full bytes; last logged step all-reduced $last bytes"
if [ "$mode" = bf16 ]; then
  # Half the fp32 bytes; buckets may carry a few bytes of alignment padding.
  awk -v b="$last" -v f="$full" 'BEGIN { exit !(b >= f / 2 && b <= f / 2 + 64) }' ||
    { echo "FAIL: bf16 should send about $((full / 2)) bytes per step"; fail=1; }
  grep -q "all-reduce of $last bytes per step (bf16)" "$run/log.txt" ||
    { echo "FAIL: log.txt should give the $last bytes per step"; fail=1; }
else
  # P (n x 4) and Q (m x 4) of each weight matrix, and the biases as they are.
  psgd=$((4 * (4 * (784 + 512) + 4 * (512 + 256) + 4 * (256 + 10) + 512 + 256 + 10)))
  [ "$last" = "$psgd" ] || { echo "FAIL: PowerSGD should send $psgd bytes per step, not $last"; fail=1; }
  grep -q "then $psgd bytes per step (PowerSGD rank 4)" "$run/log.txt" ||
    { echo "FAIL: log.txt should give the $psgd bytes per step"; fail=1; }
  first=$(grep '"allreduce_bytes_per_step"' "$run/metrics.jsonl" | head -1 |
    sed 's/.*"allreduce_bytes_per_step":\([0-9]*\).*/\1/')
  awk -v b="$first" -v f="$full" 'BEGIN { exit !(b >= f && b <= f + 64) }' ||
    { echo "FAIL: warm-up step 10 should send the full $full bytes, not $first"; fail=1; }
fi
grep 'all-reduce of' "$run/log.txt"
exit $fail
