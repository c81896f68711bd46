#!/usr/bin/env bash
# prepare_finetune_data.sh — write examples/char-gpt/data/licenses.txt, the
# "different text" the LoRA example (finetune-lora.toml) tunes the
# Bible-trained char-GPT on: the licence texts every Debian system has in
# /usr/share/common-licenses (package base-files), concatenated in a fixed
# order. About 150,000 characters of legal English, a style the Bible model
# has never seen. Characters outside the Bible's vocabulary (", /, <, >, X,
# [, ], `, %, *, =, _ and form feeds) are dropped by the data source
# (unknown = "skip").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${PLINTH_CHAR_GPT_DATA:-$here/data}"
src=/usr/share/common-licenses
files=(GPL-3 LGPL-2.1 Apache-2.0 MPL-2.0 GFDL-1.3 Artistic CC0-1.0)
mkdir -p "$out"
for f in "${files[@]}"; do
  [[ -f "$src/$f" ]] || { echo "prepare_finetune_data.sh: error: $src/$f is missing (package base-files)" >&2; exit 1; }
done
tmp="$(mktemp "$out/.licenses.XXXXXX")"
for f in "${files[@]}"; do cat "$src/$f"; printf '\n'; done > "$tmp"
mv "$tmp" "$out/licenses.txt"
echo "wrote $out/licenses.txt ($(wc -c < "$out/licenses.txt") bytes from ${#files[@]} licence texts)"
