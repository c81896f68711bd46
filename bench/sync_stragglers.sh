#!/usr/bin/env bash
# sync_stragglers.sh [build-dir] [runs] — time to the MNIST example's 95%
# target under each [distributed] sync mode (every_step, local_sgd, diloco,
# delayed; sync_every = 8), on 2 and 4 ranks of this machine (mpirun
# --oversubscribe, one compute thread per rank: --threads 1), with no straggler and with
# rank 1 slowed by 30% (PLINTH_STRAGGLER=1:30%: after its micro-batches it
# sleeps 30% of its own step's time). `runs` runs of each (default 3),
# interleaved; prints each run, then the medians as a table with each mode's
# ratio against every_step in the same setting (above 1: sooner), and the
# bytes each rank sent per step (metrics.jsonl's allreduce_bytes_total at the
# last line over its step). STRAGGLERS="none 1:30% *:30%" adds a rank drawn
# per step (each step one rank, a different one each time, is 30% slower).
#
# The schedule is the data-parallel tests' (sync_modes_test.sh reach): per-rank
# batch 32, lr 2e-3, evaluated every 50 steps, stopped at 95%, at most 6
# epochs on 2 ranks and 12 on 4. Time to target is summary.json's
# time_to_target_s (from the process's start, so start-up counts); ms per step
# is the training loop's time (train_seconds) over its steps. Needs the
# MNIST data (examples/mnist/prepare_data.sh) and openmpi-bin.
set -euo pipefail
build=${1:-build}
runs=${2:-3}
src=$(cd "$(dirname "$0")/.." && pwd)
plinth=$build/bin/plinth
[ -x "$plinth" ] || { echo "build it first: cmake --build $build"; exit 1; }
source "$src/tests/plugins/comm/mnist_common.sh"  # mnist_short_pipeline; needs mpirun and the data
stragglers=${STRAGGLERS:-none 1:30%}
modes="every_step local_sgd diloco delayed"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"

pipeline() {  # pipeline NP MODE > file
  mnist_short_pipeline $(($1 > 2 ? 12 : 6)) 8
  printf '\n[distributed]\ntimeout = 300\nsync = "%s"\nsync_every = 8\n' "$2"
}

results=$work/results.tsv
: > "$results"
for r in $(seq 1 "$runs"); do
  for np in 2 4; do
    for st in $stragglers; do
      # Rotate the order of the modes each run: drift on a shared machine spreads over all of them.
      set -- $modes
      for _ in $(seq 2 "$r"); do set -- "${@:2}" "$1"; done
      for mode in "$@"; do
        d=$work/$np-$mode-$r-${st//[^0-9a-z]/_}
        mkdir -p "$d"
        pipeline "$np" "$mode" > "$d/p.toml"
        env_st=()
        [ "$st" != none ] && env_st=(PLINTH_STRAGGLER="$st")
        env "${env_st[@]}" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
          OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 OMP_NUM_THREADS=1 \
          mpirun --oversubscribe --bind-to none -np "$np" "$plinth" --no-system-plugins --no-install-plugins \
          --plugin-path "$build/share/plinth/plugins.d" train --no-progress --threads 1 --out-dir "$d/runs" "$d/p.toml" \
          > "$d/out" 2>&1 || { tail -5 "$d/out"; echo "run failed: $d"; exit 1; }
        s=$d/runs/mnist-mlp/summary.json
        ttt=$(sed -n 's/.*"time_to_target_s": *\([0-9.eE+-]*\).*/\1/p' "$s")
        steps=$(sed -n 's/.*"steps": *\([0-9]*\).*/\1/p' "$s")
        train_s=$(sed -n 's/.*"train_seconds": *\([0-9.eE+-]*\).*/\1/p' "$s")
        # The bytes sent by the last metrics line, and its step.
        line=$(grep '"allreduce_bytes_total"' "$d/runs/mnist-mlp/metrics.jsonl" | tail -1)
        total=$(sed 's/.*"allreduce_bytes_total":\([0-9]*\).*/\1/' <<< "$line")
        at=$(sed 's/.*"step":\([0-9]*\).*/\1/' <<< "$line")
        [ -n "$ttt" ] || ttt=nan  # target not reached
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$np" "$st" "$mode" "$ttt" "$steps" "$total" "$at" "$train_s" >> "$results"
        printf 'run %s  np %s  straggler %-6s %-10s time to 95%%: %6s s  steps %4s  bytes %s\n' \
          "$r" "$np" "$st" "$mode" "$ttt" "$steps" "$total"
      done
    done
  done
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| ranks | straggler | sync | median time to 95% (s) | vs every_step | median steps | ms per step | bytes per step per rank |"
echo "|---|---|---|---|---|---|---|---|"
awk -F'\t' "$(cat "$src/bench/median.awk")"'
  {
    k = $1 SUBSEP $2 SUBSEP $3
    if (!(k in seen)) { seen[k] = 1; order[++n] = k }
    ttt[k] = ttt[k] " " $4; steps[k] = steps[k] " " $5; bps[k] = bps[k] " " ($7 > 0 ? $6 / $7 : 0)
    msps[k] = msps[k] " " ($5 > 0 ? 1000 * $8 / $5 : 0)
  }
  END {
    for (i = 1; i <= n; i++) {
      k = order[i]; split(k, f, SUBSEP)
      base = f[1] SUBSEP f[2] SUBSEP "every_step"
      m = median(ttt[k]); b = median(ttt[base])
      printf "| %s | %s | %s | %.2f | %.2fx | %d | %.2f | %.0f |\n", f[1], f[2], f[3], m, b / m, median(steps[k]),
        median(msps[k]), median(bps[k])
    }
  }' "$results" | sort -t'|' -k2,2n -k3,3 -s
