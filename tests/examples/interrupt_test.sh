#!/usr/bin/env bash
# interrupt_test.sh PLINTH PIPELINE MANIFESTS — Ctrl-C (SIGINT) stops a run
# cleanly after the current step: exit code 130, and the run folder holds a
# complete summary (marked interrupted), metrics and the weights so far.
set -u
plinth=$1 pipeline=$2 manifests=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed 's/^epochs = .*/epochs = 100000/' "$pipeline" > "$work/long.toml"
"$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
  train --no-progress --out-dir "$work/out" "$work/long.toml" > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do  # wait until it is training (metrics appear), at most 10 s
  [ -s "$work/out/determinism/metrics.jsonl" ] && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"
rc=$?
fail=0
[ "$rc" -eq 130 ] || { echo "expected exit code 130, got $rc"; cat "$work/log"; fail=1; }
run="$work/out/determinism"
grep -q '"interrupted": true' "$run/summary.json" || { echo "summary does not say interrupted"; fail=1; }
grep -q '"status": "ok"' "$run/summary.json" || { echo "summary status is not ok"; fail=1; }
[ -s "$run/model.safetensors" ] || { echo "no weights written"; fail=1; }
tail -n 2 "$work/log"
exit $fail
