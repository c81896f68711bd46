#!/usr/bin/env bash
# run_corpus.sh PLINTH MANIFESTS FIXTURE_LIBS BAD_LIBS [FILTER] — run every
# case of the bad-input corpus (README.md) and check that each gives exit
# code 2 (or its "# exit:"), every "# expect:" text, and writes nothing under
# runs/ (for checkpoint cases: changes nothing there). FILTER (a substring of
# "<folder>/<case>") runs only the matching cases. Exit 0 only when every
# case passes and there are at least 40 of them (run unfiltered).
set -u
plinth=$1 manifests=$2 fxlib=$3 badlib=$4 filter=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
examples_extra="$here/../examples/bad_inputs"  # cases still being added there: run as pipelines
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export PLINTH_LOG_LEVEL=warn
unset PLINTH_ALLOW_INSECURE_PLUGINS PLINTH_REQUIRE_SIGNATURE PLINTH_PLUGIN_PATH
export PLINTH_TRUSTED_KEYS_DIR="$scratch/no-keys"

plinth_run() {
  "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" "$@"
}

# Header lines of a case: "# expect: ...", "# exit: N", "# setup: ...", "# env: K=V",
# "# needs: root".
header() { sed -n "s/^# $2: //p" "$1"; }

# A listing of runs/ that changes when anything under it is written.
snapshot() {
  if [ -e runs ]; then
    find runs -printf '%p %y %s %m\n' | sort
    find runs -type f -exec sha256sum {} + | sort
  fi
}

# For the checkpoint cases: rehash FILE sets FILE's checksum in $CKPT/state.json
# to the damaged file's (XXH3-128, "xxh128:<hex>", as `xxhsum -H2` prints it),
# so that the reader itself must catch the damage.
rehash() {
  local old new
  old=$(sed -n "s/.*\"$1\": \"xxh128:\([0-9a-f]*\)\".*/\1/p" "$CKPT/state.json")
  new=$(xxhsum -H2 "$CKPT/$1" | cut -d" " -f1)
  [ -n "$old" ] && [ -n "$new" ] && sed -i "s/$old/$new/" "$CKPT/state.json"
}
export -f rehash

# The base run the checkpoint cases damage: 4 steps, checkpoints at 2 and 4.
base="$scratch/base"
make_base() {
  mkdir -p "$base"
  cp "$here/files/ckpt.toml" "$base/pipeline.toml"
  (cd "$base" && plinth_run train --no-progress pipeline.toml > train.log 2>&1) || {
    echo "the base run for the checkpoint cases failed:"
    cat "$base/train.log"
    return 1
  }
  [ -d "$base/runs/ckpt/checkpoints/step-4" ] && [ -d "$base/runs/ckpt/checkpoints/step-2" ] || {
    echo "the base run wrote no step-2 and step-4 checkpoints"
    ls -R "$base/runs"
    return 1
  }
}

# Plugin libraries the manifest cases name (in plugins/, next to them).
plugin_dir() {
  local d=$1/plugins
  mkdir -p "$d"
  cp "$fxlib/libfx-good-optim.so" "$d/libgood-optim.so"
  cp "$fxlib/libfx-small-table.so" "$d/libsmall-table.so"
  cp "$fxlib/libfx-no-entry.so" "$d/libno-entry.so"
  cp "$fxlib/libfx-abi2.so" "$d/libabi2.so"
  cp "$fxlib/libfx-wrong-kind.so" "$d/libwrong-kind.so"
  cp "$fxlib/libfx-nodev.so" "$d/libnodev.so"
  cp "$fxlib/libfx-init-exit.so" "$d/libinit-exit.so"
  cp "$badlib/libbad-null-get.so" "$d/libnull-get.so"
  cp "$badlib/libbad-short-plugin.so" "$d/libshort-plugin.so"
  printf 'this is a text file, not a shared library\n' > "$d/libnot-elf.so"
  chmod 755 "$d"/*.so
}

pass=0 failed=0 total=0
failures=""
run_case() {
  local kind=$1 case=$2
  local name
  name=$(basename "$case")
  name=${name%.*}
  local id="$kind/$name"
  [ -z "$filter" ] || [[ "$id" == *"$filter"* ]] || return 0
  total=$((total + 1))
  if [ "$(header "$case" needs)" = root ] && [ "$(id -u)" -ne 0 ]; then
    pass=$((pass + 1))
    echo "skip  $id (needs root)"
    return 0
  fi
  local work="$scratch/case-$total"
  mkdir -p "$work/data"
  cp "$here"/files/* "$work/data/"
  local args=(train --no-progress pipeline.toml)
  case $kind in
    pipelines | data | examples) cp "$case" "$work/pipeline.toml" ;;
    manifests)
      plugin_dir "$work"
      cp "$case" "$work/plugins/$name.toml"
      sed "s/@CASE@/$name/" "$here/files/manifest_pipeline.toml" > "$work/pipeline.toml"
      ;;
    sweeps)
      cp "$case" "$work/sweep.toml"
      args=(sweep sweep.toml)
      ;;
    checkpoints)
      cp -a "$base/runs" "$work/runs"
      cp "$here/files/ckpt.toml" "$work/pipeline.toml"
      args=(train --no-progress --resume pipeline.toml)
      ;;
  esac
  local envs=() line
  while IFS= read -r line; do envs+=("$line"); done < <(header "$case" env)
  local why=""
  if [ "$kind" = checkpoints ]; then
    (cd "$work" && CKPT=runs/ckpt/checkpoints/step-4 OLDER=runs/ckpt/checkpoints/step-2 bash "$case") \
      || why="the case's setup failed"
  else
    # A data writer beside a pipeline case: <case>.sh DATA_DIR.
    if [ -f "${case%.toml}.sh" ]; then
      bash "${case%.toml}.sh" "$work/data" || why="the case's data writer failed"
    fi
    while IFS= read -r line; do
      (cd "$work" && bash -c "$line") || why="setup failed: $line"
    done < <(header "$case" setup)
  fi
  local before
  before=$(cd "$work" && snapshot)
  local out rc
  out=$(cd "$work" && env "${envs[@]}" "$plinth" --no-system-plugins --no-install-plugins \
    --plugin-path "$manifests" "${args[@]}" 2>&1)
  rc=$?
  local want_rc
  want_rc=$(header "$case" exit | head -n1)
  want_rc=${want_rc:-2}
  [ "$rc" -eq "$want_rc" ] || why+="${why:+; }exit code $rc, expected $want_rc"
  local n_expect=0 e
  while IFS= read -r e; do
    [ -n "$e" ] || continue
    n_expect=$((n_expect + 1))
    e=${e//@WORK@/$work}
    [[ "$out" == *"$e"* ]] || why+="${why:+; }the output lacks: $e"
  done < <(header "$case" expect)
  [ "$n_expect" -gt 0 ] || why+="${why:+; }no '# expect:' line"
  [[ "$out" == *"error"* ]] || why+="${why:+; }no error line"
  case "$out" in *"internal error"* | *"Segmentation"* | *"Aborted"* | *"terminate called"*)
    why+="${why:+; }it crashed" ;;
  esac
  local after
  after=$(cd "$work" && snapshot)
  [ "$before" = "$after" ] || why+="${why:+; }runs/ was written: $(diff <(echo "$before") <(echo "$after") | head -5 | tr '\n' ' ')"
  if [ -z "$why" ]; then
    pass=$((pass + 1))
    echo "ok    $id"
  else
    failed=$((failed + 1))
    failures+="$id "
    echo "FAIL  $id: $why"
    echo "$out" | sed 's/^/      | /'
  fi
}

need_base=0
for c in "$here"/checkpoints/*.sh; do
  [ -z "$filter" ] || [[ "checkpoints/$(basename "${c%.sh}")" == *"$filter"* ]] && need_base=1
done
if [ "$need_base" = 1 ]; then make_base || exit 1; fi

for kind in pipelines data manifests sweeps checkpoints; do
  for c in "$here/$kind"/*; do
    case "$kind:$c" in *.toml | checkpoints:*.sh) run_case "$kind" "$c" ;; esac
  done
done
if [ -d "$examples_extra" ]; then
  for c in "$examples_extra"/*.toml; do [ -e "$c" ] && run_case examples "$c"; done
fi

echo "$pass passed, $failed failed, $total cases"
[ "$failed" -eq 0 ] || { echo "failed: $failures"; exit 1; }
if [ -z "$filter" ] && [ "$total" -lt 40 ]; then
  echo "only $total cases: the corpus must hold at least 40"
  exit 1
fi
exit 0
