#!/usr/bin/env bash
# checkpoint_overhead.sh — step-time cost of [checkpoint] every_steps = 50 on
# the MNIST MLP example (784-512-256-10, AdamW, batch 128), against the same
# run without checkpoints, side by side: A (none) and B (every 50 steps)
# alternate for ROUNDS rounds; prints per-run and median ms/step (training
# wall clock / steps, from summary.json), process CPU ms/step, the stall the
# training thread paid for checkpoints (time_breakdown_s.checkpoint) and the
# ratio B/A. No evaluation, no end-of-run checkpoint, so the runs differ only
# in the periodic checkpoints.
# Needs: a Release build in ./build and the MNIST data (examples/mnist/prepare_data.sh).
#   ROUNDS=7 EPOCHS=8 THREADS=2 bash bench/checkpoint_overhead.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-7}"
epochs="${EPOCHS:-8}"
threads="${THREADS:-2}"
build="${PLINTH_BUILD_DIR:-build}"
data="$PWD/examples/mnist/data"
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "run examples/mnist/prepare_data.sh first" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

pipeline() {  # $1: name, $2: [checkpoint] body
  cat >"$work/$1.toml" <<EOF
[run]
name = "$1"
seed = 1
out_dir = "$work/runs"
[backend]
name = "cpu"
threads = $threads
[data.train]
source = "idx"
images = "$data/train-images-idx3-ubyte.gz"
labels = "$data/train-labels-idx1-ubyte.gz"
[[model.layer]]
type = "flatten"
[[model.layer]]
type = "linear"
out = 512
[[model.layer]]
type = "relu"
[[model.layer]]
type = "linear"
out = 256
[[model.layer]]
type = "relu"
[[model.layer]]
type = "linear"
out = 10
[optimizer]
name = "adamw"
lr = 1e-3
weight_decay = 0.01
[schedule]
type = "cosine"
[train]
epochs = $epochs
batch_size = 128
log_every = 50
[checkpoint]
$2
EOF
}
pipeline none "every_steps = 0
at_end = false"
pipeline every50 "every_steps = 50
at_end = false
keep_last = 3"

run_one() {  # $1: name -> "ms_per_step cpu_ms_per_step stall_ms_per_step checkpoints"
  rm -rf "$work/runs/$1"
  /usr/bin/time -f "%U %S" -o "$work/time" "$build/bin/plinth" train "$work/$1.toml" >/dev/null 2>"$work/log" ||
    { cat "$work/log" >&2; exit 1; }
  /usr/bin/python3 - "$work/runs/$1" "$work/time" <<'PY'
import json, os, sys
d, tf = sys.argv[1], sys.argv[2]
s = json.load(open(os.path.join(d, "summary.json")))
u, k = (float(x) for x in open(tf).read().split()[-2:])
steps = s["steps"]
ck = len([c for c in os.listdir(os.path.join(d, "checkpoints"))]) if os.path.isdir(os.path.join(d, "checkpoints")) else 0
print(f'{s["train_seconds"] / steps * 1e3:.4f} {(u + k) / steps * 1e3:.4f} '
      f'{s["time_breakdown_s"]["checkpoint"] / steps * 1e3:.4f} {steps}')
PY
}

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, threads=$threads, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $epochs epochs of MNIST (8,000 digits, batch 128), OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"
a=() b=()
for ((i = 0; i < rounds; i++)); do
  a+=("$(run_one none)")
  b+=("$(run_one every50)")
  echo "round $((i + 1)): none ${a[-1]} | every50 ${b[-1]}"
done
/usr/bin/python3 - "$(printf '%s;' "${a[@]}")" "$(printf '%s;' "${b[@]}")" <<'PY'
import statistics, sys
def cols(arg):
    rows = [list(map(float, r.split())) for r in arg.split(";") if r.strip()]
    return list(zip(*rows))
a, b = cols(sys.argv[1]), cols(sys.argv[2])
ma, mb = statistics.median(a[0]), statistics.median(b[0])
ca, cb = statistics.median(a[1]), statistics.median(b[1])
sb = statistics.median(b[2])
print(f"steps per run: {int(a[3][0])}; checkpoints per run: {int(b[3][0]) // 50}")
print(f"wall ms/step  median: none {ma:.3f}  every50 {mb:.3f}  ratio {mb / ma:.4f} ({(mb / ma - 1) * 100:+.2f}%)")
print(f"CPU  ms/step  median: none {ca:.3f}  every50 {cb:.3f}  ratio {cb / ca:.4f} ({(cb / ca - 1) * 100:+.2f}%)")
print(f"checkpoint stall on the training thread: {sb:.4f} ms/step ({sb / mb * 100:.2f}% of the every50 step)")
PY
