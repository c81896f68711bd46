#!/usr/bin/env bash
# char_gpt.sh — the char-GPT of examples/char-gpt against the same model in
# PyTorch (bench/torch_char_gpt.py), on the same machine and threads.
#   speed:   ms per training step, alternating the two (A B A B ...), medians
#            and the ratio, fp32 and bf16 (PyTorch bf16: autocast).
#   quality: (QUALITY=1) the full 2,000 steps with seeds 1, 2, 3 each, and the
#            mean validation loss over every non-overlapping window of the
#            last 10% of the text (the same protocol on both sides).
# PyTorch runs in its best configuration on these machines (see bench/run.sh).
#   ROUNDS=5 THREADS=2 QUALITY=1 bash bench/char_gpt.sh
#   SPEED=0 QUALITY=1 bash bench/char_gpt.sh     # the quality runs alone
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-5}"
threads="${THREADS:-2}"
build="${PLINTH_BUILD_DIR:-build}"
pipeline=examples/char-gpt/pipeline.toml
bash examples/char-gpt/prepare_data.sh > /dev/null
torch_env=(env -u OPENBLAS_CORETYPE LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
           LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp ATEN_CPU_CAPABILITY=avx512
           OMP_NUM_THREADS="$threads")
field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, threads=$threads, $(date -u +%F)"
[ "${SPEED:-1}" = 1 ] && for dtype in fp32 bf16; do
  a=() b=()
  for ((i = 0; i < rounds; i++)); do
    a+=("$("$build/bench/plinth-bench-step" "$pipeline" --threads "$threads" --precision "$dtype" --steps 30 | field ms_per_step)")
    b+=("$("${torch_env[@]}" /usr/bin/python3 bench/torch_char_gpt.py --mode time --threads "$threads" --dtype "$dtype" | field ms_per_step)")
  done
  /usr/bin/python3 - "$dtype" "${a[*]}" "${b[*]}" <<'PY'
import statistics, sys
dt, a, b = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
ma, mb = statistics.median(a), statistics.median(b)
print(f"char-GPT {dt} step (batch 12 x 64 tokens): plinth {ma:.1f} ms, pytorch {mb:.1f} ms, speedup x{mb/ma:.2f}  "
      f"[plinth {', '.join(f'{x:.1f}' for x in a)}; pytorch {', '.join(f'{x:.1f}' for x in b)}]")
PY
done
[ "${QUALITY:-0}" = 1 ] || exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pl=() pt=()
for seed in 1 2 3; do
  sed -e "s/^seed = .*/seed = $seed/" -e "s|^path = \"data/|path = \"$PWD/examples/char-gpt/data/|" \
      -e "s/^threads = .*//" "$pipeline" > "$work/p$seed.toml"
  "$build/bin/plinth" train --no-progress --out-dir "$work/runs$seed" "$work/p$seed.toml" > "$work/log$seed" 2>&1
  pl+=("$(field eval_loss < "$work/runs$seed/char-gpt/summary.json")")
  pt+=("$("${torch_env[@]}" /usr/bin/python3 bench/torch_char_gpt.py --mode train --seed "$seed" --threads "$threads" | field val_loss)")
  echo "seed $seed: plinth val loss ${pl[-1]} ($(field train_seconds < "$work/runs$seed/char-gpt/summary.json") s), pytorch ${pt[-1]}"
done
/usr/bin/python3 - "${pl[*]}" "${pt[*]}" <<'PY'
import statistics, sys
a, b = [float(x) for x in sys.argv[1].split()], [float(x) for x in sys.argv[2].split()]
print(f"char-GPT validation loss after 2,000 steps, mean of 3 seeds: plinth {statistics.mean(a):.4f}, "
      f"pytorch {statistics.mean(b):.4f}, difference {statistics.mean(a) - statistics.mean(b):+.4f}")
PY
