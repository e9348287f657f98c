#!/usr/bin/env bash
# Builds lmlab on the GPU machine (PyTorch + CUDA installed, no package registry).
#
#   scripts/gpu-build.sh fetch     # HERE (Debian): download the dependency .debs into .debs/
#   scripts/gpu-build.sh [target...]  # THERE: unpack .debs/ into a prefix and build build-gpu/
#                                     # (or $LMLAB_BUILD_DIR), all targets or the ones named
#
# The header-only dependencies (CLI11, toml++, nlohmann-json, Eigen), PCRE2, zlib headers and
# GoogleTest travel as Debian packages, unpacked with dpkg -x (never installed) into $prefix.
set -euo pipefail
cd "$(dirname "$0")/.."
debs=(libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libeigen3-dev libpcre2-dev libpcre2-8-0
      zlib1g-dev libgtest-dev googletest libgloo-dev)

if [ "${1:-}" = "fetch" ]; then
  mkdir -p .debs && cd .debs && rm -f ./*.deb
  apt-get download "${debs[@]}"
  ls -l
  exit 0
fi

prefix=${LMLAB_DEPS_PREFIX:-/tmp/lmlab-deps}
mkdir -p "$prefix"
for f in .debs/*.deb; do dpkg -x "$f" "$prefix"; done
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
build_dir=${LMLAB_BUILD_DIR:-build-gpu}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLMLAB_DEPS_PREFIX="$prefix" \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr/lib/x86_64-linux-gnu/cmake;$prefix/usr/share/cmake" \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0 ${LMLAB_CMAKE_ARGS:-}
cmake --build "$build_dir" ${1:+--target "$@"} -j "$(nproc)"
