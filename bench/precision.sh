#!/usr/bin/env bash
# precision.sh — training-step time of [train] precision = "fp32" against
# "bf16" (and "fp16") on the MLP 784-512-512-10 at batch 128 (forward,
# cross-entropy, backward, AdamW, one resident batch: plinth-bench-mlp),
# alternating the precisions (A B A B ...) for ROUNDS rounds. Prints every
# run and the medians of wall ms/step and process CPU ms/step, and the ratios
# to fp32. CPU time is the steadier figure on a shared machine.
#   ROUNDS=7 THREADS=1 PRECISIONS="fp32 bf16 fp16" bash bench/precision.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-7}"
threads="${THREADS:-1}"
hidden="${HIDDEN:-512,512}"
batch="${BATCH:-128}"
precisions="${PRECISIONS:-fp32 bf16}"
build="${PLINTH_BUILD_DIR:-build}"
echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, threads=$threads, load $(cut -d' ' -f1-3 /proc/loadavg), OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"
echo "# MLP 784-${hidden//,/-}-10, batch $batch"
results=""
for ((i = 0; i < rounds; i++)); do
  for p in $precisions; do
    line="$("$build/bench/plinth-bench-mlp" --batch "$batch" --hidden "$hidden" --threads "$threads" --precision "$p")"
    echo "$line"
    results+="$line"$'\n'
  done
done
/usr/bin/python3 -c '
import json, statistics, sys
runs = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
by = {}
for r in runs: by.setdefault(r["precision"], []).append(r)
base = by.get("fp32")
for p, rs in by.items():
    w = statistics.median(r["ms_per_step"] for r in rs)
    c = statistics.median(r["cpu_ms_per_step"] for r in rs)
    line = f"{p}: median {w:.3f} ms/step wall, {c:.3f} ms/step CPU"
    if base and p != "fp32":
        bw = statistics.median(r["ms_per_step"] for r in base)
        bc = statistics.median(r["cpu_ms_per_step"] for r in base)
        line += f"; fp32/{p}: x{bw / w:.2f} wall, x{bc / c:.2f} CPU"
    print(line)
' <<<"$results"
