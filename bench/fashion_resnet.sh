#!/usr/bin/env bash
# fashion_resnet.sh — time to 93% test accuracy on Fashion-MNIST, Plinth
# (examples/fashion-resnet/pipeline.toml) against the same model, data folder,
# augmentation, optimizer, schedule, batch and epochs in PyTorch
# (bench/torch_fashion_resnet.py: ImageFolder + DataLoader with workers).
# Both sides stop at the first evaluation (after each epoch) that reaches the
# target; each side's time is its own clock from process start to that
# evaluation (Plinth: summary.json time_to_target_s; PyTorch: the clock
# starts before `import torch`), and the wall time of the whole process is
# printed beside it. Runs alternate (plinth, pytorch, plinth, ...).
#   bash bench/fashion_resnet.sh                 # ROUNDS=1 run of each, the ratio
#   ROUNDS=3 THREADS=2 bash bench/fashion_resnet.sh
#   PROGRESSIVE=1 SEEDS="1 2 3" bash bench/fashion_resnet.sh
#       Plinth only: fixed 28 px vs progressive.toml (20 -> 28 px) on each seed,
#       the medians of time-to-target and their ratio.
# Needs: a Release build in ./build (PLINTH_BUILD_DIR), the data folder
# (examples/fashion-resnet/prepare_data.sh is run first; it needs
# dataset-fashion-mnist and python3-pil), /usr/bin/python3 with python3-torch
# and python3-torchvision. PyTorch runs in its default environment (its best
# here: for 6,400 training images at width 24, channels_last, 1 worker, on
# 2026-12-07, train seconds were 10.1 default, 10.6 with OpenMP OpenBLAS,
# 13.3 with ATEN_CPU_CAPABILITY=avx512 and 35.9 with jemalloc preloaded, the
# settings that help its GEMM-bound workloads in bench/run.sh; TORCH_ENV adds
# others, e.g. TORCH_ENV="ATEN_CPU_CAPABILITY=avx512"), OMP_NUM_THREADS = THREADS, WORKERS loader
# processes (default 1) and channels_last unless CHANNELS_LAST=0 (channels_last was 1.3x faster here: 6.1 s against 8.1 s for 6,400 images).
# Not part of the test run.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
build="${PLINTH_BUILD_DIR:-build}"
plinth="$root/$build/bin/plinth"
rounds="${ROUNDS:-1}"
threads="${THREADS:-2}"
workers="${WORKERS:-1}"
target="${TARGET:-0.93}"
seeds="${SEEDS:-1 2 3}"
data="${DATA:-$root/examples/fashion-resnet/data}"  # a folder with train/ and test/ (DATA: another, e.g. a small one to try the script)
py=/usr/bin/python3

[[ -x "$plinth" ]] || { echo "fashion_resnet.sh: $plinth not found; build first (cmake --build $build)" >&2; exit 1; }
[[ -n "${DATA:-}" ]] || bash examples/fashion-resnet/prepare_data.sh >/dev/null

work="$(mktemp -d /tmp/plinth-fashion-bench.XXXXXX)"
# KEEP=1 keeps the runs' logs and folders there (printed at the end).
if [[ "${KEEP:-0}" == 1 ]]; then trap 'echo "logs and runs kept in $work"' EXIT; else trap 'rm -rf "$work"' EXIT; fi

# A pipeline for this run: absolute data paths, stop at the target, the seed.
make_pipeline() {  # $1: source toml, $2: seed, $3: output
  "$py" - "$1" "$2" "$3" "$data" "$target" <<'PY'
import re, sys
src, seed, out, data, target = sys.argv[1:]
t = open(src).read()
t = t.replace('root = "data/', f'root = "{data}/')
t = re.sub(r"(?m)^seed = \d+", f"seed = {seed}", t)
t = re.sub(r"(?m)^target_value = .*", f"target_value = {target}", t)
t = t.replace("[train]\n", "[train]\nstop_at_target = true\n", 1)
open(out, "w").write(t)
PY
}

# One Plinth run; prints "time_to_target wall epochs accuracy".
run_plinth() {  # $1: pipeline, $2: out dir
  local t0 t1
  t0=$(date +%s.%N)
  "$plinth" train --no-progress --threads "$threads" --out-dir "$2" "$1" >"$2.log" 2>&1 ||
    { echo "plinth failed; see its log:" >&2; tail -20 "$2.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  "$py" - "$2" "$t0" "$t1" <<'PY'
import glob, json, sys
d, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
s = json.load(open(glob.glob(d + "/*/summary.json")[0]))
ttt = s.get("time_to_target_s")
print(ttt if ttt is not None else "nan", t1 - t0, s.get("epochs"), s.get("final_eval_accuracy", s.get("eval_accuracy")))
PY
}

torch_env=(env OMP_NUM_THREADS="$threads")
# shellcheck disable=SC2206  # TORCH_ENV is a list of NAME=VALUE words
[[ -n "${TORCH_ENV:-}" ]] && torch_env+=(${TORCH_ENV})
torch_args=(--stop-at-target --threads "$threads" --workers "$workers" --target "$target" --data "$data")
[[ "${CHANNELS_LAST:-1}" == 1 ]] && torch_args+=(--channels-last)

run_torch() {  # $1: seed, extra args...; prints "time_to_target wall epochs accuracy"
  local seed="$1" t0 t1 out
  shift
  t0=$(date +%s.%N)
  out=$("${torch_env[@]}" "$py" bench/torch_fashion_resnet.py "${torch_args[@]}" --seed "$seed" "$@" 2>"$work/torch-$seed.log") ||
    { echo "pytorch failed:" >&2; tail -20 "$work/torch-$seed.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  "$py" -c 'import json, sys; r = json.loads(sys.argv[1]); t = r["time_to_target_s"]
print(t if t is not None else "nan", float(sys.argv[3]) - float(sys.argv[2]), r["epochs_run"], r["final_eval_accuracy"])' \
    "$out" "$t0" "$t1"
}

summarize() {  # $1: file of "label time wall epochs acc" lines; $2, $3: the two labels to compare
  "$py" - "$@" <<'PY'
import math, statistics, sys
path, a, b = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [l.split() for l in open(path) if l.strip()]
def col(label, i):
    return [float(r[i]) for r in rows if r[0] == label]
print()
print(f"{'run':<14}{'time to target (s)':>20}{'wall (s)':>11}{'epochs':>8}{'accuracy':>10}")
for r in rows:
    print(f"{r[0]:<14}{float(r[1]):>20.1f}{float(r[2]):>11.1f}{r[3]:>8}{float(r[4]):>10.4f}")
med = {}
for label in (a, b):
    t = col(label, 1)
    missed = sum(math.isnan(x) for x in t)
    med[label] = statistics.median(t) if not missed else float("nan")
    print(f"{label}: median time to target {med[label]:.1f} s over {len(t)} run(s)"
          + (f" ({missed} did not reach it)" if missed else ""))
if not any(math.isnan(x) for x in med.values()):
    print(f"ratio {b} / {a}: x{med[b] / med[a]:.2f}")
PY
}

load="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "fashion_resnet.sh: target $target, threads $threads, load average $load"
results="$work/results"
: >"$results"
if [[ "${PROGRESSIVE:-0}" == 1 ]]; then
  for seed in $seeds; do
    for variant in pipeline progressive; do
      make_pipeline "examples/fashion-resnet/$variant.toml" "$seed" "$work/$variant-$seed.toml"
      label=$([[ $variant == pipeline ]] && echo fixed || echo progressive)
      echo "plinth $label, seed $seed ..." >&2
      echo "$label $(run_plinth "$work/$variant-$seed.toml" "$work/$variant-$seed")" | tee -a "$results" >&2
    done
  done
  summarize "$results" fixed progressive
else
  make_pipeline examples/fashion-resnet/pipeline.toml 1 "$work/pipeline.toml"
  for ((i = 0; i < rounds; ++i)); do
    echo "plinth, round $((i + 1)) ..." >&2
    echo "plinth $(run_plinth "$work/pipeline.toml" "$work/plinth-$i")" | tee -a "$results" >&2
    echo "pytorch, round $((i + 1)) ..." >&2
    echo "pytorch $(run_torch 1)" | tee -a "$results" >&2
  done
  summarize "$results" plinth pytorch
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
