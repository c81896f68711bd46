#!/usr/bin/env bash
# output_paths_test.sh PLINTH MANIFESTS PIPELINE — what every command that
# writes a path the user names does with what is already at that path:
# `export --weights FILE`, `export -o FILE`, `report -o FILE`, and the run
# folder of `train --out-dir DIR`. For each writer:
#   a symlink to a file        the target gets the bytes, the link stays a link,
#                              the target keeps its permission bits
#   a chain of symlinks to a   the file is created; the links stay
#   file not there yet
#   a FIFO, a link to a FIFO,  refused with exit 2 and one error naming the path
#   a folder, a link to a      and what is there; the FIFO is still a FIFO, the
#   character device           device still a device, nothing else written
#   a character device (root   refused the same way (a node made with mknod in
#   only)                      the scratch folder, never a real one in /dev)
#   a folder that is missing   exit 2, naming it
#   a read-only folder         exit 1 (a run-time failure, as documented); as
#                              root run as uid 65534, since root ignores modes
set -u
plinth=$1 manifests=$2 pipeline=$3
work=$(mktemp -d)
chmod 755 "$work"
trap 'chmod -R u+w "$work" 2> /dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 1
as_user=()
fails=0
fail() {
  echo "FAIL: $*"
  sed 's/^/  | /' "$work/log" 2> /dev/null | tail -n 5
  fails=$((fails + 1))
}
p() {
  timeout 60 "${as_user[@]}" env -u PLINTH_PLUGIN_PATH "$plinth" --no-system-plugins --no-install-plugins \
    --plugin-path "$manifests" "$@"
}

cp "$pipeline" pipeline.toml
p train --no-progress pipeline.toml > log 2>&1 || {
  cat log
  echo "FAIL: the test run did not train"
  exit 1
}
run=$work/runs/report-test

# The writers: each takes the path to write.
weights() { p export "$run" --weights "$1"; }
csv() { p export "$run" -o "$1"; }
report() { p report "$run" -o "$1"; }

# expect_refused WRITER PATH TEXT: exit 2, one error line holding TEXT.
expect_refused() {
  local writer=$1 path=$2 text=$3 rc
  "$writer" "$path" > log 2>&1
  rc=$?
  [ "$rc" -eq 2 ] || fail "$writer $path: exit $rc, expected 2"
  grep -qF -- "$text" log || fail "$writer $path: no error saying '$text'"
  [ "$(grep -c 'plinth: error:' log)" -eq 1 ] || fail "$writer $path: not exactly one error line"
}

root=0
[ "$(id -u)" -eq 0 ] && root=1
for writer in weights csv report; do
  d=$work/$writer
  mkdir "$d"
  "$writer" "$d/plain" > log 2>&1 || fail "$writer to a plain path: exit $?"

  # A symlink to an existing file: written through, the link kept.
  echo old > "$d/target"
  chmod 640 "$d/target"
  ln -s target "$d/link"
  "$writer" "$d/link" > log 2>&1 || fail "$writer through a symlink: exit $?"
  [ -L "$d/link" ] && [ "$(readlink "$d/link")" = target ] || fail "$writer: the symlink was replaced"
  [ -f "$d/target" ] && [ ! -L "$d/target" ] || fail "$writer: the target is not a regular file"
  [ "$(stat -c %a "$d/target")" = 640 ] || fail "$writer: the target's mode changed to $(stat -c %a "$d/target")"
  if [ "$writer" = report ]; then
    grep -qi '<html' "$d/target" || fail "$writer: the target holds no HTML"
  else
    cmp -s "$d/plain" "$d/target" || fail "$writer: the target does not hold what a plain path gets"
  fi

  # A chain (relative, then absolute) to a file not there yet: created.
  mkdir "$d/sub"
  ln -s "$d/sub/new" "$d/abs-link"
  ln -s abs-link "$d/chain"
  "$writer" "$d/chain" > log 2>&1 || fail "$writer through a chain to a new file: exit $?"
  [ -L "$d/chain" ] && [ -L "$d/abs-link" ] || fail "$writer: a link of the chain was replaced"
  [ -f "$d/sub/new" ] && [ -s "$d/sub/new" ] || fail "$writer: the new file was not created"
  ls "$d/sub" | grep -q '\.tmp$' && fail "$writer: a temporary file was left in the target's folder"
  ls "$d" | grep -q '\.tmp$' && fail "$writer: a temporary file was left beside the link"

  # A FIFO, directly and through a link: refused, still a FIFO.
  mkfifo "$d/fifo"
  expect_refused "$writer" "$d/fifo" "$d/fifo: is a FIFO"
  ln -s fifo "$d/to-fifo"
  expect_refused "$writer" "$d/to-fifo" "$d/to-fifo -> $d/fifo: is a FIFO"
  [ -p "$d/fifo" ] && [ -L "$d/to-fifo" ] || fail "$writer: the FIFO or its link was replaced"

  # A link to a character device: refused before the device is opened.
  ln -s /dev/full "$d/to-full"
  expect_refused "$writer" "$d/to-full" "$d/to-full -> /dev/full: is a character device"
  [ -L "$d/to-full" ] || fail "$writer: the link to /dev/full was replaced"

  # A folder, and a link to one.
  mkdir "$d/folder"
  expect_refused "$writer" "$d/folder" "$d/folder: is a folder"
  ln -s folder "$d/to-folder"
  expect_refused "$writer" "$d/to-folder" "is a folder"
  [ -z "$(ls -A "$d/folder")" ] || fail "$writer: something was written into the folder"

  # A device node itself (root only: mknod), the /dev/full case made safe.
  if [ "$root" -eq 1 ] && mknod "$d/full" c 1 7 2> /dev/null; then
    expect_refused "$writer" "$d/full" "$d/full: is a character device"
    [ -c "$d/full" ] || fail "$writer: the device node was replaced"
  fi

  # A folder that does not exist.
  expect_refused "$writer" "$d/no-such/out" "no such folder: $d/no-such"
done
[ -c /dev/full ] || fail "/dev/full is no longer a character device"

# `export --weights -` is refused (binary), `-o -` is standard output.
expect_refused weights - "--weights -"
csv - > stdout 2> log || fail "export -o -: exit $?"
cmp -s stdout "$work/csv/plain" || fail "export -o - does not print the CSV"

# train: a file at --out-dir or at <out_dir>/<name> is refused, untouched.
echo keep > a-file
p train --no-progress --out-dir a-file pipeline.toml > log 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "train --out-dir FILE: exit $rc, expected 2"
grep -qF "a-file: cannot create the output folder: a-file is a regular file, not a folder" log ||
  fail "train --out-dir FILE: the error does not name a-file"
[ "$(cat a-file)" = keep ] || fail "train --out-dir FILE changed the file"
mkdir other
echo keep > other/report-test
p train --no-progress --out-dir other pipeline.toml > log 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "train with a file at <out_dir>/<name>: exit $rc, expected 2"
grep -qF "other/report-test: cannot create the run folder: other/report-test is a regular file, not a folder" log ||
  fail "train: the error does not name other/report-test"
[ "$(cat other/report-test)" = keep ] && [ ! -e other/report-test-2 ] || fail "train stepped around the file"

# A read-only output folder: exit 1 (a run-time failure), naming the path.
can_drop=1
if [ "$root" -eq 1 ]; then
  if command -v setpriv > /dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$plinth"; then
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    chown -R 65534:65534 "$work"
  else
    can_drop=0
    echo "skipped the read-only part: root, and uid 65534 cannot run $plinth"
  fi
fi
if [ "$can_drop" -eq 1 ]; then
  mkdir ro
  chmod a-w ro
  for writer in weights csv report; do
    "$writer" ro/out > log 2>&1
    rc=$?
    [ "$rc" -eq 1 ] || fail "$writer into a read-only folder: exit $rc, expected 1"
    grep -qF "ro/out.tmp: cannot create: Permission denied" log || fail "$writer: the error does not name ro/out.tmp"
  done
  p train --no-progress --out-dir ro/runs pipeline.toml > log 2>&1
  rc=$?
  [ "$rc" -eq 1 ] || fail "train --out-dir in a read-only folder: exit $rc, expected 1"
  grep -qF "ro/runs: cannot create the output folder: Permission denied" log ||
    fail "train: the error does not name the run folder"
  as_user=()
fi

[ "$fails" -eq 0 ] || {
  echo "$fails failure(s)"
  exit 1
}
echo "ok: symlinks written through, devices, FIFOs and folders refused, read-only folders exit 1"
