#!/usr/bin/env bash
# Installs lmlab's Debian dependencies (idempotent; silent when everything is there) and
# configures a build directory. Used by quickstart.sh and test.sh.
#   scripts/setup.sh [build-dir] [build-type]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config zlib1g-dev
  libtorch-dev libopenblas0-pthread     # tensors/autograd; OpenBLAS instead of reference BLAS
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libpcre2-dev libeigen3-dev
  libgtest-dev libbenchmark-dev gnuplot-nox
  libgloo-dev                           # c10d Gloo headers (the library ships inside libtorch)
  python3-torch                         # tests only: bench/check_hf_forward.py, the export's independent check
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_dir=${1:-build}
build_type=${2:-Release}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" ${LMLAB_CMAKE_ARGS:-} >/dev/null
