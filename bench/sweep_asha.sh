#!/usr/bin/env bash
# sweep_asha.sh — the MNIST learning-rate x width sweep (examples/mnist/sweep.toml,
# 3 x 3 = 9 trials) run twice with the same parallel/threads: once as a full
# grid (every trial to 945 steps, no [sweep.asha]) and once with ASHA
# (rungs 105 / 315 / 945, eta 3). Prints the wall clock of each, their ratio,
# the best eval accuracy each found and the difference in points, and what the
# grid got for ASHA's pick (the same trial: rungs resume exactly, so it is equal).
# Needs: a Release build in ./build and the MNIST data (examples/mnist/prepare_data.sh).
#   ROUNDS=1 [PARALLEL=2 THREADS=1] bash bench/sweep_asha.sh   (default: the example's parallel/threads)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${PLINTH_BUILD_DIR:-build}"
rounds="${ROUNDS:-1}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"  # trials share the cores (docs/PERFORMANCE.md)
plinth=("$PWD/$build/bin/plinth" --no-system-plugins --no-install-plugins --plugin-path "$PWD/$build/share/plinth/plugins.d")
[ -f examples/mnist/data/train-images-idx3-ubyte.gz ] || { echo "run examples/mnist/prepare_data.sh first" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The example with an absolute base and out_dir; the grid drops [sweep.asha].
edits=(-e "s|^base = .*|base = \"$PWD/examples/mnist/pipeline.toml\"|"
       -e "s|^name = .*|name = \"asha\"\nout_dir = \"$work/runs\"|")
[ -n "${PARALLEL:-}" ] && edits+=(-e "s|^parallel = .*|parallel = $PARALLEL|")
[ -n "${THREADS:-}" ] && edits+=(-e "s|^threads = .*|threads = $THREADS|")
sed "${edits[@]}" examples/mnist/sweep.toml > "$work/asha.toml"
sed -e '/^\[sweep.asha\]/,$d' -e 's|^name = "asha"|name = "grid"|' "$work/asha.toml" > "$work/grid.toml"

best() {  # summary.json -> "trial accuracy"
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["trials"][0]; print(t["trial"], t["value"])' "$1"
}
value_of() {  # summary.json trial -> accuracy
  python3 -c 'import json,sys; print(next(t["value"] for t in json.load(open(sys.argv[1]))["trials"] if t["trial"]==sys.argv[2]))' "$1" "$2"
}
grep -E '^(parallel|threads) =' "$work/asha.toml" | tr '\n' ' '; echo
echo "OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%F)"
for r in $(seq 1 "$rounds"); do
  rm -rf "$work/runs"
  for kind in grid asha; do
    s=$(date +%s.%N)
    "${plinth[@]}" sweep "$work/$kind.toml" > "$work/$kind.out" 2> "$work/$kind.err" || { cat "$work/$kind.err"; exit 1; }
    e=$(date +%s.%N)
    eval "${kind}_wall=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.2f", b - a }')"
  done
  read -r gt ga < <(best "$work/runs/grid/summary.json")
  read -r at aa < <(best "$work/runs/asha/summary.json")
  ag=$(value_of "$work/runs/grid/summary.json" "$at")
  jobs=$(python3 -c 'import json,sys; print(sum(len(t["results"]) for t in json.load(open(sys.argv[1]))["trials"]))' "$work/runs/asha/sweep.json")
  steps=$(python3 -c 'import json,sys; print(sum(t["steps"] for t in json.load(open(sys.argv[1]))["trials"]))' "$work/runs/asha/summary.json")
  echo "round $r (load $(cut -d' ' -f1 /proc/loadavg)):"
  echo "  grid: ${grid_wall} s, best $gt accuracy $ga"
  echo "  asha: ${asha_wall} s, best $at accuracy $aa ($jobs jobs, $steps trial steps of 8505)"
  awk -v g="$grid_wall" -v a="$asha_wall" -v ga="$ga" -v aa="$aa" -v ag="$ag" 'BEGIN {
    printf "  ratio asha/grid %.3f; best accuracy difference (grid - asha) %.2f points; grid for asha'"'"'s pick %.4f\n",
           a / g, (ga - aa) * 100, ag }'
  cat "$work/asha.out"
done
