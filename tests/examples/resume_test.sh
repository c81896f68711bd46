#!/usr/bin/env bash
# resume_test.sh PLINTH PIPELINE MANIFESTS — train once uninterrupted; then
# train again, killed with SIGKILL at random moments (at least 10 times,
# some of them while a checkpoint is being written) and resumed with
# --resume each time; the final model.safetensors must be the same bytes.
set -eu
plinth=$1 pipeline=$2 manifests=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seed=${RESUME_TEST_SEED:-$(date +%s)}
RANDOM=$seed
echo "random seed $seed (set RESUME_TEST_SEED to repeat)"
train() {
  "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
    train --no-progress --out-dir "$@" "$pipeline"
}
t0=$(date +%s%N)
train "$work/a" > "$work/a.log" 2>&1 || { cat "$work/a.log"; exit 1; }
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
ref="$work/a/resume/model.safetensors"
[ -f "$ref" ] || { echo "no reference model"; exit 1; }
# Each kill comes after a random 20 ms .. ms/12: twelve of them cannot finish
# the run however fast or slow the disk (checkpoints are fsynced) is. When
# the run is so fast that ms/12 is within the start-up (summary.json's
# first_step_s), the window reaches past the first step by 40 ms or a
# twelfth of the training time instead, or every kill would land before
# training starts and none during a write.
first_ms=$(grep -o '"first_step_s": [0-9.]*' "$work/a/resume/summary.json" | awk '{printf "%d", $2 * 1000}')
[ -n "$first_ms" ] || { echo "no first_step_s in the reference summary"; exit 1; }
# Past the first step, the window spans at least a twelfth of the training
# time too (a sanitizer build's step is slow: 40 ms may hold no write).
train_ms=$(((ms - first_ms) / 12))
# first_step_s counts from main(); loading the program and its libraries
# comes before it (over 150 ms in a sanitizer build): timed with --version.
l0=$(date +%s%N)
"$plinth" --version > /dev/null 2>&1 || true
load_ms=$((($(date +%s%N) - l0) / 1000000))
floor=$((load_ms + first_ms + (train_ms > 40 ? train_ms : 40)))
max_sleep=$((ms / 12 > floor ? ms / 12 : floor))
echo "uninterrupted: $ms ms, first step after $first_ms ms (+ $load_ms ms to load); kills after 20..$max_sleep ms"
ckpts="$work/b/resume/checkpoints"

# The final weights and the logged losses of a resumed run in $1 must equal
# the uninterrupted run's.
check_same() {
  cmp "$ref" "$1/resume/model.safetensors"
  diff <(grep -o '"step":[0-9]*,"epoch":[0-9]*,"time_s":[^,]*,"loss":[^,]*' "$work/a/resume/metrics.jsonl" | sed 's/"time_s":[^,]*,//') \
       <(grep -o '"step":[0-9]*,"epoch":[0-9]*,"time_s":[^,]*,"loss":[^,]*' "$1/resume/metrics.jsonl" | sed 's/"time_s":[^,]*,//') > /dev/null \
    || { echo "the logged losses differ"; exit 1; }
}

kills=0 mid_write=0 completed=0
# Twelve kills, and more (up to 80) until one lands during a checkpoint write:
# how often one does depends on how long a write takes against the startup.
# A killed-and-resumed run that completes before that (the machine was
# faster than when the reference run was timed) is checked like the final
# one, then started again from scratch with shorter sleeps.
while [ "$kills" -lt 12 ] || [ "$mid_write" -eq 0 ]; do
  [ "$kills" -lt 80 ] || { echo "$kills kills, none during a checkpoint write"; exit 1; }
  # exec: $! must be plinth itself, not a subshell that would survive as its parent.
  (exec "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
    train --no-progress --out-dir "$work/b" --resume "$pipeline" > "$work/b.log" 2>&1) &
  pid=$!
  d=$((20 + (RANDOM * 32768 + RANDOM) % (max_sleep - 19)))
  sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
  if kill -9 "$pid" 2> /dev/null; then
    wait "$pid" 2> /dev/null || true
    kills=$((kills + 1))
    # A temporary folder left behind: the kill came during a checkpoint write.
    if ls -d "$ckpts"/.tmp-step-* > /dev/null 2>&1; then mid_write=$((mid_write + 1)); fi
  else
    wait "$pid" || { cat "$work/b.log"; exit 1; }
    check_same "$work/b"
    completed=$((completed + 1))
    rm -rf "$work/b"
    max_sleep=$((max_sleep * 2 / 3 > floor ? max_sleep * 2 / 3 : floor))
  fi
done
train "$work/b" --resume > "$work/b.log" 2>&1 || { cat "$work/b.log"; exit 1; }
echo "$kills kills ($mid_write during a checkpoint write), $completed killed run(s) completed and matched before;" \
  "$(grep -o 'resumed from step [0-9]*' "$work/b.log" || echo 'no resume')"
check_same "$work/b"
echo "final weights identical"
