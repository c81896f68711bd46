#!/usr/bin/env bash
# fault_test.sh <plinth> stop|kill [sync] — a 2-rank run whose rank 1 is stopped
# (SIGSTOP: alive but silent) or killed (SIGKILL) mid-run. Rank 0 must end
# within [distributed] timeout (+ the grace for naming the rank), with an
# error naming rank 1, never hang. Skips (77) without mpirun.
set -u
plinth=$1
mode=$2
sync=${3:-every_step}  # [distributed] sync: a silent rank is found at the next meeting
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
command -v mpirun >/dev/null || { echo "SKIP: mpirun not found (install openmpi-bin)"; exit 77; }
data=$src/examples/mnist/data
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "SKIP: no MNIST sample (examples/mnist/prepare_data.sh)"; exit 77; }
work=$(mktemp -d)
trap 'kill -KILL $(cat "$work"/pids 2>/dev/null) 2>/dev/null; rm -rf "$work"' EXIT
timeout=3
cat > "$work/p.toml" <<TOML
[run]
name = "fault"
out_dir = "$work/runs"
[backend]
name = "cpu"
threads = 1
[data.train]
source = "idx"
images = "$data/train-images-idx3-ubyte.gz"
labels = "$data/train-labels-idx1-ubyte.gz"
[[model.layer]]
type = "flatten"
[[model.layer]]
type = "linear"
out = 10
[loss]
type = "cross_entropy"
[optimizer]
name = "sgd"
[train]
max_steps = 100000000
batch_size = 32
log_every = 50
[distributed]
timeout = $timeout
sync = "$sync"
TOML
bash "$here/run_mpi.sh" 2 "$plinth" train --no-progress "$work/p.toml" > "$work/out" 2>&1 &
launcher=$!
# Wait until training runs (rank 0 wrote metrics), then find rank 1's process:
# up to 120 s, for a sanitizer build on busy cores (usually 1-3 s).
for _ in $(seq 1200); do
  [ -s "$work/runs/fault/metrics.jsonl" ] && break
  sleep 0.1
done
[ -s "$work/runs/fault/metrics.jsonl" ] || { echo "FAIL: the run did not start"; cat "$work/out"; exit 1; }
rank1=""
for p in $(pgrep -f "$work/p.toml"); do
  if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1; then rank1=$p; fi
done
[ -n "$rank1" ] || { echo "FAIL: no rank 1 process"; exit 1; }
echo "$rank1" > "$work/pids"
if [ "$mode" = stop ]; then kill -STOP "$rank1"; else kill -KILL "$rank1"; fi
start=$(date +%s%N)
# The backstop: a hang is a failure, not a stuck test.
for _ in $(seq 300); do
  kill -0 "$launcher" 2>/dev/null || break
  sleep 0.1
done
took_ms=$((($(date +%s%N) - start) / 1000000))
took=$((took_ms / 1000)).$(printf %03d $((took_ms % 1000)))
if kill -0 "$launcher" 2>/dev/null; then
  echo "FAIL: the run still hangs ${took}s after rank 1 was ${mode}ped"
  kill -KILL "$rank1" 2>/dev/null
  cat "$work/out"
  exit 1
fi
wait "$launcher"
rc=$?
cat "$work/out" | grep -v '^epoch' | tail -25
echo "ended ${took}s after the $mode, exit $rc"
[ "$rc" -ne 0 ] || { echo "FAIL: exit status 0"; exit 1; }
# Within the timeout plus the grace for pings (<= timeout/4, >= 0.5 s) and slack.
[ "$took_ms" -lt $(((timeout + 6) * 1000)) ] || { echo "FAIL: took ${took}s (timeout ${timeout}s)"; exit 1; }
if [ "$mode" = stop ]; then
  grep -q "rank 1 did not answer" "$work/out" || { echo "FAIL: no error naming rank 1"; exit 1; }
  grep -q "timed out after $timeout s" "$work/out" || { echo "FAIL: the error does not say it timed out"; exit 1; }
else
  # A killed rank: the launcher notices first and names it.
  grep -Eq "rank 1|\[\[[0-9]+,1\],1\]" "$work/out" || { echo "FAIL: no message naming rank 1"; exit 1; }
fi
echo PASS
