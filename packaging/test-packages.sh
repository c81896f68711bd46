#!/usr/bin/env bash
# test-packages.sh — end-to-end check of the .deb and .rpm packages, for CI on
# a throw-away machine (root): build for /usr, cpack DEB and RPM, lintian,
# rpm queries, dpkg -i, plugins found, the packaged MNIST example trained (by
# `plinth train` and by the packaged examples/embed application built against
# the installed libplinth-dev), the vendor example packaged/installed/removed, then dpkg --purge and a check that
# nothing is left. Does not run on a machine that already has plinth installed.
# Usage: packaging/test-packages.sh [work folder]   (default: build-packages)
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mkdir -p "${1:-$src/build-packages}" && cd "${1:-$src/build-packages}" && pwd)"
build="${PLINTH_PKG_BUILD_DIR:-$work/build}"
jobs="${PLINTH_PKG_JOBS:-2}"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)"
plugindir="/usr/lib/$multiarch/plinth/plugins"
manifestdir="/usr/share/plinth/plugins.d"
etcdir="/etc/plinth/plugins.d"
installed=()  # packages this script installed, purged on failure

step() { printf '\n== %s\n' "$*"; }
die() {
  echo "test-packages.sh: FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  if ((${#installed[@]})); then
    echo "test-packages.sh: purging ${installed[*]} after a failure" >&2
    dpkg --purge "${installed[@]}" >/dev/null 2>&1 || true
  fi
  rm -f "$etcdir/zz-test-operator.toml"
  rmdir "$etcdir" /etc/plinth 2>/dev/null || true  # only when empty
  exit $rc
}
trap cleanup EXIT
# Files under /usr and /etc, for the before/after comparison.
snapshot() { find /usr /etc -xdev \( -path /usr/local -o -path /usr/src \) -prune -o -print 2>/dev/null | LC_ALL=C sort; }
# Run the installed CLI with no user or environment manifests.
plinth_sys() { env -u PLINTH_PLUGIN_PATH HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" /usr/bin/plinth "$@"; }

if [[ $(id -u) -ne 0 ]]; then
  # From ctest (SKIP_RETURN_CODE 77) a non-root run is skipped, not failed.
  [[ -n "${PLINTH_PKG_FROM_CTEST:-}" ]] && { echo "not root: skipped" >&2; exit 77; }
  die "run as root: this installs and purges system packages"
fi
for p in plinth libplinth-dev plinth-backend-vendor-example; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
    die "package $p is already installed; this test only runs on a machine without Plinth packages"
  fi
done
[[ -e /usr/bin/plinth ]] && die "/usr/bin/plinth exists outside dpkg; refusing to overwrite it"

step "tools"
need=()
command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
command -v fakeroot >/dev/null || need+=(fakeroot)
command -v rpmbuild >/dev/null || need+=(rpm)
command -v lintian >/dev/null || need+=(lintian)
if ((${#need[@]})); then
  echo "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi
lintian --version
rpmbuild --version

step "build ($build, prefix /usr)"
t0=$SECONDS
if [[ -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
else
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DPLINTH_BUILD_TESTS=OFF -DPLINTH_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j "$jobs"
echo "build: $((SECONDS - t0)) s"

step "cpack DEB and RPM"
t0=$SECONDS
rm -rf "$build/packages"
(cd "$build" && cpack -G DEB && cpack -G RPM)
echo "cpack: $((SECONDS - t0)) s"
pk="$build/packages"
ls -l "$pk"
deb_main="$(ls "$pk"/plinth_*.deb)"
deb_dev="$(ls "$pk"/libplinth-dev_*.deb)"
rpm_main="$(ls "$pk"/plinth-[0-9]*.rpm)"
rpm_dev="$(ls "$pk"/plinth-devel-*.rpm)"

step "lintian"
lint() {  # lintian with the overrides in the package; fails on any error
  local out
  out="$(lintian --fail-on error --display-info --show-overrides "$@" 2>&1)" || {
    echo "$out"
    die "lintian reported errors on $*"
  }
  echo "$out"
}
lint "$deb_main" "$deb_dev"

step "deb contents and dependencies"
dpkg-deb -f "$deb_main" Package Version Depends
dpkg-deb -f "$deb_dev" Package Version Depends Section
dpkg-deb -f "$deb_main" Depends | grep -q 'libdnnl' || die "plinth: Depends lacks libdnnl (dpkg-shlibdeps)"
dpkg-deb -f "$deb_main" Depends | grep -q 'libsodium' || die "plinth: Depends lacks libsodium (plugin signatures; dpkg-shlibdeps)"
dpkg-deb -f "$deb_dev" Depends | grep -q 'plinth (= ' || die "libplinth-dev: Depends lacks plinth (= version)"
dpkg-deb --ctrl-tarfile "$deb_main" | tar -xO ./conffiles | grep -qx "$etcdir/README" ||
  die "plinth: $etcdir/README is not a conffile"

step "rpm queries"
rpm -qp --qf '%{NAME} %{VERSION}-%{RELEASE} %{ARCH} License: %{LICENSE}\n' "$rpm_main" "$rpm_dev"
rpm_files="$(rpm -qpl "$rpm_main")"
for f in /usr/bin/plinth "/usr/lib/$multiarch/libplinth.so.0" "$plugindir/libplinth-backend-cpu.so" \
  "$manifestdir/plinth-backend-cpu.toml" "$etcdir/README" /usr/share/man/man1/plinth.1.gz \
  /usr/share/plinth/examples/mnist/prepare_data.sh /usr/share/doc/plinth/copyright \
  /usr/share/bash-completion/completions/plinth; do
  grep -qx -- "$f" <<<"$rpm_files" || die "$rpm_main lacks $f"
done
rpm -qpc "$rpm_main" | grep -qx "$etcdir/README" || die "$rpm_main: $etcdir/README is not %config"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm_main" | grep -q "^cn $etcdir/README" ||
  die "$rpm_main: $etcdir/README is not %config(noreplace)"
dev_files="$(rpm -qpl "$rpm_dev")"
for f in /usr/include/plinth/plugin.h "/usr/lib/$multiarch/cmake/Plinth/PlinthConfig.cmake" \
  "/usr/lib/$multiarch/pkgconfig/plinth.pc" "/usr/lib/$multiarch/libplinth.so" \
  /usr/share/plinth/sdk-template/new-plugin.sh /usr/include/plinth/train.hpp /usr/include/plinth/pipeline.hpp \
  /usr/share/plinth/examples/embed/main.cpp; do
  grep -qx -- "$f" <<<"$dev_files" || die "$rpm_dev lacks $f"
done
rpm -qpR "$rpm_main" | tee "$work/rpm-requires.txt"
grep -q '^libdnnl\.so' "$work/rpm-requires.txt" || die "$rpm_main: no automatic requirement on libdnnl"
rpm -qpR "$rpm_dev" | grep -q '^plinth = ' || die "$rpm_dev does not require plinth = version"
rpm -qpR "$rpm_dev" | grep -q '^spdlog-devel' || die "$rpm_dev does not require spdlog-devel"
rpm -qp --provides "$rpm_main" | grep -q 'libplinth-' && die "$rpm_main provides its plugins as libraries"

step "install plinth and libplinth-dev"
snapshot >"$work/files-before.txt"
installed=(plinth libplinth-dev)
dpkg -i "$deb_main" "$deb_dev" || die "dpkg -i failed (missing dependencies? apt-get install -f)"
command -v plinth
plinth_sys --version
man -w plinth 2>/dev/null || [[ -f /usr/share/man/man1/plinth.1.gz ]] || die "man page not installed"
gzip -dc /usr/share/man/man1/plinth.1.gz | grep -q '^\.TH PLINTH 1' || die "man page is not a roff page"
gzip -dc /usr/share/man/man1/plinth.1.gz | grep -q 'plinth report' || die "man page lacks the report command"
comp=/usr/share/bash-completion/completions/plinth
[[ -f $comp ]] || die "bash completion not installed at $comp"
bash -c "source $comp && complete -p plinth" | grep -q '_plinth' || die "$comp does not register a completion"

step "plugins found through /usr/share/plinth/plugins.d"
plinth_sys plugins list | tee "$work/plugins-list.txt"
plinth_sys plugins doctor >"$work/plugins-doctor.txt" 2>&1 || {
  cat "$work/plugins-doctor.txt"
  die "plinth plugins doctor reports a broken plugin"
}
n=0
for m in "$manifestdir"/*.toml; do
  name="$(sed -n 's/^name = "\(.*\)"$/\1/p' "$m" | head -1)"
  grep -q -- "$name" "$work/plugins-list.txt" || die "plugins list lacks $name ($m)"
  n=$((n + 1))
done
((n >= 3)) || die "only $n manifests in $manifestdir"
grep -q -- "$plugindir/" "$work/plugins-list.txt" || die "plugins list shows no library from $plugindir"
echo "all $n packaged plugins listed from $plugindir"

step "train the packaged MNIST example"
rm -rf "$work/mnist" "$work/home"
mkdir -p "$work/home"
cp -r /usr/share/plinth/examples/mnist "$work/mnist"
t0=$SECONDS
"$work/mnist/prepare_data.sh"
(cd "$work/mnist" && plinth_sys train pipeline.toml --no-progress --out-dir "$work/mnist/runs") 2>&1 |
  tee "$work/mnist-train.log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || die "plinth train failed"
grep -qi 'time to target' "$work/mnist-train.log" || die "the MNIST run did not reach its eval.accuracy target"
echo "MNIST (data + training): $((SECONDS - t0)) s"

step "examples/embed: an application training MNIST through the installed libplinth"
eb="$work/embed"
rm -rf "$eb" "$work/mnist/embed-runs"
cmake -S /usr/share/plinth/examples/embed -B "$eb" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
grep -q "Plinth_DIR:PATH=/usr/lib/$multiarch/cmake/Plinth" "$eb/CMakeCache.txt" ||
  die "examples/embed did not find the installed PlinthConfig.cmake"
cmake --build "$eb" -j "$jobs"
(cd "$work/mnist" && env -u PLINTH_PLUGIN_PATH HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" \
  "$eb/plinth-embed" pipeline.toml --steps 50 --out-dir "$work/mnist/embed-runs") | tee "$work/embed.log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || die "plinth-embed failed"
grep -q '^trained 50 steps' "$work/embed.log" || die "plinth-embed did not train 50 steps"
grep -q '^step ' "$work/embed.log" || die "plinth-embed printed no step line from its on_step callback"
[[ -s "$work/mnist/embed-runs/mnist-mlp/summary.json" ]] || die "plinth-embed wrote no run folder"

step "vendor plugin package"
vb="$work/vendor-backend"
rm -rf "$vb"
cmake -S "$src/examples/vendor-backend" -B "$vb" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$vb" -j "$jobs"
ctest --test-dir "$vb" --output-on-failure
(cd "$vb" && cpack -G DEB)
deb_vendor="$(ls "$vb"/packages/plinth-backend-vendor-example_*.deb)"
dpkg-deb -f "$deb_vendor" Package Version Depends
dpkg-deb -f "$deb_vendor" Depends | grep -q 'plinth (>= ' || die "vendor package does not depend on plinth"
dpkg-deb -c "$deb_vendor"
lint "$deb_vendor"
installed+=(plinth-backend-vendor-example)
dpkg -i "$deb_vendor"
plinth_sys plugins list | tee "$work/plugins-list-vendor.txt"
grep -q 'vendor-matmul' "$work/plugins-list-vendor.txt" || die "vendor-matmul not listed after installing its package"
grep 'vendor-matmul' "$work/plugins-list-vendor.txt" | grep -q "$plugindir/libvendor-matmul.so" ||
  die "vendor-matmul not loaded from $plugindir"
plinth_sys plugins inspect vendor-matmul
dpkg -r plinth-backend-vendor-example
plinth_sys plugins list >"$work/plugins-list-after.txt"
grep -q 'vendor-matmul' "$work/plugins-list-after.txt" && die "vendor-matmul still listed after dpkg -r"
dpkg-query -W plinth-backend-vendor-example >/dev/null 2>&1 && dpkg --purge plinth-backend-vendor-example
[[ -e "$manifestdir/vendor-matmul.toml" || -e "$plugindir/libvendor-matmul.so" ]] && die "vendor files left behind"
echo "vendor-matmul listed after install, gone after removal"

step "an operator manifest in $etcdir replaces a packaged plugin"
# Same name as the packaged CPU backend, higher priority, absolute path.
sed -e 's/^priority = .*/priority = 10/' \
  -e "s|^path = .*|path = \"$plugindir/libplinth-backend-cpu.so\"|" \
  "$manifestdir/plinth-backend-cpu.toml" >"$etcdir/zz-test-operator.toml"
plinth_sys plugins inspect plinth-backend-cpu | tee "$work/inspect-operator.txt" | head -8
grep -q "manifest: *$etcdir/zz-test-operator.toml:[0-9]* (system)" "$work/inspect-operator.txt" ||
  die "the operator's manifest in $etcdir did not take precedence"
plinth_sys plugins doctor >/dev/null || die "plugins doctor fails with the operator's manifest"

step "purge"
dpkg --purge libplinth-dev plinth
installed=()
snapshot >"$work/files-after.txt"
left="$(comm -13 "$work/files-before.txt" "$work/files-after.txt")"
[[ "$left" == "$(printf '%s\n' /etc/plinth "$etcdir" "$etcdir/zz-test-operator.toml")" ]] || {
  echo "left behind:"
  echo "$left"
  die "files left after dpkg --purge besides the operator's manifest"
}
echo "only the operator's $etcdir/zz-test-operator.toml (and its folder) is left"
rm -f "$etcdir/zz-test-operator.toml"
rmdir "$etcdir" /etc/plinth
snapshot >"$work/files-after.txt"
cmp -s "$work/files-before.txt" "$work/files-after.txt" || die "/usr and /etc differ from before the test"
echo
echo "test-packages.sh: all package checks passed in $SECONDS s"
