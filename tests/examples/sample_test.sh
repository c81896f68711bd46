#!/usr/bin/env bash
# sample_test.sh PLINTH PIPELINE MANIFESTS — train a tiny character GPT on a
# text with an obvious pattern, then `plinth sample`: the run keeps its
# vocabulary; the same seed gives the same text; the model has learned the
# pattern (most generated characters follow it); bad prompts, runs and
# options are errors with exit code 2.
set -u
plinth=$1 pipeline=$2 manifests=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$pipeline" "$work/p.toml"
# "abcd efgh abcd efgh ...": after 'a' always 'b', after 'd' a space, etc.
for _ in $(seq 400); do printf 'abcd efgh '; done > "$work/text.txt"
run() { "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" "$@"; }
fail=0
run train --no-progress --out-dir "$work/out" "$work/p.toml" > "$work/train.log" 2>&1 ||
  { echo "training failed"; cat "$work/train.log"; exit 1; }
r="$work/out/tiny-gpt"
grep -q '"tokens"' "$r/vocab.json" || { echo "no vocab.json in the run"; fail=1; }
grep -q '"shape"' "$r/model.json" || { echo "no model.json in the run"; fail=1; }
a=$(run sample "$r" --prompt "abc" --tokens 60 --seed 3 --temperature 0.5 2>&1) || { echo "sample failed: $a"; fail=1; }
b=$(run sample "$r" --prompt "abc" --tokens 60 --seed 3 --temperature 0.5 2>&1)
[ "$a" = "$b" ] || { echo "same seed, different text:"; echo "$a"; echo "$b"; fail=1; }
echo "sample: $a"
[ "${#a}" -eq 63 ] || { echo "expected 3 + 60 characters, got ${#a}"; fail=1; }
# The pattern: count positions whose next character is the one the text has there.
/usr/bin/python3 - "$a" <<'PY' || fail=1
import sys
s = sys.argv[1]
nxt = {"a": "b", "b": "c", "c": "d", "d": " ", " ": "ae", "e": "f", "f": "g", "g": "h", "h": " "}
ok = sum(1 for x, y in zip(s, s[1:]) if y in nxt.get(x, ""))
print(f"{ok}/{len(s) - 1} transitions follow the pattern")
sys.exit(0 if ok >= 0.9 * (len(s) - 1) else 1)
PY
expect_error() {  # expect_error "message part" args...
  local want=$1; shift
  local out rc
  out=$(run sample "$@" 2>&1); rc=$?
  [ "$rc" -eq 2 ] || { echo "expected exit 2 for '$*', got $rc: $out"; fail=1; }
  grep -qF -- "$want" <<< "$out" || { echo "expected '$want' in: $out"; fail=1; }
}
expect_error "the character 'z' is not in the run's vocabulary" "$r" --prompt "abz"
expect_error "no such run folder" "$work/out/nope"
expect_error "--top-k must be >= 0" "$r" --top-k -1
exit $fail
