#!/usr/bin/env bash
# prepare_data.sh — write Fashion-MNIST (60,000 training and 10,000 test
# images, from the Debian package dataset-fashion-mnist) as an ImageNet-style
# folder under examples/fashion-resnet/data/: train/<class>/NNNNN.png|.jpg
# and test/<class>/..., a quarter of the images JPEG and the rest PNG
# (write_folder.py says which). Idempotent: does nothing when the folder is
# complete (a stamp file records the counts); installs nothing, and says
# what is missing.
#   PLINTH_FASHION_SRC   the IDX folder (default /usr/share/datasets/fashion-mnist)
#   PLINTH_FASHION_DATA  where to write (default examples/fashion-resnet/data)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="${PLINTH_FASHION_SRC:-/usr/share/datasets/fashion-mnist}"
out="${PLINTH_FASHION_DATA:-$here/data}"
py=/usr/bin/python3  # Debian's python3-pil belongs to it
stamp="$out/.complete"
want="train 60000 test 10000"

die() { echo "prepare_data.sh: error: $*" >&2; exit 1; }

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "Fashion-MNIST folder $out is complete ($want)."
  exit 0
fi

for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
         t10k-labels-idx1-ubyte.gz; do
  [[ -f "$src/$f" ]] || die "$src/$f not found; install the Debian package dataset-fashion-mnist" \
                            "(apt-get install dataset-fashion-mnist) or set PLINTH_FASHION_SRC"
done
[[ -x "$py" ]] || die "$py not found; install the Debian package python3"
"$py" -c 'import PIL' 2>/dev/null || die "$py cannot import PIL; install the Debian package python3-pil"

[[ -e "$out" ]] && { echo "Removing the incomplete folder $out"; rm -rf "$out"; }
tmp="$out.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
echo "Writing Fashion-MNIST from $src to $out (about a minute) ..."
"$py" "$here/write_folder.py" "$src" "$tmp"
echo "$want" >"$tmp/.complete"
mv "$tmp" "$out"
trap - EXIT
echo "Wrote $out: $(find "$out" -name '*.png' | wc -l) PNG and $(find "$out" -name '*.jpg' | wc -l) JPEG files."
