#!/usr/bin/env bash
# onnx_errors_test.sh PLINTH MANIFESTS — `plinth export --onnx` refuses with
# one clear line and exit status 2: a run folder that does not exist, a run
# without weights (no model.safetensors, no checkpoint), --test-data without
# --onnx, and --onnx with --weights.
set -u
plinth=$1 manifests=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
P=("$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests")
fails=0
# expect STATUS TEXT CMD...: the command exits with STATUS and its stderr contains TEXT.
expect() {
  local status=$1 text=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" != "$status" ] || ! grep -qF -- "$text" "$work/err"; then
    echo "FAIL: $* -> status $got (want $status), stderr:"; cat "$work/err"; fails=$((fails + 1))
  else
    echo "ok: $* -> $(head -1 "$work/err")"
  fi
}

expect 2 "$work/nope: not a run folder" "${P[@]}" export "$work/nope" --onnx "$work/m.onnx"

cat >"$work/p.toml" <<'TOML'
[run]
name = "small"
[data.train]
source = "synthetic"
samples = 32
shape = [6]
num_classes = 3
[[model.layer]]
type = "linear"
out = 3
[train]
max_steps = 2
batch_size = 4
TOML
"${P[@]}" train --no-progress --out-dir "$work" "$work/p.toml" >"$work/train.log" 2>&1 || { cat "$work/train.log"; exit 1; }
expect 2 "--test-data needs --onnx" "${P[@]}" export "$work/small" --test-data "$work/td"
expect 2 "one export at a time" "${P[@]}" export "$work/small" --onnx "$work/m.onnx" --weights "$work/w.safetensors"
expect 0 "exported: $work/m.onnx" "${P[@]}" export "$work/small" --onnx "$work/m.onnx"
rm -rf "$work/small/model.safetensors" "$work/small/checkpoints"
expect 2 "no model.safetensors and no readable checkpoint" "${P[@]}" export "$work/small" --onnx "$work/m2.onnx"
[ ! -e "$work/m2.onnx" ] || { echo "FAIL: a failed export left $work/m2.onnx"; fails=$((fails + 1)); }
exit $((fails > 0))
