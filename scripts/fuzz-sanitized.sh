#!/usr/bin/env bash
# The readers' fuzz targets (tokenizer.json, the safetensors header) under ASan/UBSan (issue
# #23): configures and builds the small torch-free build of cmake/Sanitize.cmake
# (-DLMLAB_SANITIZE=ON: the fuzz target and the reader sources only) in BUILD_DIR, then runs
# its ctest label fuzz-asan for LMLAB_FUZZ_SECONDS per reader (default 10). Any sanitizer
# report fails the run with its stack; LMLAB_FUZZ_SEED (default 1) reproduces it.
#   scripts/fuzz-sanitized.sh [BUILD_DIR]      (default build-fuzz-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-fuzz-asan}
start=$SECONDS
cmake -S . -B "$dir" -G Ninja -DLMLAB_SANITIZE=ON >/dev/null
cmake --build "$dir"
echo "fuzz-sanitized: configured and built in $((SECONDS - start)) s" >&2
cd "$dir"
LMLAB_FUZZ_SECONDS=${LMLAB_FUZZ_SECONDS:-10} ctest --output-on-failure -j "$(nproc)" -L fuzz-asan
echo "fuzz-sanitized: $((SECONDS - start)) s in all" >&2
