#!/usr/bin/env bash
# onnx_errors_test.sh PLINTH MANIFESTS — `plinth export --onnx` refuses with
# one clear line and exit status 2: a run folder that does not exist, a run
# without weights (no model.safetensors, no checkpoint), --test-data without
# --onnx, --onnx with --weights, and --onnx - (standard output).
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
expect 2 "--onnx -: the model is not written to standard output" "${P[@]}" export "$work/small" --onnx -
expect 2 "one export at a time" "${P[@]}" export "$work/small" --onnx "$work/m.onnx" --weights "$work/w.safetensors"
expect 0 "exported: $work/m.onnx" "${P[@]}" export "$work/small" --onnx "$work/m.onnx"
# The weights file with its first tensor one row short: named, with both shapes.
first=$(/usr/bin/python3 - "$work/small/model.safetensors" <<'PY'
import json, struct, sys
path = sys.argv[1]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
name = sorted(k for k in header if k != "__metadata__")[0]
t = header[name]
row = 4 * (t["shape"][1] if len(t["shape"]) > 1 else 1)
t["shape"][0] -= 1
begin, end = t["data_offsets"]
data = raw[8 + n:]
data = data[:end - row] + data[end:]
for k, v in header.items():
    if k != "__metadata__" and v["data_offsets"][0] >= end:
        v["data_offsets"] = [v["data_offsets"][0] - row, v["data_offsets"][1] - row]
t["data_offsets"] = [begin, end - row]
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)
print(name)
PY
)
expect 2 "model.safetensors: tensor '$first' is f32 (2,), but the model's parameter is f32 (3,)" "${P[@]}" export "$work/small" --onnx "$work/m3.onnx"
rm -rf "$work/small/model.safetensors" "$work/small/checkpoints"
expect 2 "no model.safetensors and no readable checkpoint" "${P[@]}" export "$work/small" --onnx "$work/m2.onnx"
[ ! -e "$work/m2.onnx" ] || { echo "FAIL: a failed export left $work/m2.onnx"; fails=$((fails + 1)); }
exit $((fails > 0))
