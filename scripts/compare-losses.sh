#!/usr/bin/env bash
# compare-losses.sh — show that a change leaves training bit-identical: build
# BASE (a git ref, default: the commit before the layer/trainer redesign) in a
# throw-away worktree, train the MNIST, MNIST-CNN and char-GPT examples for a
# bounded number of steps with both that build and this checkout's build, and
# compare every loss, learning rate, gradient norm and evaluation figure of
# metrics.jsonl bit for bit (as printed: the shortest text that reads back as
# the same double). Wall-clock fields are left out; they always differ.
#
#   bash scripts/compare-losses.sh [BASE]      exit 0: identical, 1: differs
#   PLINTH_BUILD_DIR   this checkout's build (default: build; built if absent)
#   PLINTH_BASE_BUILD  a build of BASE to use instead of building one
#   STEPS_MNIST / STEPS_CNN / STEPS_GPT        optimizer steps per example
#                                             (default 300 / 100 / 200)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
base="${1:-6347ded}"
build="${PLINTH_BUILD_DIR:-build}"
steps_mnist="${STEPS_MNIST:-300}"
steps_cnn="${STEPS_CNN:-100}"
steps_gpt="${STEPS_GPT:-200}"

mkdir -p "$build"
work="$(mktemp -d "$PWD/$build/compare-losses.XXXXXX")"
cleanup() {
  git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

bash examples/mnist/prepare_data.sh >/dev/null
bash examples/char-gpt/prepare_data.sh >/dev/null

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
configure_and_build() {  # src build
  [ -f "$2/build.ninja" ] || cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
  cmake --build "$2" -j "$(nproc)" >/dev/null
}

if [ -n "${PLINTH_BASE_BUILD:-}" ]; then
  base_bin="$(cd "$PLINTH_BASE_BUILD" && pwd)/bin/plinth"
else
  echo "building $base in $work/base"
  git -C "$root" worktree add --detach -q "$work/base" "$base"
  configure_and_build "$work/base" "$work/base/build"
  base_bin="$work/base/build/bin/plinth"
fi
echo "building this checkout in $build"
configure_and_build "$root" "$build"

# One run: BINARY EXAMPLE_DIR STEPS OUT
train() {
  # Relative data paths resolve against the pipeline's folder, so the copy of
  # each example's pipeline.toml stays in its own folder.
  "$1" train "$2/pipeline.toml" --no-progress --stop-at-step "$3" --out-dir "$4" >"$4.log" 2>&1 ||
    { echo "train failed: $1 $2 (log: $4.log)"; tail -5 "$4.log"; return 1; }
}

# The figures to compare: every metrics line without its timing fields.
figures() {
  /usr/bin/env python3 - "$1" <<'EOF'
import json, sys, pathlib
run = pathlib.Path(sys.argv[1])
dirs = [d for d in run.iterdir() if d.is_dir()]
assert len(dirs) == 1, f"expected one run folder under {run}"
keys = {"step", "epoch", "loss", "lr", "grad_norm", "eval_loss", "eval_accuracy", "skipped_steps",
        "loss_scale", "target_reached", "early_stop"}
for line in (dirs[0] / "metrics.jsonl").read_text().splitlines():
    rec = json.loads(line)
    keep = {k: v for k, v in rec.items() if k in keys}
    print(json.dumps(keep, sort_keys=True))
EOF
}

status=0
for spec in "examples/mnist:$steps_mnist" "examples/mnist-cnn:$steps_cnn" "examples/char-gpt:$steps_gpt"; do
  ex="${spec%%:*}"
  n="${spec##*:}"
  name="$(basename "$ex")"
  train "$base_bin" "$root/$ex" "$n" "$work/$name-base"
  train "$root/$build/bin/plinth" "$root/$ex" "$n" "$work/$name-new"
  figures "$work/$name-base" >"$work/$name-base.txt"
  figures "$work/$name-new" >"$work/$name-new.txt"
  lines="$(wc -l <"$work/$name-base.txt")"
  if [ "$lines" -lt 2 ]; then
    echo "$name: only $lines metrics lines; nothing to compare"
    status=1
  elif cmp -s "$work/$name-base.txt" "$work/$name-new.txt"; then
    echo "$name: $n steps, $lines metrics lines: identical"
  else
    echo "$name: DIFFERS"
    diff "$work/$name-base.txt" "$work/$name-new.txt" | head -10
    status=1
  fi
done
exit "$status"
