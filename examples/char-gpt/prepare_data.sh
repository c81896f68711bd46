#!/usr/bin/env bash
# prepare_data.sh — write the character-level corpus of the char-gpt example,
# examples/char-gpt/data/input.txt: the King James Bible (1611, public
# domain), 4,153,207 characters, 73 distinct. The text comes from Debian's
# bible-kjv-text package (compressed text) read with its bible-kjv program;
# both are installed with apt-get when missing (needs root, as in CI).
# Cached: does nothing when input.txt exists. See README.md for the choice.
#
# Conversion (fixed, no randomness): `bible -p /usr/lib gen1:1-rev22:21`
# prints every verse, pretty-printed: a "Book N" line before each chapter,
# verses as "  <number> <text>" wrapped at 79 columns. The leading verse
# numbers and the first (blank) line are removed; everything else is kept.
set -euo pipefail

# sha256 of input.txt from bible-kjv/bible-kjv-text 4.38 (Debian 12).
EXPECTED_SHA256="2c912b5b95925209996ca14c05a3d0597b0aa0b78057387f16bc4839cc10784d"
PACKAGES=(bible-kjv bible-kjv-text)
BIBLE_DATA=/usr/lib/bible.data

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${PLINTH_CHAR_GPT_DATA:-$here/data}"

die() { echo "prepare_data.sh: error: $*" >&2; exit 1; }

if [[ -s "$out/input.txt" ]]; then
  echo "char-gpt data in $out/input.txt is present ($(wc -c < "$out/input.txt") bytes); nothing to do."
  exit 0
fi

if ! command -v bible >/dev/null || [[ ! -f "$BIBLE_DATA" ]]; then
  command -v apt-get >/dev/null || die "the '${PACKAGES[*]}' packages are missing and apt-get is not available; install them (Debian/Ubuntu) and run again"
  [[ "$(id -u)" == 0 ]] || die "the '${PACKAGES[*]}' packages are missing; install them as root: sudo apt-get install ${PACKAGES[*]}"
  echo "Installing ${PACKAGES[*]} with apt-get ..."
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${PACKAGES[@]}" >/dev/null 2>&1; then
    # The package lists may be missing or stale: refresh them once.
    apt-get update >/dev/null || die "apt-get update failed; check network access to the Debian mirror"
    apt-get install -y --no-install-recommends "${PACKAGES[@]}" >/dev/null ||
      die "apt-get could not install ${PACKAGES[*]}"
  fi
fi
command -v bible >/dev/null || die "'bible' (package bible-kjv) is still not on PATH after installing it"
[[ -f "$BIBLE_DATA" ]] || die "$BIBLE_DATA (package bible-kjv-text) is still missing after installing it"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# -p: read /usr/lib/bible.data only (by default a bible.data in the current
# folder would win); stdin closed so the program never waits for commands.
bible -p /usr/lib gen1:1-rev22:21 </dev/null > "$work/raw.txt" || die "'bible' failed to print the text"
sed -E '1{/^$/d};s/^  [0-9]+ //' "$work/raw.txt" > "$work/input.txt"

bytes=$(wc -c < "$work/input.txt")
(( bytes > 4000000 )) || die "the text is only $bytes bytes; expected about 4.15 MB (is $BIBLE_DATA complete?)"
sum="$(sha256sum "$work/input.txt" | cut -d' ' -f1)"
if [[ "$sum" != "$EXPECTED_SHA256" ]]; then
  # Another package version may wrap or spell a line differently; the text
  # is still usable, but the numbers in README.md will differ.
  echo "prepare_data.sh: warning: input.txt has sha256 $sum, not the $EXPECTED_SHA256 of bible-kjv 4.38" >&2
fi
mkdir -p "$out"
mv -f "$work/input.txt" "$out/input.txt"
echo "Wrote $out/input.txt: $bytes bytes, $(wc -l < "$out/input.txt") lines (sha256 $sum)"
