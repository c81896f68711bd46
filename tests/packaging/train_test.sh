#!/usr/bin/env bash
# train_test.sh PREFIX — trains one tiny pipeline built only from the
# out-of-tree plugins that the packaging test installed into PREFIX
# (template-data, template-optimizer) on each out-of-tree backend
# (vendor-matmul: MATMUL only; template-backend: FILL and ADD only) and on
# the CPU backend. Each run must complete, log the CPU fallback once per op
# kind (and never for an op the backend runs), and give the CPU run's losses
# to a relative 1e-4 (the vendor matmul sums in another order than oneDNN).
set -u
prefix=$1
plinth="$prefix/bin/plinth"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pipeline() {  # pipeline <backend>
  cat <<TOML
[run]
name = "oot"
seed = 5

[backend]
name = "$1"

[data.train]
source = "template-data"
samples = 64
num_classes = 4
workers = 1

[[model.layer]]
type = "linear"
out = 16

[[model.layer]]
type = "relu"

[[model.layer]]
type = "linear"
out = 4

[optimizer]
name = "template-optimizer"
lr = 0.1

[train]
epochs = 3
batch_size = 16
log_every = 1
TOML
}
run() {  # run <backend>
  pipeline "$1" > "$work/$1.toml"
  "$plinth" --no-system-plugins train --no-progress --out-dir "$work/out-$1" "$work/$1.toml" > "$work/$1.log" 2>&1
}
losses() { grep -ho '"loss":[^,}]*' "$work/out-$1"/*/metrics.jsonl | cut -d: -f2; }

fail=0
run cpu || { echo "CPU run failed:"; cat "$work/cpu.log"; exit 1; }
[ "$(losses cpu | wc -l)" -ge 10 ] || { echo "CPU run logged too few losses"; cat "$work/cpu.log"; exit 1; }
for backend in vendor-matmul template-backend; do
  if ! run "$backend"; then
    echo "$backend: training failed:"
    cat "$work/$backend.log"
    fail=1
    continue
  fi
  echo "--- $backend: fallback lines"
  grep 'does not support op' "$work/$backend.log"
  kinds=$(grep -o 'does not support op [a-z_]*' "$work/$backend.log" | awk '{print $5}')
  [ -n "$kinds" ] || { echo "$backend: no fallback was logged"; fail=1; }
  dups=$(printf '%s\n' "$kinds" | sort | uniq -d)
  [ -z "$dups" ] || { echo "$backend: fallback logged more than once for: $dups"; fail=1; }
  case $backend in
    vendor-matmul) own="matmul" ;;
    template-backend) own="fill" ;;  # ADD only for dense equal shapes; FILL always applies
  esac
  if printf '%s\n' "$kinds" | grep -qx "$own"; then
    echo "$backend: '$own' fell back although the backend runs it"
    fail=1
  fi
  if ! paste <(losses cpu) <(losses "$backend") | awk -v b="$backend" '
      { n++; d = $1 - $2; if (d < 0) d = -d; s = $1 < 0 ? -$1 : $1;
        if (d > 1e-4 * (s + 1e-6)) { printf "%s: step %d loss %s, CPU %s\n", b, n, $2, $1; bad = 1 } }
      END { if (n < 10) { print b ": only " n " losses"; bad = 1 } exit bad }'; then
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "out-of-tree plugins train and match the CPU backend"
exit $fail
