#!/usr/bin/env bash
# setup.sh — install the build dependencies from Debian's packages (Debian 12),
# configure and build Plinth into ./build. Safe to run again.
#   PLINTH_SKIP_APT=1  skip the package installation
#   PLINTH_BUILD_DIR   build folder (default: build)
#   PLINTH_SKIP_BUILD=1 install the packages only (e.g. for .ci/run-asan)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake ninja-build g++ pkg-config git ca-certificates
  python3  # test helpers: corpus cases that write broken safetensors, the fault and retrain tests
  python3-pil dataset-fashion-mnist  # examples/fashion-resnet: prepare_data.sh and the smoke test (tests/examples)
  libboost-dev libboost-filesystem-dev libtomlplusplus-dev libspdlog-dev libcli11-dev
  nlohmann-json3-dev libdnnl-dev ocl-icd-opencl-dev libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev libdeflate-dev libssl-dev libsodium-dev libxxhash-dev xxhash minisign libopenmpi-dev openmpi-bin procps
  libturbojpeg0-dev libspng-dev  # the `images` data source (JPEG, PNG)
  nodejs npm
  libonnx-dev libprotobuf-dev python3-onnx  # `plinth export --onnx` (onnx_proto) and its checker test (tests/export)
  hipcc libamdhip64-dev  # the ROCm HIP backend (backends/gpu); the CUDA one uses /usr/local/cuda when present
  chromium  # renders `plinth report` pages in the report test (tests/cli/report_cli_test.cpp)
)
if [ "${PLINTH_SKIP_APT:-0}" != 1 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  # nodejs/npm may already come from elsewhere on the machine; install only what is missing.
  missing=()
  for p in "${packages[@]}"; do
    if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
    if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
    missing+=("$p")
  done
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ "${PLINTH_SKIP_BUILD:-0}" != 1 ] || exit 0
build="${PLINTH_BUILD_DIR:-build}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)"
