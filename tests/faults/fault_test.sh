#!/usr/bin/env bash
# fault_test.sh PLINTH MANIFESTS FAULT_MANIFESTS CASE — faults a long run
# meets, each checked end to end on `plinth train`:
#   disk_full_continue  a checkpoint write hits the file size limit (prlimit
#                       RLIMIT_FSIZE on the running process): warned, counted,
#                       training goes on, the older checkpoints stay valid
#   disk_full_stop      the same with [checkpoint] on_error = "stop": exit 1
#                       naming the file, the older checkpoints resume
#   read_only           the run folder becomes read-only (as a non-root user:
#                       root runs plinth as `nobody` through setpriv)
#   data_removed        the CSV file is deleted mid-epoch: the source holds it
#                       in memory, so training goes on; a later --resume,
#                       which opens it again, refuses with exit 2
#   shard_truncated     a token shard is truncated mid-run (`truncate -s`): the
#                       run ends with an error naming the shard, not SIGBUS
#   sigterm             SIGTERM: a final checkpoint, exit 0, --resume goes on
#   sighup              SIGHUP (the session went away): the same as SIGTERM
#   plugin_error        the optimizer plugin fails at step 25: the run stops
#                       with its message (exit 1), checkpoints 10 and 20 are
#                       intact and --resume finishes the run
#   second_writer       while a run trains, `--resume` of it and an export
#                       into its folder are refused naming its PID, and a
#                       second plain run of the same name goes to fault-2;
#                       the first writes every checkpoint and its metrics
#                       stay in step order
#   resume_not_a_run    `--resume` into a folder that is not a Plinth run, or
#                       a run of another pipeline, is refused and changes
#                       nothing there; a name leaving out_dir writes nothing
# Exit 77 (skipped) when the fault cannot be set up here.
set -u
plinth=$1 manifests=$2 fault_manifests=$3 case=$4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
  chmod -R u+w "$work" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- log ---"
  cat "$work/log" 2> /dev/null | tail -n 30
  exit 1
}
skip() {
  echo "skipped: $*"
  exit 77
}

# 2000 rows of 16 features and a label 0..3 (a deterministic pattern).
awk 'BEGIN { for (i = 0; i < 2000; i++) { s = ""; for (j = 0; j < 16; j++) s = s sprintf("%.3f,", ((i * 7 + j * 13) % 97) / 97.0); print s (i % 4) } }' > "$work/data.csv"
cp "$here/fault.toml" "$work/pipeline.toml"
run_dir="$work/runs/fault"
ckpts="$run_dir/checkpoints"
as_user=()

train_bg() {  # train_bg [args...]: start plinth in the background, output in $work/log
  (cd "$work" && exec "${as_user[@]}" "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
    --plugin-path "$fault_manifests" train --no-progress "$@" pipeline.toml > "$work/log" 2>&1) &
  pid=$!
  pids+=("$pid")
}
train_fg() {
  (cd "$work" && "${as_user[@]}" "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
    --plugin-path "$fault_manifests" train --no-progress "$@" pipeline.toml > "$work/log" 2>&1)
}
wait_for() {  # wait_for SECONDS CMD...: poll until CMD succeeds
  local n=$(($1 * 10))
  shift
  for _ in $(seq "$n"); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
has_ckpt_after() {  # has_ckpt_after N: a step-M checkpoint with M > N exists
  local d
  for d in "$ckpts"/step-*; do
    [ -d "$d" ] && [ "${d##*step-}" -gt "$1" ] && return 0
  done
  return 1
}
newest_step() { ls -d "$ckpts"/step-* 2> /dev/null | sed 's/.*step-//' | sort -n | tail -n1; }
# Every checkpoint folder's files match the checksum its state.json records
# (XXH3-128, checked with xxhsum, independent of plinth's own reader).
verify_checkpoints() {
  local d f want got n=0
  for d in "$ckpts"/step-*; do
    [ -d "$d" ] || continue
    for f in model.safetensors optimizer.safetensors; do
      want=$(sed -n "s/.*\"$f\": \"xxh128:\([0-9a-f]*\)\".*/\1/p" "$d/state.json")
      got=$(xxhsum -H2 "$d/$f" | cut -d' ' -f1)
      [ -n "$want" ] && [ "$want" = "$got" ] || fail "checkpoint $d: $f does not match state.json"
    done
    n=$((n + 1))
  done
  [ "$n" -ge 1 ] || fail "no checkpoint left"
  # A failed write removes its temporary folder, except where the folder
  # cannot be written at all (read_only); load and prune ignore such folders.
  [ "${1:-}" = tmp_ok ] || ! ls -d "$ckpts"/.tmp-* > /dev/null 2>&1 || fail "a temporary checkpoint folder was left behind"
  echo "$n checkpoint(s) verified"
}
long() { sed -i 's/^max_steps = .*/max_steps = 1000000/' "$work/pipeline.toml"; }
set_policy() { sed -i "s/^on_error = .*/on_error = \"$1\"/" "$work/pipeline.toml"; }

case $case in
  disk_full_continue | disk_full_stop)
    command -v prlimit > /dev/null || skip "no prlimit"
    long
    policy=${case#disk_full_}
    set_policy "$policy"
    train_bg
    wait_for 30 has_ckpt_after 0 || fail "no first checkpoint"
    # model.safetensors is ~26 KiB; metrics.jsonl and log.txt stay far below 12 KiB.
    prlimit --pid "$pid" --fsize=12288:unlimited || skip "prlimit cannot change the running process's limit"
    before=$(newest_step)
    wait_for 30 grep -q "File too large" "$work/log" || fail "no checkpoint failure reported"
    if [ "$policy" = stop ]; then
      wait "$pid"
      rc=$?
      [ "$rc" -eq 1 ] || fail "exit code $rc, expected 1"
      grep -q 'error: .*File too large (checkpoint.on_error = "stop"; newest good checkpoint: ' "$work/log" \
        || fail "the error does not name the failure and the newest good checkpoint"
      verify_checkpoints
      # The older checkpoint resumes (no limit now); stop it again with SIGTERM.
      train_bg --resume
      wait_for 30 grep -q "resuming from" "$work/log" || fail "--resume did not resume"
      kill -TERM "$pid"
      wait "$pid" || fail "the resumed run did not stop cleanly"
    else
      wait_for 30 grep -q 'training goes on (checkpoint.on_error = "continue")' "$work/log" \
        || fail "no 'training goes on' warning"
      prlimit --pid "$pid" --fsize=unlimited:unlimited || fail "cannot lift the file size limit again"
      failed_at=$(newest_step)
      wait_for 30 has_ckpt_after "$failed_at" || fail "no checkpoint after the disk had room again"
      kill -TERM "$pid"
      wait "$pid"
      rc=$?
      [ "$rc" -eq 0 ] || fail "exit code $rc after SIGTERM, expected 0"
      grep -q 'checkpoint write(s) FAILED' "$work/log" || fail "the final line does not report the failed checkpoints"
      grep -q '"checkpoint_failures": [1-9]' "$run_dir/summary.json" || fail "summary.json has no checkpoint_failures"
      verify_checkpoints
    fi
    echo "checkpoint failure after step $before handled by policy '$policy'"
    ;;

  read_only)
    if [ "$(id -u)" -eq 0 ]; then
      command -v setpriv > /dev/null || skip "root, and no setpriv to run as another user"
      as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
      "${as_user[@]}" true 2> /dev/null || skip "setpriv cannot switch to uid 65534"
      "${as_user[@]}" test -x "$plinth" -a -r "$plinth" || skip "uid 65534 cannot run $plinth"
      chown -R 65534:65534 "$work"
    fi
    long
    # No metrics line while it trains: a failed metrics write ends a run by
    # itself, so on a fast machine a log step landing between the chmod and
    # the next checkpoint would end it before any checkpoint could fail.
    sed -i 's/^log_every = .*/log_every = 100000000/' "$work/pipeline.toml"
    train_bg
    wait_for 30 has_ckpt_after 0 || fail "no first checkpoint"
    chmod a-w "$run_dir" "$ckpts"
    wait_for 30 grep -q "Permission denied" "$work/log" || fail "no checkpoint failure reported"
    wait_for 30 grep -q 'training goes on' "$work/log" || fail "no 'training goes on' warning"
    kill -TERM "$pid"
    wait "$pid"
    rc=$?
    # Nothing more can be written into a read-only folder: a run-time failure
    # naming the first file that could not be written — the metrics when a log
    # step came after the chmod, else the final weights. A failed metrics write
    # ends the run by itself, so the SIGTERM may reach a process that has
    # already printed its error and is exiting (slowly under ASan, whose leak
    # check runs then): 143 is that, and only with the error in the log.
    if [ "$rc" -eq 143 ] && grep -q "plinth: error: .*metrics.jsonl: cannot open for append" "$work/log"; then rc=1; fi
    [ "$rc" -eq 1 ] || fail "exit code $rc, expected 1 (run folder not writable)"
    grep -Eq "error: .*(model.safetensors.tmp: cannot create|metrics.jsonl: cannot open for append): Permission denied" \
      "$work/log" || fail "the error does not name the file that could not be written"
    chmod u+w "$run_dir" "$ckpts"
    verify_checkpoints tmp_ok
    ;;

  data_removed)
    long
    train_bg
    wait_for 30 has_ckpt_after 0 || fail "no first checkpoint"
    rm "$work/data.csv"
    at=$(newest_step)
    wait_for 30 has_ckpt_after "$at" || fail "training stopped after the data file was removed"
    kill -TERM "$pid"
    wait "$pid" || fail "exit code $? after SIGTERM"
    verify_checkpoints
    train_fg --resume
    rc=$?
    [ "$rc" -eq 2 ] || fail "--resume without the data file: exit code $rc, expected 2"
    grep -q "csv file 'data.csv': No such file or directory" "$work/log" || fail "the error does not name the file"
    echo "the CSV source reads its file whole at open: removing it mid-run changes nothing; --resume reports it"
    ;;

  shard_truncated)
    # A raw shard of 200,000 uint16 ids below 256, and a small model on it.
    python3 -c 'import sys; sys.stdout.buffer.write(bytes(b for i in range(200000) for b in ((i * 37 + i // 256) % 256, 0)))' \
      > "$work/shard.bin"
    cat > "$work/pipeline.toml" << 'EOF2'
[run]
name = "fault"

[data.train]
source = "tokens"
path = "shard.bin"
format = "raw"
block_size = 16
vocab_size = 256

[[model.layer]]
type = "embedding"
dim = 8

[[model.layer]]
type = "linear"
out = 256

[train]
max_steps = 1000000
batch_size = 8
log_every = 1
EOF2
    train_bg
    wait_for 30 grep -q '"step"' "$run_dir/metrics.jsonl" || fail "no training step logged"
    truncate -s 2048 "$work/shard.bin"
    wait_for 30 eval '! kill -0 "$pid" 2> /dev/null' || fail "training went on over a truncated shard"
    wait "$pid"
    rc=$?
    [ "$rc" -ne 135 ] || fail "killed by SIGBUS"
    [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ] || fail "exit code $rc, expected 1 or 2"
    grep -q "error: .*tokens file '.*shard.bin': the file changed while in use: it had 400000 bytes when opened and now has 2048" \
      "$work/log" || fail "the error does not name the shard and its sizes"
    echo "a shard truncated mid-run ends the run with exit $rc naming it"
    ;;

  sigterm | sighup)
    sig=$(echo "${case#sig}" | tr a-z A-Z)
    long
    train_bg
    wait_for 30 grep -q '"step"' "$run_dir/metrics.jsonl" || fail "no training step logged"
    sleep 0.3
    kill -"$sig" "$pid"
    wait "$pid"
    rc=$?
    [ "$rc" -eq 0 ] || fail "exit code $rc after SIG$sig, expected 0"
    grep -q "stopped by SIG$sig" "$work/log" || fail "the final line does not say SIG$sig"
    steps=$(sed -n 's/^  "steps": \([0-9]*\),/\1/p' "$run_dir/summary.json")
    [ -d "$ckpts/step-$steps" ] || fail "no final checkpoint step-$steps"
    verify_checkpoints
    train_bg --resume
    wait_for 30 grep -q "resuming from .*step-$steps (step $steps" "$work/log" || fail "--resume did not start at step $steps"
    kill -"$sig" "$pid"
    wait "$pid" || fail "the resumed run: exit code $?"
    echo "SIG$sig at step $steps: final checkpoint written, exit 0, resumed from it"
    ;;

  sighup_ignored)
    # Under nohup SIGHUP stays ignored: the run goes on, and SIGTERM ends it.
    long
    (cd "$work" && exec nohup "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
      --plugin-path "$fault_manifests" train --no-progress pipeline.toml > "$work/log" 2>&1) &
    pid=$!
    pids+=("$pid")
    wait_for 30 grep -q '"step"' "$run_dir/metrics.jsonl" || fail "no training step logged"
    kill -HUP "$pid"
    sleep 0.3
    at=$(newest_step)
    wait_for 30 has_ckpt_after "${at:-0}" || fail "SIGHUP under nohup stopped the run"
    kill -0 "$pid" 2> /dev/null || fail "SIGHUP under nohup ended the process"
    kill -TERM "$pid"
    wait "$pid" || fail "exit code $? after SIGTERM"
    grep -q "stopped by SIGTERM" "$work/log" || fail "the final line does not say SIGTERM"
    echo "SIGHUP ignored under nohup; SIGTERM stopped the run"
    ;;

  plugin_error)
    sed -i 's/^name = "adamw"/name = "fault-sgd"/' "$work/pipeline.toml"
    PLINTH_FAULT_FAIL_AT_STEP=25 train_fg
    rc=$?
    [ "$rc" -eq 1 ] || fail "exit code $rc, expected 1"
    grep -q "error: optimizer 'fault-sgd' step on .*: fault-optim: injected failure at step 25 on " "$work/log" \
      || fail "the error does not carry the plugin's message"
    [ "$(newest_step)" = 20 ] || fail "newest checkpoint is step-$(newest_step), expected step-20"
    verify_checkpoints
    train_fg --resume || fail "--resume after the plugin error failed"
    grep -q "resumed from step 20" "$work/log" || fail "--resume did not start at step 20"
    echo "the plugin's error stopped the run at step 25; resumed from step 20 and finished"
    ;;

  second_writer)
    long
    sed -i 's/^log_every = .*/log_every = 5/' "$work/pipeline.toml"
    train_bg
    first=$pid
    wait_for 30 has_ckpt_after 0 || fail "no first checkpoint"
    # (a limit: a second writer that is let in would train on for a million steps)
    (cd "$work" && timeout 60 "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
      train --no-progress --resume pipeline.toml > "$work/log2" 2>&1)
    rc=$?
    [ "$rc" -eq 2 ] || fail "a second --resume: exit code $rc, expected 2 ($(cat "$work/log2"))"
    grep -q "error: .*runs/fault: another plinth process (PID $first) is writing this run folder" "$work/log2" \
      || fail "the refusal does not name the first run's PID $first: $(cat "$work/log2")"
    (cd "$work" && timeout 60 "$plinth" export runs/fault --weights runs/fault/exported.safetensors > "$work/log2" 2>&1)
    rc=$?
    [ "$rc" -eq 2 ] || fail "an export into the running run: exit code $rc, expected 2 ($(cat "$work/log2"))"
    grep -q "(PID $first)" "$work/log2" || fail "the export's refusal does not name PID $first"
    [ ! -e "$run_dir/exported.safetensors" ] || fail "the refused export wrote into the run folder"
    # A new run of the same name goes to a folder of its own.
    sed 's/^max_steps = .*/max_steps = 20/' "$work/pipeline.toml" > "$work/short.toml"
    (cd "$work" && "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
      train --no-progress short.toml > "$work/log2" 2>&1) || fail "a second run of the same name: $(cat "$work/log2")"
    [ -f "$work/runs/fault-2/model.safetensors" ] || fail "the second run did not go to runs/fault-2"
    kill -0 "$first" || fail "the first run ended early"
    at=$(newest_step)
    wait_for 30 has_ckpt_after "$at" || fail "the first run stopped checkpointing"
    kill -TERM "$first"
    wait "$first"
    rc=$?
    [ "$rc" -eq 0 ] || fail "the first run: exit code $rc after SIGTERM, expected 0"
    ! grep -q "checkpoint not written" "$work/log" || fail "the first run lost checkpoint writes"
    verify_checkpoints
    sed -n 's/^{"step": *\([0-9]*\).*/\1/p' "$run_dir/metrics.jsonl" > "$work/steps"
    [ -s "$work/steps" ] || fail "no step lines in metrics.jsonl"
    sort -n -c -u "$work/steps" || fail "metrics.jsonl steps go backwards or repeat"
    grep -qx "$first" "$run_dir/lock" || fail "the lock file does not hold the first run's PID"
    echo "second writers refused with PID $first; the first run's checkpoints and metrics are whole"
    ;;

  resume_not_a_run)
    mkdir -p "$run_dir/notes"
    echo "not a run" > "$run_dir/README"
    echo "keep me" > "$run_dir/notes/a.txt"
    listing() { (cd "$work" && find runs -printf '%p %y %s %m\n' | sort && find runs -type f -exec sha256sum {} + | sort); }
    before=$(listing)
    train_fg --resume
    rc=$?
    [ "$rc" -eq 2 ] || fail "--resume into a folder of other files: exit code $rc, expected 2"
    grep -q "error: .*cannot resume into runs/fault: it is not a Plinth run (no pipeline.toml)" "$work/log" \
      || fail "the error does not say the folder is not a run"
    [ "$before" = "$(listing)" ] || fail "the folder changed: $(diff <(echo "$before") <(listing) | head -5)"
    # A run of another model (the same name), without checkpoints: refused too.
    rm -rf "$run_dir"
    sed 's/^out = 256/out = 128/; s/^max_steps = .*/max_steps = 5/' "$work/pipeline.toml" > "$work/other.toml"
    (cd "$work" && "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
      train --no-progress other.toml > "$work/log" 2>&1) || fail "the other pipeline's run failed"
    rm -rf "$ckpts"
    before=$(listing)
    train_fg --resume
    rc=$?
    [ "$rc" -eq 2 ] || fail "--resume into a run of another pipeline: exit code $rc, expected 2"
    grep -q "cannot resume into runs/fault: it is a run of a different pipeline" "$work/log" \
      || fail "the error does not say the run is another pipeline's"
    [ "$before" = "$(listing)" ] || fail "the other run changed: $(diff <(echo "$before") <(listing) | head -5)"
    # Its own pipeline resumes it (from the beginning: it has no checkpoint).
    (cd "$work" && "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
      train --no-progress --resume other.toml > "$work/log" 2>&1) || fail "its own pipeline could not resume it: $(cat "$work/log")"
    grep -q "no checkpoint in runs/fault/checkpoints: starting from the beginning" "$work/log" \
      || fail "the resume by its own pipeline did not start from the beginning"
    # A run killed after it made its folder and lock, before pipeline.toml:
    # nothing of it to lose, so --resume starts it from the beginning.
    rm -rf "$run_dir" && mkdir -p "$run_dir" && : > "$run_dir/lock"
    (cd "$work" && "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
      train --no-progress --resume other.toml > "$work/log" 2>&1) \
      || fail "a folder holding only its lock could not be resumed: $(cat "$work/log")"
    [ -f "$run_dir/model.safetensors" ] || fail "the resume into a lock-only folder wrote no model"
    # Killed inside that first write, between the temporary and its rename
    # (the resume test's kills hit this window on a fast machine): the same.
    rm -rf "$run_dir" && mkdir -p "$run_dir" && : > "$run_dir/lock" && echo "[run" > "$run_dir/pipeline.toml.tmp"
    (cd "$work" && "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
      train --no-progress --resume other.toml > "$work/log" 2>&1) \
      || fail "a folder holding its lock and pipeline.toml.tmp could not be resumed: $(cat "$work/log")"
    [ -f "$run_dir/model.safetensors" ] || fail "the resume into a lock + pipeline.toml.tmp folder wrote no model"
    # A name that leaves out_dir: refused before anything is written, with or without --resume.
    mkdir -p "$work/deep/er" && mv "$work/pipeline.toml" "$work/deep/er/"
    sed -i 's|^name = .*|name = "../../victim"|' "$work/deep/er/pipeline.toml"
    for args in --resume --no-progress; do
      (cd "$work/deep/er" && "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" \
        train $args pipeline.toml > "$work/log" 2>&1)
      rc=$?
      [ "$rc" -eq 2 ] || fail "name ../../victim ($args): exit code $rc, expected 2"
      grep -q 'pipeline.toml:.*run.name: must be one folder name' "$work/log" || fail "the error does not name run.name"
      [ ! -e "$work/deep/victim" ] && [ ! -e "$work/deep/er/runs" ] || fail "a folder was written for ../../victim"
    done
    echo "--resume refused a folder of other files, a run of another pipeline and a name leaving out_dir"
    ;;

  *)
    echo "unknown case $case"
    exit 1
    ;;
esac
echo "ok: $case"
