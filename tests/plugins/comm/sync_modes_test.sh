#!/usr/bin/env bash
# sync_modes_test.sh PLINTH MANIFESTS reach NP MODE | resume MODE —
# [distributed] sync = every_step | local_sgd | diloco | delayed on the MNIST
# example (examples/mnist/pipeline.toml: its model, data and optimizer).
#
# reach NP MODE: `mpirun -np NP` on the short schedule of the compression
# tests (per-rank batch 32, lr 2e-3, evaluated every 50 steps, stopped at the
# example's 95% target; at most 6 epochs on 2 ranks, 12 on 4, whose global
# batch of 128 takes half the steps per epoch) with sync_every = 8. Checks
# the target is reached, and the bytes this rank sent, from metrics.jsonl,
# against the model's shapes: every_step sends the gradients (4 bytes per
# weight, plus bucket alignment) every step, delayed the same one step
# later (by step s it has sent s - 1 steps' worth, s when s is the last
# step, which applies its own too); local_sgd and diloco send the
# parameters (4 bytes per weight) once per 8 steps, floor(s / 8) times the
# parameter bytes in all (one more when the run's last step falls between
# meetings: the last step always meets).
#
# resume MODE: 2 ranks, 2 epochs, a checkpoint every 20 steps (local steps:
# most fall between meetings); one run uninterrupted, one killed (SIGKILL,
# every process) once its step-100 checkpoint exists and resumed with
# --resume; rank 0's model.safetensors must be byte-identical. local_sgd
# and diloco also refuse a resume on 4 ranks, naming the 2 it needs.
# Skips (77) without mpirun or the MNIST data.
set -eu
plinth=$1 manifests=$2 what=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/mnist_common.sh"
work=$(mktemp -d)
cleanup() {
  pkill -9 -f "$work/" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

case $what in
  reach) np=$4 mode=$5 ;;
  resume) np=2 mode=$4 ;;
  *) echo "usage: $0 PLINTH MANIFESTS reach NP MODE | resume MODE"; exit 2 ;;
esac
case $mode in
  every_step | local_sgd | diloco | delayed) ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac

launch() {  # launch NP ARGS...: plinth under mpirun (run_mpi.sh), in the foreground
  local n=$1
  shift
  bash "$here/run_mpi.sh" "$n" "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
    train --no-progress "$@"
}
metric() {  # metric FILE KEY: the key's value on the last step line that has it
  grep "\"$2\"" "$1" | tail -1 | sed "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/"
}
# Bytes of the parameters: 784-512-256-10 weights and biases in fp32.
P=$((4 * (784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10)))
fail=0

if [ "$what" = reach ]; then
  mnist_short_pipeline $((np > 2 ? 12 : 6)) > "$work/example.toml"
  sed "s#^name = \"mnist-mlp\"#name = \"mnist\"\nout_dir = \"$work/runs\"#" "$work/example.toml" > "$work/p.toml"
  grep -q '^out_dir' "$work/p.toml" || { echo "FAIL: the example changed: no run name to replace"; exit 1; }
  printf '\n[distributed]\ntimeout = 120\nsync = "%s"\nsync_every = 8\n' "$mode" >> "$work/p.toml"
  start=$(date +%s.%N)
  launch "$np" "$work/p.toml" > "$work/out" 2>&1 || { cat "$work/out"; echo "FAIL: training failed"; exit 1; }
  end=$(date +%s.%N)
  grep -v '^epoch ' "$work/out"
  run=$work/runs/mnist
  [ "$(grep -c '^done:' "$work/out")" = 1 ] || { echo "FAIL: 'done:' should be printed once (by rank 0)"; fail=1; }
  acc=$(sed -n 's/.*"eval_accuracy": *\([0-9.eE+-]*\).*/\1/p' "$run/summary.json")
  steps=$(sed -n 's/.*"steps": *\([0-9]*\).*/\1/p' "$run/summary.json")
  echo "np $np, sync $mode: wall $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s, $steps steps, eval accuracy $acc"
  awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }' || { echo "FAIL: accuracy $acc < 0.95"; fail=1; }
  grep -q "sync = $mode\|all-reduce of" "$run/log.txt" || { echo "FAIL: log.txt should say how ranks meet"; fail=1; }
  last_step=$(grep '"allreduce_bytes_total"' "$run/metrics.jsonl" | tail -1 | sed 's/.*"step":\([0-9]*\).*/\1/')
  total=$(metric "$run/metrics.jsonl" allreduce_bytes_total)
  per=$(metric "$run/metrics.jsonl" allreduce_bytes_per_step)
  echo "parameters: $P bytes; by step $last_step this rank sent $total bytes ($per per step over the last line's steps)"
  case $mode in
    every_step | delayed)
      # Every step: the gradients, P bytes and at most 64 bytes of alignment per bucket.
      lo=$last_step
      [ "$mode" = delayed ] && lo=$((last_step - 1))
      awk -v t="$total" -v s="$last_step" -v l="$lo" -v p="$P" 'BEGIN { exit !(t >= l * p && t <= s * (p + 64)) }' ||
        { echo "FAIL: $mode should send about $P bytes for each of $last_step steps, not $total in all"; fail=1; }
      ;;
    local_sgd | diloco)
      want=$((last_step / 8 * P))
      [ "$total" = "$want" ] || [ "$total" = $((want + P)) ] ||
        { echo "FAIL: $mode should send $P bytes every 8 steps: $want by step $last_step, not $total"; fail=1; }
      awk -v t="$total" -v s="$last_step" -v p="$P" \
        'BEGIN { printf "bytes per step: %.0f, %.2fx fewer than every_step\n", t / s, p * s / t }'
      grep -q "sync = $mode: each rank alone for 8 optimizer step(s) between meetings" "$run/log.txt" ||
        { echo "FAIL: log.txt should say how often ranks meet"; fail=1; }
      ;;
  esac
  exit $fail
fi

# resume
sed -e "s#\"data/#\"$data/#" \
    -e 's/^epochs = 15$/epochs = 2/' \
    -e 's/^batch_size = 128$/batch_size = 32/' \
    -e 's/^log_every = 20$/log_every = 10/' \
    "$src/examples/mnist/pipeline.toml" > "$work/p.toml"
printf '\n[checkpoint]\nevery_steps = 20\nkeep_last = 100\n\n[distributed]\ntimeout = 120\nsync = "%s"\nsync_every = 8\n' \
  "$mode" >> "$work/p.toml"
grep -q '^epochs = 2' "$work/p.toml" || { echo "FAIL: the example changed: no 'epochs = 2' after editing"; exit 1; }
launch 2 --out-dir "$work/a" "$work/p.toml" > "$work/a.out" 2>&1 || { cat "$work/a.out"; echo "FAIL: the uninterrupted run failed"; exit 1; }
launch 2 --out-dir "$work/b" "$work/p.toml" > "$work/b.out" 2>&1 &
pid=$!
ck=$work/b/mnist-mlp/checkpoints
for _ in $(seq 1 6000); do
  [ -d "$ck/step-100" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
[ -d "$ck/step-100" ] || { cat "$work/b.out"; echo "FAIL: no step-100 checkpoint appeared"; exit 1; }
# Every process at once, wherever the run is.
kill -9 $pid 2>/dev/null || true
pkill -9 -f -- "--out-dir $work/b" 2>/dev/null || true
wait $pid 2>/dev/null || true
for _ in $(seq 1 100); do pgrep -f -- "--out-dir $work/b" >/dev/null || break; sleep 0.1; done
[ ! -f "$work/b/mnist-mlp/model.safetensors" ] || { echo "FAIL: the run ended before the kill"; exit 1; }
echo "killed after: $(ls "$ck" | tr '\n' ' ')"
if [ "$mode" = local_sgd ] || [ "$mode" = diloco ]; then
  if launch 4 --out-dir "$work/b" --resume "$work/p.toml" > "$work/np4.out" 2>&1; then
    echo "FAIL: a resume on 4 ranks of a 2-rank $mode checkpoint should be refused"; fail=1
  fi
  grep -q "written by 2 ranks with \[distributed\] sync = \"$mode\".*resume it with 2 ranks (this run has 4)" \
    "$work/np4.out" || { cat "$work/np4.out"; echo "FAIL: the refusal should name the 2 ranks it needs"; fail=1; }
fi
launch 2 --out-dir "$work/b" --resume "$work/p.toml" > "$work/b2.out" 2>&1 || { cat "$work/b2.out"; echo "FAIL: the resume failed"; exit 1; }
from=$(sed -n 's/.*"resumed_from_step": *\([0-9]*\).*/\1/p' "$work/b/mnist-mlp/summary.json")
echo "sync $mode: resumed from step $from"
[ -n "$from" ] && [ "$from" -ge 100 ] || { echo "FAIL: should resume from step 100 or later, not '$from'"; fail=1; }
if [ "$mode" = local_sgd ] || [ "$mode" = diloco ]; then
  python3 - "$ck/step-$from/optimizer.safetensors" <<'EOF' || fail=1
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    names = json.loads(f.read(n)).keys()
own = [k for k in names if k.startswith("rank1/")]
print(f"checkpoint: {len(own)} tensors of rank 1's own state")
sys.exit(0 if own else 1)
EOF
fi
cmp "$work/a/mnist-mlp/model.safetensors" "$work/b/mnist-mlp/model.safetensors" ||
  { echo "FAIL: the resumed run's weights differ from the uninterrupted run's"; fail=1; }
[ $fail = 0 ] && echo "sync $mode: killed and resumed, rank 0's weights byte-identical to the uninterrupted run's"
exit $fail
