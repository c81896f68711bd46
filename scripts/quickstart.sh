#!/usr/bin/env bash
# quickstart.sh — set everything up and train the MNIST example on the CPU
# backend: install dependencies, build, fetch the digits, train.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash examples/mnist/prepare_data.sh
exec "${PLINTH_BUILD_DIR:-build}/bin/plinth" train examples/mnist/pipeline.toml
