#!/usr/bin/env bash
# retrain_test.sh PLINTH MANIFESTS SOURCE_DIR — `plinth retrain` watching a
# folder: train an MNIST MLP, start the retrain loop, then drop three
# prepared arrivals into the watched folder one at a time (make_data.py):
#   a-same      ordinary digits: evaluated, no drift, nothing trained
#   b-inverted  inverted pixels: drift detected, a candidate fine-tuned from
#               the model (with replayed old data) and promoted
#   c-rotated   rotated digits labelled 0: drift, the candidate is worse on
#               the held-out digits and is not promoted
# then SIGTERM (exit 0), the lineage in models.json, a second run with
# nothing new, and a bad retrain file.
set -u
plinth=$1 manifests=$2 src=$3
mnist="$src/examples/mnist/data"
[ -f "$mnist/train-images-idx3-ubyte.gz" ] || { echo "skipped: no MNIST data (examples/mnist/prepare_data.sh)"; exit 77; }
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work"
fail() {
  echo "FAIL: $*"
  echo "--- retrain.jsonl ---"
  cat runs/digits-retrain/retrain.jsonl 2> /dev/null
  echo "--- log ---"
  tail -n 20 retrain.log 2> /dev/null
  exit 1
}
/usr/bin/env python3 "$src/tests/retrain/make_data.py" "$mnist" . || fail "make_data.py"
cp "$src/tests/retrain/base.toml" "$src/tests/retrain/retrain.toml" .
mkdir incoming
run() { "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" "$@"; }
run train --no-progress base.toml > base.log 2>&1 || { cat base.log; fail "training the base model"; }

events=runs/digits-retrain/retrain.jsonl
wait_event() {  # wait_event ARRIVAL EVENT
  for _ in $(seq 600); do
    grep -q "\"arrival\":\"$1\",\"event\":\"$2\"" "$events" 2> /dev/null && return 0
    kill -0 "$pid" 2> /dev/null || fail "plinth retrain exited while waiting for $1 $2"
    sleep 0.1
  done
  fail "no '$2' event for $1 within 60 s"
}
# exec: $pid must be plinth itself, not a subshell running it.
(exec "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" retrain retrain.toml > retrain.log 2>&1) &
pid=$!
wait_event "" started
mv ready/a-same incoming/
wait_event a-same no_drift
mv ready/b-inverted incoming/
wait_event b-inverted evaluated
wait_event b-inverted fine_tuning
wait_event b-inverted promoted
mv ready/c-rotated incoming/
wait_event c-rotated fine_tuning
wait_event c-rotated rejected
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ "$rc" -eq 0 ] || fail "exit code $rc after SIGTERM, expected 0"
grep -q "3 arrival(s) handled (stopped by a signal)" retrain.log || fail "the last line does not say what was handled"

# The figures: drift and promotion decisions follow the metrics logged.
/usr/bin/env python3 - <<'PY' || fail "the decisions do not follow the logged metrics"
import json
ev = [json.loads(l) for l in open("runs/digits-retrain/retrain.jsonl")]
get = lambda a, e: next(x for x in ev if x["arrival"] == a and x["event"] == e)
a, b, c = get("a-same", "evaluated"), get("b-inverted", "evaluated"), get("c-rotated", "evaluated")
assert a["drift"] <= a["threshold"], a
assert b["drift"] > b["threshold"] and c["drift"] > c["threshold"], (b, c)
p, r = get("b-inverted", "promoted"), get("c-rotated", "rejected")
assert p["eval.accuracy"] > p["previous"] + 0.3, p          # the candidate is far better on inverted digits
assert r["eval.accuracy"] <= r["current"], r                 # the rejected one is not better
models = json.load(open("runs/digits-retrain/models.json"))
assert [m["id"] for m in models] == ["initial", "candidate-1", "candidate-2"], models
assert models[1]["promoted"] and not models[2]["promoted"], models
assert models[2]["parent"] == models[1]["run"] and models[1]["parent"] == models[0]["run"], models
state = json.load(open("runs/digits-retrain/state.json"))
assert state["current"] == models[1]["run"] and state["processed"] == ["a-same", "b-inverted", "c-rotated"], state
print(f"no drift on ordinary digits ({a['drift']:+.3f}); inverted: {p['previous']:.3f} -> {p['eval.accuracy']:.3f}, "
      f"promoted; rotated with bad labels: candidate {r['eval.accuracy']:.3f} vs {r['current']:.3f}, rejected")
PY

# Nothing new: a second run handles nothing.
run retrain --once retrain.toml > once.log 2>&1 || { cat once.log; fail "retrain --once"; }
grep -q "0 arrival(s) handled" once.log || { cat once.log; fail "--once handled arrivals again"; }

# A bad retrain file: one error naming the file, line and key; exit 2.
printf '[retrain]\npipeline = "base.toml"\nmodel = "runs/digits"\nwatch = "incoming"\ndrift = 0.1\n' > bad.toml
run retrain --once bad.toml > bad.log 2>&1
[ $? -eq 2 ] || { cat bad.log; fail "a bad retrain file: expected exit 2"; }
grep -q "bad.toml:5:1: retrain.drift: unknown key" bad.log || { cat bad.log; fail "the error does not name the key"; }
echo ok
