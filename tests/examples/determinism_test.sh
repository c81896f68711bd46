#!/usr/bin/env bash
# determinism_test.sh PLINTH PIPELINE MANIFESTS — train twice with the same
# seed; the logged losses must be identical to the last bit.
set -eu
plinth=$1 pipeline=$2 manifests=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in 1 2; do
  "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
    train --no-progress --out-dir "$work/r$i" "$pipeline" > /dev/null 2>&1
done
a="$work/r1/determinism/metrics.jsonl" b="$work/r2/determinism/metrics.jsonl"
la=$(grep -o '"loss":[^,]*' "$a"); lb=$(grep -o '"loss":[^,]*' "$b")
n=$(echo "$la" | wc -l)
[ "$n" -ge 50 ] || { echo "expected at least 50 logged losses, got $n"; exit 1; }
if [ "$la" != "$lb" ]; then echo "losses differ:"; diff <(echo "$la") <(echo "$lb") | head; exit 1; fi
echo "$n losses identical; first: $(echo "$la" | head -n1), last: $(echo "$la" | tail -n1)"
