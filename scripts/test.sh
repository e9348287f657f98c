#!/usr/bin/env bash
# Fresh machine to a tested build in one command: dependencies, build (warnings are errors in
# our code), then every test through ctest with the output of failures shown, then the fuzz label.
set -euo pipefail
cd "$(dirname "$0")/.."
LMLAB_CMAKE_ARGS="-DLMLAB_WERROR=ON ${LMLAB_CMAKE_ARGS:-}" scripts/setup.sh build Release
cmake --build build
export LMLAB_PROGRESS=plain
cd build && ctest --output-on-failure -j "$(nproc)" -LE fuzz
# The readers' fuzz targets (label fuzz), bounded: LMLAB_FUZZ_SECONDS per reader, 10 s here.
LMLAB_FUZZ_SECONDS=${LMLAB_FUZZ_SECONDS:-10} ctest --output-on-failure -j "$(nproc)" -L fuzz
