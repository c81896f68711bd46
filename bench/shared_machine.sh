#!/usr/bin/env bash
# shared_machine.sh [build-dir] [runs] — the MNIST example (all 15 epochs, so
# the work is fixed) on a quiet machine and beside 1 and 3 busy processes
# (`while :; do :; done`), `runs` times each (default 3), interleaved:
#   plinth          this build's defaults (nothing set: waiting OpenMP threads
#                   spin briefly, then sleep)
#   plinth-spin     GOMP_SPINCOUNT=300000, libgomp's own default (how Plinth
#                   waited before it chose)
#   plinth-passive  OMP_WAIT_POLICY=passive (threads sleep at once)
#   pytorch         bench/torch_mnist.py, the same job in PyTorch, 2 threads
# and the char-GPT step (examples/char-gpt, 30 steps of batch 12 x 64 tokens,
# 2 threads; plinth-bench-step and bench/torch_char_gpt.py --mode time, in
# milliseconds per step) in the same four ways (CHAR_GPT=0 leaves it out).
# Then the README's 2-rank command as written
# (OMP_NUM_THREADS=1 mpirun -np 2 --bind-to none plinth train
# examples/mnist/pipeline.toml), the same without OMP_NUM_THREADS, and with
# --threads 1 given by hand, on the quiet machine. Prints each run's wall
# time (the command's, start-up included) and a table of medians.
# Needs the MNIST data (examples/mnist/prepare_data.sh); PyTorch is skipped
# when /usr/bin/python3 has no torch.
set -euo pipefail
build=${1:-build}
runs=${2:-3}
src=$(cd "$(dirname "$0")/.." && pwd)
plinth=$(cd "$build" && pwd)/bin/plinth
[ -x "$plinth" ] || { echo "build it first: cmake --build $build"; exit 1; }
[ -f "$src/examples/mnist/data/t10k-labels-idx1-ubyte.gz" ] || { echo "MNIST data missing: run examples/mnist/prepare_data.sh"; exit 1; }
torch=1
/usr/bin/python3 -c 'import torch' 2>/dev/null || { torch=0; echo "# no PyTorch for /usr/bin/python3: its rows are skipped"; }
work=$(mktemp -d)
busy_pids=()
stop_busy() {
  for p in "${busy_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  busy_pids=()
}
trap 'stop_busy; rm -rf "$work"' EXIT
echo "# $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"

clean_env=(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OMP_NUM_THREADS)
timed() {  # timed LABEL BUSY COMMAND...: run, record the wall time
  local label=$1 busy=$2 t0 t1
  shift 2
  t0=$(date +%s.%N)
  "$@" > "$work/out" 2>&1 || { tail -5 "$work/out"; echo "failed: $label"; exit 1; }
  t1=$(date +%s.%N)
  local s
  s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  printf '%s\t%s\t%s\n' "$label" "$busy" "$s" >> "$work/results.tsv"
  printf '%-16s busy %s  %6s s\n' "$label" "$busy" "$s"
}
plinth_run() {  # plinth_run ENV...: the example, into a fresh folder
  rm -rf "$work/runs"
  "${clean_env[@]}" "$@" "$plinth" train --no-progress --out-dir "$work/runs" "$src/examples/mnist/pipeline.toml"
}

: > "$work/results.tsv"
: > "$work/steps.tsv"
[ "${CHAR_GPT:-1}" = 1 ] && bash "$src/examples/char-gpt/prepare_data.sh" > /dev/null
step() {  # step LABEL BUSY [ENV...]: one char-GPT step measurement (ms)
  local label=$1 busy=$2 ms
  shift 2
  if [ "$label" = pytorch ]; then
    ms=$("${clean_env[@]}" bash -c "cd '$src' && /usr/bin/python3 bench/torch_char_gpt.py --mode time --threads 2" |
      /usr/bin/python3 -c "import json,sys; print(round(json.load(sys.stdin)['ms_per_step'], 2))")
  else
    ms=$("${clean_env[@]}" "$@" "$(dirname "$plinth")/../bench/plinth-bench-step" \
      "$src/examples/char-gpt/pipeline.toml" --threads 2 --steps 30 |
      /usr/bin/python3 -c "import json,sys; print(round(json.load(sys.stdin)['ms_per_step'], 2))")
  fi
  printf '%s\t%s\t%s\n' "$label" "$busy" "$ms" >> "$work/steps.tsv"
  printf '%-16s busy %s  char-GPT step %s ms\n' "$label" "$busy" "$ms"
}
for busy in 0 1 3; do
  for _ in $(seq 1 "$busy"); do
    sh -c 'while :; do :; done' &
    busy_pids+=($!)
  done
  for r in $(seq 1 "$runs"); do
    if [ "${CHAR_GPT:-1}" = 1 ]; then
      step plinth "$busy"
      step plinth-spin "$busy" GOMP_SPINCOUNT=300000
      step plinth-passive "$busy" OMP_WAIT_POLICY=passive
      [ $torch = 1 ] && step pytorch "$busy"
    fi
    timed plinth "$busy" plinth_run
    timed plinth-spin "$busy" plinth_run GOMP_SPINCOUNT=300000
    timed plinth-passive "$busy" plinth_run OMP_WAIT_POLICY=passive
    if [ $torch = 1 ]; then
      timed pytorch "$busy" "${clean_env[@]}" bash -c "cd '$src' && /usr/bin/python3 bench/torch_mnist.py --threads 2"
    fi
  done
  stop_busy
done

mpi_env=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader)
if command -v mpirun > /dev/null; then
  for r in $(seq 1 "$runs"); do
    rm -rf "$work/runs"
    timed "2 ranks, README" 0 "${clean_env[@]}" "${mpi_env[@]}" OMP_NUM_THREADS=1 \
      mpirun -np 2 --bind-to none "$plinth" train --no-progress --out-dir "$work/runs" "$src/examples/mnist/pipeline.toml"
    rm -rf "$work/runs"
    timed "2 ranks, nothing set" 0 "${clean_env[@]}" "${mpi_env[@]}" \
      mpirun -np 2 --bind-to none "$plinth" train --no-progress --out-dir "$work/runs" "$src/examples/mnist/pipeline.toml"
    rm -rf "$work/runs"
    timed "2 ranks, threads 1" 0 "${clean_env[@]}" "${mpi_env[@]}" \
      mpirun -np 2 --bind-to none "$plinth" train --no-progress --threads 1 --out-dir "$work/runs" \
      "$src/examples/mnist/pipeline.toml"
  done
fi
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
table() {  # table FILE FORMAT: medians per (run, busy), with ratios to plinth-spin and plinth-passive
  awk -F'\t' -v fmt="$2" "$(cat "$src/bench/median.awk")"'
    { k = $1 SUBSEP $2; if (!(k in v)) order[++n] = k; v[k] = v[k] " " $3 }
    END {
      for (i = 1; i <= n; i++) {
        split(order[i], f, SUBSEP); m = median(v[order[i]])
        alone = f[1] !~ /^2 ranks/  # the 2-rank runs have no single-process peer to compare with
        s = alone && ("plinth-spin" SUBSEP f[2]) in v ? sprintf("%.2fx", median(v["plinth-spin" SUBSEP f[2]]) / m) : ""
        p = alone && ("plinth-passive" SUBSEP f[2]) in v ? sprintf("%.2fx", median(v["plinth-passive" SUBSEP f[2]]) / m) : ""
        printf "| %s | %s | " fmt " | %s | %s |\n", f[1], f[2], m, s, p
      }
    }' "$1"
}
echo "| run | busy processes | median wall (s) | vs plinth-spin | vs plinth-passive |"
echo "|---|---|---|---|---|"
table "$work/results.tsv" %.2f
if [ -s "$work/steps.tsv" ]; then
  echo
  echo "| char-GPT step | busy processes | median ms per step | vs plinth-spin | vs plinth-passive |"
  echo "|---|---|---|---|---|"
  table "$work/steps.tsv" %.1f
fi
