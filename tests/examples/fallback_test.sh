#!/usr/bin/env bash
# fallback_test.sh PLINTH PIPELINE MANIFESTS FIXTURE_MANIFESTS — train on a
# backend that supports almost nothing (the fixture "fx-host": FILL only), so
# every other op runs on the CPU backend with copies in between. The losses
# must equal a run on the CPU backend bit for bit, each op kind's fallback
# must be logged exactly once, and allow_fallback = false must refuse.
set -u
plinth=$1 pipeline=$2 manifests=$3 fixtures=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() {  # run <out> <pipeline>
  "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" --plugin-path "$fixtures" \
    train --no-progress --out-dir "$work/$1" "$2" > "$work/$1.log" 2>&1
}
sed 's/^\[run\]/[backend]\nname = "fx-host"\n\n[run]/' "$pipeline" > "$work/fx.toml"
sed 's/^\[run\]/[backend]\nname = "fx-host"\nallow_fallback = false\n\n[run]/' "$pipeline" > "$work/nofb.toml"
run cpu "$pipeline" || { echo "CPU run failed"; cat "$work/cpu.log"; exit 1; }
run fx "$work/fx.toml" || { echo "fallback run failed"; cat "$work/fx.log"; exit 1; }
fail=0
la=$(grep -o '"loss":[^,]*' "$work"/cpu/*/metrics.jsonl); lb=$(grep -o '"loss":[^,]*' "$work"/fx/*/metrics.jsonl)
[ -n "$la" ] && [ "$la" = "$lb" ] || { echo "losses differ between the CPU backend and the fallback run"; fail=1; }
dups=$(grep -o 'does not support op [a-z_]*' "$work/fx.log" | sort | uniq -d)
[ -z "$dups" ] || { echo "fallback logged more than once for: $dups"; fail=1; }
n=$(grep -c 'does not support op' "$work/fx.log")
[ "$n" -ge 5 ] || { echo "expected fallback lines for several op kinds, got $n"; fail=1; }
grep 'does not support op' "$work/fx.log"
run nofb "$work/nofb.toml"
rc=$?
[ "$rc" -ne 0 ] && grep -q 'allow_fallback = false' "$work/nofb.log" || { echo "allow_fallback = false did not refuse (rc $rc)"; cat "$work/nofb.log"; fail=1; }
exit $fail
