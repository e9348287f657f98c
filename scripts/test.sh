#!/usr/bin/env bash
# Fresh machine to a tested build in one command: dependencies, build (warnings are errors in
# our code), then every test through ctest with the output of failures shown, then the fuzz
# labels: `fuzz` in this build, `fuzz-asan` in the small sanitized one (scripts/fuzz-sanitized.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
LMLAB_CMAKE_ARGS="-DLMLAB_WERROR=ON ${LMLAB_CMAKE_ARGS:-}" scripts/setup.sh build Release
cmake --build build
export LMLAB_PROGRESS=plain
cd build && ctest --output-on-failure -j "$(nproc)" -LE fuzz
# The readers' fuzz targets, bounded: LMLAB_FUZZ_SECONDS per reader, 10 s here. Those of
# test_fuzz_readers.cpp (tokenizer.json, safetensors header) run under ASan/UBSan instead, in
# their own torch-free build (build-fuzz-asan); here only what needs libtorch (label fuzz).
LMLAB_FUZZ_SECONDS=${LMLAB_FUZZ_SECONDS:-10} ctest --output-on-failure -j "$(nproc)" -L fuzz \
  -E 'Fuzz\.(TokenizerJson|SafetensorsHeader)Reader'
cd .. && LMLAB_FUZZ_SECONDS=${LMLAB_FUZZ_SECONDS:-10} scripts/fuzz-sanitized.sh
