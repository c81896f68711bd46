#!/usr/bin/env bash
# bad_input_test.sh PLINTH PIPELINE — run `plinth train` on a broken pipeline
# in a scratch folder holding small data files (good and broken), and check
# the one error it must give: exit code 2, the message the pipeline's
# "# expect:" line names, and nothing written under runs/.
set -u
plinth=$1 pipeline=$2 manifests=$3
expect=$(sed -n 's/^# expect: //p' "$pipeline" | head -n1)
[ -n "$expect" ] || { echo "no '# expect:' line in $pipeline"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data"
# IDX files: 4 images of 2x2 pixels, labels 0..3 (big-endian header).
idx_images() { printf '\x00\x00\x08\x03\x00\x00\x00\x04\x00\x00\x00\x02\x00\x00\x00\x02'; head -c 16 /dev/zero; }
idx_labels() { printf '\x00\x00\x08\x01\x00\x00\x00\x04\x00\x01\x02\x03'; }
idx_images > "$work/data/images.idx"
idx_labels > "$work/data/labels.idx"
printf '\x00\x00\x08\x02\x00\x00\x00\x04\x00\x00\x00\x02\x00\x00\x00\x02' > "$work/data/bad_magic.idx"
head -c 16 /dev/zero >> "$work/data/bad_magic.idx"
idx_images | head -c 24 > "$work/data/truncated.idx"
printf 'a,b,label\n1,2,0\n3,4\n5,6,1\n' > "$work/data/bad.csv"
# A pipeline's own data files: <name>.sh beside <name>.toml writes them into data/.
[ ! -f "${pipeline%.toml}.sh" ] || bash "${pipeline%.toml}.sh" "$work/data"
cp "$pipeline" "$work/pipeline.toml"
cd "$work"
out=$("$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" train --no-progress pipeline.toml 2>&1)
rc=$?
fail=0
[ "$rc" -eq 2 ] || { echo "expected exit code 2, got $rc"; fail=1; }
case "$out" in *"$expect"*) ;; *) echo "expected the message to contain: $expect"; fail=1 ;; esac
[ "$(echo "$out" | grep -c 'error')" -ge 1 ] || { echo "no error line"; fail=1; }
[ ! -e runs ] || { echo "runs/ was written:"; find runs; fail=1; }
echo "--- output (exit $rc) ---"
echo "$out"
exit $fail
