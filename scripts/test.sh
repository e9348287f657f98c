#!/usr/bin/env bash
# Fresh machine to a tested build in one command: dependencies, build (warnings are errors in
# our code), then every test through ctest with the output of failures shown.
set -euo pipefail
cd "$(dirname "$0")/.."
LMLAB_CMAKE_ARGS="-DLMLAB_WERROR=ON ${LMLAB_CMAKE_ARGS:-}" scripts/setup.sh build Release
cmake --build build
export LMLAB_PROGRESS=plain
cd build && ctest --output-on-failure -j "$(nproc)"
