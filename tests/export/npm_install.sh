#!/usr/bin/env bash
# npm_install.sh SOURCE_DIR DEST — installs onnxruntime-node, pinned by
# SOURCE_DIR/package-lock.json, into DEST/node_modules for the ONNX Runtime
# checks (a ctest fixture, once per build tree). When npm cannot reach its
# registry it says so and succeeds, and those checks skip. --ignore-scripts:
# the package's postinstall only fetches GPU providers (from nuget.org); the
# CPU runtime ships in the package itself.
set -u
src=$1 dest=$2
if [ -d "$dest/node_modules/onnxruntime-node" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  echo "onnxruntime-node already installed in $dest"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is not installed (Debian: apt-get install npm; scripts/setup.sh does)"
  exit 1
fi
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
if npm ci --prefix "$dest" --ignore-scripts --no-audit --no-fund; then exit 0; fi
if ! npm ping >/dev/null 2>&1; then
  echo "npm cannot reach its registry: the ONNX Runtime checks (label onnx) will skip"
  rm -rf "$dest/node_modules"
  exit 0
fi
echo "npm ci failed although the registry answers"
exit 1
