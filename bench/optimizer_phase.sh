#!/usr/bin/env bash
# optimizer_phase.sh [build-dir] [rounds] — the optimizer's share of a
# training step of the MNIST example (784-512-256-10 MLP, 535k parameters,
# batch 128, CPU backend) for AdamW's fused step (PLINTH_OP_ADAMW_STEP, the
# example's own optimizer), the stock `lion` (fused, PLINTH_OP_LION_STEP) and
# examples/optimizer-lion (`example-lion`: Lion composed from three AXPBYs
# per parameter, the first with SIGN on its result, as an outside author
# writes it, built here out of tree against the build's SDK). plinth-bench-step times each
# update of every parameter with the backend synchronised before and after
# (optimizer_ms_per_step), over 300 steps after 20 warm-up ones; the three
# alternate (A B C A B C ...) for `rounds` rounds (default 5) and the medians
# are printed with each Lion's ratio to AdamW. Same threads for all
# (THREADS, default: the backend's). Needs the MNIST data
# (examples/mnist/prepare_data.sh) and a Release build.
set -euo pipefail
build=${1:-build}
rounds=${2:-5}
src=$(cd "$(dirname "$0")/.." && pwd)
bench=$build/bench/plinth-bench-step
[ -x "$bench" ] || { echo "build it first: cmake --build $build"; exit 1; }
[ -e "$src/examples/mnist/data/train-images-idx3-ubyte.gz" ] || bash "$src/examples/mnist/prepare_data.sh"
build=$(cd "$build" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The composed Lion, configured against the build tree (find_package(Plinth)
# finds its export).
cmake -S "$src/examples/optimizer-lion" -B "$work/lion" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$build" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null
cmake --build "$work/lion" >/dev/null

# The example's pipeline with its [optimizer] table replaced (data paths made
# absolute, since the copies live elsewhere).
pipeline() {  # name, optimizer table text
  sed -e "s|\"data/|\"$src/examples/mnist/data/|" \
      -e '/^\[optimizer\]/,/^\[schedule\]/{/^\[schedule\]/!d}' "$src/examples/mnist/pipeline.toml" |
    sed -e "s|^\[schedule\]|$2\n\n[schedule]|" > "$work/$1.toml"
}
pipeline adamw '[optimizer]\nname = "adamw"\nlr = 1e-3\nweight_decay = 0.01'
pipeline lion '[optimizer]\nname = "lion"\nlr = 1e-4\nweight_decay = 0.1'
pipeline example-lion '[optimizer]\nname = "example-lion"\nlr = 1e-4\nweight_decay = 0.1'

threads=()
[ -z "${THREADS:-}" ] || threads=(--threads "$THREADS")
echo "optimizer phase of the MNIST example's step; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for o in adamw lion example-lion; do
    out=$("$bench" "$work/$o.toml" --steps 300 --warmup 20 "${threads[@]}" \
      --manifests "$build/share/plinth/plugins.d" --manifests "$work/lion/share/plinth/plugins.d")
    opt=$(sed -n 's/.*"optimizer_ms_per_step": \([0-9.]*\).*/\1/p' <<<"$out")
    step=$(sed -n 's/.*"ms_per_step": \([0-9.]*\), "optimizer.*/\1/p' <<<"$out")
    echo "round $r  $o  optimizer ${opt} ms  step ${step} ms"
    echo "$o $opt" >> "$work/times"
  done
done
median() { grep "^$1 " "$work/times" | cut -d' ' -f2 | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
a=$(median adamw)
printf '\nmedians over %d rounds (ms of optimizer per step)\n' "$rounds"
printf '  %-34s %8.4f\n' "adamw (fused ADAMW_STEP)" "$a"
for o in lion example-lion; do
  m=$(median "$o")
  label=$([ "$o" = lion ] && echo "lion (stock, fused LION_STEP)" || echo "example-lion (composed, 3 launches)")
  printf '  %-34s %8.4f   %.2fx AdamW\n' "$label" "$m" "$(awk -v m="$m" -v a="$a" 'BEGIN {print m / a}')"
done
