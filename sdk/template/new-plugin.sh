#!/bin/sh
# new-plugin.sh — start a plugin from one of these templates: copies
# sdk/template/<kind> to <dest> and renames template-<kind> to <name>
# (project, library, manifest, plugin and component name). Nothing else.
#   sh new-plugin.sh backend acme-npu ~/src/acme-npu
set -eu
if [ $# -ne 3 ]; then
  echo "usage: $0 <backend|optimizer|data> <name> <dest>" >&2
  exit 2
fi
kind=$1 name=$2 dest=$3
here=$(cd "$(dirname "$0")" && pwd)
case $kind in backend | optimizer | data) ;; *)
  echo "$0: kind must be backend, optimizer or data, got '$kind'" >&2
  exit 2
  ;;
esac
if ! printf '%s' "$name" | grep -Eq '^[a-z0-9][a-z0-9._-]*$'; then
  echo "$0: name must be lower case letters, digits, '.', '_' or '-', got '$name'" >&2
  exit 2
fi
if [ -e "$dest" ]; then
  echo "$0: $dest already exists" >&2
  exit 1
fi
mkdir -p "$dest"
cp "$here/$kind"/CMakeLists.txt "$here/$kind"/*.cpp "$dest/"
for f in "$here/$kind"/*.hpp; do [ -e "$f" ] && cp "$f" "$dest/"; done
sed -i "s/template-$kind/$name/g" "$dest"/CMakeLists.txt "$dest"/*.cpp
echo "created $dest: cmake -S $dest -B $dest/build -DCMAKE_PREFIX_PATH=<plinth prefix> && cmake --build $dest/build"
